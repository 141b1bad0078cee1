// Runs observed over the AgentEnsemble live protocol (see shared/spec/agentensemble-protocol.md).

export type RunStatus = 'running' | 'completed' | 'failed' | 'aborted'
export type TaskStatus = 'pending' | 'running' | 'completed' | 'failed' | 'aborted'

export interface RunSummary {
  /** Vigil's own id: unique even when one server runs several ensembles. */
  runId: string
  sourceId: string
  /** Producer id when the run came through a hub, otherwise null. */
  producerId: string | null
  ensembleId: string | null
  workflow: string | null
  status: RunStatus
  totalTasks: number
  completedTasks: number
  failedTasks: number
  startedAt: string | null
  endedAt: string | null
  eventCount: number
  /** How the server said the run ended (`COMPLETED`, `USER_EXIT_EARLY`, `TIMEOUT`, `ERROR`), or why Vigil ended it. */
  exitReason?: string | null
  /** True while the run is still running but its source (or hub producer) is disconnected: it may be out of date. */
  stale?: boolean
  /** Time of the latest event attributed to this run. */
  lastEventAt?: string | null
  /**
   * AgentEnsemble's embedded-dashboard endpoint for this run on Vigil's server (docs/agentensemble.md): a path
   * to append to Vigil's WebSocket base (`ws://HOST:PORT`), e.g. `/ws?run=hub%3Asvc%3Ae1%3A1`. Open it in
   * AgentEnsemble's viz as `/live?server=<encoded ws URL>`. Set by getRun / listRuns; see runStreamPath().
   */
  embeddedPath?: string
  /** For a hub producer's run: the endpoint that follows the producer's current run (`/ws?producer=…`). */
  embeddedFollowPath?: string
}

export interface TaskView {
  taskIndex: number
  description: string
  agentRole: string
  status: TaskStatus
  startedAt: string | null
  endedAt: string | null
  durationMs: number | null
  toolCalls: number
  failureReason: string | null
  /** Tool calls whose outcome was not SUCCESS (FAILURE, ERROR, …). */
  toolFailures?: number
}

/** What a `review_requested` asks (spec §1.2), as every review shape in Vigil carries it. */
export interface ReviewRequestFields {
  taskDescription: string
  taskOutput: string
  /** BEFORE_EXECUTION | DURING_EXECUTION | AFTER_EXECUTION. */
  timing: string
  prompt: string | null
  /** 0 = waits forever. */
  timeoutMs: number
  onTimeout: string
}

export interface ReviewView extends ReviewRequestFields {
  reviewId: string
  /** ISO-8601 UTC, server-side deadline; null when the gate waits forever. */
  expiresAt: string | null
  requestedAt: string
  /** Carried by the server but not enforced by it. */
  requiredRole?: string | null
}

export interface LiveEventRow {
  seq: number
  type: string
  /** Server time where the frame carries one, otherwise Vigil's receive time. */
  at: string
  summary: string
}

export interface RunDetail extends RunSummary {
  tasks: TaskView[]
  pendingReviews: ReviewView[]
  /** The most recent events, newest last (bounded). */
  recentEvents: LiveEventRow[]
  /** LLM iterations in arrival order (bounded, see `limits`). */
  iterations?: LlmIterationView[]
  /** Tool calls in arrival order (bounded). */
  toolCalls?: ToolCallView[]
  delegations?: DelegationView[]
  fileChanges?: FileChangeView[]
  /** OpenTelemetry spans of a run received on /v1/traces, in arrival order (bounded; see otel-spans.ts). */
  spans?: SpanView[]
  limits?: RunDetailLimits
  dropped?: RunDetailDropped
  /** Runs Vigil holds live: what deltas are applied on top of (src/shared/model/run-reducer.ts). */
  live?: RunLive
}

/** What a run keeps besides what RunDetail shows; carried by getRun() so a page can apply deltas on top. */
export interface RunLive {
  /** Ops applied to this run since Vigil created it: the `seq` of the last one (deltas number them). */
  seq: number
  /** The largest totalTasks any frame declared. */
  declaredTotal: number
  /** Completed / failed tasks among the dropped ones, so the run's counts stay right. */
  droppedCompleted: number
  droppedFailed: number
  /** Last `LiveEventRow.seq` given out. */
  eventSeq: number
  /** Last seq given to a tool call or file change. */
  detailSeq: number
  /** 'inferred' when Vigil ended the run without an ensemble_completed; a later task_started reopens it. */
  endedBy: 'server' | 'inferred' | null
  /** The run's source (or hub producer) is disconnected; `stale` shows it while the run is running. */
  streamStale: boolean
}

// ---------------------------------------------------------------------------------------------
// Run details for the live views (timeline, flow, conversation, tools, files). All bounded: see
// RunDetail.limits. Frames without a server timestamp (llm_iteration_*, tool_called, delegation_*)
// are placed at Vigil's receive time; after a late-join replay that is the replay time, so views
// must not trust those times to lie inside their task.

export interface LlmToolRequestView {
  name: string
  /** The raw JSON arguments string, truncated. */
  arguments: string
}

export interface LlmMessageView {
  role: string
  /** Plain text (never HTML), truncated to `RunDetailLimits.messageChars`. */
  content: string
  truncated: boolean
  toolCalls: LlmToolRequestView[]
  toolName: string | null
}

export interface LlmIterationView {
  /** Task this iteration belongs to (matched by agent role + description), null when unknown. */
  taskIndex: number | null
  agentRole: string
  taskDescription: string
  /** 0-based, as on the wire. */
  iterationIndex: number
  /** Receive times: the frames carry no timestamp. */
  startedAt: string | null
  completedAt: string | null
  /** `TOOL_CALLS` | `FINAL_ANSWER`, null while in flight. */
  responseType: string | null
  inputTokens: number | null
  outputTokens: number | null
  latencyMs: number | null
  /** The last messages sent to the model (the server caps at 20); emptied on old iterations, see messagesDropped. */
  messages: LlmMessageView[]
  /** Full buffer size before the server's 20-message cap, when sent. */
  totalMessageCount: number | null
  /** True when Vigil dropped this iteration's messages to stay within its memory bound. */
  messagesDropped: boolean
  responseText: string | null
  responseTruncated: boolean
  toolRequests: LlmToolRequestView[]
}

export interface ToolCallView {
  seq: number
  /** Attributed task (wire index, else by role, else latest running task); null when none fits. */
  taskIndex: number | null
  agentRole: string | null
  toolName: string | null
  /** `SUCCESS` | `FAILURE` | null (unknown) as sent; other words are failures too. */
  outcome: string | null
  durationMs: number
  /** Raw JSON string as sent (pretty-print it for display), truncated. */
  arguments: string | null
  result: string | null
  /** `structuredResult` re-serialized as JSON, truncated; null when absent. */
  structuredResult: string | null
  truncated: boolean
  /** Receive time: tool_called carries no timestamp. */
  at: string
}

export type DelegationStatus = 'running' | 'completed' | 'failed'

export interface DelegationView {
  delegationId: string | null
  from: string | null
  to: string | null
  taskDescription: string | null
  /** Task of the delegating agent at the time, when one was running. */
  taskIndex: number | null
  status: DelegationStatus
  /** Receive times: delegation frames carry no timestamp. */
  startedAt: string
  endedAt: string | null
  durationMs: number | null
  reason: string | null
}

export interface FileChangeView {
  seq: number
  agentRole: string | null
  taskIndex: number | null
  filePath: string | null
  /** `CREATED` | `MODIFIED` | `DELETED` (or whatever the server sent). */
  changeType: string | null
  linesAdded: number
  linesRemoved: number
  /** The frame's timestamp, else the receive time. */
  at: string
}

export interface RunDetailLimits {
  iterations: number
  /** Iterations per task that keep their messages; older ones keep only their numbers. */
  iterationsWithMessages: number
  messageChars: number
  toolCalls: number
  delegations: number
  fileChanges: number
  /** Tasks kept per run; beyond it the oldest finished ones are dropped (counted in `RunDetailDropped.tasks`). */
  tasks: number
  /** Characters kept of tool arguments / results / response text, task descriptions, roles and names. */
  textChars: number
}

/** How many of each kind of detail Vigil dropped (oldest first) to stay within its bounds. */
export interface RunDetailDropped {
  iterations: number
  toolCalls: number
  delegations: number
  fileChanges: number
  tasks: number
  /** OpenTelemetry spans past the per-run bound SPAN_LIMIT (otel-spans.ts; the oldest go first). */
  spans?: number
}

/** What Vigil shows of one OpenTelemetry span (from a `vigil_span` record; see otel-spans.ts). */
export interface SpanView {
  spanId: string
  /** null for the trace's root span. */
  parentSpanId: string | null
  name: string
  /** `llm` | `embeddings` | `tool` | `agent` | `step`. */
  category: string
  spanKind: string
  startedAt: string
  endedAt: string
  durationMs: number
  /** OK | ERROR | UNSET. */
  status: string
  error: string | null
  service: string | null
  agentName: string | null
  operation: string | null
  model: string | null
  provider: string | null
  inputTokens: number | null
  outputTokens: number | null
  toolName: string | null
  /** Other attributes as text, bounded. */
  attributes: Record<string, string>
  /** Attributes, events and characters the sender dropped or Vigil cut. */
  dropped: number
}

/** The embedded-dashboard path of a run on Vigil's server (src/main/live/run-stream.ts): `/ws?run=<runId>`. */
export function runStreamPath(runId: string): string {
  return `/ws?run=${encodeURIComponent(runId)}`
}

/** The path that follows a hub producer's (or any source's) current run: `/ws?producer=…` or `/ws?source=…[&producer=…]`. */
export function followStreamPath(sourceId: string, producerId: string | null, hubSourceId = 'hub'): string {
  if (sourceId === hubSourceId && producerId !== null) return `/ws?producer=${encodeURIComponent(producerId)}`
  return `/ws?source=${encodeURIComponent(sourceId)}${producerId !== null ? `&producer=${encodeURIComponent(producerId)}` : ''}`
}

/** The viz URL for an endpoint: `<vizBase>/live?server=<encoded ws URL>` (spec §5.1, "Facts" 20). */
export function vizLiveUrl(vizBase: string, wsUrl: string): string {
  return `${vizBase.replace(/\/+$/, '')}/live?server=${encodeURIComponent(wsUrl)}`
}
