// Series for the session charts, aggregated in DuckDB: LLM latency percentiles, tokens and estimated
// cost per time bucket and model; V_total per verification pass of every node.
//
// Latency percentiles: Vigil's one definition (latencySql: quantile_cont over the requests that have a
// latency; a NULL latency is left out, never read as 0 ms) and counted. Tokens follow the LLM view's rule (a raw count of 0 is
// estimated from the text, (UTF-8 bytes + 3) div 4). Cost is Perspt's own estimate for those tokens.
import type { DuckDBConnection, JS } from '@duckdb/node-api'
import type { EnergySeries, EnergySeriesNode, LlmSeries, LlmSeriesPoint } from '../../../shared/model/perspt-timeline'
import { ENERGY_SERIES_MAX_POINTS, PERSPT_COST_PER_1K } from '../../../shared/model/perspt-timeline'
import type { SchemaProbe } from '../store-reader'
import { roundReal, text, toNumber } from '../store-reader'
import { columnsOf, compareBinary, has, msOf, rows, timeOrder, type Row } from './dag-sql'
import { countRead, memoSet, openMemo, quantileCont, type MemoReads, type Prefix } from './llm-memo'
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

const EMPTY_SERIES: LlmSeries = { bucketMs: 0, fromMs: null, toMs: null, models: [], points: [], undated: 0, latencyMissing: 0, tokensEstimated: false }

/** What the series of an earlier snapshot was built from (see llm-memo.ts), and the counts it adds to. */
interface SeriesMemo {
  prefix: Prefix
  series: LlmSeries
  modelCounts: Map<string, number>
  rawTokens: number
  /** Every dated request in the buckets from `from` on (the last bucket), when known: see readLlmSeries. */
  tail?: { from: number; rows: BucketRow[] } | null
}

/** One dated request as its bucket adds it up. */
interface BucketRow {
  b: number
  model: string
  lat: number | null
  tIn: number
  tOut: number
}

/** Rows kept for the last bucket at most; past it, each new version reads the bucket in SQL. */
const MAX_TAIL_ROWS = 50_000

const stats = { tail: 0, sql: 0 }

/** How new rows reached the series' buckets: from the kept last bucket, or read again in SQL (tests, benchmarks). */
export function llmSeriesStats(): { tail: number; sql: number } {
  return { ...stats }
}

/**
 * The session's LLM series. A series read for an earlier snapshot of this store is reused when the
 * session's older rows are unchanged (checked, see llm-memo.ts): only the buckets that got new rows
 * are read again, unless the new rows moved the first bucket or the bucket width (then all are).
 */
export async function readLlmSeries(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, reads?: MemoReads): Promise<LlmSeries> {
  const c = probe.columns.get('llm_requests')
  if (!c || !c.has('session_id')) return EMPTY_SERIES
  if (!c.has('id')) return (await readLlmSeriesFull(con, c, sessionId)).series
  const opened = await openMemo<SeriesMemo>(con, probe, 'series', sessionId, reads)
  if (!opened) return (await readLlmSeriesFull(con, c, sessionId)).series
  const { key, before, check } = opened
  const full = async (): Promise<LlmSeries> => {
    const read = await readLlmSeriesFull(con, c, sessionId)
    memoSet(con, key, { prefix: check.now, ...read })
    countRead('full')
    return read.series
  }
  if (!before) return full()

  const old = before.series
  const since = before.prefix.maxId
  const { base } = seriesSql(c)
  // The new rows themselves (a few per version of a live session), column by column: their counts,
  // bounds and models are added up here, and their buckets too when the last bucket's rows are kept.
  const [ids, ts, models, lats, tIns, tOuts, raws, needs] = columnsOf(
    await con.runAndReadAll(`SELECT id, t, model, lat, t_in, t_out, raw_tokens, needs FROM (${base}) WHERE id > $since::BIGINT`, { sid: sessionId, since })
  ) as JS[][]
  const added = ids!.length
  if (added !== check.now.count - before.prefix.count || needs!.some((v) => v === true)) return full()
  let newFrom: number | null = null
  let newTo: number | null = null
  let undated = 0
  let noLat = 0
  let newRaw = 0
  const modelCounts = new Map(before.modelCounts)
  const dated: { t: number; model: string; lat: number | null; tIn: number; tOut: number }[] = []
  for (let i = 0; i < added; i++) {
    const t = toNumber(ts![i]!)
    const model = String(models![i] ?? '')
    const lat = toNumber(lats![i]!)
    if (lats![i] === null) noLat++
    newRaw += toNumber(raws![i]!) ?? 0
    modelCounts.set(model, (modelCounts.get(model) ?? 0) + 1)
    if (t === null) {
      undated++
      continue
    }
    newFrom = newFrom === null ? t : Math.min(newFrom, t)
    newTo = newTo === null ? t : Math.max(newTo, t)
    dated.push({ t, model, lat, tIn: toNumber(tIns![i]!) ?? 0, tOut: toNumber(tOuts![i]!) ?? 0 })
  }
  const fromMs = newFrom === null ? old.fromMs : old.fromMs === null ? newFrom : Math.min(old.fromMs, newFrom)
  const toMs = newTo === null ? old.toMs : old.toMs === null ? newTo : Math.max(old.toMs, newTo)
  // A new first bucket or a new width changes every bucket.
  if (fromMs !== old.fromMs || (fromMs !== null && toMs !== null && bucketWidth(fromMs, toMs) !== old.bucketMs)) return full()
  const rawTokens = before.rawTokens + newRaw
  let points = old.points
  let tail = before.tail ?? null
  if (fromMs !== null && toMs !== null && newFrom !== null) {
    const width = old.bucketMs
    const bucketOf = (t: number) => Math.trunc(fromMs) + Math.floor((t - Math.trunc(fromMs)) / width) * width
    const fresh: BucketRow[] = dated.map((r) => ({ b: bucketOf(r.t), model: r.model, lat: r.lat, tIn: r.tIn, tOut: r.tOut }))
    // A loop, not Math.min(...): a burst of new rows (a long pause, a big import) would overflow the call stack.
    const first = fresh.reduce((m, r) => Math.min(m, r.b), Infinity)
    let rows: BucketRow[]
    if (tail && first >= tail.from) {
      // Every row of the buckets from `first` on is in the kept tail plus the new rows.
      rows = [...tail.rows, ...fresh]
      stats.tail++
    } else {
      // Every bucket from the first one with a new row, read whole again (old rows in it included).
      rows = await readBucketRows(con, c, sessionId, fromMs, width, since)
      stats.sql++
    }
    const changed = rows.filter((r) => r.b >= first)
    points = [...old.points.filter((p) => p.t < first), ...pointsOf(changed)]
    const last = bucketOf(toMs)
    const kept = rows.filter((r) => r.b >= last)
    tail = kept.length <= MAX_TAIL_ROWS ? { from: last, rows: kept } : null
  }
  const series: LlmSeries = {
    ...old,
    fromMs,
    toMs,
    models: modelOrder(modelCounts),
    points,
    undated: old.undated + undated,
    latencyMissing: old.latencyMissing + noLat,
    tokensEstimated: rawTokens === 0
  }
  memoSet(con, key, { prefix: check.now, series, modelCounts, rawTokens, tail })
  countRead('incremental')
  return series
}

/**
 * The series' points of `rows` (all the rows of their buckets), as readBuckets' SQL computes them:
 * per bucket, all models first, then each model in DuckDB's VARCHAR order; percentiles as quantile_cont.
 */
function pointsOf(rows: readonly BucketRow[]): LlmSeriesPoint[] {
  interface Sum {
    n: number
    lats: number[]
    tIn: number
    tOut: number
  }
  const add = (sum: Sum, r: BucketRow) => {
    sum.n++
    if (r.lat !== null) sum.lats.push(r.lat)
    sum.tIn += r.tIn
    sum.tOut += r.tOut
  }
  const empty = (): Sum => ({ n: 0, lats: [], tIn: 0, tOut: 0 })
  const buckets = new Map<number, { all: Sum; models: Map<string, Sum> }>()
  for (const r of rows) {
    let bucket = buckets.get(r.b)
    if (!bucket) buckets.set(r.b, (bucket = { all: empty(), models: new Map() }))
    add(bucket.all, r)
    let m = bucket.models.get(r.model)
    if (!m) bucket.models.set(r.model, (m = empty()))
    add(m, r)
  }
  const point = (t: number, model: string | null, sum: Sum): LlmSeriesPoint => {
    const sorted = sum.lats.sort((a, b) => a - b)
    return {
      t,
      model,
      requests: sum.n,
      timed: sorted.length,
      p50: sorted.length > 0 ? quantileCont(sorted, 0.5) : null,
      p95: sorted.length > 0 ? quantileCont(sorted, 0.95) : null,
      tokensIn: sum.tIn,
      tokensOut: sum.tOut,
      costUsd: costOf(sum.tIn, sum.tOut)
    }
  }
  const points: LlmSeriesPoint[] = []
  for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
    const bucket = buckets.get(b)!
    points.push(point(b, null, bucket.all))
    for (const model of [...bucket.models.keys()].sort(compareBinary)) points.push(point(b, model, bucket.models.get(model)!))
  }
  return points
}

/** The dated rows of every bucket from the first one holding a row with an id above `since`. */
async function readBucketRows(con: DuckDBConnection, c: ReadonlySet<string>, sessionId: string, fromMs: number, width: number, since: number): Promise<BucketRow[]> {
  const { base } = seriesSql(c)
  const [bs, models, lats, tIns, tOuts] = columnsOf(
    await con.runAndReadAll(
      `WITH x AS (SELECT *, ${bucketSql(fromMs, width)} AS b FROM (${base}) WHERE t IS NOT NULL)
       SELECT b, model, lat, t_in, t_out FROM x WHERE b >= (SELECT min(b) FROM x WHERE id > $since::BIGINT)`,
      { sid: sessionId, since }
    )
  ) as JS[][]
  const rows: BucketRow[] = new Array(bs!.length)
  for (let i = 0; i < bs!.length; i++) {
    rows[i] = { b: toNumber(bs![i]!) ?? 0, model: String(models![i] ?? ''), lat: toNumber(lats![i]!), tIn: toNumber(tIns![i]!) ?? 0, tOut: toNumber(tOuts![i]!) ?? 0 }
  }
  return rows
}

/** A dated row's bucket: its start, epoch ms (both bounds are integers DuckDB returned; the width is one of ours). */
const bucketSql = (fromMs: number, width: number) => `(${Math.trunc(fromMs)} + floor((t - ${Math.trunc(fromMs)}) / ${width}) * ${width})::BIGINT`

/** Models by request count, most first, ties in DuckDB's VARCHAR order (as `ORDER BY n DESC, model`). */
function modelOrder(counts: ReadonlyMap<string, number>): string[] {
  return [...counts].sort((a, b) => b[1] - a[1] || compareBinary(a[0], b[0])).map(([m]) => m)
}

/** The rows the series reads: tokens in two parts (see tokenParts), no text read here. */
function seriesSql(c: ReadonlySet<string>) {
  // The LLM view's expressions: the same token estimate and the same latency column.
  const e = llmExpressions(c)
  const parts = tokenParts(c)
  const { tin, tout, needs } = parts
  const base = `SELECT ${c.has('id') ? 'id' : 'NULL::BIGINT AS id'}, ${e.timeMs} AS t, ${e.model} AS model, ${e.latency} AS lat,
      ${tin.counted} AS t_in, ${tout.counted} AS t_out, ${e.rawIn} + ${e.rawOut} AS raw_tokens, ${needs} AS needs
    FROM llm_requests WHERE session_id = $sid`
  return { e, parts, base }
}

/** The points of every bucket (per model and for all models), in time order: the whole series, in SQL. */
async function readBuckets(con: DuckDBConnection, c: ReadonlySet<string>, sessionId: string, fromMs: number, width: number): Promise<LlmSeriesPoint[]> {
  const { base } = seriesSql(c)
  const found = await rows(
    con,
    `WITH x AS (SELECT *, ${bucketSql(fromMs, width)} AS b FROM (${base}) WHERE t IS NOT NULL)
     SELECT b, model, GROUPING(model) AS all_models, count(*) AS n, ${latencySql('lat')},
       sum(t_in) AS t_in, sum(t_out) AS t_out
     FROM x
     GROUP BY GROUPING SETS ((b, model), (b))
     ORDER BY b, all_models DESC, model`,
    { sid: sessionId }
  )
  return found.map((r) => {
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
      costUsd: costOf(tokensIn, tokensOut)
    }
  })
}

const costOf = (tokensIn: number, tokensOut: number) => (tokensIn / 1000) * PERSPT_COST_PER_1K.in + (tokensOut / 1000) * PERSPT_COST_PER_1K.out

/** The whole series in SQL, with the counts a memo of it adds to. */
async function readLlmSeriesFull(con: DuckDBConnection, c: ReadonlySet<string>, sessionId: string): Promise<Omit<SeriesMemo, 'prefix'>> {
  const { e, parts, base } = seriesSql(c)
  const { tin, tout, needs } = parts
  const [facts] = await rows(
    con,
    `SELECT min(t) AS from_ms, max(t) AS to_ms, count(*) AS n, count(*) FILTER (WHERE t IS NULL) AS undated,
       count(*) FILTER (WHERE lat IS NULL) AS no_lat, sum(raw_tokens) AS raw_tokens,
       count(*) FILTER (WHERE needs AND t IS NOT NULL) AS n_est
     FROM (${base})`,
    { sid: sessionId }
  )
  const n = toNumber(facts?.n) ?? 0
  const rawTokens = toNumber(facts?.raw_tokens) ?? 0
  if (n === 0) return { series: EMPTY_SERIES, modelCounts: new Map(), rawTokens }
  const modelCounts = new Map<string, number>()
  for (const r of await rows(con, `SELECT model, count(*) AS n FROM (${base}) GROUP BY model`, { sid: sessionId })) {
    modelCounts.set(String(r.model ?? ''), toNumber(r.n) ?? 0)
  }
  const fromMs = toNumber(facts?.from_ms)
  const toMs = toNumber(facts?.to_ms)
  const result: LlmSeries = {
    ...EMPTY_SERIES,
    models: modelOrder(modelCounts),
    undated: toNumber(facts?.undated) ?? 0,
    latencyMissing: toNumber(facts?.no_lat) ?? 0,
    tokensEstimated: rawTokens === 0
  }
  if (fromMs === null || toMs === null) return { series: result, modelCounts, rawTokens }
  const width = bucketWidth(fromMs, toMs)
  const points = await readBuckets(con, c, sessionId, fromMs, width)
  if ((toNumber(facts?.n_est) ?? 0) > 0) {
    // The estimated part, from the texts of only the rows whose count is 0 or NULL.
    const estimates = new Map<string, Row>()
    for (const r of await rows(
      con,
      `SELECT ${bucketSql(fromMs, width)} AS b, model, GROUPING(model) AS all_models, sum(e_in) AS e_in, sum(e_out) AS e_out
       FROM (SELECT ${e.timeMs} AS t, ${e.model} AS model, ${tin.estimate} AS e_in, ${tout.estimate} AS e_out
             FROM llm_requests WHERE session_id = $sid AND (${needs}))
       WHERE t IS NOT NULL
       GROUP BY GROUPING SETS ((b, model), (b))`,
      { sid: sessionId }
    )) {
      estimates.set(`${toNumber(r.b)}|${toNumber(r.all_models)}|${String(r.model ?? '')}`, r)
    }
    for (const p of points) {
      const est = estimates.get(`${p.t}|${p.model === null ? 1 : 0}|${p.model ?? ''}`)
      p.tokensIn += toNumber(est?.e_in) ?? 0
      p.tokensOut += toNumber(est?.e_out) ?? 0
      p.costUsd = costOf(p.tokensIn, p.tokensOut)
    }
  }
  return { series: { ...result, bucketMs: width, fromMs, toMs, points }, modelCounts, rawTokens }
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
