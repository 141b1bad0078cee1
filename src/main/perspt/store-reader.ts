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

/**
 * The known tables that hold no rows in the copy the connection reads now (its current database:
 * copies are ATTACHed to one connection per store, so nothing is cached per connection). DuckDB's
 * estimated_size counts every appended row, deleted ones too, so it is never below the truth; 0 means
 * empty. Views skip those tables: a query on an empty table can only return nothing. One small
 * catalog query instead of one query per empty table.
 */
export async function emptyTables(con: DuckDBConnection): Promise<ReadonlySet<PersptTable>> {
  try {
    const rows = await query(
      con,
      `SELECT lower(table_name) AS t, estimated_size AS n FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'`
    )
    return new Set(rows.filter((r) => KNOWN.has(String(r.t)) && toNumber(r.n) === 0).map((r) => String(r.t) as PersptTable))
  } catch {
    return new Set()
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

const rounded = new Map<number, number>()

/**
 * REAL is float32 widened to a double (0.1 → 0.10000000149011612): keep float32's 7 significant digits.
 * toPrecision is most of a view's own time on a session's energy rows (600 values), and their values
 * repeat: recent answers are kept (a bounded map, started over when full).
 */
export function roundReal(value: number | null): number | null {
  if (value === null) return null
  if (value === 0) return 0
  if (Number.isInteger(value) && Math.abs(value) < 1e7) return value
  const known = rounded.get(value)
  if (known !== undefined) return known
  const r = Number(value.toPrecision(7))
  if (rounded.size >= 4096) rounded.clear()
  rounded.set(value, r)
  return r
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

const DAY_MS = 86_400_000
/** 10000-01-01T00:00:00Z: below it (and from 1970), toISOString's form is YYYY-MM-DDTHH:mm:ss.sssZ. */
const FOUR_DIGIT_YEARS_MS = 253_402_300_800_000
let dayStart = NaN
let dayPrefix = ''
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`)

/**
 * Epoch milliseconds (from `epoch_ms(naive timestamp)`, i.e. read as UTC) to ISO-8601 'Z', exactly as
 * Date.toISOString writes it. The date part is formatted once per day: a view formats every row's
 * time, and toISOString cost as much as the rest of an energy view's own work.
 */
export function isoFromMs(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null
  if (Number.isInteger(ms) && ms >= 0 && ms < FOUR_DIGIT_YEARS_MS) {
    const rem = ms % DAY_MS
    if (ms - rem !== dayStart) {
      dayStart = ms - rem
      dayPrefix = new Date(dayStart).toISOString().slice(0, 11)
    }
    const milli = rem % 1000
    return `${dayPrefix}${two(Math.floor(rem / 3_600_000))}:${two(Math.floor(rem / 60_000) % 60)}:${two(Math.floor(rem / 1000) % 60)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
  }
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
  tally: NodeTally | null
  budget: BudgetUsage | null
  llm: { requests: number; tokensIn: number; tokensOut: number; estimated: boolean }
  avgEnergy: number | null
  lastMs: number | null
}

function emptyExtra(): Extra {
  return {
    nodes: emptyFacts(),
    tally: null,
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

/** Perspt's token estimate of a text column (its per-session rule): (UTF-8 bytes + 3) div 4. */
export const estimatedTokensSql = (textCol: string): string => `((coalesce(strlen(${textCol}), 0) + 3) // 4)`

/** A token count column, or Perspt's estimate from its text where the raw count is 0 or NULL. */
export const tokensOrEstimateSql = (col: string, textCol: string): string =>
  `(CASE WHEN coalesce(${col}, 0) > 0 THEN ${col} ELSE ${estimatedTokensSql(textCol)} END)`

/** LLM request totals of one session; a raw count of 0 becomes Perspt's estimate (UTF-8 bytes + 3) div 4. */
interface LlmAggregate {
  requests: number
  tokensIn: number
  tokensOut: number
  estimated: boolean
  lastMs: number | null
}

/**
 * `afterId`: only rows with a larger id (what was appended since the memo). Without it every row of the
 * sessions is read, and prompts are text of any size: a long session's refresh would grow with its age.
 */
async function readLlmAggregates(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionIds: readonly string[] | null,
  afterId: number | null = null
): Promise<Map<string, LlmAggregate>> {
  const out = new Map<string, LlmAggregate>()
  if (!has(probe, 'llm_requests', 'session_id')) return out
  const where = [
    ...(sessionIds === null ? [] : [`session_id IN (${sqlList(sessionIds)})`]),
    ...(afterId === null ? [] : [`id > ${Math.floor(afterId)}`])
  ]
  const tokens = (c: string, textCol: string) =>
    has(probe, 'llm_requests', c, textCol)
      ? tokensOrEstimateSql(c, textCol)
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
     FROM llm_requests ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} GROUP BY session_id`
  )) {
    const n = toNumber(r.n) ?? 0
    out.set(String(r.sid), {
      requests: n,
      tokensIn: toNumber(r.t_in) ?? 0,
      tokensOut: toNumber(r.t_out) ?? 0,
      estimated: n > 0 && (toNumber(r.raw_total) ?? 0) === 0,
      lastMs: toNumber(r.last_ms)
    })
  }
  return out
}

/** What one read remembers so the next one recomputes only the sessions that changed. */
export interface SessionsMemo {
  /** Max id per id table (see idTables). */
  maxIds: Record<string, number>
  /** Per session, the fingerprint of its rows without ids or changed in place (see sessionFingerprints). */
  plans: Map<string, string>
  /** Per session, the plan revisions' part of `plans` alone (node tallies depend on it, not on the rest). */
  planParts: Map<string, string>
  /** The parts of `plans`, per table (a change to one table reads that table's part again, not all). */
  fingerprintParts: FingerprintParts
  tallies: Map<string, NodeTally>
  llm: Map<string, LlmAggregate>
  /** Per session, its budget row and its average energy: read again only when their table changed. */
  budgets: ReadonlyMap<string, BudgetUsage>
  avgEnergy: ReadonlyMap<string, number | null>
}

/** The memo's LLM totals plus the rows appended since (llm_requests only grows: ids from a sequence). */
async function addNewLlmRows(con: DuckDBConnection, probe: SchemaProbe, memo: SessionsMemo, scope: readonly string[]): Promise<Map<string, LlmAggregate>> {
  const merged = new Map(memo.llm)
  const before = memo.maxIds.llm_requests
  if (scope.length === 0) return merged
  if (before === undefined || !has(probe, 'llm_requests', 'id')) {
    for (const [sid, agg] of await readLlmAggregates(con, probe, scope)) merged.set(sid, agg)
    return merged
  }
  // Every row past the memo's max id belongs to a session in scope (scope is where new rows are), and
  // without a session IN (…) filter DuckDB skips to those rows by id: ~10x cheaper with large prompts.
  for (const [sid, add] of await readLlmAggregates(con, probe, null, before)) {
    const old = merged.get(sid)
    if (!old || old.requests === 0) {
      merged.set(sid, add)
      continue
    }
    merged.set(sid, {
      requests: old.requests + add.requests,
      tokensIn: old.tokensIn + add.tokensIn,
      tokensOut: old.tokensOut + add.tokensOut,
      // Estimated only while no row of the session had a raw count.
      estimated: old.estimated && add.estimated,
      lastMs: old.lastMs === null ? add.lastMs : add.lastMs === null ? old.lastMs : Math.max(old.lastMs, add.lastMs)
    })
  }
  return merged
}

/**
 * Tables whose new rows (ids from a sequence) name the sessions a snapshot changed: every known table with
 * an id and a session, and branch_lineage (no session: its branch's). Rows changed in place are found by
 * sessionFingerprints instead. Both name the sessions whose counts are recomputed and whose views read
 * again (the store-updated push).
 */
function idTables(probe: SchemaProbe): PersptTable[] {
  return [...probe.tables].filter(
    (t) => has(probe, t, 'id', 'session_id') || (t === 'branch_lineage' && has(probe, t, 'id', 'child_branch_id') && has(probe, 'provisional_branches', 'branch_id', 'session_id'))
  )
}

/** The sessions of the rows a table gained past id `before`. */
function newRowSessions(t: string, before: number): string {
  return t === 'branch_lineage'
    ? `SELECT b.session_id FROM branch_lineage l JOIN provisional_branches b ON b.branch_id = l.child_branch_id WHERE l.id > ${Math.floor(before)}`
    : `SELECT session_id FROM ${t} WHERE id > ${Math.floor(before)}`
}

/**
 * Every id table's max id and, for the tables in `since`, the sessions of the rows past the id given
 * there: one query (one round trip per refresh, not one per table, nor one for ids and one for rows).
 */
async function idsAndNewRows(
  con: DuckDBConnection,
  probe: SchemaProbe,
  since: Record<string, number> | null,
  /** Only these tables (and a lineage table whose join changed); null: all. */
  only: ReadonlySet<string> | null = null
): Promise<{ maxIds: Record<string, number>; newRows: Map<string, Set<string>> }> {
  const maxIds: Record<string, number> = {}
  const newRows = new Map<string, Set<string>>()
  const tables = idTables(probe).filter((t) => only === null || only.has(t) || (t === 'branch_lineage' && only.has('provisional_branches')))
  if (tables.length === 0) return { maxIds, newRows }
  // Rows of kind 0 carry a table's max id, rows of kind 1 one session of its new rows.
  const parts = tables.map((t, i) => `SELECT 0 AS k, ${i} AS t, (SELECT max(id) FROM ${t}) AS m, NULL::VARCHAR AS sid`)
  tables.forEach((t, i) => {
    const before = since?.[t]
    if (before !== undefined) parts.push(`SELECT DISTINCT 1 AS k, ${i} AS t, NULL AS m, session_id::VARCHAR AS sid FROM (${newRowSessions(t, before)})`)
  })
  for (const r of await query(con, parts.join(' UNION ALL '))) {
    const t = tables[Number(r.t)] as string
    if (Number(r.k) === 0) {
      maxIds[t] = toNumber(r.m) ?? 0
      continue
    }
    if (r.sid === null || r.sid === undefined) continue
    let set = newRows.get(t)
    if (!set) newRows.set(t, (set = new Set()))
    set.add(String(r.sid))
  }
  return { maxIds, newRows }
}

/** The tables sessionFingerprints reads. */
const FINGERPRINT_TABLES = ['plan_revisions', 'provisional_branches', 'feature_charters', 'sessions']

/**
 * Tables whose rows a memo never counts: read whole at every read (budgets) or compared whole per
 * session (sessionFingerprints). A row changed in place there is seen without the memo's help.
 */
const SEEN_WHOLE: ReadonlySet<string> = new Set(['budget_envelopes', ...FINGERPRINT_TABLES])

/**
 * Whether a memo still describes the rows it counted after changes like `changes` (table → its kinds
 * of row changes): the memo trusts ids to only grow, so an UPDATE or DELETE of a table it counts (an
 * LLM call, a node state) voids it.
 */
export function memoSurvives(changes: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  for (const [table, ops] of changes) if (!SEEN_WHOLE.has(table) && (ops.has('delete') || ops.has('update'))) return false
  return true
}

/** Per fingerprinted table, each session's part of its fingerprint. */
type FingerprintParts = ReadonlyMap<string, ReadonlyMap<string, string>>

interface Fingerprints {
  plans: Map<string, string>
  planParts: Map<string, string>
  fingerprintParts: FingerprintParts
}

/**
 * Rows without an id or changed in place, per session, in one query: plan revisions (status changes),
 * branch states, feature charters and the session row itself (small tables, compared whole per session).
 * With `before`, only the tables in `only` are read again (the others' rows did not change).
 */
async function sessionFingerprints(con: DuckDBConnection, probe: SchemaProbe, before?: { parts: FingerprintParts; only: ReadonlySet<string> }): Promise<Fingerprints> {
  const wanted = (table: string) => !before || before.only.has(table) || !before.parts.has(table)
  const parts: string[] = []
  const read = new Set<string>()
  if (wanted('plan_revisions') && has(probe, 'plan_revisions', 'session_id', 'revision_id', 'status', 'sequence')) {
    read.add('plan_revisions')
    parts.push(`SELECT session_id AS sid, 'p' || string_agg(revision_id || ':' || status || ':' || sequence, ',' ORDER BY sequence, revision_id) AS f, 'plan_revisions' AS t
      FROM plan_revisions GROUP BY session_id`)
  }
  const hashed = (table: PersptTable, tag: string, columns: string[]) => {
    const present = columns.filter((c) => has(probe, table, c))
    if (wanted(table) && has(probe, table, 'session_id') && present.length > 0) {
      read.add(table)
      parts.push(`SELECT session_id AS sid, '${tag}' || count(*) || ':' || bit_xor(hash(${present.join(', ')})) AS f, '${table}' AS t FROM ${table} GROUP BY session_id`)
    }
  }
  hashed('provisional_branches', 'b', ['branch_id', 'state', 'updated_at'])
  hashed('feature_charters', 'c', ['charter_id', 'scope_description', 'max_modules', 'max_files', 'max_revisions', 'language_constraint'])
  hashed('sessions', 's', ['status', 'updated_at', 'merkle_root', 'detected_toolchain', 'task', 'working_dir'])
  const byTable = new Map<string, Map<string, string>>()
  for (const [table, part] of before?.parts ?? []) if (!read.has(table)) byTable.set(table, new Map(part))
  for (const table of read) byTable.set(table, new Map())
  if (parts.length > 0) {
    for (const r of await optional(con, parts.join(' UNION ALL '))) byTable.get(String(r.t))?.set(String(r.sid), String(r.f))
  }
  // Each session's parts in one string, sorted (the same whatever order the tables were read in).
  const all = new Map<string, string[]>()
  for (const part of byTable.values()) {
    for (const [sid, f] of part) {
      let list = all.get(sid)
      if (!list) all.set(sid, (list = []))
      list.push(f)
    }
  }
  const plans = new Map([...all].map(([sid, list]) => [sid, list.sort().join('|')]))
  return { plans, planParts: new Map(byTable.get('plan_revisions') ?? []), fingerprintParts: byTable }
}

/** The tables readNodeTallies reads: only new rows in these (or a plan change) change a session's node counts. */
const TALLY_TABLES: ReadonlySet<string> = new Set(['node_states', 'plan_revisions', 'task_graph_edges', 'srbn_step_records', 'energy_history', 'escalation_reports'])

/** Sessions with rows added since `memo`; `changed` null means "read everything" (a table was rewritten). */
async function changedSessions(
  con: DuckDBConnection,
  probe: SchemaProbe,
  memo: SessionsMemo,
  changedTables: ReadonlySet<string> | null
): Promise<{
  changed: Set<string> | null
  /** Of `changed`, the sessions whose node counts may have moved (see TALLY_TABLES); null with `changed`. */
  nodesChanged: Set<string> | null
  maxIds: Record<string, number>
  plans: Map<string, string>
  planParts: Map<string, string>
  fingerprintParts: FingerprintParts
}> {
  // Tables the snapshot's new WAL bytes did not touch kept their rows: only the others are read.
  const read = await idsAndNewRows(con, probe, memo.maxIds, changedTables)
  const maxIds = changedTables === null ? read.maxIds : { ...memo.maxIds, ...read.maxIds }
  const { newRows } = read
  const { plans, planParts, fingerprintParts } =
    changedTables === null
      ? await sessionFingerprints(con, probe)
      : FINGERPRINT_TABLES.some((t) => changedTables.has(t))
        ? await sessionFingerprints(con, probe, { parts: memo.fingerprintParts, only: changedTables })
        : memo
  const all = { changed: null, nodesChanged: null, maxIds, plans, planParts, fingerprintParts }
  const changed = new Set<string>()
  const nodesChanged = new Set<string>()
  for (const t of new Set([...Object.keys(maxIds), ...Object.keys(memo.maxIds)])) {
    const now = maxIds[t]
    const before = memo.maxIds[t]
    if (now === undefined || before === undefined || now < before) return all
    if (now === before) continue
    for (const sid of newRows.get(t) ?? []) {
      changed.add(sid)
      if (TALLY_TABLES.has(t)) nodesChanged.add(sid)
    }
  }
  for (const [sid, f] of plans) {
    if (memo.plans.get(sid) === f) continue
    changed.add(sid)
    if (!memo.plans.has(sid) || memo.planParts.get(sid) !== planParts.get(sid)) nodesChanged.add(sid)
  }
  for (const sid of memo.plans.keys()) if (!plans.has(sid)) return all
  return { changed, nodesChanged, maxIds, plans, planParts, fingerprintParts }
}

export async function readSessions(
  con: DuckDBConnection,
  probe: SchemaProbe,
  opts: ReadSessionsOptions
): Promise<SessionRow[]> {
  return (await readSessionsWithMemo(con, probe, opts, null)).rows
}

/**
 * readSessions that remembers its work: given the memo of the previous snapshot, node counts and LLM
 * totals are recomputed only for sessions with new rows, so a refresh costs what changed.
 * `changedTables`: the tables whose rows may differ from the memo's snapshot (read from the WAL's new
 * bytes); the others are not read again. Null: any may.
 */
export async function readSessionsWithMemo(
  con: DuckDBConnection,
  probe: SchemaProbe,
  opts: ReadSessionsOptions,
  memo: SessionsMemo | null,
  changedTables: ReadonlySet<string> | null = null
): Promise<{ rows: SessionRow[]; memo: SessionsMemo | null; changed: ReadonlySet<string> | null }> {
  /** `changed`: the sessions with rows added since `memo` (null: no memo, or a table was rewritten: any may have). */
  const out: { rows: SessionRow[]; memo: SessionsMemo | null; changed: ReadonlySet<string> | null } = { rows: [], memo: null, changed: null }
  if (!probe.hasSessions) return out
  const sessions = await readSessionRecords(con, probe)
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

  // Budgets (one small row per session, updated in place) and average energies: read whole, but only
  // when their table changed since the memo (at 30 commits/s of LLM calls neither does, and the two
  // reads were ~1.5 ms of every version).
  const unchanged = (table: string) => memo !== null && changedTables !== null && !changedTables.has(table)
  const budgets = unchanged('budget_envelopes') ? memo!.budgets : await readBudgets(con, probe)
  const avgEnergy = unchanged('energy_history') ? memo!.avgEnergy : await readAvgEnergy(con, probe)
  for (const [sid, budget] of budgets) extra(sid).budget = budget
  for (const [sid, avg] of avgEnergy) extra(sid).avgEnergy = avg

  // Node counts and LLM totals: recomputed only for sessions with new rows since `memo` (append-only tables).
  const delta = memo ? await changedSessions(con, probe, memo, changedTables) : null
  const scope = delta?.changed ? [...delta.changed] : null
  // Node counts only for sessions whose node tables grew or whose plan changed (an LLM call does neither).
  const nodeScope = delta?.nodesChanged ? [...delta.nodesChanged] : null
  out.changed = delta?.changed ?? null
  const tallies = nodeScope === null || nodeScope.length > 0 ? await readNodeTallies(con, probe, nodeScope) : new Map<string, NodeTally>()
  if (tallies) {
    const mergedTallies = nodeScope === null ? tallies : new Map([...memo!.tallies, ...tallies])
    const mergedLlm = scope === null ? await readLlmAggregates(con, probe, null) : await addNewLlmRows(con, probe, memo!, scope)
    for (const [sid, tally] of mergedTallies) {
      const e = extra(sid)
      e.tally = tally
      bumpLast(e, tally.lastMs)
    }
    for (const [sid, agg] of mergedLlm) {
      const e = extra(sid)
      e.llm = agg
      bumpLast(e, agg.lastMs)
    }
    out.memo = {
      maxIds: delta?.maxIds ?? (await idsAndNewRows(con, probe, null)).maxIds,
      ...(delta ? { plans: delta.plans, planParts: delta.planParts, fingerprintParts: delta.fingerprintParts } : await sessionFingerprints(con, probe)),
      tallies: mergedTallies,
      llm: mergedLlm,
      budgets,
      avgEnergy
    }
  } else {
    // The SQL path could not read this store: per-node facts in JS, and no memo.
    for (const [sid, found] of await readNodeFacts(con, probe, null)) {
      const e = extra(sid)
      e.nodes = found.nodes
      bumpLast(e, found.lastMs)
    }
    for (const [sid, agg] of await readLlmAggregates(con, probe, null)) {
      const e = extra(sid)
      e.llm = agg
      bumpLast(e, agg.lastMs)
    }
  }

  out.rows = sessions.map((s) => sessionRow(s, extras.get(String(s.sid ?? '')) ?? emptyExtra(), opts))
  return out
}

/** Each session's budget row (budget_envelopes: one per session, updated in place). */
async function readBudgets(con: DuckDBConnection, probe: SchemaProbe): Promise<Map<string, BudgetUsage>> {
  const out = new Map<string, BudgetUsage>()
  if (!has(probe, 'budget_envelopes', 'session_id')) return out
  const b = (c: string) => col(probe, 'budget_envelopes', c)
  for (const r of await optional(
    con,
    `SELECT session_id AS sid, ${b('max_steps')}, ${b('steps_used')}, ${b('max_revisions')}, ${b('revisions_used')},
       ${b('max_cost_usd')}, ${b('cost_used_usd')} FROM budget_envelopes`
  )) {
    out.set(String(r.sid), {
      stepsUsed: toNumber(r.steps_used) ?? 0,
      maxSteps: toNumber(r.max_steps),
      revisionsUsed: toNumber(r.revisions_used) ?? 0,
      maxRevisions: toNumber(r.max_revisions),
      costUsedUsd: toNumber(r.cost_used_usd) ?? 0,
      maxCostUsd: toNumber(r.max_cost_usd)
    })
  }
  return out
}

/** Each session's average V_total over its energy history (6 significant digits). */
async function readAvgEnergy(con: DuckDBConnection, probe: SchemaProbe): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>()
  if (!has(probe, 'energy_history', 'session_id', 'v_total')) return out
  for (const r of await optional(con, 'SELECT session_id AS sid, avg(v_total) AS avg_e FROM energy_history GROUP BY session_id')) {
    const avg = toNumber(r.avg_e)
    out.set(String(r.sid), avg === null ? null : Number(avg.toPrecision(6)))
  }
  return out
}

/** The sessions table alone, newest first (one small scan: no other table is read). */
async function readSessionRecords(con: DuckDBConnection, probe: SchemaProbe): Promise<Row[]> {
  return query(
    con,
    `SELECT ${col(probe, 'sessions', 'session_id', 'sid')}, ${col(probe, 'sessions', 'task')},
       ${col(probe, 'sessions', 'working_dir')}, ${col(probe, 'sessions', 'status')},
       ${col(probe, 'sessions', 'merkle_root')},
       ${has(probe, 'sessions', 'created_at') ? ms('created_at') : 'NULL'} AS created_ms,
       ${has(probe, 'sessions', 'updated_at') ? ms('updated_at') : 'NULL'} AS updated_ms
     FROM sessions
     ORDER BY created_ms DESC NULLS LAST, sid`
  )
}

function sessionRow(s: Row, e: Extra, opts: ReadSessionsOptions): SessionRow {
  const sessionId = String(s.sid ?? '')
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
    nodes: e.tally ? countTally(e.tally, status) : countNodes(e.nodes, status),
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
}

/**
 * The session list before anything is counted: what a first read shows at once (a store of thousands
 * of sessions and a million LLM rows takes about a second to count). Every row says `countsPending`.
 */
export async function readSessionList(con: DuckDBConnection, probe: SchemaProbe, opts: ReadSessionsOptions): Promise<SessionRow[]> {
  if (!probe.hasSessions) return []
  return (await readSessionRecords(con, probe)).map((s) => ({ ...sessionRow(s, emptyExtra(), opts), countsPending: true }))
}

/** A SQL list of string literals (quotes doubled), for `IN (…)` over a handful of session ids. */
function sqlList(values: readonly string[]): string {
  return values.length === 0 ? 'NULL' : values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ')
}

/** normalizeNodeState in SQL: the same mapping, so the SQL and JS paths classify alike. */
const NODE_LABEL_SQL = (column: string) => `CASE
  WHEN lower(trim(${column})) = 'aborted' THEN 'failed'
  WHEN lower(trim(${column})) IN ('completed', 'stable', 'verified', 'committed') THEN 'completed'
  WHEN lower(trim(${column})) IN ('failed', 'error') THEN 'failed'
  WHEN lower(trim(${column})) = 'escalated' THEN 'escalated'
  WHEN lower(trim(${column})) = 'superseded' THEN 'superseded'
  WHEN lower(trim(${column})) IN ('planning', 'coding', 'in_progress', 'in-progress', 'running', 'verifying', 'retry',
    'retrying', 'sheafcheck', 'sheaf_check', 'committing') THEN 'running'
  ELSE 'queued' END`

/** Per-session node buckets, before the session's status decides what "started, not committed" means. */
export interface NodeTally {
  committed: number
  failed: number
  escalated: number
  /** Started (steps, energy, or a running state) but not committed: running, or failed once the session ended. */
  started: number
  queued: number
  lastMs: number | null
}

/**
 * The node facts of every session classified inside DuckDB (classifyNode's rules, one row per session),
 * so the overview never ships hundreds of thousands of node rows into JavaScript. Null when a source
 * cannot be read this way; the caller then falls back to readNodeFacts.
 */
export async function readNodeTallies(
  con: DuckDBConnection,
  probe: SchemaProbe,
  /** Only these sessions (null: all). */
  sessionIds: readonly string[] | null = null
): Promise<Map<string, NodeTally> | null> {
  const known: string[] = []
  const ctes: string[] = []
  const scope = sessionIds === null ? 'true' : `session_id IN (${sqlList(sessionIds)})`
  const nonBlank = (c: string) => `${scope} AND NULLIF(trim(${c}), '') IS NOT NULL`
  if (has(probe, 'node_states', 'session_id', 'node_id', 'state')) {
    const order = [has(probe, 'node_states', 'created_at') ? 'created_at DESC' : null, has(probe, 'node_states', 'id') ? 'id DESC' : null]
      .filter(Boolean)
      .join(', ')
    ctes.push(`latest AS (
      SELECT session_id, node_id, ${NODE_LABEL_SQL('state')} AS label,
        ${has(probe, 'node_states', 'created_at') ? ms('created_at') : 'NULL'} AS t
      FROM node_states WHERE ${nonBlank('node_id')}
      QUALIFY row_number() OVER (PARTITION BY session_id, node_id ${order ? `ORDER BY ${order}` : ''}) = 1)`)
    known.push('SELECT session_id, node_id FROM latest')
  } else {
    ctes.push('latest AS (SELECT NULL::VARCHAR AS session_id, NULL::VARCHAR AS node_id, NULL::VARCHAR AS label, NULL::BIGINT AS t WHERE false)')
  }
  if (has(probe, 'plan_revisions', 'session_id', 'plan_json', 'status', 'sequence')) {
    // planTaskIds: ids that are non-blank strings or numbers; malformed plans contribute nothing.
    ctes.push(`plan AS (
      SELECT session_id, CASE WHEN json_valid(plan_json) THEN json_extract(plan_json, '$.tasks') END AS tasks
      FROM plan_revisions WHERE ${scope} AND lower(status) = 'active'
      QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY sequence DESC) = 1),
    plan_ids AS (
      SELECT session_id, CASE json_type(id) WHEN 'VARCHAR' THEN json_extract_string(id, '$')
        WHEN 'UBIGINT' THEN json_extract_string(id, '$') WHEN 'BIGINT' THEN json_extract_string(id, '$')
        WHEN 'DOUBLE' THEN json_extract_string(id, '$') END AS node_id
      FROM (SELECT session_id, unnest(json_extract(tasks, '$[*].id')) AS id FROM plan WHERE json_type(tasks) = 'ARRAY'))`)
    known.push(`SELECT session_id, node_id FROM plan_ids WHERE node_id IS NOT NULL AND (${nonBlank('node_id')} OR regexp_matches(node_id, '^-?[0-9]'))`)
  }
  if (has(probe, 'task_graph_edges', 'session_id', 'parent_node_id', 'child_node_id')) {
    known.push(`SELECT session_id, parent_node_id FROM task_graph_edges WHERE ${nonBlank('parent_node_id')}`)
    known.push(`SELECT session_id, child_node_id FROM task_graph_edges WHERE ${nonBlank('child_node_id')}`)
  }
  const started: string[] = []
  if (has(probe, 'srbn_step_records', 'session_id', 'node_id')) {
    started.push(`SELECT session_id, node_id, ${has(probe, 'srbn_step_records', 'created_at') ? ms('created_at') : 'NULL'} AS t FROM srbn_step_records`)
  }
  if (has(probe, 'energy_history', 'session_id', 'node_id')) {
    started.push(`SELECT session_id, node_id, ${has(probe, 'energy_history', 'timestamp') ? ms('timestamp') : 'NULL'} AS t FROM energy_history`)
  }
  ctes.push(
    started.length > 0
      ? `started AS (SELECT session_id, node_id, max(t) AS t FROM (${started.join(' UNION ALL ')}) WHERE ${nonBlank('node_id')} GROUP BY ALL)`
      : 'started AS (SELECT NULL::VARCHAR AS session_id, NULL::VARCHAR AS node_id, NULL::BIGINT AS t WHERE false)'
  )
  if (started.length > 0) known.push('SELECT session_id, node_id FROM started')
  const escalated: string[] = []
  if (has(probe, 'escalation_reports', 'session_id', 'node_id')) escalated.push(`SELECT session_id, node_id FROM escalation_reports WHERE ${scope}`)
  if (has(probe, 'srbn_step_records', 'session_id', 'node_id', 'outcome')) {
    escalated.push(`SELECT session_id, node_id FROM srbn_step_records WHERE ${scope} AND lower(outcome) = 'escalated'`)
  }
  ctes.push(
    escalated.length > 0
      ? `escalated AS (SELECT DISTINCT session_id, node_id FROM (${escalated.join(' UNION ALL ')}) WHERE ${nonBlank('node_id')})`
      : 'escalated AS (SELECT NULL::VARCHAR AS session_id, NULL::VARCHAR AS node_id WHERE false)'
  )
  if (escalated.length > 0) known.push('SELECT session_id, node_id FROM escalated')
  if (known.length === 0) return new Map()
  ctes.push(`known AS (${known.map((k) => `SELECT * FROM (${k})`).join(' UNION ')})`)
  ctes.push(`classified AS (
    SELECT k.session_id,
      CASE WHEN l.label = 'superseded' THEN NULL
        WHEN l.label = 'completed' THEN 'committed'
        WHEN l.label = 'failed' THEN 'failed'
        WHEN l.label = 'escalated' OR e.node_id IS NOT NULL THEN 'escalated'
        WHEN l.label = 'running' OR s.node_id IS NOT NULL THEN 'started'
        ELSE 'queued' END AS bucket
    FROM known k
    LEFT JOIN latest l ON l.session_id = k.session_id AND l.node_id = k.node_id
    LEFT JOIN started s ON s.session_id = k.session_id AND s.node_id = k.node_id
    LEFT JOIN escalated e ON e.session_id = k.session_id AND e.node_id = k.node_id)`)
  const sql = `WITH ${ctes.join(',\n')}
    SELECT c.session_id AS sid,
      count(*) FILTER (WHERE bucket = 'committed') AS committed,
      count(*) FILTER (WHERE bucket = 'failed') AS failed,
      count(*) FILTER (WHERE bucket = 'escalated') AS escalated,
      count(*) FILTER (WHERE bucket = 'started') AS started,
      count(*) FILTER (WHERE bucket = 'queued') AS queued,
      greatest(any_value(lt.t), any_value(st.t)) AS last_ms
    FROM classified c
    LEFT JOIN (SELECT session_id, max(t) AS t FROM latest GROUP BY ALL) lt ON lt.session_id = c.session_id
    LEFT JOIN (SELECT session_id, max(t) AS t FROM started GROUP BY ALL) st ON st.session_id = c.session_id
    GROUP BY c.session_id`
  let rows: Row[]
  try {
    rows = await query(con, sql)
  } catch {
    return null
  }
  const out = new Map<string, NodeTally>()
  for (const r of rows) {
    out.set(String(r.sid), {
      committed: toNumber(r.committed) ?? 0,
      failed: toNumber(r.failed) ?? 0,
      escalated: toNumber(r.escalated) ?? 0,
      started: toNumber(r.started) ?? 0,
      queued: toNumber(r.queued) ?? 0,
      lastMs: toNumber(r.last_ms)
    })
  }
  return out
}

/** A session's node counts from its tally: started-but-uncommitted nodes are running, or failed once it ended. */
function countTally(t: NodeTally, status: DisplayStatus): NodeCounts {
  const ended = sessionEnded(status)
  const counts: NodeCounts = {
    planned: t.committed + t.failed + t.escalated + t.started + t.queued,
    committed: t.committed,
    running: ended ? 0 : t.started,
    failed: t.failed + (ended ? t.started : 0),
    escalated: t.escalated,
    queued: t.queued
  }
  return counts
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
