// The statement cache reuses a prepared view query only on the copy it was prepared on: after a switch
// to another attached copy (same tables, other rows) every read sees the new copy. Real DuckDB files.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { DuckDBInstance } from '@duckdb/node-api'
import { StatementCache } from '../../../src/main/perspt/statement-cache'

const dir = mkdtempSync(join(tmpdir(), 'vigil-statements-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function fileWith(name: string, rows: [string, number][]): Promise<string> {
  const path = join(dir, name)
  const db = await DuckDBInstance.create(path)
  const con = await db.connect()
  await con.run('CREATE TABLE t (sid VARCHAR, v INTEGER)')
  for (const [sid, v] of rows) await con.run('INSERT INTO t VALUES ($1, $2)', [sid, v])
  con.closeSync()
  db.closeSync()
  return path
}

it('reuses a plan on one copy, never across copies, stays bounded, and keeps overlapping reads apart', async () => {
  const a = await fileWith('a.db', [['s1', 1], ['s2', 2]])
  const b = await fileWith('b.db', [['s1', 10], ['s2', 20]])
  const host = await DuckDBInstance.create(':memory:')
  const con = await host.connect()
  const cache = new StatementCache(con, 2)
  const read = async (sid: string) => Number((await cache.connection.runAndReadAll('SELECT sum(v) AS v FROM t WHERE sid = $1', [sid])).getRowObjectsJS()[0]!.v)
  try {
    await con.run(`ATTACH '${a}' AS snap_a (READ_ONLY); USE snap_a`)
    cache.use('snap_a')
    expect([await read('s1'), await read('s2')]).toEqual([1, 2])
    expect(cache.stats()).toEqual({ prepared: 1, reused: 1 })
    // Another copy with the same tables, the first still attached: the kept statement must not answer.
    await con.run(`ATTACH '${b}' AS snap_b (READ_ONLY); USE snap_b`)
    cache.use('snap_b')
    expect([await read('s1'), await read('s2')]).toEqual([10, 20])
    expect(cache.stats()).toEqual({ prepared: 2, reused: 2 })
    await con.run('DETACH snap_a')
    // Bounded: a third SQL pushes the least recently used out (prepared again when asked for).
    const q = (n: number) => cache.connection.runAndReadAll(`SELECT count(*) + ${n} AS c FROM t WHERE sid = $1`, ['s1'])
    await q(1)
    await q(2)
    await read('s1')
    expect(cache.stats().prepared).toBe(5)
    // Overlapping reads of one SQL with other parameters: each gets its own answer.
    expect(await Promise.all(['s1', 's2', 's1', 's2'].map(read))).toEqual([10, 20, 10, 20])
    // No parameters, or a copy released: plain runs, nothing kept.
    const before = cache.stats()
    cache.release('snap_b')
    expect(await read('s2')).toBe(20)
    expect(cache.stats()).toEqual(before)
  } finally {
    cache.clear()
    con.closeSync()
    host.closeSync()
  }
})
