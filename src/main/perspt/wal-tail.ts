// Replaying only the new bytes of the agent's WAL onto a privately checkpointed copy
// (shared/spec/perspt-wal-tail.md). A snapshot is then `base.db` (every transaction up to `offset`, no
// WAL) + a private WAL made of the agent WAL's 8-byte head and its bytes from `offset` to the end of
// the last *complete* transaction. Everything here works on Vigil's private files or on bytes read
// from the agent's WAL; the agent's files are never opened for writing.
import { copyFile, mkdir, open, rm, truncate, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'

/** The version entry DuckDB 1.5 writes first in every WAL (field 100 = WAL_VERSION, field 101 = 2). */
export const WAL_HEAD = Buffer.from('640062650002ffff', 'hex')
/** Payload of the WAL_FLUSH entry that ends every transaction (field 100 = type 100, end of object). */
const FLUSH_PAYLOAD = Buffer.from('640064ffff', 'hex')

/** DuckDB 1.5's WAL entry types (WALType) that Vigil reads: the first field of each entry's payload. */
export const WAL_ENTRY = { SEQUENCE_VALUE: 10, USE_TABLE: 25, INSERT_TUPLE: 26, DELETE_TUPLE: 27, UPDATE_TUPLE: 28, ROW_GROUP_DATA: 29, WAL_FLUSH: 100 } as const
/** Larger entries than this are not believed (a mis-framed read) and send the reader to a full copy. */
const MAX_ENTRY_BYTES = 1 << 30

/**
 * Calls `visit` with each complete entry in `bytes` (WAL entries starting at its offset 0): each entry
 * is a u64 size, a u64 checksum and a payload in DuckDB's binary serializer (field 100 first: the
 * entry's type; 0xffff last). A trailing entry still being written is not visited. Stops early when
 * `visit` returns false. Returns false when the bytes are not framed that way (another WAL format).
 */
export function walkEntries(bytes: Uint8Array, visit: (buf: Buffer, start: number, end: number, type: number) => boolean): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let off = 0
  while (off + 16 <= buf.length) {
    const size = buf.readBigUInt64LE(off)
    if (size < 4n || size > BigInt(MAX_ENTRY_BYTES)) return false
    const start = off + 16
    const end = start + Number(size)
    if (end > buf.length) break
    if (buf[start] !== 0x64 || buf[start + 1] !== 0x00 || buf[end - 2] !== 0xff || buf[end - 1] !== 0xff) return false
    if (!visit(buf, start, end, buf[start + 2]!)) break
    off = end
  }
  return true
}

/**
 * The end of the last complete transaction in `bytes` (each transaction ends with a WAL_FLUSH entry).
 * Returns 0 when no transaction is complete, null when the bytes are not framed as walkEntries reads them.
 */
export function lastCommitEnd(bytes: Uint8Array): number | null {
  let last = 0
  const framed = walkEntries(bytes, (buf, start, end) => {
    if (end - start === FLUSH_PAYLOAD.length && buf.subarray(start, end).equals(FLUSH_PAYLOAD)) last = end
    return true
  })
  return framed ? last : null
}

/**
 * WAL entry types that only change rows (SEQUENCE_VALUE, USE_TABLE, INSERT_TUPLE, DELETE_TUPLE,
 * UPDATE_TUPLE, ROW_GROUP_DATA, WAL_FLUSH); every other one (CREATE, ALTER, DROP, an index…) may change
 * the catalog. The type is the first field of each payload (`64 00 <type>`).
 */
const ROW_ENTRY_TYPES = new Set<number>(Object.values(WAL_ENTRY))

/**
 * Whether the complete entries in `bytes` may change the catalog: true for any entry that is not a row
 * change, and when the bytes are not framed as expected.
 */
export function mayChangeCatalog(bytes: Uint8Array): boolean {
  let catalog = false
  const framed = walkEntries(bytes, (_buf, _start, _end, type) => {
    if (!ROW_ENTRY_TYPES.has(type)) catalog = true
    return !catalog
  })
  return catalog || !framed
}

/** What a run of WAL entries did to one table's rows. */
export type RowOp = 'insert' | 'delete' | 'update'
/** Tables (by name; `schema.table` outside main) whose rows the entries changed, and how. */
export type TableChanges = ReadonlyMap<string, ReadonlySet<RowOp>>

const OP_OF_ENTRY: Record<number, RowOp> = { [WAL_ENTRY.INSERT_TUPLE]: 'insert', [WAL_ENTRY.DELETE_TUPLE]: 'delete', [WAL_ENTRY.UPDATE_TUPLE]: 'update', [WAL_ENTRY.ROW_GROUP_DATA]: 'insert' }
/** SEQUENCE_VALUE and WAL_FLUSH change no table's rows. */
const NO_TABLE_ENTRY = new Set<number>([WAL_ENTRY.SEQUENCE_VALUE, WAL_ENTRY.WAL_FLUSH])

/** A string property of DuckDB's binary serializer at `off`: field id (u16), LEB128 length, bytes. */
function stringField(buf: Buffer, off: number, field: number, end: number): { value: string; next: number } | null {
  if (off + 3 > end || buf.readUInt16LE(off) !== field) return null
  let pos = off + 2
  let length = 0
  for (let shift = 0; ; shift += 7) {
    if (pos >= end || shift > 28) return null
    const b = buf[pos++]!
    length |= (b & 0x7f) << shift
    if ((b & 0x80) === 0) break
  }
  if (pos + length > end) return null
  return { value: buf.toString('utf8', pos, pos + length), next: pos + length }
}

/**
 * Which tables the complete entries in `bytes` changed rows of, read from the USE_TABLE entries that
 * precede each INSERT / DELETE / UPDATE / ROW_GROUP_DATA. Null when that cannot be told: an entry
 * that may change the catalog, a row change before any USE_TABLE, bytes not framed as expected.
 */
export function tableChanges(bytes: Uint8Array): TableChanges | null {
  const out = new Map<string, Set<RowOp>>()
  let table: string | null = null
  let known = true
  const framed = walkEntries(bytes, (buf, start, end, type) => {
    if (type === WAL_ENTRY.USE_TABLE) {
      const schema = stringField(buf, start + 3, 101, end)
      const name = schema && stringField(buf, schema.next, 102, end)
      if (!schema || !name) return (known = false)
      table = schema.value === 'main' ? name.value : `${schema.value}.${name.value}`
    } else if (OP_OF_ENTRY[type]) {
      if (table === null) return (known = false)
      let ops = out.get(table)
      if (!ops) out.set(table, (ops = new Set()))
      ops.add(OP_OF_ENTRY[type]!)
    } else if (!NO_TABLE_ENTRY.has(type)) {
      return (known = false)
    }
    return true
  })
  return framed && known ? out : null
}

/**
 * lastCommitEnd over the file `path` from byte `from` to `to` without holding it in memory: returns the
 * absolute offset of the end of the last complete transaction (`from` when none), null when mis-framed.
 */
export async function scanCommitEnd(path: string, from: number, to: number): Promise<number | null> {
  const handle = await open(path, 'r')
  const CHUNK = 8 << 20
  try {
    let win = Buffer.alloc(0)
    let winStart = from
    const bytesAt = async (pos: number, length: number): Promise<Buffer> => {
      if (pos >= winStart && pos + length <= winStart + win.length) return win.subarray(pos - winStart, pos - winStart + length)
      if (length > CHUNK) {
        const buf = Buffer.alloc(length)
        const { bytesRead } = await handle.read(buf, 0, length, pos)
        return buf.subarray(0, bytesRead)
      }
      const buf = Buffer.alloc(Math.min(CHUNK, Math.max(length, to - pos)))
      const { bytesRead } = await handle.read(buf, 0, buf.length, pos)
      win = buf.subarray(0, bytesRead)
      winStart = pos
      return win.subarray(0, Math.min(length, bytesRead))
    }
    let off = from
    let end = from
    while (off + 16 <= to) {
      const header = await bytesAt(off, 16)
      if (header.length < 16) break
      const size = header.readBigUInt64LE(0)
      if (size < 4n || size > BigInt(MAX_ENTRY_BYTES)) return null
      const n = Number(size)
      const start = off + 16
      if (start + n > to) break
      const first = await bytesAt(start, n === FLUSH_PAYLOAD.length ? n : 2)
      const last = await bytesAt(start + n - 2, 2)
      if (first[0] !== 0x64 || first[1] !== 0x00 || last[0] !== 0xff || last[1] !== 0xff) return null
      off = start + n
      if (n === FLUSH_PAYLOAD.length && first.equals(FLUSH_PAYLOAD)) end = off
    }
    return end
  } finally {
    await handle.close()
  }
}

/** Reads `length` bytes of `path` from `position` (the agent's WAL: a read-only descriptor). */
export async function readRange(path: string, position: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const buf = Buffer.alloc(length)
    let done = 0
    while (done < length) {
      const { bytesRead } = await handle.read(buf, done, length - done, position + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
    return buf.subarray(0, done)
  } finally {
    await handle.close()
  }
}

/** Opens for a private checkpoint: never vacuums (row ids must stay those the agent's WAL addresses). */
const CHECKPOINT_OPTIONS: Record<string, string> = {
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  threads: '1',
  memory_limit: '256MB',
  max_vacuum_tasks: '0',
  checkpoint_threshold: '1TB'
}
/**
 * Row groups of a private base. A checkpoint rewrites every row group that rows were appended to: with
 * DuckDB's default (122,880 rows) that is a whole session's LLM rows (prompts included) at every fold,
 * a cost that grows with the session. Small groups bound it to the last one. Row ids do not change
 * (they count rows across groups), so the agent's UPDATEs and DELETEs still address the right rows.
 */
const BASE_ROW_GROUP_ROWS = 2048

/**
 * `dbPath` attached to an in-memory DuckDB that may read nothing else. ATTACH, not a direct open:
 * DuckDB 1.5 fails to replay a WAL holding an ALTER of a table with a nextval() default (Perspt's
 * node_states migration) into a database opened directly ("GetDefaultDatabase with no default
 * database set"), and replays it fine into an attached one.
 */
async function attached<T>(dbPath: string, how: string, use: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', CHECKPOINT_OPTIONS)
  try {
    const con = await instance.connect()
    try {
      const dir = dirname(dbPath).replace(/'/g, "''")
      // Spills go next to the private copy, never into the process's working folder (./.tmp).
      await con.run(`SET temp_directory = '${dir}/spill'`)
      await con.run(`SET allowed_directories = ['${dir}']; SET enable_external_access = false`)
      await con.run(`ATTACH '${dbPath.replace(/'/g, "''")}' AS private_copy (${how}); USE private_copy`)
      return await use(con)
    } finally {
      con.closeSync()
    }
  } finally {
    instance.closeSync()
  }
}

export interface TailBase {
  dir: string
  /** The checkpointed private copy (no WAL next to it); only ever opened read-only once built. */
  dbPath: string
  /** Bytes of the agent's WAL (from its start) whose transactions the base holds. */
  offset: number
}

/**
 * Builds a base in `dir` from a private full snapshot (`fromDb` + `fromDb.wal`, `walSize` bytes): copies
 * both, cuts the WAL at its last complete transaction, opens it read-write and checkpoints. Returns null
 * when the WAL is not one this reader knows (the full copy stays in use).
 */
export async function buildBase(dir: string, fromDb: string, walSize: number): Promise<TailBase | null> {
  const wal = `${fromDb}.wal`
  if (walSize < WAL_HEAD.length || !(await readRange(wal, 0, WAL_HEAD.length)).equals(WAL_HEAD)) return null
  const offset = await scanCommitEnd(wal, WAL_HEAD.length, walSize)
  if (offset === null) return null
  await mkdir(dir, { recursive: true })
  const dbPath = join(dir, 'base.db')
  await copyFile(fromDb, dbPath)
  await copyFile(wal, `${dbPath}.wal`)
  await truncate(`${dbPath}.wal`, offset)
  await checkpoint(dbPath)
  return { dir, dbPath, offset }
}

/** A new base from `base` plus the private tail WAL `tailWal` (head + agent bytes from base.offset to `offset`). */
export async function rebase(base: TailBase, dir: string, tailWal: Buffer, offset: number): Promise<TailBase> {
  await mkdir(dir, { recursive: true })
  const dbPath = join(dir, 'base.db')
  await copyFile(base.dbPath, dbPath)
  await writeFile(`${dbPath}.wal`, tailWal)
  await checkpoint(dbPath)
  return { dir, dbPath, offset }
}

/**
 * Folds the agent WAL's bytes `tail` (from `base.offset` to the end of a transaction) into `base` in
 * place: no copy of the base, so the cost of a fold does not grow with the store (the checkpoint
 * rewrites only the last row group of each table the tail touched). The base must not be open anywhere.
 */
export async function foldInPlace(base: TailBase, tail: Uint8Array, offset: number): Promise<TailBase> {
  await writeFile(`${base.dbPath}.wal`, Buffer.concat([WAL_HEAD, tail]))
  await checkpoint(base.dbPath)
  return { dir: base.dir, dbPath: base.dbPath, offset }
}

/** Makes a private full copy in `dir` (`dbPath` and its WAL, cut at `offset`, a transaction's end) a base in place. */
export async function baseInPlace(dir: string, dbPath: string, offset: number): Promise<TailBase> {
  await checkpoint(dbPath)
  return { dir, dbPath, offset }
}

async function checkpoint(dbPath: string): Promise<void> {
  await attached(dbPath, `ROW_GROUP_SIZE ${BASE_ROW_GROUP_ROWS}`, async (con) => {
    await con.run('CHECKPOINT private_copy')
    await con.run('USE memory; DETACH private_copy')
  })
  // A checkpoint leaves an empty WAL (or none); a stale one would be replayed under the next tail.
  await rm(`${dbPath}.wal`, { force: true })
}

/** Every user table's row count and an order-free hash of its rows: equal for equal contents. */
export async function fingerprint(dbPath: string): Promise<string> {
  return attached(dbPath, 'READ_ONLY', fingerprintOf)
}

/** fingerprint() of the connection's current database. */
export async function fingerprintOf(con: DuckDBConnection): Promise<string> {
  const tables = (
    await con.runAndReadAll(`SELECT table_name AS t FROM duckdb_tables() WHERE database_name = current_database() AND NOT internal ORDER BY 1`)
  ).getRowObjectsJS()
  const parts: string[] = []
  for (const { t } of tables) {
    const name = `"${String(t).replace(/"/g, '""')}"`
    const [row] = (await con.runAndReadAll(`SELECT count(*) AS n, coalesce(sum(hash(x)::HUGEINT), 0) AS h FROM ${name} x`)).getRowObjectsJS()
    parts.push(`${String(t)}:${String(row?.n)}:${String(row?.h)}`)
  }
  return parts.join('|')
}
