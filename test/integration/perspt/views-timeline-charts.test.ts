// The decision timeline and the chart series against real DuckDB stores: counts, order and filters
// checked against independent SQL; NULL latency and non-finite energy handled as documented.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import type { TimelineEntry, TimelineKind } from '../../../src/shared/model/perspt-timeline'
import { PERSPT_COST_PER_1K, TIMELINE_KINDS } from '../../../src/shared/model/perspt-timeline'
import { probeSchema, type SchemaProbe } from '../../../src/main/perspt/store-reader'
import { readTimeline, readTimelineFacets } from '../../../src/main/perspt/views/timeline'
import { bucketWidth, readEnergySeries, readLlmSeries } from '../../../src/main/perspt/views/chart-series'
import { VIEWS_MAIN, VIEWS_OTHER, buildViewsStore } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-timeline-'))
const full = join(dir, 'full.db')
const old = join(dir, 'old.db')

/** Independent SQL for each kind: the session's rows, and the node each is about. */
const KIND_SQL: Record<TimelineKind, { table: string; node: string | null; where?: string }> = {
  plan: { table: 'plan_revisions', node: null },
  step: { table: 'srbn_step_records', node: 'node_id' },
  verification: { table: 'verification_results', node: 'node_id' },
  sheaf: { table: 'sheaf_validations', node: 'node_id' },
  escalation: { table: 'escalation_reports', node: 'node_id' },
  rewrite: { table: 'rewrite_records', node: 'node_id' },
  correction: { table: 'correction_attempts', node: 'node_id' },
  repair: { table: 'repair_footprints', node: 'node_id' },
  review: { table: 'review_outcomes', node: 'node_id' },
  merge: { table: 'provisional_branches', node: 'node_id', where: `state = 'merged'` },
  flush: { table: 'branch_flushes', node: 'parent_node_id' }
}

let instance: DuckDBInstance
let con: DuckDBConnection
let probe: SchemaProbe

async function count(kind: TimelineKind, sessionId: string, nodeId?: string): Promise<number> {
  const k = KIND_SQL[kind]
  if (nodeId !== undefined && k.node === null) return 0
  const where = [`session_id = '${sessionId}'`, ...(k.where ? [k.where] : []), ...(nodeId ? [`${k.node} = '${nodeId}'`] : [])]
  const r = (await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${k.table} WHERE ${where.join(' AND ')}`)).getRowObjectsJS()
  return r[0]!.n as number
}

beforeAll(async () => {
  await buildViewsStore(full, { generation: 23, llmRequests: 400 })
  await buildViewsStore(old, { generation: 4, llmRequests: 5 })
  // Make the store hostile where the charts must cope: NULL latencies, and energy that is not a number.
  const rw = await DuckDBInstance.create(full)
  const w = await rw.connect()
  await w.run(`UPDATE llm_requests SET latency_ms = NULL WHERE session_id = '${VIEWS_MAIN}' AND id % 7 = 0`)
  await w.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total) VALUES
    ('task_1', '${VIEWS_MAIN}', '2026-05-03 10:05:00', 0, 0, 0, 0, 0, 'NaN'::REAL),
    ('task_1', '${VIEWS_MAIN}', '2026-05-03 10:06:00', 0, 0, 0, 0, 0, 0.0),
    ('task_2', '${VIEWS_MAIN}', '2026-05-03 10:05:30', 0, 0, 0, 0, 0, 'Infinity'::REAL),
    ('task_2', '${VIEWS_MAIN}', '2026-05-03 10:07:00', 0, 0, 0, 0, 0, NULL),
    ('task_9', '${VIEWS_OTHER}', '2026-05-03 10:07:00', 0, 0, 0, 0, 0, 'NaN'::REAL)`)
  w.closeSync()
  rw.closeSync()
  instance = await DuckDBInstance.create(full, { access_mode: 'READ_ONLY' })
  con = await instance.connect()
  probe = await probeSchema(con)
})

afterAll(() => {
  con?.closeSync()
  instance?.closeSync()
  rmSync(dir, { recursive: true, force: true })
})

const timeOf = (e: TimelineEntry) => (e.at === null ? Infinity : Date.parse(e.at))

describe('readTimeline', () => {
  it('holds every decision record of the session, oldest first, and windows tile it exactly', async () => {
    let expected = 0
    for (const k of TIMELINE_KINDS) expected += await count(k, VIEWS_MAIN)
    expect(expected).toBeGreaterThan(520)

    const whole = await readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 500 })
    const rest = await readTimeline(con, probe, VIEWS_MAIN, { offset: 500, limit: 500 })
    expect(whole.total).toBe(expected)
    const all = [...whole.rows, ...rest.rows]
    expect(all).toHaveLength(expected)
    expect(new Set(all.map((e) => e.id)).size).toBe(expected)
    for (let i = 1; i < all.length; i++) expect(timeOf(all[i]!)).toBeGreaterThanOrEqual(timeOf(all[i - 1]!))

    // Odd-sized windows read the same sequence: the tie-break makes the order total.
    const tiled: TimelineEntry[] = []
    for (let offset = 0; offset < expected; offset += 37) tiled.push(...(await readTimeline(con, probe, VIEWS_MAIN, { offset, limit: 37 })).rows)
    expect(tiled.map((e) => e.id)).toEqual(all.map((e) => e.id))

    // Nothing of the other session, which has rows in every table with the same node ids.
    const otherIds = new Set((await readTimeline(con, probe, VIEWS_OTHER, { offset: 0, limit: 500 })).rows.map((e) => e.id))
    expect(otherIds.size).toBeGreaterThan(5)
    expect(all.filter((e) => otherIds.has(e.id))).toEqual([])
  })

  it('filters by kind and by node in DuckDB, with the filtered total', async () => {
    const kinds: TimelineKind[] = ['review', 'flush', 'merge', 'escalation']
    const page = await readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 100, kinds })
    let expected = 0
    for (const k of kinds) expected += await count(k, VIEWS_MAIN)
    expect(page.total).toBe(expected)
    expect(new Set(page.rows.map((e) => e.kind))).toEqual(new Set(kinds))

    const node = await readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 500, nodeId: 'task_3' })
    let forNode = 0
    for (const k of TIMELINE_KINDS) forNode += await count(k, VIEWS_MAIN, 'task_3')
    expect(node.total).toBe(forNode)
    expect(node.rows.every((e) => e.nodeId === 'task_3')).toBe(true)

    const both = await readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 50, kinds: ['correction'], nodeId: 'task_3' })
    expect(both.total).toBe(await count('correction', VIEWS_MAIN, 'task_3'))
    // Past the end: no rows, the total still says how far it reaches.
    expect(await readTimeline(con, probe, VIEWS_MAIN, { offset: 10_000, limit: 50, kinds })).toEqual({ total: expected, offset: 10_000, rows: [] })
  })

  it('says each entry in plain words, with details and JSON on demand', async () => {
    const page = await readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 100, kinds: ['review', 'verification', 'escalation', 'flush', 'correction'] })
    const line = (id: string) => page.rows.find((e) => e.id === id)
    const rejected = page.rows.find((e) => e.kind === 'review' && e.nodeId === 'task_2')!
    expect(rejected.line).toBe('Review: Rejected · “wrong module”')
    expect(rejected.tone).toBe('failed')
    expect(rejected.fields).toContainEqual({ label: 'Decision', value: 'Rejected' })
    const auto = page.rows.find((e) => e.kind === 'review' && e.nodeId === 'task_1')!
    expect(auto.fields).toContainEqual({ label: 'Decision', value: 'Approved automatically (auto_approved)' })
    const failed = page.rows.filter((e) => e.kind === 'verification').map((e) => [e.nodeId, e.line, e.tone])
    expect(failed).toEqual([
      ['task_1', 'Verification failed: 3 tests failed', 'failed'],
      ['task_1', 'Verification passed: all green', 'done'],
      ['task_2', 'Verification degraded: no linter', 'waiting']
    ])
    const esc = page.rows.find((e) => e.kind === 'escalation' && e.nodeId === 'task_3')!
    expect(esc.line).toBe('Escalated (implementation error): retry with the evidence · tests fail in task_3')
    expect(esc.json.action).toEqual({ grounded_retry: { evidence_summary: 'stalled' } })
    const flush = page.rows.find((e) => e.kind === 'flush' && e.nodeId === 'task_1')!
    expect(flush.line).toBe('Threw away 1 branch, redo task_3, task_4 · Parent interface changed')
    // Amber is for what asks someone to act (the escalation), not for routine flushes.
    expect([esc.tone, flush.tone]).toEqual(['attention', 'info'])
    const rejectedFix = page.rows.find((e) => e.kind === 'correction' && e.line.includes('rejected'))!
    expect(rejectedFix.line).toBe('Correction attempt 1 rejected: missing artifacts')
    expect(line(rejectedFix.id)!.at).toBe('2026-05-03T10:01:10.000Z') // epoch seconds read as UTC
    // No table names or snake_case wire words in the lines people read.
    for (const e of (await readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 500 })).rows) {
      expect(e.line).not.toMatch(/[a-z]_[a-z]/)
    }
  })

  it('facets count every kind and list the nodes; an old store has none of the tables', async () => {
    const facets = await readTimelineFacets(con, probe, VIEWS_MAIN)
    for (const f of facets.kinds) {
      expect(f.available).toBe(true)
      expect(f.count, f.kind).toBe(await count(f.kind, VIEWS_MAIN))
    }
    expect(facets.total).toBe(facets.kinds.reduce((n, k) => n + k.count, 0))
    expect(facets.nodes.map((n) => n.nodeId)).toEqual(['task_1', 'task_2', 'task_3', 'task_4'])
    for (const n of facets.nodes) expect(n.count).toBe((await readTimeline(con, probe, VIEWS_MAIN, { offset: 0, limit: 1, nodeId: n.nodeId })).total)

    const oi = await DuckDBInstance.create(old, { access_mode: 'READ_ONLY' })
    const oc = await oi.connect()
    try {
      const op = await probeSchema(oc)
      const f = await readTimelineFacets(oc, op, VIEWS_MAIN)
      expect(f.kinds.every((k) => !k.available && k.count === 0)).toBe(true)
      expect(await readTimeline(oc, op, VIEWS_MAIN, { offset: 0, limit: 10 })).toEqual({ total: 0, offset: 0, rows: [] })
    } finally {
      oc.closeSync()
      oi.closeSync()
    }
  })
})

describe('chart series', () => {
  it('bucket widths are nice and at most 60 per chart', () => {
    expect(bucketWidth(0, 0)).toBe(1000)
    expect(bucketWidth(0, 59_000)).toBe(1000)
    expect(bucketWidth(0, 60_000)).toBe(2000)
    expect(bucketWidth(0, 3_600_000)).toBe(120_000)
    for (const span of [1, 999_999, 86_400_000, 40 * 86_400_000, 3000 * 86_400_000]) {
      const w = bucketWidth(0, span)
      expect(Math.floor(span / w) + 1).toBeLessThanOrEqual(60)
    }
  })

  it('LLM: per bucket and model, counts, tokens and cost add up; percentiles leave NULL latency out', async () => {
    const s = await readLlmSeries(con, probe, VIEWS_MAIN)
    const [facts] = (
      await con.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE latency_ms IS NULL)::INTEGER AS no_lat,
           sum(tokens_in)::INTEGER AS t_in, sum(tokens_out)::INTEGER AS t_out
         FROM llm_requests WHERE session_id = '${VIEWS_MAIN}'`
      )
    ).getRowObjectsJS()
    expect(s.latencyMissing).toBe(facts!.no_lat)
    expect(s.latencyMissing).toBeGreaterThan(0)
    expect(s.models).toEqual(['gpt-4o', 'claude-sonnet', 'llama-3'])
    const totals = s.points.filter((p) => p.model === null)
    expect(totals.reduce((n, p) => n + p.requests, 0)).toBe(facts!.n)
    expect(totals.reduce((n, p) => n + p.tokensIn, 0)).toBe(facts!.t_in)
    const perModel = s.points.filter((p) => p.model !== null)
    expect(perModel.reduce((n, p) => n + p.requests, 0)).toBe(facts!.n)
    for (const p of s.points) expect(p.costUsd).toBeCloseTo((p.tokensIn / 1000) * PERSPT_COST_PER_1K.in + (p.tokensOut / 1000) * PERSPT_COST_PER_1K.out, 9)
    expect(s.bucketMs).toBe(bucketWidth(s.fromMs!, s.toMs!))

    // One bucket's percentiles, recomputed independently over the rows with a latency.
    const busiest = [...totals].sort((a, b) => b.requests - a.requests)[0]!
    const [q] = (
      await con.runAndReadAll(
        `SELECT quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95, count(latency_ms)::INTEGER AS timed
         FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND latency_ms IS NOT NULL
           AND epoch_ms(timestamp) >= ${busiest.t} AND epoch_ms(timestamp) < ${busiest.t + s.bucketMs}`
      )
    ).getRowObjectsJS()
    expect(busiest.timed).toBe(q!.timed)
    expect(busiest.p50).toBeCloseTo(q!.p50 as number, 6)
    expect(busiest.p95).toBeCloseTo(q!.p95 as number, 6)
  })

  it('energy: every node, passes in order, non-finite values null and counted (this session only)', async () => {
    const e = await readEnergySeries(con, probe, VIEWS_MAIN)
    expect(e.epsilon).toBe(0.1)
    expect(e.nonFinite).toBe(3) // NaN, Infinity and NULL of this session; the other session's NaN is not counted
    const [n] = (await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM energy_history WHERE session_id = '${VIEWS_MAIN}'`)).getRowObjectsJS()
    expect(e.nodes.reduce((k, node) => k + node.values.length, 0)).toBe(n!.n)
    const t1 = e.nodes.find((x) => x.nodeId === 'task_1')!
    const t2 = e.nodes.find((x) => x.nodeId === 'task_2')!
    expect(t1.values.slice(-2)).toEqual([null, 0])
    expect(t2.values.slice(-2)).toEqual([null, null])
    for (const node of e.nodes) {
      expect(node.values).toHaveLength(node.times.length)
      for (let i = 1; i < node.times.length; i++) expect(node.times[i]!).toBeGreaterThanOrEqual(node.times[i - 1]!)
    }
    expect(e.leftOut).toBe(0)
  })
})
