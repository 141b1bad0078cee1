// The WAL row decoder against WALs written by DuckDB itself (@duckdb/node-api 1.5.5): the rows it decodes,
// applied by row id to what a checkpoint held, equal the table DuckDB then holds, for every column type
// Perspt's schema uses (NULLs, JSON, BLOB, REAL, HUGEINT, TIMESTAMP WITH TIME ZONE, a sequence default),
// through inserts of more rows than one mask word, an UPDATE and a DELETE. A catalog change, a large
// append written as row groups, and bytes not framed as a WAL decode to null; a cut entry is left out.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { decodeRowEntries, type WalRowOp, type WalValue } from '../../../src/main/perspt/wal-rows'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** A fresh database, checkpointed after `setup`, with a WAL no automatic checkpoint folds away. */
async function database(setup: string): Promise<{ con: DuckDBConnection; wal: () => Buffer; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-wal-rows-'))
  dirs.push(dir)
  const path = join(dir, 'agent.db')
  const instance = await DuckDBInstance.create(path, { checkpoint_threshold: '10GB' })
  const con = await instance.connect()
  await con.run(setup)
  await con.run('CHECKPOINT')
  return {
    con,
    // The entries after the WAL's 8-byte head (a version entry, not framed).
    wal: () => readFileSync(`${path}.wal`).subarray(8),
    close: () => (con.closeSync(), instance.closeSync())
  }
}

const TABLE = `CREATE SEQUENCE seq_t_id START 1;
  CREATE TABLE t (id INTEGER PRIMARY KEY DEFAULT nextval('seq_t_id'), s VARCHAR, j JSON, bl BLOB, r REAL, d DOUBLE,
    big BIGINT, h HUGEINT, ts TIMESTAMP, tz TIMESTAMPTZ, b BOOLEAN);
  INSERT INTO t (s) VALUES ('kept 1'), ('kept 2'), ('kept 3')`

/** Each column as text (or null; REAL and DOUBLE as the JS number they are), the same way for DuckDB's rows and the decoded ones. */
const SELECT_TEXT = `SELECT rowid, id::VARCHAR, s, j::VARCHAR, hex(bl), r::DOUBLE, d, big::VARCHAR, h::VARCHAR,
  epoch_us(ts)::VARCHAR, epoch_us(tz)::VARCHAR, b::VARCHAR FROM t ORDER BY rowid`

function text(v: WalValue): string | null {
  if (v === null) return null
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex').toUpperCase()
  return String(v)
}

/** Applies decoded ops to the rows a checkpoint held (by row id: appended in order, deleted, updated in place). */
function apply(start: (WalValue[] | null)[], ops: WalRowOp[]): (WalValue[] | null)[] {
  const rows = start.map((r) => (r ? [...r] : null))
  for (const op of ops) {
    if (op.kind === 'insert') rows.push(...op.rows.map((r) => [...r]))
    if (op.kind === 'delete') for (const id of op.rowIds) rows[Number(id)] = null
    // A path of more than one index is a child column (0: the validity the values already carry).
    if (op.kind === 'update' && op.columnPath.length === 1) op.rowIds.forEach((id, i) => (rows[Number(id)]![op.columnPath[0]!] = op.values[i]!))
    // [i, 0]: the validity of column i; a NULL sets the value NULL (rows given a value are in [i]).
    if (op.kind === 'update' && op.columnPath.length === 2) op.rowIds.forEach((id, i) => op.values[i] === null && (rows[Number(id)]![op.columnPath[0]!] = null))
  }
  return rows
}

describe('WAL row entries decoded', () => {
  it('equal the table DuckDB holds after inserts with NULLs, JSON, BLOB, REAL, HUGEINT, timestamps, an UPDATE and a DELETE', async () => {
    const db = await database(TABLE)
    const startRows = ((await db.con.runAndReadAll('SELECT id, s FROM t ORDER BY rowid')).getRows() as [number, string][]).map(
      ([id, s]): WalValue[] => [id, s, null, null, null, null, null, null, null, null, null]
    )
    await db.con.run(`INSERT INTO t (s, j, bl, r, d, big, h, ts, tz, b) VALUES
      ('hello', '{"a":1}', 'ab'::BLOB, 0.5, 1.5, -9007199254740993, 12345678901234567890123, TIMESTAMP '2026-12-06 10:00:00', TIMESTAMPTZ '2026-12-06 10:00:00+00', true),
      ('a string long enough not to be inlined, with ünïcödé 🧪', NULL, ''::BLOB, NULL, -2.25, NULL, -5, TIMESTAMP '1969-12-31 23:59:59.999999', NULL, false)`)
    // 130 rows in one statement: validity masks over more than two 64-bit words, every third value NULL.
    await db.con.run(`INSERT INTO t (s, r, big, b) SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE 'row ' || i END,
      CASE WHEN i % 3 = 1 THEN NULL ELSE i / 4 END, CASE WHEN i % 3 = 2 THEN NULL ELSE i * 1000000000000 END, i % 2 = 0 FROM range(130) r(i)`)
    await db.con.run(`UPDATE t SET r = 2.5 WHERE s = 'kept 2'`)
    // Values set NULL are only in the validity entry; a mix of NULL and values in one column.
    await db.con.run(`UPDATE t SET d = NULL, big = CASE WHEN s = 'hello' THEN 7 ELSE NULL END WHERE s IN ('hello', 'row 1', 'row 2')`)
    await db.con.run(`BEGIN; DELETE FROM t WHERE s = 'kept 1'; INSERT INTO t (s, j) VALUES ('in a transaction', '[1,2]'); COMMIT`)
    const ops = decodeRowEntries(db.wal())
    expect(ops).not.toBeNull()
    // One commit per transaction; the two inside BEGIN … COMMIT commit together.
    expect(ops!.filter((o) => o.kind === 'commit')).toHaveLength(5)
    expect(ops!.filter((o) => o.kind !== 'commit' && o.kind !== 'sequence').map((o) => o.kind)).toEqual(['insert', 'insert', 'update', 'update', 'update', 'update', 'update', 'delete', 'insert'])
    expect(ops!.every((o) => o.kind !== 'insert' || o.table === 't')).toBe(true)
    // An UPDATE writes the rows given values and, as its child column 0, the validity of those it
    // touched: `d` set NULL has only the validity entry.
    expect(ops!.filter((o) => o.kind === 'update').map((o) => o.kind === 'update' && o.columnPath)).toEqual([[4], [4, 0], [5, 0], [6], [6, 0]])
    // The sequence default's values are in the WAL too.
    const seq = ops!.filter((o) => o.kind === 'sequence').at(-1)
    expect(seq).toMatchObject({ schema: 'main', name: 'seq_t_id' })

    const decoded = apply(startRows, ops!)
      .map((r, rowid) => (r ? [String(rowid), ...r.map(text)] : null))
      .filter((r) => r !== null)
    const truth = (await db.con.runAndReadAll(SELECT_TEXT)).getRows().map((r) => r.map((v) => (v === null ? null : String(v))))
    expect(decoded).toEqual(truth)
    db.close()
  })

  it('decode to null for a catalog change, a large append written as row groups and bytes that are not a WAL; a cut entry is left out', async () => {
    const db = await database(TABLE)
    await db.con.run(`INSERT INTO t (s) VALUES ('one')`)
    const oneInsert = db.wal()
    expect(decodeRowEntries(oneInsert)?.filter((o) => o.kind === 'insert')).toHaveLength(1)
    // Cut inside the last entry: the complete entries before it only.
    const cut = decodeRowEntries(oneInsert.subarray(0, oneInsert.length - 3))
    expect(cut).not.toBeNull()
    expect(cut!.some((o) => o.kind === 'commit')).toBe(false)
    expect(decodeRowEntries(Buffer.from('not a wal at all, not at all'))).toBeNull()

    await db.con.run('CREATE TABLE other (x INTEGER)')
    expect(decodeRowEntries(db.wal())).toBeNull()
    db.close()

    const bulk = await database(TABLE)
    await bulk.con.run(`INSERT INTO t (s, d) SELECT 'bulk ' || i, i FROM range(300000) r(i)`)
    expect(decodeRowEntries(bulk.wal())).toBeNull()
    bulk.close()
  })
})
