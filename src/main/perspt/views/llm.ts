// LLM telemetry for one session: totals, latency percentiles, per-model breakdown, and windows of
// requests sorted and filtered in DuckDB (spec §3.5, reader facts 15–16). Full prompt and response
// texts are fetched one request at a time, never for the table.
import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api'
import { ApiError } from '../../../shared/api/errors'
import type {
  LlmRequestRow,
  LlmRequestText,
  LlmTextPart,
  LlmRowsPage,
  LlmRowsQuery,
  LlmSortKey,
  LlmSummary,
  LlmTotals
} from '../../../shared/model/perspt-views'
import type { SchemaProbe } from '../store-reader'
import { estimatedTokensSql, isoFromMs, text, tokensOrEstimateSql, toNumber } from '../store-reader'
import { previewGraphemes } from '../../../shared/graphemes'
import { countRead, insertSorted, memoDrop, memoGet, memoKey, memoSet, openMemo, perVersionOf, quantileCont, readWholeWithScan, shapeOf, timeKeyedOf, type MemoReads, type Prefix } from './llm-memo'
import { firstPage, keyOrder, rowsById } from './llm-row-cache'
import { columnsOf } from './dag-sql'
import type { ReadContext } from '../read-context'

type Row = Record<string, JS>

/** Characters of prompt/response fetched for a preview: enough for 160 after whitespace collapses. */
export const LLM_PREVIEW_PREFIX = 400
export const LLM_PREVIEW_MAX = 160
/** Characters of each text a request's detail carries; the rest is fetched in parts on demand. */
export const LLM_TEXT_HEAD_CHARS = 32_768
/** The most characters one getLlmText part carries (the contract's bound). */
export const LLM_TEXT_PART_MAX = 1_048_576
/** The contract allows at most this many rows per window. */
const MAX_LIMIT = 2000

async function rows(con: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
  return (await con.runAndReadAll(sql, params)).getRowObjectsJS()
}

function cols(probe: SchemaProbe): ReadonlySet<string> | null {
  const c = probe.columns.get('llm_requests')
  return c && c.has('session_id') && c.has('id') ? c : null
}

/** SQL for the expressions every query shares (the charts' series too); columns a store lacks read as constants. */
export function expressions(c: ReadonlySet<string>) {
  const raw = (col: string) => (c.has(col) ? `coalesce(${col}, 0)` : '0')
  // Perspt's per-session rule: a raw count of 0 becomes (UTF-8 bytes + 3) div 4 of the text.
  const tokens = (col: string, textCol: string) =>
    c.has(col) && c.has(textCol) ? tokensOrEstimateSql(col, textCol) : c.has(textCol) ? estimatedTokensSql(textCol) : raw(col)
  return {
    tokensIn: tokens('tokens_in', 'prompt'),
    tokensOut: tokens('tokens_out', 'response'),
    rawIn: raw('tokens_in'),
    rawOut: raw('tokens_out'),
    // NULL latency stays NULL: excluded from percentiles and sums, shown as "—" (never 0 ms).
    latency: c.has('latency_ms') ? 'latency_ms' : 'NULL::INTEGER',
    model: c.has('model') ? `coalesce(model, '')` : `''`,
    node: c.has('node_id') ? `NULLIF(trim(node_id), '')` : 'NULL',
    timeMs: c.has('timestamp') ? `epoch_ms(TRY_CAST("timestamp" AS TIMESTAMP))` : 'NULL',
    prompt: c.has('prompt') ? `coalesce(prompt, '')` : `''`,
    response: c.has('response') ? `coalesce(response, '')` : `''`
  }
}

/**
 * Tokens by Perspt's per-session rule, split so that texts are read only where needed: `counted` (the
 * integer column where it is > 0, else 0) is summed over every row, `estimate` ((UTF-8 bytes + 3) div 4
 * of the text where the count is 0 or NULL, else 0) only over the rows where `needs` holds. A CASE over
 * the text in one pass would make DuckDB read every prompt of the session (a 26k-row session: ~0.5 GB).
 */
export function tokenParts(c: ReadonlySet<string>): { tin: TokenPart; tout: TokenPart; needs: string } {
  const part = (col: string, textCol: string): TokenPart => {
    if (c.has(col) && c.has(textCol)) {
      return {
        counted: `CASE WHEN coalesce(${col}, 0) > 0 THEN ${col} ELSE 0 END`,
        estimate: `CASE WHEN coalesce(${col}, 0) > 0 THEN 0 ELSE ${estimatedTokensSql(textCol)} END`,
        needs: `coalesce(${col}, 0) <= 0`
      }
    }
    if (c.has(textCol)) return { counted: '0', estimate: estimatedTokensSql(textCol), needs: 'true' }
    return { counted: c.has(col) ? `coalesce(${col}, 0)` : '0', estimate: '0', needs: 'false' }
  }
  const tin = part('tokens_in', 'prompt')
  const tout = part('tokens_out', 'response')
  return { tin, tout, needs: `(${tin.needs}) OR (${tout.needs})` }
}

interface TokenPart {
  counted: string
  estimate: string
  needs: string
}

/**
 * Rows of totals (one, or one per model plus `is_total` with `byModel`) with `t_in`/`t_out` by Perspt's
 * per-session rule, without measuring every text: the counted part comes from the integer columns,
 * and only when some row has a raw count of 0 does a second query measure those rows' prompt or
 * response for the estimate (reading every text of a long session is what made the totals slow).
 * `select` is the rest of the aggregate list.
 */
async function readTotalsRows(con: DuckDBConnection, c: ReadonlySet<string>, sessionId: string, select: string, byModel: boolean): Promise<Row[]> {
  const e = expressions(c)
  const { tin, tout, needs } = tokenParts(c)
  const group = byModel ? ` GROUP BY GROUPING SETS ((${e.model}), ())` : ''
  const key = byModel ? `${e.model} AS model, ` : ''
  const grouping = byModel ? `, GROUPING(${e.model}) AS is_total` : ''
  const found = await rows(
    con,
    `SELECT ${key}count(*) AS n, sum(${tin.counted}) AS c_in, sum(${tout.counted}) AS c_out,
       count(*) FILTER (WHERE ${needs}) AS n_est, ${select}${grouping}
     FROM llm_requests WHERE session_id = $1${group}`,
    [sessionId]
  )
  const estimates = new Map<string, Row>()
  if (found.some((r) => (toNumber(r.n_est) ?? 0) > 0)) {
    for (const r of await rows(
      con,
      `SELECT ${key}sum(${tin.estimate}) AS e_in, sum(${tout.estimate}) AS e_out${grouping}
       FROM llm_requests WHERE session_id = $1 AND (${needs})${group}`,
      [sessionId]
    )) {
      estimates.set(`${toNumber(r.is_total) ?? 1}|${String(r.model ?? '')}`, r)
    }
  }
  for (const r of found) {
    const est = estimates.get(`${toNumber(r.is_total) ?? 1}|${String(r.model ?? '')}`)
    r.t_in = (toNumber(r.c_in) ?? 0) + (toNumber(est?.e_in) ?? 0)
    r.t_out = (toNumber(r.c_out) ?? 0) + (toNumber(est?.e_out) ?? 0)
  }
  return found
}

/**
 * The one definition of Vigil's latency figures, used by the Summary and the LLM view alike:
 * quantile_cont over the calls with a latency (NULL excluded, never read as 0 ms), and their count.
 */
export function latencySql(latency: string): string {
  return `count(${latency}) AS lat_n, sum(${latency}) AS lat,
    quantile_cont(${latency}, 0.5) AS p50, quantile_cont(${latency}, 0.95) AS p95`
}

function totalsFrom(r: Row | undefined): LlmTotals {
  const requests = toNumber(r?.n) ?? 0
  return {
    requests,
    tokensIn: toNumber(r?.t_in) ?? 0,
    tokensOut: toNumber(r?.t_out) ?? 0,
    latencyMsTotal: toNumber(r?.lat) ?? 0,
    latencyP50: toNumber(r?.p50),
    latencyP95: toNumber(r?.p95),
    latencyCounted: toNumber(r?.lat_n) ?? 0,
    tokensEstimated: requests > 0 && (toNumber(r?.raw_total) ?? 0) === 0
  }
}

const EMPTY_TOTALS: LlmTotals = {
  requests: 0,
  tokensIn: 0,
  tokensOut: 0,
  latencyMsTotal: 0,
  latencyP50: null,
  latencyP95: null,
  latencyCounted: 0,
  tokensEstimated: false
}

/** The session's totals (what the Summary shows): the same SQL and parsing as readLlmSummary's total row. */
export async function readLlmTotals(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<LlmTotals> {
  const c = cols(probe)
  if (!c) return { ...EMPTY_TOTALS }
  const e = expressions(c)
  const [r] = await readTotalsRows(con, c, sessionId, `sum(${e.rawIn}) + sum(${e.rawOut}) AS raw_total, ${latencySql(e.latency)}`, false)
  return totalsFrom(r)
}

/**
 * Totals, p50/p95 latency (quantile_cont) and the same per model, most requests first. `reads`: the
 * version's shared results, or the whole ReadContext (then a live session's check need not scan it, see llm-anchor.ts).
 */
export async function readLlmSummary(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, reads?: MemoReads): Promise<LlmSummary> {
  const c = cols(probe)
  if (!c) return { ...EMPTY_TOTALS, perModel: [] }
  return (await summaryFromMemo(con, probe, c, sessionId, reads)) ?? readLlmSummaryFull(con, c, sessionId)
}

/** One model's (or all models') figures, kept between snapshots (see llm-memo.ts). */
interface Agg {
  n: number
  tIn: number
  tOut: number
  raw: number
  latSum: number
  /** Every latency, ascending (NULL left out): percentiles exactly as quantile_cont computes them. */
  lats: number[]
}
interface SummaryMemo {
  prefix: Prefix
  all: Agg
  models: Map<string, Agg>
}
const newAgg = (): Agg => ({ n: 0, tIn: 0, tOut: 0, raw: 0, latSum: 0, lats: [] })
/** Sums stay exact in doubles below this (SQL sums them exactly). */
const SAFE_SUM = Number.MAX_SAFE_INTEGER / 4

/**
 * The summary from the memo of an earlier snapshot plus the rows new since (see llm-memo.ts); null when it
 * must be read in full (texts estimated, a session too long to remember, values a memo cannot add exactly).
 */
async function summaryFromMemo(
  con: DuckDBConnection,
  probe: SchemaProbe,
  c: ReadonlySet<string>,
  sessionId: string,
  reads?: MemoReads
): Promise<LlmSummary | null> {
  const e = expressions(c)
  const { tin, tout } = tokenParts(c)
  const select = `${e.model} AS model, ${e.latency} AS lat, ${tin.counted} AS t_in, ${tout.counted} AS t_out, ${e.rawIn} + ${e.rawOut} AS raw`
  // A session without a memo is read whole anyway: its check comes from the same read.
  const whole = memoGet(con, memoKey('summary', sessionId)) === undefined ? await readWholeWithScan(con, probe, sessionId, select, perVersionOf(reads)) : null
  const opened = await openMemo<SummaryMemo>(con, probe, 'summary', sessionId, reads)
  if (!opened) return null
  const { key, before, check } = opened
  const memo: SummaryMemo = before ?? { prefix: check.now, all: newAgg(), models: new Map() }
  // The memo is changed in place: dropped first, kept again only once every new row was added.
  memoDrop(con, key)
  const from = before ? before.prefix.maxId : null
  // Column by column (see readWholeWithScan): model, latency, tokens in, tokens out, raw tokens.
  const added =
    whole !== null && from === null
      ? whole
      : columnsOf(await con.runAndReadAll(`SELECT ${select} FROM llm_requests WHERE session_id = $1${from === null ? '' : ' AND id > $2::BIGINT'}`, from === null ? [sessionId] : [sessionId, from]))
  const [models, lats, tIns, tOuts, raws] = added as [JS[], JS[], JS[], JS[], JS[]]
  const n = models.length
  if (n !== check.now.count - (from === null ? 0 : memo.prefix.count)) return failed()
  const newLats = new Map<Agg, number[]>()
  const add = (a: Agg, tIn: number, tOut: number, raw: number, l: number | null) => {
    a.n++
    a.tIn += tIn
    a.tOut += tOut
    a.raw += raw
    if (l !== null) {
      a.latSum += l
      let list = newLats.get(a)
      if (!list) newLats.set(a, (list = []))
      list.push(l)
    }
  }
  for (let i = 0; i < n; i++) {
    const tIn = toNumber(tIns[i])
    const tOut = toNumber(tOuts[i])
    const raw = toNumber(raws[i])
    const lat = lats[i]
    const l = lat === null ? null : toNumber(lat)
    if (!Number.isSafeInteger(tIn) || !Number.isSafeInteger(tOut) || !Number.isSafeInteger(raw) || (lat !== null && !Number.isSafeInteger(l))) return failed()
    const model = models[i]
    const name = typeof model === 'string' ? model : String(model ?? '')
    let m = memo.models.get(name)
    if (!m) memo.models.set(name, (m = newAgg()))
    add(memo.all, tIn!, tOut!, raw!, l)
    add(m, tIn!, tOut!, raw!, l)
  }
  // A few new latencies go in place; many (a first read) are appended and sorted once.
  for (const [a, list] of newLats) {
    if (list.length <= 32) for (const l of list) insertSorted(a.lats, l)
    else {
      for (const l of list) a.lats.push(l)
      a.lats.sort((x, y) => x - y)
    }
  }
  const all = memo.all
  if ([all.tIn, all.tOut, all.raw, Math.abs(all.latSum)].some((v) => v > SAFE_SUM)) return failed()
  memo.prefix = check.now
  memoSet(con, key, memo)
  countRead(from === null ? 'full' : 'incremental')
  const totals = (a: Agg): LlmTotals => ({
    requests: a.n,
    tokensIn: a.tIn,
    tokensOut: a.tOut,
    latencyMsTotal: a.latSum,
    latencyP50: quantileCont(a.lats, 0.5),
    latencyP95: quantileCont(a.lats, 0.95),
    latencyCounted: a.lats.length,
    tokensEstimated: a.n > 0 && a.raw === 0
  })
  const perModel = [...memo.models].map(([model, a]) => ({ model, ...totals(a) })).sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model))
  return { ...totals(all), perModel }

  function failed(): null {
    countRead('full')
    return null
  }
}

async function readLlmSummaryFull(con: DuckDBConnection, c: ReadonlySet<string>, sessionId: string): Promise<LlmSummary> {
  const e = expressions(c)
  const result = await readTotalsRows(con, c, sessionId, `sum(${e.rawIn}) + sum(${e.rawOut}) AS raw_total, ${latencySql(e.latency)}`, true)
  const total = result.find((r) => toNumber(r.is_total) === 1)
  const perModel = result
    .filter((r) => toNumber(r.is_total) === 0)
    .map((r) => ({ model: typeof r.model === 'string' ? r.model : String(r.model ?? ''), ...totalsFrom(r) }))
    .sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model))
  return { ...totalsFrom(total), perModel }
}

/**
 * A preview of a text from its bounded prefix, cut on grapheme boundaries; marked cut ("…") when the
 * full text runs past the prefix (whose last, maybe partial, cluster is then dropped).
 */
export function boundedPreview(prefix: string, more: boolean, max = LLM_PREVIEW_MAX, next?: string): string {
  return previewGraphemes(prefix, max, more, next)
}

/** Leading whitespace would only collapse away in the preview: skip it before taking the prefix. */
const WS = `' ' || chr(9) || chr(10) || chr(13)`
const head = (col: string) => `left(ltrim(${col}, ${WS}), ${LLM_PREVIEW_PREFIX})`
const more = (col: string) => `(length(ltrim(${col}, ${WS})) > ${LLM_PREVIEW_PREFIX})`
/** A few characters past the prefix: they tell whether the prefix ends inside a grapheme cluster. */
export const PREVIEW_LOOKAHEAD = 16
const next = (col: string) => `substring(ltrim(${col}, ${WS}), ${LLM_PREVIEW_PREFIX + 1}, ${PREVIEW_LOOKAHEAD})`

const SORT_SQL: Record<LlmSortKey, (e: ReturnType<typeof expressions>) => string> = {
  time: (e) => e.timeMs,
  model: (e) => e.model,
  node: (e) => e.node,
  tokensIn: (e) => e.tokensIn,
  tokensOut: (e) => e.tokensOut,
  latency: (e) => e.latency
}

function clampInt(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min
  return Math.min(max, Math.max(min, Math.floor(value)))
}

/**
 * One window of the session's requests, sorted and filtered in SQL, with the filtered total. Ties
 * break on id (in the same direction), so windows never overlap or skip rows. User text is always a
 * bound parameter; only whitelisted column expressions are spliced in.
 */
export async function readLlmRows(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionId: string,
  query: LlmRowsQuery,
  ctx?: ReadContext
): Promise<LlmRowsPage> {
  const offset = clampInt(query.offset, 0, Number.MAX_SAFE_INTEGER)
  const limit = clampInt(query.limit, 1, MAX_LIMIT)
  const c = cols(probe)
  if (!c) return { total: 0, offset, rows: [] }
  const e = expressions(c)

  const where = ['session_id = $1']
  const params: DuckDBValue[] = [sessionId]
  if (query.model !== undefined && query.model !== '') {
    params.push(query.model)
    where.push(`${e.model} = $${params.length}`)
  }
  if (query.nodeId !== undefined && query.nodeId !== '') {
    params.push(query.nodeId)
    where.push(`${e.node} = $${params.length}`)
  }
  const search = query.search?.trim().toLowerCase() ?? ''
  if (search !== '') {
    params.push(search)
    const p = `$${params.length}`
    where.push(
      `(contains(lower(${e.model}), ${p}) OR contains(lower(coalesce(${e.node}, '')), ${p})` +
        ` OR contains(lower(${e.prompt}), ${p}) OR contains(lower(${e.response}), ${p}))`
    )
  }
  const whereSql = where.join(' AND ')
  const sortKey: LlmSortKey = query.sort && query.sort in SORT_SQL ? query.sort : 'time'
  const dir = query.dir === 'desc' ? 'DESC' : 'ASC'

  // 1. The window's ids, sorted and filtered, with the filtered total (the filters run once). Only
  //    the sort key is computed for every matching row.
  // Sorted by tokens: the texts are read only for the rows whose count is 0 or NULL (see tokenParts).
  const tokens = sortKey === 'tokensIn' ? tokenParts(c).tin : sortKey === 'tokensOut' ? tokenParts(c).tout : null
  const keyed = tokens
    ? `SELECT id, ${tokens.counted} AS k FROM llm_requests WHERE ${whereSql} AND NOT (${tokens.needs})
       UNION ALL SELECT id, ${SORT_SQL[sortKey](e)} AS k FROM llm_requests WHERE ${whereSql} AND (${tokens.needs})`
    : `SELECT id, ${SORT_SQL[sortKey](e)} AS k FROM llm_requests WHERE ${whereSql}`
  const sortedPage = (lim: number, off: number) =>
    rows(
      con,
      // Materialized first: a Top-N straight over the table makes DuckDB scan it several times longer.
      `WITH m AS MATERIALIZED (${keyed})
       SELECT id, k, count(*) OVER () AS total, max(id) OVER () AS max_id FROM m ORDER BY k ${dir} NULLS LAST, id ${dir}
       LIMIT ${lim} OFFSET ${off}`,
      params
    )
  const countAll = async () => toNumber((await rows(con, `SELECT count(*) AS n FROM llm_requests WHERE ${whereSql}`, params))[0]?.n) ?? 0
  let total: number
  let ids: number[]
  if (ctx && offset === 0 && sortKey === 'time') {
    // A live session's newest-first page: merged from the rows new since the last snapshot (llm-row-cache.ts).
    const keyOf = (r: Row) => ({ id: toNumber(r.id) ?? NaN, k: toNumber(r.k) })
    ;({ total, ids } = await firstPage(con, shapeOf(probe), ctx, JSON.stringify([sessionId, whereSql, params.map(String), dir, limit]), dir, limit, {
      full: async () => {
        // The summary's first read of this version may have read every request's time already.
        const keyed = where.length === 1 ? timeKeyedOf(probe, sessionId, ctx.perVersion) : null
        if (keyed) {
          const top = [...keyed].sort(keyOrder(dir)).slice(0, limit)
          return { total: keyed.length, maxId: keyed.length === 0 ? 0 : keyed.reduce((m, r) => Math.max(m, r.id), -Infinity), top }
        }
        const page = await sortedPage(limit, 0)
        return page.length === 0 ? { total: await countAll(), maxId: 0, top: [] } : { total: toNumber(page[0]?.total) ?? 0, maxId: toNumber(page[0]?.max_id) ?? 0, top: page.map(keyOf) }
      },
      above: async (maxId) => (await rows(con, `SELECT id, k FROM (${keyed}) WHERE id > $${params.length + 1}::BIGINT`, [...params, Math.floor(maxId)])).map(keyOf),
      count: countAll
    }))
    if (ids.length === 0) return { total, offset, rows: [] }
  } else {
    const page = await sortedPage(limit, offset)
    // Past the end (or nothing matches): the total still tells the table how far it reaches.
    if (page.length === 0) return { total: await countAll(), offset, rows: [] }
    total = toNumber(page[0]?.total) ?? 0
    ids = page.map((r) => toNumber(r.id)).filter((id): id is number => id !== null && Number.isSafeInteger(id))
  }

  // 2. The rows of those ids, with previews from a bounded prefix: texts are never fetched whole,
  //    and no string work is done outside the window. Ids are integers DuckDB just returned. Rows the
  //    last snapshot read are kept while the table only gained rows (llm-row-cache.ts).
  const read = async (missing: number[]): Promise<Map<number, LlmRequestRow>> => {
    const byId = new Map<number, LlmRequestRow>()
    // Column by column (cheaper to convert than row objects); the columns in the SELECT's order.
    const [ids, sids, times, models, nodes, tIns, tOuts, lats, pHeads, pMores, pNexts, pLens, rHeads, rMores, rNexts, rLens] = columnsOf(
      await con.runAndReadAll(
        `SELECT id, session_id AS sid, ${e.timeMs} AS t_ms, ${e.model} AS model, ${e.node} AS node_id,
           ${e.tokensIn} AS t_in, ${e.tokensOut} AS t_out, ${e.latency} AS lat,
           ${head(e.prompt)} AS p_head, ${more(e.prompt)} AS p_more, ${next(e.prompt)} AS p_next, length(${e.prompt}) AS p_len,
           ${head(e.response)} AS r_head, ${more(e.response)} AS r_more, ${next(e.response)} AS r_next, length(${e.response}) AS r_len
         FROM llm_requests
         WHERE id IN (${missing.join(', ')})`
      )
    ) as JS[][]
    const textOf = (v: JS | undefined) => (typeof v === 'string' ? v : '')
    for (let i = 0; i < ids!.length; i++) {
      // By id alone (a session filter next to the id list makes DuckDB scan ~4× longer); a row of another
      // session with the same id (ids are keys in Perspt's schema, but a hand-made store may repeat one) is skipped.
      if (sids![i] !== sessionId) continue
      const id = toNumber(ids![i]) ?? -1
      const model = models![i]
      byId.set(id, {
        id,
        at: isoFromMs(toNumber(times![i])),
        model: typeof model === 'string' ? model : String(model ?? ''),
        nodeId: text(nodes![i]),
        tokensIn: toNumber(tIns![i]) ?? 0,
        tokensOut: toNumber(tOuts![i]) ?? 0,
        latencyMs: toNumber(lats![i]),
        promptPreview: boundedPreview(textOf(pHeads![i]), pMores![i] === true, LLM_PREVIEW_MAX, typeof pNexts![i] === 'string' ? (pNexts![i] as string) : undefined),
        responsePreview: boundedPreview(textOf(rHeads![i]), rMores![i] === true, LLM_PREVIEW_MAX, typeof rNexts![i] === 'string' ? (rNexts![i] as string) : undefined),
        promptChars: toNumber(pLens![i]) ?? 0,
        responseChars: toNumber(rLens![i]) ?? 0
      })
    }
    return byId
  }
  return { total, offset, rows: await rowsById(con, shapeOf(probe), ctx, sessionId, ids, read) }
}

/** The row of one request of this session with the columns `select` picks; anything else is not found. */
async function requestRow(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionId: string,
  requestId: number,
  select: (e: ReturnType<typeof expressions>) => string
): Promise<Row> {
  const c = cols(probe)
  const notFound = () => new ApiError('not-found', `No LLM request ${requestId} in session "${sessionId}".`)
  if (!c || !Number.isSafeInteger(requestId)) throw notFound()
  const [r] = await rows(con, `SELECT ${select(expressions(c))} FROM llm_requests WHERE session_id = $1 AND id = $2::BIGINT LIMIT 1`, [
    sessionId,
    String(requestId)
  ])
  if (!r) throw notFound()
  return r
}

/**
 * One request of this session: the first LLM_TEXT_HEAD_CHARS characters of its prompt and response
 * and their full lengths (a multi-MB text is never shipped whole here); anything else is not found.
 */
export async function readLlmRequest(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, requestId: number): Promise<LlmRequestText> {
  const r = await requestRow(
    con,
    probe,
    sessionId,
    requestId,
    (e) => `left(${e.prompt}, ${LLM_TEXT_HEAD_CHARS}) AS prompt, left(${e.response}, ${LLM_TEXT_HEAD_CHARS}) AS response,
      length(${e.prompt}) AS p_len, length(${e.response}) AS r_len`
  )
  return {
    id: requestId,
    prompt: typeof r.prompt === 'string' ? r.prompt : '',
    response: typeof r.response === 'string' ? r.response : '',
    promptChars: toNumber(r.p_len) ?? 0,
    responseChars: toNumber(r.r_len) ?? 0
  }
}

/**
 * Characters [offset, offset + length) of one request's prompt or response (code points, as DuckDB
 * counts them: a part never splits a surrogate pair), for "show more" and the full-text download.
 */
export async function readLlmText(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionId: string,
  requestId: number,
  part: 'prompt' | 'response',
  offset: number,
  length: number
): Promise<LlmTextPart> {
  const from = clampInt(offset, 0, Number.MAX_SAFE_INTEGER)
  const count = clampInt(length, 1, LLM_TEXT_PART_MAX)
  const r = await requestRow(con, probe, sessionId, requestId, (e) => {
    const column = part === 'prompt' ? e.prompt : e.response
    return `substring(${column}, ${from + 1}, ${count}) AS t, length(${column}) AS n`
  })
  return { id: requestId, part, offset: from, text: typeof r.t === 'string' ? r.t : '', totalChars: toNumber(r.n) ?? 0 }
}
