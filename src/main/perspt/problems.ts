// User-facing problems of a Perspt store source: what happened and what to do next.
import type { SourceProblem } from '../../shared/model/sources'

export type StoreProblemCode =
  | 'not-found'
  | 'is-directory'
  | 'not-a-file'
  | 'permission-denied'
  | 'empty-file'
  | 'not-duckdb'
  | 'truncated'
  | 'corrupt'
  | 'too-new'
  | 'no-sessions-table'
  | 'busy'
  | 'read-failed'

export function storeProblem(code: StoreProblemCode, path: string, detail?: string): SourceProblem {
  const tail = detail ? ` (${detail})` : ''
  switch (code) {
    case 'not-found':
      return {
        code,
        message: `No Perspt store at ${path}.`,
        hint: 'Run `perspt agent` once to create it, or choose the right perspt.db file. Vigil keeps checking this path.'
      }
    case 'is-directory':
      return {
        code,
        message: `${path} is a folder, not a Perspt store file.`,
        hint: 'Choose the perspt.db file inside it (usually …/perspt/perspt.db).'
      }
    case 'not-a-file':
      return {
        code,
        message: `${path} is not a regular file.`,
        hint: 'Choose a perspt.db file; devices, sockets and pipes cannot be read.'
      }
    case 'permission-denied':
      return {
        code,
        message: `Vigil is not allowed to read ${path}${tail}.`,
        hint: 'Give your user read permission on the file and its folder (Vigil never writes to it), or copy it somewhere readable.'
      }
    case 'empty-file':
      return {
        code,
        message: `${path} is empty.`,
        hint: 'A new Perspt store is written on first use; run `perspt agent`, or choose another file.'
      }
    case 'not-duckdb':
      return {
        code,
        message: `${path} is not a DuckDB database${tail}.`,
        hint: 'Perspt stores are DuckDB files named perspt.db. Check that you chose the right file.'
      }
    case 'truncated':
      return {
        code,
        message: `${path} looks truncated: DuckDB expected more data than the file holds.`,
        hint: 'The file may be a partial copy or download. Use the original perspt.db (with its perspt.db.wal beside it).'
      }
    case 'corrupt':
      return {
        code,
        message: `${path} is damaged: DuckDB found corrupt data${tail}.`,
        hint: 'Vigil only reads a copy, so nothing got worse. Restore the store from a backup, or move it aside so Perspt creates a new one.'
      }
    case 'too-new':
      return {
        code,
        message: `${path} was written by a newer DuckDB than Vigil bundles${tail}.`,
        hint: 'Update Vigil to a release with a newer DuckDB.'
      }
    case 'no-sessions-table':
      return {
        code,
        message: `${path} is a DuckDB database, but not a Perspt store: it has no sessions table.`,
        hint: 'Choose the perspt.db that Perspt writes (by default in its data folder).'
      }
    case 'busy':
      return {
        code,
        message: `${path} kept changing while Vigil copied it.`,
        hint: 'Vigil retries on the next poll; nothing to do unless this persists.'
      }
    case 'read-failed':
      return {
        code,
        message: `Vigil could not read ${path}${tail}.`,
        hint: 'Check that the file is a Perspt store and readable; Vigil keeps retrying.'
      }
  }
}

/** Classifies an fs error from stat/copy of the user's file. */
export function fsProblemCode(err: unknown): StoreProblemCode {
  const code = (err as NodeJS.ErrnoException | null)?.code
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'not-found'
  if (code === 'EACCES' || code === 'EPERM') return 'permission-denied'
  if (code === 'EISDIR') return 'is-directory'
  return 'read-failed'
}

/** Classifies the first bytes of a copy: DuckDB files carry "DUCK" at offset 8. */
export function headerProblemCode(head: Uint8Array): StoreProblemCode | null {
  if (head.length === 0) return 'empty-file'
  const magic = new TextDecoder().decode(head.subarray(8, 12))
  if (head.length >= 12 && magic === 'DUCK') return null
  return 'not-duckdb'
}

/** A human name for a few well-known non-DuckDB formats, for the message. */
export function sniffFormat(head: Uint8Array): string | undefined {
  const ascii = new TextDecoder('latin1').decode(head.subarray(0, 16))
  if (ascii.startsWith('SQLite format 3')) return 'it is a SQLite database'
  if (ascii.startsWith('PK')) return 'it is a ZIP archive'
  if (ascii.startsWith('PAR1')) return 'it is a Parquet file'
  return undefined
}

/** Classifies an error DuckDB raised while opening or probing a copy. */
export function duckdbProblemCode(err: unknown): StoreProblemCode {
  const message = err instanceof Error ? err.message : String(err)
  if (/not a valid DuckDB database file/i.test(message)) return 'not-duckdb'
  if (/Could not read enough bytes|Unexpected end of file|read past end/i.test(message)) return 'truncated'
  if (/Corrupt|checksum|Serialization Error|INTERNAL Error/i.test(message)) return 'corrupt'
  if (/newer version|storage version|created with a newer/i.test(message)) return 'too-new'
  return 'read-failed'
}
