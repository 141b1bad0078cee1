// What the six Perspt views show for one session. All times are ISO-8601 UTC strings.
import type { SessionRow } from './perspt'

/** A node's reconstructed state (spec §3): never Perspt's always-0 counters. */
export type NodeState = 'committed' | 'running' | 'failed' | 'escalated' | 'queued'

export interface EnergyComponents {
  vSyn: number
  vStr: number
  vLog: number
  vBoot: number
  vSheaf: number
  vTotal: number
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
  /** Latest V_total (energy_history, else node_states at commit). */
  energy: number | null
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
  latencyP50: number | null
  latencyP95: number | null
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
  latencyMs: number
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

export interface LlmRequestText {
  id: number
  prompt: string
  response: string
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
