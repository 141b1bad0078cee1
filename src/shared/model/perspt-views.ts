// What the six Perspt views show for one session. All times are ISO-8601 UTC strings.
import type { SessionRow } from './perspt'

/** A node's reconstructed state (spec §3): never Perspt's always-0 counters. */
export type NodeState = 'committed' | 'running' | 'failed' | 'escalated' | 'queued'

export interface EnergyComponents {
  /** null: the store holds NULL, NaN or ±infinity there (see `invalid`); shown as "—", never as 0. */
  vSyn: number | null
  vStr: number | null
  vLog: number | null
  vBoot: number | null
  vSheaf: number | null
  vTotal: number | null
  /** Components whose stored value is not a finite number, and what it is, e.g. { component: 'vTotal', stored: 'NaN' }. */
  invalid: EnergyInvalid[]
}

export interface EnergyInvalid {
  component: 'vSyn' | 'vStr' | 'vLog' | 'vBoot' | 'vSheaf' | 'vTotal'
  stored: 'NULL' | 'NaN' | 'Infinity' | '-Infinity'
}

export interface EnergyPoint extends EnergyComponents {
  /** energy_history.id, so every point traces back to its row. */
  id: number
  at: string | null
}

export interface SessionSummary {
  session: SessionRow
  charter: {
    scope: string
    maxModules: number | null
    maxFiles: number | null
    maxRevisions: number | null
    language: string | null
  } | null
  planRevisions: number
  /** Row counts per table for this session (0 when the table is absent). */
  counts: Record<string, number>
  /** Perspt tables this store lacks (older generation): the views say so instead of failing. */
  missingTables: string[]
  llm: LlmTotals
  avgEnergy: number | null
}

export interface DagNode {
  nodeId: string
  goal: string | null
  nodeClass: string | null
  state: NodeState
  /** The newest raw state string seen for the node, if any table had one. */
  rawState: string | null
  /** Latest V_total (energy_history, else node_states at commit); null when none, or not a finite number (energyInvalid). */
  energy: number | null
  /** What the latest V_total holds when it is not a finite number ('NaN', 'Infinity', '-Infinity', 'NULL'). */
  energyInvalid: EnergyInvalid['stored'] | null
  attempts: number
  firstSeenAt: string | null
  committedAt: string | null
}

export interface DagEdge {
  from: string
  to: string
  type: string
}

export interface DagGraph {
  nodes: DagNode[]
  edges: DagEdge[]
  missingTables: string[]
}

export interface NodeDetail {
  node: DagNode
  energyHistory: EnergyPoint[]
  llmRequestCount: number
  /** The node's most recent LLM requests (bounded), newest last. */
  llmRequests: LlmRequestRow[]
  decisions: DecisionItem[]
}

export interface NodeEnergy extends EnergyComponents {
  nodeId: string
  at: string | null
  passes: number
}

export interface EnergyView {
  /** Latest pass per node. */
  latest: NodeEnergy[]
  /** Every pass per node, oldest first (timestamp, then id). */
  series: Record<string, EnergyPoint[]>
  /** Perspt's convergence threshold, drawn on the chart. */
  epsilon: number
}

export interface LlmTotals {
  requests: number
  tokensIn: number
  tokensOut: number
  latencyMsTotal: number
  /** Percentiles (quantile_cont) over the calls with a latency: NULL latency is excluded, never read as 0 ms. */
  latencyP50: number | null
  latencyP95: number | null
  /** Calls with a recorded latency: what the percentiles are "of" ("p95 of N calls with a latency"). */
  latencyCounted: number
  /** True when all raw token counts are 0 and the totals are estimates from text length. */
  tokensEstimated: boolean
}

export interface LlmSummary extends LlmTotals {
  perModel: Array<LlmTotals & { model: string }>
}

export type LlmSortKey = 'time' | 'model' | 'node' | 'tokensIn' | 'tokensOut' | 'latency'

export interface LlmRowsQuery {
  offset: number
  limit: number
  sort?: LlmSortKey
  dir?: 'asc' | 'desc'
  search?: string
  model?: string
  nodeId?: string
}

export interface LlmRequestRow {
  /** llm_requests.id */
  id: number
  at: string | null
  model: string
  nodeId: string | null
  tokensIn: number
  tokensOut: number
  /** null: Perspt stored no latency for this call. */
  latencyMs: number | null
  /** At most 160 characters, cut on a character boundary (never inside a UTF-8 sequence or surrogate pair). */
  promptPreview: string
  responsePreview: string
  promptChars: number
  responseChars: number
}

export interface LlmRowsPage {
  total: number
  offset: number
  rows: LlmRequestRow[]
}

/** A request's texts: at most LLM_TEXT_HEAD_CHARS of each; the rest comes in parts (getLlmText) on demand. */
export interface LlmRequestText {
  id: number
  prompt: string
  response: string
  /** Full lengths in characters (code points), as stored. */
  promptChars: number
  responseChars: number
}

/** One part of a request's prompt or response: characters [offset, offset + text's length) of totalChars. */
export interface LlmTextPart {
  id: number
  part: 'prompt' | 'response'
  offset: number
  text: string
  totalChars: number
}

export interface SandboxBranch {
  branchId: string
  nodeId: string
  parentNodeId: string | null
  state: string
  /** Where Perspt keeps (kept) it: <working_dir>/.perspt/sandboxes/<session>/<branch>/ (the column is always blank). */
  sandboxDir: string
  createdAt: string | null
  updatedAt: string | null
}

export interface SandboxView {
  branches: SandboxBranch[]
  lineage: Array<{ lineageId: string; parentNodeId: string; childBranchId: string; dependsOnSeal: boolean; createdAt: string | null }>
  flushes: Array<{ flushId: string; parentNodeId: string; flushedBranchIds: string[]; requeueNodeIds: string[]; reason: string; createdAt: string | null }>
  seals: Array<{ sealId: string; nodeId: string; sealedPath: string; artifactKind: string; sealHash: string | null; version: number; createdAt: string | null }>
  missingTables: string[]
}

export type DecisionSectionKey =
  | 'escalations'
  | 'sheaf'
  | 'rewrites'
  | 'plans'
  | 'repairs'
  | 'verifications'
  | 'reviews'
  | 'steps'
  | 'corrections'

export interface DecisionItem {
  /** "<table>:<id>", traceable to its row. */
  id: string
  section: DecisionSectionKey
  at: string | null
  nodeId: string | null
  title: string
  status: string | null
  fields: Array<{ label: string; value: string }>
  /** JSON columns, parsed (or the raw text when it is not valid JSON). */
  json: Record<string, unknown>
}

export interface DecisionSection {
  key: DecisionSectionKey
  title: string
  /** False when the store's generation lacks the table. */
  available: boolean
  total: number
  items: DecisionItem[]
}

export interface DecisionTrace {
  sections: DecisionSection[]
}

// ---- Parity with Perspt's dashboard (issue 17 item 4): store totals, nodes table, edges, passes ----

/** Totals across every session of a store (Perspt's overview banner, over all sessions, not one page). */
export interface StoreTotals {
  sessions: number
  llmCalls: number
  /** Sums of the session rows: a call with no count (0 or NULL) is estimated from its text, (UTF-8 bytes + 3) div 4. */
  tokensIn: number
  tokensOut: number
  /** Calls whose input or output count was estimated that way. */
  estimatedCalls: number
  /** Calls with a recorded latency: the median and the mean are over these (NULL latency excluded). */
  latencyCounted: number
  /** Calls with a NULL latency, left out of the median and the mean. */
  latencyMissing: number
  latencyMedianMs: number | null
  latencyMeanMs: number | null
  /** Vigil's node counts (plan, steps, escalations and commits), summed over the sessions the list shows. */
  nodes: { planned: number; committed: number; running: number; failed: number; escalated: number; queued: number }
  /** What Perspt's own dashboard counts: the latest node_states row per node, labelled its way. */
  persptNodes: { total: number; completed: number; failed: number }
  /** null: the store's sessions table has no detected_toolchain column (an older Perspt). */
  toolchains: {
    values: Array<{ toolchain: string; sessions: number }>
    /** Sessions with no value ('' or NULL: the agent always writes ''). */
    unset: number
    /** Sessions whose value is past the first MAX_TOOLCHAINS listed (counted, not named). */
    unlisted: number
  } | null
  /** The session list is a first read without counts yet: calls, tokens and nodes are not totals yet. */
  countsPending: boolean
}

/** Why a V_total at commit is not a number. */
export type CommitEnergyNote = 'not-committed' | 'missing' | 'not-finite'

export interface NodeTableRow {
  nodeId: string
  goal: string | null
  nodeClass: string | null
  state: NodeState
  /** The state string of the newest node_states row, as Perspt wrote it. */
  rawState: string | null
  /** V_total of the newest node_states row (Perspt writes it at commit); null with a note when there is none. */
  commitEnergy: number | null
  commitEnergyNote: CommitEnergyNote | null
  /** V_total of the node's latest verification pass (finite only). */
  lastPassEnergy: number | null
  attempts: number
  /** Verification passes (energy_history rows) of the node. */
  passes: number
  llmCalls: number
  committedAt: string | null
  /** The node_states row behind commitEnergy, as stored (for the "raw records" disclosure). */
  record: { id: number | null; state: string | null; vTotal: string | null; attemptCount: number | null; committedAt: string | null } | null
}

export interface EdgeRow {
  /** task_graph_edges.id; null for edges taken from the plan's dependencies. */
  id: number | null
  from: string
  to: string
  /** As stored: depends_on, split_sequence, interface_boundary, dependency (the schema default)… */
  type: string
  createdAt: string | null
}

export interface SessionNodesView {
  nodes: NodeTableRow[]
  edges: EdgeRow[]
  /** Edge rows of the session in the store (edges shows at most MAX_EDGE_ROWS of them). */
  edgeTotal: number
  /** No edge rows for the session: the edges are the active plan's dependencies. */
  edgesFromPlan: boolean
  /** recorded false: this Perspt version's sessions table has no detected_toolchain column. */
  toolchain: { recorded: boolean; value: string | null }
  missingTables: string[]
}

export type EnergyComponentKey = 'vSyn' | 'vStr' | 'vLog' | 'vBoot' | 'vSheaf' | 'vTotal'

/** One verification pass; a NULL or non-finite component is null (shown as "—"), never 0. */
export interface EnergyPassRow {
  /** energy_history.id */
  id: number
  nodeId: string
  /** 1 for the node's first pass (timestamp, then id). */
  pass: number
  at: string | null
  vSyn: number | null
  vStr: number | null
  vLog: number | null
  vBoot: number | null
  vSheaf: number | null
  vTotal: number | null
  /** Some component was stored as NaN or ±infinity. */
  nonFinite: boolean
}

export interface EnergyComponentStats {
  /** Over the passes with a finite value; NULL and non-finite values are excluded (and counted). */
  min: number | null
  max: number | null
  mean: number | null
  /** The pass (energy_history.id, lowest on ties) holding the minimum and the maximum. */
  minPassId: number | null
  maxPassId: number | null
  counted: number
  missing: number
  nonFinite: number
}

export interface EnergyStats {
  passes: number
  nodes: number
  components: Record<EnergyComponentKey, EnergyComponentStats>
  epsilon: number
}

export interface EnergyPassesView {
  /** Passes of the session in the store (passes holds at most MAX_PASS_ROWS of them, oldest first). */
  total: number
  passes: EnergyPassRow[]
  stats: EnergyStats
}
