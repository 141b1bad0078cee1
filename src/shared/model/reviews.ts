// Review gates: an agent paused until a human approves, edits or stops it. One shape for gates from
// every source (attached dashboards, hub producers, Vigil's own review API); see
// shared/spec/agentensemble-protocol.md §2 for the AgentEnsemble semantics Vigil improves on.
import type { ReviewRequestFields } from './live'

/** What a reviewer can decide. Anything else is refused (AgentEnsemble reads unknown words as "exit early"). */
export const REVIEW_DECISION_WORDS = ['CONTINUE', 'EDIT', 'EXIT_EARLY'] as const
export type ReviewDecisionWord = (typeof REVIEW_DECISION_WORDS)[number]

/** What happens when nobody decides in time. */
export const REVIEW_TIMEOUT_ACTIONS = ['CONTINUE', 'EXIT_EARLY', 'FAIL'] as const
export type ReviewTimeoutAction = (typeof REVIEW_TIMEOUT_ACTIONS)[number]

/** The longest deadline a gate may have (7 days); 0 means no deadline. */
export const MAX_GATE_TIMEOUT_MS = 7 * 24 * 3600 * 1000

export const REVIEW_TIMINGS = ['BEFORE_EXECUTION', 'DURING_EXECUTION', 'AFTER_EXECUTION'] as const

/** Where a decision was made. */
export type ReviewSurface =
  | 'desktop-inbox'
  | 'browser-inbox'
  | 'dialog'
  | 'notification'
  | 'api'
  /** AgentEnsemble's own viz (or any client) connected to Vigil's hub `/ws`. */
  | 'hub-browser'
  /** The deadline passed: the advertised action was applied. */
  | 'timeout'
  /** The agent reported the outcome itself (its own review_timed_out), or the run ended first. */
  | 'agent'

export type ReviewGateStatus = 'pending' | 'decided' | 'timed-out' | 'cancelled'

export type ReviewSourceKind = 'api' | 'attachment' | 'hub'

export interface ReviewGateSource {
  kind: ReviewSourceKind
  /** Vigil's source id ("hub" for producers on Vigil's /ingress, "api" for the review API). */
  sourceId: string
  producerId: string | null
  /** What the user sees: source label, producer id, or the API caller's `source` field. */
  label: string
}

export interface ReviewOutcome {
  /** CONTINUE | EDIT | EXIT_EARLY, or the timeout action (FAIL included); null when unknown (run ended). */
  decision: string | null
  revisedOutput: string | null
  surface: ReviewSurface
  /** Free-form reviewer name when the surface knows one (API callers may send `decidedBy`). */
  decidedBy: string | null
  /** ISO-8601 UTC. */
  decidedAt: string
  timeToDecisionMs: number
  /** True when the decision reached the agent (or, for API gates, its waiting caller could read it). */
  delivered: boolean
  /** Why the outcome is what it is, when that is not obvious (e.g. the agent applied another action). */
  note: string | null
}

export interface ReviewGate extends ReviewRequestFields {
  /** Vigil's gate id, used in URLs and API calls. Equals `reviewId` unless two sources reused an id. */
  id: string
  /** The id the agent gave the gate (wire `reviewId`). */
  reviewId: string
  source: ReviewGateSource
  /** The live run it belongs to, when known. */
  runId: string | null
  requiredRole: string | null
  /** ISO-8601 UTC. */
  createdAt: string
  /** Server-side deadline (ISO-8601 UTC); null when the gate waits forever. */
  expiresAt: string | null
  status: ReviewGateStatus
  /** False while the agent that asked cannot be reached (its connection dropped). */
  connected: boolean
  outcome: ReviewOutcome | null
  /** True when any text (description, output, prompt, revised output, labels) was cut to keep pushes and lists small; getReview has them whole. */
  truncated?: boolean
}

/** Longest taskOutput / revisedOutput sent in `ReviewsState.recent`. */
export const RECENT_TEXT_CHARS = 2000
/** Longest taskOutput sent in `ReviewsState.pending`: a burst of gates must not make pushes of megabytes. */
export const PENDING_TEXT_CHARS = 16 * 1024

/** The gate lists (the coordinator's; windows get it with a seq and texts cut, then deltas: review-delta.ts). */
export interface ReviewsState {
  /** Ordered by deadline (gates without one last), then by arrival; texts cut to PENDING_TEXT_CHARS (getReview has them whole). */
  pending: ReviewGate[]
  /** The latest decided gates, newest first, texts cut to RECENT_TEXT_CHARS (the full history is paged from Vigil's DuckDB). */
  recent: ReviewGate[]
  doNotDisturb: boolean
  /** False when decided gates are kept in memory only (recording is off). */
  historyPersisted: boolean
}

export interface ReviewHistoryPage {
  rows: ReviewGate[]
  total: number
}

/** Case-insensitive, trimmed; APPROVE is AgentEnsemble's alias of CONTINUE. Null for anything else. */
export function normalizeDecisionWord(raw: unknown): ReviewDecisionWord | null {
  if (typeof raw !== 'string') return null
  const word = raw.trim().toUpperCase()
  if (word === 'APPROVE') return 'CONTINUE'
  return (REVIEW_DECISION_WORDS as readonly string[]).includes(word) ? (word as ReviewDecisionWord) : null
}

/** Pending gates by deadline: the most urgent first, gates that wait forever last, ties by arrival. */
export function compareByDeadline(a: ReviewGate, b: ReviewGate): number {
  const da = a.expiresAt === null ? Infinity : Date.parse(a.expiresAt)
  const db = b.expiresAt === null ? Infinity : Date.parse(b.expiresAt)
  if (da !== db) return da < db ? -1 : 1
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0
}

/**
 * An agent's timeoutMs as a deadline Vigil can keep: whole milliseconds from 0 (no deadline) to 7 days.
 * Beyond it (1e300, Infinity) is clamped to 7 days, a negative or non-number to 0, never dropped.
 */
export function clampGateTimeout(timeoutMs: number): number {
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) return 0
  return Math.min(MAX_GATE_TIMEOUT_MS, Math.floor(timeoutMs))
}
