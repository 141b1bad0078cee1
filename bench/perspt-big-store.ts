// A Perspt store at the scale issue 3 names: 2,000 sessions, 100,000 nodes, 1,000,000 LLM requests,
// 200,000 energy rows — generated in SQL (range()), in Perspt's real schema, once per machine.
import { DuckDBInstance } from '@duckdb/node-api'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { schemaStatements } from '../src/main/perspt/schema'

export const BIG = { sessions: 2000, nodesPerSession: 50, llmPerSession: 500, energyPerSession: 100 }
const VERSION = 'v1'

/** Path of the cached big store; builds it (about a minute on 2 cores) when missing. */
export async function bigStorePath(log: (m: string) => void = () => undefined): Promise<string> {
  const dir = join(tmpdir(), 'vigil-bench')
  const path = join(dir, `perspt-big-${VERSION}.db`)
  if (existsSync(path)) return path
  mkdirSync(dir, { recursive: true })
  const building = `${path}.building`
  rmSync(building, { force: true })
  rmSync(`${building}.wal`, { force: true })
  const t0 = performance.now()
  await buildBigStore(building)
  renameSync(building, path)
  log(`built ${path} in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return path
}

export async function buildBigStore(path: string, scale = BIG): Promise<void> {
  const db = await DuckDBInstance.create(path)
  const con = await db.connect()
  const run = (sql: string) => con.run(sql)
  try {
    for (const stmt of schemaStatements(23)) await run(stmt)
    const { sessions: S, nodesPerSession: N, llmPerSession: L, energyPerSession: E } = scale
    await run(`CREATE TEMP TABLE s AS
      SELECT i, 'bench-' || lpad(i::VARCHAR, 5, '0') AS sid,
             TIMESTAMP '2026-10-01 00:00:00' + to_minutes(i * 20) AS t0
      FROM range(${S}) r(i)`)
    await run(`INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, created_at, updated_at, status)
      SELECT sid, 'Bench task ' || i || ': refactor module ' || (i % 97), '/bench/work/' || i, ''::BLOB, '',
             t0, t0 + to_minutes(15),
             CASE WHEN i % 50 = 0 THEN 'RUNNING' WHEN i % 7 = 0 THEN 'FAILED' WHEN i % 11 = 0 THEN 'PARTIAL' ELSE 'COMPLETED' END
      FROM s`)
    await run(`INSERT INTO plan_revisions (revision_id, session_id, sequence, plan_json, reason, supersedes, status, created_at)
      SELECT 'rev-' || sid, sid, 1,
             '{"tasks":[' || string_agg('{"id":"n' || k || '","goal":"Goal ' || k || '","context_files":[],"output_files":["src/m' || k || '.rs"],"dependencies":[' || CASE WHEN k = 0 THEN '' ELSE '"n' || (k - 1) || '"' END || '],"task_type":"code","node_class":"Implementation"}', ',' ORDER BY k) || ']}',
             'initial', '', 'active', any_value(t0)
      FROM s, range(${N}) r(k) GROUP BY sid`)
    await run(`INSERT INTO task_graph_edges (session_id, parent_node_id, child_node_id, edge_type, created_at)
      SELECT sid, 'n' || (k - 1), 'n' || k, 'dependency', t0 FROM s, range(1, ${N}) r(k)`)
    await run(`INSERT INTO srbn_step_records (session_id, node_id, step, outcome, energy_json, parse_state, retry_classification, attempt_count, duration_ms, created_at)
      SELECT sid, 'n' || k, 'verify', CASE WHEN k % 17 = 0 THEN 'escalated' ELSE 'committed' END, '', 'ok', '', 1, 1000 + k * 10, t0 + to_seconds(k * 10)
      FROM s, range(${N}) r(k)`)
    await run(`INSERT INTO node_states (node_id, session_id, state, v_total, merkle_hash, attempt_count, created_at,
        node_class, owner_plugin, goal, parent_id, children, last_error_type, committed_at)
      SELECT 'n' || k, sid, 'Completed', 0.05, ''::BLOB, 1, t0 + to_seconds(k * 10 + 5),
             'Implementation', 'rust', 'Goal ' || k, '', '[]', '', strftime(t0 + to_seconds(k * 10 + 5), '%Y-%m-%dT%H:%M:%SZ')
      FROM s, range(${N}) r(k) WHERE k % 17 <> 0 AND k % 5 <> 4`)
    await run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
      SELECT 'n' || (j % ${N}), sid, t0 + to_seconds(j * 6),
             0.4 / (1 + j // ${N}), 0.2 / (1 + j // ${N}), 0.1, 0.05, 0.0, 0.75 / (1 + j // ${N})
      FROM s, range(${E}) r(j)`)
    await run(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp)
      SELECT sid, 'n' || (j % ${N}),
             CASE j % 3 WHEN 0 THEN 'gpt-5-mini' WHEN 1 THEN 'claude-sonnet-5' ELSE 'gemini-3-pro' END,
             'Implement node n' || (j % ${N}) || ' of session ' || sid || '. ' || repeat('Context line for the model. ', 12),
             'Here is the patch for n' || (j % ${N}) || ': ' || repeat('fn step() { ok() } ', 8),
             800 + (j * 37) % 900, 120 + (j * 13) % 300, 300 + (j * 7919) % 4000, t0 + to_seconds(j * 2)
      FROM s, range(${L}) r(j)`)
    await run(`INSERT INTO escalation_reports (session_id, node_id, category, action, energy_snapshot, stage_outcomes, evidence, affected_node_ids, created_at)
      SELECT sid, 'n' || k, 'StructuralFailure', '{"type":"Requeue"}', '{"v_syn":0.4}', '[]', 'tests failed', '["n' || k || '"]', t0 + to_seconds(k * 10 + 8)
      FROM s, range(0, ${N}, 17) r(k)`)
    await run(`INSERT INTO budget_envelopes (session_id, max_steps, steps_used, max_revisions, revisions_used, max_cost_usd, cost_used_usd, updated_at)
      SELECT sid, 200, 40 + i % 100, NULL, 1, 5.0, 0.5 + (i % 40) / 10.0, t0 + to_minutes(15) FROM s`)
    await run(`INSERT INTO provisional_branches (branch_id, session_id, node_id, parent_node_id, state, parent_seal_hash, sandbox_dir, created_at, updated_at)
      SELECT 'branch_n' || k || '_' || sid, sid, 'n' || k, CASE WHEN k = 0 THEN 'root' ELSE 'n' || (k - 1) END,
             CASE WHEN k % 5 = 4 THEN 'flushed' ELSE 'merged' END, ''::BLOB, '', t0, t0 + to_minutes(1)
      FROM s, range(0, ${N}, 5) r(k)`)
    await run('CHECKPOINT')
  } finally {
    con.closeSync()
    db.closeSync()
  }
}
