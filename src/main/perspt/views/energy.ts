// The Energy view (spec §3.4, done properly): latest pass per node, every pass per node, and ε.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { EnergyPoint, EnergyView, NodeEnergy } from '../../../shared/model/perspt-views'
import { isoFromMs, roundReal, text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { col, has, msOf, rows, timeOrder } from './dag-sql'
import type { Row } from './dag-sql'

/** Perspt's convergence threshold (the orchestrator's default ε). */
export const ENERGY_EPSILON = 0.1

const COMPONENTS = ['v_syn', 'v_str', 'v_log', 'v_boot', 'v_sheaf', 'v_total'] as const

const real = (v: Row[string] | undefined): number => roundReal(toNumber(v)) ?? 0

function point(r: Row): EnergyPoint {
  return {
    id: toNumber(r.id) ?? 0,
    at: isoFromMs(toNumber(r.at_ms)),
    vSyn: real(r.v_syn),
    vStr: real(r.v_str),
    vLog: real(r.v_log),
    vBoot: real(r.v_boot),
    vSheaf: real(r.v_sheaf),
    vTotal: real(r.v_total)
  }
}

function selectList(probe: SchemaProbe): string {
  return [
    col(probe, 'energy_history', 'id'),
    'node_id',
    `${msOf(probe, 'energy_history', 'timestamp')} AS at_ms`,
    ...COMPONENTS.map((c) => col(probe, 'energy_history', c))
  ].join(', ')
}

/** One node's passes, oldest first (timestamp, then id). */
export async function readEnergyPoints(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, nodeId: string): Promise<EnergyPoint[]> {
  if (!has(probe, 'energy_history', 'session_id', 'node_id')) return []
  const found = await rows(
    con,
    `SELECT ${selectList(probe)} FROM energy_history WHERE session_id = $sid AND node_id = $nid
     ORDER BY ${timeOrder(probe, 'energy_history', 'timestamp', 'ASC')}`,
    { sid: sessionId, nid: nodeId }
  )
  return found.map(point)
}

export async function readEnergy(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<EnergyView> {
  if (!has(probe, 'energy_history', 'session_id', 'node_id')) return { latest: [], series: {}, epsilon: ENERGY_EPSILON }
  // Pass counts and "is latest" come from window functions; the rows are the series itself.
  const found = await rows(
    con,
    `SELECT ${selectList(probe)},
       count(*) OVER (PARTITION BY node_id) AS passes,
       row_number() OVER (PARTITION BY node_id ORDER BY ${timeOrder(probe, 'energy_history', 'timestamp', 'DESC')}) = 1 AS is_latest,
       min(${msOf(probe, 'energy_history', 'timestamp')}) OVER (PARTITION BY node_id) AS first_ms
     FROM energy_history
     WHERE session_id = $sid AND NULLIF(trim(node_id), '') IS NOT NULL
     ORDER BY first_ms ASC NULLS FIRST, node_id, ${timeOrder(probe, 'energy_history', 'timestamp', 'ASC')}`,
    { sid: sessionId }
  )
  const series = new Map<string, EnergyPoint[]>()
  const latest: NodeEnergy[] = []
  for (const r of found) {
    const nodeId = text(r.node_id) ?? ''
    const p = point(r)
    const list = series.get(nodeId)
    if (list) list.push(p)
    else series.set(nodeId, [p])
    if (r.is_latest === true) {
      latest.push({ nodeId, passes: toNumber(r.passes) ?? 1, at: p.at, vSyn: p.vSyn, vStr: p.vStr, vLog: p.vLog, vBoot: p.vBoot, vSheaf: p.vSheaf, vTotal: p.vTotal })
    }
  }
  return { latest, series: Object.fromEntries(series), epsilon: ENERGY_EPSILON }
}
