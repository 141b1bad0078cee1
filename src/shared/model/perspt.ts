// Rows Vigil derives from a Perspt session store (see shared/spec/perspt-store.md).

/** One status vocabulary across Vigil: colours are keyed on these. */
export type DisplayStatus =
  | 'running'
  | 'completed'
  | 'partial'
  | 'failed'
  | 'aborted'
  | 'stale'
  | 'paused'
  | 'pending'
  | 'unknown'

/** Node counts reconstructed from plan, steps, escalations and commits (not Perspt's 0-counters). */
export interface NodeCounts {
  planned: number
  committed: number
  running: number
  failed: number
  escalated: number
  queued: number
}

export interface BudgetUsage {
  stepsUsed: number
  maxSteps: number | null
  revisionsUsed: number
  maxRevisions: number | null
  costUsedUsd: number
  maxCostUsd: number | null
}

export interface SessionRow {
  sessionId: string
  task: string
  workingDir: string
  /** The raw `sessions.status` value as Perspt wrote it. */
  rawStatus: string
  status: DisplayStatus
  /** ISO-8601 UTC (naive store timestamps are read as UTC). */
  createdAt: string | null
  updatedAt: string | null
  durationMs: number | null
  nodes: NodeCounts
  budget: BudgetUsage | null
  llmRequests: number
  tokensIn: number
  tokensOut: number
}
