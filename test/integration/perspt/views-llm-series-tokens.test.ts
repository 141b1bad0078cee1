// The LLM chart series reads texts only where Perspt's rule needs them (a raw count of 0 or NULL), yet
// so do the request windows sorted by tokens. Its tokens per bucket and model equal SQL's per-row rule computed over every row, texts included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { probeSchema, type SchemaProbe } from '../../../src/main/perspt/store-reader'
import { readLlmSeries } from '../../../src/main/perspt/views/chart-series'
import { readLlmRows } from '../../../src/main/perspt/views/llm'
import { VIEWS_MAIN, buildViewsStore } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-llm-series-'))
const path = join(dir, 'store.db')
let instance: DuckDBInstance
let con: DuckDBConnection
let probe: SchemaProbe

beforeAll(async () => {
  await buildViewsStore(path, { generation: 23, llmRequests: 300 })
  const rw = await DuckDBInstance.create(path)
  const w = await rw.connect()
  // Some counts missing (0 or NULL, in or out or both): those rows' tokens come from their texts.
  await w.run(`UPDATE llm_requests SET tokens_in = 0 WHERE session_id = '${VIEWS_MAIN}' AND id % 5 = 1`)
  await w.run(`UPDATE llm_requests SET tokens_out = NULL WHERE session_id = '${VIEWS_MAIN}' AND id % 7 = 2`)
  await w.run(`UPDATE llm_requests SET tokens_in = NULL, tokens_out = 0 WHERE session_id = '${VIEWS_MAIN}' AND id % 11 = 3`)
  w.closeSync()
  rw.closeSync()
  instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  con = await instance.connect()
  probe = await probeSchema(con)
})

afterAll(() => {
  con?.closeSync()
  instance?.closeSync()
  rmSync(dir, { recursive: true, force: true })
})

describe('readLlmSeries tokens', () => {
  it('per bucket and model equal the per-row rule over every row, estimates from the texts included', async () => {
    const s = await readLlmSeries(con, probe, VIEWS_MAIN)
    expect(s.bucketMs).toBeGreaterThan(0)
    const truth = (
      await con.runAndReadAll(
        `SELECT (${s.fromMs} + floor((epoch_ms(timestamp) - ${s.fromMs}) / ${s.bucketMs}) * ${s.bucketMs})::BIGINT AS b, model,
           sum(CASE WHEN coalesce(tokens_in, 0) > 0 THEN tokens_in ELSE (strlen(prompt) + 3) // 4 END)::BIGINT AS t_in,
           sum(CASE WHEN coalesce(tokens_out, 0) > 0 THEN tokens_out ELSE (strlen(response) + 3) // 4 END)::BIGINT AS t_out,
           count(*) FILTER (WHERE coalesce(tokens_in, 0) <= 0 OR coalesce(tokens_out, 0) <= 0)::INTEGER AS estimated
         FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND timestamp IS NOT NULL GROUP BY ALL`
      )
    ).getRowObjectsJS()
    // The store has estimated rows, so the second (text) query really ran.
    expect(truth.reduce((n, r) => n + (r.estimated as number), 0)).toBeGreaterThan(20)
    const perModel = s.points.filter((p) => p.model !== null)
    expect(perModel.length).toBe(truth.length)
    for (const r of truth) {
      const p = perModel.find((x) => x.t === Number(r.b) && x.model === r.model)
      expect(p, `bucket ${String(r.b)} ${String(r.model)}`).toBeDefined()
      expect(p!.tokensIn).toBe(Number(r.t_in))
      expect(p!.tokensOut).toBe(Number(r.t_out))
    }
    // The all-models point of each bucket is the sum of its models.
    for (const total of s.points.filter((p) => p.model === null)) {
      const models = perModel.filter((p) => p.t === total.t)
      expect(total.tokensIn).toBe(models.reduce((n, p) => n + p.tokensIn, 0))
      expect(total.tokensOut).toBe(models.reduce((n, p) => n + p.tokensOut, 0))
    }
  })

  it.each([
    ['tokensIn', 'tokens_in', 'prompt'],
    ['tokensOut', 'tokens_out', 'response']
  ] as const)('windows sorted by %s follow the per-row rule, estimated rows included', async (sort, col, text) => {
    const truth = (
      await con.runAndReadAll(
        `SELECT id, CASE WHEN coalesce(${col}, 0) > 0 THEN ${col} ELSE (strlen(${text}) + 3) // 4 END AS k
         FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' ORDER BY k DESC NULLS LAST, id DESC`
      )
    ).getRowObjectsJS()
    const got: Array<[number, number]> = []
    for (let offset = 0; offset < truth.length; offset += 70) {
      const page = await readLlmRows(con, probe, VIEWS_MAIN, { offset, limit: 70, sort, dir: 'desc' })
      expect(page.total).toBe(truth.length)
      for (const r of page.rows) got.push([r.id, r[sort]])
    }
    expect(got).toEqual(truth.map((r) => [Number(r.id), Number(r.k)]))
  })
})
