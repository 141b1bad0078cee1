// Small SQL helpers shared by the Summary, DAG and Energy readers (all queries filter on session_id).
import type { DuckDBConnection, DuckDBResultReader, JS } from '@duckdb/node-api'
import type { DisplayStatus } from '../../../shared/model/perspt'
import type { PersptTable } from '../schema'
import { mapSessionStatus, text } from '../store-reader'
import type { SchemaProbe } from '../store-reader'

export type Row = Record<string, JS>

export async function rows(con: DuckDBConnection, sql: string, params: Record<string, string | number> = {}): Promise<Row[]> {
  return (await con.runAndReadAll(sql, params)).getRowObjectsJS()
}

/**
 * A result's values column by column (cheaper to convert than row by row), with one array per column
 * even when no row came back (getColumnsJS then gives none).
 */
export function columnsOf(reader: DuckDBResultReader): JS[][] {
  const columns = reader.getColumnsJS()
  return columns.length === reader.columnCount ? columns : Array.from({ length: reader.columnCount }, () => [])
}

/** DuckDB's VARCHAR order (UTF-8 bytes, i.e. code points), which differs from `<` on surrogate pairs. */
export function compareBinary(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i)! < b.codePointAt(i)! ? -1 : 1
  }
  return a.length - b.length
}

/** The table exists and has every column named. */
export function has(probe: SchemaProbe, table: PersptTable, ...columns: string[]): boolean {
  const cols = probe.columns.get(table)
  return cols !== undefined && columns.every((c) => cols.has(c.toLowerCase()))
}

/** `column AS alias` when present, else `NULL AS alias`: stores lacking a column still read. */
export function col(probe: SchemaProbe, table: PersptTable, column: string, alias = column): string {
  return has(probe, table, column) ? `${column} AS ${alias}` : `NULL AS ${alias}`
}

/** Epoch ms of a naive TIMESTAMP column read as UTC, or NULL when the table lacks it. */
export function msOf(probe: SchemaProbe, table: PersptTable, column: string): string {
  return has(probe, table, column) ? `epoch_ms(TRY_CAST(${column} AS TIMESTAMP))` : 'NULL'
}

/** `ORDER BY` terms for "oldest first" on a time column plus id (when present). */
export function timeOrder(probe: SchemaProbe, table: PersptTable, column: string, dir: 'ASC' | 'DESC'): string {
  const terms: string[] = []
  if (has(probe, table, column)) terms.push(`TRY_CAST(${column} AS TIMESTAMP) ${dir} ${dir === 'ASC' ? 'NULLS FIRST' : 'NULLS LAST'}`)
  if (has(probe, table, 'id')) terms.push(`id ${dir}`)
  return terms.length > 0 ? terms.join(', ') : '1'
}

/**
 * The time timeOrder sorts on first, exactly (epoch µs of the same TRY_CAST), as `at_us`: for rows
 * read unsorted and put in order by sortedOldestFirst. NULL for a NULL, unreadable or infinite time.
 */
export function usOf(probe: SchemaProbe, table: PersptTable, column: string): string {
  return `${has(probe, table, column) ? `epoch_us(TRY_CAST(${column} AS TIMESTAMP))` : 'NULL::BIGINT'} AS at_us`
}

/**
 * Rows read unsorted with usOf's `at_us` (and `id`), in timeOrder(…, 'ASC') order: time, then id
 * (NULL ids last, as DuckDB's ASC); equal keys keep the scan order. Null when some time is NULL,
 * unreadable or infinite (hostile rows; epoch_us cannot tell them apart): the caller then lets DuckDB
 * sort. Sorting a session's rows here costs far less than DuckDB's ORDER BY, which took a session's
 * energy read from 2.2 to 3.7 ms (100 passes, 154 MB store; issue 17's per-view ratio).
 */
export function sortedOldestFirst(found: Row[]): Row[] | null {
  for (const r of found) if (r.at_us === null || r.at_us === undefined) return null
  return [...found].sort((a, b) => {
    const x = a.at_us as bigint
    const y = b.at_us as bigint
    if (x !== y) return x < y ? -1 : 1
    const i = a.id
    const j = b.id
    if (i === j || i === undefined || j === undefined) return 0
    if (i === null) return 1
    if (j === null) return -1
    return (i as number | bigint) < (j as number | bigint) ? -1 : (i as number | bigint) > (j as number | bigint) ? 1 : 0
  })
}

/** The session's display status as readSessions maps it (a RUNNING session counts as live unless told otherwise). */
export async function sessionStatus(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, agentLive = true): Promise<DisplayStatus> {
  if (!has(probe, 'sessions', 'session_id', 'status')) return 'unknown'
  const r = await rows(con, 'SELECT status FROM sessions WHERE session_id = $sid LIMIT 1', { sid: sessionId })
  return mapSessionStatus(r.length > 0 ? (text(r[0]!.status) ?? '') : '', agentLive)
}
