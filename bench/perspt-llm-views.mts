// Issue 17 item 1: what the session's LLM page costs per new snapshot as the session grows. One session
// whose llm_requests grows to 2k, 10k and 26k rows of 20 KB prompts (the pace bench's shape: the bulk
// checkpointed, each step's newest rows in the WAL). At each size, rounds of: a writer commits 30 rows,
// the store takes a new snapshot, and each query the LLM page sends on that version is timed through
// VigilService (the per-version result cache is new, so this is the real per-version cost):
// llm_summary, llm_rows (newest 100, the page's default window), llm_series (the charts). For the
// figures before a change, run the same file in a checkout of the older commit (VIGIL_LLM_CODE=before).
// VIGIL_LLM_EXPLAIN=1 also prints EXPLAIN ANALYZE of the SQL those reads run at the largest size (stderr).
// One JSON line per query and size.
import { DuckDBInstance } from '@duckdb/node-api'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { VigilService } from '../src/main/core/vigil-service'
import type { PersptStore } from '../src/main/perspt/perspt-store'
import { buildStore } from '../test/fixtures/perspt-fixtures'
import { report } from './stats.mjs'

const SID = 'llm-bench-session'
const SIZES = (process.env.VIGIL_LLM_SIZES ?? '2000,10000,26000').split(',').map(Number)
const ROUNDS = Number(process.env.VIGIL_LLM_ROUNDS ?? 12)
const PER_VERSION = 30
const log = (m: string) => process.stderr.write(`perspt-llm-views: ${m}\n`)

/** Rows [from, to): 20 KB prompts that do not compress to nothing, 3 models, some NULL latencies. */
const insertSql = (from: number, to: number) => `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp)
  SELECT '${SID}', 'task_' || (i % 7), 'model-' || (i % 3), repeat(md5(i::VARCHAR), 625), 'response ' || i, 5000 + i % 97, 100 + i % 50,
    CASE WHEN i % 50 = 0 THEN NULL ELSE 200 + (i * 37) % 3000 END,
    TIMESTAMP '2026-12-04 10:00:00' + to_seconds(i / 30.0)
  FROM range(${from}, ${to}) t(i)`

/** Waits until the store's latest version counts `rows` requests in the session (its watcher refreshes it). */
async function untilCounted(store: PersptStore, rows: number): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const list = store.status().state === 'ready' ? await store.listSessions().catch(() => []) : []
    if (list.find((s) => s.sessionId === SID)?.llmRequests === rows) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`the store never counted ${rows} requests`)
}

/** Which code ran (VIGIL_LLM_CODE, e.g. "before" in a checkout of 499b20d), and its memo counters if any. */
const CODE = process.env.VIGIL_LLM_CODE ?? 'current'
async function memoStats(): Promise<unknown> {
  try {
    const mod = (await import('../src/main/perspt/views/llm-memo')) as { llmMemoStats?: () => unknown }
    return mod.llmMemoStats?.() ?? null
  } catch {
    return null
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-llm-bench-'))
  const db = join(work, 'perspt.db')
  await buildStore(db, { generation: 23, sessions: [{ id: SID, status: 'RUNNING', createdAt: '2026-12-04 10:00:00' }] })
  const writer = await DuckDBInstance.create(db, { checkpoint_threshold: '1GB' })
  const con = await writer.connect()
  const service = new VigilService({ mode: 'web', version: 'bench', tmpRoot: join(work, 'svc') })
  let n = 0
  try {
    const source = service.registry.addStore(db, 'flag')
    const store = service.registry.store(source.id)
    for (const size of SIZES) {
      // The bulk checkpointed (an agent's earlier checkpoints), the newest rows in the WAL.
      if (size - 600 > n) {
        await con.run(insertSql(n, size - 600))
        await con.run('CHECKPOINT')
        n = size - 600
      }
      await con.run(insertSql(n, size))
      n = size
      const samples: Record<string, number[]> = { llm_summary: [], llm_rows: [], llm_series: [], page_total: [] }
      for (let round = 0; round < ROUNDS; round++) {
        await con.run(insertSql(n, n + PER_VERSION))
        n += PER_VERSION
        await untilCounted(store, n)
        // Queries wait behind a refresh in progress: start timing once the store is idle.
        await store.query(`idle-${n}`, async () => null)
        // The page's three requests on a new version, one after the other (they share one queue).
        const t0 = performance.now()
        const t = async (name: string, fn: () => Promise<unknown>) => {
          const s = performance.now()
          await fn()
          samples[name]!.push(performance.now() - s)
        }
        await t('llm_summary', () => service.getLlmSummary(source.id, SID))
        await t('llm_rows', () => service.getLlmRows(source.id, SID, { offset: 0, limit: 100, sort: 'time', dir: 'desc' }))
        await t('llm_series', () => service.getLlmSeries(source.id, SID))
        samples.page_total!.push(performance.now() - t0)
      }
      const [load1] = loadavg()
      const memo = await memoStats()
      for (const [name, values] of Object.entries(samples)) report(`perspt.llm_page.${name}`, 'ms', values, { rows: n, load1: Math.round(load1! * 100) / 100, code: CODE, memo })
      if (process.env.VIGIL_LLM_EXPLAIN === '1' && size === SIZES[SIZES.length - 1]) await explain(db, work)
    }
  } finally {
    await service.close()
    con.closeSync()
    writer.closeSync()
    rmSync(work, { recursive: true, force: true })
  }
}

/** EXPLAIN ANALYZE of the page's SQL on a read-only copy (stderr): which operators read the prompts. */
async function explain(db: string, work: string): Promise<void> {
  const { copyFileSync } = await import('node:fs')
  const copy = join(work, 'explain.db')
  copyFileSync(db, copy)
  try {
    copyFileSync(`${db}.wal`, `${copy}.wal`)
  } catch {
    // no WAL
  }
  const inst = await DuckDBInstance.create(copy, { access_mode: 'READ_ONLY' })
  const c = await inst.connect()
  await c.run(`PRAGMA enable_profiling = 'query_tree'`)
  const { probeSchema } = await import('../src/main/perspt/store-reader')
  const { readLlmRows, readLlmSummary } = await import('../src/main/perspt/views/llm')
  const { readLlmSeries } = await import('../src/main/perspt/views/chart-series')
  const probe = await probeSchema(c)
  const wrap = {
    runAndReadAll: async (sql: string, params?: unknown) => {
      const r = await c.runAndReadAll(`EXPLAIN ANALYZE ${sql}`, params as never)
      log(`--- ${sql.slice(0, 160).replace(/\s+/g, ' ')}\n${String(r.getRowObjectsJS()[0]?.explain_value ?? '')}`)
      return c.runAndReadAll(sql, params as never)
    }
  } as unknown as typeof c
  await readLlmSummary(wrap, probe, SID)
  await readLlmRows(wrap, probe, SID, { offset: 0, limit: 100, sort: 'time', dir: 'desc' })
  await readLlmSeries(wrap, probe, SID)
  c.closeSync()
  inst.closeSync()
}

export async function run(): Promise<void> {
  await main()
  log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
