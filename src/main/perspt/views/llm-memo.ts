// What the LLM page's summary and charts computed for a session, kept between snapshots so a new
// snapshot costs what it added, not the whole session (a live session grows by a row per call).
//
// A memo is trusted only after a check on the new snapshot: the session's rows up to the memo's last id
// must still be exactly the rows it was built from — same count, same XOR of a hash of every column the
// figures depend on (id, time, model, latency, token counts). A replaced or different file, a truncated
// store, an UPDATE or DELETE of old rows: the check fails and the figures are read in full again. Rows
// whose tokens are estimated from their texts (a count of 0 or NULL) are not covered by the check (it
// would read every text): a session with any such row is always read in full. The figures are equal to
// what SQL computes over the same snapshot: sums and counts add; percentiles are DuckDB's quantile_cont,
// recomputed over the remembered sorted latencies with the same interpolation.
import type { DuckDBConnection, JS } from '@duckdb/node-api'
import type { SchemaProbe } from '../store-reader'
import { toNumber } from '../store-reader'
import { onlyAppendedSince, type ReadContext } from '../read-context'
import { anchorAt, movedAnchor, type Anchor } from './llm-anchor'
import { columnsOf, rows, type Row } from './dag-sql'
import { expressions, tokenParts } from './llm'

/** Sessions remembered per store (its connection); the least recently read is dropped first. */
const MEMO_SESSIONS = 4
/**
 * A session with more rows than this is read in full each time: the memo's latency arrays stay bounded
 * (at most ~2 × this many numbers per session, MEMO_SESSIONS sessions per store: ~32 MB).
 */
export const MEMO_MAX_ROWS = 500_000

export interface MemoStats {
  /** Reads answered from a memo plus the rows new since it. */
  incremental: number
  /** Reads done in full (no memo, or the check failed, or estimates). */
  full: number
  /** Checks that found the old rows changed (a different file, an UPDATE, a DELETE). */
  invalidated: number
  /** Scans of a session's rows for a check (one per version serves both memos, see PerVersion). */
  scans: number
  /** Checks answered from the rows above the memo's last id alone (the rows below proven unchanged, llm-anchor.ts). */
  anchored: number
  /** First pages sorted by time from the summary's read of every request's time (no second scan). */
  timeKeyed: number
}

/** Per store connection: memos by kind and session. */
const memos = new WeakMap<DuckDBConnection, Map<string, unknown>>()
const stats: MemoStats = { incremental: 0, full: 0, invalidated: 0, scans: 0, anchored: 0, timeKeyed: 0 }

/** Counters since the process started (tests, benchmarks). */
export function llmMemoStats(): MemoStats {
  return { ...stats }
}

export function memoGet<M>(con: DuckDBConnection, key: string): M | undefined {
  const map = memos.get(con)
  const m = map?.get(key)
  if (map && m !== undefined) {
    // Most recently read last.
    map.delete(key)
    map.set(key, m)
  }
  return m as M | undefined
}

export function memoSet(con: DuckDBConnection, key: string, value: unknown): void {
  let map = memos.get(con)
  if (!map) memos.set(con, (map = new Map()))
  map.delete(key)
  map.set(key, value)
  while (map.size > MEMO_SESSIONS) map.delete(map.keys().next().value!)
}

export function memoDrop(con: DuckDBConnection, key: string): void {
  memos.get(con)?.delete(key)
}

export function countRead(kind: keyof MemoStats): void {
  stats[kind]++
}

/** The prefix a memo was built from: the session's rows with id ≤ maxId, their count and fingerprint. */
export interface Prefix {
  /** Which columns the store has (a schema change starts over). */
  shape: string
  maxId: number
  count: number
  fingerprint: string
  /** Where this prefix stood in the table (at its maxId), when read with a ReadContext: see llm-anchor.ts. */
  anchor?: Anchor
}

export interface Check {
  /** The rows up to the memo's maxId are the ones it was built from. */
  valid: boolean
  /** The whole session now. */
  now: Prefix
  /** Rows whose tokens are estimated from texts (the memo is not used then). */
  estimated: number
}

/** The columns the figures depend on, as one string (part of the memo's identity). */
export function shapeOf(probe: SchemaProbe): string {
  return [...(probe.columns.get('llm_requests') ?? [])].sort().join(',')
}

/**
 * Results kept for one snapshot version (PersptStore.query's `perVersion`): the summary and the series
 * memos of a session usually stand at the same id, and share one scan.
 */
export type PerVersion = Map<string, unknown>

/** What a view read is given: the version's shared results alone (tests), or the whole ReadContext. */
export type MemoReads = PerVersion | ReadContext

export function perVersionOf(reads: MemoReads | undefined): PerVersion | undefined {
  return reads instanceof Map ? reads : reads?.perVersion
}

/** `read()` once per version and key (its promise shared; a failed read is not kept: the next caller tries again). */
function oncePerVersion<T>(perVersion: PerVersion | undefined, key: string, read: () => Promise<T>): Promise<T> {
  const kept = perVersion?.get(key) as Promise<T> | undefined
  if (kept) return kept
  const p = read()
  if (perVersion) {
    perVersion.set(key, p)
    p.catch(() => perVersion.delete(key))
  }
  return p
}

const scanKey = (probe: SchemaProbe, sessionId: string, known: number | null) => `prefix-scan\u0000${sessionId}\u0000${shapeOf(probe)}\u0000${known ?? ''}`

/** What a check hashes per row (the columns the figures depend on), and whether its tokens are estimated from texts. */
function scanColumns(probe: SchemaProbe): { fp: string; needs: string; time: string } {
  const c = probe.columns.get('llm_requests')!
  const e = expressions(c)
  return { fp: `hash(id, ${e.timeMs}, ${e.model}, ${e.latency}, ${e.rawIn}, ${e.rawOut})`, needs: tokenParts(c).needs, time: e.timeMs }
}

/** One scan of the session's small columns (the texts are not read): the whole session, and its rows up to `known`. */
function scanPrefix(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, known: number | null, perVersion?: PerVersion): Promise<Row | undefined> {
  return oncePerVersion(perVersion, scanKey(probe, sessionId, known), () => {
    const { fp, needs } = scanColumns(probe)
    stats.scans++
    return rows(
      con,
      `SELECT count(*) AS n, CAST(bit_xor(fp) AS VARCHAR) AS f, max(id) AS max_id, count(*) FILTER (WHERE needs) AS n_est,
         count(*) FILTER (WHERE id IS NULL) AS no_id${known === null ? '' : `,
         count(*) FILTER (WHERE id <= $known::BIGINT) AS old_n, CAST(bit_xor(fp) FILTER (WHERE id <= $known::BIGINT) AS VARCHAR) AS old_f`}
       FROM (SELECT id, ${fp} AS fp, ${needs} AS needs FROM llm_requests WHERE session_id = $sid)`,
      known === null ? { sid: sessionId } : { sid: sessionId, known }
    ).then(([r]) => r)
  })
}

/**
 * A session's rows read whole (`select`, as columns: DuckDB's values converted column by column cost
 * ~40 % less than row by row) for a first memo, together with what the check's scan of the whole session
 * would say, kept for this version: the memo's first read then costs one scan, not two (the series'
 * first read of the same version finds the scan too). Null, having read nothing, without a per-version
 * scratch; null after the read when an id is not an integer DuckDB and JS order alike (a hand-made
 * store): the caller then reads as before.
 */
export async function readWholeWithScan(
  con: DuckDBConnection,
  probe: SchemaProbe,
  sessionId: string,
  select: string,
  perVersion?: PerVersion
): Promise<JS[][] | null> {
  if (!perVersion) return null
  const { fp, needs, time } = scanColumns(probe)
  const columns = columnsOf(await con.runAndReadAll(`SELECT ${select}, id, ${fp}, ${needs}, ${time} FROM llm_requests WHERE session_id = $1`, [sessionId]))
  const [ids, hashes, estimates, times] = columns.slice(-4) as [JS[], JS[], JS[], JS[]]
  const n = ids.length
  let f: bigint | null = null
  let maxId: number | null = null
  let nEst = 0
  let noId = 0
  const byTime: TimeKeyed[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const id = ids[i]
    const hash = hashes[i]
    if (id === null) noId++
    else if ((typeof id === 'number' || typeof id === 'bigint') && Number.isSafeInteger(Number(id))) maxId = Math.max(maxId ?? -Infinity, Number(id))
    else return null
    if (typeof hash !== 'bigint') return null
    f = f === null ? hash : f ^ hash
    if (estimates[i] === true) nEst++
    byTime[i] = { id: id === null ? NaN : Number(id), k: toNumber(times[i]) }
  }
  stats.scans++
  // The row scanPrefix reads for an unknown prefix (bit_xor of no rows is NULL, as max of none).
  const scan: Row = { n, f: f === null ? null : f.toString(), max_id: maxId, n_est: nEst, no_id: noId }
  perVersion.set(scanKey(probe, sessionId, null), Promise.resolve(scan))
  if (noId === 0) perVersion.set(timeKey(probe, sessionId), byTime)
  return columns
}

/** A session's request ids with their time key (epoch ms, the LLM list's "time" sort), in scan order. */
export interface TimeKeyed {
  id: number
  k: number | null
}

const timeKey = (probe: SchemaProbe, sessionId: string) => `llm-time:${shapeOf(probe)}:${sessionId}`

/**
 * Every request of the session with its time key, when readWholeWithScan read them in this version
 * (the summary's first read): the first page of the list sorted by time is then sorted here instead
 * of scanning the session again (a second scan of a 1M-row table, ~4.5 ms). Null otherwise.
 */
export function timeKeyedOf(probe: SchemaProbe, sessionId: string, perVersion: PerVersion | undefined): readonly TimeKeyed[] | null {
  const keyed = (perVersion?.get(timeKey(probe, sessionId)) as TimeKeyed[] | undefined) ?? null
  if (keyed) stats.timeKeyed++
  return keyed
}

/**
 * Checks `before` against the session's rows in this snapshot, in one scan of the small columns (the
 * texts are not read), and says what the session is now.
 */
export async function checkPrefix(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, before: Prefix | undefined, reads?: MemoReads): Promise<Check> {
  const ctx = reads instanceof Map ? undefined : reads
  const shape = shapeOf(probe)
  const known = before && before.shape === shape ? before.maxId : null
  if (ctx && known !== null && before) {
    const appended = await checkAppended(con, probe, sessionId, before, ctx)
    if (appended) return appended
  }
  const r = await scanPrefix(con, probe, sessionId, known, perVersionOf(reads))
  const now: Prefix = { shape, maxId: toNumber(r?.max_id) ?? 0, count: toNumber(r?.n) ?? 0, fingerprint: String(r?.f ?? '') }
  const valid =
    known !== null &&
    before !== undefined &&
    (toNumber(r?.no_id) ?? 0) === 0 &&
    Number.isSafeInteger(now.maxId) &&
    toNumber(r?.old_n) === before.count &&
    (before.count === 0 || String(r?.old_f ?? '') === before.fingerprint)
  // An anchor only for a prefix the next check may trust (else that check scans anyway), and only once the
  // session is read again at a later version: it counts the whole table (~4 ms on 1M rows), which a
  // session opened once never uses. So a live session's second check scans, and anchors.
  if (ctx && known !== null && (toNumber(r?.no_id) ?? 0) === 0) now.anchor = await anchorAt(con, ctx, now.maxId)
  return { valid, now, estimated: toNumber(r?.n_est) ?? 0 }
}

/**
 * The check without a scan of the session: when its rows up to `before.maxId` are provably unchanged
 * (llm-anchor.ts), the session now is `before` plus its rows above that id, read alone. Null when not
 * provable: the caller scans.
 */
async function checkAppended(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, before: Prefix, ctx: ReadContext): Promise<Check | null> {
  const a = before.anchor
  if (!a || a.id !== before.maxId || before.count === 0 || !/^\d+$/.test(before.fingerprint) || !onlyAppendedSince(ctx, a.version, 'llm_requests')) return null
  const r = await oncePerVersion(ctx.perVersion, `prefix-new\u0000${sessionId}\u0000${before.shape}\u0000${before.maxId}`, () => {
    const { fp, needs } = scanColumns(probe)
    return rows(
      con,
      `SELECT count(*) AS n, CAST(bit_xor(fp) AS VARCHAR) AS f, max(id) AS max_id, count(*) FILTER (WHERE needs) AS n_est
       FROM (SELECT id, ${fp} AS fp, ${needs} AS needs FROM llm_requests WHERE session_id = $sid AND id > $after::BIGINT)`,
      { sid: sessionId, after: before.maxId }
    ).then(([r]) => r)
  })
  const n = toNumber(r?.n) ?? 0
  const maxId = n === 0 ? before.maxId : toNumber(r?.max_id)
  if (maxId === null || !Number.isSafeInteger(maxId) || (n > 0 && !/^\d+$/.test(String(r?.f ?? '')))) return null
  // Only now is it known whether these are all the session's new rows.
  const anchor = await movedAnchor(con, ctx, a, maxId)
  if (!anchor) return null
  stats.anchored++
  const fingerprint = n === 0 ? before.fingerprint : (BigInt(before.fingerprint) ^ BigInt(String(r!.f))).toString()
  // The old rows were counted as not estimated when the memo was built (else there is no memo).
  return { valid: true, now: { shape: before.shape, maxId, count: before.count + n, fingerprint, anchor }, estimated: toNumber(r?.n_est) ?? 0 }
}

export const memoKey = (kind: 'summary' | 'series', sessionId: string) => `${kind}\u0000${sessionId}`

/**
 * The memo of `kind` for the session, checked against this snapshot: `before` is the memo when its rows
 * are unchanged (else undefined: build afresh from `check.now`); null when the session must be read in
 * full without a memo (estimated tokens, empty, too long), the memo then dropped.
 */
export async function openMemo<M extends { prefix: Prefix }>(
  con: DuckDBConnection,
  probe: SchemaProbe,
  kind: 'summary' | 'series',
  sessionId: string,
  reads?: MemoReads
): Promise<{ key: string; before: M | undefined; check: Check } | null> {
  const key = memoKey(kind, sessionId)
  const before = memoGet<M>(con, key)
  const check = await checkPrefix(con, probe, sessionId, before?.prefix, reads)
  if (check.estimated > 0 || check.now.count === 0 || check.now.count > MEMO_MAX_ROWS) {
    memoDrop(con, key)
    countRead('full')
    return null
  }
  if (before && !check.valid) countRead('invalidated')
  return { key, before: check.valid ? before : undefined, check }
}

/** DuckDB's quantile_cont over ascending `sorted` (no NULLs): the same position and interpolation. */
export function quantileCont(sorted: readonly number[], q: number): number | null {
  const n = sorted.length
  if (n === 0) return null
  const rn = (n - 1) * q
  const frn = Math.floor(rn)
  const crn = Math.ceil(rn)
  const lo = sorted[frn]!
  if (frn === crn) return lo
  const hi = sorted[crn]!
  // DuckDB's own form (not lo + (hi - lo) * d, which differs in the last bit).
  return lo * (crn - rn) + hi * (rn - frn)
}

/** Inserts `value` into ascending `sorted` (binary search; equal values after the existing ones). */
export function insertSorted(sorted: number[], value: number): void {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! <= value) lo = mid + 1
    else hi = mid
  }
  sorted.splice(lo, 0, value)
}
