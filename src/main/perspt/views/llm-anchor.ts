// Whether a session's LLM rows up to an id are still the ones an earlier snapshot read, without reading
// them: a live session's memo check and first page would otherwise scan the whole session at every
// snapshot, a cost that grows with the session's age.
//
// An anchor, taken at a version, counts the table's rows and those with an id above `id`. Later, when
// llm_requests only gained rows since (the WAL's row changes say so, see ReadContext), every row it
// had is still there unchanged; the rows it gained are all above `id` exactly when the table gained as
// many rows as the part above `id` did. A row inserted at or below `id`, or with no id (NULL is not
// above anything), breaks the equality: the caller then scans as before. Both counts are cheap: the
// table's row count is metadata, and the rows above an id are the newest.
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

/** Counted once per version and id (the summary, the series and the first page ask alike). */
function counted(con: DuckDBConnection, ctx: ReadContext, key: string, sql: string): Promise<number> {
  const k = `llm-anchor\u0000${key}`
  let p = ctx.perVersion.get(k) as Promise<number> | undefined
  if (!p) {
    p = rows(con, sql).then(([r]) => toNumber(r?.n) ?? 0)
    ctx.perVersion.set(k, p)
    p.catch(() => ctx.perVersion.delete(k))
  }
  return p
}

/** The anchor at `id` for the version `ctx` reads. Ids are safe integers (callers check). */
export async function anchorAt(con: DuckDBConnection, ctx: ReadContext, id: number): Promise<Anchor> {
  const [tableRows, above] = await Promise.all([
    counted(con, ctx, 'rows', 'SELECT count(*) AS n FROM llm_requests'),
    counted(con, ctx, `above\u0000${id}`, `SELECT count(*) AS n FROM llm_requests WHERE id > ${id}`)
  ])
  return { version: ctx.version, id, tableRows, above }
}

/**
 * The anchor moved to this version when every row llm_requests had at `a.version` is unchanged and every
 * row it gained since has an id above `a.id`; null when that is not known (then scan).
 */
export async function stillAnchored(con: DuckDBConnection, ctx: ReadContext, a: Anchor | undefined): Promise<Anchor | null> {
  if (!a || !Number.isSafeInteger(a.id) || !onlyAppendedSince(ctx, a.version, 'llm_requests')) return null
  const now = await anchorAt(con, ctx, a.id)
  return now.tableRows - a.tableRows === now.above - a.above ? now : null
}
