// Whether a session's LLM rows up to an id are still the ones an earlier snapshot read, without reading
// them: a live session's memo check and first page would otherwise scan the whole session at every
// snapshot, a cost that grows with the session's age.
//
// An anchor, taken at a version, counts the table's rows and those with an id above `id`. Later, when
// llm_requests only gained rows since (the WAL's row changes say so, see ReadContext), every row it
// had is still there unchanged; the rows it gained are all above `id` exactly when the table gained as
// many rows as the part above `id` did. A row inserted at or below `id`, or with no id (NULL is not
// above anything), breaks the equality: the caller then scans as before. The counts read the id
// column only, for every id a version asks about in one query (a query's fixed cost is most of it).
import type { DuckDBConnection } from '@duckdb/node-api'
import { toNumber } from '../store-reader'
import { onlyAppendedSince, type ReadContext } from '../read-context'
import { rows } from './dag-sql'

export interface Anchor {
  version: number
  id: number
  /** Rows in llm_requests at `version`. */
  tableRows: number
  /** Rows in llm_requests with an id above `id` at `version`. */
  above: number
}

interface Counts {
  tableRows: number
  above: Map<number, number>
}

const COUNTS_KEY = 'llm-anchor-counts'

/** The table's rows and the rows above each of `ids` at the version `ctx` reads (kept for the version). */
async function countsFor(con: DuckDBConnection, ctx: ReadContext, ids: readonly number[]): Promise<Counts> {
  const kept = ctx.perVersion.get(COUNTS_KEY) as Counts | undefined
  const missing = [...new Set(ids)].filter((id) => !kept?.above.has(id))
  if (kept && missing.length === 0) return kept
  // Ids are safe integers (anchorAt and movedAnchor check): they go into the SQL as numbers.
  const [r] = await rows(con, `SELECT count(*) AS n${missing.map((id, i) => `, count(*) FILTER (WHERE id > ${id}) AS a${i}`).join('')} FROM llm_requests`)
  const counts: Counts = kept ?? { tableRows: toNumber(r?.n) ?? 0, above: new Map() }
  missing.forEach((id, i) => counts.above.set(id, toNumber(r?.[`a${i}`]) ?? 0))
  ctx.perVersion.set(COUNTS_KEY, counts)
  return counts
}

/** The anchor at `id` for the version `ctx` reads; none for an id that is not a safe integer (a hand-made store). */
export async function anchorAt(con: DuckDBConnection, ctx: ReadContext, id: number): Promise<Anchor | undefined> {
  if (!Number.isSafeInteger(id)) return undefined
  const c = await countsFor(con, ctx, [id])
  return { version: ctx.version, id, tableRows: c.tableRows, above: c.above.get(id)! }
}

/**
 * When every row llm_requests had at `a.version` is unchanged and every row it gained since has an id
 * above `a.id`: the anchor at `next` (the caller's new last id, ≥ a.id) for this version. Null when that
 * is not known (then scan). One query for both ids.
 */
export async function movedAnchor(con: DuckDBConnection, ctx: ReadContext, a: Anchor | undefined, next: number): Promise<Anchor | null> {
  if (!a || !Number.isSafeInteger(a.id) || !Number.isSafeInteger(next) || !onlyAppendedSince(ctx, a.version, 'llm_requests')) return null
  const c = await countsFor(con, ctx, [a.id, next])
  if (c.tableRows - a.tableRows !== c.above.get(a.id)! - a.above) return null
  return { version: ctx.version, id: next, tableRows: c.tableRows, above: c.above.get(next)! }
}
