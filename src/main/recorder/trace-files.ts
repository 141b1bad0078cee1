// AgentEnsemble historical trace files (spec §5.5): export a recorded run as an ExecutionTrace
// (`.trace.json`, schemaVersion 1.1) and import `.trace.json` / `.dag.json` files. Pure: no I/O.
//
// Live events carry far less than a trace (no prompts unless task_input came, no system prompt unless
// an llm_iteration_started carried it, no costs, no memory counters): what is unknown is written as the
// Java exporter writes it — null, -1 for token counts, "PT0S" for unmeasured durations, {} / [].
// Vigil-only facts (task indexes, why Vigil ended a run) travel in the free-form `metadata` maps under
// "vigil", so a Vigil export imports back into the same run.
import { ApiError } from '../../shared/api/errors'
import type {
  EnsembleCompletedMessage,
  LlmMessage,
  LlmToolCall,
  ServerMessage
} from '../../shared/protocol/agentensemble'
import { formatInstant } from '../../shared/protocol/agentensemble'
import type { Incoming, RunTracker } from '../live/run-tracker'

/** An ingested message with where and when it arrived (what the recorder stores). */
export interface TraceEvent {
  sourceId: string
  producerId: string | null
  receivedAt: string
  message: Incoming
}

export interface SegmentedRun<T extends TraceEvent> {
  runId: string
  sourceId: string
  producerId: string | null
  ensembleId: string | null
  events: T[]
}

/** Vigil's reasons for ending a run the server never closed (RunTracker's VIGIL_EXIT_REASONS). */
const INFERRED_EXITS = new Set(['SUPERSEDED', 'SERVER_RESTARTED', 'TASK_FAILED', 'REVIEW_TIMEOUT_FAIL'])

/** Largest trace file accepted (bytes of text). */
export const MAX_TRACE_FILE_CHARS = 64 * 1024 * 1024

// ---------------------------------------------------------------------------------------------
// Run attribution (mirrors RunTracker: events belong to the latest ensemble_started of their stream)

export function segmentRuns<T extends TraceEvent>(events: readonly T[]): Map<string, SegmentedRun<T>> {
  const runs = new Map<string, SegmentedRun<T>>()
  const streams = new Map<string, { current: SegmentedRun<T> | null; occurrences: Map<string, number>; all: SegmentedRun<T>[] }>()
  const create = (sourceId: string, producerId: string | null, ensembleId: string | null) => {
    const key = `${sourceId}\u0000${producerId ?? ''}\u0000${producerId === null ? 'embedded' : 'hub'}`
    let st = streams.get(key)
    if (!st) {
      st = { current: null, occurrences: new Map(), all: [] }
      streams.set(key, st)
    }
    return { st, make: () => {
      const s = st
      const n = (s.occurrences.get(ensembleId ?? '') ?? 0) + 1
      s.occurrences.set(ensembleId ?? '', n)
      const run: SegmentedRun<T> = { runId: `${sourceId}:${producerId ?? '-'}:${ensembleId ?? 'run'}:${n}`, sourceId, producerId, ensembleId, events: [] }
      runs.delete(run.runId)
      runs.set(run.runId, run)
      s.all.push(run)
      s.current = run
      return run
    } }
  }
  for (const e of events) {
    const m = e.message
    switch (m.type) {
      case 'hello':
      case 'hub_hello':
      case 'event':
      case 'producer_joined':
      case 'producer_left':
      case 'review_decision':
      case 'heartbeat':
      case 'pong':
      case 'ping':
        continue
    }
    if (m.type === 'ensemble_started') {
      create(e.sourceId, e.producerId, m.ensembleId).make().events.push(e)
      continue
    }
    const { st, make } = create(e.sourceId, e.producerId, m.type === 'ensemble_completed' ? m.ensembleId : null)
    let run = st.current
    if (m.type === 'ensemble_completed' && m.ensembleId !== null) {
      run = st.all.findLast((r) => r.ensembleId === m.ensembleId) ?? run
    }
    if (!run) {
      if (m.type === 'review_timed_out' || m.type === 'directive_active') continue
      run = make()
    }
    run.events.push(e)
  }
  return runs
}

// ---------------------------------------------------------------------------------------------
// Export

interface ToolCallTrace {
  toolName: string | null
  arguments: string | null
  result: string | null
  structuredOutput: unknown
  startedAt: string | null
  completedAt: string | null
  duration: string | null
  outcome: string | null
  parsedInput: Record<string, unknown>
  metadata: Record<string, unknown>
}

interface Interaction {
  iterationIndex: number
  startedAt: string | null
  completedAt: string | null
  latencyMs: number
  inputTokens: number
  outputTokens: number
  responseType: string | null
  responseText: string | null
  toolCalls: ToolCallTrace[]
  messages: Array<{ role: string | null; content: string | null; toolCalls: LlmToolCall[]; toolName: string | null }>
  synthesized: boolean
  done: boolean
}

interface Delegation {
  id: string | null
  delegatorRole: string | null
  workerRole: string | null
  taskDescription: string | null
  startedAt: string | null
  completedAt: string | null
  durationMs: number | null
  result: string | null
  succeeded: boolean
}

interface TaskAcc {
  taskIndex: number
  description: string | null
  role: string | null
  expectedOutput: string | null
  userPrompt: string | null
  systemPrompt: string | null
  startedAt: string | null
  completedAt: string | null
  durationMs: number | null
  status: 'running' | 'completed' | 'failed'
  failure: { reason: string | null; at: string | null } | null
  interactions: Interaction[]
  delegations: Delegation[]
  streamed: string
  reportedToolCalls: number
}

/** Builds the ExecutionTrace object of one run from its recorded events (see {@link exportRunTrace}). */
export function buildExecutionTrace(run: SegmentedRun<TraceEvent>): Record<string, unknown> {
  let ensembleId = run.ensembleId
  let workflow: string | null = null
  let startedAt: string | null = null
  let declaredTotal = 0
  let completion: EnsembleCompletedMessage | null = null
  let completionAt: string | null = null
  let lastAt: string | null = null
  const tasks: TaskAcc[] = []
  const agents = new Map<string, { goal: string | null; background: string | null; toolNames: string[]; allowDelegation: boolean }>()
  const delegations = new Map<string, Delegation>()
  let unattributedTools = 0

  const agent = (role: string | null) => {
    if (role === null) return null
    let a = agents.get(role)
    if (!a) {
      a = { goal: null, background: null, toolNames: [], allowDelegation: false }
      agents.set(role, a)
    }
    return a
  }
  const running = () => tasks.filter((t) => t.status === 'running')
  const byIndex = (i: number) => tasks.findLast((t) => t.taskIndex === i)
  const newTask = (i: number, description: string | null, role: string | null, at: string | null): TaskAcc => {
    const t: TaskAcc = {
      taskIndex: i, description, role, expectedOutput: null, userPrompt: null, systemPrompt: null,
      startedAt: at, completedAt: null, durationMs: null, status: 'running', failure: null,
      interactions: [], delegations: [], streamed: '', reportedToolCalls: 0
    }
    tasks.push(t)
    agent(role)
    return t
  }
  const forConversation = (role: string | null, description: string | null) =>
    running().findLast((t) => t.role === role && t.description === description) ??
    tasks.findLast((t) => t.role === role && t.description === description) ??
    running().findLast((t) => t.role === role) ??
    running().at(-1) ??
    tasks.at(-1)

  for (const e of run.events) {
    const m = e.message
    const at = e.receivedAt
    lastAt = at
    switch (m.type) {
      case 'ensemble_started':
        ensembleId = m.ensembleId ?? ensembleId
        workflow = m.workflow
        startedAt = m.startedAt ?? at
        declaredTotal = m.totalTasks
        break
      case 'ensemble_completed':
        completion = m
        completionAt = m.completedAt ?? at
        break
      case 'task_started': {
        const existing = byIndex(m.taskIndex)
        if (existing?.status !== 'running') newTask(m.taskIndex, m.taskDescription, m.agentRole, m.startedAt ?? at)
        declaredTotal = Math.max(declaredTotal, m.totalTasks)
        break
      }
      case 'task_input': {
        const t = byIndex(m.taskIndex) ?? newTask(m.taskIndex, m.taskDescription, m.agentRole, m.sentAt ?? at)
        t.expectedOutput = m.expectedOutput
        t.userPrompt = m.assembledContext
        t.description ??= m.taskDescription
        t.role ??= m.agentRole
        const a = agent(m.agentRole)
        if (a) {
          a.goal = m.agentGoal ?? a.goal
          a.background = m.agentBackground ?? a.background
          for (const name of m.toolNames ?? []) if (!a.toolNames.includes(name)) a.toolNames.push(name)
        }
        break
      }
      case 'task_completed': {
        const end = m.completedAt ?? at
        const t = byIndex(m.taskIndex) ?? newTask(m.taskIndex, m.taskDescription, m.agentRole, startOf(end, m.durationMs))
        t.status = 'completed'
        t.completedAt = end
        t.durationMs = m.durationMs
        t.reportedToolCalls = m.toolCallCount
        declaredTotal = Math.max(declaredTotal, m.totalTasks)
        break
      }
      case 'task_failed': {
        const end = m.failedAt ?? at
        const t = byIndex(m.taskIndex) ?? newTask(m.taskIndex, m.taskDescription, m.agentRole, null)
        t.status = 'failed'
        t.completedAt = end
        t.durationMs = spanMs(t.startedAt, end)
        t.failure = { reason: m.reason, at: end }
        break
      }
      case 'llm_iteration_started': {
        const t = forConversation(m.agentRole, m.taskDescription)
        if (!t) break
        const messages = m.messages.map((x: LlmMessage) => ({ role: x.role, content: x.content, toolCalls: x.toolCalls ?? [], toolName: x.toolName }))
        if (t.systemPrompt === null) t.systemPrompt = messages.find((x) => x.role === 'system')?.content ?? null
        t.interactions.push({
          iterationIndex: m.iterationIndex, startedAt: at, completedAt: null, latencyMs: 0, inputTokens: -1, outputTokens: -1,
          responseType: null, responseText: null, toolCalls: [], messages, synthesized: false, done: false
        })
        break
      }
      case 'llm_iteration_completed': {
        const t = forConversation(m.agentRole, m.taskDescription)
        if (!t) break
        let it = t.interactions.findLast((x) => x.iterationIndex === m.iterationIndex && !x.done)
        if (!it) {
          it = {
            iterationIndex: m.iterationIndex, startedAt: startOf(at, m.latencyMs), completedAt: null, latencyMs: 0, inputTokens: -1,
            outputTokens: -1, responseType: null, responseText: null, toolCalls: [], messages: [], synthesized: false, done: false
          }
          t.interactions.push(it)
        }
        it.done = true
        it.completedAt = at
        it.latencyMs = m.latencyMs
        it.inputTokens = m.inputTokens
        it.outputTokens = m.outputTokens
        it.responseType = m.responseType
        it.responseText = m.responseText ?? null
        break
      }
      case 'token': {
        const t = forConversation(m.agentRole, m.taskDescription)
        if (t) t.streamed += m.token ?? ''
        break
      }
      case 'tool_called': {
        const live = running()
        const t =
          (m.taskIndex > 0 ? byIndex(m.taskIndex) : undefined) ??
          live.findLast((x) => m.agentRole !== null && x.role === m.agentRole) ??
          live.at(-1)
        if (!t) {
          unattributedTools++
          break
        }
        let it = t.interactions.at(-1)
        if (!it) {
          // No LLM events were seen for this task: hold the calls in an interaction marked synthesized.
          it = {
            iterationIndex: 0, startedAt: null, completedAt: null, latencyMs: 0, inputTokens: -1, outputTokens: -1,
            responseType: 'TOOL_CALLS', responseText: null, toolCalls: [], messages: [], synthesized: true, done: true
          }
          t.interactions.push(it)
        }
        it.toolCalls.push({
          toolName: m.toolName,
          arguments: m.toolArguments,
          result: m.toolResult,
          structuredOutput: m.structuredResult ?? null,
          startedAt: startOf(at, m.durationMs),
          completedAt: at,
          duration: isoDuration(m.durationMs),
          outcome: m.outcome,
          parsedInput: {},
          metadata: {}
        })
        break
      }
      case 'delegation_started': {
        const d: Delegation = {
          id: m.delegationId, delegatorRole: m.delegatingAgentRole, workerRole: m.workerRole, taskDescription: m.taskDescription,
          startedAt: at, completedAt: null, durationMs: null, result: null, succeeded: false
        }
        if (m.delegationId !== null) delegations.set(m.delegationId, d)
        const a = agent(m.delegatingAgentRole)
        if (a) a.allowDelegation = true
        const t = running().findLast((x) => x.role === m.delegatingAgentRole) ?? running().at(-1) ?? tasks.at(-1)
        t?.delegations.push(d)
        break
      }
      case 'delegation_completed':
      case 'delegation_failed': {
        const d = m.delegationId === null ? undefined : delegations.get(m.delegationId)
        if (!d) break
        d.completedAt = at
        d.succeeded = m.type === 'delegation_completed'
        d.durationMs = m.type === 'delegation_completed' ? m.durationMs : spanMs(d.startedAt, at)
        if (m.type === 'delegation_failed') d.result = m.reason
        break
      }
    }
  }

  const firstTaskStart = tasks.find((t) => t.startedAt !== null)?.startedAt ?? null
  startedAt ??= firstTaskStart ?? run.events[0]?.receivedAt ?? null
  const lastTaskEnd = tasks.reduce<string | null>((acc, t) => (t.completedAt !== null && (acc === null || Date.parse(t.completedAt) > Date.parse(acc)) ? t.completedAt : acc), null)
  const completedAt = completionAt ?? (tasks.some((t) => t.status === 'failed') ? lastTaskEnd : null)
  const totalMs = completion ? completion.durationMs : spanMs(startedAt, completedAt)

  let exitReason: string | null = completion ? (completion.exitReason ?? 'COMPLETED') : null
  if (!completion && tasks.some((t) => t.status === 'failed') && !tasks.some((t) => t.status === 'running')) exitReason = 'TASK_FAILED'

  const taskTraces = tasks.map((t) => {
    const metrics = taskMetrics(t)
    return {
      taskDescription: t.description,
      expectedOutput: t.expectedOutput,
      agentRole: t.role,
      startedAt: t.startedAt,
      completedAt: t.completedAt,
      duration: isoDuration(t.durationMs),
      prompts: { systemPrompt: t.systemPrompt, userPrompt: t.userPrompt },
      llmInteractions: t.interactions.map((it) => ({
        iterationIndex: it.iterationIndex,
        startedAt: it.startedAt,
        completedAt: it.completedAt,
        latency: isoDuration(it.latencyMs),
        inputTokens: it.inputTokens,
        outputTokens: it.outputTokens,
        responseType: it.responseType,
        responseText: it.responseText,
        toolCalls: it.toolCalls,
        messages: it.messages
      })),
      delegations: t.delegations.map((d) => ({
        delegatorRole: d.delegatorRole,
        workerRole: d.workerRole,
        taskDescription: d.taskDescription,
        startedAt: d.startedAt,
        completedAt: d.completedAt,
        duration: isoDuration(d.durationMs),
        depth: 1,
        result: d.result,
        succeeded: d.succeeded,
        workerTrace: null
      })),
      finalOutput: t.interactions.findLast((it) => it.responseType === 'FINAL_ANSWER')?.responseText ?? (t.streamed === '' ? null : t.streamed),
      parsedOutput: null,
      metrics,
      nodeType: null,
      mapReduceLevel: null,
      metadata: {
        vigil: {
          taskIndex: t.taskIndex,
          status: t.status,
          synthesizedInteractions: t.interactions.flatMap((it, i) => (it.synthesized ? [i] : []))
        }
      }
    }
  })

  const taskMetricsByRole: Record<string, ReturnType<typeof taskMetrics>> = {}
  for (const t of tasks) {
    const role = t.role ?? ''
    const m = taskMetrics(t)
    const prev = taskMetricsByRole[role]
    taskMetricsByRole[role] = prev ? sumMetrics(prev, m) : m
  }
  const all = tasks.map(taskMetrics)
  const total = all.reduce<ReturnType<typeof taskMetrics> | null>((acc, m) => (acc ? sumMetrics(acc, m) : m), null)
  const toolCount = tasks.reduce((n, t) => n + countTools(t), 0) + unattributedTools

  return {
    schemaVersion: '1.1',
    captureMode: tasks.some((t) => t.interactions.some((it) => it.messages.length > 0)) ? 'STANDARD' : 'OFF',
    ensembleId: ensembleId ?? run.runId,
    workflow,
    startedAt,
    completedAt,
    totalDuration: isoDuration(totalMs),
    inputs: {},
    agents: [...agents.entries()].map(([role, a]) => ({ role, goal: a.goal, background: a.background, toolNames: a.toolNames, allowDelegation: a.allowDelegation })),
    taskTraces,
    metrics: {
      totalInputTokens: total?.inputTokens ?? -1,
      totalOutputTokens: total?.outputTokens ?? -1,
      totalTokens: completion && completion.totalTokens >= 0 ? completion.totalTokens : (total?.totalTokens ?? -1),
      totalLlmLatency: total?.llmLatency ?? 'PT0S',
      totalToolExecutionTime: total?.toolExecutionTime ?? 'PT0S',
      totalMemoryRetrievalTime: 'PT0S',
      totalPromptBuildTime: 'PT0S',
      totalLlmCallCount: total?.llmCallCount ?? 0,
      totalToolCalls: completion ? Math.max(completion.totalToolCalls, toolCount) : toolCount,
      totalDelegations: total?.delegationCount ?? 0,
      memoryOperations: emptyMemoryOps(),
      taskMetrics: taskMetricsByRole,
      totalCostEstimate: null
    },
    totalCostEstimate: null,
    errors: tasks.flatMap((t) =>
      t.failure
        ? [{ agentRole: t.role, taskDescription: t.description, errorType: 'TaskFailed', message: t.failure.reason, stackTrace: null, occurredAt: t.failure.at }]
        : []
    ),
    mapReduceLevels: [],
    loopTraces: [],
    graphTrace: null,
    traceId: null,
    metadata: {
      vigil: {
        exportedBy: 'vigil',
        runId: run.runId,
        sourceId: run.sourceId,
        producerId: run.producerId,
        exitReason,
        totalTasks: Math.max(declaredTotal, new Set(tasks.map((t) => t.taskIndex)).size),
        lastEventAt: lastAt
      }
    }
  }
}

/**
 * ExecutionTrace JSON (pretty-printed, like JsonTraceExporter) of one run, from recorded events (e.g.
 * `recorder.readEvents()` or `recorder.runEvents(runId)`). A RunTracker keeps summaries only, not the raw
 * frames a trace needs, so it cannot be the input. Unknown runId → ApiError 'not-found'.
 */
export function exportRunTrace(events: readonly TraceEvent[], runId: string): string {
  const run = segmentRuns(events).get(runId)
  if (!run) throw new ApiError('not-found', `No recorded events for run ${runId}.`)
  // An imported file comes back as it was: Vigil changes nothing in it, and live events cannot carry
  // all a trace holds (costs, inputs, nested worker traces, capture mode, memory counters…).
  const original = run.sourceId.startsWith('file:') ? run.events.find((e) => e.message.type === 'vigil_trace_original') : undefined
  if (original?.message.type === 'vigil_trace_original' && isObj(original.message.trace)) return JSON.stringify(original.message.trace, null, 2)
  return JSON.stringify(buildExecutionTrace(run), null, 2)
}

/** Names Windows keeps for devices (CON, NUL.txt, COM1…): never a file name of ours. */
const RESERVED_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i

/**
 * File name the viz CLI lists (`*.trace.json`) and accepts (its /api/file refuses `..`, `/` and `\`): only
 * letters, digits, `.`, `_` and `-`, no `..`, no leading or trailing dot, at most 120 characters before
 * the suffix, never a Windows device name, never empty.
 */
export function traceFileName(ensembleId: string): string {
  let base = ensembleId
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '_')
    .slice(0, 120)
    .replace(/^[.]+|[.]+$/g, '')
  if (base === '' || /^[_-]*$/.test(base)) base = `run${base}`
  if (RESERVED_NAME.test(base)) base = `_${base}`
  return `${base}.trace.json`
}

/**
 * What a `.dag.json` import answers (ApiError 'bad-request'): a DAG is a plan, not a run, so there is no
 * run to open in Vigil. Names the plan and where it can be seen.
 */
export function dagNotARun(fileName: string, dag: DagSummary): ApiError {
  const n = dag.tasks.length
  const path = dag.criticalPath.length > 0 ? `, critical path ${dag.criticalPath.slice(0, 8).join(' → ')}${dag.criticalPath.length > 8 ? ' → …' : ''}` : ''
  return new ApiError(
    'bad-request',
    `${fileName} is an AgentEnsemble DAG: the plan of ${n} task${n === 1 ? '' : 's'} (${dag.workflow ?? 'unknown workflow'}${path}), not a run. ` +
      'Vigil shows runs, so there is nothing to open from it: import the run\'s .trace.json instead, or open the DAG in AgentEnsemble\'s viz (npx @agentensemble/viz <folder>).'
  )
}

function taskMetrics(t: TaskAcc) {
  const real = t.interactions.filter((it) => !it.synthesized)
  const known = real.filter((it) => it.inputTokens >= 0 || it.outputTokens >= 0)
  const input = known.length ? known.reduce((n, it) => n + Math.max(0, it.inputTokens), 0) : -1
  const output = known.length ? known.reduce((n, it) => n + Math.max(0, it.outputTokens), 0) : -1
  const toolMs = t.interactions.reduce((n, it) => n + it.toolCalls.reduce((k, c) => k + (parseIsoDuration(c.duration) ?? 0), 0), 0)
  return {
    inputTokens: input,
    outputTokens: output,
    totalTokens: input < 0 && output < 0 ? -1 : Math.max(0, input) + Math.max(0, output),
    llmLatency: isoDuration(real.reduce((n, it) => n + it.latencyMs, 0)) ?? 'PT0S',
    toolExecutionTime: isoDuration(toolMs) ?? 'PT0S',
    memoryRetrievalTime: 'PT0S',
    promptBuildTime: 'PT0S',
    llmCallCount: real.length,
    toolCallCount: Math.max(countTools(t), t.reportedToolCalls),
    delegationCount: t.delegations.length,
    memoryOperations: emptyMemoryOps(),
    costEstimate: null
  }
}

function sumMetrics(a: ReturnType<typeof taskMetrics>, b: ReturnType<typeof taskMetrics>): ReturnType<typeof taskMetrics> {
  const add = (x: number, y: number) => (x < 0 && y < 0 ? -1 : Math.max(0, x) + Math.max(0, y))
  const addDur = (x: string, y: string) => isoDuration((parseIsoDuration(x) ?? 0) + (parseIsoDuration(y) ?? 0)) ?? 'PT0S'
  return {
    inputTokens: add(a.inputTokens, b.inputTokens),
    outputTokens: add(a.outputTokens, b.outputTokens),
    totalTokens: add(a.totalTokens, b.totalTokens),
    llmLatency: addDur(a.llmLatency, b.llmLatency),
    toolExecutionTime: addDur(a.toolExecutionTime, b.toolExecutionTime),
    memoryRetrievalTime: 'PT0S',
    promptBuildTime: 'PT0S',
    llmCallCount: a.llmCallCount + b.llmCallCount,
    toolCallCount: a.toolCallCount + b.toolCallCount,
    delegationCount: a.delegationCount + b.delegationCount,
    memoryOperations: emptyMemoryOps(),
    costEstimate: null
  }
}

function countTools(t: TaskAcc): number {
  return t.interactions.reduce((n, it) => n + it.toolCalls.length, 0)
}

function emptyMemoryOps() {
  return { shortTermEntriesWritten: 0, longTermStores: 0, longTermRetrievals: 0, entityLookups: 0 }
}

// ---------------------------------------------------------------------------------------------
// Import

export interface DagTask {
  id: string
  description: string | null
  agentRole: string | null
  dependsOn: string[]
  onCriticalPath: boolean
}

export interface DagSummary {
  schemaVersion: string | null
  workflow: string | null
  generatedAt: string | null
  tasks: DagTask[]
  criticalPath: string[]
}

export interface ImportedTrace {
  kind: 'trace' | 'dag'
  ensembleId: string | null
  /** Messages to ingest in order; `receivedAt[i]` is the time to ingest `messages[i]` with. Empty for a DAG. */
  messages: ServerMessage[]
  receivedAt: string[]
  /** A DAG is a plan, not a run: it has no events, only this summary. */
  dag?: DagSummary
}

/** Source id for an imported file, e.g. `file:ensemble-trace-1.trace.json`. */
export function traceSourceId(fileName: string): string {
  return `file:${fileName}`
}

/** Feeds an imported trace to a tracker as one source; the run gets the usual deterministic id. */
export function ingestImportedTrace(tracker: RunTracker, sourceId: string, imported: ImportedTrace): void {
  tracker.batch(() => {
    imported.messages.forEach((m, i) => tracker.ingest(sourceId, null, m, imported.receivedAt[i] ?? formatInstant(Date.now())))
  })
}

/**
 * Parses a `.trace.json` (ExecutionTrace) or `.dag.json` (DagModel), detected by content as the viz does
 * (spec §5.5), into live messages. Malformed input → ApiError 'bad-request' naming the bad field.
 */
/** Largest file kept whole with its import so that exporting it gives it back unchanged (bigger ones are rebuilt from events). */
export const MAX_KEPT_ORIGINAL_CHARS = 8 * 1024 * 1024

export function importTraceFile(text: string): ImportedTrace {
  if (typeof text !== 'string') bad('the file content is not text')
  if (text.length > MAX_TRACE_FILE_CHARS) bad(`the file is larger than ${MAX_TRACE_FILE_CHARS} characters`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    bad(`it is not JSON (${(err as Error).message})`)
  }
  if (!isObj(value)) bad('the top level is not a JSON object')
  if (value.type === 'dag') return importDag(value)
  if (!('taskTraces' in value) || !('ensembleId' in value)) {
    bad('it is neither an ExecutionTrace (needs "taskTraces" and "ensembleId") nor a DAG ("type": "dag")')
  }
  const imported = importTrace(value)
  if (text.length <= MAX_KEPT_ORIGINAL_CHARS) {
    // Right after ensemble_started, so it belongs to the run (segmentRuns / RunTracker attribution).
    imported.messages.splice(1, 0, { type: 'vigil_trace_original', trace: value })
    imported.receivedAt.splice(1, 0, imported.receivedAt[0] ?? formatInstant(Date.now()))
  }
  return imported
}

function importTrace(t: Record<string, unknown>): ImportedTrace {
  const ensembleId = str(t, 'ensembleId', '')
  const workflow = str(t, 'workflow', '')
  const runStart = instant(t, 'startedAt', '')
  const runEnd = instant(t, 'completedAt', '')
  const totalMs = duration(t, 'totalDuration', '')
  const taskTraces = arr(t, 'taskTraces', '', true) ?? []
  const errors = (arr(t, 'errors', '', false) ?? []).map((e, i) => {
    const p = `errors[${i}]`
    if (!isObj(e)) bad(`${p} is not an object`)
    return { agentRole: str(e, 'agentRole', p), taskDescription: str(e, 'taskDescription', p), message: str(e, 'message', p), occurredAt: instant(e, 'occurredAt', p) }
  })
  const agents = new Map<string, { goal: string | null; background: string | null; toolNames: string[] | null }>()
  for (const [i, a] of (arr(t, 'agents', '', false) ?? []).entries()) {
    const p = `agents[${i}]`
    if (!isObj(a)) bad(`${p} is not an object`)
    const role = str(a, 'role', p)
    if (role !== null) agents.set(role, { goal: str(a, 'goal', p), background: str(a, 'background', p), toolNames: strings(a, 'toolNames', p) })
  }
  const meta = isObj(t.metadata) && isObj(t.metadata.vigil) ? t.metadata.vigil : {}
  const metrics = isObj(t.metrics) ? t.metrics : {}

  const fallback = runStart ?? runEnd ?? formatInstant(Date.now())
  const messages: ServerMessage[] = []
  const times: string[] = []
  const emit = (m: ServerMessage, at: string | null) => {
    messages.push(m)
    times.push(at ?? times.at(-1) ?? fallback)
  }
  const declared = typeof meta.totalTasks === 'number' && Number.isInteger(meta.totalTasks) ? meta.totalTasks : taskTraces.length
  const totalTasks = Math.max(declared, taskTraces.length)
  emit({ type: 'ensemble_started', ensembleId, startedAt: runStart, totalTasks, workflow }, runStart)

  let toolTotal = 0
  taskTraces.forEach((raw, i) => {
    const p = `taskTraces[${i}]`
    if (!isObj(raw)) bad(`${p} is not an object`)
    const tmeta = isObj(raw.metadata) && isObj(raw.metadata.vigil) ? raw.metadata.vigil : {}
    const taskIndex = typeof tmeta.taskIndex === 'number' && Number.isInteger(tmeta.taskIndex) && tmeta.taskIndex > 0 ? tmeta.taskIndex : i + 1
    const synthesized = new Set(Array.isArray(tmeta.synthesizedInteractions) ? tmeta.synthesizedInteractions : [])
    const description = str(raw, 'taskDescription', p)
    const role = str(raw, 'agentRole', p)
    const startedAt = instant(raw, 'startedAt', p)
    const completedAt = instant(raw, 'completedAt', p)
    const durationMs = duration(raw, 'duration', p)
    const prompts = raw.prompts === undefined || raw.prompts === null ? {} : raw.prompts
    if (!isObj(prompts)) bad(`${p}.prompts is not an object`)
    const userPrompt = str(prompts, 'userPrompt', `${p}.prompts`)
    const expectedOutput = str(raw, 'expectedOutput', p)
    emit({ type: 'task_started', taskIndex, totalTasks, taskDescription: description, agentRole: role, startedAt }, startedAt)
    const a = role === null ? undefined : agents.get(role)
    if (userPrompt !== null || expectedOutput !== null || a) {
      emit(
        {
          type: 'task_input', taskIndex, taskDescription: description, expectedOutput, agentRole: role,
          agentGoal: a?.goal ?? null, agentBackground: a?.background ?? null, toolNames: a?.toolNames ?? null,
          assembledContext: userPrompt, sentAt: startedAt
        },
        startedAt
      )
    }
    let toolCount = 0
    for (const [j, it] of (arr(raw, 'llmInteractions', p, false) ?? []).entries()) {
      const q = `${p}.llmInteractions[${j}]`
      if (!isObj(it)) bad(`${q} is not an object`)
      const iterationIndex = int(it, 'iterationIndex', q)
      const itStart = instant(it, 'startedAt', q)
      const itEnd = instant(it, 'completedAt', q)
      const calls = (arr(it, 'toolCalls', q, false) ?? []).map((c, k) => {
        const r = `${q}.toolCalls[${k}]`
        if (!isObj(c)) bad(`${r} is not an object`)
        return {
          toolName: str(c, 'toolName', r), arguments: str(c, 'arguments', r), result: str(c, 'result', r),
          structured: c.structuredOutput ?? null, completedAt: instant(c, 'completedAt', r), startedAt: instant(c, 'startedAt', r),
          durationMs: duration(c, 'duration', r), outcome: str(c, 'outcome', r)
        }
      })
      if (!synthesized.has(j) && role !== null && description !== null) {
        const msgs = (arr(it, 'messages', q, false) ?? []).map((mm, k) => {
          const r = `${q}.messages[${k}]`
          if (!isObj(mm)) bad(`${r} is not an object`)
          const tc = (arr(mm, 'toolCalls', r, false) ?? []).map((x, n) => {
            if (!isObj(x)) bad(`${r}.toolCalls[${n}] is not an object`)
            return { name: str(x, 'name', `${r}.toolCalls[${n}]`), arguments: str(x, 'arguments', `${r}.toolCalls[${n}]`) }
          })
          return { role: str(mm, 'role', r), content: str(mm, 'content', r), toolCalls: tc, toolName: str(mm, 'toolName', r) }
        })
        emit({ type: 'llm_iteration_started', agentRole: role, taskDescription: description, iterationIndex, messages: msgs }, itStart ?? startedAt)
        const responseType = str(it, 'responseType', q)
        if (itEnd !== null || responseType !== null) {
          const responseText = str(it, 'responseText', q)
          emit(
            {
              type: 'llm_iteration_completed', agentRole: role, taskDescription: description, iterationIndex,
              responseType: responseType ?? 'FINAL_ANSWER',
              ...(responseText !== null ? { responseText } : {}),
              ...(calls.length > 0 ? { toolRequests: calls.map((c) => ({ name: c.toolName, arguments: c.arguments })) } : {}),
              inputTokens: Math.max(0, num(it, 'inputTokens', q) ?? 0),
              outputTokens: Math.max(0, num(it, 'outputTokens', q) ?? 0),
              latencyMs: Math.max(0, duration(it, 'latency', q) ?? 0)
            },
            itEnd ?? itStart ?? startedAt
          )
        }
      }
      for (const c of calls) {
        toolCount++
        emit(
          {
            type: 'tool_called', agentRole: role, taskIndex, toolName: c.toolName, durationMs: Math.max(0, c.durationMs ?? 0),
            outcome: c.outcome, toolArguments: c.arguments, toolResult: c.result, structuredResult: c.structured
          },
          c.completedAt ?? c.startedAt
        )
      }
    }
    for (const [j, d] of (arr(raw, 'delegations', p, false) ?? []).entries()) {
      const q = `${p}.delegations[${j}]`
      if (!isObj(d)) bad(`${q} is not an object`)
      const delegationId = `${taskIndex}.${j + 1}`
      const dStart = instant(d, 'startedAt', q)
      const dEnd = instant(d, 'completedAt', q)
      const base = { delegationId, delegatingAgentRole: str(d, 'delegatorRole', q), workerRole: str(d, 'workerRole', q) }
      emit({ type: 'delegation_started', ...base, taskDescription: str(d, 'taskDescription', q) }, dStart)
      if (dEnd !== null) {
        if (d.succeeded === false) emit({ type: 'delegation_failed', ...base, reason: str(d, 'result', q) }, dEnd)
        else emit({ type: 'delegation_completed', ...base, durationMs: Math.max(0, duration(d, 'duration', q) ?? spanMs(dStart, dEnd) ?? 0) }, dEnd)
      }
    }
    toolTotal += toolCount
    const error = errors.find((e) => e.taskDescription === description && e.agentRole === role)
    const status = typeof tmeta.status === 'string' ? tmeta.status : error ? 'failed' : completedAt !== null ? 'completed' : 'running'
    if (status === 'failed') {
      const at = error?.occurredAt ?? completedAt
      emit({ type: 'task_failed', taskIndex, taskDescription: description, agentRole: role, failedAt: at, reason: error?.message ?? null }, at)
    } else if (status === 'completed') {
      emit(
        {
          type: 'task_completed', taskIndex, totalTasks, taskDescription: description, agentRole: role, completedAt,
          durationMs: Math.max(0, durationMs ?? spanMs(startedAt, completedAt) ?? 0), tokenCount: -1, toolCallCount: toolCount
        },
        completedAt
      )
    }
  })

  // A trace with errors (a failed task, or an error no task owns) is a failed run: Java's run() threw.
  const derived = errors.length > 0 ? 'ERROR' : 'COMPLETED'
  const exitReason = typeof meta.exitReason === 'string' ? meta.exitReason : meta.exitReason === null ? null : runEnd !== null || errors.length > 0 ? derived : null
  if (exitReason !== null && !INFERRED_EXITS.has(exitReason)) {
    const totalTokens = typeof metrics.totalTokens === 'number' ? metrics.totalTokens : -1
    const totalToolCalls = typeof metrics.totalToolCalls === 'number' ? metrics.totalToolCalls : toolTotal
    emit(
      {
        type: 'ensemble_completed', ensembleId, completedAt: runEnd, durationMs: Math.max(0, totalMs ?? spanMs(runStart, runEnd) ?? 0),
        exitReason, totalTokens, totalToolCalls
      },
      runEnd
    )
  } else if (exitReason === 'SUPERSEDED' || exitReason === 'SERVER_RESTARTED') {
    // Vigil ended it because its server moved on: an empty hello ends running runs the same way.
    emit({ type: 'hello' }, runEnd)
  } else if (exitReason === 'REVIEW_TIMEOUT_FAIL') {
    emit({ type: 'review_timed_out', reviewId: null, action: 'FAIL' }, runEnd)
  }
  return { kind: 'trace', ensembleId, messages, receivedAt: times }
}

function importDag(d: Record<string, unknown>): ImportedTrace {
  const tasks = (arr(d, 'tasks', '', true) ?? []).map((t, i) => {
    const p = `tasks[${i}]`
    if (!isObj(t)) bad(`${p} is not an object`)
    const id = t.id
    if (typeof id !== 'string' && typeof id !== 'number') bad(`${p}.id is missing`)
    return {
      id: String(id),
      description: str(t, 'description', p),
      agentRole: str(t, 'agentRole', p),
      dependsOn: (arr(t, 'dependsOn', p, false) ?? []).map((x) => String(x)),
      onCriticalPath: t.onCriticalPath === true
    }
  })
  return {
    kind: 'dag',
    ensembleId: null,
    messages: [],
    receivedAt: [],
    dag: {
      schemaVersion: str(d, 'schemaVersion', ''),
      workflow: str(d, 'workflow', ''),
      generatedAt: instant(d, 'generatedAt', ''),
      tasks,
      criticalPath: (arr(d, 'criticalPath', '', false) ?? []).map((x) => String(x))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Field readers (each names the bad field)

function bad(why: string): never {
  throw new ApiError('bad-request', `Not a usable AgentEnsemble trace file: ${why}.`)
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

function str(o: Record<string, unknown>, key: string, path: string): string | null {
  const v = o[key]
  if (v === undefined || v === null) return null
  if (typeof v !== 'string') bad(`${at(path, key)} is not a string`)
  return v
}

function strings(o: Record<string, unknown>, key: string, path: string): string[] | null {
  const v = arr(o, key, path, false)
  if (v === null) return null
  return v.map((x, i) => {
    if (typeof x !== 'string') bad(`${at(path, key)}[${i}] is not a string`)
    return x
  })
}

function num(o: Record<string, unknown>, key: string, path: string): number | null {
  const v = o[key]
  if (v === undefined || v === null) return null
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${at(path, key)} is not a number`)
  return v
}

function int(o: Record<string, unknown>, key: string, path: string): number {
  const v = num(o, key, path) ?? 0
  if (!Number.isInteger(v)) bad(`${at(path, key)} is not an integer`)
  return v
}

function arr(o: Record<string, unknown>, key: string, path: string, required: boolean): unknown[] | null {
  const v = o[key]
  if (v === undefined || v === null) {
    if (required) bad(`${at(path, key)} is missing`)
    return null
  }
  if (!Array.isArray(v)) bad(`${at(path, key)} is not an array`)
  return v
}

const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)$/

function instant(o: Record<string, unknown>, key: string, path: string): string | null {
  const v = o[key]
  if (v === undefined || v === null) return null
  if (typeof v !== 'string' || !INSTANT.test(v) || Number.isNaN(Date.parse(v))) bad(`${at(path, key)} is not an ISO-8601 instant`)
  return v
}

function duration(o: Record<string, unknown>, key: string, path: string): number | null {
  const v = o[key]
  if (v === undefined || v === null) return null
  const ms = parseIsoDuration(v)
  if (ms === null) bad(`${at(path, key)} is not an ISO-8601 duration`)
  return ms
}

// ---------------------------------------------------------------------------------------------
// Durations and instants

/** Milliseconds as Java's `Duration.toString()` prints them: "PT0S", "PT44S", "PT5M", "PT1H2M3.5S". */
export function isoDuration(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null
  const total = Math.max(0, Math.round(ms))
  const h = Math.floor(total / 3_600_000)
  const m = Math.floor((total % 3_600_000) / 60_000)
  const s = total % 60_000
  let out = 'PT'
  if (h) out += `${h}H`
  if (m) out += `${m}M`
  if (s || (!h && !m)) out += `${s / 1000}S`
  return out
}

const DURATION = /^([-+]?)P(?:([-+]?\d+(?:\.\d+)?)D)?(?:T(?:([-+]?\d+(?:\.\d+)?)H)?(?:([-+]?\d+(?:\.\d+)?)M)?(?:([-+]?\d+(?:[.,]\d+)?)S)?)?$/i

/** ISO-8601 duration string (or a number of seconds, Jackson's numeric form) → milliseconds; null if invalid. */
export function parseIsoDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v * 1000) : null
  if (typeof v !== 'string') return null
  const m = DURATION.exec(v.trim())
  if (!m || v.trim().toUpperCase() === 'P' || /T$/i.test(v.trim())) return null
  const part = (x: string | undefined) => (x === undefined ? 0 : Number(x.replace(',', '.')))
  const ms = part(m[2]) * 86_400_000 + part(m[3]) * 3_600_000 + part(m[4]) * 60_000 + part(m[5]) * 1000
  return Math.round(m[1] === '-' ? -ms : ms)
}

function spanMs(from: string | null, to: string | null): number | null {
  if (from === null || to === null) return null
  const d = Date.parse(to) - Date.parse(from)
  return Number.isNaN(d) ? null : Math.max(0, d)
}

function startOf(end: string, durationMs: number): string | null {
  const t = Date.parse(end)
  return Number.isNaN(t) ? null : formatInstant(t - durationMs)
}
