// The session's all-nodes table and edge list (Perspt's "Node States" and "Edges" tables, spec §3.2
// and §3.3), over every node Vigil reconstructs — not only the committed ones Perspt lists.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { DisplayStatus } from '../../../shared/model/perspt'
import type { CommitEnergyNote, EdgeRow, NodeTableRow, SessionNodesView } from '../../../shared/model/perspt-views'
import type { PersptTable } from '../schema'
import { isoFromMs, roundReal, text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { readDag } from './dag'
import { col, has, msOf, rows, timeOrder } from './dag-sql'

/** Edge rows listed per session at most (the total is still reported). */
export const MAX_EDGE_ROWS = 20_000

const NODES_TABLES: readonly PersptTable[] = ['node_states', 'energy_history', 'llm_requests', 'task_graph_edges', 'plan_revisions']

/** A REAL read as a finite number (float32 noise rounded), else null. */
const finite = (v: unknown): number | null => roundReal(toNumber(v as never))

export async function readSessionNodes(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionId: string,
  opts: { status?: DisplayStatus } = {}
): Promise<SessionNodesView> {
  const sid = sessionId
  const dag = await readDag(con, probe, sid, opts)

  // The newest node_states row per node: what Perspt shows as the node's V_total and attempts.
  const records = new Map<string, NonNullable<NodeTableRow['record']> & { value: number | null; note: CommitEnergyNote | null }>()
  if (has(probe, 'node_states', 'session_id', 'node_id', 'state')) {
    const vt = has(probe, 'node_states', 'v_total') ? 'TRY_CAST(v_total AS DOUBLE)' : 'NULL::DOUBLE'
    for (const r of await rows(
      con,
      `SELECT node_id AS nid, ${col(probe, 'node_states', 'id')}, state, ${vt} AS v, CAST(${vt} AS VARCHAR) AS v_text,
         ${col(probe, 'node_states', 'attempt_count')}, ${col(probe, 'node_states', 'committed_at')}
       FROM node_states WHERE session_id = $sid AND NULLIF(trim(node_id), '') IS NOT NULL
       QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY ${timeOrder(probe, 'node_states', 'created_at', 'DESC')}) = 1`,
      { sid }
    )) {
      const value = finite(r.v)
      const raw = text(r.v_text)
      records.set(String(r.nid), {
        id: toNumber(r.id),
        state: typeof r.state === 'string' ? r.state : null,
        vTotal: raw,
        attemptCount: toNumber(r.attempt_count),
        committedAt: text(r.committed_at),
        value,
        note: value !== null ? null : raw === null ? 'missing' : 'not-finite'
      })
    }
  }

  // Passes per node and the latest pass's V_total: one plain scan, newest first, counted here (two
  // window functions over the same rows cost DuckDB twice the scan). Nodes are told apart as stored:
  // the driver drops a leading byte-order mark, which the byte length gives away.
  const passes = new Map<string, { n: number; last: number | null }>()
  if (has(probe, 'energy_history', 'session_id', 'node_id')) {
    const vt = has(probe, 'energy_history', 'v_total') ? 'TRY_CAST(v_total AS DOUBLE)' : 'NULL::DOUBLE'
    const perNode = new Map<string | null, { nid: string; n: number; last: number | null }>()
    for (const r of await rows(
      con,
      `SELECT node_id AS nid, strlen(CAST(node_id AS VARCHAR)) AS nb, ${vt} AS v FROM energy_history
       WHERE session_id = $sid
       ORDER BY ${timeOrder(probe, 'energy_history', 'timestamp', 'DESC')}`,
      { sid }
    )) {
      const nid = String(r.nid)
      const key = r.nid === null || r.nid === undefined ? null : toNumber(r.nb) === Buffer.byteLength(nid) ? nid : `\ufeff${nid}`
      const seen = perNode.get(key)
      if (seen) seen.n++
      else perNode.set(key, { nid, n: 1, last: finite(r.v) })
    }
    for (const { nid, n, last } of perNode.values()) passes.set(nid, { n, last })
  }

  const llm = new Map<string, number>()
  if (has(probe, 'llm_requests', 'session_id', 'node_id')) {
    for (const r of await rows(con, 'SELECT node_id AS nid, count(*) AS n FROM llm_requests WHERE session_id = $sid GROUP BY node_id', { sid })) {
      if (r.nid !== null) llm.set(String(r.nid), toNumber(r.n) ?? 0)
    }
  }

  const nodes: NodeTableRow[] = dag.nodes.map((n) => {
    const rec = records.get(n.nodeId)
    return {
      nodeId: n.nodeId,
      goal: n.goal,
      nodeClass: n.nodeClass,
      state: n.state,
      rawState: rec?.state ?? n.rawState,
      commitEnergy: rec?.value ?? null,
      commitEnergyNote: rec ? rec.note : 'not-committed',
      lastPassEnergy: passes.get(n.nodeId)?.last ?? null,
      attempts: n.attempts,
      passes: passes.get(n.nodeId)?.n ?? 0,
      llmCalls: llm.get(n.nodeId) ?? 0,
      committedAt: n.committedAt,
      record: rec ? { id: rec.id, state: rec.state, vTotal: rec.vTotal, attemptCount: rec.attemptCount, committedAt: rec.committedAt } : null
    }
  })

  // Every edge row as stored (duplicates included, ends that name no known node included).
  let edges: EdgeRow[] = []
  let edgeTotal = 0
  if (has(probe, 'task_graph_edges', 'session_id', 'parent_node_id', 'child_node_id')) {
    const found = await rows(
      con,
      `SELECT ${col(probe, 'task_graph_edges', 'id')}, parent_node_id AS a, child_node_id AS b, ${col(probe, 'task_graph_edges', 'edge_type', 't')},
         ${msOf(probe, 'task_graph_edges', 'created_at')} AS at_ms, count(*) OVER () AS total
       FROM task_graph_edges WHERE session_id = $sid
       ORDER BY ${timeOrder(probe, 'task_graph_edges', 'created_at', 'ASC')} LIMIT ${MAX_EDGE_ROWS}`,
      { sid }
    )
    edgeTotal = found.length > 0 ? (toNumber(found[0]!.total) ?? found.length) : 0
    edges = found.map((r) => ({
      id: toNumber(r.id),
      from: typeof r.a === 'string' ? r.a : String(r.a ?? ''),
      to: typeof r.b === 'string' ? r.b : String(r.b ?? ''),
      type: text(r.t) ?? 'dependency',
      createdAt: isoFromMs(toNumber(r.at_ms))
    }))
  }
  // No edge rows (an older store, or a session that wrote none): the DAG's edges are the plan's dependencies.
  const edgesFromPlan = edgeTotal === 0 && dag.edges.length > 0
  if (edgesFromPlan) {
    edges = dag.edges.slice(0, MAX_EDGE_ROWS).map((e) => ({ id: null, from: e.from, to: e.to, type: e.type, createdAt: null }))
    edgeTotal = dag.edges.length
  }

  let toolchain: SessionNodesView['toolchain'] = { recorded: false, value: null }
  if (has(probe, 'sessions', 'session_id', 'detected_toolchain')) {
    const [r] = await rows(con, 'SELECT CAST(detected_toolchain AS VARCHAR) AS t FROM sessions WHERE session_id = $sid LIMIT 1', { sid })
    toolchain = { recorded: true, value: r ? text(r.t) : null }
  }

  return { nodes, edges, edgeTotal, edgesFromPlan, toolchain, missingTables: NODES_TABLES.filter((t) => !probe.tables.has(t)) }
}
