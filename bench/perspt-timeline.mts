// Issue 14 items 4-5 figures: the decision timeline's window query (first, middle and last window,
// filtered by kind and by node), its facets, and the chart series, on a session with 200,000 decision
// records and 100,000 LLM requests. Median of 7 runs each, with the machine's load. One JSON line each.
import { DuckDBInstance } from '@duckdb/node-api'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { probeSchema } from '../src/main/perspt/store-reader'
import { readEnergySeries, readLlmSeries } from '../src/main/perspt/views/chart-series'
import { readTimeline, readTimelineFacets } from '../src/main/perspt/views/timeline'
import { VIEWS_MAIN, buildViewsStore } from '../test/fixtures/perspt-fixtures'

const STEPS = Number(process.env.TIMELINE_STEPS ?? 200_000)
const LLM = Number(process.env.TIMELINE_LLM ?? 100_000)
const RUNS = 7
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-timeline-'))
const path = join(dir, 'perspt.db')

try {
  await buildViewsStore(path, { generation: 23, llmRequests: 10 })
  const rw = await DuckDBInstance.create(path)
  const w = await rw.connect()
  await w.run(`INSERT INTO srbn_step_records (session_id, node_id, step, outcome, attempt_count, duration_ms, created_at)
    SELECT '${VIEWS_MAIN}', 'task_' || (i % 40 + 1), ['speculate', 'verify', 'converge', 'sheaf_validate', 'commit'][i % 5 + 1], 'ok', 1, 50 + i % 900,
      TIMESTAMP '2026-05-03 11:00:00' + to_seconds(i // 3) FROM range(${STEPS}) t(i)`)
  await w.run(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp)
    SELECT '${VIEWS_MAIN}', 'task_' || (i % 40 + 1), ['gpt-4o', 'claude-sonnet', 'llama-3'][i % 3 + 1], '', '', 100 + i % 900, 50 + i % 400,
      CASE WHEN i % 11 = 0 THEN NULL ELSE 200 + (i * 97) % 5000 END, TIMESTAMP '2026-05-03 11:00:00' + to_seconds(i // 2) FROM range(${LLM}) t(i)`)
  await w.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
    SELECT 'task_' || (i % 40 + 1), '${VIEWS_MAIN}', TIMESTAMP '2026-05-03 11:00:00' + to_seconds(i), 0, 0, 0, 0, 0, 1.0 / (1 + i // 40) FROM range(4000) t(i)`)
  w.closeSync()
  rw.closeSync()

  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  const probe = await probeSchema(con)
  const total = (await readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 1 })).total

  async function measure(name: string, fn: () => Promise<unknown>): Promise<void> {
    const ms: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now()
      await fn()
      ms.push(performance.now() - t0)
    }
    ms.sort((a, b) => a - b)
    const load = loadavg()[0]!.toFixed(1)
    console.log(JSON.stringify({ bench: 'perspt-timeline', name, entries: total, medianMs: Number(ms[RUNS >> 1]!.toFixed(1)), maxMs: Number(ms[RUNS - 1]!.toFixed(1)), load1: Number(load) }))
  }

  await measure('timeline window 200 at start', () => readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 200 }))
  await measure('timeline window 200 in the middle', () => readTimeline(con, probe, VIEWS_MAIN, { offset: Math.floor(total / 2), limit: 200 }))
  await measure('timeline window 200 at the end', () => readTimeline(con, probe, VIEWS_MAIN, { offset: total - 200, limit: 200 }))
  await measure('timeline, escalations and reviews only', () => readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 200, kinds: ['escalation', 'review'] }))
  await measure('timeline, one node, middle', () => readTimeline(con, probe, VIEWS_MAIN, { offset: Math.floor(total / 80), limit: 200, nodeId: 'task_7' }))
  await measure('timeline facets', () => readTimelineFacets(con, probe, VIEWS_MAIN))
  await measure(`LLM series (${LLM} requests)`, () => readLlmSeries(con, probe, VIEWS_MAIN))
  await measure('energy series (4,000 passes, 40 nodes)', () => readEnergySeries(con, probe, VIEWS_MAIN))
  con.closeSync()
  instance.closeSync()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
