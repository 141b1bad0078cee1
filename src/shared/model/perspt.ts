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
  /** True when every raw token count was 0, so the totals are Perspt's (UTF-8 bytes + 3) div 4 estimates. */
  tokensEstimated?: boolean
  /** Perspt's "<adjective>-<noun>" name for the session id (the algorithm its dashboard uses). */
  friendlyName?: string
  /** The hex text stored in `sessions.merkle_root`; null when empty. */
  merkleRoot?: string | null
  /** ISO-8601 UTC time of the newest row written for this session (any table Vigil reads). */
  lastActivityAt?: string | null
  /** Mean `v_total` over every energy_history row of the session (Perspt's "Avg Energy"). */
  avgEnergy?: number | null
  /**
   * True while a store is first read: the list comes from the sessions table alone, and nodes, budget,
   * LLM calls, tokens, energy and last activity are not counted yet (they are 0/null, not the truth).
   * A later version of the same list has them.
   */
  countsPending?: boolean
}
