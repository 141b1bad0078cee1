// Everything the DAG (or one node's detail) needs from the store, in ONE round trip: plain rows of the
// session's node_states, energy passes, steps, escalations, corrections, active plan and edges, glued
// with UNION ALL BY NAME. "Latest per node", first sighting and attempts are derived here, by the same
// rules readNodeFacts and the former per-table queries applied in SQL: window functions over each
// table cost DuckDB several times the scans themselves.
import type { DuckDBConnection, JS } from '@duckdb/node-api'
import type { PersptTable } from '../schema'
import { normalizeNodeState, planTaskIds, parseJson, text, toNumber } from '../store-reader'
import type { NodeFacts, SchemaProbe } from '../store-reader'
import { has, msOf, rows } from './dag-sql'
import type { Row } from './dag-sql'

export interface DagEdgeRow {
  a: string | null
  b: string | null
  type: string | null
}

export interface DagRows {
  /** The facts readNodeFacts gives for this session (or this node): known, latest state, started, escalated. */
  facts: NodeFacts
  /** The latest node_states row per node (newest created_at, then highest id). */
  latest: Map<string, Row>
  /** The latest verification pass's v_total per node (newest timestamp, then highest id). */
  energy: Map<string, JS>
  /** Earliest time (epoch ms) and highest attempt number per node across the tables that record them. */
  first: Map<string, { t: number | null; a: number | null }>
  /** plan_json of the highest-sequence active plan revision, if any. */
  planJson: JS | null
  /** Task-graph edges, oldest first (created_at, NULL first, then id). */
  edges: DagEdgeRow[]
}

/** Epoch microseconds of a time column (the exact order key), or NULL. */
function usOf(probe: SchemaProbe, table: PersptTable, column: string): string {
  return has(probe, table, column) ? `epoch_us(TRY_CAST(${column} AS TIMESTAMP))` : 'NULL::BIGINT'
}

const idOf = (probe: SchemaProbe, table: PersptTable) => (has(probe, table, 'id') ? 'id::BIGINT' : 'NULL::BIGINT')
const attemptOf = (probe: SchemaProbe, table: PersptTable, column: string) => (has(probe, table, column) ? `TRY_CAST(${column} AS BIGINT)` : 'NULL::BIGINT')
const blank = `NULLIF(trim(node_id), '') IS NULL`

/** `b` is newer than `a` by (time DESC NULLS LAST, id DESC): what `ORDER BY … DESC` ranks first. */
function newer(a: Row, b: Row): boolean {
  const ta = toNumber(a.__us)
  const tb = toNumber(b.__us)
  if (ta !== tb) return ta === null ? true : tb === null ? false : tb > ta
  const ia = toNumber(a.__id)
  const ib = toNumber(b.__id)
  if (ia === ib) return false
  return ia === null ? true : ib === null ? false : ib > ia
}

/**
 * The session's DAG rows (with `nodeId`: only what concerns that node). Tables a store lacks are not queried.
 */
export async function readDagRows(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, nodeId: string | null = null): Promise<DagRows> {
  const params: Record<string, string> = nodeId === null ? { sid: sessionId } : { sid: sessionId, nid: nodeId }
  const and = nodeId === null ? '' : ' AND node_id = $nid'
  // Empty tables cost next to nothing inside one query: no separate check for them.
  const usable = (t: PersptTable, ...cols: string[]) => has(probe, t, 'session_id', ...cols)
  const parts: string[] = []
  if (usable('node_states', 'node_id', 'state')) {
    const c = (name: string) => (has(probe, 'node_states', name) ? name : `NULL AS ${name}`)
    parts.push(`SELECT 'ns' AS __p, ${idOf(probe, 'node_states')} AS __id, node_id AS __n, ${blank} AS __blank,
      ${usOf(probe, 'node_states', 'created_at')} AS __us, ${msOf(probe, 'node_states', 'created_at')} AS __ms,
      ${attemptOf(probe, 'node_states', 'attempt_count')} AS __a,
      state, ${c('v_total')}, ${c('attempt_count')}, ${c('goal')}, ${c('node_class')}, ${c('committed_at')}, ${msOf(probe, 'node_states', 'created_at')} AS created_ms
      FROM node_states WHERE session_id = $sid${and}`)
  }
  if (usable('energy_history', 'node_id')) {
    parts.push(`SELECT 'en' AS __p, ${idOf(probe, 'energy_history')} AS __id, node_id AS __n, ${blank} AS __blank,
      ${usOf(probe, 'energy_history', 'timestamp')} AS __us, ${msOf(probe, 'energy_history', 'timestamp')} AS __ms,
      ${has(probe, 'energy_history', 'v_total') ? 'v_total' : 'NULL'} AS __v
      FROM energy_history WHERE session_id = $sid${and}`)
  }
  if (usable('srbn_step_records', 'node_id')) {
    parts.push(`SELECT 'st' AS __p, node_id AS __n, ${blank} AS __blank, ${msOf(probe, 'srbn_step_records', 'created_at')} AS __ms,
      ${attemptOf(probe, 'srbn_step_records', 'attempt_count')} AS __a,
      ${has(probe, 'srbn_step_records', 'outcome') ? `coalesce(lower(outcome) = 'escalated', false)` : 'false'} AS __esc
      FROM srbn_step_records WHERE session_id = $sid${and}`)
  }
  if (usable('escalation_reports', 'node_id')) {
    parts.push(`SELECT 'esc' AS __p, node_id AS __n, ${blank} AS __blank, ${msOf(probe, 'escalation_reports', 'created_at')} AS __ms
      FROM escalation_reports WHERE session_id = $sid${and}`)
  }
  if (usable('correction_attempts', 'node_id')) {
    parts.push(`SELECT 'corr' AS __p, node_id AS __n, ${attemptOf(probe, 'correction_attempts', 'attempt')} AS __a
      FROM correction_attempts WHERE session_id = $sid${and}`)
  }
  if (usable('plan_revisions', 'plan_json', 'status', 'sequence')) {
    parts.push(`SELECT * FROM (SELECT 'plan' AS __p, plan_json AS __plan FROM plan_revisions
      WHERE session_id = $sid AND lower(status) = 'active' ORDER BY sequence DESC LIMIT 1)`)
  }
  if (usable('task_graph_edges', 'parent_node_id', 'child_node_id')) {
    const ends = nodeId === null ? '' : ' AND (parent_node_id = $nid OR child_node_id = $nid)'
    parts.push(`SELECT 'edge' AS __p, ${idOf(probe, 'task_graph_edges')} AS __id, ${usOf(probe, 'task_graph_edges', 'created_at')} AS __us,
      parent_node_id AS __ea, child_node_id AS __eb, ${has(probe, 'task_graph_edges', 'edge_type') ? 'edge_type' : 'NULL'} AS __et
      FROM task_graph_edges WHERE session_id = $sid${ends}`)
  }

  const out: DagRows = {
    facts: { known: new Set(), latestState: new Map(), started: new Set(), escalated: new Set() },
    latest: new Map(),
    energy: new Map(),
    first: new Map(),
    planJson: null,
    edges: []
  }
  if (parts.length === 0) return out
  const found = await rows(con, parts.map((p) => `(${p})`).join(' UNION ALL BY NAME '), params)

  const { facts, latest, first } = out
  const wanted = (id: string) => nodeId === null || id === nodeId
  const latestEnergy = new Map<string, Row>()
  const edgeRows: Row[] = []
  const see = (n: string, t: number | null, a: number | null) => {
    const f = first.get(n)
    if (!f) first.set(n, { t, a })
    else {
      if (t !== null && (f.t === null || t < f.t)) f.t = t
      if (a !== null && (f.a === null || a > f.a)) f.a = a
    }
  }
  for (const r of found) {
    const p = r.__p
    if (p === 'plan') {
      out.planJson = r.__plan ?? null
      continue
    }
    if (p === 'edge') {
      edgeRows.push(r)
      continue
    }
    const n = String(r.__n)
    const named = r.__blank === false
    see(n, p === 'corr' ? null : toNumber(r.__ms), p === 'en' || p === 'esc' ? null : toNumber(r.__a))
    if (p === 'ns') {
      if (!named) continue
      const before = latest.get(n)
      if (!before || newer(before, r)) latest.set(n, r)
    } else if (p === 'en') {
      const before = latestEnergy.get(n)
      if (!before || newer(before, r)) latestEnergy.set(n, r)
      if (named) facts.started.add(n)
    } else if (p === 'st') {
      if (!named) continue
      facts.started.add(n)
      if (r.__esc === true) facts.escalated.add(n)
    } else if (p === 'esc') {
      if (named) facts.escalated.add(n)
    }
  }
  for (const [n, r] of latest) {
    facts.known.add(n)
    facts.latestState.set(n, normalizeNodeState(text(r.state)))
  }
  for (const id of planTaskIds(parseJson(out.planJson ?? undefined))) if (wanted(id)) facts.known.add(id)
  // Oldest first: time ascending with NULL first, then id (what the edge list and its order show).
  const key = (r: Row): [number, number, number] => {
    const t = toNumber(r.__us)
    const id = toNumber(r.__id)
    return [t === null ? 0 : 1, t ?? 0, id ?? Number.MAX_SAFE_INTEGER]
  }
  edgeRows.sort((x, y) => {
    const [a0, a1, a2] = key(x)
    const [b0, b1, b2] = key(y)
    return a0 - b0 || a1 - b1 || a2 - b2
  })
  for (const r of edgeRows) {
    const a = text(r.__ea)
    const b = text(r.__eb)
    for (const id of [a, b]) if (id !== null && wanted(id)) facts.known.add(id)
    out.edges.push({ a, b, type: text(r.__et) })
  }
  for (const n of facts.started) facts.known.add(n)
  for (const n of facts.escalated) facts.known.add(n)
  if (has(probe, 'energy_history', 'v_total')) for (const [n, r] of latestEnergy) out.energy.set(n, r.__v ?? null)
  return out
}
