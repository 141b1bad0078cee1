// Issue 17, item 1: commit → visible for a Perspt store written by a busy agent in its own process
// (test/fixtures/perspt-pace-agent.mjs: one transaction per commit with a 20 KB prompt, no checkpoint).
//
// Phase "breakdown" (in-process PersptStore, the agent's WAL already holding VIGIL_PACE_PRELOAD commits):
// where one refresh spends its time (stat, liveness, snapshot copy, open + WAL replay, session read)
// and what the first view query after it costs (the views' own open of the copy).
// Phase "serve" (a real `vigil serve --db`, the agent at VIGIL_PACE_RATE commits/s for VIGIL_PACE_SECONDS,
// default 60; the note's run is 600): each commit's time → the first moment the API's session list
// counts it, found on every `store-updated` push (the page's refetch path). p50/p95/max per minute (per
// 10 s when the run is shorter than 3 minutes), the trend, and `vigil serve`'s CPU. Then the same at 1
// commit/s (VIGIL_PACE_SLOW_SECONDS, default 30). VIGIL_PACE_PHASES picks phases (breakdown,rate30,rate1);
// VIGIL_BENCH_BEFORE_ROOT runs the paced phases on another build first (before vs after in one run).
// With VIGIL_PACE_DOM (default on; 0 turns it off) the session's LLM page is open in Chromium and
// commit → DOM is reported too: the moment the page's "Requests" figure first shows the commit's count.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import { PersptStore } from '../src/main/perspt/perspt-store'
import { buildStore } from '../test/fixtures/perspt-fixtures'
import type { Browser, Page } from '@playwright/test'
import { cpuSeconds, epochNow, launchChromium, rpc, startServe, threadCpuSeconds } from './live-latency.mjs'
import { quantile, report } from './stats.mjs'

const root = join(import.meta.dirname, '..')
const log = (m: string) => process.stderr.write(`perspt-pace: ${m}\n`)
const SID = 'pace-session'
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback)

interface Agent {
  proc: ChildProcess
  commits: Map<number, number>
  ready: Promise<void>
  done: Promise<void>
  stop(): Promise<void>
}

function startAgent(db: string, rate: number, seconds: number, preload: number): Agent {
  const proc = spawn(process.execPath, [join(root, 'test/fixtures/perspt-pace-agent.mjs'), db, SID, String(rate), String(seconds), '20000', String(preload)], {
    stdio: ['pipe', 'pipe', 'inherit']
  })
  const commits = new Map<number, number>()
  let readyResolve!: () => void
  const ready = new Promise<void>((r) => (readyResolve = r))
  const done = new Promise<void>((r) => proc.once('exit', () => r()))
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (line === 'ready') readyResolve()
    const m = /^c (\d+) ([\d.]+)$/.exec(line)
    if (m) commits.set(Number(m[1]), Number(m[2]))
  })
  return {
    proc,
    commits,
    ready,
    done,
    async stop() {
      if (proc.exitCode === null) proc.stdin!.write('quit\n')
      await done
    }
  }
}

async function newStore(work: string): Promise<string> {
  const db = join(work, 'perspt.db')
  await buildStore(db, { generation: 23, sessions: [{ id: SID, status: 'RUNNING', createdAt: '2026-12-04 10:00:00' }] })
  return db
}

async function breakdown(work: string, preload: number): Promise<void> {
  const db = await newStore(work)
  const agent = startAgent(db, 30, 60, preload)
  await agent.ready
  const walMiB = statSync(`${db}.wal`).size / 2 ** 20
  const store = new PersptStore({ path: db, tmpRoot: join(work, 'breakdown-tmp') })
  const stages = new Map<string, number[]>()
  const add = (k: string, v: number) => stages.set(k, [...(stages.get(k) ?? []), v])
  let snapshots: ReturnType<PersptStore['snapshotStats']>
  try {
    // The first refresh is a full copy (the whole WAL replayed), reported apart; then wait for the
    // background base so the rest shows the steady state (tail snapshots).
    const c0 = performance.now()
    await store.refresh()
    report('perspt.pace.breakdown.first_full_refresh', 'ms', [performance.now() - c0], { preload, stages: store.lastTimings })
    for (let i = 0; i < 600 && (store.snapshotStats()?.bases ?? 0) === 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      await store.refresh()
    }
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 300))
      const t0 = performance.now()
      const cpu0 = process.cpuUsage()
      if (!(await store.refresh())) continue
      const refreshMs = performance.now() - t0
      const cpu = process.cpuUsage(cpu0)
      // This process's CPU during the refresh (a background fold or check running meanwhile included).
      add('refresh_cpu', (cpu.user + cpu.system) / 1000)
      const t1 = performance.now()
      await store.query(`probe-${i}`, (con) => con.runAndReadAll('SELECT count(*) FROM llm_requests'))
      add('view_first_query', performance.now() - t1)
      add('refresh_total', refreshMs)
      for (const [k, v] of Object.entries(store.lastTimings)) add(k, v)
    }
  } finally {
    snapshots = store.snapshotStats()
    await store.close()
    await agent.stop()
  }
  for (const [k, v] of stages) report(`perspt.pace.breakdown.${k}`, 'ms', v, { preload, walMiB: Math.round(walMiB), snapshots })
}

/** Notes when the LLM page's request count first reaches each value (page clock = epoch ms). */
const DOM_PROBE = `(() => {
  const seen = (window.__paceSeen = [])
  let last = -1
  const look = () => {
    const el = document.querySelector('[data-testid=llm-requests]')
    if (!el) return
    const n = Number((el.textContent || '').replace(/[^0-9]/g, ''))
    if (Number.isFinite(n) && n > last) {
      last = n
      seen.push([n, performance.timeOrigin + performance.now()])
    }
  }
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true })
})()`

async function openLlmPage(browser: Browser, url: string, storeId: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  await page.addInitScript({ content: DOM_PROBE })
  await page.goto(`${url}/#/store/${encodeURIComponent(storeId)}/session/${encodeURIComponent(SID)}/llm`)
  await page.getByTestId('llm-requests').waitFor({ timeout: 60_000 })
  return page
}

async function pace(work: string, label: string, rate: number, seconds: number, preload: number, root?: string): Promise<void> {
  const db = await newStore(work)
  // VIGIL_PACE_CPU_PROF=<folder>: a V8 CPU profile of vigil serve's main thread, written when it stops;
  // VIGIL_PACE_NODE_ARGS: more node options for it ("--import ./bench/duckdb-call-profile.mjs": where
  // DuckDB's time goes, by caller).
  const profDir = process.env.VIGIL_PACE_CPU_PROF
  const serve = await startServe({ root, args: ['--db', db], nodeArgs: [...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), ...(process.env.VIGIL_PACE_NODE_ARGS ?? '').split(' ').filter(Boolean)] })
  const browser = process.env.VIGIL_PACE_DOM === '0' ? null : await launchChromium()
  let page: Page | null = null
  const agent = startAgent(db, rate, seconds, preload)
  const visible = new Map<number, number>()
  let seen = 0
  let storeId: string | null = null
  let busy = false
  let again = false
  const check = async (): Promise<void> => {
    if (busy) {
      again = true
      return
    }
    busy = true
    try {
      do {
        again = false
        if (storeId === null) {
          const sources = await rpc<{ id: string; kind: string }[]>(serve.url, 'listSources')
          storeId = sources.find((s) => s.kind === 'store')?.id ?? null
          if (storeId === null) continue
        }
        const t = epochNow()
        const rows = await rpc<{ sessionId: string; llmRequests: number }[]>(serve.url, 'listSessions', storeId).catch(() => [])
        const n = (rows.find((r) => r.sessionId === SID)?.llmRequests ?? 0) - preload
        for (let k = seen + 1; k <= n; k++) visible.set(k, t)
        seen = Math.max(seen, n)
      } while (again)
    } finally {
      busy = false
    }
  }
  const ws = new WebSocket(`${serve.url.replace('http', 'ws')}/api/events`, { origin: serve.url })
  ws.on('message', (data) => {
    if (data.toString().startsWith('{"event":"store-updated"')) void check()
  })
  ws.on('error', () => undefined)
  try {
    await agent.ready
    await check()
    if (browser && storeId) page = await openLlmPage(browser, serve.url, storeId)
    const pid = serve.proc.pid!
    const cpu0 = cpuSeconds(pid)
    const threads0 = threadCpuSeconds(pid)
    // A diagnostic preload may count from here (SIGUSR2: the paced part starts).
    if (process.env.VIGIL_PACE_NODE_ARGS) serve.proc.kill('SIGUSR2')
    const t0 = epochNow()
    let walBytes = 0
    const walTimer = setInterval(() => (walBytes = Math.max(walBytes, statSync(`${db}.wal`, { throwIfNoEntry: false })?.size ?? 0)), 1000)
    const bucketMs = seconds >= 180 ? 60_000 : 10_000
    // vigil serve's CPU (share of one core) and the machine's load, per bucket of the latency report.
    const cpuPerBucket: number[] = []
    const loadPerBucket: number[] = []
    let lastCpu = cpu0
    const cpuTimer = setInterval(() => {
      const c = cpuSeconds(pid)
      cpuPerBucket.push(Math.round(((c - lastCpu) / (bucketMs / 1000)) * 1000) / 1000)
      loadPerBucket.push(loadavg()[0]!)
      lastCpu = c
    }, bucketMs)
    await agent.done
    clearInterval(walTimer)
    clearInterval(cpuTimer)
    const elapsed = (epochNow() - t0) / 1000
    const cpu = (cpuSeconds(pid) - cpu0) / elapsed
    // Which threads the CPU went to: the JS main thread ("node"), libuv's pool, DuckDB's, V8's.
    const byThread: Record<string, number> = {}
    for (const [name, s] of threadCpuSeconds(pid)) byThread[name] = Math.round(((s - (threads0.get(name) ?? 0)) / elapsed) * 1000) / 1000
    const total = agent.commits.size
    for (let i = 0; i < 100 && seen < total; i++) await new Promise((r) => setTimeout(r, 100))
    const domSeen = page ? ((await page.evaluate('window.__paceSeen')) as [number, number][]) : []
    const start = agent.commits.get(1) ?? t0
    const buckets = new Map<number, number[]>()
    const all: number[] = []
    let missing = 0
    for (const [n, at] of agent.commits) {
      const v = visible.get(n)
      if (v === undefined) {
        missing++
        continue
      }
      const lat = Math.max(0, v - at)
      all.push(lat)
      const b = Math.floor((at - start) / bucketMs)
      buckets.set(b, [...(buckets.get(b) ?? []), lat])
    }
    const p95s: number[] = []
    for (const [b, v] of [...buckets].sort((x, y) => x[0] - y[0])) {
      const line = report(`perspt.pace.${label}.commit_to_api.${bucketMs === 60_000 ? 'minute' : '10s'}_${b + 1}`, 'ms', v, {
        serveCpu: cpuPerBucket[b] ?? null,
        load1: loadPerBucket[b] ?? null
      })
      p95s.push(line.p95)
    }
    const half = Math.floor(p95s.length / 2)
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length)
    const sorted = [...all].sort((a, b) => a - b)
    report(`perspt.pace.${label}.commit_to_api`, 'ms', all, {
      rate,
      seconds,
      preload,
      commits: total,
      notVisible: missing,
      max: Math.round(sorted[sorted.length - 1] ?? NaN),
      p95FirstHalf: Math.round(mean(p95s.slice(0, half))),
      p95SecondHalf: Math.round(mean(p95s.slice(half))),
      walMiB: Math.round(walBytes / 2 ** 20),
      load1: loadavg()[0]
    })
    report(`perspt.pace.${label}.serve_cpu`, 'core', [cpu], { rate, perBucket: cpuPerBucket, bucketSeconds: bucketMs / 1000, byThread })
    if (page) {
      // Commit n is on the page from the first moment its count (preload + n) or more is shown.
      const dom: number[] = []
      const domBuckets = new Map<number, number[]>()
      let j = 0
      let domMissing = 0
      for (const [n, at] of [...agent.commits].sort((x, y) => x[0] - y[0])) {
        while (j < domSeen.length && domSeen[j]![0] < preload + n) j++
        if (j >= domSeen.length) {
          domMissing++
          continue
        }
        const lat = Math.max(0, domSeen[j]![1] - at)
        dom.push(lat)
        const b = Math.floor((at - start) / bucketMs)
        domBuckets.set(b, [...(domBuckets.get(b) ?? []), lat])
      }
      const domP95s: number[] = []
      for (const [b, v] of [...domBuckets].sort((x, y) => x[0] - y[0])) {
        domP95s.push(report(`perspt.pace.${label}.commit_to_dom.${bucketMs === 60_000 ? 'minute' : '10s'}_${b + 1}`, 'ms', v, { load1: loadPerBucket[b] ?? null }).p95)
      }
      const half2 = Math.floor(domP95s.length / 2)
      report(`perspt.pace.${label}.commit_to_dom`, 'ms', dom, {
        rate,
        seconds,
        notOnPage: domMissing,
        p95FirstHalf: Math.round(mean(domP95s.slice(0, half2))),
        p95SecondHalf: Math.round(mean(domP95s.slice(half2))),
        load1: loadavg()[0]
      })
    }
    log(`${label}: p50 ${quantile(sorted, 0.5).toFixed(0)} ms, p95 ${quantile(sorted, 0.95).toFixed(0)} ms, cpu ${(cpu * 100).toFixed(0)} %`)
  } finally {
    ws.close()
    await page?.close()
    await browser?.close()
    await agent.stop()
    await serve.stop()
  }
}

export async function run(): Promise<void> {
  const seconds = num('VIGIL_PACE_SECONDS', 60)
  const preload = num('VIGIL_PACE_PRELOAD', 8000)
  const phases = new Set((process.env.VIGIL_PACE_PHASES ?? 'breakdown,rate30,rate1').split(','))
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-pace-'))
  try {
    if (phases.has('breakdown')) {
      log(`breakdown with ${preload} commits in the WAL`)
      await breakdown(mkdtempSync(join(work, 'b-')), preload)
    }
    // VIGIL_BENCH_BEFORE_ROOT: each paced phase runs first on that build (label ….before), then on this
    // one (or on VIGIL_BENCH_ROOT), in the same run: before vs after under the same machine load.
    const builds: [string, string | undefined][] = [
      ...(process.env.VIGIL_BENCH_BEFORE_ROOT ? ([['.before', process.env.VIGIL_BENCH_BEFORE_ROOT]] as [string, string][]) : []),
      ['', process.env.VIGIL_BENCH_ROOT]
    ]
    for (const [suffix, root] of builds) {
      if (phases.has('rate30')) {
        log(`30 commits/s for ${seconds} s after ${preload} commits${suffix}`)
        await pace(mkdtempSync(join(work, 'fast-')), `rate30${suffix}`, num('VIGIL_PACE_RATE', 30), seconds, preload, root)
      }
      if (phases.has('rate1')) {
        log(`1 commit/s${suffix}`)
        await pace(mkdtempSync(join(work, 'slow-')), `rate1${suffix}`, 1, num('VIGIL_PACE_SLOW_SECONDS', 30), 0, root)
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
