// The LLM page's summary and series are remembered between snapshots and only the session's new rows
// are added (llm-memo.ts). Every answer must equal what SQL computes over the same data: after new
// rows (many rounds, random latencies, NULLs, undated rows, a new model), after an UPDATE or DELETE of
// old rows, after the connection moves to a different file, and with rows whose tokens are estimated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { probeSchema, type SchemaProbe } from '../../../src/main/perspt/store-reader'
import { readLlmRows, readLlmSummary } from '../../../src/main/perspt/views/llm'
import { StatementCache } from '../../../src/main/perspt/statement-cache'
import { llmSeriesStats, readLlmSeries } from '../../../src/main/perspt/views/chart-series'
import { llmMemoStats, quantileCont } from '../../../src/main/perspt/views/llm-memo'
import { VIEWS_MAIN, buildViewsStore } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-llm-memo-'))
const path = join(dir, 'store.db')
const other = join(dir, 'other.db')
let instance: DuckDBInstance
/** Reads through the memo (one store's connection). */
let con: DuckDBConnection
/** Writes, and computes the truth. */
let w: DuckDBConnection
let probe: SchemaProbe
let seed = 17
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)

beforeAll(async () => {
  await buildViewsStore(path, { generation: 23, llmRequests: 120 })
  copyFileSync(path, other)
  instance = await DuckDBInstance.create(path)
  con = await instance.connect()
  w = await instance.connect()
  probe = await probeSchema(con)
})

afterAll(() => {
  con?.closeSync()
  w?.closeSync()
  instance?.closeSync()
  rmSync(dir, { recursive: true, force: true })
})

/** The summary as plain SQL computes it over the rows now (NULL latency excluded from percentiles). */
async function sqlSummary(db = '') {
  const t = `${db}llm_requests`
  const q = async (group: string) =>
    (
      await w.runAndReadAll(
        `SELECT ${group === '' ? "'' AS model" : 'coalesce(model, \'\') AS model'}, count(*)::DOUBLE AS n, sum(tokens_in)::DOUBLE AS t_in, sum(tokens_out)::DOUBLE AS t_out,
           coalesce(sum(latency_ms), 0)::DOUBLE AS lat, count(latency_ms)::DOUBLE AS lat_n,
           quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95
         FROM ${t} WHERE session_id = '${VIEWS_MAIN}' ${group}`
      )
    ).getRowObjectsJS()
  const shape = (r: Record<string, unknown>) => ({
    requests: r.n,
    tokensIn: r.t_in,
    tokensOut: r.t_out,
    latencyMsTotal: r.lat,
    latencyP50: r.p50 ?? null,
    latencyP95: r.p95 ?? null,
    latencyCounted: r.lat_n
  })
  const [total] = await q('')
  const perModel = (await q('GROUP BY ALL')).map((r) => ({ model: r.model, ...shape(r) }))
  return { total: shape(total!), perModel: perModel.sort((a, b) => String(a.model).localeCompare(String(b.model))) }
}

async function expectSummaryIsSql(db = '', perVersion?: Map<string, unknown>) {
  const s = await readLlmSummary(con, probe, VIEWS_MAIN, perVersion)
  const truth = await sqlSummary(db)
  const { perModel, ...total } = s
  expect({ ...total, tokensEstimated: undefined }).toEqual({ ...truth.total, tokensEstimated: undefined })
  expect(perModel.map(({ tokensEstimated: _, ...m }) => m).sort((a, b) => a.model.localeCompare(b.model))).toEqual(truth.perModel)
}

/** The series as a connection without a memo reads it: all in SQL. */
async function freshSeries() {
  const fresh = await instance.connect()
  try {
    return await readLlmSeries(fresh, probe, VIEWS_MAIN)
  } finally {
    fresh.closeSync()
  }
}

async function append(n: number, opts: { model?: string; at?: string; nullLatency?: boolean } = {}) {
  for (let i = 0; i < n; i++) {
    const lat = opts.nullLatency || rand() < 0.1 ? 'NULL' : String(Math.floor(rand() * 5000))
    const at = opts.at ?? `(SELECT max(timestamp) FROM llm_requests WHERE session_id = '${VIEWS_MAIN}') + INTERVAL ${Math.floor(rand() * 3)} SECOND`
    await w.run(
      `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp)
       VALUES ('${VIEWS_MAIN}', 'task_1', '${opts.model ?? ['gpt-4o', 'claude-sonnet', 'llama-3'][Math.floor(rand() * 3)]}', 'p', 'r', ${1 + Math.floor(rand() * 900)}, ${1 + Math.floor(rand() * 90)}, ${lat}, ${at})`
    )
  }
}

/**
 * ReadContexts as PersptStore gives them: each call a new version, knowing only what changed since the
 * version before (`ops` on llm_requests; null: unknown).
 */
function contexts(first: number) {
  let version = first
  return (ops: ('insert' | 'update' | 'delete')[] | null) => {
    const v = ++version
    const changes = ops === null ? null : new Map([['llm_requests', new Set(ops)]])
    return { version: v, perVersion: new Map<string, unknown>(), changesSince: (x: number) => (x === v ? new Map() : x === v - 1 ? changes : null) }
  }
}

describe('LLM summary and series memo', () => {
  it('quantileCont is DuckDB quantile_cont, value for value', async () => {
    for (const n of [1, 2, 3, 7, 20, 101, 1000, ...Array.from({ length: 150 }, () => 2 + Math.floor(rand() * 80))]) {
      const values = Array.from({ length: n }, () => Math.floor(rand() * 100_000) - 50)
      const [r] = (
        await w.runAndReadAll(`SELECT quantile_cont(v, 0.5) AS p50, quantile_cont(v, 0.95) AS p95 FROM (SELECT unnest([${values.join(',')}]::INTEGER[]) AS v)`)
      ).getRowObjectsJS()
      const sorted = [...values].sort((a, b) => a - b)
      expect([quantileCont(sorted, 0.5), quantileCont(sorted, 0.95)]).toEqual([r!.p50, r!.p95])
    }
  })

  it('adds new rows round after round and stays equal to SQL (summary and series)', async () => {
    await expectSummaryIsSql()
    expect(await readLlmSeries(con, probe, VIEWS_MAIN)).toEqual(await freshSeries())
    const before = llmMemoStats()
    const buckets = llmSeriesStats()
    const paths: string[] = []
    for (let round = 0; round < 12; round++) {
      const mark = llmSeriesStats()
      // Mostly a few rows (added in place), once many (appended and sorted).
      await append(round === 3 ? 120 : 1 + Math.floor(rand() * 9), round === 5 ? { model: 'new-model' } : round === 7 ? { nullLatency: true } : {})
      if (round === 9) await append(2, { at: 'NULL' })
      // A row dated in the first bucket: not in the kept last bucket, so its bucket is read again in SQL.
      if (round === 10) await append(1, { at: `(SELECT min(timestamp) FROM llm_requests WHERE session_id = '${VIEWS_MAIN}')` })
      await expectSummaryIsSql()
      expect(await readLlmSeries(con, probe, VIEWS_MAIN)).toEqual(await freshSeries())
      const now = llmSeriesStats()
      paths.push(now.tail > mark.tail ? 'tail' : now.sql > mark.sql ? 'sql' : 'full')
    }
    const after = llmMemoStats()
    // New rows reach the buckets from the kept last bucket, unless nothing is kept yet (after a full read)
    // or a row is dated before it (round 10).
    expect(paths[10]).toBe('sql')
    expect(paths.filter((p) => p === 'tail').length, paths.join()).toBeGreaterThanOrEqual(6)
    expect(llmSeriesStats().tail - buckets.tail).toBe(paths.filter((p) => p === 'tail').length)
    // Most reads (summary and series each round) only added the new rows.
    expect(after.incremental - before.incremental).toBeGreaterThanOrEqual(16)
    expect(after.invalidated).toBe(before.invalidated)
    const s = await readLlmSummary(con, probe, VIEWS_MAIN)
    expect(s.perModel.some((m) => m.model === 'new-model')).toBe(true)
  })

  it('the summary and the series of one version share one scan; each version scans again and still sees an UPDATE', async () => {
    await readLlmSummary(con, probe, VIEWS_MAIN)
    await readLlmSeries(con, probe, VIEWS_MAIN)
    for (const change of ['append', 'append', 'update', 'append']) {
      if (change === 'append') await append(1 + Math.floor(rand() * 5))
      else await w.run(`UPDATE llm_requests SET latency_ms = latency_ms + 1 WHERE session_id = '${VIEWS_MAIN}' AND id = (SELECT min(id) FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND latency_ms IS NOT NULL)`)
      // A new version: what its reads share starts empty.
      const perVersion = new Map<string, unknown>()
      // The truth first (a fresh connection scans too).
      const truth = { summary: await sqlSummary(), series: await freshSeries() }
      const before = llmMemoStats()
      const summary = await readLlmSummary(con, probe, VIEWS_MAIN, perVersion)
      const series = await readLlmSeries(con, probe, VIEWS_MAIN, perVersion)
      const after = llmMemoStats()
      expect(summary.requests).toBe(truth.summary.total.requests)
      expect(summary.latencyP95).toBe(truth.summary.total.latencyP95)
      expect(series).toEqual(truth.series)
      expect({ change, scans: after.scans - before.scans }).toEqual({ change, scans: 1 })
      // An UPDATE of an old row invalidates both memos, found by the one shared scan.
      expect(after.invalidated - before.invalidated).toBe(change === 'update' ? 2 : 0)
      expect(after.incremental - before.incremental).toBe(change === 'update' ? 0 : 2)
    }
  })

  it('a first read takes its check from the rows it reads (one query), and the next version trusts that check', async () => {
    // A connection with no memo yet (memos live per connection).
    const cold = await instance.connect()
    try {
      let queries = 0
      const run = cold.runAndReadAll.bind(cold)
      cold.runAndReadAll = ((...args: Parameters<typeof run>) => {
        queries++
        return run(...args)
      }) as typeof cold.runAndReadAll
      const first = new Map<string, unknown>()
      const before = llmMemoStats()
      const summary = await readLlmSummary(cold, probe, VIEWS_MAIN, first)
      expect(queries).toBe(1)
      const series = await readLlmSeries(cold, probe, VIEWS_MAIN, first)
      expect(llmMemoStats().scans - before.scans).toBe(1)
      const truth = await sqlSummary()
      expect([summary.requests, summary.latencyP50, summary.latencyP95]).toEqual([truth.total.requests, truth.total.latencyP50, truth.total.latencyP95])
      expect(series).toEqual(await freshSeries())
      // Its count, max id and fingerprint must be DuckDB's own: else this check would find the rows changed.
      await append(4)
      const mid = llmMemoStats()
      const next = new Map<string, unknown>()
      expect((await readLlmSummary(cold, probe, VIEWS_MAIN, next)).requests).toBe((await sqlSummary()).total.requests)
      expect(await readLlmSeries(cold, probe, VIEWS_MAIN, next)).toEqual(await freshSeries())
      const after = llmMemoStats()
      expect({ incremental: after.incremental - mid.incremental, invalidated: after.invalidated - mid.invalidated }).toEqual({ incremental: 2, invalidated: 0 })
    } finally {
      cold.closeSync()
    }
  })

  it('a memo is anchored when its session is read again, not at its first read (a whole-table count a session opened once never needs)', async () => {
    const cold = await instance.connect()
    try {
      let counts = 0
      const run = cold.runAndReadAll.bind(cold)
      cold.runAndReadAll = ((...args: Parameters<typeof run>) => {
        if (/^SELECT count\(\*\) AS n, count\(\*\) FILTER \(WHERE id > /.test(String(args[0]))) counts++
        return run(...args)
      }) as typeof cold.runAndReadAll
      const at = contexts(5000)
      const step = async (ctx: ReturnType<typeof at>) => {
        const before = { ...llmMemoStats(), counts }
        expect((await readLlmSummary(cold, probe, VIEWS_MAIN, ctx)).requests).toBe((await sqlSummary()).total.requests)
        const after = llmMemoStats()
        return { anchorCounts: counts - before.counts, anchored: after.anchored - before.anchored, scans: after.scans - before.scans }
      }
      expect(await step(at(null))).toEqual({ anchorCounts: 0, anchored: 0, scans: 1 })
      await append(1)
      // Read again: the check scans (no anchor yet) and anchors.
      expect(await step(at(['insert']))).toEqual({ anchorCounts: 1, anchored: 0, scans: 1 })
      await append(1)
      expect(await step(at(['insert']))).toEqual({ anchorCounts: 1, anchored: 1, scans: 0 })
    } finally {
      cold.closeSync()
    }
  })

  it('with the WAL saying the table only gained rows, a check reads only the new rows; a row inserted below the others is still caught', async () => {
    // A ReadContext as PersptStore gives one: each step a new version, with what the WAL said changed since the last.
    const at = contexts(1000)
    /** Reads both through the memos, checks them against the truth, and says what the memo reads did. */
    const both = async (ctx: ReturnType<typeof at>) => {
      // The truth first: the fresh series read scans too.
      const truth = { summary: await sqlSummary(), series: await freshSeries() }
      const before = llmMemoStats()
      const summary = await readLlmSummary(con, probe, VIEWS_MAIN, ctx)
      const series = await readLlmSeries(con, probe, VIEWS_MAIN, ctx)
      const after = llmMemoStats()
      expect([summary.requests, summary.tokensIn, summary.latencyP50, summary.latencyP95]).toEqual([
        truth.summary.total.requests,
        truth.summary.total.tokensIn,
        truth.summary.total.latencyP50,
        truth.summary.total.latencyP95
      ])
      expect(series).toEqual(truth.series)
      return { anchored: after.anchored - before.anchored, scans: after.scans - before.scans, invalidated: after.invalidated - before.invalidated }
    }
    // A read with a context of a memo read before scans (and anchors the memo; a memo's first read does
    // not, see the next test). Then the summary and the series each check: 2 per version.
    await both(at(null))
    const steps: { change: () => Promise<void>; ops: ('insert' | 'update' | 'delete')[]; anchored: number; scans: number; invalidated: number }[] = [
      { change: () => append(3), ops: ['insert'], anchored: 2, scans: 0, invalidated: 0 },
      { change: () => append(1, { model: 'anchored-model' }), ops: ['insert'], anchored: 2, scans: 0, invalidated: 0 },
      // Nothing new at all (another table changed): still no scan.
      { change: async () => undefined, ops: [], anchored: 2, scans: 0, invalidated: 0 },
      // An insert is an insert to the WAL, but this row's id is below the memo's: the counts catch it.
      {
        change: () =>
          w.run(`INSERT INTO llm_requests (id, session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp)
                 VALUES (-5, '${VIEWS_MAIN}', 'task_1', 'low-id', 'p', 'r', 7, 7, 4321, TIMESTAMP '2026-01-01 00:00:00')`).then(() => undefined),
        ops: ['insert'],
        anchored: 0,
        scans: 1,
        invalidated: 2
      },
      { change: () => append(2), ops: ['insert'], anchored: 2, scans: 0, invalidated: 0 },
      { change: () => w.run(`UPDATE llm_requests SET latency_ms = 1 WHERE session_id = '${VIEWS_MAIN}' AND model = 'anchored-model'`).then(() => undefined), ops: ['update'], anchored: 0, scans: 1, invalidated: 2 }
    ]
    try {
      for (const [i, step] of steps.entries()) {
        await step.change()
        expect({ i, ...(await both(at(step.ops))) }).toEqual({ i, anchored: step.anchored, scans: step.scans, invalidated: step.invalidated })
      }
    } finally {
      // The next tests count on the lowest id being the store's own.
      await w.run(`DELETE FROM llm_requests WHERE id = -5`)
    }
  })

  it('a live session read version after version prepares its queries once (new rows are a parameter, not new SQL)', async () => {
    // As PersptStore reads: through the statement cache of the copy now open.
    const cache = new StatementCache(con)
    cache.use('store')
    const at = contexts(3000)
    const page = (ctx: ReturnType<typeof at>) => readLlmRows(cache.connection, probe, VIEWS_MAIN, { offset: 0, limit: 50, sort: 'time', dir: 'desc' }, ctx)
    const prepared: number[] = []
    try {
      for (let v = 0; v < 8; v++) {
        await append(1 + Math.floor(rand() * 4))
        const ctx = at(v === 0 ? null : ['insert'])
        const [summary] = await Promise.all([readLlmSummary(cache.connection, probe, VIEWS_MAIN, ctx), readLlmSeries(cache.connection, probe, VIEWS_MAIN, ctx)])
        await page(ctx)
        expect(summary.requests).toBe((await sqlSummary()).total.requests)
        prepared.push(cache.stats().prepared)
      }
      // The first versions prepare the reads a live session makes (a first read, then the incremental
      // ones); after that every version reuses them.
      expect(prepared.slice(3), prepared.join()).toEqual(Array(5).fill(prepared[2]))
      expect(cache.stats().reused).toBeGreaterThan(10)
    } finally {
      cache.clear()
    }
  })

  it('an UPDATE or DELETE of old rows is noticed: read in full, still equal to SQL', async () => {
    await readLlmSummary(con, probe, VIEWS_MAIN)
    await readLlmSeries(con, probe, VIEWS_MAIN)
    const before = llmMemoStats()
    await w.run(`UPDATE llm_requests SET latency_ms = 99999 WHERE session_id = '${VIEWS_MAIN}' AND id = (SELECT min(id) FROM llm_requests WHERE session_id = '${VIEWS_MAIN}')`)
    await expectSummaryIsSql()
    expect(await readLlmSeries(con, probe, VIEWS_MAIN)).toEqual(await freshSeries())
    expect(llmMemoStats().invalidated - before.invalidated).toBe(2)
    await w.run(`DELETE FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND id = (SELECT min(id) + 3 FROM llm_requests WHERE session_id = '${VIEWS_MAIN}')`)
    await expectSummaryIsSql()
    expect(await readLlmSeries(con, probe, VIEWS_MAIN)).toEqual(await freshSeries())
    expect(llmMemoStats().invalidated - before.invalidated).toBe(4)
  })

  it('a different file under the same connection (a replaced store) is read in full', async () => {
    await readLlmSummary(con, probe, VIEWS_MAIN)
    await readLlmSeries(con, probe, VIEWS_MAIN)
    const before = llmMemoStats()
    // The other file has the same session with fewer rows and then more, with the same ids.
    await w.run(`ATTACH '${other}' AS other_store`)
    await w.run(`INSERT INTO other_store.llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp)
      SELECT session_id, node_id, model, prompt, response, tokens_in + 1, tokens_out, latency_ms + 7, timestamp FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND id > 300`)
    await con.run('USE other_store')
    try {
      await expectSummaryIsSql('other_store.')
      const fresh = await instance.connect()
      await fresh.run('USE other_store')
      const truth = await readLlmSeries(fresh, probe, VIEWS_MAIN)
      fresh.closeSync()
      expect(await readLlmSeries(con, probe, VIEWS_MAIN)).toEqual(truth)
      expect(llmMemoStats().invalidated - before.invalidated).toBe(2)
    } finally {
      await con.run('USE store')
      await w.run('DETACH other_store')
    }
    await expectSummaryIsSql()
  })

  it('a session with estimated tokens is always read in full', async () => {
    await w.run(`UPDATE llm_requests SET tokens_in = 0 WHERE session_id = '${VIEWS_MAIN}' AND id % 9 = 0`)
    const before = llmMemoStats()
    const s = await readLlmSummary(con, probe, VIEWS_MAIN)
    await readLlmSeries(con, probe, VIEWS_MAIN)
    await append(3)
    await readLlmSummary(con, probe, VIEWS_MAIN)
    await readLlmSeries(con, probe, VIEWS_MAIN)
    const after = llmMemoStats()
    expect(after.incremental).toBe(before.incremental)
    expect(after.full - before.full).toBe(4)
    const [truth] = (
      await w.runAndReadAll(
        `SELECT sum(CASE WHEN coalesce(tokens_in, 0) > 0 THEN tokens_in ELSE (strlen(prompt) + 3) // 4 END)::DOUBLE AS t_in
         FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND id <= (SELECT max(id) - 3 FROM llm_requests WHERE session_id = '${VIEWS_MAIN}')`
      )
    ).getRowObjectsJS()
    expect(s.tokensIn).toBe(truth!.t_in)
  })
})
