// User-facing problems of a Perspt store source: what happened and what to do next.
import { accessSync, constants } from 'node:fs'
import type { SourceProblem } from '../../shared/model/sources'

/** A copy refused although its source can be read: the destination refused it. */
function isReadable(path: unknown): boolean {
  if (typeof path !== 'string') return false
  try {
    accessSync(path, constants.R_OK)
    return true
  } catch {
    return false
  }
}

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
  | 'no-space'
  | 'private-folder'

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
    case 'no-space':
      return {
        code,
        message: `No room to copy ${path} for reading: the disk of Vigil's private folder is full${tail}.`,
        hint: 'Free space on that disk (or start Vigil with TMPDIR on a bigger one). Vigil retries by itself and keeps showing what it last read; the store is untouched.'
      }
    case 'private-folder':
      return {
        code,
        message: `Vigil cannot write its private copy of ${path}: its private folder is not writable${tail}.`,
        hint: 'Make that folder writable (or start Vigil with TMPDIR elsewhere). Vigil retries by itself; the store itself is never written.'
      }
    case 'read-failed':
      return {
        code,
        message: `Vigil could not read ${path}${tail}.`,
        hint: 'Check that the file is a Perspt store and readable; Vigil keeps retrying.'
      }
  }
}

/**
 * Classifies an fs error from stat/copy of the user's file. With `privateRoot` (Vigil's private copies
 * live under it), errors writing there are told apart: Vigil only ever reads the user's file, so a full
 * disk or a read-only file system is the private folder's, and so is a refusal naming a path in it.
 */
export function fsProblemCode(err: unknown, privateRoot?: string): StoreProblemCode {
  const e = err as (NodeJS.ErrnoException & { dest?: string }) | null
  const code = e?.code
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'no-space'
  if (privateRoot !== undefined) {
    const inPrivate = (p: unknown) => typeof p === 'string' && (p === privateRoot || p.startsWith(`${privateRoot}/`) || p.startsWith(`${privateRoot}\\`))
    if (code === 'EROFS') return 'private-folder'
    // A recursive mkdir on a read-only file system reports ENOENT for the first missing folder on the
    // way to the private folder, not EROFS; mkdtemp then fails the same way inside it.
    const onTheWay = (p: unknown) => typeof p === 'string' && (inPrivate(p) || privateRoot.startsWith(`${p}/`))
    if (code === 'ENOENT' && (e?.syscall === 'mkdir' || e?.syscall === 'mkdtemp') && onTheWay(e?.path)) return 'private-folder'
    if ((code === 'EACCES' || code === 'EPERM') && (inPrivate(e?.path) || inPrivate(e?.dest) || (e?.syscall === 'copyfile' && isReadable(e?.path)))) return 'private-folder'
  }
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
