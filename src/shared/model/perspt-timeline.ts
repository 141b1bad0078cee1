// The decision timeline and the chart series of one Perspt session. All times are ISO-8601 UTC strings
// or epoch milliseconds (named *Ms).
import { recordLabel } from './record-labels'
import type { Tone } from './status-vocabulary'

/** Every kind of thing the decision trace records, in the order used to break ties at the same time. */
export const TIMELINE_KINDS = ['plan', 'step', 'verification', 'sheaf', 'escalation', 'rewrite', 'correction', 'repair', 'review', 'merge', 'flush'] as const
export type TimelineKind = (typeof TIMELINE_KINDS)[number]

/** The words a person reads for each kind (filters): the record types' plain names (record-labels.ts). */
export const TIMELINE_KIND_LABELS: Record<TimelineKind, string> = {
  plan: recordLabel('plan_revisions'),
  step: recordLabel('srbn_step_records'),
  verification: recordLabel('verification_results'),
  sheaf: recordLabel('sheaf_validations'),
  escalation: recordLabel('escalation_reports'),
  rewrite: recordLabel('rewrite_records'),
  correction: recordLabel('correction_attempts'),
  repair: recordLabel('repair_footprints'),
  review: recordLabel('review_outcomes'),
  // Not a table of its own: sandbox branches in the merged state.
  merge: 'Merged branches',
  flush: recordLabel('branch_flushes')
}

export interface TimelineQuery {
  offset: number
  limit: number
  /** Only these kinds (all when absent or empty). */
  kinds?: TimelineKind[]
  /** Only entries about this node (exact id). */
  nodeId?: string
}


export interface TimelineEntry {
  /** "<table>:<id>", traceable to its row. */
  id: string
  kind: TimelineKind
  at: string | null
  nodeId: string | null
  /** One line in plain words, e.g. "Verification failed: 3 tests failed". */
  line: string
  /** How it turned out, in the status vocabulary's tones (amber only for escalations and requests to act); null for routine entries. */
  tone: Tone | null
  /** Details on demand: labelled values in plain words. */
  fields: Array<{ label: string; value: string }>
  /** JSON columns (parsed, or the raw text when invalid), shown only as an expandable tree. */
  json: Record<string, unknown>
}

export interface TimelinePage {
  /** Entries matching the filters. */
  total: number
  offset: number
  rows: TimelineEntry[]
}

export interface TimelineFacets {
  /** Every kind, with its count in this session; `available` is false when the store lacks the table. */
  kinds: Array<{ kind: TimelineKind; count: number; available: boolean }>
  /** Nodes with entries, by id, at most TIMELINE_MAX_NODES. */
  nodes: Array<{ nodeId: string; count: number }>
  /** Nodes left out of `nodes` (past the bound). */
  nodesLeftOut: number
  total: number
}

export const TIMELINE_MAX_NODES = 500

// ---- Chart series ------------------------------------------------------------------------------

/** Perspt's own cost estimate (budget_envelopes.cost_used_usd): $ per 1K tokens. */
export const PERSPT_COST_PER_1K = { in: 0.01, out: 0.03 } as const

export interface LlmSeriesPoint {
  /** Start of the bucket, epoch ms. */
  t: number
  /** The model, or null for all models together. */
  model: string | null
  requests: number
  /** Requests with a latency (NULL latency is left out of the percentiles). */
  timed: number
  p50: number | null
  p95: number | null
  tokensIn: number
  tokensOut: number
  /** Perspt's estimate for these tokens (PERSPT_COST_PER_1K). */
  costUsd: number
}

export interface LlmSeries {
  /** Bucket width in ms; 0 when there are no dated requests. */
  bucketMs: number
  fromMs: number | null
  toMs: number | null
  /** Models by request count, most first. */
  models: string[]
  /** Buckets in time order; each bucket has one point per model present plus one for all models. */
  points: LlmSeriesPoint[]
  /** Requests without a time (not charted). */
  undated: number
  /** Requests whose latency is NULL (left out of the percentiles). */
  latencyMissing: number
  /** True when every raw token count is 0 and tokens are estimated from text length. */
  tokensEstimated: boolean
}

export interface EnergySeriesNode {
  nodeId: string
  /** V_total per verification pass, oldest first; null where the stored value is not a finite number. */
  values: Array<number | null>
  /** Epoch ms of each pass (null when the row has no time). */
  times: Array<number | null>
}

export interface EnergySeries {
  epsilon: number
  nodes: EnergySeriesNode[]
  /** Passes whose V_total is NULL, NaN or infinite: not drawn, counted here. */
  nonFinite: number
  /** Passes left out by the bound (ENERGY_SERIES_MAX_POINTS). */
  leftOut: number
}

export const ENERGY_SERIES_MAX_POINTS = 50_000
