// The live copy (live-copy.ts) under the fault model: its disk fills while it applies the agent's rows,
// the agent's file is replaced under it, and `vigil serve` is killed (SIGKILL) while it holds one. Real
// DuckDB files, a real agent process, real tmpfs mounts and signals. Whatever happens, the store never
// shows rows the agent's files do not hold now: it goes back to snapshots (and counts the drop), or, when
// it cannot read at all, keeps the last good version and says why. The truth each case compares with is
// plain SQL over a fresh copy of the agent's files, opened by a DuckDB of its own.
// The disk-full cases need `mount` (root in a sandbox, as here and in CI); they are skipped elsewhere.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { PersptStore } from '../../src/main/perspt/perspt-store'
import { buildStore } from '../fixtures/perspt-fixtures'
import { startSqlAgent, type SqlAgent } from '../fixtures/sql-agent'
import { canMountTmpfs, killAll, mountTmpfs, requireBuild, startVigil, stopWith, unmountAll, waitUntil, type VigilProcess } from './vigil-process'

const root = mkdtempSync(join(tmpdir(), 'vigil-fault-live-'))
const children: ChildProcessWithoutNullStreams[] = []
const stores: PersptStore[] = []
afterEach(async () => {
  killAll()
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  // Mounts first: a store's close() removes its private folder, mount points included.
  unmountAll()
  await Promise.all(stores.splice(0).map((s) => s.close()))
})
afterAll(() => {
  unmountAll()
  rmSync(root, { recursive: true, force: true })
})

async function newStore(): Promise<{ dir: string; db: string }> {
  const dir = mkdtempSync(join(root, 'case-'))
  const db = join(dir, 'perspt.db')
  await buildStore(db, { generation: 23 })
  return { dir, db }
}

const llmRow = (sid: string, node: string, size = 500) =>
  `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('${sid}', '${node}', 'm', '${'x'.repeat(size)}', 'r', ${size}, 1, 10)`
const session = (sid: string) =>
  `INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('${sid}', 'live', '/w', ''::BLOB, '', 'RUNNING')`
const rows = (sid: string, prefix: string, n: number, size = 500) => Array.from({ length: n }, (_, i) => llmRow(sid, `${prefix}${i}`, size))

/**
 * A store with session `sid` (30 calls) whose private folder is a 64 MiB disk of its own, read by a new
 * PersptStore (not yet live).
 */
async function storeOnSmallDisk(sid: string): Promise<{ db: string; agent: SqlAgent; tmpRoot: string; store: PersptStore }> {
  const { dir, db } = await newStore()
  const agent = await startSqlAgent(db, children)
  await agent.sql(session(sid), ...rows(sid, 'a', 30))
  const tmpRoot = join(dir, 'store-tmp')
  mountTmpfs(tmpRoot, '64m')
  const store = new PersptStore({ path: db, tmpRoot })
  stores.push(store)
  return { db, agent, tmpRoot, store }
}

/** Every table's row count and content hash (order-free), by SQL on `con`'s current database. */
async function contentOf(con: DuckDBConnection): Promise<Record<string, string>> {
  const tables = (await con.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' ORDER BY 1"))
    .getRowObjectsJS()
    .map((r) => String(r.table_name))
  const out: Record<string, string> = {}
  for (const t of tables) {
    const reader = await con.runAndReadAll(`SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(t))::VARCHAR, '') AS v FROM "${t}" t`)
    out[t] = String(reader.getRowObjectsJS()[0]!.v)
  }
  return out
}

/** Per session: its status and its LLM calls, as the agent's files hold them. */
interface Truth {
  content: Record<string, string>
  sessions: Record<string, { status: string; llm: number }>
  nodeIds: string[]
}

/** The truth: the files at `db` (the agent's, or any DuckDB file) as they are now, copied to a fresh folder and opened by a DuckDB of their own. */
async function sqlTruth(db: string): Promise<Truth> {
  const dir = mkdtempSync(join(root, 'truth-'))
  try {
    copyFileSync(db, join(dir, 'perspt.db'))
    if (existsSync(`${db}.wal`)) copyFileSync(`${db}.wal`, join(dir, 'perspt.db.wal'))
    const instance = await DuckDBInstance.create(join(dir, 'perspt.db'))
    const con = await instance.connect()
    try {
      const content = await contentOf(con)
      const list = (await con.runAndReadAll('SELECT s.session_id, s.status, (SELECT count(*) FROM llm_requests l WHERE l.session_id = s.session_id) AS llm FROM sessions s'))
        .getRowObjectsJS()
      const sessions = Object.fromEntries(list.map((r) => [String(r.session_id), { status: String(r.status), llm: Number(r.llm) }]))
      const nodeIds = (await con.runAndReadAll('SELECT DISTINCT node_id FROM llm_requests ORDER BY 1')).getRowObjectsJS().map((r) => String(r.node_id))
      return { content, sessions, nodeIds }
    } finally {
      con.closeSync()
      instance.closeSync()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** What the store shows: its session list, and the content its views read (the copy it reads from). */
async function shownBy(store: PersptStore): Promise<Truth> {
  const sessions = Object.fromEntries((await store.listSessions()).map((r) => [r.sessionId, { status: r.rawStatus, llm: r.llmRequests }]))
  const { content, nodeIds } = await store.query(`content-${Math.random()}`, async (con) => ({
    content: await contentOf(con),
    nodeIds: (await con.runAndReadAll('SELECT DISTINCT node_id FROM llm_requests ORDER BY 1')).getRowObjectsJS().map((r) => String(r.node_id))
  }))
  return { content, sessions, nodeIds }
}

async function expectTruth(store: PersptStore, db: string, what: string): Promise<Truth> {
  const truth = await sqlTruth(db)
  const shown = await shownBy(store)
  expect(shown.sessions, what).toEqual(truth.sessions)
  expect(shown.content, what).toEqual(truth.content)
  return truth
}

/** The store's own folder in `tmpRoot` (made by its first refresh). */
function storeFolder(tmpRoot: string): string {
  const names = readdirSync(tmpRoot).filter((n) => n.startsWith('perspt-store-'))
  expect(names).toHaveLength(1)
  return join(tmpRoot, names[0]!)
}

/**
 * Refreshes with the agent committing until the store reads through a live copy (its tail base built in
 * the background first). `before` runs once, after the first refresh made the store's folder.
 */
async function untilLive(store: PersptStore, agent: SqlAgent, sid: string, before?: () => void): Promise<void> {
  await store.refresh()
  before?.()
  const copies = store.liveStats.copies
  for (let i = 0; i < 200 && store.liveStats.copies === copies; i++) {
    await new Promise((r) => setTimeout(r, 50))
    await agent.sql(llmRow(sid, `warm-${Date.now()}-${i}`))
    await store.refresh()
  }
  expect(store.liveStats.copies, 'a live copy was made').toBeGreaterThan(copies)
}

/** Fills the file system of `dir` (a user's download, another program's files) but for `leave` bytes. */
function fill(dir: string, leave = 0): string {
  const filler = join(dir, `filler-${Date.now()}`)
  const { bavail, bsize } = statfsSync(dir)
  try {
    writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize) - leave))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  }
  expect(Number(statfsSync(dir).bavail) * Number(bsize)).toBe(leave)
  return filler
}

describe.skipIf(!canMountTmpfs)('the live copy on a disk that fills while it applies rows', () => {
  it("only the live copy's disk full: the same refresh goes back to a snapshot and shows the truth, counts the drop, and a later live copy is exact", async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db, children)
    await agent.sql(session('d1'), ...rows('d1', 'a', 30))
    const tmpRoot = join(dir, 'store-tmp')
    const store = new PersptStore({ path: db, tmpRoot })
    stores.push(store)
    // The first live copy's folder is a small disk of its own; the store's snapshots have room.
    let mount = ''
    await untilLive(store, agent, 'd1', () => {
      mount = join(storeFolder(tmpRoot), 'live-1')
      mountTmpfs(mount, '16m')
    })
    expect(store.liveStats.copies).toBe(1)
    expect(existsSync(join(mount, 'perspt.db'))).toBe(true)
    await agent.sql(...rows('d1', 'b', 5))
    await store.refresh()
    await expectTruth(store, db, 'live, before the disk fills')
    const versions = store.liveStats.versions
    const snapshots = store.snapshotStats()!

    fill(mount)
    // Enough new rows that DuckDB must write blocks for them; an UPDATE and a DELETE in the same apply.
    await agent.sql(...rows('d1', 'c', 20, 3000), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'd1'", "DELETE FROM llm_requests WHERE node_id = 'a3'")
    expect(await store.refresh()).toBe(true)
    const truth = await expectTruth(store, db, 'after the failed apply')
    expect(store.status()).toMatchObject({ state: 'ready', problem: null })
    // The copy was dropped (and counted), and the version came from a snapshot (a tail snapshot of the base, or a full copy).
    expect(store.liveStats).toMatchObject({ drops: 1, versions })
    const after = store.snapshotStats()!
    expect(after.tail + after.full).toBe(snapshots.tail + snapshots.full + 1)
    expect(truth.sessions.d1!.status).toBe('PAUSED')
    expect(truth.nodeIds).toContain('c19')
    expect(truth.nodeIds).not.toContain('a3')

    // A new live copy (on the roomy disk) takes over and is exact.
    for (let i = 0; i < 100 && store.liveStats.copies === 1; i++) {
      await agent.sql(llmRow('d1', `e${i}`))
      await store.refresh()
    }
    expect(store.liveStats.copies).toBe(2)
    await agent.sql(...rows('d1', 'f', 5), "UPDATE sessions SET status = 'COMPLETED' WHERE session_id = 'd1'")
    const live = store.liveStats.versions
    await store.refresh()
    expect(store.liveStats.versions).toBe(live + 1)
    await expectTruth(store, db, 'on the second live copy')
    expect(store.liveStats).toMatchObject({ drops: 1, off: null })
    await agent.quit()
  }, 60_000)

  it('the whole private folder full: the failed copy is removed and the same refresh shows the truth; still full, the last good version stays with a no-space problem; then the truth once space is back', async () => {
    const { db, agent, tmpRoot, store } = await storeOnSmallDisk('d2')
    await untilLive(store, agent, 'd2')
    await agent.sql(...rows('d2', 'b', 5))
    await store.refresh()
    await expectTruth(store, db, 'live, before the disk fills')

    const fillers = [fill(tmpRoot)]
    // An apply of several DuckDB transactions (an UPDATE after an append to the same table commits the
    // append first); the first commit already fails, and the copy is not read again.
    await agent.sql(
      ...rows('d2', 'c', 10, 3000),
      "UPDATE llm_requests SET tokens_out = 7 WHERE node_id = 'c1'",
      ...rows('d2', 'd', 10, 3000),
      "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'd2'"
    )
    // Removing the failed copy gives the snapshot room: the same refresh reads the truth.
    expect(await store.refresh()).toBe(true)
    const good = await expectTruth(store, db, 'after the failed apply')
    expect(store.status()).toMatchObject({ state: 'ready', problem: null })
    expect(store.liveStats.drops).toBe(1)
    expect(good.sessions.d2!.status).toBe('PAUSED')
    expect(good.nodeIds).toContain('d9')
    const version = store.status().version

    // Still full (the room taken again): no new copy of any kind can be made.
    fillers.push(fill(tmpRoot))
    await agent.sql(...rows('d2', 'e', 10, 3000), "UPDATE sessions SET status = 'FAILED' WHERE session_id = 'd2'")
    expect(await store.refresh()).toBe(false)
    const status = store.status()
    expect(status.state).toBe('error')
    expect(status.problem?.code).toBe('no-space')
    expect(status.version).toBe(version)
    // The list and the views are the last good version's, never a mix.
    expect(await shownBy(store)).toEqual(good)

    // Space is back: the next refresh reads the truth.
    for (const filler of fillers) rmSync(filler)
    expect(await store.refresh()).toBe(true)
    expect(store.status()).toMatchObject({ state: 'ready', problem: null })
    const truth = await expectTruth(store, db, 'once space is back')
    expect(truth.sessions.d2!.status).toBe('FAILED')
    await agent.sql(llmRow('d2', 'g1'), "DELETE FROM llm_requests WHERE node_id = 'c2'")
    await store.refresh()
    await expectTruth(store, db, 'after more rows')
    await agent.quit()
  }, 60_000)
})

describe.skipIf(!canMountTmpfs)("the live copy's check on a full disk", () => {
  it('a check whose replay cannot be written fails on its own: it says so, changes nothing, the live copy reads on; once space is back the next check replays afresh and agrees', async () => {
    const { db, agent, tmpRoot, store } = await storeOnSmallDisk('k9')
    await untilLive(store, agent, 'k9')
    await store.checkLiveNow()
    expect(store.liveStats).toMatchObject({ checks: 1, mismatches: 0, off: null })
    const replays = store.snapshotStats()!
    await agent.sql(...rows('k9', 'b', 10, 3000), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'k9'")
    await store.refresh()
    const versions = store.liveStats.versions

    // The disk fills between refreshes: the check's fold (its replay's WAL and checkpoint) and then its
    // whole copy both need room.
    const filler = fill(tmpRoot)
    const warnings: string[] = []
    const warn = console.warn
    console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '))
    try {
      await store.checkLiveNow()
    } finally {
      console.warn = warn
    }
    expect(warnings.join('\n')).toMatch(/checking the live copy of .* failed \(.*No space left on device/)
    // Not a difference: live copies stay on, nothing counted as a mismatch, no check counted.
    expect(store.liveStats).toMatchObject({ checks: 1, mismatches: 0, off: null, drops: 0 })
    expect(store.snapshotStats()).toMatchObject({ replayedFolds: replays.replayedFolds, replayedCopies: replays.replayedCopies })
    // The failed replay left nothing behind to fill the disk further.
    expect(readdirSync(join(storeFolder(tmpRoot), 's1')).filter((n) => n.startsWith('replayed-'))).toEqual([])

    rmSync(filler)
    await agent.sql(...rows('k9', 'c', 5), "UPDATE sessions SET status = 'RUNNING' WHERE session_id = 'k9'")
    await store.refresh()
    expect(store.liveStats.versions).toBe(versions + 1)
    expect(store.status().reading).toEqual({ mode: 'live', fallbacks: 0, liveOff: null })
    await expectTruth(store, db, 'live after the failed check')
    await store.checkLiveNow()
    expect(store.liveStats).toMatchObject({ checks: 2, mismatches: 0, off: null })
    expect(store.snapshotStats()).toMatchObject({ replayedCopies: replays.replayedCopies + 1 })
    await agent.quit()
  }, 60_000)
})

describe.skipIf(!canMountTmpfs)('a live copy dropped half-applied', () => {
  it('with no room for a snapshot and its folder not removable, no view opens the dropped copy again: they say the store is unavailable, the list stays the last version, then the truth once space is back', async () => {
    const { db, agent, tmpRoot, store } = await storeOnSmallDisk('h1')
    // The live copy's folder is a disk of its own, mounted there: removing the folder fails (EBUSY), as
    // removing a folder can fail for reasons of its own.
    let mount = ''
    await untilLive(store, agent, 'h1', () => {
      mount = join(storeFolder(tmpRoot), 'live-1')
      mountTmpfs(mount, '16m')
    })
    await agent.sql(...rows('h1', 'b', 5))
    await store.refresh()
    const good = await expectTruth(store, db, 'live, before the disks fill')
    const version = store.status().version

    // The private folder full; the live copy's disk with room for a small commit only. The apply's
    // first DuckDB transaction (one row, committed before the UPDATE of its table) fits, the next does not.
    const fillers = [fill(tmpRoot), fill(mount, 16 * 1024)]
    await agent.sql(llmRow('h1', 'small', 10), "UPDATE llm_requests SET tokens_out = 5 WHERE node_id = 'small'", ...rows('h1', 'c', 20, 3000))
    expect(await store.refresh()).toBe(false)
    expect(store.liveStats.drops).toBe(1)
    expect(store.status()).toMatchObject({ state: 'error', version, problem: { code: 'no-space' } })
    // The dropped copy is still there, half-applied: the small row, none of the rest.
    const dropped = await sqlTruth(join(mount, 'perspt.db'))
    expect(dropped.nodeIds).toContain('small')
    expect(dropped.nodeIds).not.toContain('c0')

    // The list is the last version's; a view never reads the dropped copy.
    const list = Object.fromEntries((await store.listSessions()).map((r) => [r.sessionId, { status: r.rawStatus, llm: r.llmRequests }]))
    expect(list).toEqual(good.sessions)
    await expect(shownBy(store)).rejects.toThrow(/not available.*full/)
    expect(await store.refresh()).toBe(false)
    await expect(shownBy(store)).rejects.toThrow(/not available/)

    // Space is back: the truth.
    for (const filler of fillers) rmSync(filler)
    expect(await store.refresh()).toBe(true)
    expect(store.status()).toMatchObject({ state: 'ready', problem: null })
    const truth = await expectTruth(store, db, 'once space is back')
    expect(truth.nodeIds).toContain('c19')
    // And back on a live copy that follows each write: its first apply, with no copy open (the default
    // database DuckDB binds an appender's defaults in was 'memory'), failed and turned live copies off.
    expect(store.status().reading).toEqual({ mode: 'live', fallbacks: 1, liveOff: null })
    await agent.sql(llmRow('h1', 'after', 1))
    const versions = store.liveStats.versions
    await store.refresh()
    expect(store.liveStats.versions).toBe(versions + 1)
    expect(store.liveStats.off).toBeNull()
    await expectTruth(store, db, 'live again after the full disk')
    await agent.quit()
  }, 60_000)
})

describe("the agent's file replaced under a live copy", () => {
  it('a fork of the same store (same rows up to the copy, then others) moved into place: the next reads show the new files, never rows only the old one has', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db, children)
    await agent.sql(session('r1'), ...rows('r1', 'a', 30))
    const store = new PersptStore({ path: db, tmpRoot: join(dir, 'store-tmp') })
    stores.push(store)
    await untilLive(store, agent, 'r1')
    await store.refresh()
    await expectTruth(store, db, 'live on the first file')

    // The fork: the store's files as they are now, opened by a second agent.
    const forkDir = mkdtempSync(join(dir, 'fork-'))
    const fork = join(forkDir, 'perspt.db')
    copyFileSync(db, fork)
    copyFileSync(`${db}.wal`, `${fork}.wal`)
    const forkAgent = await startSqlAgent(fork, children)
    // The first file moves on, and the live copy applies it: rows the fork never had.
    await agent.sql(...rows('r1', 'old-', 8), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'r1'", "DELETE FROM llm_requests WHERE node_id = 'a2'")
    const versions = store.liveStats.versions
    await store.refresh()
    expect(store.liveStats.versions).toBe(versions + 1)
    const old = await expectTruth(store, db, 'the first file moved on')
    expect(old.nodeIds).toContain('old-0')
    // The fork moves on differently: other rows, another status, another row deleted.
    await forkAgent.sql(...rows('r1', 'fork-', 12), "UPDATE sessions SET status = 'FAILED' WHERE session_id = 'r1'", "DELETE FROM llm_requests WHERE node_id = 'a5'")
    expect(existsSync(`${fork}.wal`)).toBe(true)
    // Moved into place (new inodes, same path); the first agent still writes to its file, now unlinked.
    renameSync(`${fork}.wal`, `${db}.wal`)
    renameSync(fork, db)
    await agent.sql(...rows('r1', 'old-late-', 4))

    const drops = store.liveStats.drops
    const read = await store.refresh()
    const now = await expectTruth(store, db, 'the fork moved into place')
    expect(read).toBe(true)
    expect(store.liveStats.drops).toBe(drops + 1)
    expect(now.sessions.r1!.status).toBe('FAILED')
    expect(now.nodeIds).toContain('fork-0')
    expect(now.nodeIds.filter((n) => n.startsWith('old-'))).toEqual([])
    expect(now.nodeIds).toContain('a2')

    // Back on a live copy of the new files, exact, and still nothing of the first file.
    const copies = store.liveStats.copies
    for (let i = 0; i < 100 && store.liveStats.copies === copies; i++) {
      await new Promise((r) => setTimeout(r, 50))
      await forkAgent.sql(llmRow('r1', `fork-warm-${i}`))
      await store.refresh()
    }
    expect(store.liveStats.copies).toBe(copies + 1)
    await forkAgent.sql(...rows('r1', 'fork-late-', 3), "UPDATE sessions SET status = 'COMPLETED' WHERE session_id = 'r1'", "DELETE FROM llm_requests WHERE node_id = 'fork-1'")
    await agent.sql(...rows('r1', 'old-later-', 3))
    const live = store.liveStats.versions
    await store.refresh()
    expect(store.liveStats.versions).toBe(live + 1)
    const last = await expectTruth(store, db, 'live on the fork')
    expect(last.nodeIds.filter((n) => n.startsWith('old-'))).toEqual([])
    expect(store.liveStats.off).toBeNull()
  }, 60_000)
})

/** The live copies' files under `tmp` (vigil-<pid>-…/<store id>/perspt-store-…/live-N/perspt.db and its WAL). */
function liveCopyFiles(tmp: string): string[] {
  if (!existsSync(tmp)) return []
  return readdirSync(tmp, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => /\/live-\d+\/perspt\.db(\.wal)?$/.test(p))
}

interface SourceLite {
  id: string
  kind: string
  state?: string
}

async function rpc<T>(v: VigilProcess, method: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`${v.url}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args }) })
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } }
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`)
  return body.value as T
}

/** The sessions `v` shows for its one store: status and LLM calls per session (null while it has none). */
async function servedSessions(v: VigilProcess): Promise<Truth['sessions'] | null> {
  const store = (await rpc<SourceLite[]>(v, 'listSources')).find((s) => s.kind === 'store')
  if (store?.state !== 'ready') return null
  const list = await rpc<{ sessionId: string; rawStatus: string; llmRequests: number; countsPending?: boolean }[]>(v, 'listSessions', store.id)
  if (list.some((r) => r.countsPending)) return null
  return Object.fromEntries(list.map((r) => [r.sessionId, { status: r.rawStatus, llm: r.llmRequests }]))
}

const canonical = (sessions: Truth['sessions'] | null) => JSON.stringify(sessions && Object.entries(sessions).sort(([a], [b]) => a.localeCompare(b)))

/** Waits until `v` shows what the agent's files hold now. */
async function untilServedTruth(v: VigilProcess, db: string, what: string): Promise<void> {
  const truth = await sqlTruth(db)
  let shown: Truth['sessions'] | null = null
  try {
    await waitUntil(async () => canonical((shown = await servedSessions(v))) === canonical(truth.sessions), what, 15_000)
  } catch (err) {
    expect(shown, what).toEqual(truth.sessions)
    throw err
  }
}

describe('vigil serve killed (SIGKILL) while it holds a live copy', () => {
  beforeAll(() => requireBuild())

  it('leaves the copy and its WAL; the next start removes that folder and shows the agent’s current truth, live again', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db, children)
    await agent.sql(session('k1'), ...rows('k1', 'a', 30))
    const tmp = join(dir, 'tmp')
    mkdirSync(tmp)
    const first = await startVigil(join(dir, 'data-1'), { args: ['--db', db], env: { TMPDIR: tmp } })
    // The agent commits until the first Vigil has a live copy that applied rows (its own WAL).
    let n = 0
    await waitUntil(
      async () => {
        await agent.sql(llmRow('k1', `w${n++}`))
        return liveCopyFiles(tmp).some((p) => p.endsWith('.wal'))
      },
      'a live copy with its WAL in the first Vigil',
      15_000
    )
    const left = liveCopyFiles(tmp)
    const folder = readdirSync(tmp)
    expect(folder).toHaveLength(1)
    expect(folder[0]).toMatch(new RegExp(`^vigil-${first.proc.pid}-`))
    expect(await stopWith(first, 'SIGKILL')).toBe('SIGKILL')
    // SIGKILL: nothing ran, the copy is still there.
    expect(left.filter((p) => existsSync(p))).toEqual(left)

    // The agent goes on meanwhile.
    await agent.sql(...rows('k1', 'b', 7), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'k1'", "DELETE FROM llm_requests WHERE node_id = 'a4'")
    const second = await startVigil(join(dir, 'data-2'), { args: ['--db', db], env: { TMPDIR: tmp } })
    await waitUntil(async () => !existsSync(join(tmp, folder[0]!)), 'the killed Vigil’s folder removed', 10_000)
    expect(left.filter((p) => existsSync(p))).toEqual([])
    expect(readdirSync(tmp).every((name) => name.startsWith(`vigil-${second.proc.pid}-`))).toBe(true)
    await untilServedTruth(second, db, 'the restarted Vigil shows the current truth')

    // And it follows the agent again (through a live copy of its own once its base is built).
    await waitUntil(
      async () => {
        await agent.sql(llmRow('k1', `z${n++}`))
        return liveCopyFiles(tmp).some((p) => p.endsWith('.wal'))
      },
      'a live copy in the restarted Vigil',
      15_000
    )
    expect(liveCopyFiles(tmp).every((p) => basename(p).startsWith('perspt.db') && p.startsWith(join(tmp, `vigil-${second.proc.pid}-`)))).toBe(true)
    await agent.sql(llmRow('k1', 'last'), "UPDATE sessions SET status = 'COMPLETED' WHERE session_id = 'k1'")
    await untilServedTruth(second, db, 'the restarted Vigil follows the agent')
    expect(await stopWith(second, 'SIGTERM')).toBe(0)
    expect(readdirSync(tmp)).toEqual([])
    await agent.quit()
  }, 60_000)
})
