import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { ApiError } from '../../../src/shared/api/errors'
import type { LlmRequestRow, LlmRowsQuery } from '../../../src/shared/model/perspt-views'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import { schemaStatements } from '../../../src/main/perspt/schema'
import type { SchemaGeneration } from '../../../src/main/perspt/schema'
import { probeSchema } from '../../../src/main/perspt/store-reader'
import type { SchemaProbe } from '../../../src/main/perspt/store-reader'
import { boundedPreview, readLlmRequest, readLlmRows, readLlmSummary } from '../../../src/main/perspt/views/llm'
import { llmMemoStats } from '../../../src/main/perspt/views/llm-memo'
import {
  MULTIBYTE,
  VIEWS_EMPTY,
  VIEWS_ESTIMATED,
  VIEWS_INJECTION,
  VIEWS_MAIN,
  VIEWS_MODELS,
  VIEWS_NEEDLE,
  VIEWS_OTHER,
  buildViewsStore,
  copyStore,
  viewsLlmRow
} from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-views-llm-'))
const N = 240

interface Opened {
  con: DuckDBConnection
  probe: SchemaProbe
  close(): void
}

async function open(path: string): Promise<Opened> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  return {
    con,
    probe: await probeSchema(con),
    close() {
      con.closeSync()
      instance.closeSync()
    }
  }
}

async function sql<T = Record<string, unknown>>(con: DuckDBConnection, q: string): Promise<T[]> {
  return (await con.runAndReadAll(q)).getRowObjectsJS() as T[]
}

const stores = new Map<SchemaGeneration, Opened>()
beforeAll(async () => {
  for (const generation of [4, 23] as const) {
    const path = join(dir, `views-${generation}.db`)
    await buildViewsStore(path, { generation, llmRequests: N })
    stores.set(generation, await open(path))
  }
})
afterAll(() => {
  for (const s of stores.values()) s.close()
  rmSync(dir, { recursive: true, force: true })
})
const store = (g: SchemaGeneration = 23) => stores.get(g) as Opened

/** Every row of the main session in one window (the test fixture is small enough). */
async function all(query: Partial<LlmRowsQuery> = {}, g: SchemaGeneration = 23): Promise<LlmRequestRow[]> {
  const { con, probe } = store(g)
  const page = await readLlmRows(con, probe, VIEWS_MAIN, { offset: 0, limit: 2000, ...query })
  expect(page.rows).toHaveLength(page.total)
  return page.rows
}

describe('readLlmSummary', () => {
  it.each([4, 23] as const)('totals, percentiles and per-model numbers equal direct SQL (generation %i)', async (g) => {
    const { con, probe } = store(g)
    const s = await readLlmSummary(con, probe, VIEWS_MAIN)
    const [expected] = await sql<Record<string, number>>(
      con,
      `SELECT count(*)::INTEGER AS n, sum(tokens_in)::INTEGER AS t_in, sum(tokens_out)::INTEGER AS t_out,
         sum(latency_ms)::INTEGER AS lat, quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95
       FROM llm_requests WHERE session_id = '${VIEWS_MAIN}'`
    )
    expect(s.requests).toBe(N)
    expect(s).toMatchObject({
      requests: expected!.n,
      tokensIn: expected!.t_in,
      tokensOut: expected!.t_out,
      latencyMsTotal: expected!.lat,
      tokensEstimated: false
    })
    expect(s.latencyP50).toBeCloseTo(expected!.p50!, 1)
    expect(s.latencyP95).toBeCloseTo(expected!.p95!, 1)

    const perModel = await sql<Record<string, number | string>>(
      con,
      `SELECT model, count(*)::INTEGER AS n, sum(tokens_in)::INTEGER AS t_in, sum(latency_ms)::INTEGER AS lat,
         quantile_cont(latency_ms, 0.95) AS p95
       FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' GROUP BY model`
    )
    expect(s.perModel.map((m) => m.model).sort()).toEqual([...VIEWS_MODELS].sort())
    for (const m of s.perModel) {
      const e = perModel.find((x) => x.model === m.model)!
      expect(m.requests).toBe(e.n)
      expect(m.tokensIn).toBe(e.t_in)
      expect(m.latencyMsTotal).toBe(e.lat)
      expect(m.latencyP95).toBeCloseTo(e.p95 as number, 1)
    }
    expect(s.perModel.reduce((a, m) => a + m.requests, 0)).toBe(N)
  })

  it('estimates tokens as (UTF-8 bytes + 3) div 4 and flags it when every raw count is 0', async () => {
    const { con, probe } = store()
    const s = await readLlmSummary(con, probe, VIEWS_ESTIMATED)
    const bytes = Buffer.byteLength(MULTIBYTE, 'utf8')
    expect(s.requests).toBe(2)
    expect(s.tokensEstimated).toBe(true)
    expect(s.tokensIn).toBe(Math.floor((bytes + 3) / 4) + 0)
    expect(s.tokensOut).toBe(Math.floor((2 + 3) / 4) + 0)
    expect(s.perModel[0]).toMatchObject({ model: 'test-model', tokensEstimated: true })
  })

  it('is empty, not an error, for a session without requests', async () => {
    const { con, probe } = store()
    const s = await readLlmSummary(con, probe, VIEWS_EMPTY)
    expect(s).toMatchObject({ requests: 0, tokensIn: 0, latencyP50: null, latencyP95: null, tokensEstimated: false, perModel: [] })
  })

  it('never counts another session', async () => {
    const { con, probe } = store()
    const other = await readLlmSummary(con, probe, VIEWS_OTHER)
    expect(other).toMatchObject({ requests: 30, tokensIn: 210, tokensOut: 90 })
    expect(other.perModel.map((m) => m.model)).toEqual(['other-model'])
  })
})

describe('readLlmRows', () => {
  it('returns exactly the requested window with the total, in time order by default', async () => {
    const { con, probe } = store()
    const page = await readLlmRows(con, probe, VIEWS_MAIN, { offset: 50, limit: 25 })
    expect(page.total).toBe(N)
    expect(page.offset).toBe(50)
    expect(page.rows).toHaveLength(25)
    // Insertion order = time order here, ties on time broken by id.
    const ids = (await sql<{ id: number }>(con, `SELECT id FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' ORDER BY timestamp, id LIMIT 25 OFFSET 50`)).map((r) => r.id)
    expect(page.rows.map((r) => r.id)).toEqual(ids)
    const r = page.rows[0]!
    const src = viewsLlmRow(50)
    expect(r).toMatchObject({ model: src.model, nodeId: null, tokensIn: src.tokensIn, tokensOut: src.tokensOut, latencyMs: src.latency })
    expect(r.at).toBe(new Date(Date.parse('2026-05-03T10:00:00Z') + src.second * 1000).toISOString())
    expect(page.rows[1]!.nodeId).toBe('task_4')
  })

  it('an offset past the end gives no rows but the total', async () => {
    const { con, probe } = store()
    expect(await readLlmRows(con, probe, VIEWS_MAIN, { offset: N + 10, limit: 10 })).toEqual({ total: N, offset: N + 10, rows: [] })
  })

  it.each(['time', 'model', 'node', 'tokensIn', 'tokensOut', 'latency'] as const)(
    'windows sorted by %s tile the whole sorted list: no overlap, no gap, stable',
    async (sort) => {
      const { con, probe } = store()
      for (const dir of ['asc', 'desc'] as const) {
        const whole = await all({ sort, dir })
        const again = await all({ sort, dir })
        expect(again.map((r) => r.id)).toEqual(whole.map((r) => r.id))
        const tiled: number[] = []
        for (let offset = 0; offset < N; offset += 37) {
          const page = await readLlmRows(con, probe, VIEWS_MAIN, { offset, limit: 37, sort, dir })
          tiled.push(...page.rows.map((r) => r.id))
        }
        expect(tiled).toEqual(whole.map((r) => r.id))
        expect(new Set(tiled).size).toBe(N)
        // Sorted by the key, ties by id in the same direction; missing nodes last.
        const key = (r: LlmRequestRow): string | number | null =>
          ({ time: r.at, model: r.model, node: r.nodeId, tokensIn: r.tokensIn, tokensOut: r.tokensOut, latency: r.latencyMs })[sort]
        const sign = dir === 'asc' ? 1 : -1
        for (let i = 1; i < whole.length; i++) {
          const a = whole[i - 1]!
          const b = whole[i]!
          const ka = key(a)
          const kb = key(b)
          if (ka === kb) expect(Math.sign(b.id - a.id)).toBe(sign)
          else if (kb === null) continue
          else {
            expect(ka).not.toBeNull()
            expect((ka! < kb ? -1 : 1) * sign).toBe(-1)
          }
        }
      }
    }
  )

  it('filters by model and node, exactly like SQL', async () => {
    const { con } = store()
    const byModel = await all({ model: 'claude-sonnet' })
    const [m] = await sql<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND model = 'claude-sonnet'`)
    expect(byModel).toHaveLength(m!.n)
    expect(byModel.every((r) => r.model === 'claude-sonnet')).toBe(true)

    const byNode = await all({ nodeId: 'task_2' })
    const [n] = await sql<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND node_id = 'task_2'`)
    expect(byNode).toHaveLength(n!.n)
    expect(byNode.every((r) => r.nodeId === 'task_2')).toBe(true)

    const both = await all({ nodeId: 'task_2', model: 'gpt-4o', sort: 'latency', dir: 'desc' })
    expect(both.length).toBeGreaterThan(0)
    expect(both.every((r) => r.nodeId === 'task_2' && r.model === 'gpt-4o')).toBe(true)
  })

  it('searches prompt, response, model and node case-insensitively, only in this session', async () => {
    expect((await all({ search: VIEWS_NEEDLE.toLowerCase() })).map((r) => r.id)).toHaveLength(1)
    expect((await all({ search: 'ünïcode' })).map((r) => r.promptPreview)).toEqual([`Find the ${VIEWS_NEEDLE} here`])
    expect(await all({ search: 'RESPONSE 17 —' })).toHaveLength(1)
    expect((await all({ search: 'LLAMA' })).every((r) => r.model === 'llama-3')).toBe(true)
    expect((await all({ search: 'TASK_3' })).every((r) => r.nodeId === 'task_3' || /task_3/i.test(r.promptPreview))).toBe(true)
    expect(await all({ search: 'other session secret' })).toHaveLength(0)
  })

  it('treats search text as data: injection attempts and LIKE wildcards are harmless', async () => {
    const { con, probe } = store()
    for (const search of ["' OR 1=1 --", "'); DROP TABLE llm_requests; --", '%', '_', '\\', '$1', '"', ';']) {
      const page = await readLlmRows(con, probe, VIEWS_MAIN, { offset: 0, limit: 10, search })
      expect(page.total, search).toBeLessThan(N)
    }
    const hit = await all({ search: VIEWS_INJECTION })
    expect(hit.map((r) => r.promptPreview)).toEqual([VIEWS_INJECTION])
    expect(await all({ model: "' OR ''='" })).toHaveLength(0)
    expect(await all({ nodeId: "x' OR 1=1 --" })).toHaveLength(0)
    const [still] = await sql<{ n: number }>(con, 'SELECT count(*)::INTEGER AS n FROM llm_requests')
    expect(still!.n).toBe(N + 30 + 2)
  })

  it('previews are at most 160 characters, cut on a character boundary, from a bounded prefix', async () => {
    const rows = await all()
    const byIndex = (i: number) => rows[i]!
    for (const r of rows) {
      for (const p of [r.promptPreview, r.responsePreview]) {
        expect(Array.from(p).length).toBeLessThanOrEqual(160)
        expect(p).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/)
        expect(p).not.toContain('\uFFFD')
        // Round-trips through UTF-8 unchanged: no split sequence.
        expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p)
      }
    }
    // Byte 150 inside "é" (Perspt's panic): fine here.
    const r3 = byIndex(3)
    expect(r3.promptPreview).toBe(`${'a'.repeat(149)}é and then…`)
    expect(r3.promptPreview.endsWith('…')).toBe(true)
    expect(Array.from(r3.promptPreview)).toHaveLength(160)
    // A surrogate pair straddles the cut: the whole emoji stays or goes.
    const r5 = byIndex(5)
    expect(r5.promptPreview).toBe(`${'x'.repeat(158)}🚀…`)
    expect(r5.promptChars).toBe(158 + 3 + 5)
    expect(r5.responsePreview).toBe(`${'日本語'.repeat(53)}…`)
    expect(r5.responseChars).toBe(240)
    // Longer than the SQL prefix: still marked as cut.
    const r7 = byIndex(7)
    expect(r7.promptChars).toBe(Array.from(`${MULTIBYTE} `.repeat(60)).length)
    expect(r7.promptPreview.endsWith('…')).toBe(true)
    // Whitespace collapses; a text running past the prefix is marked cut even when the preview is short.
    const r9 = byIndex(9)
    expect(r9.promptPreview.endsWith('…')).toBe(true)
    expect(r9.promptPreview.startsWith('word word')).toBe(true)
    expect(byIndex(0).promptPreview).toBe('Prompt 0: implement step 0')
  })

  it('reads nothing for a session without requests or an unknown session', async () => {
    const { con, probe } = store()
    expect(await readLlmRows(con, probe, VIEWS_EMPTY, { offset: 0, limit: 50 })).toEqual({ total: 0, offset: 0, rows: [] })
    expect(await readLlmRows(con, probe, 'no-such-session', { offset: 0, limit: 50 })).toEqual({ total: 0, offset: 0, rows: [] })
  })

  it('works the same on the oldest generation (4 tables)', async () => {
    const a = await all({ sort: 'tokensOut', dir: 'desc' }, 4)
    const b = await all({ sort: 'tokensOut', dir: 'desc' }, 23)
    expect(a.map((r) => [r.tokensOut, r.promptPreview])).toEqual(b.map((r) => [r.tokensOut, r.promptPreview]))
  })
})

describe('readLlmRequest', () => {
  it('returns the full texts on demand', async () => {
    const { con, probe } = store()
    const rows = await all()
    const r = await readLlmRequest(con, probe, VIEWS_MAIN, rows[7]!.id)
    expect(r.prompt).toBe(viewsLlmRow(7).prompt)
    expect(r.response).toBe(viewsLlmRow(7).response)
    expect(r.id).toBe(rows[7]!.id)
  })

  it('is not-found for an unknown id or one of another session', async () => {
    const { con, probe } = store()
    const [other] = await sql<{ id: number }>(con, `SELECT id FROM llm_requests WHERE session_id = '${VIEWS_OTHER}' LIMIT 1`)
    for (const [sid, id] of [
      [VIEWS_MAIN, other!.id],
      [VIEWS_MAIN, 999_999],
      ['no-such-session', 1],
      [VIEWS_MAIN, -1]
    ] as const) {
      const err = await readLlmRequest(con, probe, sid, id).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ApiError)
      expect((err as ApiError).code).toBe('not-found')
    }
  })

  it('is not-found when the store has no llm_requests table', async () => {
    const { con, probe } = store()
    const without = { ...probe, tables: new Set([...probe.tables].filter((t) => t !== 'llm_requests')), columns: new Map([...probe.columns].filter(([t]) => t !== 'llm_requests')) }
    await expect(readLlmRequest(con, without, VIEWS_MAIN, 1)).rejects.toMatchObject({ code: 'not-found' })
    expect(await readLlmRows(con, without, VIEWS_MAIN, { offset: 0, limit: 5 })).toEqual({ total: 0, offset: 0, rows: [] })
    expect((await readLlmSummary(con, without, VIEWS_MAIN)).requests).toBe(0)
  })
})

describe('boundedPreview', () => {
  it('marks a text cut when it continues past the fetched prefix', () => {
    expect(boundedPreview('short', false)).toBe('short')
    // The characters after the prefix show it ends on a boundary: nothing is dropped.
    expect(boundedPreview('short', true, 160, ' and more')).toBe('short…')
    // Unknown continuation: the last cluster may be incomplete (a combining mark may follow), so it goes.
    expect(boundedPreview('short', true)).toBe('shor…')
    expect(boundedPreview('cafe', true, 160, '\u0301 ok')).toBe('caf…')
    expect(Array.from(boundedPreview('🚀'.repeat(160), true))).toHaveLength(160)
    expect(boundedPreview('🚀'.repeat(160), true).endsWith('🚀…')).toBe(true)
  })
})

describe('against the simulator', () => {
  it('summary and windows agree with SQL on a realistic store', async () => {
    const sdir = mkdtempSync(join(dir, 'sim-'))
    const path = join(sdir, 'perspt.db')
    const sim = new PersptSimulator({ path, tickMs: 0, seed: 5, now: () => Date.parse('2026-06-15T12:00:00Z') })
    await sim.start()
    const copy = join(sdir, 'copy.db')
    try {
      copyStore(path, copy)
    } finally {
      await sim.stop()
    }
    const o = await open(copy)
    try {
      const sessions = await sql<{ sid: string; n: number; t_in: number; lat: number }>(
        o.con,
        `SELECT session_id AS sid, count(*)::INTEGER AS n, sum(tokens_in)::INTEGER AS t_in, sum(latency_ms)::INTEGER AS lat
         FROM llm_requests GROUP BY session_id`
      )
      expect(sessions.length).toBeGreaterThanOrEqual(5)
      for (const e of sessions) {
        const s = await readLlmSummary(o.con, o.probe, e.sid)
        expect(s).toMatchObject({ requests: e.n, tokensIn: e.t_in, latencyMsTotal: e.lat, tokensEstimated: false })
        const page = await readLlmRows(o.con, o.probe, e.sid, { offset: 0, limit: 2000, sort: 'latency', dir: 'desc' })
        expect(page.total).toBe(e.n)
        expect(page.rows.map((r) => r.latencyMs)).toEqual([...page.rows.map((r) => r.latencyMs)].sort((a, b) => (b ?? -1) - (a ?? -1)))
        const withText = page.rows.find((r) => r.promptChars > 0)
        if (withText) {
          const full = await readLlmRequest(o.con, o.probe, e.sid, withText.id)
          expect(Array.from(full.prompt)).toHaveLength(withText.promptChars)
          expect(full.prompt).toContain(MULTIBYTE)
        }
      }
    } finally {
      o.close()
    }
  })
})

describe('the first page by time, sorted from the summary\'s read', () => {
  it('equals the SQL window: times equal to the millisecond, NULL times, ids out of time order, negative ids', async () => {
    const instance = await DuckDBInstance.create(':memory:')
    const con = await instance.connect()
    try {
      for (const stmt of schemaStatements(23)) await con.run(stmt)
      await con.run(`INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, created_at, updated_at, status)
        VALUES ('k', 't', '/w', ''::BLOB, '', TIMESTAMP '2026-06-15 09:00:00', TIMESTAMP '2026-06-15 09:00:00', 'COMPLETED')`)
      // 60 rows: ids scrambled against time, 4 rows per millisecond (µs apart: equal keys), every 7th without a time.
      await con.run(`INSERT INTO llm_requests (id, session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp)
        SELECT (i * 37) % 61 - 20, 'k', 'n', 'm', 'p', 'r', 1, 1, 10,
               CASE WHEN i % 7 = 0 THEN NULL ELSE TIMESTAMP '2026-06-15 09:00:00' + to_microseconds((i % 15) * 250) END
        FROM range(60) r(i)`)
      const probe = await probeSchema(con)
      let version = 0
      for (const dir of ['asc', 'desc'] as const) {
        for (const limit of [5, 23, 100]) {
          // A connection of its own: memos and kept pages are per connection (a session's first read).
          const fresh = await instance.connect()
          const ctx = { perVersion: new Map<string, unknown>(), version: ++version, changesSince: () => null }
          const before = llmMemoStats().timeKeyed
          await readLlmSummary(fresh, probe, 'k', ctx)
          const got = await readLlmRows(fresh, probe, 'k', { offset: 0, limit, sort: 'time', dir }, ctx)
          fresh.closeSync()
          expect(llmMemoStats().timeKeyed - before, `${dir} ${limit}`).toBe(1)
          expect(got, `${dir} ${limit}`).toEqual(await readLlmRows(con, probe, 'k', { offset: 0, limit, sort: 'time', dir }))
        }
      }
    } finally {
      con.closeSync()
      instance.closeSync()
    }
  })
})
