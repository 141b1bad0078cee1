// Every verification pass of a session as one flat table (Perspt's energy page, spec §3.4) and the
// session's energy statistics: min, max and mean per component. NULL and non-finite values (NaN,
// ±infinity: real in hostile stores) are never read as 0: they are left out of the statistics and
// counted, and a pass shows them as null.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { EnergyComponentKey, EnergyComponentStats, EnergyPassRow, EnergyPassesView, EnergyStats } from '../../../shared/model/perspt-views'
import { isoFromMs, roundReal, text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { has, msOf, rows, sortedOldestFirst, timeOrder, usOf } from './dag-sql'
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

/**
 * The session's passes, at most `limit`: one plain scan, what Perspt's energy page reads plus id and
 * the node id's byte length (the driver drops a leading byte-order mark from text, so '\ufeffn1' would
 * read as 'n1'; the length tells them apart). `listed`: with their times, for the table. `sorted`:
 * oldest first (timestamp, then id) by DuckDB; else in scan order (the order avg() adds them in), which
 * sortedOldestFirst puts in order for less than DuckDB's ORDER BY costs.
 */
async function readPassRows(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, limit: number, listed: boolean, sorted = false): Promise<Row[]> {
  const id = has(probe, 'energy_history', 'id') ? 'id' : 'NULL::BIGINT'
  return rows(
    con,
    `SELECT ${id} AS id, node_id, strlen(CAST(node_id AS VARCHAR)) AS node_bytes,
       ${listed ? `${msOf(probe, 'energy_history', 'timestamp')} AS at_ms, ${usOf(probe, 'energy_history', 'timestamp')}, ` : ''}${COMPONENTS.map(([, c]) => `${num(probe, c)} AS ${c}`).join(', ')}
     FROM energy_history WHERE session_id = $sid
     ${sorted ? `ORDER BY ${timeOrder(probe, 'energy_history', 'timestamp', 'ASC')}` : ''} LIMIT ${limit}`,
    { sid: sessionId }
  )
}

/** A node id as stored (a dropped leading byte-order mark put back), for counting distinct ids; null stays null. */
function storedNodeId(r: Row): string | null {
  if (r.node_id === null || r.node_id === undefined) return null
  const s = typeof r.node_id === 'string' ? r.node_id : String(r.node_id)
  return toNumber(r.node_bytes) === Buffer.byteLength(s) ? s : `\ufeff${s}`
}

/**
 * The statistics of every pass of a session, from its rows: the same numbers as the SQL aggregate
 * (count, count(DISTINCT node_id), and per component the finite values' min/max/mean, how many were
 * NULL or non-finite, the lowest id holding each extreme). The mean adds the values in the rows'
 * order, as DuckDB's avg(DOUBLE) adds them in its scan order (the same order when read unsorted).
 */
function statsOfRows(found: readonly Row[]): EnergyStats {
  const stats = emptyStats()
  stats.passes = found.length
  const nodes = new Set<string>()
  for (const r of found) {
    const n = storedNodeId(r)
    if (n !== null) nodes.add(n)
  }
  stats.nodes = nodes.size
  for (const [key, c] of COMPONENTS) {
    let counted = 0
    let missing = 0
    let nonFinite = 0
    let sum = 0
    let min: number | null = null
    let max: number | null = null
    for (const r of found) {
      const v = r[c]
      if (v === null || v === undefined) missing++
      else if (typeof v !== 'number' || !Number.isFinite(v)) nonFinite++
      else {
        counted++
        sum += v
        if (min === null || v < min) min = v
        if (max === null || v > max) max = v
      }
    }
    // The lowest id among the passes holding the extreme (NULL ids never count, as in min(id)).
    const lowestId = (x: number | null): number | null => {
      if (x === null) return null
      let best: number | null = null
      for (const r of found) {
        if (r[c] !== x) continue
        const id = toNumber(r.id)
        if (id !== null && (best === null || id < best)) best = id
      }
      return best
    }
    stats.components[key] = {
      min: roundReal(min),
      max: roundReal(max),
      mean: counted > 0 ? roundReal(sum / counted) : null,
      minPassId: lowestId(min),
      maxPassId: lowestId(max),
      counted,
      missing,
      nonFinite
    }
  }
  return stats
}

/** The statistics by SQL aggregate: for a session with more passes than one scan reads (and the tests). */
export async function statsBySql(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<EnergyStats> {
  const stats = emptyStats()
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

/**
 * Reads the first `limit` passes and the statistics of all: one scan when the session has no more
 * passes than that (the common case: 36 filtered aggregates cost DuckDB four times the scan itself),
 * its statistics from the rows in scan order, then (`listed`) the rows put in order; else the first
 * `limit` in order by DuckDB plus the SQL aggregate over every pass.
 */
async function passesAndStats(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionId: string,
  limit: number,
  listed: boolean
): Promise<{ found: Row[]; stats: EnergyStats }> {
  const found = await readPassRows(con, probe, sessionId, limit + 1, listed)
  if (found.length <= limit) {
    const stats = statsOfRows(found)
    if (!listed) return { found, stats }
    return { found: sortedOldestFirst(found) ?? (await readPassRows(con, probe, sessionId, limit, true, true)), stats }
  }
  const first = listed ? await readPassRows(con, probe, sessionId, limit, true, true) : found.slice(0, limit)
  return { found: first, stats: await statsBySql(con, probe, sessionId) }
}

export async function readEnergyStats(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<EnergyStats> {
  if (!has(probe, 'energy_history', 'session_id', 'node_id')) return emptyStats()
  return (await passesAndStats(con, probe, sessionId, MAX_PASS_ROWS, false)).stats
}

export async function readEnergyPasses(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<EnergyPassesView> {
  if (!has(probe, 'energy_history', 'session_id', 'node_id')) return { total: 0, passes: [], stats: emptyStats() }
  const { found, stats } = await passesAndStats(con, probe, sessionId, MAX_PASS_ROWS, true)
  // Pass numbers per node in the same order (row_number() OVER (PARTITION BY node_id ORDER BY …)):
  // the first rows of the session hold every earlier pass of their nodes.
  const seen = new Map<string | null, number>()
  const passes: EnergyPassRow[] = found.map((r) => {
    const node = storedNodeId(r)
    const pass = (seen.get(node) ?? 0) + 1
    seen.set(node, pass)
    let nonFinite = false
    const value = (c: string): number | null => {
      const v = r[c]
      if (typeof v === 'number' && !Number.isFinite(v)) nonFinite = true
      return roundReal(toNumber(v))
    }
    return {
      id: toNumber(r.id) ?? 0,
      nodeId: text(r.node_id) ?? '',
      pass,
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
