// Issue 3 figures on the big store: time to first data per view, snapshot refresh cost as the WAL grows
// vs as the file grows, and main-process RSS. One JSON line per measurement.
import { DuckDBInstance } from '@duckdb/node-api'
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VigilService } from '../src/main/core/vigil-service'
import { PersptStore } from '../src/main/perspt/perspt-store'
import { StoreSnapshotter } from '../src/main/perspt/snapshot'
import { PersptSimulator } from '../src/main/demo/perspt-simulator'
import { bigStorePath } from './perspt-big-store'
import { report } from './stats.mjs'

const log = (m: string) => process.stderr.write(`perspt-views: ${m}\n`)

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now()
  const value = await fn()
  return [performance.now() - t0, value]
}

async function waitReady(store: PersptStore): Promise<void> {
  for (let i = 0; i < 200 && store.status().state !== 'ready'; i++) await store.refresh()
  if (store.status().state !== 'ready') throw new Error(`store not ready: ${JSON.stringify(store.status().problem)}`)
}

async function overview(path: string, work: string): Promise<void> {
  const firstData: number[] = []
  const copy: number[] = []
  for (let i = 0; i < 5; i++) {
    const snap = new StoreSnapshotter({ sourcePath: path, tmpRoot: mkdtempSync(join(work, 'snap-')) })
    copy.push((await time(() => snap.refresh()))[0])
    await snap.dispose()
    const store = new PersptStore({ path, tmpRoot: mkdtempSync(join(work, 'ov-')) })
    const [ms] = await time(async () => {
      await waitReady(store)
      return store.listSessions()
    })
    firstData.push(ms)
    await store.close()
  }
  report('perspt.snapshot.full_copy', 'ms', copy, { bytes: statSync(path).size })
  report('perspt.view.overview.first_data', 'ms', firstData, { note: 'cold: full copy + open + every session' })
}

async function views(path: string, work: string): Promise<void> {
  const service = new VigilService({ mode: 'web', version: 'bench', tmpRoot: mkdtempSync(join(work, 'svc-')) })
  try {
    const source = service.registry.addStore(path, 'flag')
    await waitReady(service.registry.store(source.id))
    const sessions = await service.listSessions(source.id)
    // Overview after the store is open: what a refetch on each new snapshot costs (cached per version).
    const sample = sessions.filter((_, i) => i % Math.ceil(sessions.length / 20) === 0).slice(0, 20)
    const calls: Record<string, (sid: string) => Promise<unknown>> = {
      summary: (sid) => service.getSessionSummary(source.id, sid),
      dag: (sid) => service.getDag(source.id, sid),
      energy: (sid) => service.getEnergy(source.id, sid),
      llm_summary: (sid) => service.getLlmSummary(source.id, sid),
      llm_rows_first_window: (sid) => service.getLlmRows(source.id, sid, { offset: 0, limit: 100 }),
      llm_rows_deep_window_by_latency: (sid) =>
        service.getLlmRows(source.id, sid, { offset: 400, limit: 100, sort: 'latency', dir: 'desc' }),
      sandbox: (sid) => service.getSandbox(source.id, sid),
      decisions: (sid) => service.getDecisionTrace(source.id, sid)
    }
    for (const [name, call] of Object.entries(calls)) {
      await call(sessions[sessions.length - 1]!.sessionId) // warm the open copy, not the result cache
      const samples: number[] = []
      for (const s of sample) samples.push((await time(() => call(s.sessionId)))[0])
      report(`perspt.view.${name}.first_data`, 'ms', samples, { sessions: sessions.length })
    }
    report('perspt.main.rss_after_views', 'MiB', [process.memoryUsage().rss / 2 ** 20])
  } finally {
    await service.close()
  }
}

/** Refresh cost when only the WAL grows vs when the base file changes (checkpoint), on a store of `label` size. */
async function refreshCost(path: string, work: string, label: string): Promise<void> {
  const scratch = join(mkdtempSync(join(work, 'rw-')), 'perspt.db')
  copyFileSync(path, scratch)
  const writer = await DuckDBInstance.create(scratch)
  const con = await writer.connect()
  const store = new PersptStore({ path: scratch, tmpRoot: mkdtempSync(join(work, 'rf-')) })
  try {
    await waitReady(store)
    const snap = new StoreSnapshotter({ sourcePath: scratch, tmpRoot: mkdtempSync(join(work, 'rfs-')) })
    await snap.refresh()
    const walCopy: number[] = []
    const walRefresh: number[] = []
    const insert = (n: number) =>
      con.run(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms)
               SELECT (SELECT min(session_id) FROM sessions), 'n1', 'bench', 'p', 'r', 1, 1, 1 FROM range(${n})`)
    for (let i = 0; i < 10; i++) {
      await insert(20)
      walCopy.push((await time(() => snap.refresh()))[0])
      walRefresh.push((await time(() => store.refresh()))[0])
    }
    const fileCopy: number[] = []
    const fileRefresh: number[] = []
    for (let i = 0; i < 5; i++) {
      await insert(20)
      await con.run('CHECKPOINT')
      fileCopy.push((await time(() => snap.refresh()))[0])
      fileRefresh.push((await time(() => store.refresh()))[0])
    }
    await snap.dispose()
    const bytes = statSync(scratch).size
    report(`perspt.refresh.wal_grows.snapshot.${label}`, 'ms', walCopy, { bytes })
    report(`perspt.refresh.wal_grows.total.${label}`, 'ms', walRefresh, { bytes, note: 'snapshot + open + session list (changed sessions recomputed)' })
    report(`perspt.refresh.file_grows.snapshot.${label}`, 'ms', fileCopy, { bytes })
    report(`perspt.refresh.file_grows.total.${label}`, 'ms', fileRefresh, { bytes })
  } finally {
    await store.close()
    con.closeSync()
    writer.closeSync()
  }
}

export async function run(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-run-'))
  try {
    const big = await bigStorePath(log)
    const small = join(work, 'small.db')
    const sim = new PersptSimulator({ path: small, seed: 5 })
    await sim.start()
    await sim.stop()
    await overview(big, work)
    await views(big, work)
    await refreshCost(small, work, 'small')
    await refreshCost(big, work, 'big')
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
