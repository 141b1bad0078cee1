// Corrupt and foreign DuckDB files, through the real server: a Perspt store added with
// POST /api/rpc/addStore, and Vigil's own recording file. Complements test/integration/perspt and
// test/e2e/perspt-bad-stores.spec.ts (text, SQLite, truncated, scrambled, no sessions table) with:
// a future and an unsupported old storage version, an encrypted database, a foreign `sessions` table,
// zero-byte and garbage WALs, a named pipe, and files replaced while Vigil polls them. Every case:
// a clear problem (or correct data), the server still serving, the baseline run intact, and every
// file byte-identical afterwards (Vigil only ever reads a private copy).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SourceInfo, StoreSourceInfo } from '../../src/shared/model/sources'
import { buildStore, writeCorruptStore, writeNonDuckDbFile, writeTruncatedCopy } from '../fixtures/perspt-fixtures'
import { folderDigest, makeFifo, withStorageVersion, writeEncryptedDuckDb, writeForeignSessionsDuckDb } from './duckdb-fixtures'
import { expectIntact, expectServing, postIngress, recordingPath, rpc, seedBaseline, sleep, startVigil, waitFor, wsClient } from './support'
import type { Recorded, Vigil } from './support'

let v: Vigil
let baseline: Recorded
let root: string
let good: string

beforeAll(async () => {
  v = await startVigil({ pollMs: 100 })
  baseline = await seedBaseline(v)
  root = mkdtempSync(join(v.dir, 'stores-'))
  good = join(root, 'good.db')
  await buildStore(good, { generation: 23 })
})
afterAll(() => v.close())

/** A fresh folder with perspt.db built by `build`; returns the path. */
async function storeFolder(build: (db: string) => Promise<void> | void): Promise<string> {
  const dir = mkdtempSync(join(root, 'case-'))
  const db = join(dir, 'perspt.db')
  await build(db)
  return db
}

function source(id: string): StoreSourceInfo {
  return v.service.registry.list().find((s) => s.id === id) as StoreSourceInfo
}

/** Adds the store over the API and waits until Vigil has read it once. */
async function addStore(path: string): Promise<StoreSourceInfo> {
  const res = await rpc(v, 'addStore', [path])
  expect(res.status).toBe(200)
  const id = (res.body.value as SourceInfo).id
  return waitFor(() => {
    const s = source(id)
    return s && s.state !== 'loading' ? s : undefined
  }, `first read of ${path}`, 10_000)
}

async function removeStore(id: string): Promise<void> {
  expect((await rpc(v, 'removeSource', [id])).status).toBe(200)
}

/** The store is in error with `code`, says so over the API, and its sessions are refused with that message. */
async function expectProblem(s: StoreSourceInfo, code: string, message: RegExp): Promise<void> {
  expect(s.state).toBe('error')
  expect(s.problem?.code).toBe(code)
  expect(s.problem?.message).toMatch(message)
  expect(s.problem?.hint.length).toBeGreaterThan(10)
  const listed = (await rpc(v, 'listSources', [])).body.value as SourceInfo[]
  expect(listed.find((x) => x.id === s.id)?.problem?.code).toBe(code)
  const sessions = await rpc(v, 'listSessions', [s.id])
  expect(sessions.status).toBe(503)
  expect(sessions.body.error?.message).toContain(s.problem!.message)
}

describe('Perspt stores that cannot be read', () => {
  const cases: Array<[string, (db: string) => Promise<void> | void, string, RegExp]> = [
    ['a future DuckDB storage version (999)', (db) => withStorageVersion(good, db, 999n), 'too-new', /newer DuckDB than Vigil bundles.*version number 999/],
    ['an old storage version this DuckDB no longer reads (38)', (db) => withStorageVersion(good, db, 38n), 'read-failed', /version number 38, but we can only read versions/],
    ['an encrypted database', (db) => writeEncryptedDuckDb(db), 'read-failed', /encrypted database/],
    ['a named pipe', (db) => makeFifo(db), 'not-a-file', /is not a regular file/],
    ['a symlink to /dev/zero', (db) => symlinkSync('/dev/zero', db), 'not-a-file', /is not a regular file/],
    ['a dangling symlink', (db) => symlinkSync(join(root, 'nowhere.db'), db), 'not-found', /No Perspt store at/]
  ]
  it.each(cases)('%s: a clear problem, files untouched, server fine', async (_what, build, code, message) => {
    const db = await storeFolder(build)
    const before = folderDigest(join(db, '..'))
    const s = await addStore(db)
    await expectProblem(s, code, message)
    // Polled a few more times: same problem, still nothing written.
    await sleep(350)
    expect(source(s.id).problem?.code).toBe(code)
    expect(folderDigest(join(db, '..'))).toEqual(before)
    await removeStore(s.id)
    await expectIntact(v, baseline)
  })
})

describe('odd WAL files next to a good store', () => {
  const cases: Array<[string, (db: string) => void]> = [
    ['a zero-byte .wal', (db) => writeFileSync(`${db}.wal`, '')],
    ['a .wal of random bytes', (db) => writeFileSync(`${db}.wal`, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251)))],
    ['a .wal that is a text file', (db) => writeNonDuckDbFile(`${db}.wal`)]
  ]
  it.each(cases)('%s: the committed sessions are read, neither file changes', async (_what, addWal) => {
    const db = await storeFolder((p) => {
      copyFileSync(good, p)
      addWal(p)
    })
    const before = folderDigest(join(db, '..'))
    const s = await addStore(db)
    expect(s).toMatchObject({ state: 'ready', problem: null })
    const sessions = await rpc(v, 'listSessions', [s.id])
    expect(sessions.status).toBe(200)
    expect(sessions.body.value).toHaveLength(4)
    expect(folderDigest(join(db, '..'))).toEqual(before)
    await removeStore(s.id)
    await expectIntact(v, baseline)
  })
})

describe('a foreign DuckDB file with a `sessions` table of other columns and types', () => {
  it('never crashes a view: every session view answers JSON (data or a clear error); the file is untouched', async () => {
    const db = await storeFolder(writeForeignSessionsDuckDb)
    const before = folderDigest(join(db, '..'))
    const s = await addStore(db)
    const sessions = await rpc(v, 'listSessions', [s.id])
    expect([200, 503]).toContain(sessions.status)
    const rows = (sessions.body.value ?? []) as Array<{ sessionId: string }>
    for (const row of rows) {
      for (const method of ['getSessionSummary', 'getDag', 'getEnergy', 'getLlmSummary', 'getSandbox', 'getDecisionTrace']) {
        const res = await rpc(v, method, [s.id, String(row.sessionId)])
        expect(res.body.ok === true || (res.body.error?.message.length ?? 0) > 10, `${method}: ${JSON.stringify(res.body).slice(0, 200)}`).toBe(true)
      }
    }
    expect(folderDigest(join(db, '..'))).toEqual(before)
    await removeStore(s.id)
    await expectIntact(v, baseline)
  })
})

describe('a store replaced under Vigil while it polls', () => {
  it('atomic renames and in-place rewrites between good, corrupt, future, truncated and text files: a clear state at every poll, recovery at the end', async () => {
    const dir = mkdtempSync(join(root, 'churn-'))
    const db = join(dir, 'perspt.db')
    const variants = join(root, 'variants')
    mkdirSync(variants, { recursive: true })
    const files = {
      good,
      corrupt: join(variants, 'corrupt.db'),
      future: join(variants, 'future.db'),
      truncated: join(variants, 'truncated.db'),
      text: join(variants, 'text.db')
    }
    await writeCorruptStore(files.corrupt)
    withStorageVersion(good, files.future, 999n)
    writeTruncatedCopy(good, files.truncated)
    writeNonDuckDbFile(files.text)
    const templates = folderDigest(variants)
    const goodDigest = folderDigest(root)['good.db']
    copyFileSync(good, db)
    const s = await addStore(db)
    expect(s.state).toBe('ready')
    const expected: Record<string, string> = { corrupt: 'corrupt', future: 'too-new', truncated: 'truncated', text: 'not-duckdb' }
    const seen = new Set<string>()
    let step = 0
    for (const name of ['corrupt', 'good', 'future', 'text', 'good', 'truncated', 'corrupt', 'good', 'text', 'future'] as const) {
      const src = files[name]
      // Alternate an atomic replace (new inode) with an in-place rewrite (same inode, truncated first).
      if (step++ % 2 === 0) {
        copyFileSync(src, `${db}.tmp`)
        renameSync(`${db}.tmp`, db)
      } else {
        writeFileSync(db, readFileSync(src))
      }
      // While Vigil polls (every 100 ms), the API always answers with JSON, never a crash.
      const settled = await waitFor(() => {
        const now = source(s.id)
        if (name === 'good') return now.state === 'ready' && now.problem === null ? now : undefined
        return now.problem?.code === expected[name] ? now : undefined
      }, `state after switching to ${name}`, 10_000)
      seen.add(settled.problem?.code ?? 'ready')
      const listed = await rpc(v, 'listSessions', [s.id])
      // The last good snapshot's sessions stay readable while the file is bad.
      expect(listed.status).toBe(200)
      expect(listed.body.value).toHaveLength(4)
    }
    expect(seen).toEqual(new Set(['ready', 'corrupt', 'too-new', 'not-duckdb', 'truncated']))
    // Back to good, then left alone: ready, and no file was ever written by Vigil.
    copyFileSync(good, db)
    await waitFor(() => source(s.id).state === 'ready', 'final recovery', 10_000)
    expect(folderDigest(variants)).toEqual(templates)
    expect(folderDigest(root)['good.db']).toBe(goodDigest)
    expect(folderDigest(dir)).toEqual({ 'perspt.db': goodDigest })
    await removeStore(s.id)
    await expectServing(v)
    await expectIntact(v, baseline)
  }, 60_000)

  it('a store deleted and recreated as a folder, then as a good file again', async () => {
    const dir = mkdtempSync(join(root, 'flip-'))
    const db = join(dir, 'perspt.db')
    copyFileSync(good, db)
    const s = await addStore(db)
    expect(s.state).toBe('ready')
    rmSync(db)
    mkdirSync(db)
    await waitFor(() => source(s.id).problem?.code === 'is-directory', 'folder noticed')
    rmSync(db, { recursive: true })
    copyFileSync(good, db)
    await waitFor(() => source(s.id).state === 'ready', 'file again')
    await removeStore(s.id)
    await expectIntact(v, baseline)
  })
})

describe("Vigil's own recording file", () => {
  const cases: Array<[string, (path: string, tmp: string) => Promise<void> | void, RegExp]> = [
    ['written by a future DuckDB', async (path, tmp) => {
      // Any DuckDB file will do as the base: the storage version is checked before anything else.
      const real = join(tmp, 'real.duckdb')
      await buildStore(real, { generation: 23 })
      withStorageVersion(real, path, 999n)
    }, /version number 999/],
    ['encrypted', (path) => writeEncryptedDuckDb(path), /encrypted database/],
    ['truncated', async (path, tmp) => {
      const real = join(tmp, 'real.duckdb')
      await buildStore(real, { generation: 23 })
      writeTruncatedCopy(real, path)
    }, /Could not read enough bytes|truncated/],
    ['a Perspt store', async (path) => buildStore(path, { generation: 23 }), /did not create/],
    ['a text file', (path) => writeNonDuckDbFile(path), /not a DuckDB database/],
    ['empty', (path) => writeFileSync(path, ''), /not a DuckDB database/]
  ]
  it.each(cases)('%s: Vigil runs without recording, says why over the API, and leaves the file alone', async (_what, plant, message) => {
    let digest: Record<string, string> = {}
    const w = await startVigil({
      expectRecording: false,
      prepare: async (dir) => {
        const tmp = mkdtempSync(join(dir, 'plant-'))
        await plant(recordingPath(dir), tmp)
        rmSync(tmp, { recursive: true, force: true })
        digest = folderDigest(dir)
      }
    })
    try {
      const info = await rpc(w, 'getAppInfo', [])
      const recording = (info.body.value as { recording: { active: boolean; problem: string | null; path: string } }).recording
      expect(recording.active).toBe(false)
      expect(recording.problem).toMatch(message)
      expect(recording.problem).toContain(recordingPath(w.dir))
      // Nothing that cannot be kept is acknowledged: a POST is refused 503. Live data from a socket still
      // flows (shown, counted as not recorded), and the file is exactly as planted.
      const run = '{"type":"event","producer":{"producerId":"p"},"sequence":1,"message":{"type":"ensemble_started","ensembleId":"e","startedAt":null,"totalTasks":1,"workflow":null}}'
      expect(await postIngress(w, run)).toBe(503)
      const publisher = wsClient(w, '/ingress', null)
      await publisher.opened
      publisher.ws.send(run)
      await waitFor(() => w.service.registry.tracker.listRuns().length === 1, 'live run')
      publisher.ws.close()
      expect(w.service.recordingStatus().notRecorded.hub).toBe(1)
      const exported = await rpc(w, 'exportRunTrace', [w.service.registry.tracker.listRuns()[0]!.runId])
      expect(exported.status).toBe(503)
      expect(exported.body.error?.message).toMatch(/not being recorded/)
      await expectServing(w)
      const after = folderDigest(w.dir)
      for (const [name, hash] of Object.entries(digest)) if (name === 'recordings.duckdb' || name.startsWith('recordings.duckdb')) expect(after[name]).toBe(hash)
    } finally {
      await w.close()
    }
  })

  it('a zero-byte .wal next to a good recording: earlier runs come back, recording goes on', async () => {
    const first = await startVigil()
    const path = recordingPath(first.dir)
    const seeded = await seedBaseline(first)
    const keep = mkdtempSync(join(root, 'rec-'))
    await first.service.close() // flushes and closes the recording
    copyFileSync(path, join(keep, 'recordings.duckdb'))
    await first.close()
    const w = await startVigil({
      prepare: (dir) => {
        copyFileSync(join(keep, 'recordings.duckdb'), recordingPath(dir))
        writeFileSync(`${recordingPath(dir)}.wal`, '')
      }
    })
    try {
      await waitFor(() => w.service.registry.tracker.listRuns().some((r) => r.ensembleId === 'baseline-run'), 'replayed run')
      const replayed = (await w.service.listRuns()).find((r) => r.ensembleId === 'baseline-run')!
      expect(replayed.eventCount).toBe(seeded.eventCount)
      expect((await rpc(w, 'exportRunTrace', [replayed.runId])).status).toBe(200)
    } finally {
      await w.close()
    }
  })
})
