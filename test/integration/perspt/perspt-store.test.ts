import { describe, it, expect, afterAll, afterEach } from 'vitest'
import { execFileSync } from 'node:child_process'
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { ApiError } from '../../../src/shared/api/errors'
import { registerInProcessHolder } from '../../../src/main/perspt/liveness'
import { approxBytes, MAX_CACHED_BYTES, PersptStore } from '../../../src/main/perspt/perspt-store'
import {
  buildStore,
  writeCorruptStore,
  writeDuckDbWithoutSessions,
  writeNonDuckDbFile,
  writeSqliteLikeFile,
  writeTruncatedCopy
} from '../../fixtures/perspt-fixtures'

const root = mkdtempSync(join(tmpdir(), 'vigil-store-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const open: PersptStore[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

function newCase() {
  const dir = mkdtempSync(join(root, 'case-'))
  return { dir, tmpRoot: join(dir, 'tmp') }
}

function storeAt(path: string, tmpRoot: string, now?: () => number) {
  const store = new PersptStore({ path, tmpRoot, now })
  open.push(store)
  return store
}

async function expectProblem(store: PersptStore, code: string) {
  await expect(store.refresh()).resolves.toBe(false)
  const status = store.status()
  expect(status.state).toBe('error')
  expect(status.problem?.code).toBe(code)
  expect(status.problem?.message.length).toBeGreaterThan(10)
  expect(status.problem?.hint.length).toBeGreaterThan(10)
  await expect(store.listSessions()).rejects.toSatisfy((e: unknown) => e instanceof ApiError && e.code === 'unavailable')
  return status.problem
}

describe('PersptStore', () => {
  it('reads a store: ready, version 1, table count, sessions; idle liveness for a closed file', async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 21 })
    const store = storeAt(path, tmpRoot, () => Date.parse('2026-06-01T00:00:00Z'))
    expect(store.status()).toMatchObject({ state: 'loading', version: 0, refreshedAt: null, tableCount: null })
    await expect(store.listSessions()).rejects.toBeInstanceOf(ApiError)
    expect(await store.refresh()).toBe(true)
    expect(store.status()).toEqual({
      state: 'ready',
      liveness: 'idle',
      problem: null,
      version: 1,
      refreshedAt: '2026-06-01T00:00:00.000Z',
      tableCount: 21,
      // A first read is a copy; no live copy yet (it needs a base, built in the background).
      reading: { mode: 'copies', fallbacks: 0, liveOff: null }
    })
    const rows = await store.listSessions()
    expect(rows.map((r) => r.sessionId)).toEqual(['fx-running', 'fx-completed', 'fx-failed', 'fx-odd'])
    // Nobody holds the file, so the RUNNING session is stale.
    expect(rows[0]?.status).toBe('stale')
  })

  it('does not re-read or re-copy when nothing changed, and caches the list per version', async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 23 })
    const store = storeAt(path, tmpRoot)
    await store.refresh()
    const first = await store.listSessions()
    expect(await store.refresh()).toBe(false)
    expect(store.status().version).toBe(1)
    expect(await store.listSessions()).toBe(first)

    const instance = await DuckDBInstance.create(path)
    const con = await instance.connect()
    await con.run("INSERT INTO sessions (session_id, task, working_dir, status, created_at) VALUES ('late', 't', '/w', 'COMPLETED', TIMESTAMP '2026-07-01 00:00:00')")
    con.closeSync()
    instance.closeSync()
    expect(await store.refresh()).toBe(true)
    expect(store.status().version).toBe(2)
    const second = await store.listSessions()
    expect(second).not.toBe(first)
    expect(second[0]?.sessionId).toBe('late')
  })

  it('bounds its result cache by bytes, not only by count: 100 parts of 1 M characters never hold more than MAX_CACHED_BYTES', async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 23 })
    const store = storeAt(path, tmpRoot)
    await store.refresh()
    let reads = 0
    // What getLlmText caches: one part of a long prompt per key.
    const part = (i: number) => store.query(`part:${i}`, async () => (reads++, `${i}:${'字'.repeat(1 << 20)}`))
    for (let i = 0; i < 100; i++) await part(i)
    const stats = store.cacheStats()
    expect(stats.bytes).toBeLessThanOrEqual(MAX_CACHED_BYTES)
    expect(stats.entries).toBeLessThan(100)
    expect(stats.entries).toBeGreaterThan(10)
    // The newest parts are still answered from the cache; the oldest were read again.
    reads = 0
    expect((await part(99)).startsWith('99:')).toBe(true)
    expect(reads).toBe(0)
    await part(0)
    expect(reads).toBe(1)
    // A result bigger than the whole bound is answered but not kept.
    const huge = await store.query('huge', async () => 'x'.repeat(MAX_CACHED_BYTES))
    expect(huge.length).toBe(MAX_CACHED_BYTES)
    expect(store.cacheStats().bytes).toBeLessThanOrEqual(MAX_CACHED_BYTES)
    expect(approxBytes({ a: 'xy', b: [1, 2], c: null })).toBeGreaterThan(2 * 2)
  })

  it("spills big queries into its private folder, never the process's working folder", async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 23 })
    const store = storeAt(path, tmpRoot)
    await store.refresh()
    const [row] = await store.query('temp-dir', async (con) => (await con.runAndReadAll("SELECT current_setting('temp_directory') AS d")).getRowObjectsJS())
    expect(String(row?.d).startsWith(tmpRoot)).toBe(true)
  })

  it('never writes to the user store', async () => {
    const { dir } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 23 })
    const before = readdirSync(dir).sort()
    const bytes = readFileSync(path)
    const store = storeAt(path, newCase().tmpRoot)
    await store.refresh()
    await store.refresh()
    await store.close()
    expect(readdirSync(dir).sort()).toEqual(before)
    expect(Buffer.compare(readFileSync(path), bytes)).toBe(0)
  })

  it('removes its temp folder on close', async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 4 })
    const store = storeAt(path, tmpRoot)
    await store.refresh()
    expect(readdirSync(tmpRoot)).toHaveLength(1)
    await store.close()
    expect(readdirSync(tmpRoot)).toEqual([])
    expect(await store.refresh()).toBe(false)
  })

  describe('bad inputs give a clear problem and never throw', () => {
    it('missing path', async () => {
      const { dir, tmpRoot } = newCase()
      const problem = await expectProblem(storeAt(join(dir, 'nope', 'perspt.db'), tmpRoot), 'not-found')
      expect(problem?.hint).toMatch(/perspt agent/)
    })

    it('a directory', async () => {
      const { dir, tmpRoot } = newCase()
      await expectProblem(storeAt(dir, tmpRoot), 'is-directory')
    })

    // root reads anything; there the classifier is covered by problems.test.ts instead.
    it.skipIf(process.getuid?.() === 0)('permission denied', async () => {
      const { dir, tmpRoot } = newCase()
      const path = join(dir, 'perspt.db')
      await buildStore(path, { generation: 23 })
      chmodSync(path, 0o000)
      try {
        await expectProblem(storeAt(path, tmpRoot), 'permission-denied')
      } finally {
        chmodSync(path, 0o644)
      }
    })

    it('not a DuckDB file (text, SQLite, empty)', async () => {
      const { dir, tmpRoot } = newCase()
      const text = join(dir, 'notes.db')
      writeNonDuckDbFile(text)
      await expectProblem(storeAt(text, tmpRoot), 'not-duckdb')
      const sqlite = join(dir, 'app.sqlite')
      writeSqliteLikeFile(sqlite)
      const problem = await expectProblem(storeAt(sqlite, tmpRoot), 'not-duckdb')
      expect(problem?.message).toMatch(/SQLite/)
      const empty = join(dir, 'empty.db')
      writeFileSync(empty, '')
      await expectProblem(storeAt(empty, tmpRoot), 'empty-file')
    })

    it('a corrupt file', async () => {
      const { dir, tmpRoot } = newCase()
      const path = join(dir, 'perspt.db')
      await writeCorruptStore(path)
      await expectProblem(storeAt(path, tmpRoot), 'corrupt')
    })

    it('a truncated copy of a real store', async () => {
      const { dir, tmpRoot } = newCase()
      const real = join(dir, 'real.db')
      await buildStore(real, { generation: 23 })
      const path = join(dir, 'perspt.db')
      writeTruncatedCopy(real, path)
      await expectProblem(storeAt(path, tmpRoot), 'truncated')
    })

    it('a DuckDB file without a sessions table', async () => {
      const { dir, tmpRoot } = newCase()
      const path = join(dir, 'other.db')
      await writeDuckDbWithoutSessions(path)
      await expectProblem(storeAt(path, tmpRoot), 'no-sessions-table')
    })
  })

  it('keeps the last good sessions when the file goes bad, and recovers when it is fixed', async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    const good = join(dir, 'good.db')
    await buildStore(good, { generation: 23 })
    copyFileSync(good, path)
    const store = storeAt(path, tmpRoot)
    expect(await store.refresh()).toBe(true)
    unlinkSync(path)
    expect(await store.refresh()).toBe(false)
    expect(store.status()).toMatchObject({ state: 'error', version: 1, problem: { code: 'not-found' } })
    expect(await store.listSessions()).toHaveLength(4)
    writeNonDuckDbFile(path)
    expect(await store.refresh()).toBe(false)
    expect(store.status().problem?.code).toBe('not-duckdb')
    // The same bad copy is not re-read on every poll.
    expect(await store.refresh()).toBe(false)
    rmSync(path)
    copyFileSync(good, path)
    expect(await store.refresh()).toBe(true)
    expect(store.status()).toMatchObject({ state: 'ready', problem: null, version: 2 })
  })

  it('falls back to recent writes for liveness only where /proc/locks is missing (here: present)', async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 23 })
    const store = storeAt(path, tmpRoot)
    await store.refresh()
    expect(store.status().liveness).toBe(existsSync('/proc/locks') ? 'idle' : 'live')
  })

  it('restates sessions when liveness flips without a file change', async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 23 })
    mkdirSync(tmpRoot, { recursive: true })
    const store = storeAt(path, tmpRoot)
    await store.refresh()
    expect((await store.listSessions())[0]?.status).toBe('stale')
    // Another handle (same process, so use the in-process registry to simulate a live writer).
    const release = registerInProcessHolder(statSync(path, { bigint: true }))
    try {
      expect(await store.refresh()).toBe(true)
      expect(store.status()).toMatchObject({ liveness: 'live', version: 2 })
      expect((await store.listSessions())[0]?.status).toBe('running')
      expect(await store.refresh()).toBe(false)
    } finally {
      release()
    }
    expect(await store.refresh()).toBe(true)
    expect((await store.listSessions())[0]?.status).toBe('stale')
  })
})

describe.skipIf(process.platform === 'win32')('a refresh that never returns', () => {
  it('is abandoned at its deadline, says where it was stuck, and the store recovers once the file is sane', async () => {
    const { dir, tmpRoot } = newCase()
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 23 })
    // Long enough for a sound refresh of a small store on a loaded CI machine (400 ms was not).
    const store = new PersptStore({ path, tmpRoot, refreshDeadlineMs: 2_000 })
    open.push(store)
    expect(await store.refresh()).toBe(true)
    const before = await store.listSessions()

    // A FIFO where the WAL belongs: copying it blocks until someone writes to it.
    const wal = `${path}.wal`
    execFileSync('mkfifo', [wal])
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (m: string) => warnings.push(String(m))
    try {
      const t0 = Date.now()
      expect(await store.refresh()).toBe(false)
      expect(Date.now() - t0).toBeLessThan(6_000)
      expect(warnings.join('\n')).toContain('stuck in "snapshot"')
      // What was shown stays.
      expect(store.status().state).toBe('ready')
      expect(await store.listSessions()).toEqual(before)
    } finally {
      console.warn = warn
      // Let the blocked copy finish (a writer that closes at once gives it EOF), then remove the FIFO.
      const writer = openSync(wal, 'w')
      closeSync(writer)
      unlinkSync(wal)
    }
    expect(store.refreshStage()).toBe('idle')
    // The next refresh goes on with a new snapshotter and a fresh full copy; the one after finds nothing new.
    const version = store.status().version
    expect(await store.refresh()).toBe(true)
    expect(store.status()).toMatchObject({ state: 'ready', problem: null, version: version + 1 })
    expect(await store.listSessions()).toEqual(before)
    expect(await store.refresh()).toBe(false)
  })
})
