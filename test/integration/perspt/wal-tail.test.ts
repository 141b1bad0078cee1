// Tail snapshots (only the agent WAL's new bytes replayed onto a private checkpointed base) must hold
// exactly what a full copy of the same files holds, through every trap listed in
// shared/spec/perspt-wal-tail.md. The agent is a separate process holding the store read-write.
import { describe, it, expect, afterAll, afterEach } from 'vitest'
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import { StoreSnapshotter } from '../../../src/main/perspt/snapshot'
import { fingerprint, lastCommitEnd, tableChanges, WAL_HEAD } from '../../../src/main/perspt/wal-tail'
import type { TableChanges } from '../../../src/main/perspt/wal-tail'
import { buildStore } from '../../fixtures/perspt-fixtures'
import { startSqlAgent as startAgent } from '../../fixtures/sql-agent'
import { PersptStore } from '../../../src/main/perspt/perspt-store'
import { probeSchema, readSessions } from '../../../src/main/perspt/store-reader'
import { readSessionFailure, SESSION_FAILURE_TABLES } from '../../../src/main/core/session-failure'
import type { SessionRow } from '../../../src/shared/model/perspt'
import { readLlmRows } from '../../../src/main/perspt/views/llm'
import { llmRowCacheStats, llmTopStats } from '../../../src/main/perspt/views/llm-row-cache'

const root = mkdtempSync(join(tmpdir(), 'vigil-waltail-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const children: ChildProcessWithoutNullStreams[] = []
const snappers: StoreSnapshotter[] = []
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  await Promise.all(snappers.splice(0).map((s) => s.dispose()))
})

const startSqlAgent = (db: string) => startAgent(db, children)

async function newStore() {
  const dir = mkdtempSync(join(root, 'case-'))
  const db = join(dir, 'perspt.db')
  await buildStore(db, { generation: 23 })
  return { dir, db }
}

function snapper(dir: string, db: string, tail: { checkEveryMs?: number; checkSpread?: number; rebaseBytes?: number; enabled?: boolean } = {}, holds?: () => string[]) {
  const s = new StoreSnapshotter({ sourcePath: db, tmpRoot: join(dir, `tmp-${snappers.length}`), tail: { checkEveryMs: 0, ...tail }, holds })
  snappers.push(s)
  return s
}

/** What a full copy of the source's files holds right now (the reference). */
async function truth(dir: string, db: string): Promise<string> {
  const full = snapper(dir, db, { enabled: false })
  const snap = await full.refresh()
  const print = await fingerprint(snap.dbPath)
  await full.dispose()
  return print
}

/** Refreshes `s` until it has a base (built in the background after its first full copy). */
async function withBase(s: StoreSnapshotter): Promise<void> {
  await s.refresh()
  await s.settled()
  expect(s.tailStats.bases).toBeGreaterThan(0)
}

const llmRow = (sid: string, i: number) =>
  `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('${sid}', 'n${i}', 'm', '${'x'.repeat(500)}${i}', 'r', ${i}, 1)`

describe('tail snapshots', () => {
  it('equal a full copy through inserts, UPDATEs and DELETEs on every table Perspt updates', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql(
      "INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('t1', 'tail', '/w', ''::BLOB, '', 'RUNNING')",
      "INSERT INTO budget_envelopes (session_id, max_steps, steps_used) VALUES ('t1', 10, 0)",
      "INSERT INTO provisional_branches (branch_id, session_id, node_id, parent_node_id, state) VALUES ('b1', 't1', 'n1', 'root', 'active')",
      "INSERT INTO provisional_branches (branch_id, session_id, node_id, parent_node_id, state) VALUES ('b2', 't1', 'n2', 'root', 'active')",
      "INSERT INTO plan_revisions (revision_id, session_id, sequence, plan_json, reason, status) VALUES ('r1', 't1', 1, '{}', 'initial', 'active')",
      ...Array.from({ length: 30 }, (_, i) => llmRow('t1', i))
    )
    const s = snapper(dir, db)
    await withBase(s)
    const steps: string[][] = [
      [...Array.from({ length: 20 }, (_, i) => llmRow('t1', 100 + i))],
      ["UPDATE sessions SET status = 'COMPLETED', updated_at = TIMESTAMP '2026-12-04 12:00:00' WHERE session_id = 't1'"],
      ["UPDATE budget_envelopes SET steps_used = 7, cost_used_usd = 1.5 WHERE session_id = 't1'"],
      ["UPDATE provisional_branches SET state = 'merged' WHERE branch_id = 'b1'", "UPDATE plan_revisions SET status = 'superseded' WHERE revision_id = 'r1'"],
      // A DELETE, then UPDATEs of rows stored after the deleted ones (row ids must still match).
      ["DELETE FROM llm_requests WHERE node_id IN ('n3', 'n4', 'n5', 'n101')", "UPDATE llm_requests SET tokens_out = 99 WHERE node_id IN ('n20', 'n110')"],
      ["DELETE FROM provisional_branches WHERE branch_id = 'b2'", "UPDATE sessions SET merkle_root = 'ab'::BLOB WHERE session_id = 't1'"],
      // A transaction of several statements.
      ["BEGIN TRANSACTION", llmRow('t1', 200), "UPDATE budget_envelopes SET steps_used = 8 WHERE session_id = 't1'", 'COMMIT']
    ]
    for (const step of steps) {
      await agent.sql(...step)
      const snap = await s.refresh()
      expect(snap.changed).toBe(true)
      expect(s.lastMode).toBe('tail')
      expect(snap.continuous).toBe(true)
      expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, db))
    }
    // Reads what a user sees, not only hashes: the deleted rows are gone, the updates are there.
    const inst = await DuckDBInstance.create(s['current']!.dbPath, { access_mode: 'READ_ONLY' })
    const con = await inst.connect()
    const rows = (await con.runAndReadAll("SELECT (SELECT count(*) FROM llm_requests WHERE session_id = 't1') AS n, (SELECT status FROM sessions WHERE session_id = 't1') AS st, (SELECT steps_used FROM budget_envelopes WHERE session_id = 't1') AS steps")).getRowObjectsJS()
    con.closeSync()
    inst.closeSync()
    expect(rows[0]).toEqual({ n: 30n + 20n - 4n + 1n, st: 'COMPLETED', steps: 8 })
    expect(s.tailStats.tail).toBe(steps.length)
    await agent.quit()
  }, 60_000)

  it('say when the catalog may have changed: row changes keep it, an ALTER / CREATE in the new bytes does not', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('k1', 'cat', '/w', ''::BLOB, '', 'RUNNING')")
    const s = snapper(dir, db)
    await withBase(s)
    await agent.sql(llmRow('k1', 1))
    const rows = await s.refresh()
    expect(s.lastMode).toBe('tail')
    // Only rows changed, but the snapshot before was a full copy: nothing is known about its catalog.
    expect(rows.sameCatalogAs).toBeNull()
    await agent.sql(llmRow('k1', 2), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'k1'", "DELETE FROM llm_requests WHERE node_id = 'n1'")
    const more = await s.refresh()
    expect(s.lastMode).toBe('tail')
    expect(more.sameCatalogAs).toBe(rows.dbPath)
    // node_states' ALTER (Perspt's migration; a nextval() default) replays only into an ATTACHed copy in
    // DuckDB 1.5: bases are built that way, and fingerprint() reads that way.
    for (const ddl of ['ALTER TABLE node_states ADD COLUMN extra VARCHAR', 'CREATE TABLE side (i INTEGER)', 'ALTER TABLE side ADD COLUMN j VARCHAR', 'CREATE INDEX idx_side ON side (i)', 'DROP TABLE side']) {
      await agent.sql(llmRow('k1', 3), ddl)
      const snap = await s.refresh()
      expect(snap.changed).toBe(true)
      // A catalog change since the base: a full copy (and a new base from it), never a tail.
      expect(s.lastMode, ddl).toBe('full')
      expect(snap.sameCatalogAs, ddl).toBeNull()
      await s.settled()
      expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, db))
      const unchanged = await s.refresh()
      expect(unchanged.changed).toBe(false)
      expect(unchanged.sameCatalogAs).toBe(snap.dbPath)
    }
    await agent.quit()
  }, 60_000)

  it('tell which tables changed rows since the snapshot before, and how, read from the WAL bytes', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('t1', 'tables', '/w', ''::BLOB, '', 'RUNNING')")
    const s = snapper(dir, db)
    await withBase(s)
    await agent.sql(llmRow('t1', 1))
    // After a full copy nothing is known.
    expect((await s.refresh()).changes).toBeNull()
    const plain = (c: TableChanges | null) => (c === null ? null : Object.fromEntries([...c].map(([t, ops]) => [t, [...ops].sort()])))
    await agent.sql(llmRow('t1', 2), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 't1'", "DELETE FROM llm_requests WHERE node_id = 'n1'")
    expect(plain((await s.refresh()).changes)).toEqual({ llm_requests: ['delete', 'insert'], sessions: ['update'] })
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('t2', 'more', '/w', ''::BLOB, '', 'RUNNING')")
    expect(plain((await s.refresh()).changes)).toEqual({ sessions: ['insert'] })
    // Nothing new: nothing changed.
    expect(plain((await s.refresh()).changes)).toEqual({})
    // A catalog change: unknown (and a full copy).
    await agent.sql('CREATE TABLE side (i INTEGER)', 'INSERT INTO side VALUES (1)')
    expect((await s.refresh()).changes).toBeNull()
    await agent.quit()
    // Bytes not framed as DuckDB 1.5 frames its WAL say nothing.
    expect(tableChanges(Buffer.from('not a wal at all, not at all'))).toBeNull()
    const rowBeforeTable = Buffer.alloc(16 + 5)
    rowBeforeTable.writeBigUInt64LE(5n, 0)
    Buffer.from('64001affff', 'hex').copy(rowBeforeTable, 16)
    expect(tableChanges(rowBeforeTable)).toBeNull()
  }, 60_000)

  it('never cuts a transaction: a WAL copied at any byte (mid-write) gives what a full copy of it gives', async () => {
    // The agent writes for real; its WAL bytes are then handed out to a private "source" in cuts at
    // arbitrary bytes, growing the same file (same inode) as a live WAL grows.
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('c1', 'cut', '/w', ''::BLOB, '', 'RUNNING')")
    const dbBytes = readFileSync(db)
    const walBefore = readFileSync(`${db}.wal`).length
    for (let i = 0; i < 25; i++) {
      await agent.sql('BEGIN TRANSACTION', llmRow('c1', i), `UPDATE sessions SET task = 'cut ${i}' WHERE session_id = 'c1'`, 'COMMIT')
    }
    const wal = readFileSync(`${db}.wal`)
    await agent.quit()
    const src = join(mkdtempSync(join(dir, 'src-')), 'perspt.db')
    writeFileSync(src, dbBytes)
    writeFileSync(`${src}.wal`, wal.subarray(0, walBefore))
    const s = snapper(dir, src)
    await withBase(s)
    let pos = walBefore
    let seed = 7
    let tails = 0
    while (pos < wal.length) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      const next = Math.min(wal.length, pos + 1 + (seed % 1500))
      appendFileSync(`${src}.wal`, wal.subarray(pos, next))
      pos = next
      const snap = await s.refresh()
      if (s.lastMode === 'tail') tails++
      expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, src))
    }
    expect(tails).toBeGreaterThan(3)
  }, 120_000)

  it('falls back to a full copy when the agent checkpoints, the WAL shrinks, is replaced or starts differently', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('k1', 'ck', '/w', ''::BLOB, '', 'RUNNING')", llmRow('k1', 1))
    const s = snapper(dir, db)
    await withBase(s)
    await agent.sql(llmRow('k1', 2))
    expect((await s.refresh()).changed).toBe(true)
    expect(s.lastMode).toBe('tail')

    // The agent checkpoints: .db rewritten, WAL emptied.
    await agent.sql('CHECKPOINT', llmRow('k1', 3))
    let snap = await s.refresh()
    expect(s.lastMode).toBe('full')
    expect(snap.continuous).toBe(false)
    expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, db))
    await s.settled()
    await agent.sql(llmRow('k1', 4))
    await s.refresh()
    expect(s.lastMode).toBe('tail') // a new base was built after the checkpoint
    expect(await fingerprint(s['current']!.dbPath)).toBe(await truth(dir, db))
    await agent.quit()

    // A private source we can mistreat (the agent is gone): same inode, shrunk WAL.
    const src = join(mkdtempSync(join(dir, 'src-')), 'perspt.db')
    const agent2 = await startSqlAgent(src.replace(/perspt\.db$/, 'seed.db'))
    await agent2.sql(
      'CREATE TABLE sessions (session_id VARCHAR PRIMARY KEY, status VARCHAR)',
      'CHECKPOINT',
      ...Array.from({ length: 10 }, (_, i) => `INSERT INTO sessions VALUES ('s${i}', 'RUNNING')`)
    )
    const seed = src.replace(/perspt\.db$/, 'seed.db')
    copyFileSync(seed, src)
    const fullWal = readFileSync(`${seed}.wal`)
    await agent2.quit()
    writeFileSync(`${src}.wal`, fullWal)
    const t = snapper(dir, src)
    await withBase(t)
    truncateSync(`${src}.wal`, Math.floor(fullWal.length / 2))
    snap = await t.refresh()
    expect(t.lastMode).toBe('full')
    expect(snap.continuous).toBe(false)
    expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, src))

    // Replaced by a new file (new inode) at the same path.
    writeFileSync(`${src}.wal.new`, fullWal)
    renameSync(`${src}.wal.new`, `${src}.wal`)
    await t.settled()
    snap = await t.refresh()
    expect(t.lastMode).toBe('full')
    expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, src))

    // An older WAL format (another head): no base is built, full copies go on and stay right.
    const other = join(mkdtempSync(join(dir, 'old-')), 'perspt.db')
    copyFileSync(seed, other)
    const oddWal = Buffer.from(fullWal)
    oddWal[5] = 0x01 // WAL version 1
    writeFileSync(`${other}.wal`, oddWal)
    const u = snapper(dir, other)
    await u.refresh()
    await u.settled()
    expect(u.tailStats.bases).toBe(0)
    expect(u.tailStats.disabled).toMatch(/WAL/)
    expect(WAL_HEAD.equals(oddWal.subarray(0, 8))).toBe(false)
    expect(await fingerprint((await u.refresh({ full: true })).dbPath)).toBe(await truth(dir, other))
  }, 60_000)

  it('the periodic check compares a full copy with the tail, and a difference turns tail snapshots off', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('p1', 'pc', '/w', ''::BLOB, '', 'RUNNING')", llmRow('p1', 1))
    const s = snapper(dir, db)
    await withBase(s)
    await agent.sql(llmRow('p1', 2), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'p1'")
    await s.refresh()
    await s.checkNow()
    expect(s.tailStats.checks).toBe(1)
    expect(s.tailStats.mismatches).toBe(0)
    expect(s.tailStats.disabled).toBeNull()

    // Make the private base wrong (as an unforeseen replay difference would): the check must catch it.
    const base = s['base']!.dbPath
    const inst = await DuckDBInstance.create(base)
    const con = await inst.connect()
    await con.run("UPDATE sessions SET task = 'drifted' WHERE session_id = 'p1'")
    await con.run('CHECKPOINT')
    con.closeSync()
    inst.closeSync()
    rmSync(`${base}.wal`, { force: true })
    await agent.sql(llmRow('p1', 3))
    await s.refresh()
    await s.checkNow()
    expect(s.tailStats.mismatches).toBe(1)
    expect(s.tailStats.disabled).toMatch(/differed/)
    await agent.sql(llmRow('p1', 4))
    const snap = await s.refresh()
    expect(s.lastMode).toBe('full')
    expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, db))
    await agent.quit()
  }, 60_000)

  it('folds a long tail into a new base in the background, and stays exact', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('r1', 'rb', '/w', ''::BLOB, '', 'RUNNING')")
    const s = snapper(dir, db, { rebaseBytes: 4096 })
    await withBase(s)
    for (let round = 0; round < 4; round++) {
      await agent.sql(...Array.from({ length: 12 }, (_, i) => llmRow('r1', round * 100 + i)), `UPDATE sessions SET task = 'round ${round}' WHERE session_id = 'r1'`)
      const snap = await s.refresh()
      expect(s.lastMode).toBe('tail')
      expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, db))
      await s.settled()
    }
    expect(s.tailStats.rebases).toBeGreaterThan(1)
    await agent.quit()
  }, 60_000)
})

/**
 * A PersptStore on `db` once it reads by tail snapshots, one tail after another (from then on what each
 * snapshot changed is known): the agent adds LLM calls to `sid` until a base is built.
 */
async function storeWithTails(dir: string, db: string, agent: Awaited<ReturnType<typeof startSqlAgent>>, sid: string): Promise<PersptStore> {
  // Tail snapshots are what these tests are about; the live copy that takes over once a base exists has its own (live-copy.test.ts).
  const store = new PersptStore({ path: db, tmpRoot: join(dir, 'store-tmp'), live: false })
  await store.refresh()
  for (let i = 0; i < 100 && (store.snapshotStats()?.bases ?? 0) === 0; i++) {
    await new Promise((r) => setTimeout(r, 50))
    await agent.sql(llmRow(sid, 10_000 + i))
    await store.refresh()
  }
  expect(store.snapshotStats()?.bases).toBeGreaterThan(0)
  await agent.sql(llmRow(sid, 20_000))
  await store.refresh()
  return store
}

describe('a store read by what its WAL changed', () => {
  it('re-reads only changed tables, and its list and kept results equal a full read after every kind of change', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    const session = (sid: string) => `INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('${sid}', 'w', '/w', ''::BLOB, '', 'RUNNING')`
    const node = (sid: string, n: string, state: string) => `INSERT INTO node_states (node_id, session_id, state, attempt_count) VALUES ('${n}', '${sid}', '${state}', 2)`
    await agent.sql(session('w1'), session('w2'), node('w1', 'a', 'RUNNING'), ...Array.from({ length: 5 }, (_, i) => llmRow('w1', i)))
    const store = await storeWithTails(dir, db, agent, 'w1')
    // Full copies made until the base was built (one, or more on a loaded machine): none after.
    const fulls = store.snapshotStats()!.full
    try {

      /** A kept result that names node_states and escalation_reports (the failure read), and how often it was read. */
      let reads = 0
      const failureOf = async (sid: string) => {
        const row = (await store.listSessions()).find((r) => r.sessionId === sid)!
        return store.query(`failure-${sid}`, (con, probe) => (reads++, readSessionFailure(con, probe, row)), { tables: SESSION_FAILURE_TABLES })
      }
      /** What a full copy of the store says right now, read from scratch. */
      const fresh = async () => {
        const full = snapper(dir, db, { enabled: false })
        const snap = await full.refresh()
        const inst = await DuckDBInstance.create(':memory:')
        const con = await inst.connect()
        try {
          await con.run(`ATTACH '${snap.dbPath}' AS f (READ_ONLY); USE f`)
          const probe = await probeSchema(con)
          const rows = await readSessions(con, probe, { agentLive: true, now: Date.now() })
          const failure = await readSessionFailure(con, probe, rows.find((r) => r.sessionId === 'w2')!)
          return { rows, failure }
        } finally {
          con.closeSync()
          inst.closeSync()
        }
      }
      const shown = (rows: SessionRow[]) => rows.map((r) => ({ ...r, durationMs: null })).sort((a, b) => a.sessionId.localeCompare(b.sessionId))
      await failureOf('w2')
      const steps: { sql: string[]; tables: string[]; reread: boolean }[] = [
        { sql: [llmRow('w1', 300), llmRow('w2', 301)], tables: ['llm_requests'], reread: false },
        { sql: [node('w2', 'b', 'FAILED')], tables: ['node_states'], reread: true },
        { sql: [llmRow('w2', 302)], tables: ['llm_requests'], reread: false },
        {
          sql: ["INSERT INTO escalation_reports (session_id, node_id, category, action, evidence) VALUES ('w2', 'b', 'test_failure', 'retry', 'red')"],
          tables: ['escalation_reports'],
          reread: true
        },
        { sql: ["UPDATE sessions SET status = 'COMPLETED' WHERE session_id = 'w1'"], tables: ['sessions'], reread: false },
        { sql: ["INSERT INTO plan_revisions (revision_id, session_id, sequence, plan_json, reason, status) VALUES ('r1', 'w2', 1, '{}', 'initial', 'active')"], tables: ['plan_revisions'], reread: false },
        { sql: ["INSERT INTO energy_history (node_id, session_id, v_total) VALUES ('b', 'w2', 0.5)", "DELETE FROM llm_requests WHERE node_id = 'n300'"], tables: ['energy_history', 'llm_requests'], reread: false },
        { sql: ["UPDATE node_states SET state = 'COMPLETED' WHERE node_id = 'a'"], tables: ['node_states'], reread: true }
      ]
      for (const step of steps) {
        const version = store.status().version
        await agent.sql(...step.sql)
        expect(await store.refresh()).toBe(true)
        expect(store.snapshotStats()?.full, step.sql[0]).toBe(fulls)
        expect([...(store.changesSince(version)?.keys() ?? ['unknown'])].sort(), step.sql[0]).toEqual(step.tables)
        const before = reads
        const failure = await failureOf('w2')
        expect(reads - before, step.sql[0]).toBe(step.reread ? 1 : 0)
        const truth = await fresh()
        expect(shown(await store.listSessions()), step.sql[0]).toEqual(shown(truth.rows))
        expect(failure, step.sql[0]).toEqual(truth.failure)
      }
      // A catalog change: a full copy, nothing known, every kept result read again.
      const version = store.status().version
      await agent.sql('CREATE TABLE side (i INTEGER)', llmRow('w1', 400))
      expect(await store.refresh()).toBe(true)
      expect(store.changesSince(version)).toBeNull()
      const before = reads
      await failureOf('w2')
      expect(reads - before).toBe(1)
      expect(shown(await store.listSessions())).toEqual(shown((await fresh()).rows))
    } finally {
      await store.close()
      await agent.quit()
    }
  }, 90_000)
})

describe('the LLM page of a live session', () => {
  it('reads only the rows new to its page while the table only gains rows; an UPDATE or DELETE reads all again', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('p1', 'w', '/w', ''::BLOB, '', 'RUNNING')", ...Array.from({ length: 150 }, (_, i) => llmRow('p1', i)))
    const store = await storeWithTails(dir, db, agent, 'p1')
    // Full copies made until the base was built (one, or more on a loaded machine): none after.
    const fulls = store.snapshotStats()!.full
    try {
      const q = { sort: 'time' as const, dir: 'desc' as const, offset: 0, limit: 100 }
      const oldestFirst = { ...q, dir: 'asc' as const, limit: 40 }
      let n = 0
      /** The page through the caches, and the same page read without them (the truth), on one snapshot. */
      const page = () =>
        store.query(`rows-${n++}`, async (con, probe, ctx) => ({
          got: await readLlmRows(con, probe, 'p1', q, ctx),
          truth: await readLlmRows(con, probe, 'p1', q),
          asc: [await readLlmRows(con, probe, 'p1', oldestFirst, ctx), await readLlmRows(con, probe, 'p1', oldestFirst)]
        }))
      await page()
      // read: rows whose previews were read (new to the page); merged: the page's order came from the new rows alone.
      // anchored: the merge knew its new rows were above the old ones without counting the session
      // (llm-anchor.ts); a page read in full takes its anchor at its first merge, which counts.
      const steps: { sql: string[]; read: number | 'all'; merged: boolean; anchored: boolean }[] = [
        { sql: [llmRow('p1', 3000), llmRow('p1', 3001), llmRow('p1', 3002)], read: 3, merged: true, anchored: false },
        { sql: ["UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'p1'"], read: 0, merged: true, anchored: true },
        { sql: ["UPDATE llm_requests SET model = 'changed' WHERE node_id = 'n3001'"], read: 'all', merged: false, anchored: false },
        { sql: [llmRow('p1', 3003)], read: 1, merged: true, anchored: false },
        { sql: [llmRow('p1', 3005)], read: 1, merged: true, anchored: true },
        // A row with an id below the others (a hand-made store): not among the "new" rows, so the anchor and the count disagree.
        { sql: [llmRow('p1', 3004).replace('(session_id,', '(id, session_id,').replace("VALUES ('p1',", "VALUES (-7, 'p1',")], read: 1, merged: false, anchored: false },
        { sql: ["DELETE FROM llm_requests WHERE node_id = 'n3000'"], read: 'all', merged: false, anchored: false }
      ]
      for (const step of steps) {
        await agent.sql(...step.sql)
        expect(await store.refresh()).toBe(true)
        expect(store.snapshotStats()?.full).toBe(fulls)
        const before = { rows: llmRowCacheStats(), top: llmTopStats() }
        const { got, truth, asc } = await page()
        const after = { rows: llmRowCacheStats(), top: llmTopStats() }
        expect(got, step.sql[0]).toEqual(truth)
        expect(asc[0], step.sql[0]).toEqual(asc[1])
        // The truth reads (no cache) read 100 + 40 rows themselves; the cached oldest-first page reads none once kept.
        expect(after.rows.read - before.rows.read - 140, step.sql[0]).toBe(step.read === 'all' ? 140 : step.read)
        expect(after.rows.reset - before.rows.reset, step.sql[0]).toBe(step.read === 'all' ? 1 : 0)
        expect(after.top.merged - before.top.merged, step.sql[0]).toBe(step.merged ? 2 : 0)
        expect(after.top.anchored - before.top.anchored, step.sql[0]).toBe(step.anchored ? 2 : 0)
      }
      const { got } = await page()
      expect(got.rows.some((r) => r.model === 'changed')).toBe(true)
    } finally {
      await store.close()
      await agent.quit()
    }
  }, 90_000)
})

describe('folds in place', () => {
  it('fold the spare base in place (no copy) once no held snapshot shares its file, and stay exact through UPDATEs and DELETEs', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql(
      "INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('f1', 'fold', '/w', ''::BLOB, '', 'RUNNING')",
      "INSERT INTO budget_envelopes (session_id, max_steps, steps_used) VALUES ('f1', 100, 0)",
      "INSERT INTO provisional_branches (branch_id, session_id, node_id, parent_node_id, state) VALUES ('fb', 'f1', 'n1', 'root', 'active')"
    )
    // The owner holds the latest snapshot only, as PersptStore does once it has read it.
    let held: string[] = []
    // Five rows stay below the fold size, fifteen go past it.
    const s = snapper(dir, db, { rebaseBytes: 6000 }, () => held)
    await withBase(s)
    const baseFiles = new Set<string>()
    for (let round = 0; round < 8; round++) {
      // Below the fold size: a tail snapshot only, which the owner then holds instead of the previous one.
      await agent.sql(...Array.from({ length: 5 }, (_, i) => llmRow('f1', round * 100 + 50 + i)))
      held = [(await s.refresh()).dbPath]
      await agent.sql(
        ...Array.from({ length: 10 }, (_, i) => llmRow('f1', round * 100 + i)),
        `UPDATE budget_envelopes SET steps_used = ${round + 1} WHERE session_id = 'f1'`,
        // Rows folded into the spare at an earlier round are updated and deleted by later WAL bytes.
        round > 1 ? `DELETE FROM llm_requests WHERE node_id = 'n${(round - 2) * 100 + 3}'` : 'SELECT 1',
        round > 1 ? `UPDATE llm_requests SET tokens_out = ${round} WHERE node_id = 'n${(round - 2) * 100 + 7}'` : 'SELECT 1',
        `UPDATE provisional_branches SET state = 'r${round}' WHERE branch_id = 'fb'`
      )
      const snap = await s.refresh()
      held = [snap.dbPath]
      expect(s.lastMode).toBe('tail')
      expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, db))
      await s.settled()
      baseFiles.add(s['base']!.dbPath)
    }
    expect(s.tailStats.foldsInPlace).toBeGreaterThan(1)
    // One copy made the first spare; every later fold reused one of the two base files.
    expect(s.tailStats.rebases - s.tailStats.foldsInPlace).toBe(1)
    expect(baseFiles.size).toBe(2)
    await agent.quit()
  }, 90_000)

  it('never folds a spare a held snapshot still shares: the fold copies instead', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('h1', 'held', '/w', ''::BLOB, '', 'RUNNING')")
    const held: string[] = []
    const s = snapper(dir, db, { rebaseBytes: 4096 }, () => held)
    await withBase(s)
    for (let round = 0; round < 4; round++) {
      await agent.sql(...Array.from({ length: 10 }, (_, i) => llmRow('h1', round * 100 + i)))
      const snap = await s.refresh()
      // The owner keeps every snapshot it was given open (and so every base they were made from).
      held.push(snap.dbPath)
      expect(await fingerprint(snap.dbPath)).toBe(await truth(dir, db))
      await s.settled()
    }
    expect(s.tailStats.rebases).toBeGreaterThan(1)
    expect(s.tailStats.foldsInPlace).toBe(0)
    await agent.quit()
  }, 90_000)
})

describe('the periodic check under a busy agent', () => {
  it('finds no difference while the agent commits during its copies (the full copy replays what it copied, the tail is cut there too), folds going on meanwhile', async () => {
    const { dir, db } = await newStore()
    await buildStore(db, { generation: 23, sessions: [{ id: 'busy', status: 'RUNNING', createdAt: '2026-12-04 10:00:00' }] })
    const PACE = fileURLToPath(new URL('../../fixtures/perspt-pace-agent.mjs', import.meta.url))
    // 150 commits/s of 4 KB prompts for up to 25 s: commits land while every check copies the WAL.
    const child = spawn(process.execPath, [PACE, db, 'busy', '150', '25', '4000', '200'], { stdio: ['pipe', 'pipe', 'inherit'] })
    children.push(child as unknown as ChildProcessWithoutNullStreams)
    await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).on('line', (l) => l === 'ready' && resolve()))
    let held: string[] = []
    const s = snapper(dir, db, { checkEveryMs: 100, checkSpread: 0, rebaseBytes: 256 * 1024 }, () => held)
    // At least 10 s, and until more than 10 checks ran (a loaded machine copies more slowly), at most 22 s.
    const started = Date.now()
    // Folds go on while a check runs (a check late in a long session takes seconds).
    const checking = () => (s as unknown as { checkJob: Promise<void> | null }).checkJob !== null
    let foldsWhileChecking = 0
    while (Date.now() - started < 10_000 || (s.tailStats.checks <= 10 && Date.now() - started < 22_000)) {
      const folds = s.tailStats.foldsInPlace + s.tailStats.rebases
      const wasChecking = checking()
      held = [(await s.refresh()).dbPath]
      await new Promise((r) => setTimeout(r, 50))
      if (wasChecking && checking() && s.tailStats.foldsInPlace + s.tailStats.rebases > folds) foldsWhileChecking++
    }
    await s.settled()
    expect(s.tailStats.checks).toBeGreaterThan(10)
    expect(s.tailStats.foldsInPlace).toBeGreaterThan(2)
    expect(foldsWhileChecking).toBeGreaterThan(0)
    expect(s.tailStats.mismatches).toBe(0)
    expect(s.tailStats.disabled).toBeNull()
    child.stdin!.write('quit\n')
  }, 60_000)
})

describe('an empty WAL', () => {
  it('(just re-created after a checkpoint) does not turn tail snapshots off: a base is built once it has a head', async () => {
    const { dir, db } = await newStore()
    writeFileSync(`${db}.wal`, '')
    const s = snapper(dir, db)
    await s.refresh()
    await s.settled()
    expect(s.tailStats.disabled).toBeNull()
    expect(s.tailStats.bases).toBe(0)
    // The agent writes: the next full copy builds a base and tails follow.
    rmSync(`${db}.wal`)
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('e1', 'e', '/w', ''::BLOB, '', 'RUNNING')", llmRow('e1', 1))
    await withBase(s)
    await agent.sql(llmRow('e1', 2))
    await s.refresh()
    expect(s.lastMode).toBe('tail')
    expect(await fingerprint(s['current']!.dbPath)).toBe(await truth(dir, db))
    await agent.quit()
  }, 60_000)
})

describe('the periodic check', () => {
  it('waits longer after a longer check: its cost stays a small share of a core however big the store grows', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db)
    await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('g1', 'gap', '/w', ''::BLOB, '', 'RUNNING')", llmRow('g1', 1))
    // checkEveryMs 1: only the spread holds the next check back.
    const s = snapper(dir, db, { checkEveryMs: 1, checkSpread: 1_000 })
    await withBase(s)
    const started = Date.now()
    let n = 2
    while (Date.now() - started < 3_000) {
      await agent.sql(llmRow('g1', n++))
      await s.refresh()
      await s.settled()
    }
    // A check takes well over 3 ms, so with a spread of 1,000 the next waits over 3 s: exactly one ran.
    expect(n).toBeGreaterThan(10)
    expect(s.tailStats.checks).toBe(1)
    expect(s.tailStats.mismatches).toBe(0)
    await agent.quit()
  }, 60_000)
})

describe('lastCommitEnd', () => {
  it('finds the end of the last complete transaction at every cut of a real WAL, and refuses other framing', async () => {
    const { db } = await newStore()
    const agent = await startSqlAgent(db)
    for (let i = 0; i < 4; i++) await agent.sql("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('w" + i + "', 't', '/w', ''::BLOB, '', 'RUNNING')")
    const wal = readFileSync(`${db}.wal`)
    await agent.quit()
    expect(wal.subarray(0, 8).equals(WAL_HEAD)).toBe(true)
    const body = wal.subarray(8)
    const ends = new Set<number>()
    for (let cut = 0; cut <= body.length; cut++) {
      const end = lastCommitEnd(body.subarray(0, cut))!
      expect(end).toBeLessThanOrEqual(cut)
      ends.add(end)
    }
    expect(lastCommitEnd(body)).toBe(body.length)
    expect(ends.size).toBeGreaterThanOrEqual(5) // 0 and one end per transaction
    const garbled = Buffer.from(body)
    garbled[16] = 0x11
    expect(lastCommitEnd(garbled)).toBeNull()
  })
})
