// Turns AgentEnsemble live frames into Vigil runs (spec: shared/spec/agentensemble-protocol.md).
// Live events carry no run id (§1.7): each belongs to the latest ensemble_started of its stream,
// where a stream is one source, or one hub producer of a source.
import type {
  ClientMessage,
  EnsembleCompletedMessage,
  DelegationCompletedMessage,
  DelegationFailedMessage,
  DelegationStartedMessage,
  EnsembleStartedMessage,
  FileChangedMessage,
  HelloMessage,
  HubHelloMessage,
  IterationSnapshot,
  LlmIterationCompletedMessage,
  LlmIterationStartedMessage,
  LlmMessage,
  LlmToolCall,
  ReviewRequestedMessage,
  ServerMessage,
  ToolCalledMessage
} from '../../shared/protocol/agentensemble'
import { clampGateTimeout } from '../../shared/model/reviews'
import { formatInstant } from '../../shared/protocol/agentensemble'
import type {
  DelegationView,
  FileChangeView,
  LiveEventRow,
  LlmIterationView,
  LlmMessageView,
  LlmToolRequestView,
  ReviewView,
  RunDetail,
  RunDetailDropped,
  RunDetailLimits,
  RunStatus,
  RunSummary,
  TaskView,
  ToolCallView
} from '../../shared/model/live'

export interface RunTrackerOptions {
  onRunUpdated: (run: RunSummary) => void
  /** A run was dropped (source reset or eviction); it may come back under the same id after a replay. */
  onRunRemoved?: (runId: string) => void
  now?: () => number
  /** Events kept per run for the detail view. */
  maxRecentEvents?: number
  /** Runs kept in total; the oldest finished ones go first. */
  maxRuns?: number
  /** Bounds of the per-run details (iterations, tool calls, …); defaults in DEFAULT_DETAIL_LIMITS. */
  detailLimits?: Partial<RunDetailLimits>
}

export const DEFAULT_DETAIL_LIMITS: RunDetailLimits = {
  iterations: 400,
  iterationsWithMessages: 6,
  messageChars: 4000,
  toolCalls: 1000,
  delegations: 300,
  fileChanges: 1000,
  tasks: 1000,
  textChars: 8000
}

/** Why Vigil itself ended a run the server never closed (fills `RunSummary.exitReason`). */
export const VIGIL_EXIT_REASONS = {
  superseded: 'SUPERSEDED',
  serverRestarted: 'SERVER_RESTARTED',
  taskFailed: 'TASK_FAILED',
  reviewTimeoutFail: 'REVIEW_TIMEOUT_FAIL'
} as const

/** Reviews linger this long past their deadline so the server's own review_timed_out can arrive first. */
const REVIEW_GRACE_MS = 2000

interface Stream {
  key: string
  sourceId: string
  producerId: string | null
  current: Run | null
  /** ensemble_started occurrences per ensembleId, so repeated ids still get distinct, replay-stable run ids. */
  occurrences: Map<string, number>
  stale: boolean
}

interface Run {
  stream: Stream
  summary: RunSummary
  declaredTotal: number
  tasks: TaskView[]
  reviews: ReviewView[]
  events: LiveEventRow[]
  seq: number
  iterations: LlmIterationView[]
  toolCalls: ToolCallView[]
  delegations: DelegationView[]
  fileChanges: FileChangeView[]
  dropped: RunDetailDropped
  /** Completed / failed tasks among the dropped ones, so the run's counts stay right. */
  droppedCompleted: number
  droppedFailed: number
  detailSeq: number
  /** 'inferred' when Vigil ended the run without an ensemble_completed; a later task_started reopens it. */
  endedBy: 'server' | 'inferred' | null
}

export type Incoming = ServerMessage | ClientMessage

/** A listener on every ingested message, in arrival order. */
export type IngestTap = (sourceId: string, producerId: string | null, message: Incoming, receivedAt: string) => void

export class RunTracker {
  private readonly onRunUpdated: (run: RunSummary) => void
  private readonly onRunRemoved: ((runId: string) => void) | undefined
  private readonly now: () => number
  private readonly maxRecentEvents: number
  private readonly maxRuns: number
  private readonly limits: RunDetailLimits
  private readonly streams = new Map<string, Stream>()
  /** Insertion order = creation order. */
  private readonly runs = new Map<string, Run>()
  private readonly dirty = new Set<string>()
  private depth = 0

  private readonly taps = new Set<IngestTap>()

  constructor(opts: RunTrackerOptions) {
    this.onRunUpdated = opts.onRunUpdated
    this.onRunRemoved = opts.onRunRemoved
    this.now = opts.now ?? Date.now
    this.maxRecentEvents = Math.max(1, opts.maxRecentEvents ?? 500)
    this.maxRuns = Math.max(1, opts.maxRuns ?? 200)
    const limits = { ...DEFAULT_DETAIL_LIMITS, ...opts.detailLimits }
    for (const key of Object.keys(limits) as (keyof RunDetailLimits)[]) limits[key] = Math.max(key === 'iterationsWithMessages' ? 0 : 1, Math.floor(limits[key]))
    this.limits = limits
  }

  /**
   * Applies one frame. `hello`/`hub_hello` rebuild the source from their late-join snapshot, hub
   * `event` envelopes are unwrapped, and a `review_decision` we sent clears that pending review.
   */
  ingest(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    for (const tap of this.taps) {
      try {
        tap(sourceId, producerId, message, receivedAt)
      } catch (err) {
        console.error('vigil: an ingest tap failed:', err)
      }
    }
    this.batch(() => this.apply(sourceId, producerId, message, receivedAt))
  }

  /** The run a stream is in now (the latest ensemble_started), or null: gates raised on it belong to that run. */
  currentRunId(sourceId: string, producerId: string | null): string | null {
    return this.streams.get(streamKey(sourceId, producerId))?.current?.summary.runId ?? null
  }

  /** Sees every message before it is applied (the recorder keeps them); returns an unsubscribe. */
  tap(listener: IngestTap): () => void {
    this.taps.add(listener)
    return () => this.taps.delete(listener)
  }

  /** Forgets the runs of a source (or of one of its hub producers; null = the embedded stream). */
  resetSource(sourceId: string, producerId?: string | null): void {
    this.batch(() => {
      for (const stream of [...this.streams.values()]) {
        if (stream.sourceId !== sourceId) continue
        if (producerId !== undefined && stream.producerId !== producerId) continue
        for (const run of [...this.runs.values()]) if (run.stream === stream) this.removeRun(run)
        this.streams.delete(stream.key)
      }
    })
  }

  /** The connection (or a hub producer) went away: running runs may be out of date until it is back. */
  markSourceDisconnected(sourceId: string, producerId?: string | null): void {
    this.batch(() => {
      for (const stream of this.streams.values()) {
        if (stream.sourceId !== sourceId) continue
        if (producerId !== undefined && stream.producerId !== producerId) continue
        this.setStale(stream, true)
      }
    })
  }

  /** Newest first. */
  listRuns(): RunSummary[] {
    return [...this.runs.values()].reverse().map((run) => this.summarize(run))
  }

  getRun(runId: string, recentEvents = 100): RunDetail | undefined {
    const run = this.runs.get(runId)
    if (!run) return undefined
    this.pruneReviews(run)
    const n = Math.max(0, Math.floor(recentEvents))
    return {
      ...this.summarize(run),
      tasks: run.tasks.map((t) => ({ ...t })),
      pendingReviews: run.reviews.map((r) => ({ ...r })),
      recentEvents: n === 0 ? [] : run.events.slice(-n).map((e) => ({ ...e })),
      iterations: run.iterations.map((it) => ({
        ...it,
        messages: it.messages.map((m) => ({ ...m, toolCalls: m.toolCalls.map((c) => ({ ...c })) })),
        toolRequests: it.toolRequests.map((c) => ({ ...c }))
      })),
      toolCalls: run.toolCalls.map((c) => ({ ...c })),
      delegations: run.delegations.map((d) => ({ ...d })),
      fileChanges: run.fileChanges.map((f) => ({ ...f })),
      limits: { ...this.limits },
      dropped: { ...run.dropped }
    }
  }

  /** Runs `fn` and reports each touched run once at the end (replays touch runs thousands of times). */
  batch<T>(fn: () => T): T {
    this.depth++
    try {
      return fn()
    } finally {
      this.depth--
      if (this.depth === 0) this.flush()
    }
  }

  // -------------------------------------------------------------------------------------------

  private apply(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    switch (message.type) {
      case 'hello':
        return this.applyHello(sourceId, producerId, message, receivedAt)
      case 'hub_hello':
        return this.applyHubHello(sourceId, message, receivedAt)
      case 'event':
        return this.apply(sourceId, message.producer.producerId, message.message, message.receivedAt ?? receivedAt)
      case 'producer_joined':
        this.setStale(this.stream(sourceId, message.producer.producerId), false)
        return
      case 'producer_left':
        return this.markSourceDisconnected(sourceId, message.producerId)
      case 'review_decision':
        return this.applyDecision(sourceId, message.reviewId, message.decision, receivedAt)
      case 'heartbeat':
      case 'pong':
      case 'ping':
        return
    }

    const stream = this.stream(sourceId, producerId)
    this.setStale(stream, false)
    if (message.type === 'ensemble_started') {
      this.startRun(stream, message, receivedAt)
      return
    }
    if (message.type === 'ensemble_completed') {
      this.completeRun(stream, message, receivedAt)
      return
    }
    // These only make sense inside a run we already know about.
    const needsRun = message.type === 'review_timed_out' || message.type === 'directive_active'
    const run = stream.current ?? (needsRun ? null : this.createRun(stream, null, null, receivedAt))
    if (!run) return

    switch (message.type) {
      case 'task_started': {
        run.declaredTotal = Math.max(run.declaredTotal, message.totalTasks)
        const at = pick(message.startedAt, receivedAt)
        const existing = this.findTask(run, message.taskIndex)
        // A duplicate start (e.g. a live event also present in the hello snapshot) changes nothing.
        if (existing?.status !== 'running') {
          this.addTask(run, this.newTask(message.taskIndex, message.taskDescription, message.agentRole, 'running', at))
        }
        if (run.endedBy === 'inferred') this.reopen(run)
        this.record(run, 'task_started', at, `Task ${message.taskIndex} started: ${describe(message.taskDescription, message.agentRole)}`)
        break
      }
      case 'task_input': {
        const task = this.findTask(run, message.taskIndex)
        if (task) {
          task.description ||= this.text(message.taskDescription) ?? ''
          task.agentRole ||= this.text(message.agentRole) ?? ''
        }
        const tools = message.toolNames?.length ? ` (tools: ${message.toolNames.join(', ')})` : ''
        this.record(run, 'task_input', pick(message.sentAt, receivedAt), `Task ${message.taskIndex} input assembled${tools}`)
        break
      }
      case 'task_completed': {
        run.declaredTotal = Math.max(run.declaredTotal, message.totalTasks)
        const at = pick(message.completedAt, receivedAt)
        const task = this.taskOrNew(run, message.taskIndex, message.taskDescription, message.agentRole, at, message.durationMs)
        task.status = 'completed'
        task.endedAt = at
        task.durationMs = message.durationMs
        task.toolCalls = Math.max(task.toolCalls, message.toolCallCount)
        this.record(run, 'task_completed', at, `Task ${message.taskIndex} completed in ${formatMs(message.durationMs)}`)
        break
      }
      case 'task_failed': {
        const at = pick(message.failedAt, receivedAt)
        const task = this.taskOrNew(run, message.taskIndex, message.taskDescription, message.agentRole, at, null)
        task.status = 'failed'
        task.endedAt = at
        task.durationMs = span(task.startedAt, at)
        task.failureReason = this.text(message.reason) ?? 'unknown error'
        // A failed task throws out of run(): no ensemble_completed will follow (§1.6).
        if (run.summary.status === 'running' && !run.tasks.some((t) => t.status === 'running')) {
          this.endRun(run, 'failed', at, VIGIL_EXIT_REASONS.taskFailed, 'inferred')
        }
        this.record(run, 'task_failed', at, `Task ${message.taskIndex} failed: ${task.failureReason}`)
        break
      }
      case 'tool_called':
        this.applyTool(run, message, receivedAt)
        break
      case 'delegation_started':
        this.applyDelegation(run, message, receivedAt)
        this.record(run, message.type, receivedAt, `${message.delegatingAgentRole ?? '?'} delegated to ${message.workerRole ?? '?'}: ${message.taskDescription ?? ''}`)
        break
      case 'delegation_completed':
        this.applyDelegation(run, message, receivedAt)
        this.record(run, message.type, receivedAt, `Delegation to ${message.workerRole ?? '?'} completed in ${formatMs(message.durationMs)}`)
        break
      case 'delegation_failed':
        this.applyDelegation(run, message, receivedAt)
        this.record(run, message.type, receivedAt, `Delegation to ${message.workerRole ?? '?'} failed: ${message.reason ?? 'unknown'}`)
        break
      case 'review_requested':
        this.addReview(run, message, receivedAt)
        break
      case 'review_timed_out':
        this.applyTimeout(stream, run, message.reviewId, message.action, receivedAt)
        break
      case 'token':
        // Streaming chunks would flush the event ring; count them only.
        this.touch(run, pick(message.sentAt, receivedAt))
        break
      case 'llm_iteration_started':
        this.applyIterationStarted(run, message, receivedAt)
        this.record(run, message.type, receivedAt, `${message.agentRole}: LLM call ${message.iterationIndex + 1} started`)
        break
      case 'llm_iteration_completed': {
        this.applyIterationCompleted(run, message, receivedAt)
        const tokens = message.inputTokens || message.outputTokens ? `, ${message.inputTokens}→${message.outputTokens} tokens` : ''
        this.record(run, message.type, receivedAt, `${message.agentRole}: LLM call ${message.iterationIndex + 1} → ${message.responseType} (${formatMs(message.latencyMs)}${tokens})`)
        break
      }
      case 'file_changed':
        this.applyFileChange(run, message, receivedAt)
        this.record(run, message.type, pick(message.timestamp, receivedAt), `${message.agentRole ?? '?'} ${(message.changeType ?? 'changed').toLowerCase()} ${message.filePath ?? '?'} (+${message.linesAdded} −${message.linesRemoved})`)
        break
      case 'metrics_snapshot':
        this.record(run, message.type, receivedAt, `${message.agentRole ?? '?'}: ${message.iterationCount} iterations, ${message.inputTokens}→${message.outputTokens} tokens`)
        break
      case 'directive_active':
        this.record(run, message.type, receivedAt, `Directive from ${message.from ?? '?'}: ${message.content ?? ''}`)
        break
    }
  }

  private applyHello(sourceId: string, producerId: string | null, hello: HelloMessage, receivedAt: string): void {
    const snapshot = hello.snapshotTrace ?? []
    if (snapshot.length > 0) {
      // A non-empty snapshot is the whole truth: rebuild from scratch (§1.2, "Facts" 5).
      this.resetSource(sourceId, producerId)
      for (const m of snapshot) this.apply(sourceId, producerId, m, receivedAt)
    } else {
      // No history means a fresh server: whatever we saw running can never finish.
      this.endRunning(sourceId, producerId, pick(null, receivedAt))
    }
    this.replayIterations(sourceId, producerId, hello.recentIterations ?? [], receivedAt)
  }

  private applyHubHello(sourceId: string, hello: HubHelloMessage, receivedAt: string): void {
    const snapshot = hello.snapshotTrace ?? []
    if (snapshot.length > 0) {
      this.resetSource(sourceId)
      for (const envelope of snapshot) this.apply(sourceId, null, envelope, receivedAt)
    } else {
      this.endRunning(sourceId, undefined, receivedAt)
    }
    for (const [producerId, iterations] of Object.entries(hello.iterationsByProducer ?? {})) {
      this.replayIterations(sourceId, producerId, iterations, receivedAt)
    }
  }

  private replayIterations(sourceId: string, producerId: string | null, items: IterationSnapshot[], receivedAt: string) {
    for (const item of items) {
      this.apply(sourceId, producerId, item.started, receivedAt)
      if (item.completed) this.apply(sourceId, producerId, item.completed, receivedAt)
    }
  }

  private startRun(stream: Stream, message: EnsembleStartedMessage, receivedAt: string): void {
    const at = pick(message.startedAt, receivedAt)
    const previous = stream.current
    // The viz leaves the old run "running" forever; it cannot go on once the server moved on.
    if (previous && previous.summary.status === 'running') {
      this.endRun(previous, 'aborted', at, VIGIL_EXIT_REASONS.superseded, 'inferred')
    }
    const run = this.createRun(stream, message.ensembleId, message.workflow, at)
    run.declaredTotal = message.totalTasks
    this.record(run, 'ensemble_started', at, `Ensemble started: ${message.workflow ?? 'unknown workflow'}, ${message.totalTasks} task${message.totalTasks === 1 ? '' : 's'}`)
  }

  private completeRun(stream: Stream, message: EnsembleCompletedMessage, receivedAt: string): void {
    const at = pick(message.completedAt, receivedAt)
    // With several ensembles on one server the completion may belong to an earlier (superseded) run.
    let run: Run | null = null
    if (message.ensembleId !== null) {
      for (const r of this.runs.values()) if (r.stream === stream && r.summary.ensembleId === message.ensembleId) run = r
    }
    run ??= stream.current ?? this.createRun(stream, message.ensembleId, null, at)
    const reason = message.exitReason ?? 'COMPLETED'
    this.endRun(run, statusForExit(reason), at, reason, 'server')
    this.record(run, 'ensemble_completed', at, `Ensemble finished: ${reason} in ${formatMs(message.durationMs)}, ${message.totalToolCalls} tool calls`)
  }

  private applyTool(run: Run, message: ToolCalledMessage, receivedAt: string): void {
    const running = run.tasks.filter((t) => t.status === 'running')
    const role = this.text(message.agentRole)
    // taskIndex 0 = unknown: fall back to the role, then to the latest running task (§1.2, "Facts" 8).
    const task =
      (message.taskIndex > 0 ? this.findTask(run, message.taskIndex) : undefined) ??
      running.findLast((t) => role !== null && t.agentRole === role) ??
      running.at(-1)
    const failed = message.outcome !== null && message.outcome !== 'SUCCESS'
    const args = clip(message.toolArguments, this.limits.textChars)
    const result = clip(message.toolResult, this.limits.textChars)
    const structured = clip(stringifyJson(message.structuredResult), this.limits.textChars)
    this.pushBounded(run, run.toolCalls, 'toolCalls', this.limits.toolCalls, {
      seq: ++run.detailSeq,
      taskIndex: task?.taskIndex ?? null,
      agentRole: role,
      toolName: this.text(message.toolName),
      outcome: message.outcome,
      durationMs: message.durationMs,
      arguments: args.text,
      result: result.text,
      structuredResult: structured.text,
      truncated: args.truncated || result.truncated || structured.truncated,
      at: receivedAt
    })
    if (task) {
      task.toolCalls++
      if (failed) task.toolFailures = (task.toolFailures ?? 0) + 1
    }
    const where = task ? ` (task ${task.taskIndex})` : ''
    this.record(run, 'tool_called', receivedAt, `${message.agentRole ?? '?'} called ${message.toolName ?? '?'}${where}: ${message.outcome ?? 'UNKNOWN'} in ${formatMs(message.durationMs)}`)
  }

  /** The task an LLM iteration belongs to: same role and description, the running one first. */
  private taskForIteration(run: Run, fullRole: string, fullDescription: string): TaskView | undefined {
    const role = this.text(fullRole) ?? ''
    const description = this.text(fullDescription) ?? ''
    const same = run.tasks.filter((t) => t.agentRole === role && t.description === description)
    return (
      same.findLast((t) => t.status === 'running') ??
      same.at(-1) ??
      run.tasks.findLast((t) => t.status === 'running' && t.agentRole === role) ??
      run.tasks.findLast((t) => t.status === 'running' && t.description === description)
    )
  }

  /** The running task of an agent (for frames that only name a role), else the latest running one. */
  private taskForRole(run: Run, fullRole: string | null | undefined): TaskView | undefined {
    const role = this.text(fullRole)
    const running = run.tasks.filter((t) => t.status === 'running')
    return running.findLast((t) => !!role && t.agentRole === role) ?? (role ? undefined : running.at(-1))
  }

  private findIteration(run: Run, role: string, description: string, index: number, taskIndex: number | null): LlmIterationView | undefined {
    return run.iterations.findLast(
      (it) => it.agentRole === role && it.taskDescription === description && it.iterationIndex === index && it.taskIndex === taskIndex
    )
  }

  private applyIterationStarted(run: Run, message: LlmIterationStartedMessage, receivedAt: string): void {
    const role = this.text(message.agentRole) ?? ''
    const description = this.text(message.taskDescription) ?? ''
    const task = this.taskForIteration(run, role, description)
    const taskIndex = task?.taskIndex ?? null
    const messages = (message.messages ?? []).map((m) => this.messageView(m))
    const existing = this.findIteration(run, role, description, message.iterationIndex, taskIndex)
    // Replays (recentIterations, hub snapshots that carry iterations twice) refresh rather than duplicate.
    if (existing && (existing.completedAt === null || existing.messages.length === 0 || existing.messagesDropped)) {
      existing.messages = existing.messagesDropped ? [] : messages
      existing.totalMessageCount = message.totalMessageCount ?? existing.totalMessageCount
      return
    }
    if (existing) return
    this.pushBounded(run, run.iterations, 'iterations', this.limits.iterations, {
      taskIndex,
      agentRole: role,
      taskDescription: description,
      iterationIndex: message.iterationIndex,
      startedAt: receivedAt,
      completedAt: null,
      responseType: null,
      inputTokens: null,
      outputTokens: null,
      latencyMs: null,
      messages,
      totalMessageCount: message.totalMessageCount ?? null,
      messagesDropped: false,
      responseText: null,
      responseTruncated: false,
      toolRequests: []
    })
    this.trimIterationMessages(run, role, description, taskIndex)
  }

  private applyIterationCompleted(run: Run, message: LlmIterationCompletedMessage, receivedAt: string): void {
    const role = this.text(message.agentRole) ?? ''
    const description = this.text(message.taskDescription) ?? ''
    const task = this.taskForIteration(run, role, description)
    const taskIndex = task?.taskIndex ?? null
    let it = this.findIteration(run, role, description, message.iterationIndex, taskIndex)
    if (!it) {
      // Its start was not seen: keep what the completion tells.
      it = {
        taskIndex,
        agentRole: role,
        taskDescription: description,
        iterationIndex: message.iterationIndex,
        startedAt: null,
        completedAt: null,
        responseType: null,
        inputTokens: null,
        outputTokens: null,
        latencyMs: null,
        messages: [],
        totalMessageCount: null,
        messagesDropped: false,
        responseText: null,
        responseTruncated: false,
        toolRequests: []
      }
      this.pushBounded(run, run.iterations, 'iterations', this.limits.iterations, it)
    }
    const text = clip(message.responseText ?? null, this.limits.textChars)
    it.completedAt = receivedAt
    it.responseType = message.responseType ?? null
    it.inputTokens = message.inputTokens
    it.outputTokens = message.outputTokens
    it.latencyMs = message.latencyMs
    it.responseText = text.text
    it.responseTruncated = text.truncated
    it.toolRequests = (message.toolRequests ?? []).map((c) => this.toolRequestView(c))
  }

  /** Only the newest iterations of a task keep their (largely repeated) message buffers. */
  private trimIterationMessages(run: Run, role: string, description: string, taskIndex: number | null): void {
    let kept = 0
    for (let i = run.iterations.length - 1; i >= 0; i--) {
      const it = run.iterations[i]!
      if (it.agentRole !== role || it.taskDescription !== description || it.taskIndex !== taskIndex) continue
      if (kept < this.limits.iterationsWithMessages) {
        kept++
        continue
      }
      if (it.messagesDropped) break
      it.messages = []
      it.messagesDropped = true
    }
  }

  private messageView(m: LlmMessage): LlmMessageView {
    const content = clip(m.content, this.limits.messageChars)
    return {
      role: m.role ?? 'unknown',
      content: content.text ?? '',
      truncated: content.truncated,
      toolCalls: (m.toolCalls ?? []).map((c) => this.toolRequestView(c)),
      toolName: m.toolName
    }
  }

  private toolRequestView(c: LlmToolCall): LlmToolRequestView {
    return { name: c.name ?? '?', arguments: clip(c.arguments, this.limits.messageChars).text ?? '' }
  }

  private applyDelegation(run: Run, message: DelegationMessage, receivedAt: string): void {
    const delegationId = this.text(message.delegationId)
    const from = this.text(message.delegatingAgentRole)
    const to = this.text(message.workerRole)
    let d = delegationId !== null ? run.delegations.findLast((x) => x.delegationId === delegationId) : undefined
    if (message.type === 'delegation_started') {
      if (d && d.status === 'running') return
      const task = this.taskForRole(run, from)
      this.pushBounded(run, run.delegations, 'delegations', this.limits.delegations, {
        delegationId,
        from,
        to,
        taskDescription: this.text(message.taskDescription),
        taskIndex: task?.taskIndex ?? null,
        status: 'running',
        startedAt: receivedAt,
        endedAt: null,
        durationMs: null,
        reason: null
      })
      return
    }
    // Without an id, close the oldest open delegation between the same two agents.
    d ??= run.delegations.find((x) => x.status === 'running' && x.from === from && x.to === to)
    if (!d) {
      d = {
        delegationId,
        from,
        to,
        taskDescription: null,
        taskIndex: this.taskForRole(run, from)?.taskIndex ?? null,
        status: 'running',
        startedAt: receivedAt,
        endedAt: null,
        durationMs: null,
        reason: null
      }
      this.pushBounded(run, run.delegations, 'delegations', this.limits.delegations, d)
    }
    d.endedAt = receivedAt
    if (message.type === 'delegation_completed') {
      d.status = 'completed'
      d.durationMs = message.durationMs
    } else {
      d.status = 'failed'
      d.reason = this.text(message.reason) ?? 'unknown'
      d.durationMs = span(d.startedAt, receivedAt)
    }
  }

  private applyFileChange(run: Run, message: FileChangedMessage, receivedAt: string): void {
    const task = this.taskForRole(run, message.agentRole ?? null)
    this.pushBounded(run, run.fileChanges, 'fileChanges', this.limits.fileChanges, {
      seq: ++run.detailSeq,
      agentRole: this.text(message.agentRole),
      taskIndex: task?.taskIndex ?? null,
      filePath: this.text(message.filePath),
      changeType: this.text(message.changeType),
      linesAdded: message.linesAdded,
      linesRemoved: message.linesRemoved,
      at: pick(message.timestamp, receivedAt)
    })
  }

  /** Agent text kept in the run (descriptions, roles, names): clipped to `textChars`; null stays null. */
  private text(value: string | null | undefined): string | null {
    return clip(value, this.limits.textChars).text
  }

  private newTask(index: number, description: string | null, role: string | null, status: TaskView['status'], startedAt: string | null): TaskView {
    return newTask(index, this.text(description), this.text(role), status, startedAt)
  }

  /**
   * Appends a task, keeping at most `limits.tasks`: beyond it the oldest finished task goes (the oldest
   * task of all when every one is running), counted in `dropped.tasks` and in the run's totals.
   */
  private addTask(run: Run, task: TaskView): void {
    run.tasks.push(task)
    while (run.tasks.length > this.limits.tasks) {
      let i = run.tasks.findIndex((t) => t.status !== 'running' && t.status !== 'pending')
      if (i < 0) i = 0
      const [gone] = run.tasks.splice(i, 1)
      run.dropped.tasks++
      if (gone?.status === 'completed') run.droppedCompleted++
      else if (gone?.status === 'failed') run.droppedFailed++
    }
  }

  private pushBounded<T>(run: Run, list: T[], kind: keyof RunDetailDropped, max: number, item: T): void {
    list.push(item)
    if (list.length > max) {
      const extra = list.length - max
      list.splice(0, extra)
      run.dropped[kind] += extra
    }
  }

  private addReview(run: Run, message: ReviewRequestedMessage, receivedAt: string): void {
    if (!run.reviews.some((r) => r.reviewId === message.reviewId)) {
      const base = Date.parse(receivedAt)
      const start = Number.isNaN(base) ? this.now() : base
      run.reviews.push({
        reviewId: message.reviewId,
        // Clipped like every run text: the run detail is refetched often, and the review inbox (the
        // coordinator) has the whole request.
        taskDescription: this.text(message.taskDescription) ?? '',
        taskOutput: this.text(message.taskOutput) ?? '',
        timing: message.timing,
        prompt: this.text(message.prompt ?? null),
        timeoutMs: clampGateTimeout(message.timeoutMs),
        onTimeout: message.onTimeout,
        // The server's clock starts at broadcast; our receive time is the closest we can know.
        expiresAt: clampGateTimeout(message.timeoutMs) > 0 ? formatInstant(start + clampGateTimeout(message.timeoutMs)) : null,
        requestedAt: receivedAt,
        requiredRole: message.requiredRole ?? null
      })
    }
    const timing = message.timing.split('_')[0] ?? message.timing
    this.record(run, 'review_requested', receivedAt, `Review requested (${timing}): ${this.text(message.taskDescription) ?? ''}`)
  }

  private applyTimeout(stream: Stream, run: Run, reviewId: string | null, action: string | null, receivedAt: string) {
    const owner = [...this.runs.values()].find((r) => r.stream === stream && r.reviews.some((v) => v.reviewId === reviewId)) ?? run
    owner.reviews = owner.reviews.filter((r) => r.reviewId !== reviewId)
    // FAIL throws out of run(): no ensemble_completed follows (§2.2.7).
    if (action === 'FAIL' && owner.summary.status === 'running') {
      for (const t of owner.tasks) {
        if (t.status !== 'running') continue
        t.status = 'failed'
        t.endedAt = receivedAt
        t.durationMs = span(t.startedAt, receivedAt)
        t.failureReason = 'Review timed out'
      }
      this.endRun(owner, 'failed', receivedAt, VIGIL_EXIT_REASONS.reviewTimeoutFail, 'inferred')
    }
    this.record(owner, 'review_timed_out', receivedAt, `Review timed out: ${action ?? 'no action'}`)
  }

  private applyDecision(sourceId: string, reviewId: string, decision: string, receivedAt: string): void {
    for (const run of this.runs.values()) {
      if (run.stream.sourceId !== sourceId) continue
      const before = run.reviews.length
      run.reviews = run.reviews.filter((r) => r.reviewId !== reviewId)
      if (run.reviews.length !== before) this.record(run, 'review_decision', receivedAt, `Review decided: ${decision}`)
    }
  }

  private endRunning(sourceId: string, producerId: string | null | undefined, at: string): void {
    for (const stream of this.streams.values()) {
      if (stream.sourceId !== sourceId) continue
      if (producerId !== undefined && stream.producerId !== producerId) continue
      for (const run of this.runs.values()) {
        if (run.stream === stream && run.summary.status === 'running') {
          this.endRun(run, 'aborted', at, VIGIL_EXIT_REASONS.serverRestarted, 'inferred')
        }
      }
    }
  }

  private endRun(run: Run, status: RunStatus, at: string, exitReason: string, by: 'server' | 'inferred'): void {
    run.summary.status = status
    run.summary.endedAt = at
    run.summary.exitReason = exitReason
    run.endedBy = by
    // Exit-early and aborts leave tasks without an end event: close them rather than show them running.
    for (const t of run.tasks) {
      if (t.status !== 'running' && t.status !== 'pending') continue
      t.status = 'aborted'
      t.endedAt = at
      t.durationMs = span(t.startedAt, at)
    }
    run.reviews = []
    this.dirty.add(run.summary.runId)
  }

  private reopen(run: Run): void {
    run.summary.status = 'running'
    run.summary.endedAt = null
    run.summary.exitReason = null
    run.endedBy = null
  }

  private createRun(stream: Stream, ensembleId: string | null, workflow: string | null, at: string): Run {
    const key = ensembleId ?? ''
    const n = (stream.occurrences.get(key) ?? 0) + 1
    stream.occurrences.set(key, n)
    const runId = `${stream.sourceId}:${stream.producerId ?? '-'}:${ensembleId ?? 'run'}:${n}`
    const run: Run = {
      stream,
      summary: {
        runId,
        sourceId: stream.sourceId,
        producerId: stream.producerId,
        ensembleId,
        workflow,
        status: 'running',
        totalTasks: 0,
        completedTasks: 0,
        failedTasks: 0,
        startedAt: at,
        endedAt: null,
        eventCount: 0,
        exitReason: null,
        stale: false,
        lastEventAt: null
      },
      declaredTotal: 0,
      tasks: [],
      reviews: [],
      events: [],
      seq: 0,
      iterations: [],
      toolCalls: [],
      delegations: [],
      fileChanges: [],
      dropped: { iterations: 0, toolCalls: 0, delegations: 0, fileChanges: 0, tasks: 0 },
      droppedCompleted: 0,
      droppedFailed: 0,
      detailSeq: 0,
      endedBy: null
    }
    // Re-insert so that Map order stays creation order even when a replay recreates an id.
    this.runs.delete(runId)
    this.runs.set(runId, run)
    stream.current = run
    this.dirty.add(runId)
    this.evict()
    return run
  }

  /**
   * Keeps at most maxRuns. Finished runs go first, oldest first (superseded ones before a stream's latest
   * one); a running run is evicted only when every kept run is running, the oldest first. Evicted runs
   * stay in the recording.
   */
  private evict(): void {
    while (this.runs.size > this.maxRuns) {
      let victim: Run | undefined
      let finished: Run | undefined
      for (const r of this.runs.values()) {
        if (r.summary.status === 'running') continue
        if (r.stream.current !== r) {
          victim = r
          break
        }
        finished ??= r
      }
      victim ??= finished ?? this.runs.values().next().value
      if (!victim) return
      this.removeRun(victim)
    }
  }

  private removeRun(run: Run): void {
    this.runs.delete(run.summary.runId)
    if (run.stream.current === run) run.stream.current = null
    this.dirty.add(run.summary.runId)
  }

  private stream(sourceId: string, producerId: string | null): Stream {
    const key = streamKey(sourceId, producerId)
    let stream = this.streams.get(key)
    if (!stream) {
      stream = { key, sourceId, producerId, current: null, occurrences: new Map(), stale: false }
      this.streams.set(key, stream)
    }
    return stream
  }

  private setStale(stream: Stream, stale: boolean): void {
    if (stream.stale === stale) return
    stream.stale = stale
    for (const run of this.runs.values()) {
      if (run.stream === stream && run.summary.status === 'running') this.dirty.add(run.summary.runId)
    }
  }

  private findTask(run: Run, taskIndex: number): TaskView | undefined {
    return run.tasks.findLast((t) => t.taskIndex === taskIndex)
  }

  private taskOrNew(run: Run, index: number, description: string | null, role: string | null, endAt: string, durationMs: number | null): TaskView {
    const found = this.findTask(run, index)
    if (found) return found
    // Its start was not seen (trimmed snapshot): derive the start from the duration when we can.
    const end = Date.parse(endAt)
    const startedAt = durationMs !== null && !Number.isNaN(end) ? formatInstant(end - durationMs) : null
    const task = this.newTask(index, description, role, 'running', startedAt)
    this.addTask(run, task)
    return task
  }

  private pruneReviews(run: Run): void {
    const limit = this.now() - REVIEW_GRACE_MS
    const kept = run.reviews.filter((r) => r.expiresAt === null || Date.parse(r.expiresAt) > limit)
    if (kept.length !== run.reviews.length) {
      run.reviews = kept
      this.dirty.add(run.summary.runId)
    }
  }

  private touch(run: Run, at: string): void {
    run.summary.eventCount++
    run.summary.lastEventAt = at
    this.dirty.add(run.summary.runId)
  }

  private record(run: Run, type: string, at: string, summary: string): void {
    this.touch(run, at)
    this.pruneReviews(run)
    // Summaries quote agent text (descriptions, roles, directives): clipped like the rest.
    run.events.push({ seq: ++run.seq, type, at, summary: clip(summary, this.limits.textChars).text ?? '' })
    if (run.events.length > this.maxRecentEvents) run.events.splice(0, run.events.length - this.maxRecentEvents)
  }

  private summarize(run: Run): RunSummary {
    let completed = run.droppedCompleted
    let failed = run.droppedFailed
    const indexes = new Set<number>()
    for (const t of run.tasks) {
      indexes.add(t.taskIndex)
      if (t.status === 'completed') completed++
      else if (t.status === 'failed') failed++
    }
    return {
      ...run.summary,
      totalTasks: Math.max(run.declaredTotal, indexes.size + run.dropped.tasks),
      completedTasks: completed,
      failedTasks: failed,
      stale: run.stream.stale && run.summary.status === 'running'
    }
  }

  private flush(): void {
    const ids = [...this.dirty]
    this.dirty.clear()
    for (const id of ids) {
      const run = this.runs.get(id)
      try {
        if (run) this.onRunUpdated(this.summarize(run))
        else this.onRunRemoved?.(id)
      } catch (err) {
        // A listener's bug must not corrupt the tracker or stop other notifications.
        console.error('[vigil] run listener failed:', err)
      }
    }
  }
}

type DelegationMessage = DelegationStartedMessage | DelegationCompletedMessage | DelegationFailedMessage

/** Keeps the first `max` characters of a string (null stays null). */
function clip(text: string | null | undefined, max: number): { text: string | null; truncated: boolean } {
  if (text === null || text === undefined) return { text: null, truncated: false }
  return text.length > max ? { text: text.slice(0, max), truncated: true } : { text, truncated: false }
}

function stringifyJson(value: unknown): string | null {
  if (value === null || value === undefined) return null
  try {
    return JSON.stringify(value) ?? null
  } catch {
    return null
  }
}

function newTask(index: number, description: string | null, role: string | null, status: TaskView['status'], startedAt: string | null): TaskView {
  return {
    taskIndex: index,
    description: description ?? '',
    agentRole: role ?? '',
    status,
    startedAt,
    endedAt: null,
    durationMs: null,
    toolCalls: 0,
    failureReason: null,
    toolFailures: 0
  }
}

/** The server's timestamp when it sent a usable one, else our receive time. */
function pick(serverTime: string | null | undefined, receivedAt: string): string {
  return serverTime && !Number.isNaN(Date.parse(serverTime)) ? serverTime : receivedAt
}

function span(from: string | null, to: string): number | null {
  if (from === null) return null
  const d = Date.parse(to) - Date.parse(from)
  return Number.isNaN(d) ? null : Math.max(0, d)
}

function statusForExit(reason: string): RunStatus {
  if (reason === 'COMPLETED') return 'completed'
  if (reason === 'ERROR') return 'failed'
  // USER_EXIT_EARLY, TIMEOUT and anything newer: the run stopped before doing all its work.
  return 'aborted'
}

function describe(description: string | null, role: string | null): string {
  return role ? `${description ?? ''} (${role})` : (description ?? '')
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`
}

function streamKey(sourceId: string, producerId: string | null): string {
  return `${sourceId}\u0000${producerId ?? ''}\u0000${producerId === null ? 'embedded' : 'hub'}`
}
