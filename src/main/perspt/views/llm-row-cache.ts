// Rows of the LLM table kept across snapshots: a live session's newest-first page is mostly the rows
// the last snapshot showed, so only the ids new to the page are read (their previews cut from the
// texts). Kept while llm_requests only gained rows since (the WAL's row changes tell); an UPDATE, a
// DELETE, a different file or a new schema starts over.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { LlmRequestRow } from '../../../shared/model/perspt-views'
import { onlyAppendedSince, type ReadContext } from '../read-context'

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
