// The decision timeline and the chart series of one Perspt session. All times are ISO-8601 UTC strings
// or epoch milliseconds (named *Ms).

/** Every kind of thing the decision trace records, in the order used to break ties at the same time. */
export const TIMELINE_KINDS = ['plan', 'step', 'verification', 'sheaf', 'escalation', 'rewrite', 'correction', 'repair', 'review', 'merge', 'flush'] as const
export type TimelineKind = (typeof TIMELINE_KINDS)[number]

/** The words a person reads for each kind (filters, badges). */
export const TIMELINE_KIND_LABELS: Record<TimelineKind, string> = {
  plan: 'Plan revisions',
  step: 'Steps',
  verification: 'Verifications',
  sheaf: 'Consistency checks',
  escalation: 'Escalations',
  rewrite: 'Graph rewrites',
  correction: 'Corrections',
  repair: 'Repairs',
  review: 'Reviews',
  merge: 'Branch merges',
  flush: 'Branch flushes'
}

export interface TimelineQuery {
  offset: number
  limit: number
  /** Only these kinds (all when absent or empty). */
  kinds?: TimelineKind[]
  /** Only entries about this node (exact id). */
  nodeId?: string
}

/** How an entry turned out, for its colour: a tone, never a raw word. */
export type TimelineTone = 'good' | 'bad' | 'attention' | 'neutral'

export interface TimelineEntry {
  /** "<table>:<id>", traceable to its row. */
  id: string
  kind: TimelineKind
  at: string | null
  nodeId: string | null
  /** One line in plain words, e.g. "Verification failed: 3 tests failed". */
  line: string
  tone: TimelineTone
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
