// The key property: Vigil and a real agent process share a store without ever blocking each other.
import { describe, it, expect, afterAll, afterEach } from 'vitest'
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import { PersptStore } from '../../../src/main/perspt/perspt-store'
import { SnapshotBusyError, StoreSnapshotter } from '../../../src/main/perspt/snapshot'
import { buildStore } from '../../fixtures/perspt-fixtures'

const AGENT = fileURLToPath(new URL('../../fixtures/perspt-agent.mjs', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'vigil-multiproc-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const children: ChildProcessWithoutNullStreams[] = []
const stores: PersptStore[] = []
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill()
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

/** A writer process driven line by line: send a command, await the line it prints back. */
function startAgent(args: string[]) {
  const child = spawn(process.execPath, [AGENT, ...args])
  children.push(child)
  const lines: string[] = []
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void }[] = []
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  createInterface({ input: child.stdout }).on('line', (line) => {
    const i = waiters.findIndex((w) => w.match(line))
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(line)
    else lines.push(line)
  })
  const waitFor = (match: (l: string) => boolean, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.findIndex(match)
      if (found >= 0) return resolve(lines.splice(found, 1)[0] as string)
      const timer = setTimeout(() => reject(new Error(`agent timed out; stderr: ${stderr}`)), timeoutMs)
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) })
    })
  const send = (line: string) => child.stdin.write(`${line}\n`)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, waitFor, send, exited }
}

async function newStore() {
  const dir = mkdtempSync(join(root, 'case-'))
  const path = join(dir, 'perspt.db')
  await buildStore(path, { generation: 23 })
  const store = new PersptStore({ path, tmpRoot: join(dir, 'vigil-tmp') })
  stores.push(store)
  return { path, store }
}

describe('Vigil beside a separate agent process', () => {
  it('sees rows the agent keeps inserting while it holds the store read-write', async () => {
    const { path, store } = await newStore()
    const agent = startAgent(['hold', path])
    await agent.waitFor((l) => l === 'ready')

    expect(await store.refresh()).toBe(true)
    expect(store.status()).toMatchObject({ state: 'ready', liveness: process.platform === 'linux' ? 'live' : 'unknown' })
    // The fixture's RUNNING session has a live lock holder now: it is running, not stale.
    expect((await store.listSessions()).find((s) => s.sessionId === 'fx-running')?.status).toBe('running')
    expect(await store.listSessions()).toHaveLength(4)

    for (let i = 1; i <= 5; i++) {
      agent.send(`session live-${i}`)
      await agent.waitFor((l) => l === `ok live-${i}`)
      expect(await store.refresh()).toBe(true)
      const rows = await store.listSessions()
      expect(rows).toHaveLength(4 + i)
      const added = rows.find((r) => r.sessionId === `live-${i}`)
      expect(added).toMatchObject({ status: 'running', llmRequests: 1, tokensIn: 10, tokensOut: 5 })
    }
    expect(store.status().version).toBe(6)
    expect(await store.refresh()).toBe(false)

    agent.send('quit')
    agent.child.stdin.end()
    await agent.waitFor((l) => l === 'closed')
    expect(await agent.exited).toBe(0)
    // The agent checkpointed and left: the store changed and its RUNNING sessions are now stale.
    expect(await store.refresh()).toBe(true)
    expect(store.status().liveness).toBe(process.platform === 'linux' ? 'idle' : 'live')
    if (process.platform === 'linux') {
      expect((await store.listSessions()).find((s) => s.sessionId === 'live-5')?.status).toBe('stale')
    }
    expect(existsSync(`${path}.wal`)).toBe(false)
  }, 60_000)

  // A snapshot read stalled a few times under this 25 ms polling stress in full CI runs (the app polls every
  // 500 ms); the agent itself was never blocked. The store now abandons a refresh after 15 s and goes on with
  // a fresh copy, so a stall costs one refresh, not the store; the step it was stuck in is logged and, if the
  // poller still stalls, named below. One retry stays for the load of a full CI run.
  it('never blocks the agent: 30 read-write open/insert/close cycles succeed while Vigil polls', { retry: 1, timeout: 120_000 }, async () => {
    const { path, store } = await newStore()
    let polls = 0
    let polling = true
    let slowestRefreshMs = 0
    const seen = new Set<number>()
    const poller = (async () => {
      while (polling) {
        const t0 = performance.now()
        await store.refresh()
        slowestRefreshMs = Math.max(slowestRefreshMs, performance.now() - t0)
        polls++
        if (store.status().state === 'ready') seen.add((await store.listSessions()).length)
        await new Promise((r) => setTimeout(r, 25))
      }
    })()
    let report: { cycles: number; failures: string[] }
    try {
      const agent = startAgent(['cycles', path, '30', '15'])
      report = JSON.parse(await agent.waitFor((l) => l.startsWith('{'), 60_000)) as { cycles: number; failures: string[] }
    } finally {
      polling = false
    }
    // A stalled read must not hang the test: say so plainly.
    const stalled = await Promise.race([poller.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 20_000))])
    expect(stalled, `a snapshot refresh did not finish within 20 s (stuck in "${store.refreshStage()}"; slowest finished one: ${Math.round(slowestRefreshMs)} ms)`).toBe(false)
    expect(report).toEqual({ cycles: 30, failures: [] })
    expect(polls, "Vigil kept polling while the agent worked").toBeGreaterThanOrEqual(10)
    expect(store.status().problem).toBeNull()
    // Vigil saw the store grow along the way and ends with all 34 sessions.
    await store.refresh()
    expect(await store.listSessions()).toHaveLength(34)
    expect(seen.size).toBeGreaterThan(2)
  })
})

describe('snapshot base reuse under a concurrent writer', () => {
  it('never yields a torn or inconsistent snapshot, across checkpoints', async () => {
    const dir = mkdtempSync(join(root, 'reuse-'))
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 23, sessions: [] })
    const snaps = new StoreSnapshotter({ sourcePath: path, tmpRoot: join(dir, 'snaps') })
    const agent = startAgent(['stream', path, '300', '40'])
    await agent.waitFor((l) => l === 'ready')
    let finished = false
    void agent.waitFor((l) => l === 'done', 60_000).then(() => (finished = true))
    const stats = { reused: 0, copied: 0, unchanged: 0, busy: 0 }
    let last = -1
    try {
      while (!finished) {
        let snap
        try {
          snap = await snaps.refresh()
        } catch (err) {
          if (err instanceof SnapshotBusyError) {
            stats.busy++
            continue
          }
          throw err
        }
        if (!snap.changed) {
          stats.unchanged++
          continue
        }
        stats[snaps.lastBase ?? 'copied']++
        const instance = await DuckDBInstance.create(snap.dbPath, { access_mode: 'READ_ONLY' })
        const con = await instance.connect()
        const [row] = (
          await con.runAndReadAll(
            `SELECT (SELECT count(*) FROM sessions)::INTEGER AS s, (SELECT count(*) FROM llm_requests)::INTEGER AS l`
          )
        ).getRowObjectsJS()
        con.closeSync()
        instance.closeSync()
        // Each session and its LLM row commit together: a consistent snapshot has equal counts.
        expect(row?.s).toBe(row?.l)
        expect(Number(row?.s)).toBeGreaterThanOrEqual(last)
        last = Number(row?.s)
      }
    } finally {
      await snaps.dispose()
    }
    expect(await agent.exited).toBe(0)
    console.log('snapshot reuse under a writer:', JSON.stringify({ ...stats, lastSeen: last }))
    expect(stats.reused).toBeGreaterThan(0)
    expect(stats.copied).toBeGreaterThan(1)
  }, 60_000)
})

describe('liveness per session', () => {
  it.runIf(process.platform === 'linux')('a crashed session stays stale when a new agent starts a new session in the same store', async () => {
    const { path, store } = await newStore()
    const statusOf = async (sid: string) => (await store.listSessions()).find((s) => s.sessionId === sid)?.status
    const first = startAgent(['hold', path])
    await first.waitFor((l) => l === 'ready')
    first.send('session crashed-1')
    await first.waitFor((l) => l === 'ok crashed-1')
    await store.refresh()
    expect(await statusOf('crashed-1')).toBe('running')

    first.child.kill('SIGKILL')
    await first.exited
    await store.refresh()
    expect(await statusOf('crashed-1')).toBe('stale')

    const second = startAgent(['hold', path])
    await second.waitFor((l) => l === 'ready')
    second.send('session fresh-2')
    await second.waitFor((l) => l === 'ok fresh-2')
    await store.refresh()
    expect(store.status().liveness).toBe('live')
    expect(await statusOf('fresh-2')).toBe('running')
    expect(await statusOf('crashed-1')).toBe('stale')
    // Still stale on later refreshes while the new agent keeps writing its own session.
    second.send('session fresh-3')
    await second.waitFor((l) => l === 'ok fresh-3')
    await store.refresh()
    expect(await statusOf('crashed-1')).toBe('stale')
    expect(await statusOf('fresh-3')).toBe('running')
    second.send('quit')
    await second.waitFor((l) => l === 'closed')
  }, 60_000)
})
