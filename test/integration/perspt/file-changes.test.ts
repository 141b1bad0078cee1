// Whatever happens to the file at the store's path, the next refresh shows what that file holds now:
// never the numbers of the file that was there before (issue 17, item 2). Each case compares what a
// long-lived PersptStore (with its incremental memo and its tail base) shows with what a new
// PersptStore reading the same file from scratch shows, and with the fixture's own numbers.
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { PersptStore } from '../../../src/main/perspt/perspt-store'
import type { SessionRow } from '../../../src/shared/model/perspt'
import { NODE_STATES_EXTENDED_COLUMNS } from '../../../src/main/perspt/schema'
import { buildStore, DEFAULT_SESSIONS } from '../../fixtures/perspt-fixtures'

const AGENT = fileURLToPath(new URL('../../fixtures/perspt-agent.mjs', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'vigil-filechanges-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const stores: PersptStore[] = []
const children: ChildProcessWithoutNullStreams[] = []
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

function storeAt(path: string, dir: string, onSourceChange?: () => Promise<unknown>): PersptStore {
  const s = new PersptStore({ path, tmpRoot: join(dir, `vigil-tmp-${stores.length}`), onSourceChange })
  stores.push(s)
  return s
}

const numbers = (rows: SessionRow[]) =>
  Object.fromEntries(rows.map((r) => [r.sessionId, { llm: r.llmRequests, tin: r.tokensIn, tout: r.tokensOut, nodes: r.nodes, status: r.rawStatus }]))

/** What a fresh reader of `path` shows: no memo, no base, no earlier file. */
async function fromScratch(path: string, dir: string) {
  const fresh = storeAt(path, dir)
  expect(await fresh.refresh()).toBe(true)
  const rows = numbers(await fresh.listSessions())
  await fresh.close()
  return rows
}

/** Store B: the same session id as store A's first session with other numbers, and more rows in all (higher ids). */
async function buildOther(path: string) {
  await buildStore(path, {
    generation: 23,
    sessions: [
      { id: 'fx-completed', status: 'FAILED', createdAt: '2026-06-01 10:00:00', started: ['x'], llm: [{ tokensIn: 1000, tokensOut: 1 }, { tokensIn: 1000, tokensOut: 1 }] },
      {
        id: 'b-filler',
        status: 'COMPLETED',
        createdAt: '2026-06-01 09:00:00',
        committed: ['a', 'b', 'c', 'd', 'e', 'f'],
        started: ['a', 'b', 'c', 'd', 'e', 'f'],
        llm: Array.from({ length: 30 }, () => ({ tokensIn: 5, tokensOut: 5 }))
      }
    ]
  })
}

async function newCase() {
  const dir = mkdtempSync(join(root, 'case-'))
  const path = join(dir, 'perspt.db')
  await buildStore(path, { generation: 23 })
  const other = join(dir, 'other.db')
  await buildOther(other)
  return { dir, path, other }
}

/** A writer process that runs SQL lines, never checkpointing on its own. */
async function sqlAgent(db: string) {
  const child = spawn(process.execPath, [AGENT, 'sql', db])
  children.push(child)
  const answers: ((l: string) => void)[] = []
  createInterface({ input: child.stdout }).on('line', (l) => answers.shift()?.(l))
  const next = () => new Promise<string>((r) => answers.push(r))
  expect(await next()).toBe('ready')
  return {
    async sql(...lines: string[]) {
      for (const l of lines) {
        child.stdin.write(`${l}\n`)
        expect(await next()).toBe('ok')
      }
    },
    async quit() {
      child.stdin.write('quit\n')
      await new Promise((r) => child.once('exit', r))
    }
  }
}

const A_FIRST = DEFAULT_SESSIONS[0]!

describe('a Perspt store whose file changes under Vigil', () => {
  it('replaced by another store (mv of a new file: new inode, same path) shows the new file, not the old numbers', async () => {
    const { dir, path, other } = await newCase()
    const store = storeAt(path, dir)
    await store.refresh()
    expect(numbers(await store.listSessions())['fx-completed']!.llm).toBe(A_FIRST.llm!.length)
    renameSync(other, path)
    expect(await store.refresh()).toBe(true)
    const shown = numbers(await store.listSessions())
    expect(shown['fx-completed']).toMatchObject({ llm: 2, tin: 2000, status: 'FAILED' })
    expect(shown).toEqual(await fromScratch(path, dir))
  })

  it('a different store copied over the same file (same inode) shows the new file', async () => {
    const { dir, path, other } = await newCase()
    const store = storeAt(path, dir)
    await store.refresh()
    copyFileSync(other, path)
    expect(await store.refresh()).toBe(true)
    expect(numbers(await store.listSessions())).toEqual(await fromScratch(path, dir))
    expect(numbers(await store.listSessions())['b-filler']!.llm).toBe(30)
  })

  it('an agent checkpoint, then a truncated WAL, then the file truncated: never the earlier numbers', async () => {
    const { dir, path } = await newCase()
    const agent = await sqlAgent(path)
    const store = storeAt(path, dir)
    await agent.sql(
      "INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('fx-completed', 'n', 'm', 'p', 'r', 7, 7)"
    )
    await store.refresh()
    expect(numbers(await store.listSessions())['fx-completed']!.llm).toBe(A_FIRST.llm!.length + 1)
    await agent.sql(
      'CHECKPOINT',
      "DELETE FROM llm_requests WHERE session_id = 'fx-completed' AND tokens_in = 7",
      "INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('fx-running', 'n', 'm', 'p', 'r', 9, 9)"
    )
    expect(await store.refresh()).toBe(true)
    let shown = numbers(await store.listSessions())
    expect(shown['fx-completed']!.llm).toBe(A_FIRST.llm!.length)
    // Compared while the agent still holds the store (liveness shapes running nodes).
    expect(shown).toEqual(await fromScratch(path, dir))
    await agent.quit()

    // The agent is gone (its close checkpointed). Cut the file: an error, never the old rows as if fine.
    truncateSync(path, 4096)
    await store.refresh()
    expect(store.status().state).toBe('error')
    expect(store.status().problem?.code).toMatch(/truncated|corrupt|empty|not-duckdb/)
    shown = numbers(await store.listSessions().catch(() => []))
    // Last good rows may stay on screen, flagged by the error; they are the latest true ones.
    if (Object.keys(shown).length > 0) expect(shown['fx-completed']!.llm).toBe(A_FIRST.llm!.length)
  })

  it('deleted, then moved away and back, then replaced while away: each refresh says what is there', async () => {
    const { dir, path, other } = await newCase()
    const store = storeAt(path, dir)
    await store.refresh()
    const away = join(dir, 'away.db')
    renameSync(path, away)
    await store.refresh()
    expect(store.status()).toMatchObject({ state: 'error', problem: { code: 'not-found' } })
    renameSync(away, path)
    await store.refresh()
    expect(store.status().state).toBe('ready')
    expect(numbers(await store.listSessions())).toEqual(await fromScratch(path, dir))

    // Away again; a different store comes back in its place.
    renameSync(path, away)
    await store.refresh()
    renameSync(other, path)
    expect(await store.refresh()).toBe(true)
    expect(numbers(await store.listSessions())['fx-completed']).toMatchObject({ llm: 2, tin: 2000 })
    expect(numbers(await store.listSessions())).toEqual(await fromScratch(path, dir))

    rmSync(path)
    await store.refresh()
    expect(store.status()).toMatchObject({ state: 'error', problem: { code: 'not-found' } })
    expect(existsSync(path)).toBe(false)
  })

  it("an old store migrated by a newer agent (node_states ALTERs still in the WAL) is read, and a live reader follows it", async () => {
    const dir = mkdtempSync(join(root, 'case-'))
    const path = join(dir, 'perspt.db')
    await buildStore(path, { generation: 4 })
    const store = storeAt(path, dir)
    expect(await store.refresh()).toBe(true)
    const before = numbers(await store.listSessions())
    // What Perspt ≥ 0.5.5 runs at open on such a store: DuckDB 1.5 replays these ALTERs (a table with a
    // nextval() default) only into an attached database, never into one opened directly.
    const agent = await sqlAgent(path)
    await agent.sql(
      ...NODE_STATES_EXTENDED_COLUMNS.map(([c, t]) => `ALTER TABLE node_states ADD COLUMN ${c} ${t}`),
      `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('${A_FIRST.id}', 'n', 'm', 'p', 'r', 7, 3)`
    )
    expect(await store.refresh()).toBe(true)
    expect(store.status()).toMatchObject({ state: 'ready', problem: null })
    const after = numbers(await store.listSessions())
    expect(after[A_FIRST.id]!.llm).toBe(before[A_FIRST.id]!.llm + 1)
    expect(after[A_FIRST.id]!.tin).toBe(before[A_FIRST.id]!.tin + 7)
    expect(await fromScratch(path, dir)).toEqual(after)
    // More rows after the migration: the live reader keeps up (tail snapshots or full copies alike).
    await agent.sql(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('${A_FIRST.id}', 'n', 'm', 'p', 'r', 1, 1)`)
    expect(await store.refresh()).toBe(true)
    expect(numbers(await store.listSessions())[A_FIRST.id]!.llm).toBe(before[A_FIRST.id]!.llm + 2)
    await agent.quit()
  })

  it('with a watched folder, a replaced file is read without waiting for a poll', async () => {
    const { dir, path, other } = await newCase()
    const wakes: number[] = []
    const store: PersptStore = storeAt(path, dir, async () => {
      wakes.push(Date.now())
      return store.refresh()
    })
    await store.refresh()
    expect(store.watching()).toBe(true)
    const t0 = Date.now()
    renameSync(other, path)
    // Nothing polls this store: the change is read only because the folder watch woke it.
    for (let i = 0; i < 250 && numbers(await store.listSessions())['fx-completed']!.llm !== 2; i++) await new Promise((r) => setTimeout(r, 20))
    expect(numbers(await store.listSessions())['fx-completed']!.llm).toBe(2)
    expect(Date.now() - t0).toBeLessThan(5_000)
    expect(wakes.length).toBeGreaterThan(0)
  })

  it('a busy writer does not pile up refreshes: change notifications coalesce, one refresh at a time', async () => {
    const { dir, path } = await newCase()
    let running = 0
    let maxRunning = 0
    let calls = 0
    const store: PersptStore = storeAt(path, dir, async () => {
      calls++
      running++
      maxRunning = Math.max(maxRunning, running)
      try {
        return await store.refresh()
      } finally {
        running--
      }
    })
    await store.refresh()
    const agent = await sqlAgent(path)
    const n = 60
    for (let i = 0; i < n; i++) {
      await agent.sql(
        `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('fx-running', 'n', 'm', 'p', 'r', 1, 1)`
      )
    }
    const want = DEFAULT_SESSIONS[1]!.llm!.length + n
    for (let i = 0; i < 150 && numbers(await store.listSessions())['fx-running']!.llm !== want; i++) await new Promise((r) => setTimeout(r, 20))
    expect(numbers(await store.listSessions())['fx-running']!.llm).toBe(want)
    expect(maxRunning).toBe(1)
    // Far fewer refreshes than file events (each commit writes the WAL several times).
    expect(calls).toBeLessThan(n)
    await agent.quit()
  })

  it('refreshes set off by changes are at least 100 ms apart, also when each change comes after the last refresh ended', async () => {
    const { dir, path } = await newCase()
    const starts: number[] = []
    const store: PersptStore = storeAt(path, dir, async () => {
      starts.push(performance.now())
      return store.refresh()
    })
    await store.refresh()
    const agent = await sqlAgent(path)
    // A commit every ~40 ms: a refresh of this small store ends well before the next one comes.
    const n = 30
    for (let i = 0; i < n; i++) {
      await agent.sql(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('fx-running', 'n', 'm', 'p', 'r', 1, 1)`)
      await new Promise((r) => setTimeout(r, 40))
    }
    const want = DEFAULT_SESSIONS[1]!.llm!.length + n
    for (let i = 0; i < 150 && numbers(await store.listSessions())['fx-running']!.llm !== want; i++) await new Promise((r) => setTimeout(r, 20))
    expect(numbers(await store.listSessions())['fx-running']!.llm).toBe(want)
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!)
    expect(gaps.length).toBeGreaterThan(3)
    // Timers may fire a millisecond early.
    expect(Math.min(...gaps), gaps.map(Math.round).join()).toBeGreaterThanOrEqual(98)
    await agent.quit()
  })
})

describe('which sessions a new snapshot changed (named in the store-updated push)', () => {
  const llmRow = (sid: string) =>
    `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('${sid}', 'n', 'm', 'p', 'r', 3, 3)`

  it('names only the sessions with new rows or a changed list row; a replaced file names none (any may have changed)', async () => {
    const { dir, path, other } = await newCase()
    const agent = await sqlAgent(path)
    const store = storeAt(path, dir)
    expect(await store.refresh()).toBe(true)
    // A first read has nothing to compare with.
    expect(store.changedSessions()).toBeNull()

    await agent.sql(llmRow('fx-completed'))
    expect(await store.refresh()).toBe(true)
    expect(store.changedSessions()).toEqual(['fx-completed'])

    await agent.sql(llmRow('fx-failed'), llmRow('fx-failed'), "UPDATE sessions SET status = 'FAILED' WHERE session_id = 'fx-odd'")
    expect(await store.refresh()).toBe(true)
    expect([...store.changedSessions()!].sort()).toEqual(['fx-failed', 'fx-odd'])

    // Rows the session list does not count name their session too: a branch, then its state changed in
    // place (no new id), a sheaf validation.
    await agent.sql("INSERT INTO provisional_branches (branch_id, session_id, node_id, parent_node_id) VALUES ('br-1', 'fx-completed', 'n', 'root')")
    expect(await store.refresh()).toBe(true)
    expect(store.changedSessions()).toEqual(['fx-completed'])
    await agent.sql("UPDATE provisional_branches SET state = 'merged' WHERE branch_id = 'br-1'")
    expect(await store.refresh()).toBe(true)
    expect(store.changedSessions()).toEqual(['fx-completed'])
    await agent.sql(
      "INSERT INTO sheaf_validations (session_id, node_id, validator_class, passed) VALUES ('fx-failed', 'n', 'v', true)"
    )
    expect(await store.refresh()).toBe(true)
    expect(store.changedSessions()).toEqual(['fx-failed'])

    // A new session appears: named too.
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('fx-new', 't', '/w', ''::BLOB, '', 'RUNNING')")
    expect(await store.refresh()).toBe(true)
    expect(store.changedSessions()).toEqual(['fx-new'])
    await agent.quit()

    // Another file at the same path: nothing carries over, so every session may have changed.
    renameSync(other, path)
    rmSync(`${path}.wal`, { force: true })
    expect(await store.refresh()).toBe(true)
    expect(store.changedSessions()).toBeNull()
  })
})
