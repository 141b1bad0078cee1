// Pure queries over an open connection to a *snapshot copy* of a Perspt store
// (shared/spec/perspt-store.md §1.4, facts 5–15). Never given the user's file itself.
import type { DuckDBConnection, JS } from '@duckdb/node-api'
import type { BudgetUsage, DisplayStatus, NodeCounts, SessionRow } from '../../shared/model/perspt'
import type { NodeState } from '../../shared/model/perspt-views'
import { ALL_PERSPT_TABLES } from './schema'
import type { PersptTable } from './schema'

export interface SchemaProbe {
  /** Known Perspt tables present (unknown extra tables are ignored). */
  tables: ReadonlySet<PersptTable>
  /** Columns per known table, lower-cased. */
  columns: ReadonlyMap<PersptTable, ReadonlySet<string>>
  hasSessions: boolean
  /** node_states has all seven v0.5.5 ALTER columns. */
  nodeStatesExtended: boolean
}

export interface ReadSessionsOptions {
  /** Whether some process holds the store's lock right now; RUNNING sessions without one are stale. */
  agentLive: boolean
  /** Epoch ms, for the duration of sessions still running. */
  now: number
}

type Row = Record<string, JS>

const KNOWN = new Set<string>(ALL_PERSPT_TABLES)
const EXTENDED_COLUMNS = ['node_class', 'owner_plugin', 'goal', 'parent_id', 'children', 'last_error_type', 'committed_at']

async function query(con: DuckDBConnection, sql: string, params?: Record<string, string>): Promise<Row[]> {
  return (await con.runAndReadAll(sql, params)).getRowObjectsJS()
}

export async function probeSchema(con: DuckDBConnection): Promise<SchemaProbe> {
  const rows = await query(
    con,
    `SELECT lower(table_name) AS t, lower(column_name) AS c FROM duckdb_columns()
     WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal`
  )
  const columns = new Map<PersptTable, Set<string>>()
  for (const row of rows) {
    const table = String(row.t)
    if (!KNOWN.has(table)) continue
    const set = columns.get(table as PersptTable) ?? new Set<string>()
    set.add(String(row.c))
    columns.set(table as PersptTable, set)
  }
  const nodeCols = columns.get('node_states')
  return {
    tables: new Set(columns.keys()),
    columns,
    hasSessions: columns.has('sessions'),
    nodeStatesExtended: nodeCols !== undefined && EXTENDED_COLUMNS.every((c) => nodeCols.has(c))
  }
}

// ---- value conversion -------------------------------------------------------------------------

/** COUNT is BIGINT and SUM(INTEGER) HUGEINT: both arrive as bigint. Out-of-range values are clamped. */
export function toNumber(value: JS | undefined): number | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER
    if (value < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER
    return Number(value)
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : null
  }
  if (typeof value === 'boolean') return value ? 1 : 0
  return null
}

/** REAL is float32 widened to a double (0.1 → 0.10000000149011612): keep float32's 7 significant digits. */
export function roundReal(value: number | null): number | null {
  return value === null ? null : Number(value.toPrecision(7))
}

/** Perspt writes '' for most absent optionals; treat '' (and whitespace) like NULL. */
export function text(value: JS | undefined): string | null {
  if (value === null || value === undefined) return null
  if (value instanceof Uint8Array) return blobText(value)
  const s = typeof value === 'string' ? value : String(value)
  return s.trim() === '' ? null : s
}

const utf8 = new TextDecoder('utf-8', { fatal: false })

/** Hash BLOBs hold the ASCII bytes of a hex string; an empty blob means none. */
export function blobText(value: JS | undefined): string | null {
  if (value === null || value === undefined) return null
  const s = value instanceof Uint8Array ? utf8.decode(value) : String(value)
  return s.trim() === '' ? null : s
}

/** Epoch milliseconds (from `epoch_ms(naive timestamp)`, i.e. read as UTC) to ISO-8601 'Z'. */
export function isoFromMs(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

/** Parses JSON written into TEXT columns; '' and malformed text give null. */
export function parseJson(value: JS | undefined): unknown {
  const s = text(value)
  if (s === null) return null
  try {
    return JSON.parse(s) as unknown
  } catch {
    return null
  }
}

// ---- status -----------------------------------------------------------------------------------

/** Maps `sessions.status` (any case) to Vigil's vocabulary; RUNNING without a lock holder is stale. */
export function mapSessionStatus(raw: string | null, agentLive: boolean): DisplayStatus {
  switch ((raw ?? '').trim().toLowerCase()) {
    case 'running':
      return agentLive ? 'running' : 'stale'
    case 'completed':
      return 'completed'
    case 'partial':
      return 'partial'
    case 'failed':
      return 'failed'
    case 'aborted':
      return 'aborted'
    case 'paused':
      return 'paused'
    // 'active' is the schema default: a session row that no run has claimed yet.
    case 'active':
    case 'pending':
    case 'queued':
      return 'pending'
    default:
      return 'unknown'
  }
}

type NodeLabel = 'completed' | 'failed' | 'escalated' | 'running' | 'queued' | 'superseded'

/** Perspt's `normalize_state` (§3), except that `committed` counts as committed rather than running. */
export function normalizeNodeState(raw: string | null): NodeLabel {
  const s = (raw ?? '').trim().toLowerCase()
  if (s === 'aborted') return 'failed'
  if (['completed', 'stable', 'verified', 'committed'].includes(s)) return 'completed'
  if (s === 'failed' || s === 'error') return 'failed'
  if (s === 'escalated') return 'escalated'
  if (s === 'superseded') return 'superseded'
  if (
    ['planning', 'coding', 'in_progress', 'in-progress', 'running', 'verifying', 'retry', 'retrying', 'sheafcheck', 'sheaf_check', 'committing'].includes(s)
  ) {
    return 'running'
  }
  return 'queued'
}

// ---- friendly names (§3) ----------------------------------------------------------------------

const ADJ = ['swift', 'bold', 'calm', 'keen', 'warm', 'cool', 'bright', 'sharp', 'quiet', 'vivid', 'pale', 'deep', 'light', 'dark', 'soft', 'firm', 'quick', 'slow', 'wild', 'tame', 'rare', 'vast', 'slim', 'wide', 'fair', 'pure', 'rich', 'lean', 'raw', 'dry', 'wet', 'old']
const NOUN = ['oak', 'elm', 'fox', 'owl', 'bee', 'ant', 'ray', 'gem', 'bay', 'ash', 'ivy', 'fir', 'yew', 'cod', 'eel', 'jay', 'hawk', 'dove', 'lark', 'wren', 'pike', 'carp', 'wolf', 'bear', 'hare', 'lynx', 'crow', 'moth', 'seal', 'swan', 'toad', 'newt']

export function friendlyName(sessionId: string): string {
  let h = 0n
  for (const b of new TextEncoder().encode(sessionId)) h = BigInt.asUintN(64, h * 31n + BigInt(b))
  return `${ADJ[Number(h % 32n)]}-${NOUN[Number((h >> 8n) % 32n)]}`
}

// ---- session rows -----------------------------------------------------------------------------

/** A column if the table has it, else NULL, so stores missing a column still read. */
function col(probe: SchemaProbe, table: PersptTable, column: string, alias = column): string {
  return probe.columns.get(table)?.has(column) ? `${column} AS ${alias}` : `NULL AS ${alias}`
}

function has(probe: SchemaProbe, table: PersptTable, ...columns: string[]): boolean {
  const cols = probe.columns.get(table)
  return cols !== undefined && columns.every((c) => cols.has(c))
}

/** `epoch_ms` of a naive TIMESTAMP reads it as UTC; TRY_CAST survives odd column types. */
const ms = (column: string): string => `epoch_ms(TRY_CAST(${column} AS TIMESTAMP))`

/** What the store says about one session's nodes; `classifyNode` turns it into a state (spec §3). */
export interface NodeFacts {
  /** Every node any source names: plan, edges, node_states, steps, energy, escalations. */
  known: Set<string>
  /** The latest node_states row's state, normalised. */
  latestState: Map<string, NodeLabel>
  /** Nodes with step records or verification passes. */
  started: Set<string>
  /** Nodes with escalation reports or an escalated converge step. */
  escalated: Set<string>
}

function emptyFacts(): NodeFacts {
  return { known: new Set(), latestState: new Map(), started: new Set(), escalated: new Set() }
}

interface Extra {
  nodes: NodeFacts
  budget: BudgetUsage | null
  llm: { requests: number; tokensIn: number; tokensOut: number; estimated: boolean }
  avgEnergy: number | null
  lastMs: number | null
}

function emptyExtra(): Extra {
  return {
    nodes: emptyFacts(),
    budget: null,
    llm: { requests: 0, tokensIn: 0, tokensOut: 0, estimated: false },
    avgEnergy: null,
    lastMs: null
  }
}

/** Runs one optional source query; a failure degrades that source only, never the whole list. */
async function optional(con: DuckDBConnection, sql: string, params?: Record<string, string>): Promise<Row[]> {
  try {
    return await query(con, sql, params)
  } catch {
    return []
  }
}

export function planTaskIds(plan: unknown): string[] {
  if (typeof plan !== 'object' || plan === null) return []
  const tasks = (plan as { tasks?: unknown }).tasks
  if (!Array.isArray(tasks)) return []
  const ids: string[] = []
  for (const task of tasks) {
    const id = typeof task === 'object' && task !== null ? (task as { id?: unknown }).id : undefined
    if ((typeof id === 'string' && id.trim() !== '') || typeof id === 'number') ids.push(String(id))
  }
  return ids
}

/**
 * Gathers the node facts of every session (`sessionId` null) or of one session. readSessions' counts
 * and the DAG both come from here, so they cannot disagree.
 */
export async function readNodeFacts(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionId: string | null,
  /** With a session: only this node's facts (a node's state depends on its own rows only). */
  nodeId: string | null = null
): Promise<Map<string, { nodes: NodeFacts; lastMs: number | null }>> {
  const node = sessionId !== null && nodeId !== null
  const params: Record<string, string> | undefined = sessionId === null ? undefined : node ? { sid: sessionId, nid: nodeId } : { sid: sessionId }
  const where = sessionId === null ? '' : ` WHERE session_id = $sid${node ? ' AND node_id = $nid' : ''}`
  const and = sessionId === null ? '' : ` AND session_id = $sid${node ? ' AND node_id = $nid' : ''}`
  const edgeWhere = sessionId === null ? '' : ` WHERE session_id = $sid${node ? ' AND (parent_node_id = $nid OR child_node_id = $nid)' : ''}`
  const wanted = (id: string) => !node || id === nodeId
  const out = new Map<string, { nodes: NodeFacts; lastMs: number | null }>()
  const entry = (sid: JS | undefined) => {
    const key = String(sid)
    let e = out.get(key)
    if (!e) out.set(key, (e = { nodes: emptyFacts(), lastMs: null }))
    return e
  }
  const facts = (sid: JS | undefined): NodeFacts => entry(sid).nodes
  const bump = (sid: JS | undefined, value: JS | undefined) => {
    const e = entry(sid)
    const t = toNumber(value)
    if (t !== null && (e.lastMs === null || t > e.lastMs)) e.lastMs = t
  }

  // Committed (and legacy) node states: the latest row per node, ties broken by id (fact 10).
  if (has(probe, 'node_states', 'session_id', 'node_id', 'state')) {
    const order = [has(probe, 'node_states', 'created_at') ? 'created_at DESC' : null, has(probe, 'node_states', 'id') ? 'id DESC' : null]
      .filter(Boolean)
      .join(', ')
    for (const r of await optional(
      con,
      `SELECT session_id AS sid, node_id AS nid, state,
         max(${has(probe, 'node_states', 'created_at') ? ms('created_at') : 'NULL'}) OVER (PARTITION BY session_id) AS last_ms
       FROM node_states WHERE NULLIF(trim(node_id), '') IS NOT NULL${and}
       QUALIFY row_number() OVER (PARTITION BY session_id, node_id ${order ? `ORDER BY ${order}` : ''}) = 1`,
      params
    )) {
      const e = facts(r.sid)
      const nid = String(r.nid)
      e.known.add(nid)
      e.latestState.set(nid, normalizeNodeState(text(r.state)))
      bump(r.sid, r.last_ms)
    }
  }

  // Planned: the highest-sequence active plan revision, plus both ends of every task-graph edge.
  if (has(probe, 'plan_revisions', 'session_id', 'plan_json', 'status', 'sequence')) {
    for (const r of await optional(
      con,
      `SELECT session_id AS sid, plan_json FROM plan_revisions WHERE lower(status) = 'active'${sessionId === null ? '' : ' AND session_id = $sid'}
       QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY sequence DESC) = 1`,
      sessionId === null ? undefined : { sid: sessionId }
    )) {
      const e = facts(r.sid)
      for (const id of planTaskIds(parseJson(r.plan_json))) if (wanted(id)) e.known.add(id)
    }
  }
  if (has(probe, 'task_graph_edges', 'session_id', 'parent_node_id', 'child_node_id')) {
    for (const r of await optional(
      con,
      `SELECT DISTINCT session_id AS sid, parent_node_id AS a, child_node_id AS b FROM task_graph_edges${edgeWhere}`,
      params
    )) {
      const e = facts(r.sid)
      for (const id of [text(r.a), text(r.b)]) if (id !== null && wanted(id)) e.known.add(id)
    }
  }

  // Started: step records and verification passes.
  const started: string[] = []
  if (has(probe, 'srbn_step_records', 'session_id', 'node_id')) {
    started.push(
      `SELECT session_id, node_id, ${has(probe, 'srbn_step_records', 'created_at') ? ms('created_at') : 'NULL'} AS t FROM srbn_step_records${where}`
    )
  }
  if (has(probe, 'energy_history', 'session_id', 'node_id')) {
    started.push(
      `SELECT session_id, node_id, ${has(probe, 'energy_history', 'timestamp') ? ms('timestamp') : 'NULL'} AS t FROM energy_history${where}`
    )
  }
  if (started.length > 0) {
    for (const r of await optional(
      con,
      `SELECT session_id AS sid, node_id AS nid, max(t) AS last_ms FROM (${started.join(' UNION ALL ')})
       WHERE NULLIF(trim(node_id), '') IS NOT NULL GROUP BY ALL`,
      params
    )) {
      const e = facts(r.sid)
      e.known.add(String(r.nid))
      e.started.add(String(r.nid))
      bump(r.sid, r.last_ms)
    }
  }

  // Escalated: escalation reports and converge steps whose outcome was 'escalated'.
  const escalated: string[] = []
  if (has(probe, 'escalation_reports', 'session_id', 'node_id')) {
    escalated.push(`SELECT session_id, node_id FROM escalation_reports${where}`)
  }
  if (has(probe, 'srbn_step_records', 'session_id', 'node_id', 'outcome')) {
    escalated.push(`SELECT session_id, node_id FROM srbn_step_records WHERE lower(outcome) = 'escalated'${and}`)
  }
  if (escalated.length > 0) {
    for (const r of await optional(
      con,
      `SELECT DISTINCT session_id AS sid, node_id AS nid FROM (${escalated.join(' UNION ALL ')})
       WHERE NULLIF(trim(node_id), '') IS NOT NULL`,
      params
    )) {
      const e = facts(r.sid)
      e.known.add(String(r.nid))
      e.escalated.add(String(r.nid))
    }
  }

  return out
}

export async function readSessions(
  con: DuckDBConnection,
  probe: SchemaProbe,
  opts: ReadSessionsOptions
): Promise<SessionRow[]> {
  if (!probe.hasSessions) return []
  const sessions = await query(
    con,
    `SELECT ${col(probe, 'sessions', 'session_id', 'sid')}, ${col(probe, 'sessions', 'task')},
       ${col(probe, 'sessions', 'working_dir')}, ${col(probe, 'sessions', 'status')},
       ${col(probe, 'sessions', 'merkle_root')},
       ${has(probe, 'sessions', 'created_at') ? ms('created_at') : 'NULL'} AS created_ms,
       ${has(probe, 'sessions', 'updated_at') ? ms('updated_at') : 'NULL'} AS updated_ms
     FROM sessions
     ORDER BY created_ms DESC NULLS LAST, sid`
  )
  const extras = new Map<string, Extra>()
  const extra = (sid: JS | undefined): Extra => {
    const key = String(sid)
    let e = extras.get(key)
    if (!e) extras.set(key, (e = emptyExtra()))
    return e
  }
  const bumpLast = (e: Extra, value: JS | undefined) => {
    const t = toNumber(value)
    if (t !== null && (e.lastMs === null || t > e.lastMs)) e.lastMs = t
  }

  for (const [sid, found] of await readNodeFacts(con, probe, null)) {
    const e = extra(sid)
    e.nodes = found.nodes
    bumpLast(e, found.lastMs)
  }

  if (has(probe, 'budget_envelopes', 'session_id')) {
    const b = (c: string) => col(probe, 'budget_envelopes', c)
    for (const r of await optional(
      con,
      `SELECT session_id AS sid, ${b('max_steps')}, ${b('steps_used')}, ${b('max_revisions')}, ${b('revisions_used')},
         ${b('max_cost_usd')}, ${b('cost_used_usd')} FROM budget_envelopes`
    )) {
      extra(r.sid).budget = {
        stepsUsed: toNumber(r.steps_used) ?? 0,
        maxSteps: toNumber(r.max_steps),
        revisionsUsed: toNumber(r.revisions_used) ?? 0,
        maxRevisions: toNumber(r.max_revisions),
        costUsedUsd: toNumber(r.cost_used_usd) ?? 0,
        maxCostUsd: toNumber(r.max_cost_usd)
      }
    }
  }

  // LLM totals; a raw count of 0 becomes Perspt's per-session estimate (UTF-8 bytes + 3) div 4.
  if (has(probe, 'llm_requests', 'session_id')) {
    const tokens = (c: string, textCol: string) =>
      has(probe, 'llm_requests', c, textCol)
        ? `CASE WHEN coalesce(${c}, 0) > 0 THEN ${c} ELSE (coalesce(strlen(${textCol}), 0) + 3) // 4 END`
        : has(probe, 'llm_requests', c)
          ? `coalesce(${c}, 0)`
          : '0'
    const raw = (c: string) => (has(probe, 'llm_requests', c) ? `coalesce(${c}, 0)` : '0')
    for (const r of await optional(
      con,
      `SELECT session_id AS sid, count(*) AS n,
         sum(${tokens('tokens_in', 'prompt')}) AS t_in, sum(${tokens('tokens_out', 'response')}) AS t_out,
         sum(${raw('tokens_in')}) + sum(${raw('tokens_out')}) AS raw_total,
         max(${has(probe, 'llm_requests', 'timestamp') ? ms('timestamp') : 'NULL'}) AS last_ms
       FROM llm_requests GROUP BY session_id`
    )) {
      const e = extra(r.sid)
      const n = toNumber(r.n) ?? 0
      e.llm = {
        requests: n,
        tokensIn: toNumber(r.t_in) ?? 0,
        tokensOut: toNumber(r.t_out) ?? 0,
        estimated: n > 0 && (toNumber(r.raw_total) ?? 0) === 0
      }
      bumpLast(e, r.last_ms)
    }
  }

  if (has(probe, 'energy_history', 'session_id', 'v_total')) {
    for (const r of await optional(
      con,
      'SELECT session_id AS sid, avg(v_total) AS avg_e FROM energy_history GROUP BY session_id'
    )) {
      const avg = toNumber(r.avg_e)
      extra(r.sid).avgEnergy = avg === null ? null : Number(avg.toPrecision(6))
    }
  }

  return sessions.map((s) => {
    const sessionId = String(s.sid ?? '')
    const e = extras.get(sessionId) ?? emptyExtra()
    const rawStatus = typeof s.status === 'string' ? s.status : s.status === null ? '' : String(s.status)
    const status = mapSessionStatus(rawStatus, opts.agentLive)
    const createdMs = toNumber(s.created_ms)
    const updatedMs = toNumber(s.updated_ms)
    const lastMs = Math.max(updatedMs ?? -Infinity, e.lastMs ?? -Infinity)
    const lastActivity = Number.isFinite(lastMs) ? lastMs : null
    let endMs: number | null
    if (status === 'running') endMs = opts.now
    else if (status === 'stale') endMs = lastActivity
    else endMs = updatedMs
    return {
      sessionId,
      task: typeof s.task === 'string' ? s.task : '',
      workingDir: typeof s.working_dir === 'string' ? s.working_dir : '',
      rawStatus,
      status,
      createdAt: isoFromMs(createdMs),
      updatedAt: isoFromMs(updatedMs),
      durationMs: createdMs !== null && endMs !== null ? Math.max(0, endMs - createdMs) : null,
      nodes: countNodes(e.nodes, status),
      budget: e.budget,
      llmRequests: e.llm.requests,
      tokensIn: e.llm.tokensIn,
      tokensOut: e.llm.tokensOut,
      tokensEstimated: e.llm.estimated,
      friendlyName: friendlyName(sessionId),
      merkleRoot: blobText(s.merkle_root),
      lastActivityAt: isoFromMs(lastActivity),
      avgEnergy: e.avgEnergy
    }
  })
}

/** Session statuses after which a started-but-uncommitted node counts as failed. */
export function sessionEnded(status: DisplayStatus): boolean {
  return ['completed', 'partial', 'failed', 'aborted', 'stale'].includes(status)
}

/**
 * One state per known node, by precedence: latest node_states (committed/failed/escalated) →
 * escalation evidence → started (running while the session runs; failed once it has ended, since it
 * never committed) → queued. Superseded nodes give null: they are not part of the plan any more.
 */
export function classifyNode(facts: NodeFacts, node: string, status: DisplayStatus): NodeState | null {
  const state = facts.latestState.get(node)
  if (state === 'superseded') return null
  if (state === 'completed') return 'committed'
  if (state === 'failed') return 'failed'
  if (state === 'escalated' || facts.escalated.has(node)) return 'escalated'
  if (state === 'running' || facts.started.has(node)) return sessionEnded(status) ? 'failed' : 'running'
  return 'queued'
}

/** One bucket per known node (see classifyNode); `planned` is every non-superseded node, so the buckets add up to it. */
function countNodes(facts: NodeFacts, status: DisplayStatus): NodeCounts {
  const counts: NodeCounts = { planned: 0, committed: 0, running: 0, failed: 0, escalated: 0, queued: 0 }
  for (const node of facts.known) {
    const state = classifyNode(facts, node, status)
    if (state === null) continue
    counts.planned++
    counts[state]++
  }
  return counts
}
