// Every verification pass of a session as one flat table (Perspt's energy page, spec §3.4) and the
// session's energy statistics: min, max and mean per component. NULL and non-finite values (NaN,
// ±infinity: real in hostile stores) are never read as 0: they are left out of the statistics and
// counted, and a pass shows them as null.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { EnergyComponentKey, EnergyComponentStats, EnergyPassRow, EnergyPassesView, EnergyStats } from '../../../shared/model/perspt-views'
import { isoFromMs, roundReal, text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { has, msOf, rows, timeOrder } from './dag-sql'
import type { Row } from './dag-sql'
import { ENERGY_EPSILON } from './energy'

/** Passes listed per session at most (oldest first); the total is still reported. */
export const MAX_PASS_ROWS = 50_000

const COMPONENTS: ReadonlyArray<readonly [EnergyComponentKey, string]> = [
  ['vSyn', 'v_syn'],
  ['vStr', 'v_str'],
  ['vLog', 'v_log'],
  ['vBoot', 'v_boot'],
  ['vSheaf', 'v_sheaf'],
  ['vTotal', 'v_total']
]

const emptyComponent = (): EnergyComponentStats => ({ min: null, max: null, mean: null, minPassId: null, maxPassId: null, counted: 0, missing: 0, nonFinite: 0 })

function emptyStats(): EnergyStats {
  return {
    passes: 0,
    nodes: 0,
    components: Object.fromEntries(COMPONENTS.map(([k]) => [k, emptyComponent()])) as Record<EnergyComponentKey, EnergyComponentStats>,
    epsilon: ENERGY_EPSILON
  }
}

/** A component as DOUBLE (NULL when the column is absent or not numeric). */
const num = (probe: SchemaProbe, column: string) => (has(probe, 'energy_history', column) ? `TRY_CAST(${column} AS DOUBLE)` : 'NULL::DOUBLE')

export async function readEnergyStats(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<EnergyStats> {
  const stats = emptyStats()
  if (!has(probe, 'energy_history', 'session_id', 'node_id')) return stats
  const id = has(probe, 'energy_history', 'id') ? 'id' : 'NULL::BIGINT'
  const comps = COMPONENTS.map(([, c]) => `${num(probe, c)} AS ${c}`).join(', ')
  // One aggregate over the session's rows: per component, the finite values' min/max/mean and how many
  // values were NULL or non-finite. Then one more for the lowest id holding each extreme (arg_min over
  // (value, id) pairs would do both at once, but costs ten times more on DuckDB 1.5).
  const per = COMPONENTS.map(
    ([, c]) => `
      count(${c}) FILTER (WHERE isfinite(${c})) AS ${c}_n,
      count(*) FILTER (WHERE ${c} IS NULL) AS ${c}_null,
      count(*) FILTER (WHERE NOT isfinite(${c})) AS ${c}_inf,
      min(${c}) FILTER (WHERE isfinite(${c})) AS ${c}_min,
      max(${c}) FILTER (WHERE isfinite(${c})) AS ${c}_max,
      avg(${c}) FILTER (WHERE isfinite(${c})) AS ${c}_mean`
  )
  const passes = `(SELECT ${id} AS id, node_id, ${comps} FROM energy_history WHERE session_id = $sid)`
  const [r] = await rows(con, `SELECT count(*) AS passes, count(DISTINCT node_id) AS nodes, ${per.join(',')} FROM ${passes}`, { sid: sessionId })
  if (!r) return stats
  // The extremes as exact DOUBLE literals (a JS number's shortest text reads back as the same double).
  const at = (c: string, v: Row[string] | undefined) => {
    const x = typeof v === 'number' && Number.isFinite(v) ? v : null
    return x === null ? 'NULL::BIGINT' : `min(id) FILTER (WHERE ${c} = '${x}'::DOUBLE)`
  }
  const [ids] = await rows(
    con,
    `SELECT ${COMPONENTS.map(([, c]) => `${at(c, r[`${c}_min`])} AS ${c}_min_id, ${at(c, r[`${c}_max`])} AS ${c}_max_id`).join(', ')} FROM ${passes}`,
    { sid: sessionId }
  )
  stats.passes = toNumber(r.passes) ?? 0
  stats.nodes = toNumber(r.nodes) ?? 0
  const real = (v: Row[string] | undefined) => roundReal(toNumber(v))
  for (const [key, c] of COMPONENTS) {
    stats.components[key] = {
      min: real(r[`${c}_min`]),
      max: real(r[`${c}_max`]),
      mean: real(r[`${c}_mean`]),
      minPassId: toNumber(ids?.[`${c}_min_id`]),
      maxPassId: toNumber(ids?.[`${c}_max_id`]),
      counted: toNumber(r[`${c}_n`]) ?? 0,
      missing: toNumber(r[`${c}_null`]) ?? 0,
      nonFinite: toNumber(r[`${c}_inf`]) ?? 0
    }
  }
  return stats
}

export async function readEnergyPasses(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<EnergyPassesView> {
  const stats = await readEnergyStats(con, probe, sessionId)
  if (!has(probe, 'energy_history', 'session_id', 'node_id')) return { total: 0, passes: [], stats }
  const id = has(probe, 'energy_history', 'id') ? 'id' : 'NULL::BIGINT'
  const order = timeOrder(probe, 'energy_history', 'timestamp', 'ASC')
  const found = await rows(
    con,
    `SELECT ${id} AS id, node_id, ${msOf(probe, 'energy_history', 'timestamp')} AS at_ms,
       ${COMPONENTS.map(([, c]) => `${num(probe, c)} AS ${c}`).join(', ')},
       row_number() OVER (PARTITION BY node_id ORDER BY ${order}) AS pass
     FROM energy_history WHERE session_id = $sid
     ORDER BY ${order} LIMIT ${MAX_PASS_ROWS}`,
    { sid: sessionId }
  )
  const passes: EnergyPassRow[] = found.map((r) => {
    let nonFinite = false
    const value = (c: string): number | null => {
      const v = r[c]
      if (typeof v === 'number' && !Number.isFinite(v)) nonFinite = true
      return roundReal(toNumber(v))
    }
    return {
      id: toNumber(r.id) ?? 0,
      nodeId: text(r.node_id) ?? '',
      pass: toNumber(r.pass) ?? 0,
      at: isoFromMs(toNumber(r.at_ms)),
      vSyn: value('v_syn'),
      vStr: value('v_str'),
      vLog: value('v_log'),
      vBoot: value('v_boot'),
      vSheaf: value('v_sheaf'),
      vTotal: value('v_total'),
      nonFinite
    }
  })
  return { total: stats.passes, passes, stats }
}
