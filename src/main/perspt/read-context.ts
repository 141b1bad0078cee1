// What a read of a store's snapshot may know besides the snapshot itself (PersptStore.query passes it).
import type { TableChanges } from './wal-tail'

export interface ReadContext {
  /** Results reads of this version share (a scan two views both need); cleared at the next version. */
  perVersion: Map<string, unknown>
  /** The store's version this read sees. */
  version: number
  /**
   * Row changes per table between `version` and this one (from the WAL bytes each tail snapshot
   * added); null when not known for every version in between: then any table may have changed.
   */
  changesSince(version: number): TableChanges | null
}

/** Whether, since `version`, `table` at most gained rows (none changed in place or deleted), as far as is known. */
export function onlyAppendedSince(ctx: ReadContext, version: number, table: string): boolean {
  const changes = ctx.changesSince(version)
  if (changes === null) return false
  const ops = changes.get(table)
  return ops === undefined || [...ops].every((op) => op === 'insert')
}
