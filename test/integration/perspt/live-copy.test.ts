// The live copy (live-copy.ts): the agent WAL's new transactions applied to one private read-write copy
// must leave it holding exactly what a full copy of the agent's files holds, through every kind of row
// change Perspt makes, private checkpoints, and every file change that sends it back to snapshots. The
// agent is a separate process holding the store read-write.
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PersptStore } from '../../../src/main/perspt/perspt-store'
import { StoreSnapshotter } from '../../../src/main/perspt/snapshot'
import { fingerprint, fingerprintOf } from '../../../src/main/perspt/wal-tail'
import { probeSchema, readSessions } from '../../../src/main/perspt/store-reader'
import { buildStore } from '../../fixtures/perspt-fixtures'
import { startSqlAgent, type SqlAgent } from '../../fixtures/sql-agent'
import { DuckDBInstance } from '@duckdb/node-api'
import type { SessionRow } from '../../../src/shared/model/perspt'

const root = mkdtempSync(join(tmpdir(), 'vigil-live-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const children: ChildProcessWithoutNullStreams[] = []
const stores: PersptStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
})

async function newStore() {
  const dir = mkdtempSync(join(root, 'case-'))
  const db = join(dir, 'perspt.db')
  await buildStore(db, { generation: 23 })
  return { dir, db }
}

/** What a full copy of the source's files holds right now: its fingerprint and its session list. */
async function truth(dir: string, db: string): Promise<{ print: string; rows: SessionRow[] }> {
  const full = new StoreSnapshotter({ sourcePath: db, tmpRoot: join(dir, `truth-${Math.random().toString(36).slice(2)}`), tail: { enabled: false } })
  try {
    const snap = await full.refresh()
    const print = await fingerprint(snap.dbPath)
    const inst = await DuckDBInstance.create(':memory:')
    const con = await inst.connect()
    try {
      await con.run(`ATTACH '${snap.dbPath}' AS f (READ_ONLY); USE f`)
      const rows = await readSessions(con, await probeSchema(con), { agentLive: true, now: Date.now() })
      return { print, rows }
    } finally {
      con.closeSync()
      inst.closeSync()
    }
  } finally {
    await full.dispose()
  }
}

const shown = (rows: SessionRow[]) => rows.map((r) => ({ ...r, durationMs: null })).sort((a, b) => a.sessionId.localeCompare(b.sessionId))

const llmRow = (sid: string, i: number, size = 500) =>
  `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('${sid}', 'n${i}', 'm', '${'x'.repeat(size)}${i}', 'r', ${i}, 1, ${i % 4 === 0 ? 'NULL' : i * 10})`
const session = (sid: string) =>
  `INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('${sid}', 'live', '/w', ''::BLOB, '', 'RUNNING')`

/** A store read through a live copy: refreshed (with the agent committing) until its tail base exists and a live version is read. */
async function liveStore(dir: string, db: string, agent: SqlAgent, sid: string, opts: { liveCheckpointBytes?: number } = {}): Promise<PersptStore> {
  const store = new PersptStore({ path: db, tmpRoot: join(dir, 'store-tmp'), ...opts })
  stores.push(store)
  await store.refresh()
  for (let i = 0; i < 100 && store.liveStats.versions === 0; i++) {
    await new Promise((r) => setTimeout(r, 50))
    await agent.sql(llmRow(sid, 10_000 + i))
    await store.refresh()
  }
  expect(store.liveStats.versions).toBeGreaterThan(0)
  return store
}

/** A new store, its agent with a session of `rows` LLM rows, and the store read through a live copy. */
async function liveCase(sid: string, rows: number, opts: { liveCheckpointBytes?: number } = {}) {
  const { dir, db } = await newStore()
  const agent = await startSqlAgent(db, children)
  await agent.sql(session(sid), ...Array.from({ length: rows }, (_, i) => llmRow(sid, i)))
  const store = await liveStore(dir, db, agent, sid, opts)
  return { dir, db, agent, store }
}

/** The live copy's fingerprint, read as views read it (the store's current database). */
const printOf = (store: PersptStore) => store.query(`fp-${Math.random()}`, (con) => fingerprintOf(con))

async function expectExact(store: PersptStore, dir: string, db: string, what: string): Promise<void> {
  const t = await truth(dir, db)
  expect(await printOf(store), what).toBe(t.print)
  expect(shown(await store.listSessions()), what).toEqual(shown(t.rows))
}

describe('the live copy', () => {
  it('equals a full copy through inserts, NULLs, UPDATEs and DELETEs on every table Perspt changes, without one snapshot more', async () => {
    const { dir, db } = await newStore()
    const agent = await startSqlAgent(db, children)
    await agent.sql(
      session('t1'),
      "INSERT INTO budget_envelopes (session_id, max_steps, steps_used) VALUES ('t1', 10, 0)",
      "INSERT INTO provisional_branches (branch_id, session_id, node_id, parent_node_id, state) VALUES ('b1', 't1', 'n1', 'root', 'active')",
      "INSERT INTO provisional_branches (branch_id, session_id, node_id, parent_node_id, state) VALUES ('b2', 't1', 'n2', 'root', 'active')",
      "INSERT INTO plan_revisions (revision_id, session_id, sequence, plan_json, reason, status) VALUES ('r1', 't1', 1, '{}', 'initial', 'active')",
      ...Array.from({ length: 30 }, (_, i) => llmRow('t1', i))
    )
    const store = await liveStore(dir, db, agent, 't1')
    const snapshots = store.snapshotStats()!
    const steps: string[][] = [
      Array.from({ length: 20 }, (_, i) => llmRow('t1', 100 + i)),
      ["INSERT INTO node_states (node_id, session_id, state, attempt_count, v_total) VALUES ('n1', 't1', 'RUNNING', 1, 'NaN'::DOUBLE)"],
      ["INSERT INTO energy_history (node_id, session_id, v_total, v_syn) VALUES ('n1', 't1', 0.5, NULL)"],
      ["UPDATE sessions SET status = 'COMPLETED', updated_at = TIMESTAMP '2026-12-04 12:00:00' WHERE session_id = 't1'"],
      ["UPDATE budget_envelopes SET steps_used = 7, cost_used_usd = 1.5 WHERE session_id = 't1'"],
      ["UPDATE provisional_branches SET state = 'merged' WHERE branch_id = 'b1'", "UPDATE plan_revisions SET status = 'superseded' WHERE revision_id = 'r1'"],
      // A DELETE, then UPDATEs of rows stored after the deleted ones (row ids must still match).
      ["DELETE FROM llm_requests WHERE node_id IN ('n3', 'n4', 'n5', 'n101')", "UPDATE llm_requests SET tokens_out = 99, latency_ms = NULL WHERE node_id IN ('n20', 'n110')"],
      ["DELETE FROM provisional_branches WHERE branch_id = 'b2'", "UPDATE sessions SET merkle_root = 'ab'::BLOB WHERE session_id = 't1'"],
      // A transaction of several statements, one of them deleting a row the same transaction inserted.
      ['BEGIN TRANSACTION', llmRow('t1', 200), llmRow('t1', 201), "DELETE FROM llm_requests WHERE node_id = 'n200'", "UPDATE budget_envelopes SET steps_used = 8 WHERE session_id = 't1'", 'COMMIT'],
      // A key changed: DuckDB logs it as a delete and an insert.
      ["UPDATE provisional_branches SET branch_id = 'b1-renamed' WHERE branch_id = 'b1'"],
      // A rolled-back transaction leaves nothing.
      ['BEGIN TRANSACTION', llmRow('t1', 300), 'ROLLBACK']
    ]
    for (const step of steps) {
      const versions = store.liveStats.versions
      await agent.sql(...step)
      await store.refresh()
      if (step[step.length - 1] !== 'ROLLBACK') expect(store.liveStats.versions, step.join('; ')).toBe(versions + 1)
      await expectExact(store, dir, db, step.join('; '))
    }
    // Not one snapshot was made for these versions, and the live copy was never dropped.
    expect(store.snapshotStats()).toEqual(snapshots)
    expect(store.liveStats).toMatchObject({ drops: 0, off: null, copies: 1 })
    await agent.quit()
  }, 90_000)

  it('stays exact across its own checkpoints (row ids kept: later UPDATEs and DELETEs hit the right rows)', async () => {
    const { dir, db, agent, store } = await liveCase('c1', 10, { liveCheckpointBytes: 20_000 })
    for (let round = 0; round < 4; round++) {
      await agent.sql(...Array.from({ length: 12 }, (_, i) => llmRow('c1', 1000 * (round + 1) + i, 3000)))
      await agent.sql(`DELETE FROM llm_requests WHERE node_id = 'n${1000 * (round + 1) + 2}'`, `UPDATE llm_requests SET tokens_out = ${round} WHERE node_id IN ('n${1000 * (round + 1) + 5}', 'n1')`)
      await store.refresh()
      await expectExact(store, dir, db, `round ${round}`)
    }
    expect(store.liveStats.checkpoints).toBeGreaterThanOrEqual(3)
    expect(store.liveStats.drops).toBe(0)
    await agent.quit()
  }, 90_000)

  it('goes back to snapshots at a catalog change, an agent checkpoint or a replaced file, and comes back exact', async () => {
    const { dir, db, agent, store } = await liveCase('f1', 5)
    // A check before: its replay is kept, and must not be reused across the changes below.
    await store.checkLiveNow()
    const changes: { what: string; sql: string[] }[] = [
      { what: 'a catalog change', sql: ['CREATE TABLE side (i INTEGER)', llmRow('f1', 100)] },
      { what: 'an agent checkpoint', sql: [llmRow('f1', 101), 'CHECKPOINT', llmRow('f1', 102)] }
    ]
    for (const change of changes) {
      const drops = store.liveStats.drops
      expect(store.status().reading, change.what).toEqual({ mode: 'live', fallbacks: drops, liveOff: null })
      await agent.sql(...change.sql)
      await store.refresh()
      expect(store.liveStats.drops, change.what).toBe(drops + 1)
      // Shown, not only counted: the store's info says it reads copies now, and how often it fell back.
      expect(store.status().reading, change.what).toEqual({ mode: 'copies', fallbacks: drops + 1, liveOff: null })
      await expectExact(store, dir, db, change.what)
      // Back on a live copy once the new base is built, and exact again.
      const copies = store.liveStats.copies
      for (let i = 0; i < 100 && store.liveStats.copies === copies; i++) {
        await new Promise((r) => setTimeout(r, 50))
        await agent.sql(llmRow('f1', 20_000 + i))
        await store.refresh()
      }
      expect(store.liveStats.copies, change.what).toBe(copies + 1)
      await agent.sql(llmRow('f1', 30_000), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'f1'")
      await store.refresh()
      await expectExact(store, dir, db, `${change.what}, then live again`)
      // The check's kept replay cannot follow a catalog change or a rewritten WAL: it starts over from a whole copy.
      const replays = store.snapshotStats()!
      await store.checkLiveNow()
      expect(store.liveStats, change.what).toMatchObject({ mismatches: 0, off: null })
      expect(store.snapshotStats(), change.what).toMatchObject({ replayedCopies: replays.replayedCopies + 1, replayedFolds: replays.replayedFolds })
    }
    await agent.quit()
    // A different store moved into place (new inode): its truth, not the live copy's rows.
    const other = await newStore()
    const agent2 = await startSqlAgent(other.db, children)
    await agent2.sql(session('other'), llmRow('other', 1))
    await agent2.quit()
    rmSync(`${db}.wal`, { force: true })
    const { renameSync } = await import('node:fs')
    renameSync(other.db, db)
    await store.refresh()
    // No agent holds it now (sessions read as stale): the rows, not the liveness, are compared.
    const t = await truth(dir, db)
    expect(await printOf(store)).toBe(t.print)
    expect((await store.listSessions()).map((r) => r.sessionId).sort()).toEqual(t.rows.map((r) => r.sessionId).sort())
    expect(t.rows.map((r) => r.sessionId)).toContain('other')
  }, 120_000)

  it('is compared with a full copy now and then; a difference turns live copies off and snapshots show the truth', async () => {
    const { dir, db, agent, store } = await liveCase('k1', 5)
    await agent.sql(llmRow('k1', 50), "UPDATE sessions SET status = 'PAUSED' WHERE session_id = 'k1'")
    await store.refresh()
    await store.checkLiveNow()
    expect(store.liveStats).toMatchObject({ checks: 1, mismatches: 0, off: null })
    // The next checks replay only the WAL written since the last one, onto the replay kept from it.
    for (const n of [60, 61]) {
      await agent.sql(llmRow('k1', n), `UPDATE sessions SET status = 'RUNNING' WHERE session_id = 'k1'`)
      if (n === 60) {
        await store.refresh()
        await store.checkLiveNow()
      } else {
        // A refresh queued before the check's turn moves the copy on: the check compares at the position it prints.
        const queued = store.refresh()
        await store.checkLiveNow()
        await queued
      }
    }
    expect(store.liveStats).toMatchObject({ checks: 3, mismatches: 0, off: null })
    expect(store.snapshotStats()).toMatchObject({ replayedCopies: 1, replayedFolds: 2 })
    // Tamper with the live copy (as a bug in applying would): one row gone.
    await store.query('tamper', async (con) => {
      await con.run("DELETE FROM llm_requests WHERE node_id = 'n50'")
      return null
    })
    await store.checkLiveNow()
    expect(store.snapshotStats()).toMatchObject({ replayedCopies: 1, replayedFolds: 3 })
    expect(store.liveStats.mismatches).toBe(1)
    expect(store.liveStats.off).toMatch(/differed/)
    expect(store.status().reading?.liveOff).toMatch(/differed/)
    await agent.sql(llmRow('k1', 51))
    await store.refresh()
    expect(store.liveStats.drops).toBe(1)
    await expectExact(store, dir, db, 'after the mismatch')
    const versions = store.liveStats.versions
    await agent.sql(llmRow('k1', 52))
    await store.refresh()
    expect(store.liveStats.versions).toBe(versions)
    await expectExact(store, dir, db, 'snapshots from then on')
    await agent.quit()
  }, 90_000)
})
