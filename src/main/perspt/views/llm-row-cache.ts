// Rows of the LLM table kept across snapshots: a live session's newest-first page is mostly the rows
// the last snapshot showed, so only the ids new to the page are read (their previews cut from the
// texts). Kept while llm_requests only gained rows since (the WAL's row changes tell); an UPDATE, a
// DELETE, a different file or a new schema starts over.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { LlmRequestRow } from '../../../shared/model/perspt-views'
import { onlyAppendedSince, type ReadContext } from '../read-context'
import { anchorAt, movedAnchor, type Anchor } from './llm-anchor'

/** Rows kept per store connection; the oldest kept go first past this. */
export const ROW_CACHE_MAX = 2_000

interface Kept {
  version: number
  shape: string
  rows: Map<string, LlmRequestRow>
}

const kept = new WeakMap<DuckDBConnection, Kept>()
const stats = { reused: 0, read: 0, reset: 0 }

/** Rows served from the cache, rows read, and times it started over (tests, benchmarks). */
export function llmRowCacheStats(): { reused: number; read: number; reset: number } {
  return { ...stats }
}

const keyOf = (sessionId: string, id: number) => `${id}\u0000${sessionId}`

/** The rows still valid at this read's version (an empty cache when they cannot be trusted). */
function cacheFor(con: DuckDBConnection, shape: string, ctx: ReadContext): Kept {
  const k = kept.get(con)
  if (k && k.shape === shape && onlyAppendedSince(ctx, k.version, 'llm_requests')) {
    k.version = ctx.version
    return k
  }
  if (k) stats.reset++
  const fresh: Kept = { version: ctx.version, shape, rows: new Map() }
  kept.set(con, fresh)
  return fresh
}

/**
 * The rows of `ids` (in that order, unknown ids left out): kept ones as they are, the others from
 * `read` (called once, with the missing ids only) and kept for the next snapshot.
 */
export async function rowsById(
  con: DuckDBConnection,
  shape: string,
  ctx: ReadContext | undefined,
  sessionId: string,
  ids: readonly number[],
  read: (missing: number[]) => Promise<Map<number, LlmRequestRow>>
): Promise<LlmRequestRow[]> {
  const cache = ctx ? cacheFor(con, shape, ctx) : null
  const missing = cache ? ids.filter((id) => !cache.rows.has(keyOf(sessionId, id))) : [...ids]
  const got = missing.length > 0 ? await read(missing) : new Map<number, LlmRequestRow>()
  stats.read += got.size
  stats.reused += ids.length - missing.length
  if (cache) {
    for (const [id, row] of got) cache.rows.set(keyOf(sessionId, id), row)
    while (cache.rows.size > ROW_CACHE_MAX) cache.rows.delete(cache.rows.keys().next().value!)
  }
  return ids.flatMap((id) => {
    const row = got.get(id) ?? cache?.rows.get(keyOf(sessionId, id))
    return row ? [row] : []
  })
}

/** A first page's order (ids with their numeric sort key), kept for the next snapshot. */
interface KeptTop {
  version: number
  shape: string
  /** Rows matching the page's filters, and the largest id among them. */
  total: number
  maxId: number
  top: { id: number; k: number | null }[]
  /** Where maxId stood in the table (llm-anchor.ts): new rows provably above it need no count. */
  anchor?: Anchor
}

/** First pages kept per store connection (one per sort and filter asked for lately). */
const MAX_TOPS = 8
const tops = new WeakMap<DuckDBConnection, Map<string, KeptTop>>()
const topStats = { merged: 0, full: 0, anchored: 0 }

/** First pages merged from new rows (of them, without counting the session: anchored), and read in full (tests, benchmarks). */
export function llmTopStats(): { merged: number; full: number; anchored: number } {
  return { ...topStats }
}

export interface FirstPageReads {
  /** The page read in full: every matching row's key sorted (cost grows with the session). */
  full(): Promise<{ total: number; maxId: number; top: { id: number; k: number | null }[] }>
  /** The rows matching the filters with an id above `maxId`. */
  above(maxId: number): Promise<{ id: number; k: number | null }[]>
  /** How many rows match the filters in all now (its cost grows with the session). */
  count(): Promise<number>
}

/** The list's order on a numeric key: `ORDER BY k ${dir} NULLS LAST, id ${dir}`. */
export function keyOrder(dir: 'ASC' | 'DESC'): (a: { id: number; k: number | null }, b: { id: number; k: number | null }) => number {
  const sign = dir === 'DESC' ? -1 : 1
  return (a, b) => (a.k === b.k ? 0 : a.k === null ? 1 : b.k === null ? -1 : sign * (a.k - b.k)) || sign * (a.id - b.id)
}

/**
 * The first page (`limit` rows) of a list sorted by a numeric key (NULLS LAST, then id, both in `dir`),
 * and the total. While the table only gained rows since the last snapshot, the new page is the old
 * page merged with the new rows: exact when every new matching row has an id above the old ones (the
 * count says so: old total + new rows = total now). Otherwise, and first, it is read in full.
 */
export async function firstPage(
  con: DuckDBConnection,
  shape: string,
  ctx: ReadContext,
  key: string,
  dir: 'ASC' | 'DESC',
  limit: number,
  reads: FirstPageReads
): Promise<{ total: number; ids: number[] }> {
  let byKey = tops.get(con)
  if (!byKey) tops.set(con, (byKey = new Map()))
  const kept = byKey.get(key)
  byKey.delete(key)
  let next: KeptTop | null = null
  if (kept && kept.shape === shape && onlyAppendedSince(ctx, kept.version, 'llm_requests')) {
    const added = await reads.above(kept.maxId)
    const maxId = added.reduce((m, r) => Math.max(m, r.id), kept.maxId)
    // Every new row above the old ones: proven by the anchor without counting the session, else by the count.
    const anchor = await movedAnchor(con, ctx, kept.anchor, maxId)
    const total = anchor ? kept.total + added.length : await reads.count()
    if (total === kept.total + added.length && added.every((r) => Number.isSafeInteger(r.id) && r.id > kept.maxId)) {
      const top = [...kept.top, ...added].sort(keyOrder(dir)).slice(0, limit)
      next = { version: ctx.version, shape, total, maxId, top, anchor: anchor ?? (await anchorAt(con, ctx, maxId)) }
      topStats.merged++
      if (anchor) topStats.anchored++
    }
  }
  if (next === null) {
    const read = await reads.full()
    next = { version: ctx.version, shape, ...read, top: read.top.slice(0, limit) }
    topStats.full++
    // A row without a usable id (a hand-made store) holds a place DuckDB ranks: such a page is not merged later.
    if (next.top.some((r) => !Number.isSafeInteger(r.id))) {
      return { total: next.total, ids: next.top.map((r) => r.id).filter((id) => Number.isSafeInteger(id)) }
    }
    // No anchor yet: it counts the whole table (~4 ms on 1M rows), and most pages read in full are never
    // read again at a later version (a stored session opened once). The first merge counts the session
    // instead, then anchors.
  }
  byKey.set(key, next)
  while (byKey.size > MAX_TOPS) byKey.delete(byKey.keys().next().value!)
  return { total: next.total, ids: next.top.map((r) => r.id) }
}
