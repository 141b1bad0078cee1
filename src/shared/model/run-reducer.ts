// The one reducer of a run's detail (issue 16 item 5): the main process's RunTracker applies every
// AgentEnsemble event of a run through it, and the run page applies the same events, pushed as deltas
// (RunDelta), to the detail it fetched once: so the page's state equals a fresh getRun() without
// refetching ~0.5 MiB per update. Pure and imports nothing outside src/shared.
//
// The state is a RunDetail with every list present and `live` (the bookkeeping a RunDetail alone does
// not show). Lists are mutated in place (push / splice / index assignment), but an item that changes is
// REPLACED by a new object, never edited: a renderer holding items in `$state.raw` lists re-renders only
// the rows whose object changed (see applyRunOps).
import type {
  DashboardMessage,
  HeartbeatMessage,
  HelloMessage,
  PongMessage,
  DelegationCompletedMessage,
  DelegationFailedMessage,
  DelegationStartedMessage,
  LlmIterationCompletedMessage,
  LlmIterationStartedMessage,
  LlmMessage,
  LlmToolCall,
  VigilSpanMessage
} from '../protocol/agentensemble'
import { formatInstant } from '../protocol/agentensemble'
import type {
  DelegationView,
  LlmIterationView,
  LlmMessageView,
  LlmToolRequestView,
  RunDetail,
  RunDetailDropped,
  RunDetailLimits,
  RunLive,
  RunStatus,
  TaskView
} from './live'
import { SPAN_LIMIT, spanActor, spanView } from './otel-spans'
import { clampGateTimeout } from './reviews'
import { sameItems } from '../same-items'

/** Why Vigil itself ended a run the server never closed (fills `RunSummary.exitReason`). */
export const VIGIL_EXIT_REASONS = {
  superseded: 'SUPERSEDED',
  serverRestarted: 'SERVER_RESTARTED',
  taskFailed: 'TASK_FAILED',
  reviewTimeoutFail: 'REVIEW_TIMEOUT_FAIL'
} as const

/** A run detail the reducer can work on: every list present, plus `live`. */
export type LiveRunDetail = RunDetail &
  Required<Pick<RunDetail, 'iterations' | 'toolCalls' | 'delegations' | 'fileChanges' | 'limits' | 'dropped'>> & { live: RunLive }

/** AgentEnsemble frames that change a run (everything else a stream carries is handled around runs). */
export type RunMessage = Exclude<DashboardMessage, HelloMessage | HeartbeatMessage | PongMessage> | VigilSpanMessage

const RUN_MESSAGE_SET: { [T in RunMessage['type']]: true } = {
  ensemble_started: true,
  ensemble_completed: true,
  task_started: true,
  task_input: true,
  task_completed: true,
  task_failed: true,
  tool_called: true,
  delegation_started: true,
  delegation_completed: true,
  delegation_failed: true,
  review_requested: true,
  review_timed_out: true,
  token: true,
  llm_iteration_started: true,
  llm_iteration_completed: true,
  file_changed: true,
  metrics_snapshot: true,
  directive_active: true,
  vigil_span: true
}

export function isRunMessage(message: { type: string }): message is RunMessage {
  return Object.prototype.hasOwnProperty.call(RUN_MESSAGE_SET, message.type)
}

/**
 * One change to one run, in the order the main process applied it. `message` = an AgentEnsemble frame
 * (`at` = Vigil's receive time); the others are Vigil's own decisions about the run: `end` (superseded
 * by a newer run, or the server restarted), `expire` (gates past their deadline), `decided` (a decision
 * sent from Vigil), `stale` (its source dropped or came back).
 */
export type RunOp =
  | { op: 'message'; at: string; message: RunMessage; /** tool_called: structuredResult already as JSON text (see slimRunOp). */ structured?: string | null }
  | { op: 'end'; status: RunStatus; at: string; exitReason: string }
  | { op: 'expire'; reviewIds: string[] }
  | { op: 'decided'; reviewId: string; decision: string; at: string }
  | { op: 'stale'; stale: boolean }

/**
 * Ops pushed to a page for one run. Ops are numbered per run from 1: `ops[i]` has seq `from + i`. A page
 * whose detail has `live.seq` = s applies those above s; a delta starting above s + 1 (or with `dropped`
 * or `reset`) means it missed some: it refetches getRun().
 */
export interface RunDelta {
  runId: string
  from: number
  ops: RunOp[]
  /** Ops for this page dropped (its queue was full) right before `from`: refetch. Counted on the server. */
  dropped?: number
  /** The run was rebuilt or removed (late-join replay, source reset, eviction): refetch. */
  reset?: true
}

/** Events (recent-event rows) a run page keeps; the server keeps more, a page asks getRun for these. */
export const RUN_PAGE_EVENTS = 200

export interface NewRunInit {
  runId: string
  sourceId: string
  producerId: string | null
  ensembleId: string | null
  workflow: string | null
  startedAt: string
  streamStale: boolean
}

export function newRunState(init: NewRunInit, limits: RunDetailLimits): LiveRunDetail {
  return {
    runId: init.runId,
    sourceId: init.sourceId,
    producerId: init.producerId,
    ensembleId: init.ensembleId,
    workflow: init.workflow,
    status: 'running',
    totalTasks: 0,
    completedTasks: 0,
    failedTasks: 0,
    startedAt: init.startedAt,
    endedAt: null,
    eventCount: 0,
    exitReason: null,
    stale: init.streamStale,
    lastEventAt: null,
    tasks: [],
    pendingReviews: [],
    recentEvents: [],
    iterations: [],
    toolCalls: [],
    delegations: [],
    fileChanges: [],
    limits: { ...limits },
    dropped: { iterations: 0, toolCalls: 0, delegations: 0, fileChanges: 0, tasks: 0 },
    live: { seq: 0, declaredTotal: 0, droppedCompleted: 0, droppedFailed: 0, eventSeq: 0, detailSeq: 0, endedBy: null, streamStale: init.streamStale }
  }
}

/** True when a fetched detail carries what deltas need (a run the tracker holds, not a recording). */
export function isLiveRunDetail(detail: RunDetail): detail is LiveRunDetail {
  return !!detail.live && !!detail.limits && !!detail.dropped && !!detail.iterations && !!detail.toolCalls && !!detail.delegations && !!detail.fileChanges
}

/**
 * Applies one op in place (see the header: lists mutated, changed items replaced). `keepEvents` bounds
 * `recentEvents` (the main process keeps more than a page).
 */
export function applyRunOp(run: LiveRunDetail, op: RunOp, keepEvents: number): void {
  run.live.seq++
  switch (op.op) {
    case 'message':
      applyMessage(run, op.message, op.at, keepEvents, op.structured)
      break
    case 'end':
      endRun(run, op.status, op.at, op.exitReason, 'inferred')
      break
    case 'expire': {
      const gone = new Set(op.reviewIds)
      run.pendingReviews = run.pendingReviews.filter((r) => !gone.has(r.reviewId))
      return
    }
    case 'decided': {
      const before = run.pendingReviews.length
      run.pendingReviews = run.pendingReviews.filter((r) => r.reviewId !== op.reviewId)
      if (run.pendingReviews.length !== before) record(run, keepEvents, 'review_decision', op.at, `Review decided: ${op.decision}`)
      return
    }
    case 'stale':
      run.live.streamStale = op.stale
      break
  }
  refreshTotals(run)
}

/**
 * For a page: a new detail with `ops` applied, `detail` left as it was. Lists that did not change keep
 * their identity (so views depending on them alone do not recompute); changed items are new objects.
 */
export function applyRunOps<T extends LiveRunDetail>(detail: T, ops: readonly RunOp[], keepEvents: number): T {
  const next: T = {
    ...detail,
    tasks: [...detail.tasks],
    pendingReviews: [...detail.pendingReviews],
    recentEvents: [...detail.recentEvents],
    iterations: [...detail.iterations],
    toolCalls: [...detail.toolCalls],
    delegations: [...detail.delegations],
    fileChanges: [...detail.fileChanges],
    ...(detail.spans ? { spans: [...detail.spans] } : {}),
    dropped: { ...detail.dropped },
    live: { ...detail.live }
  }
  for (const op of ops) applyRunOp(next, op, keepEvents)
  for (const key of LIST_KEYS) {
    if (sameItems(next[key], detail[key])) (next as Record<ListKey, unknown[]>)[key] = detail[key]
  }
  if (next.spans && detail.spans && sameItems(next.spans, detail.spans)) next.spans = detail.spans
  return next
}

const LIST_KEYS = ['tasks', 'pendingReviews', 'recentEvents', 'iterations', 'toolCalls', 'delegations', 'fileChanges'] as const
type ListKey = (typeof LIST_KEYS)[number]

/**
 * What a pushed op needs of its frame, no more: long texts cut to one character past the limit the
 * reducer keeps (so it still sees that they were cut), texts it never reads dropped. Applying the slim
 * op gives the same state as applying the original one.
 */
export function slimRunOp(op: RunOp, limits: RunDetailLimits): RunOp {
  if (op.op !== 'message') return op
  const t = (s: string | null | undefined): string | null => (s === null || s === undefined ? null : s.length > limits.textChars + 1 ? s.slice(0, limits.textChars + 1) : s)
  const mc = (s: string | null | undefined): string | null => (s === null || s === undefined ? null : s.length > limits.messageChars + 1 ? s.slice(0, limits.messageChars + 1) : s)
  const call = (c: LlmToolCall): LlmToolCall => ({ name: c.name === null || c.name === undefined ? c.name : t(c.name), arguments: mc(c.arguments) ?? '' } as LlmToolCall)
  const m = op.message
  switch (m.type) {
    case 'token':
      return { ...op, message: { type: 'token', token: null, agentRole: null, taskDescription: null, sentAt: m.sentAt } }
    case 'task_input':
      return {
        ...op,
        message: { ...m, taskDescription: t(m.taskDescription), agentRole: t(m.agentRole), expectedOutput: null, agentGoal: null, agentBackground: null, assembledContext: null }
      }
    case 'tool_called': {
      const structured = op.structured !== undefined ? op.structured : stringifyJson(m.structuredResult)
      return {
        ...op,
        structured: t(structured),
        message: { ...m, toolArguments: t(m.toolArguments), toolResult: t(m.toolResult), toolName: t(m.toolName), agentRole: t(m.agentRole), structuredResult: null }
      }
    }
    case 'llm_iteration_started':
      return {
        ...op,
        message: {
          ...m,
          messages: (m.messages ?? []).map((x: LlmMessage) => ({ ...x, content: mc(x.content) as string, toolCalls: x.toolCalls ? x.toolCalls.map(call) : x.toolCalls }))
        }
      }
    case 'llm_iteration_completed':
      return { ...op, message: { ...m, ...(m.responseText !== undefined ? { responseText: t(m.responseText) ?? undefined } : {}), toolRequests: m.toolRequests?.map(call) } }
    case 'review_requested':
      return { ...op, message: { ...m, taskDescription: t(m.taskDescription) ?? '', taskOutput: t(m.taskOutput) ?? '', ...(m.prompt !== undefined ? { prompt: t(m.prompt) ?? undefined } : {}) } }
    default:
      return op
  }
}

// ---------------------------------------------------------------------------------------------

function applyMessage(run: LiveRunDetail, message: RunMessage, receivedAt: string, keepEvents: number, structured: string | null | undefined): void {
  const L = run.limits
  const text = (v: string | null | undefined) => clip(v, L.textChars).text
  const rec = (type: string, at: string, summary: string) => record(run, keepEvents, type, at, summary)
  switch (message.type) {
    case 'ensemble_started': {
      const at = pick(message.startedAt, receivedAt)
      run.live.declaredTotal = message.totalTasks
      rec('ensemble_started', at, `Ensemble started: ${message.workflow ?? 'unknown workflow'}, ${message.totalTasks} task${message.totalTasks === 1 ? '' : 's'}`)
      return
    }
    case 'ensemble_completed': {
      const at = pick(message.completedAt, receivedAt)
      const reason = message.exitReason ?? 'COMPLETED'
      endRun(run, statusForExit(reason), at, reason, 'server')
      rec('ensemble_completed', at, `Ensemble finished: ${reason} in ${formatMs(message.durationMs)}, ${message.totalToolCalls} tool calls`)
      return
    }
    case 'task_started': {
      run.live.declaredTotal = Math.max(run.live.declaredTotal, message.totalTasks)
      const at = pick(message.startedAt, receivedAt)
      const existing = findTask(run, message.taskIndex)
      // A duplicate start (e.g. a live event also present in the hello snapshot) changes nothing.
      if (existing?.status !== 'running') addTask(run, newTask(message.taskIndex, text(message.taskDescription), text(message.agentRole), 'running', at))
      if (run.live.endedBy === 'inferred') {
        run.status = 'running'
        run.endedAt = null
        run.exitReason = null
        run.live.endedBy = null
      }
      rec('task_started', at, `Task ${message.taskIndex} started: ${describe(message.taskDescription, message.agentRole)}`)
      return
    }
    case 'task_input': {
      const task = findTask(run, message.taskIndex)
      if (task && (!task.description || !task.agentRole)) {
        replaceTask(run, task, { ...task, description: task.description || (text(message.taskDescription) ?? ''), agentRole: task.agentRole || (text(message.agentRole) ?? '') })
      }
      const tools = message.toolNames?.length ? ` (tools: ${message.toolNames.join(', ')})` : ''
      rec('task_input', pick(message.sentAt, receivedAt), `Task ${message.taskIndex} input assembled${tools}`)
      return
    }
    case 'task_completed': {
      run.live.declaredTotal = Math.max(run.live.declaredTotal, message.totalTasks)
      const at = pick(message.completedAt, receivedAt)
      const task = taskOrNew(run, message.taskIndex, text(message.taskDescription), text(message.agentRole), at, message.durationMs)
      replaceTask(run, task, { ...task, status: 'completed', endedAt: at, durationMs: message.durationMs, toolCalls: Math.max(task.toolCalls, message.toolCallCount) })
      rec('task_completed', at, `Task ${message.taskIndex} completed in ${formatMs(message.durationMs)}`)
      return
    }
    case 'task_failed': {
      const at = pick(message.failedAt, receivedAt)
      const task = taskOrNew(run, message.taskIndex, text(message.taskDescription), text(message.agentRole), at, null)
      const failureReason = text(message.reason) ?? 'unknown error'
      replaceTask(run, task, { ...task, status: 'failed', endedAt: at, durationMs: span(task.startedAt, at), failureReason })
      // A failed task throws out of run(): no ensemble_completed will follow (§1.6).
      if (run.status === 'running' && !run.tasks.some((t) => t.status === 'running')) endRun(run, 'failed', at, VIGIL_EXIT_REASONS.taskFailed, 'inferred')
      rec('task_failed', at, `Task ${message.taskIndex} failed: ${failureReason}`)
      return
    }
    case 'tool_called': {
      let runningLast: TaskView | undefined
      let byRole: TaskView | undefined
      const role = text(message.agentRole)
      for (let i = run.tasks.length - 1; i >= 0 && !byRole; i--) {
        const t = run.tasks[i]!
        if (t.status !== 'running') continue
        runningLast ??= t
        if (role !== null && t.agentRole === role) byRole = t
      }
      // taskIndex 0 = unknown: fall back to the role, then to the latest running task (§1.2, "Facts" 8).
      const task = (message.taskIndex > 0 ? findTask(run, message.taskIndex) : undefined) ?? byRole ?? runningLast
      const failed = message.outcome !== null && message.outcome !== 'SUCCESS'
      const args = clip(message.toolArguments, L.textChars)
      const result = clip(message.toolResult, L.textChars)
      const structuredText = clip(structured !== undefined ? structured : stringifyJson(message.structuredResult), L.textChars)
      pushBounded(run, run.toolCalls, 'toolCalls', L.toolCalls, {
        seq: ++run.live.detailSeq,
        taskIndex: task?.taskIndex ?? null,
        agentRole: role,
        toolName: text(message.toolName),
        outcome: message.outcome,
        durationMs: message.durationMs,
        arguments: args.text,
        result: result.text,
        structuredResult: structuredText.text,
        truncated: args.truncated || result.truncated || structuredText.truncated,
        at: receivedAt
      })
      if (task) replaceTask(run, task, { ...task, toolCalls: task.toolCalls + 1, ...(failed ? { toolFailures: (task.toolFailures ?? 0) + 1 } : {}) })
      const where = task ? ` (task ${task.taskIndex})` : ''
      rec('tool_called', receivedAt, `${message.agentRole ?? '?'} called ${message.toolName ?? '?'}${where}: ${message.outcome ?? 'UNKNOWN'} in ${formatMs(message.durationMs)}`)
      return
    }
    case 'delegation_started':
      applyDelegation(run, message, receivedAt)
      rec(message.type, receivedAt, `${message.delegatingAgentRole ?? '?'} delegated to ${message.workerRole ?? '?'}: ${message.taskDescription ?? ''}`)
      return
    case 'delegation_completed':
      applyDelegation(run, message, receivedAt)
      rec(message.type, receivedAt, `Delegation to ${message.workerRole ?? '?'} completed in ${formatMs(message.durationMs)}`)
      return
    case 'delegation_failed':
      applyDelegation(run, message, receivedAt)
      rec(message.type, receivedAt, `Delegation to ${message.workerRole ?? '?'} failed: ${message.reason ?? 'unknown'}`)
      return
    case 'review_requested': {
      if (!run.pendingReviews.some((r) => r.reviewId === message.reviewId)) {
        const base = Date.parse(receivedAt)
        const timeoutMs = clampGateTimeout(message.timeoutMs)
        run.pendingReviews = [
          ...run.pendingReviews,
          {
            reviewId: message.reviewId,
            // Clipped like every run text: the review inbox (the coordinator) has the whole request.
            taskDescription: text(message.taskDescription) ?? '',
            taskOutput: text(message.taskOutput) ?? '',
            timing: message.timing,
            prompt: text(message.prompt ?? null),
            timeoutMs,
            onTimeout: message.onTimeout,
            // The server's clock starts at broadcast; our receive time is the closest we can know.
            expiresAt: timeoutMs > 0 && !Number.isNaN(base) ? formatInstant(base + timeoutMs) : null,
            requestedAt: receivedAt,
            requiredRole: message.requiredRole ?? null
          }
        ]
      }
      const timing = message.timing.split('_')[0] ?? message.timing
      rec('review_requested', receivedAt, `Review requested (${timing}): ${text(message.taskDescription) ?? ''}`)
      return
    }
    case 'review_timed_out': {
      run.pendingReviews = run.pendingReviews.filter((r) => r.reviewId !== message.reviewId)
      // FAIL throws out of run(): no ensemble_completed follows (§2.2.7).
      if (message.action === 'FAIL' && run.status === 'running') {
        for (const t of [...run.tasks]) {
          if (t.status === 'running') replaceTask(run, t, { ...t, status: 'failed', endedAt: receivedAt, durationMs: span(t.startedAt, receivedAt), failureReason: 'Review timed out' })
        }
        endRun(run, 'failed', receivedAt, VIGIL_EXIT_REASONS.reviewTimeoutFail, 'inferred')
      }
      rec('review_timed_out', receivedAt, `Review timed out: ${message.action ?? 'no action'}`)
      return
    }
    case 'token':
      // Streaming chunks would flush the event ring; count them only.
      touch(run, pick(message.sentAt, receivedAt))
      return
    case 'llm_iteration_started':
      applyIterationStarted(run, message, receivedAt)
      rec(message.type, receivedAt, `${message.agentRole}: LLM call ${message.iterationIndex + 1} started`)
      return
    case 'llm_iteration_completed': {
      applyIterationCompleted(run, message, receivedAt)
      const tokens = message.inputTokens || message.outputTokens ? `, ${message.inputTokens}→${message.outputTokens} tokens` : ''
      rec(message.type, receivedAt, `${message.agentRole}: LLM call ${message.iterationIndex + 1} → ${message.responseType} (${formatMs(message.latencyMs)}${tokens})`)
      return
    }
    case 'file_changed': {
      const task = taskForRole(run, text(message.agentRole))
      pushBounded(run, run.fileChanges, 'fileChanges', L.fileChanges, {
        seq: ++run.live.detailSeq,
        agentRole: text(message.agentRole),
        taskIndex: task?.taskIndex ?? null,
        filePath: text(message.filePath),
        changeType: text(message.changeType),
        linesAdded: message.linesAdded,
        linesRemoved: message.linesRemoved,
        at: pick(message.timestamp, receivedAt)
      })
      rec(message.type, pick(message.timestamp, receivedAt), `${message.agentRole ?? '?'} ${(message.changeType ?? 'changed').toLowerCase()} ${message.filePath ?? '?'} (+${message.linesAdded} −${message.linesRemoved})`)
      return
    }
    case 'metrics_snapshot':
      rec(message.type, receivedAt, `${message.agentRole ?? '?'}: ${message.iterationCount} iterations, ${message.inputTokens}→${message.outputTokens} tokens`)
      return
    case 'directive_active':
      rec(message.type, receivedAt, `Directive from ${message.from ?? '?'}: ${message.content ?? ''}`)
      return
    case 'vigil_span':
      applySpan(run, message, keepEvents)
      return
  }
}

/**
 * An OpenTelemetry span (otel-spans.ts): kept for the waterfall; an LLM or embeddings span is also an LLM
 * call, a tool span a tool call, and an agent span or any failed span a task (failed with its error).
 * Times are the span's own. A span id already kept (a batch sent again) changes nothing.
 */
function applySpan(run: LiveRunDetail, m: VigilSpanMessage, keepEvents: number): void {
  const L = run.limits
  const spans = (run.spans ??= [])
  if (spans.some((s) => s.spanId === m.spanId)) return
  const view = spanView(m, L.textChars)
  spans.push(view)
  if (spans.length > SPAN_LIMIT) {
    const extra = spans.length - SPAN_LIMIT
    spans.splice(0, extra)
    run.dropped.spans = (run.dropped.spans ?? 0) + extra
  }
  if (m.parentSpanId === null) run.workflow = view.name
  if (run.startedAt === null || Date.parse(view.startedAt) < Date.parse(run.startedAt)) run.startedAt = view.startedAt
  const who = clip(spanActor(m), L.textChars).text ?? ''
  const failed = m.status === 'ERROR'
  const ms = Math.round(m.durationMs)
  const rec = (type: string, summary: string) => record(run, keepEvents, type, view.endedAt, summary)
  if (m.category === 'llm' || m.category === 'embeddings') {
    const response = clip(m.outputText ?? null, L.textChars)
    // Numbered per agent and span name, in arrival order: the previous call's number + 1.
    const previous = run.iterations.findLast((it) => it.taskIndex === null && it.agentRole === who && it.taskDescription === view.name)
    pushBounded(run, run.iterations, 'iterations', L.iterations, {
      taskIndex: null,
      agentRole: who,
      taskDescription: view.name,
      iterationIndex: previous ? previous.iterationIndex + 1 : 0,
      startedAt: view.startedAt,
      completedAt: view.endedAt,
      responseType: failed ? 'ERROR' : 'FINAL_ANSWER',
      inputTokens: view.inputTokens,
      outputTokens: view.outputTokens,
      latencyMs: ms,
      messages: (m.inputMessages ?? []).map((x) => messageView(x, L)),
      totalMessageCount: m.inputMessages?.length ?? null,
      messagesDropped: false,
      responseText: response.text,
      responseTruncated: response.truncated,
      toolRequests: []
    })
    // Only the newest calls of an agent keep their (largely repeated) messages.
    let kept = 0
    for (let i = run.iterations.length - 1; i >= 0; i--) {
      const it = run.iterations[i]!
      if (it.agentRole !== who || it.taskIndex !== null || it.messages.length === 0) continue
      if (kept++ < L.iterationsWithMessages) continue
      run.iterations[i] = { ...it, messages: [], messagesDropped: true }
    }
    // Only the counts the span has: a failed call usually has none, and "? tokens" reads like a fault of ours.
    const counts = [view.inputTokens !== null ? `${view.inputTokens} tokens in` : null, view.outputTokens !== null ? `${view.outputTokens} out` : null].filter((x) => x !== null)
    const model = view.model ?? 'a model'
    rec(
      'llm_iteration_completed',
      failed
        ? `${who}'s call to ${model} failed after ${formatMs(ms)}: ${view.error ?? 'no message'}`
        : `${who} called ${model}${counts.length ? `: ${counts.join(', ')}` : ''}, ${formatMs(ms)}`
    )
  } else if (m.category === 'tool') {
    const args = clip(m.toolArguments, L.textChars)
    const result = clip(m.toolResult, L.textChars)
    pushBounded(run, run.toolCalls, 'toolCalls', L.toolCalls, {
      seq: ++run.live.detailSeq,
      taskIndex: null,
      agentRole: who,
      toolName: view.toolName ?? view.name,
      outcome: failed ? 'FAILURE' : 'SUCCESS',
      durationMs: ms,
      arguments: args.text,
      result: result.text,
      structuredResult: null,
      truncated: args.truncated || result.truncated,
      at: view.endedAt
    })
    rec('tool_called', `${who} called ${view.toolName ?? view.name}: ${failed ? 'FAILURE' : 'SUCCESS'} in ${formatMs(ms)}`)
  } else if (!failed) {
    rec(m.category === 'agent' ? 'task_completed' : 'vigil_span', `${m.category === 'agent' ? 'Agent' : 'Step'} ${view.name} finished in ${formatMs(ms)}`)
  }
  if (m.category === 'agent' || failed) {
    const index = run.tasks.length + run.dropped.tasks + 1
    addTask(run, {
      ...newTask(index, view.name, who, failed ? 'failed' : 'completed', view.startedAt),
      endedAt: view.endedAt,
      durationMs: ms,
      failureReason: failed ? (view.error ?? 'failed (no message)') : null
    })
    if (failed) rec('task_failed', `${view.name} failed: ${view.error ?? 'no message'}`)
  }
}

function endRun(run: LiveRunDetail, status: RunStatus, at: string, exitReason: string, by: 'server' | 'inferred'): void {
  run.status = status
  run.endedAt = at
  run.exitReason = exitReason
  run.live.endedBy = by
  // Exit-early and aborts leave tasks without an end event: close them rather than show them running.
  for (let i = 0; i < run.tasks.length; i++) {
    const t = run.tasks[i]!
    if (t.status !== 'running' && t.status !== 'pending') continue
    run.tasks[i] = { ...t, status: 'aborted', endedAt: at, durationMs: span(t.startedAt, at) }
  }
  if (run.pendingReviews.length) run.pendingReviews = []
}

/** Counts and `stale` as a run summary shows them; recomputed after ops that can change them. */
function refreshTotals(run: LiveRunDetail): void {
  let completed = run.live.droppedCompleted
  let failed = run.live.droppedFailed
  const indexes = new Set<number>()
  for (const t of run.tasks) {
    indexes.add(t.taskIndex)
    if (t.status === 'completed') completed++
    else if (t.status === 'failed') failed++
  }
  run.totalTasks = Math.max(run.live.declaredTotal, indexes.size + run.dropped.tasks)
  run.completedTasks = completed
  run.failedTasks = failed
  run.stale = run.live.streamStale && run.status === 'running'
}

function touch(run: LiveRunDetail, at: string): void {
  run.eventCount++
  run.lastEventAt = at
}

function record(run: LiveRunDetail, keepEvents: number, type: string, at: string, summary: string): void {
  touch(run, at)
  // Summaries quote agent text (descriptions, roles, directives): clipped like the rest.
  run.recentEvents.push({ seq: ++run.live.eventSeq, type, at, summary: clip(summary, run.limits.textChars).text ?? '' })
  if (run.recentEvents.length > keepEvents) run.recentEvents.splice(0, run.recentEvents.length - keepEvents)
}

function findTask(run: LiveRunDetail, taskIndex: number): TaskView | undefined {
  return run.tasks.findLast((t) => t.taskIndex === taskIndex)
}

function replaceTask(run: LiveRunDetail, task: TaskView, next: TaskView): void {
  const i = run.tasks.lastIndexOf(task)
  if (i >= 0) run.tasks[i] = next
}

function taskOrNew(run: LiveRunDetail, index: number, description: string | null, role: string | null, endAt: string, durationMs: number | null): TaskView {
  const found = findTask(run, index)
  if (found) return found
  // Its start was not seen (trimmed snapshot): derive the start from the duration when we can.
  const end = Date.parse(endAt)
  const startedAt = durationMs !== null && !Number.isNaN(end) ? formatInstant(end - durationMs) : null
  const task = newTask(index, description, role, 'running', startedAt)
  addTask(run, task)
  return task
}

/**
 * Appends a task, keeping at most `limits.tasks`: beyond it the oldest finished task goes (the oldest
 * task of all when every one is running), counted in `dropped.tasks` and in the run's totals.
 */
function addTask(run: LiveRunDetail, task: TaskView): void {
  run.tasks.push(task)
  while (run.tasks.length > run.limits.tasks) {
    let i = run.tasks.findIndex((t) => t.status !== 'running' && t.status !== 'pending')
    if (i < 0) i = 0
    const [gone] = run.tasks.splice(i, 1)
    run.dropped.tasks++
    if (gone?.status === 'completed') run.live.droppedCompleted++
    else if (gone?.status === 'failed') run.live.droppedFailed++
  }
}

function pushBounded<T>(run: LiveRunDetail, list: T[], kind: keyof RunDetailDropped, max: number, item: T): void {
  list.push(item)
  if (list.length > max) {
    const extra = list.length - max
    list.splice(0, extra)
    run.dropped[kind] += extra
  }
}

/** The running task of an agent (for frames that only name a role), else the latest running one. */
function taskForRole(run: LiveRunDetail, role: string | null): TaskView | undefined {
  let last: TaskView | undefined
  for (let i = run.tasks.length - 1; i >= 0; i--) {
    const t = run.tasks[i]!
    if (t.status !== 'running') continue
    if (role && t.agentRole === role) return t
    last ??= t
  }
  return role ? undefined : last
}

/** The task an LLM iteration belongs to: same role and description, the running one first. */
function taskForIteration(run: LiveRunDetail, role: string, description: string): TaskView | undefined {
  let sameLast: TaskView | undefined
  let roleRunning: TaskView | undefined
  let descriptionRunning: TaskView | undefined
  for (let i = run.tasks.length - 1; i >= 0; i--) {
    const t = run.tasks[i]!
    const running = t.status === 'running'
    if (t.agentRole === role && t.description === description) {
      if (running) return t
      sameLast ??= t
    }
    if (running && t.agentRole === role) roleRunning ??= t
    if (running && t.description === description) descriptionRunning ??= t
  }
  return sameLast ?? roleRunning ?? descriptionRunning
}

function findIteration(run: LiveRunDetail, role: string, description: string, index: number, taskIndex: number | null): LlmIterationView | undefined {
  return run.iterations.findLast((it) => it.agentRole === role && it.taskDescription === description && it.iterationIndex === index && it.taskIndex === taskIndex)
}

function replaceIteration(run: LiveRunDetail, it: LlmIterationView, next: LlmIterationView): void {
  const i = run.iterations.lastIndexOf(it)
  if (i >= 0) run.iterations[i] = next
}

function applyIterationStarted(run: LiveRunDetail, message: LlmIterationStartedMessage, receivedAt: string): void {
  const L = run.limits
  const role = clip(message.agentRole, L.textChars).text ?? ''
  const description = clip(message.taskDescription, L.textChars).text ?? ''
  const taskIndex = taskForIteration(run, role, description)?.taskIndex ?? null
  const messages = (message.messages ?? []).map((m) => messageView(m, L))
  const existing = findIteration(run, role, description, message.iterationIndex, taskIndex)
  // Replays (recentIterations, hub snapshots that carry iterations twice) refresh rather than duplicate.
  if (existing && (existing.completedAt === null || existing.messages.length === 0 || existing.messagesDropped)) {
    replaceIteration(run, existing, {
      ...existing,
      messages: existing.messagesDropped ? [] : messages,
      totalMessageCount: message.totalMessageCount ?? existing.totalMessageCount
    })
    return
  }
  if (existing) return
  pushBounded(run, run.iterations, 'iterations', L.iterations, {
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
  // Only the newest iterations of a task keep their (largely repeated) message buffers.
  let kept = 0
  for (let i = run.iterations.length - 1; i >= 0; i--) {
    const it = run.iterations[i]!
    if (it.agentRole !== role || it.taskDescription !== description || it.taskIndex !== taskIndex) continue
    if (kept < L.iterationsWithMessages) {
      kept++
      continue
    }
    if (it.messagesDropped) break
    run.iterations[i] = { ...it, messages: [], messagesDropped: true }
  }
}

function applyIterationCompleted(run: LiveRunDetail, message: LlmIterationCompletedMessage, receivedAt: string): void {
  const L = run.limits
  const role = clip(message.agentRole, L.textChars).text ?? ''
  const description = clip(message.taskDescription, L.textChars).text ?? ''
  const taskIndex = taskForIteration(run, role, description)?.taskIndex ?? null
  let it = findIteration(run, role, description, message.iterationIndex, taskIndex)
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
    pushBounded(run, run.iterations, 'iterations', L.iterations, it)
  }
  const response = clip(message.responseText ?? null, L.textChars)
  replaceIteration(run, it, {
    ...it,
    completedAt: receivedAt,
    responseType: message.responseType ?? null,
    inputTokens: message.inputTokens,
    outputTokens: message.outputTokens,
    latencyMs: message.latencyMs,
    responseText: response.text,
    responseTruncated: response.truncated,
    toolRequests: (message.toolRequests ?? []).map((c) => toolRequestView(c, L))
  })
}

function messageView(m: LlmMessage, L: RunDetailLimits): LlmMessageView {
  const content = clip(m.content, L.messageChars)
  return {
    role: m.role ?? 'unknown',
    content: content.text ?? '',
    truncated: content.truncated,
    toolCalls: (m.toolCalls ?? []).map((c) => toolRequestView(c, L)),
    toolName: m.toolName
  }
}

function toolRequestView(c: LlmToolCall, L: RunDetailLimits): LlmToolRequestView {
  return { name: c.name ?? '?', arguments: clip(c.arguments, L.messageChars).text ?? '' }
}

type DelegationMessage = DelegationStartedMessage | DelegationCompletedMessage | DelegationFailedMessage

function applyDelegation(run: LiveRunDetail, message: DelegationMessage, receivedAt: string): void {
  const L = run.limits
  const text = (v: string | null | undefined) => clip(v, L.textChars).text
  const delegationId = text(message.delegationId)
  const from = text(message.delegatingAgentRole)
  const to = text(message.workerRole)
  let d = delegationId !== null ? run.delegations.findLast((x) => x.delegationId === delegationId) : undefined
  if (message.type === 'delegation_started') {
    if (d && d.status === 'running') return
    pushBounded(run, run.delegations, 'delegations', L.delegations, {
      delegationId,
      from,
      to,
      taskDescription: text(message.taskDescription),
      taskIndex: taskForRole(run, from)?.taskIndex ?? null,
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
      taskIndex: taskForRole(run, from)?.taskIndex ?? null,
      status: 'running',
      startedAt: receivedAt,
      endedAt: null,
      durationMs: null,
      reason: null
    }
    pushBounded(run, run.delegations, 'delegations', L.delegations, d)
  }
  const next: DelegationView =
    message.type === 'delegation_completed'
      ? { ...d, endedAt: receivedAt, status: 'completed', durationMs: message.durationMs }
      : { ...d, endedAt: receivedAt, status: 'failed', reason: text(message.reason) ?? 'unknown', durationMs: span(d.startedAt, receivedAt) }
  const i = run.delegations.lastIndexOf(d)
  if (i >= 0) run.delegations[i] = next
}

// ---------------------------------------------------------------------------------------------

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
  return { taskIndex: index, description: description ?? '', agentRole: role ?? '', status, startedAt, endedAt: null, durationMs: null, toolCalls: 0, failureReason: null, toolFailures: 0 }
}

/** The server's timestamp when it sent a usable one, else our receive time. */
export function pickTime(serverTime: string | null | undefined, receivedAt: string): string {
  return serverTime && !Number.isNaN(Date.parse(serverTime)) ? serverTime : receivedAt
}
const pick = pickTime

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
