// Series for the session charts, aggregated in DuckDB: LLM latency percentiles, tokens and estimated
// cost per time bucket and model; V_total per verification pass of every node.
//
// Latency percentiles: Vigil's one definition (latencySql: quantile_cont over the requests that have a
// latency; a NULL latency is left out, never read as 0 ms) and counted. Tokens follow the LLM view's rule (a raw count of 0 is
// estimated from the text, (UTF-8 bytes + 3) div 4). Cost is Perspt's own estimate for those tokens.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { EnergySeries, EnergySeriesNode, LlmSeries, LlmSeriesPoint } from '../../../shared/model/perspt-timeline'
import { ENERGY_SERIES_MAX_POINTS, PERSPT_COST_PER_1K } from '../../../shared/model/perspt-timeline'
import type { SchemaProbe } from '../store-reader'
import { roundReal, text, toNumber } from '../store-reader'
import { has, msOf, rows, timeOrder, type Row } from './dag-sql'
import { ENERGY_EPSILON } from './energy'
import { expressions as llmExpressions, latencySql, tokenParts } from './llm'

/** At most this many time buckets per chart. */
export const LLM_SERIES_MAX_BUCKETS = 60
/** Bucket widths people read easily, in ms. */
const NICE_BUCKETS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800].map((s) => s * 1000)

/** The smallest nice width that covers [from, to] in at most `max` buckets. */
export function bucketWidth(fromMs: number, toMs: number, max = LLM_SERIES_MAX_BUCKETS): number {
  const span = Math.max(0, toMs - fromMs)
  for (const w of NICE_BUCKETS) if (Math.floor(span / w) + 1 <= max) return w
  const week = NICE_BUCKETS[NICE_BUCKETS.length - 1] as number
  return Math.ceil((span + 1) / max / week) * week
}

export async function readLlmSeries(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<LlmSeries> {
  const empty: LlmSeries = { bucketMs: 0, fromMs: null, toMs: null, models: [], points: [], undated: 0, latencyMissing: 0, tokensEstimated: false }
  const c = probe.columns.get('llm_requests')
  if (!c || !c.has('session_id')) return empty
  // The LLM view's expressions: the same token estimate and the same latency column.
  const e = llmExpressions(c)
  // Tokens in two parts (see tokenParts): the counted part over every row here, the estimate from the
  // texts only over the rows that need it, below; no query here reads a prompt it does not need.
  const { tin, tout, needs } = tokenParts(c)
  const base = `SELECT ${e.timeMs} AS t, ${e.model} AS model, ${e.latency} AS lat,
      ${tin.counted} AS t_in, ${tout.counted} AS t_out, ${e.rawIn} + ${e.rawOut} AS raw_tokens, ${needs} AS needs
    FROM llm_requests WHERE session_id = $sid`
  const [facts] = await rows(
    con,
    `SELECT min(t) AS from_ms, max(t) AS to_ms, count(*) AS n, count(*) FILTER (WHERE t IS NULL) AS undated,
       count(*) FILTER (WHERE lat IS NULL) AS no_lat, sum(raw_tokens) AS raw_tokens,
       count(*) FILTER (WHERE needs AND t IS NOT NULL) AS n_est
     FROM (${base})`,
    { sid: sessionId }
  )
  const n = toNumber(facts?.n) ?? 0
  if (n === 0) return empty
  const models = (await rows(con, `SELECT model, count(*) AS n FROM (${base}) GROUP BY model ORDER BY n DESC, model`, { sid: sessionId })).map((r) => String(r.model ?? ''))
  const fromMs = toNumber(facts?.from_ms)
  const toMs = toNumber(facts?.to_ms)
  const result: LlmSeries = {
    ...empty,
    models,
    undated: toNumber(facts?.undated) ?? 0,
    latencyMissing: toNumber(facts?.no_lat) ?? 0,
    tokensEstimated: (toNumber(facts?.raw_tokens) ?? 0) === 0
  }
  if (fromMs === null || toMs === null) return result
  const width = bucketWidth(fromMs, toMs)
  // Both bounds are integers DuckDB just returned; the width is one of ours.
  const bucket = `(${Math.trunc(fromMs)} + floor((t - ${Math.trunc(fromMs)}) / ${width}) * ${width})::BIGINT`
  const found = await rows(
    con,
    `SELECT ${bucket} AS b, model,
       GROUPING(model) AS all_models, count(*) AS n, ${latencySql('lat')},
       sum(t_in) AS t_in, sum(t_out) AS t_out
     FROM (${base}) WHERE t IS NOT NULL
     GROUP BY GROUPING SETS ((b, model), (b))
     ORDER BY b, all_models DESC, model`,
    { sid: sessionId }
  )
  if ((toNumber(facts?.n_est) ?? 0) > 0) {
    // The estimated part, from the texts of only the rows whose count is 0 or NULL.
    const estimates = new Map<string, Row>()
    for (const r of await rows(
      con,
      `SELECT ${bucket} AS b, model, GROUPING(model) AS all_models, sum(e_in) AS e_in, sum(e_out) AS e_out
       FROM (SELECT ${e.timeMs} AS t, ${e.model} AS model, ${tin.estimate} AS e_in, ${tout.estimate} AS e_out
             FROM llm_requests WHERE session_id = $sid AND (${needs}))
       WHERE t IS NOT NULL
       GROUP BY GROUPING SETS ((b, model), (b))`,
      { sid: sessionId }
    )) {
      estimates.set(`${toNumber(r.b)}|${toNumber(r.all_models)}|${String(r.model ?? '')}`, r)
    }
    for (const r of found) {
      const est = estimates.get(`${toNumber(r.b)}|${toNumber(r.all_models)}|${String(r.model ?? '')}`)
      r.t_in = (toNumber(r.t_in) ?? 0) + (toNumber(est?.e_in) ?? 0)
      r.t_out = (toNumber(r.t_out) ?? 0) + (toNumber(est?.e_out) ?? 0)
    }
  }
  const points: LlmSeriesPoint[] = found.map((r) => {
    const tokensIn = toNumber(r.t_in) ?? 0
    const tokensOut = toNumber(r.t_out) ?? 0
    const timed = toNumber(r.lat_n) ?? 0
    return {
      t: toNumber(r.b) ?? 0,
      model: toNumber(r.all_models) === 1 ? null : String(r.model ?? ''),
      requests: toNumber(r.n) ?? 0,
      timed,
      p50: timed > 0 ? toNumber(r.p50) : null,
      p95: timed > 0 ? toNumber(r.p95) : null,
      tokensIn,
      tokensOut,
      costUsd: (tokensIn / 1000) * PERSPT_COST_PER_1K.in + (tokensOut / 1000) * PERSPT_COST_PER_1K.out
    }
  })
  return { ...result, bucketMs: width, fromMs, toMs, points }
}

/** V_total of every pass of every node, oldest first per node; nodes in order of their first pass. */
export async function readEnergySeries(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<EnergySeries> {
  const empty: EnergySeries = { epsilon: ENERGY_EPSILON, nodes: [], nonFinite: 0, leftOut: 0 }
  if (!has(probe, 'energy_history', 'session_id', 'node_id')) return empty
  const t = msOf(probe, 'energy_history', 'timestamp')
  const v = has(probe, 'energy_history', 'v_total') ? 'TRY_CAST(v_total AS DOUBLE)' : 'NULL::DOUBLE'
  const found = await rows(
    con,
    `SELECT node_id, ${t} AS t, CASE WHEN isfinite(${v}) THEN ${v} END AS v,
       count(*) OVER () AS total, count(*) FILTER (WHERE ${v} IS NULL OR NOT isfinite(${v})) OVER () AS bad,
       min(${t}) OVER (PARTITION BY node_id) AS first_t
     FROM energy_history WHERE session_id = $sid AND NULLIF(trim(node_id), '') IS NOT NULL
     ORDER BY first_t ASC NULLS LAST, node_id, ${timeOrder(probe, 'energy_history', 'timestamp', 'ASC')}
     LIMIT ${ENERGY_SERIES_MAX_POINTS}`,
    { sid: sessionId }
  )
  const nodes = new Map<string, EnergySeriesNode>()
  for (const r of found) {
    const id = text(r.node_id) ?? ''
    let node = nodes.get(id)
    if (!node) nodes.set(id, (node = { nodeId: id, values: [], times: [] }))
    node.values.push(roundReal(toNumber(r.v)))
    node.times.push(toNumber(r.t))
  }
  const total = toNumber(found[0]?.total) ?? 0
  return { epsilon: ENERGY_EPSILON, nodes: [...nodes.values()], nonFinite: toNumber(found[0]?.bad) ?? 0, leftOut: Math.max(0, total - found.length) }
}
