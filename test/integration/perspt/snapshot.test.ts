import { describe, it, expect, afterAll, beforeEach, afterEach } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { consistentCopy, statSig, StoreSnapshotter } from '../../../src/main/perspt/snapshot'
import { buildStore } from '../../fixtures/perspt-fixtures'

const root = mkdtempSync(join(tmpdir(), 'vigil-snapshot-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

async function count(dbPath: string, sql = 'SELECT count(*)::INTEGER AS n FROM sessions'): Promise<number> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    return Number((await con.runAndReadAll(sql)).getRowObjectsJS()[0]?.n)
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

describe('StoreSnapshotter', () => {
  let dir: string
  let source: string
  let snaps: StoreSnapshotter
  let writer: { instance: DuckDBInstance; con: DuckDBConnection } | null = null

  beforeEach(async () => {
    dir = mkdtempSync(join(root, 'case-'))
    source = join(dir, 'perspt.db')
    await buildStore(source, { generation: 23 })
    snaps = new StoreSnapshotter({ sourcePath: source, tmpRoot: join(dir, 'tmp') })
  })
  afterEach(async () => {
    writer?.con.closeSync()
    writer?.instance.closeSync()
    writer = null
    await snaps.dispose()
  })

  async function openWriter() {
    const instance = await DuckDBInstance.create(source)
    writer = { instance, con: await instance.connect() }
    return writer.con
  }
  const insertSession = (con: DuckDBConnection, id: string) =>
    con.run(`INSERT INTO sessions (session_id, task, working_dir, status) VALUES ('${id}', 't', '/w', 'RUNNING')`)

  it('copies once, then only when the .db or .wal changes', async () => {
    const first = await snaps.refresh()
    expect(first.changed).toBe(true)
    expect(first.dbPath).not.toBe(source)
    expect(await count(first.dbPath)).toBe(4)

    const again = await snaps.refresh()
    expect(again).toEqual({ changed: false, dbPath: first.dbPath, continuous: true, sameCatalogAs: first.dbPath, changes: new Map() })

    const con = await openWriter()
    await insertSession(con, 'new-1')
    const third = await snaps.refresh()
    expect(third.changed).toBe(true)
    expect(third.dbPath).not.toBe(first.dbPath)
    // The uncheckpointed row lives in the WAL, which the copy includes.
    expect(await count(third.dbPath)).toBe(5)
    expect((await snaps.refresh()).changed).toBe(false)
  })

  it('uses a fresh file per copy and deletes the previous ones', async () => {
    const con = await openWriter()
    const paths: string[] = []
    for (let i = 0; i < 4; i++) {
      await insertSession(con, `s-${i}`)
      paths.push((await snaps.refresh()).dbPath)
    }
    expect(new Set(paths).size).toBe(4)
    expect(paths.slice(0, 3).every((p) => !existsSync(p))).toBe(true)
    expect(existsSync(paths[3] as string)).toBe(true)
    // One snapshot folder (plus, beside it, the private base tail snapshots are built on).
    expect(readdirSync(join(dir, 'tmp')).filter((d) => d.startsWith('snap-'))).toHaveLength(1)
  })

  it('reuses the copied base while only the WAL grows, with the same result as a full copy', async () => {
    const con = await openWriter()
    await insertSession(con, 'w-0')
    await snaps.refresh()
    for (let i = 1; i <= 5; i++) {
      await insertSession(con, `w-${i}`)
      const reused = await snaps.refresh()
      expect(snaps.lastBase).toBe('reused')
      const fromReused = await count(reused.dbPath, 'SELECT count(*)::INTEGER AS n FROM sessions')
      const full = await snaps.refresh({ full: true })
      expect(snaps.lastBase).toBe('copied')
      expect(fromReused).toBe(5 + i)
      expect(await count(full.dbPath)).toBe(fromReused)
    }
    // A checkpoint rewrites the .db: the base must be copied again.
    await insertSession(con, 'after')
    await con.run('CHECKPOINT')
    const afterCheckpoint = await snaps.refresh()
    expect(snaps.lastBase).toBe('copied')
    expect(await count(afterCheckpoint.dbPath)).toBe(11)
  })

  it('never leaves a lock on the source: a writer can open it after every snapshot', async () => {
    for (let i = 0; i < 5; i++) {
      const con = await openWriter()
      await insertSession(con, `x-${i}`)
      const snap = await snaps.refresh()
      expect(await count(snap.dbPath)).toBe(5 + i)
      writer?.con.closeSync()
      writer?.instance.closeSync()
      writer = null
    }
  })

  it('throws the fs error for a missing source and cleans up on dispose', async () => {
    await snaps.refresh()
    const missing = new StoreSnapshotter({ sourcePath: join(dir, 'nope.db'), tmpRoot: join(dir, 'tmp2') })
    await expect(missing.refresh()).rejects.toMatchObject({ code: 'ENOENT' })
    await missing.dispose()
    await snaps.dispose()
    expect(readdirSync(join(dir, 'tmp'))).toEqual([])
  })

  it('relies on a DuckDB fact: a WAL cut at any byte replays to a consistent prefix', async () => {
    const con = await openWriter()
    for (let i = 0; i < 60; i++) {
      await con.run('BEGIN TRANSACTION')
      await insertSession(con, `c-${i}`)
      await con.run(`INSERT INTO llm_requests (session_id, model, prompt, response) VALUES ('c-${i}', 'm', 'naïve ${i}', '')`)
      await con.run('COMMIT')
    }
    const db = readFileSync(source)
    const wal = readFileSync(`${source}.wal`)
    let last = -1
    for (let k = 0; k <= 20; k++) {
      const cut = Math.floor((wal.length * k) / 20) - (k < 20 ? k % 3 : 0)
      const copy = join(mkdtempSync(join(dir, 'cut-')), 'x.db')
      writeFileSync(copy, db)
      writeFileSync(`${copy}.wal`, wal.subarray(0, Math.max(0, cut)))
      const sessions = await count(copy, "SELECT count(*)::INTEGER AS n FROM sessions WHERE session_id LIKE 'c-%'")
      const llm = await count(copy, "SELECT count(*)::INTEGER AS n FROM llm_requests WHERE session_id LIKE 'c-%'")
      expect(llm).toBe(sessions)
      expect(sessions).toBeGreaterThanOrEqual(last)
      last = sessions
    }
    expect(last).toBe(60)
  })
})


describe('what counts as the same file', () => {
  it('a WAL unlinked and created again under the same inode number (a DuckDB checkpoint) is another file', async () => {
    const dir = mkdtempSync(join(root, 'ino-'))
    const db = join(dir, 'perspt.db')
    const wal = `${db}.wal`
    writeFileSync(db, 'db')
    // Inode numbers come back at once on ext4 and tmpfs; try a few times so the case is really exercised.
    let reused = false
    for (let i = 0; i < 20 && !reused; i++) {
      writeFileSync(wal, 'x'.repeat(100))
      const before = { db: await statSig(db), wal: await statSig(wal) }
      rmSync(wal)
      writeFileSync(wal, 'y'.repeat(200))
      const after = { db: await statSig(db), wal: await statSig(wal) }
      reused = before.wal.ino === after.wal.ino
      // Grown, same number: only the birth time tells that bytes of two files may be mixed in a copy.
      expect(consistentCopy(before, after)).toBe(false)
      // The same file, only grown, is a consistent copy.
      writeFileSync(wal, 'z'.repeat(50), { flag: 'a' })
      expect(consistentCopy(after, { db: await statSig(db), wal: await statSig(wal) })).toBe(true)
    }
    expect(reused).toBe(true)
  })

  it('a .db whose clock is ahead of ours (a share with a skewed clock) is still copied, not reported busy', async () => {
    const dir = mkdtempSync(join(root, 'skew-'))
    const source = join(dir, 'perspt.db')
    await buildStore(source, { generation: 23 })
    const ahead = new Date(Date.now() + 60_000)
    utimesSync(source, ahead, ahead)
    const snaps = new StoreSnapshotter({ sourcePath: source, tmpRoot: join(dir, 'tmp') })
    try {
      const snap = await snaps.refresh()
      expect(snap.changed).toBe(true)
      expect(await count(snap.dbPath)).toBeGreaterThan(0)
    } finally {
      await snaps.dispose()
    }
  })
})
