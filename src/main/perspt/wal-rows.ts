// The row changes in a Perspt agent's WAL bytes, decoded (DuckDB 1.5's WAL, entries framed as wal-tail.ts
// walks them): which rows each transaction inserted, deleted (by row id) and updated (row id, column,
// new value), and sequence values. A building block for applying an agent's new WAL bytes to one private
// read-write copy instead of attaching a snapshot per version (issue 17: an ATTACH costs ~9 ms plus
// ~27 ms per MiB of tail replayed, measured); live-copy.ts applies them.
//
// DuckDB's binary serializer: each property is a u16 field id then its value; integers are LEB128
// (signed ones sign-extended), strings and byte blobs a LEB128 length then the bytes, lists a LEB128
// count then the items, objects end with field id 0xffff; a property equal to its default is left out.
// A DataChunk: 100 row count, 101 the column types (LogicalType objects: 100 type id, 101 an optional
// type info, e.g. the JSON alias of a VARCHAR), 102 the columns (vectors: 100 whether a validity mask
// follows, 101 the mask (64-bit words, bit set = value present), 102 the data: fixed-width values as one
// blob, strings and blobs as a list). Verified against WALs written by @duckdb/node-api 1.5.5
// (test/unit/perspt/wal-rows.test.ts). Anything else — a catalog change, ROW_GROUP_DATA (a large
// append written to the agent's .db directly, not to the WAL), a type not listed here, bytes not shaped
// this way — decodes to null: the caller falls back to a snapshot.
import { WAL_ENTRY as ENTRY, walkEntries } from './wal-tail'

export type WalValue = null | boolean | number | bigint | string | Uint8Array

export interface WalColumnType {
  /** DuckDB's LogicalTypeId (e.g. 13 INTEGER, 25 VARCHAR). */
  id: number
  /** The type's alias, when it has one (JSON is a VARCHAR aliased "JSON"). */
  alias?: string
}

/** A table a row change is to: `table` as wal-tail's tableChanges names it (`schema.name` outside main). */
export interface WalTable {
  table: string
  schema: string
  name: string
}

export type WalRowOp =
  | ({ kind: 'insert'; types: WalColumnType[]; rows: WalValue[][] } & WalTable)
  | ({ kind: 'delete'; rowIds: bigint[] } & WalTable)
  /**
   * `columnPath`: the updated column (its index in the table), then a child column: DuckDB writes an
   * UPDATE of a column as the rows given a value ([i]: only those) and then the validity of the rows
   * whose validity it touched ([i, 0], BOOLEAN values: NULL for a row set NULL, a value otherwise).
   */
  | ({ kind: 'update'; columnPath: number[]; type: WalColumnType; values: WalValue[]; rowIds: bigint[] } & WalTable)
  | { kind: 'sequence'; schema: string; name: string; usageCount: bigint; counter: bigint }
  /** The end of a transaction: the ops before it (since the previous one) commit together. */
  | { kind: 'commit' }

const END = 0xffff

/** The fixed-width types decoded here, by LogicalTypeId: bytes per value and how one is read. */
const int64 = (b: Buffer, at: number): bigint => b.readBigInt64LE(at)
const FIXED: Record<number, { width: number; read: (b: Buffer, at: number) => WalValue }> = {
  10: { width: 1, read: (b, at) => b[at] !== 0 }, // BOOLEAN
  11: { width: 1, read: (b, at) => b.readInt8(at) }, // TINYINT
  12: { width: 2, read: (b, at) => b.readInt16LE(at) }, // SMALLINT
  13: { width: 4, read: (b, at) => b.readInt32LE(at) }, // INTEGER
  14: { width: 8, read: int64 }, // BIGINT (and row ids)
  15: { width: 4, read: (b, at) => b.readInt32LE(at) }, // DATE (days)
  19: { width: 8, read: int64 }, // TIMESTAMP (µs)
  22: { width: 4, read: (b, at) => b.readFloatLE(at) }, // FLOAT / REAL
  23: { width: 8, read: (b, at) => b.readDoubleLE(at) }, // DOUBLE
  28: { width: 1, read: (b, at) => b.readUInt8(at) }, // UTINYINT
  29: { width: 2, read: (b, at) => b.readUInt16LE(at) }, // USMALLINT
  30: { width: 4, read: (b, at) => b.readUInt32LE(at) }, // UINTEGER
  31: { width: 8, read: (b, at) => b.readBigUInt64LE(at) }, // UBIGINT
  32: { width: 8, read: int64 }, // TIMESTAMP WITH TIME ZONE (µs)
  // HUGEINT: the lower 64 bits unsigned, then the upper 64 bits signed.
  50: { width: 16, read: (b, at) => (b.readBigInt64LE(at + 8) << 64n) + b.readBigUInt64LE(at) }
}
/** Types whose vectors are serialized as a list of byte strings. */
const STRING_TYPES = new Set([25 /* VARCHAR */, 26 /* BLOB */])

class Malformed extends Error {}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number
  ) {}

  get remaining(): number {
    return this.end - this.pos
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new Malformed('past the entry')
  }

  peekField(): number {
    this.need(2)
    return this.buf.readUInt16LE(this.pos)
  }

  field(id: number): void {
    if (this.peekField() !== id) throw new Malformed(`field ${id} expected`)
    this.pos += 2
  }

  /** Whether the next property is `id` (consumed if so): properties equal to their default are left out. */
  has(id: number): boolean {
    if (this.peekField() !== id) return false
    this.pos += 2
    return true
  }

  endObject(): void {
    this.field(END)
  }

  unsigned(): bigint {
    let value = 0n
    for (let shift = 0n; ; shift += 7n) {
      this.need(1)
      const b = this.buf[this.pos++]!
      value |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return value
      if (shift > 63n) throw new Malformed('varint too long')
    }
  }

  count(): number {
    const v = this.unsigned()
    if (v > 0xffffffn) throw new Malformed('count too large')
    return Number(v)
  }

  signed(): bigint {
    let value = 0n
    let shift = 0n
    let b: number
    do {
      this.need(1)
      b = this.buf[this.pos++]!
      value |= BigInt(b & 0x7f) << shift
      shift += 7n
      if (shift > 70n) throw new Malformed('varint too long')
    } while (b & 0x80)
    if (b & 0x40) value -= 1n << shift
    return value
  }

  bytes(): Buffer {
    const n = this.count()
    this.need(n)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  string(): string {
    return this.bytes().toString('utf8')
  }

  bool(): boolean {
    this.need(1)
    return this.buf[this.pos++] !== 0
  }
}

function readType(r: Reader): WalColumnType {
  r.field(100)
  const id = r.count()
  const type: WalColumnType = { id }
  if (r.has(101)) {
    // An optional ExtraTypeInfo: present flag, then { 100 kind, 101 alias, … }. Only a bare alias is read.
    if (r.bool()) {
      if (r.has(100)) r.count()
      if (r.has(101)) type.alias = r.string()
      r.endObject()
    }
  }
  r.endObject()
  return type
}

function readValues(r: Reader, type: WalColumnType, rows: number): WalValue[] {
  const hasMask = r.has(100) && r.bool()
  let mask: Buffer | null = null
  if (hasMask) {
    r.field(101)
    mask = r.bytes()
  } else if (r.has(101)) {
    r.bytes()
  }
  const valid = (i: number) => !mask || ((mask[i >> 3] ?? 0) & (1 << (i & 7))) !== 0
  const out: WalValue[] = new Array<WalValue>(rows).fill(null)
  r.field(102)
  if (STRING_TYPES.has(type.id)) {
    const n = r.count()
    if (n !== rows) throw new Malformed('string count')
    for (let i = 0; i < n; i++) {
      const b = r.bytes()
      if (valid(i)) out[i] = type.id === 26 ? new Uint8Array(b) : b.toString('utf8')
    }
  } else {
    const fixed = FIXED[type.id]
    if (fixed === undefined) throw new Malformed(`type ${type.id}`)
    const data = r.bytes()
    if (data.length !== fixed.width * rows) throw new Malformed('data size')
    for (let i = 0; i < rows; i++) if (valid(i)) out[i] = fixed.read(data, i * fixed.width)
  }
  r.endObject()
  return out
}

function readChunk(r: Reader): { types: WalColumnType[]; columns: WalValue[][]; rows: number } {
  r.field(100)
  const rows = r.count()
  // Every value takes at least one byte: a count past the entry's bytes is malformed (a hostile WAL
  // would otherwise size arrays of millions of values before its data is found short).
  if (rows > r.remaining) throw new Malformed('row count past the entry')
  r.field(101)
  const types = Array.from({ length: r.count() }, () => readType(r))
  r.field(102)
  const n = r.count()
  if (n !== types.length) throw new Malformed('column count')
  const columns = types.map((t) => readValues(r, t, rows))
  r.endObject()
  return { types, columns, rows }
}

function rowIdsOf(column: WalValue[]): bigint[] {
  return column.map((v) => {
    if (typeof v !== 'bigint') throw new Malformed('row id')
    return v
  })
}

/**
 * The row changes in the complete entries of `bytes` (WAL entries from a transaction boundary on), in
 * order, a `commit` after each transaction; null when any entry is not one decoded here.
 */
export function decodeRowEntries(bytes: Uint8Array): WalRowOp[] | null {
  const ops: WalRowOp[] = []
  let table: WalTable | null = null
  let ok = true
  const framed = walkEntries(bytes, (buf, start, end, type) => {
    const r = new Reader(buf, start + 3, end)
    try {
      if (type === ENTRY.WAL_FLUSH) {
        ops.push({ kind: 'commit' })
      } else if (type === ENTRY.USE_TABLE) {
        r.field(101)
        const schema = r.string()
        r.field(102)
        const name = r.string()
        table = { table: schema === 'main' ? name : `${schema}.${name}`, schema, name }
      } else if (type === ENTRY.SEQUENCE_VALUE) {
        r.field(101)
        const schema = r.string()
        r.field(102)
        const name = r.string()
        const usageCount = r.has(103) ? r.unsigned() : 0n
        const counter = r.has(104) ? r.signed() : 0n
        ops.push({ kind: 'sequence', schema, name, usageCount, counter })
      } else if (type === ENTRY.INSERT_TUPLE || type === ENTRY.DELETE_TUPLE || type === ENTRY.UPDATE_TUPLE) {
        if (table === null) throw new Malformed('a row change before any table')
        if (type === ENTRY.UPDATE_TUPLE) {
          r.field(101)
          const columnPath = Array.from({ length: r.count() }, () => r.count())
          r.field(102)
          const chunk = readChunk(r)
          if (chunk.types.length !== 2) throw new Malformed('update of one column expected')
          ops.push({ kind: 'update', ...table, columnPath, type: chunk.types[0]!, values: chunk.columns[0]!, rowIds: rowIdsOf(chunk.columns[1]!) })
        } else {
          r.field(101)
          const chunk = readChunk(r)
          if (type === ENTRY.DELETE_TUPLE) {
            if (chunk.types.length !== 1) throw new Malformed('delete of row ids expected')
            ops.push({ kind: 'delete', ...table, rowIds: rowIdsOf(chunk.columns[0]!) })
          } else {
            const rows = Array.from({ length: chunk.rows }, (_, i) => chunk.columns.map((c) => c[i]!))
            ops.push({ kind: 'insert', ...table, types: chunk.types, rows })
          }
        }
      } else {
        throw new Malformed(`entry type ${type}`)
      }
      r.endObject()
      if (r.pos !== end) throw new Malformed('bytes after the entry')
      return true
    } catch {
      // Malformed, or bytes no reader guard foresaw: not decodable, never an exception for the caller.
      ok = false
      return false
    }
  })
  return framed && ok ? ops : null
}
