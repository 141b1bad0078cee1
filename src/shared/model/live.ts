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

export interface ReviewView {
  reviewId: string
  taskDescription: string
  taskOutput: string
  timing: string
  prompt: string | null
  timeoutMs: number
  onTimeout: string
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
}
