// The Energy view (spec §3.4, done properly): latest pass per node, every pass per node, and ε.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { EnergyInvalid, EnergyPoint, EnergyView, NodeEnergy } from '../../../shared/model/perspt-views'
import { isoFromMs, roundReal, text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { col, compareBinary, has, msOf, rows, sortedOldestFirst, timeOrder, usOf } from './dag-sql'
import type { Row } from './dag-sql'

/** Perspt's convergence threshold (the orchestrator's default ε). */
export const ENERGY_EPSILON = 0.1

const COMPONENTS = ['v_syn', 'v_str', 'v_log', 'v_boot', 'v_sheaf', 'v_total'] as const
const KEYS: Record<(typeof COMPONENTS)[number], EnergyInvalid['component']> = {
  v_syn: 'vSyn',
  v_str: 'vStr',
  v_log: 'vLog',
  v_boot: 'vBoot',
  v_sheaf: 'vSheaf',
  v_total: 'vTotal'
}

/**
 * A stored energy value: a finite number (float32 noise rounded away), or null with what the store
 * holds instead (NULL, NaN, ±infinity). Never 0 for "not a number": 0 would read as converged.
 */
export function energyValue(v: Row[string] | undefined): { value: number | null; stored: EnergyInvalid['stored'] | null } {
  if (v === null || v === undefined) return { value: null, stored: 'NULL' }
  if (typeof v === 'number' && !Number.isFinite(v)) return { value: null, stored: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' }
  if (typeof v === 'string' && /^[+-]?(nan|inf(inity)?)$/i.test(v.trim())) {
    const s = v.trim().toLowerCase()
    return { value: null, stored: s.includes('nan') ? 'NaN' : s.startsWith('-') ? '-Infinity' : 'Infinity' }
  }
  const n = roundReal(toNumber(v))
  return n === null ? { value: null, stored: 'NULL' } : { value: n, stored: null }
}

function point(r: Row): EnergyPoint {
  const p: EnergyPoint = { id: toNumber(r.id) ?? 0, at: isoFromMs(toNumber(r.at_ms)), vSyn: null, vStr: null, vLog: null, vBoot: null, vSheaf: null, vTotal: null, invalid: [] }
  for (const c of COMPONENTS) {
    const v = r[c]
    // The common case without energyValue's answer object (600 of them for a session of 100 passes).
    if (typeof v === 'number' && Number.isFinite(v)) {
      p[KEYS[c]] = roundReal(v)
      continue
    }
    const { value, stored } = energyValue(v)
    p[KEYS[c]] = value
    if (stored !== null) p.invalid.push({ component: KEYS[c], stored })
  }
  return p
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

/**
 * Whether a node id, as it reaches JS, may be blank to DuckDB (`NULLIF(trim(node_id), '') IS NULL`).
 * DuckDB's trim() strips Unicode space separators (category Zs) only, not tabs or newlines as JS's
 * trim() would; a node id with any other character is never blank. Not the exact test: the driver
 * drops a leading byte-order mark, so '\ufeff' arrives as '' (and is not blank to DuckDB).
 */
export function mayBeBlankId(v: Row[string] | undefined): boolean {
  return v === null || v === undefined || (typeof v === 'string' && /^\p{Zs}*$/u.test(v))
}

export async function readEnergy(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<EnergyView> {
  if (!has(probe, 'energy_history', 'session_id', 'node_id')) return { latest: [], series: {}, epsilon: ENERGY_EPSILON }
  // One plain scan of the session's passes (what Perspt's page reads, plus id and time), put in order
  // here (sortedOldestFirst: DuckDB's ORDER BY costs more than the scan); pass counts, the latest pass
  // and the node order are derived here too: window functions over the rows cost DuckDB several times
  // the scan itself.
  // Passes of blank node ids are left out. Not by a filter: one on an expression makes DuckDB evaluate
  // it over the whole table, which doubles the scan; and a flag column costs the query a fifth of its
  // time, so it is asked for only when some node id may be blank (NULL, '' or spaces: hostile rows).
  const read = (flag: boolean, sorted: boolean) =>
    rows(
      con,
      `SELECT ${selectList(probe)}, ${usOf(probe, 'energy_history', 'timestamp')}${flag ? `, NULLIF(trim(node_id), '') IS NULL AS blank` : ''}
       FROM energy_history WHERE session_id = $sid
       ${sorted ? `ORDER BY ${timeOrder(probe, 'energy_history', 'timestamp', 'ASC')}` : ''}`,
      { sid: sessionId }
    )
  let found = await read(false, false)
  const blank = found.some((r) => mayBeBlankId(r.node_id))
  let ordered = sortedOldestFirst(found)
  if (blank || ordered === null) {
    found = await read(blank, ordered === null)
    ordered = sortedOldestFirst(found) ?? found
  }
  found = ordered
  const byNode = new Map<string, { points: EnergyPoint[]; firstMs: number | null }>()
  for (const r of found) {
    if (r.blank === true) continue
    const nodeId = text(r.node_id) ?? ''
    const p = point(r)
    const entry = byNode.get(nodeId)
    // Oldest first with NULL times first: the first time seen is the node's earliest.
    if (entry) {
      entry.points.push(p)
      entry.firstMs ??= toNumber(r.at_ms)
    } else byNode.set(nodeId, { points: [p], firstMs: toNumber(r.at_ms) })
  }
  // Nodes by their first pass (no time first), then id in DuckDB's (byte) order.
  const nodes = [...byNode.entries()].sort(
    ([a, x], [b, y]) => (x.firstMs === y.firstMs ? 0 : x.firstMs === null ? -1 : y.firstMs === null ? 1 : x.firstMs - y.firstMs) || compareBinary(a, b)
  )
  const series = new Map<string, EnergyPoint[]>()
  const latest: NodeEnergy[] = []
  for (const [nodeId, { points }] of nodes) {
    series.set(nodeId, points)
    const p = points[points.length - 1]!
    latest.push({ nodeId, passes: points.length, at: p.at, vSyn: p.vSyn, vStr: p.vStr, vLog: p.vLog, vBoot: p.vBoot, vSheaf: p.vSheaf, vTotal: p.vTotal, invalid: p.invalid })
  }
  return { latest, series: Object.fromEntries(series), epsilon: ENERGY_EPSILON }
}
