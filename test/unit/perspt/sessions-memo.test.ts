// A refresh recomputes only sessions with new rows (readSessionsWithMemo). After every kind of write
// Perspt makes, the incremental read must equal a full read of the same data.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeSchema, readSessionsWithMemo, type SessionsMemo } from '../../../src/main/perspt/store-reader'
import { buildStore } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-memo-'))
let db: DuckDBInstance
let con: DuckDBConnection
let memo: SessionsMemo | null = null
const opts = { agentLive: true, now: Date.parse('2026-05-02T00:00:00Z') }

beforeAll(async () => {
  const path = join(dir, 'perspt.db')
  await buildStore(path, { generation: 23 })
  db = await DuckDBInstance.create(path)
  con = await db.connect()
})
afterAll(() => {
  con.closeSync()
  db.closeSync()
  rmSync(dir, { recursive: true, force: true })
})

/** `con` with every runAndReadAll's SQL passed to `seen` first (what a read asked DuckDB for). */
function spying(seen: (sql: string) => void): DuckDBConnection {
  return new Proxy(con, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown
      if (key !== 'runAndReadAll' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v
      return (sql: string, ...rest: unknown[]) => {
        seen(sql)
        return (v as (...a: unknown[]) => unknown).call(target, sql, ...rest)
      }
    }
  }) as DuckDBConnection
}

/** Reads with the memo of the previous read and without any memo; they must agree. */
async function incrementalEqualsFull(): Promise<void> {
  const probe = await probeSchema(con)
  const inc = await readSessionsWithMemo(con, probe, opts, memo)
  const full = await readSessionsWithMemo(con, probe, opts, null)
  expect(inc.rows).toEqual(full.rows)
  expect(inc.memo).not.toBeNull()
  memo = inc.memo
}

describe('incremental session reads', () => {
  it('start from a full read', async () => {
    await incrementalEqualsFull()
  })

  it.each([
    ['an LLM request', "INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('fx-running', 'task_1', 'm', 'p', 'r', 7, 3, 9)"],
    ['an LLM request with zero tokens (estimated)', "INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('fx-completed', '', 'm', 'naïve café', 'ok', 0, 0, 1)"],
    ['a step record for a new node', "INSERT INTO srbn_step_records (session_id, node_id, step, outcome, attempt_count, duration_ms) VALUES ('fx-running', 'task_new', 'verify', 'ok', 1, 10)"],
    ['an energy pass', "INSERT INTO energy_history (node_id, session_id, v_syn, v_str, v_log, v_boot, v_sheaf, v_total) VALUES ('task_2', 'fx-running', 0.1, 0, 0, 0, 0, 0.1)"],
    ['a node commit', "INSERT INTO node_states (node_id, session_id, state, v_total, merkle_hash, attempt_count) VALUES ('task_new', 'fx-running', 'Completed', 0.05, ''::BLOB, 1)"],
    ['an escalation', "INSERT INTO escalation_reports (session_id, node_id, category, action) VALUES ('fx-running', 'task_2', 'c', '{}')"],
    ['a task-graph edge', "INSERT INTO task_graph_edges (session_id, parent_node_id, child_node_id) VALUES ('fx-running', 'task_new', 'task_edge_only')"],
    ['a new active plan revision with new tasks', "INSERT INTO plan_revisions (revision_id, session_id, sequence, plan_json, reason, status) VALUES ('rev-memo', 'fx-running', 99, '{\"tasks\":[{\"id\":\"task_from_plan\"}]}', 'memo', 'active')"],
    ['a new plan revision superseding the old one', "UPDATE plan_revisions SET status = 'superseded' WHERE session_id = 'fx-running'"],
    ['a budget update', "UPDATE budget_envelopes SET steps_used = steps_used + 5 WHERE session_id = 'fx-running'"],
    ['a status change', "UPDATE sessions SET status = 'COMPLETED' WHERE session_id = 'fx-running'"],
    ['a brand-new session with rows', "INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('fx-new', 't', '/w', ''::BLOB, '', 'RUNNING'); INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('fx-new', 'n1', 'm', 'p', 'r', 1, 1, 1)"]
  ])('after %s', async (_what, sql) => {
    for (const stmt of sql.split('; ')) await con.run(stmt)
    await incrementalEqualsFull()
  })

  it('recounts nodes only for sessions whose node tables or plan changed: an LLM call alone does not', async () => {
    const probe = await probeSchema(con)
    const counted: string[] = []
    const spy = spying((sql) => {
      if (/\bclassified AS\b/.test(sql)) counted.push(sql)
    })
    memo = (await readSessionsWithMemo(spy, probe, opts, memo)).memo
    counted.length = 0
    await con.run("INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('fx-running', 'task_1', 'm', 'p', 'r', 2, 2, 5)")
    await con.run("UPDATE sessions SET updated_at = TIMESTAMP '2026-05-01 12:00:00' WHERE session_id = 'fx-running'")
    const inc = await readSessionsWithMemo(spy, probe, opts, memo)
    expect(inc.changed).toEqual(new Set(['fx-running']))
    expect(counted).toEqual([])
    expect(inc.rows).toEqual((await readSessionsWithMemo(con, probe, opts, null)).rows)
    memo = inc.memo
    await con.run("INSERT INTO node_states (node_id, session_id, state, v_total, merkle_hash, attempt_count) VALUES ('task_memo', 'fx-running', 'Coding', 0.2, ''::BLOB, 1)")
    const next = await readSessionsWithMemo(spy, probe, opts, memo)
    expect(counted).toHaveLength(1)
    expect(counted[0]).toContain("'fx-running'")
    expect(next.rows).toEqual((await readSessionsWithMemo(con, probe, opts, null)).rows)
    memo = next.memo
  })

  it('reads budgets and energy averages again only when their table is among the changed ones', async () => {
    const probe = await probeSchema(con)
    const reads: string[] = []
    const spy = spying((sql) => {
      if (/FROM budget_envelopes\b/.test(sql)) reads.push('budgets')
      if (/avg\(v_total\)/.test(sql)) reads.push('energy')
    })
    const full = async () => (await readSessionsWithMemo(con, probe, opts, null)).rows
    memo = (await readSessionsWithMemo(spy, probe, opts, memo, null)).memo
    expect(reads.sort()).toEqual(['budgets', 'energy'])
    // An LLM call: neither table is read, and the rows still equal a full read.
    reads.length = 0
    await con.run("INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('fx-running', 'task_1', 'm', 'p', 'r', 4, 4, 6)")
    let inc = await readSessionsWithMemo(spy, probe, opts, memo, new Set(['llm_requests']))
    expect(reads).toEqual([])
    expect(inc.rows).toEqual(await full())
    memo = inc.memo
    // A budget update: budgets only; the new figure shows.
    await con.run("UPDATE budget_envelopes SET steps_used = steps_used + 3 WHERE session_id = 'fx-running'")
    inc = await readSessionsWithMemo(spy, probe, opts, memo, new Set(['budget_envelopes']))
    expect(reads).toEqual(['budgets'])
    expect(inc.rows).toEqual(await full())
    memo = inc.memo
    // An energy pass: energy only; the session's average moves.
    reads.length = 0
    const before = inc.rows.find((r) => r.sessionId === 'fx-running')?.avgEnergy
    await con.run("INSERT INTO energy_history (node_id, session_id, v_syn, v_str, v_log, v_boot, v_sheaf, v_total) VALUES ('task_2', 'fx-running', 9, 0, 0, 0, 0, 9)")
    inc = await readSessionsWithMemo(spy, probe, opts, memo, new Set(['energy_history']))
    expect(reads).toEqual(['energy'])
    expect(inc.rows).toEqual(await full())
    expect(inc.rows.find((r) => r.sessionId === 'fx-running')?.avgEnergy).not.toBe(before)
    memo = inc.memo
  })

  it('falls back to a full read when a table was rewritten (ids went backwards)', async () => {
    await con.run("DELETE FROM llm_requests WHERE session_id = 'fx-new'")
    await con.run('DELETE FROM llm_requests WHERE id = (SELECT max(id) FROM llm_requests)')
    await incrementalEqualsFull()
  })
})
