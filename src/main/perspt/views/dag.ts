// The DAG view: every node the store knows for a session, with the state readSessions counts
// (classifyNode over the same facts), its latest energy, and typed edges.
import type { DuckDBConnection } from '@duckdb/node-api'
import { ApiError } from '../../../shared/api/errors'
import type { DisplayStatus } from '../../../shared/model/perspt'
import type { DagEdge, DagGraph, DagNode, LlmRequestRow, NodeDetail } from '../../../shared/model/perspt-views'
import type { PersptTable } from '../schema'
import { classifyNode, isoFromMs, parseJson, text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { readNodeDecisions } from './dag-decisions'
import { readDagRows } from './dag-rows'
import type { DagEdgeRow } from './dag-rows'
import { col, has, msOf, rows, sessionStatus, timeOrder } from './dag-sql'
import type { Row } from './dag-sql'
import { energyValue, readEnergyPoints } from './energy'
import { boundedPreview, LLM_PREVIEW_MAX, PREVIEW_LOOKAHEAD } from './llm'

/** Tables the DAG draws from; the view names the ones an older store lacks. */
const DAG_TABLES: readonly PersptTable[] = ['node_states', 'energy_history', 'plan_revisions', 'task_graph_edges', 'srbn_step_records', 'escalation_reports']

/** How many of a node's LLM requests the detail panel carries (the LLM view has them all). */
export const NODE_LLM_LIMIT = 50

interface PlanTask {
  id: string
  goal: string | null
  nodeClass: string | null
  dependencies: string[]
}

export interface DagOptions {
  /** The session's display status (from its SessionRow): decides running vs failed for started nodes. */
  status?: DisplayStatus
}

function planTasks(plan: unknown): PlanTask[] {
  const tasks = typeof plan === 'object' && plan !== null ? (plan as { tasks?: unknown }).tasks : undefined
  if (!Array.isArray(tasks)) return []
  const out: PlanTask[] = []
  for (const t of tasks) {
    if (typeof t !== 'object' || t === null) continue
    const o = t as Record<string, unknown>
    const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id).trim() : ''
    if (id === '') continue
    const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : null)
    const deps = Array.isArray(o.dependencies) ? o.dependencies.filter((d) => typeof d === 'string' || typeof d === 'number').map(String) : []
    out.push({ id, goal: str(o.goal), nodeClass: str(o.node_class), dependencies: deps })
  }
  return out
}

interface Built {
  nodes: DagNode[]
  plan: PlanTask[]
  edges: DagEdgeRow[]
}

/** Every non-superseded node with its state and attributes, plan order first (one round trip, see dag-rows). */
async function buildNodes(con: DuckDBConnection, probe: SchemaProbe, sid: string, opts: DagOptions, only: string | null = null): Promise<Built> {
  const status = opts.status ?? (await sessionStatus(con, probe, sid))
  const found = await readDagRows(con, probe, sid, only)
  const { facts, first } = found
  const plan = found.planJson === null ? [] : planTasks(parseJson(found.planJson))
  if (facts.known.size === 0) return { nodes: [], plan, edges: found.edges }

  // Latest node_states row per node.
  const latest = new Map<string, { raw: string | null; vTotal: ReturnType<typeof energyValue>; attempts: number | null; goal: string | null; nodeClass: string | null; committedAt: string | null; createdMs: number | null }>()
  for (const [nodeId, r] of found.latest) {
    latest.set(nodeId, {
      raw: text(r.state),
      vTotal: energyValue(r.v_total),
      attempts: toNumber(r.attempt_count),
      goal: text(r.goal),
      nodeClass: text(r.node_class),
      committedAt: text(r.committed_at),
      createdMs: toNumber(r.created_ms)
    })
  }

  // Latest V_total per node from the verification passes: it wins even when it is not a number, so
  // the DAG and the Energy view always show the same value (or the same "—") for a node.
  const energy = new Map<string, ReturnType<typeof energyValue>>()
  for (const [nodeId, v] of found.energy) energy.set(nodeId, energyValue(v))

  const byPlan = new Map(plan.map((t, i) => [t.id, { task: t, index: i }]))
  const nodes: DagNode[] = []
  for (const nodeId of facts.known) {
    const state = classifyNode(facts, nodeId, status)
    if (state === null) continue
    const ns = latest.get(nodeId)
    const task = byPlan.get(nodeId)?.task
    const f = first.get(nodeId)
    const e = energy.get(nodeId)
    let committedAt: string | null = null
    if (state === 'committed') {
      const iso = ns?.committedAt ? new Date(ns.committedAt) : null
      committedAt = iso && !Number.isNaN(iso.getTime()) ? iso.toISOString() : isoFromMs(ns?.createdMs ?? null)
    }
    nodes.push({
      nodeId,
      goal: ns?.goal ?? task?.goal ?? null,
      nodeClass: ns?.nodeClass ?? task?.nodeClass ?? null,
      state,
      rawState: ns?.raw ?? null,
      energy: (e ?? ns?.vTotal)?.value ?? null,
      energyInvalid: (e ?? ns?.vTotal)?.stored ?? null,
      attempts: Math.max(0, f?.a ?? 0, ns?.attempts ?? 0),
      firstSeenAt: isoFromMs(f?.t ?? null),
      committedAt
    })
  }
  const rank = (n: DagNode) => byPlan.get(n.nodeId)?.index ?? Number.MAX_SAFE_INTEGER
  nodes.sort((a, b) => rank(a) - rank(b) || (a.firstSeenAt ?? '').localeCompare(b.firstSeenAt ?? '') || a.nodeId.localeCompare(b.nodeId, 'en', { numeric: true }))
  return { nodes, plan, edges: found.edges }
}

export async function readDag(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, opts: DagOptions = {}): Promise<DagGraph> {
  const { nodes, plan, edges: edgeRows } = await buildNodes(con, probe, sessionId, opts)
  const ids = new Set(nodes.map((n) => n.nodeId))
  const edges: DagEdge[] = []
  const seen = new Set<string>()
  const add = (from: string, to: string, type: string) => {
    const key = `${from}\u0000${to}\u0000${type}`
    if (!ids.has(from) || !ids.has(to) || seen.has(key)) return
    seen.add(key)
    edges.push({ from, to, type })
  }
  for (const { a, b, type } of edgeRows) if (a !== null && b !== null) add(a, b, type ?? 'dependency')
  // Stores from before task_graph_edges (or sessions that wrote none): the plan's dependencies.
  if (edgeRows.length === 0) for (const t of plan) for (const d of t.dependencies) add(d, t.id, 'depends_on')
  return { nodes, edges, missingTables: DAG_TABLES.filter((t) => !probe.tables.has(t)) }
}

function llmRow(r: Row): LlmRequestRow {
  const str = (v: Row[string] | undefined) => (typeof v === 'string' ? v : '')
  return {
    id: toNumber(r.id) ?? 0,
    at: isoFromMs(toNumber(r.at_ms)),
    model: str(r.model),
    nodeId: text(r.node_id),
    tokensIn: toNumber(r.tokens_in) ?? 0,
    tokensOut: toNumber(r.tokens_out) ?? 0,
    latencyMs: toNumber(r.latency_ms),
    promptPreview: boundedPreview(str(r.prompt_head), r.prompt_more === true, LLM_PREVIEW_MAX, typeof r.prompt_next === 'string' ? r.prompt_next : undefined),
    responsePreview: boundedPreview(str(r.response_head), r.response_more === true, LLM_PREVIEW_MAX, typeof r.response_next === 'string' ? r.response_next : undefined),
    promptChars: toNumber(r.prompt_chars) ?? 0,
    responseChars: toNumber(r.response_chars) ?? 0
  }
}

export async function readNodeDetail(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionId: string,
  nodeId: string,
  opts: DagOptions = {}
): Promise<NodeDetail> {
  const { nodes } = await buildNodes(con, probe, sessionId, opts, nodeId)
  const node = nodes.find((n) => n.nodeId === nodeId)
  if (!node) throw new ApiError('not-found', `No node "${nodeId}" in session ${sessionId}.`)
  const params = { sid: sessionId, nid: nodeId }

  let llmRequestCount = 0
  let llmRequests: LlmRequestRow[] = []
  if (has(probe, 'llm_requests', 'session_id', 'node_id')) {
    const l = (name: string) => col(probe, 'llm_requests', name)
    // A bounded prefix (leading whitespace skipped, as the LLM view does), never the whole text.
    const ws = `' ' || chr(9) || chr(10) || chr(13)`
    const head = (name: string) => (has(probe, 'llm_requests', name) ? `left(ltrim(${name}, ${ws}), 400)` : "''")
    const more = (name: string) => (has(probe, 'llm_requests', name) ? `coalesce(length(ltrim(${name}, ${ws})) > 400, false)` : 'false')
    const next = (name: string) => (has(probe, 'llm_requests', name) ? `substring(ltrim(${name}, ${ws}), 401, ${PREVIEW_LOOKAHEAD})` : "''")
    const len = (name: string) => (has(probe, 'llm_requests', name) ? `coalesce(length(${name}), 0)` : '0')
    // The count rides along as a window over all of the node's rows, so one round trip gives both.
    const found = await rows(
      con,
      `SELECT ${l('id')}, ${msOf(probe, 'llm_requests', 'timestamp')} AS at_ms, ${l('model')}, node_id, ${l('tokens_in')}, ${l('tokens_out')},
         ${l('latency_ms')}, ${head('prompt')} AS prompt_head, ${head('response')} AS response_head,
         ${more('prompt')} AS prompt_more, ${more('response')} AS response_more,
         ${next('prompt')} AS prompt_next, ${next('response')} AS response_next,
         ${len('prompt')} AS prompt_chars, ${len('response')} AS response_chars, count(*) OVER () AS total
       FROM llm_requests WHERE session_id = $sid AND node_id = $nid
       ORDER BY ${timeOrder(probe, 'llm_requests', 'timestamp', 'DESC')} LIMIT ${NODE_LLM_LIMIT}`,
      params
    )
    llmRequestCount = found.length > 0 ? (toNumber(found[0]!.total) ?? found.length) : 0
    llmRequests = found.map(llmRow).reverse()
  }

  return {
    node,
    energyHistory: await readEnergyPoints(con, probe, sessionId, nodeId),
    llmRequestCount,
    llmRequests,
    decisions: await readNodeDecisions(con, probe, sessionId, nodeId)
  }
}
