// Live-stream latency in a real browser: a publisher pushes AgentEnsemble envelopes into the built
// `vigil serve`'s hub (/ingress) at a steady 1,000 events/s, the run's page is open in Chromium, and
// every 100 ms a marker (`task_completed` of task k) is sent. The page's MutationObserver notes when
// the run's progress ("k / N tasks") first shows k; send time → that moment is the latency.
//
// Both ends use performance.timeOrigin + performance.now() (epoch ms, same machine clock). The page is
// instrumented without touching Vigil's code: the /api/events socket is wrapped to time each
// `run-updated` frame, and Resource Timing gives every getRun fetch, so the latency splits into
//   send → push frame in the page (hub ingest, RunTracker, 100 ms coalescer, /api/events)
//   push frame → DOM (the renderer's getRun refetch, JSON, Svelte render).
//
// Env: VIGIL_LATENCY_SECONDS (measured window, default 40), VIGIL_LATENCY_RATE (events/s, default 1000),
// VIGIL_LATENCY_WARMUP_SECONDS (default 5), VIGIL_LATENCY_TRACE=path (write a Chromium trace of the window),
// VIGIL_LATENCY_CPUPROFILE=path (a V8 CPU profile of the page over the window, .cpuprofile for DevTools),
// VIGIL_LATENCY_TAB (run tab shown during the measurement, default timeline).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { chromium, type Browser, type Page } from '@playwright/test'
import WebSocket from 'ws'
import { quantile, report } from './stats.mjs'

const root = join(import.meta.dirname, '..')
const log = (m: string) => process.stderr.write(`live-latency: ${m}\n`)

export const CHROME_PATH = process.env.CHROME_PATH || '/usr/bin/chromium'
export const CHROME_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']

/** Epoch milliseconds with sub-millisecond resolution; the page uses the same expression. */
export const epochNow = (): number => performance.timeOrigin + performance.now()

// ---------------------------------------------------------------------------------------------
// `vigil serve`

export interface Serve {
  url: string
  proc: ChildProcess
  dataDir: string
  output(): string
  stop(): Promise<number | null>
}

/**
 * Starts the built CLI on a free port with its own data folder (recording on), like the e2e tests.
 * `prepareDataDir` runs before the start (e.g. to block the recording file).
 */
export async function startServe(opts: { args?: string[]; nodeArgs?: string[]; prepareDataDir?: (dir: string) => void } = {}): Promise<Serve> {
  const { args: extraArgs = [], nodeArgs = [] } = opts
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-live-'))
  opts.prepareDataDir?.(dataDir)
  const proc = spawn(process.execPath, [...nodeArgs, join(root, 'bin/vigil.js'), 'serve', '--port', '0', '--no-default-store', '--data-dir', dataDir, ...extraArgs], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString()
    process.stderr.write(`[vigil] ${d.toString()}`)
  })
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vigil serve did not start:\n${out}`)), 30_000)
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /Vigil listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    proc.once('exit', (code) => reject(new Error(`vigil serve exited with ${code}:\n${out}`)))
  })
  return {
    url,
    proc,
    dataDir,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM')
      const code = await exited
      rmSync(dataDir, { recursive: true, force: true })
      return code
    }
  }
}

/** POST /api/rpc/<method> like the web bridge does. */
export async function rpc<T>(url: string, method: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`${url}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args }) })
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } }
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`)
  return body.value as T
}

export interface RunSummaryLite {
  runId: string
  sourceId: string
  producerId: string | null
  ensembleId: string | null
  status: string
  completedTasks: number
  eventCount: number
  stale?: boolean
}

/** /proc/<pid>/stat user+system CPU seconds (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROME_PATH, args: CHROME_ARGS })
}

// ---------------------------------------------------------------------------------------------
// The publisher: a worker thread, so its JSON and timers do not share the bench's event loop.

export interface PublisherOptions {
  url: string
  producerId: string
  rate: number
  /** A marker (task_completed k, then task_started k+1) every this many events. */
  markerEvery: number
  /** Events per run; 0 = one endless run. A finished run is followed by ensemble_completed and a new one. */
  runEvents: number
  /** Declared totalTasks of each run. */
  totalTasks: number
}

export interface PublisherResult {
  sent: number
  seconds: number
  /** [k, epoch ms just before ws.send] for every marker (k restarts at 1 in each run). */
  markers: Array<[number, number]>
  perSecond: number[]
  maxBufferedBytes: number
  behindMax: number
}

/**
 * Per cycle of `markerEvery` events: (llm_iteration_started, llm_iteration_completed, tool_called)
 * repeated, then task_completed k and task_started k+1. Send pacing: every ~2 ms the worker sends
 * what is due at `rate` since the start (so the average rate is exact and stalls are caught up).
 */
const PUBLISHER = `
const { parentPort, workerData } = require('node:worker_threads')
const WebSocket = require(workerData.wsPath)
const o = workerData.opts
const now = () => performance.timeOrigin + performance.now()
const producer = JSON.stringify({ producerId: o.producerId, serviceName: 'bench', instanceId: 'latency' })
const ws = new WebSocket(o.url.replace('http', 'ws') + '/ingress?producerId=' + encodeURIComponent(o.producerId))
let seq = 0, run = 0, k = 1, inRun = 0, iteration = 0, sent = 0, stop = false, maxBuffered = 0, behindMax = 0
const markers = []
const perSecond = []
let secondStart = 0, secondCount = 0
const iso = (t) => new Date(t).toISOString()
const role = 'Researcher'
const desc = (task) => 'Research topic ' + task + ' and summarise the findings'
function envelope(message) {
  return '{"type":"event","producer":' + producer + ',"sequence":' + (++seq) + ',"receivedAt":"' + iso(Date.now()) + '","message":' + JSON.stringify(message) + '}'
}
function startRun() {
  run++
  k = 1
  iteration = 0
  inRun = 0
  ws.send(envelope({ type: 'ensemble_started', ensembleId: o.producerId + '-run-' + run, startedAt: iso(Date.now()), totalTasks: o.totalTasks, workflow: 'SEQUENTIAL' }))
  ws.send(envelope({ type: 'task_started', taskIndex: 1, totalTasks: o.totalTasks, taskDescription: desc(1), agentRole: role, startedAt: iso(Date.now()) }))
  sent += 2
}
function next() {
  inRun++
  const i = inRun % o.markerEvery
  if (i === o.markerEvery - 2) {
    const m = { type: 'task_completed', taskIndex: k, totalTasks: o.totalTasks, taskDescription: desc(k), agentRole: role, completedAt: iso(Date.now()), durationMs: 100, tokenCount: -1, toolCallCount: 30 }
    return { text: envelope(m), marker: k }
  }
  if (i === o.markerEvery - 1) {
    k++
    iteration = 0
    return { text: envelope({ type: 'task_started', taskIndex: k, totalTasks: o.totalTasks, taskDescription: desc(k), agentRole: role, startedAt: iso(Date.now()) }) }
  }
  const base = { agentRole: role, taskDescription: desc(k) }
  switch (i % 3) {
    case 0:
      return { text: envelope({ type: 'llm_iteration_started', ...base, iterationIndex: iteration, messages: [{ role: 'user', content: '## Task\\n' + desc(k) + ' (step ' + iteration + ')', toolCalls: null, toolName: null }], totalMessageCount: 1 + 2 * iteration }) }
    case 1:
      return { text: envelope({ type: 'llm_iteration_completed', ...base, iterationIndex: iteration, responseType: 'TOOL_CALLS', toolRequests: [{ name: 'web_search', arguments: '{"q":"topic ' + k + ' step ' + iteration + '"}' }], inputTokens: 500 + iteration, outputTokens: 60, latencyMs: 900 }) }
    default:
      iteration++
      return { text: envelope({ type: 'tool_called', agentRole: role, taskIndex: k, toolName: 'web_search', durationMs: 840, outcome: iteration % 17 === 0 ? 'FAILURE' : 'SUCCESS', toolArguments: '{"q":"topic ' + k + '"}', toolResult: '3 results for topic ' + k, structuredResult: null }) }
  }
}
parentPort.on('message', (m) => { if (m === 'stop') stop = true })
ws.on('error', (e) => parentPort.postMessage({ error: String(e) }))
ws.once('open', () => {
  parentPort.postMessage('ready')
  const t0 = now()
  secondStart = t0
  startRun()
  const tick = () => {
    if (stop) {
      if (o.runEvents > 0) ws.send(envelope({ type: 'ensemble_completed', ensembleId: o.producerId + '-run-' + run, completedAt: iso(Date.now()), durationMs: 1000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 0 }))
      const seconds = (now() - t0) / 1000
      const done = () => parentPort.postMessage({ sent, seconds, markers, perSecond, maxBufferedBytes: maxBuffered, behindMax })
      const drain = () => (ws.bufferedAmount === 0 ? (done(), ws.close()) : setTimeout(drain, 5))
      drain()
      return
    }
    const t = now()
    const due = Math.floor(((t - t0) * o.rate) / 1000)
    behindMax = Math.max(behindMax, due - sent)
    while (sent < due && ws.bufferedAmount < 4 * 1024 * 1024) {
      if (o.runEvents > 0 && inRun >= o.runEvents) {
        ws.send(envelope({ type: 'ensemble_completed', ensembleId: o.producerId + '-run-' + run, completedAt: iso(Date.now()), durationMs: 1000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 0 }))
        sent++
        startRun()
        continue
      }
      const e = next()
      if (e.marker !== undefined) markers.push([e.marker, now()])
      ws.send(e.text)
      sent++
      secondCount++
    }
    maxBuffered = Math.max(maxBuffered, ws.bufferedAmount)
    if (t - secondStart >= 1000) {
      perSecond.push((secondCount * 1000) / (t - secondStart))
      secondStart = t
      secondCount = 0
    }
    setTimeout(tick, 2)
  }
  tick()
})
`

export class Publisher {
  private readonly worker: Worker
  readonly ready: Promise<void>
  private readonly result: Promise<PublisherResult>

  constructor(opts: PublisherOptions) {
    this.worker = new Worker(PUBLISHER, { eval: true, workerData: { wsPath: createRequire(import.meta.url).resolve('ws'), opts } })
    let resolveReady!: () => void
    let rejectAll!: (e: unknown) => void
    this.ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve
      rejectAll = reject
    })
    this.result = new Promise<PublisherResult>((resolve, reject) => {
      this.worker.on('message', (m: unknown) => {
        if (m === 'ready') resolveReady()
        else if (m && typeof m === 'object' && 'error' in m) reject(new Error(String((m as { error: string }).error)))
        else if (m && typeof m === 'object') resolve(m as PublisherResult)
      })
      this.worker.once('error', (e) => {
        rejectAll(e)
        reject(e)
      })
    })
  }

  async stop(): Promise<PublisherResult> {
    this.worker.postMessage('stop')
    const r = await this.result
    await this.worker.terminate()
    return r
  }
}

export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

// ---------------------------------------------------------------------------------------------
// The page side, as plain script text (this file is type-checked without DOM types).

/** Wraps the page's WebSocket to time /api/events frames, and watches the run's progress in the DOM. */
const PAGE_PROBE = `
(() => {
  const now = () => performance.timeOrigin + performance.now()
  const probe = (window.__probe = { frames: [], dom: [], paint: [], frameBytes: 0, frameCount: 0 })
  performance.setResourceTimingBufferSize(1000000)
  const Native = window.WebSocket
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols)
      if (!String(url).endsWith('/api/events')) return
      this.addEventListener('message', (ev) => {
        const t = now()
        if (typeof ev.data !== 'string') return
        probe.frameCount++
        probe.frameBytes += ev.data.length
        if (!ev.data.startsWith('{"event":"run-updated"')) return
        const m = /"completedTasks":(\\d+)/.exec(ev.data)
        if (m) probe.frames.push([t, Number(m[1])])
      })
    }
  }
  let last = -1
  new MutationObserver(() => {
    const el = document.querySelector('[data-testid=run-progress]')
    if (!el) return
    const m = /^(\\d+) \\//.exec(el.textContent || '')
    if (!m) return
    const k = Number(m[1])
    if (k <= last) return
    last = k
    const t = now()
    probe.dom.push([t, k])
    requestAnimationFrame(() => probe.paint.push([now(), k]))
  }).observe(document, { subtree: true, childList: true, characterData: true })
})()
`

interface PageData {
  frames: Array<[number, number]>
  dom: Array<[number, number]>
  paint: Array<[number, number]>
  frameBytes: number
  frameCount: number
  fetches: Array<{ start: number; responseStart: number; end: number; bytes: number }>
  elements: Record<string, number>
  clockSkewMs: number
}

const COLLECT = `(() => {
  const p = window.__probe
  const fetches = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/rpc/getRun'))
    .map((e) => ({ start: performance.timeOrigin + e.startTime, responseStart: performance.timeOrigin + e.responseStart, end: performance.timeOrigin + e.responseEnd, bytes: e.decodedBodySize }))
  const count = (sel) => document.querySelectorAll(sel).length
  const elements = { all: count('*'), svg: count('svg *'), toolMarkers: count('[data-testid=tool-marker]'), taskBars: count('[data-testid=task-bar]'), taskRows: count('tr[data-task-status]'), events: count('[aria-label="Recent events"] li') }
  return { frames: p.frames, dom: p.dom, paint: p.paint, frameBytes: p.frameBytes, frameCount: p.frameCount, fetches, elements, clockSkewMs: Date.now() - (performance.timeOrigin + performance.now()) }
})()`

/** Time of the first entry of a time-sorted [t, value] list whose value reaches k. */
function firstReaching(list: Array<[number, number]>, k: number): number | null {
  for (const [t, v] of list) if (v >= k) return t
  return null
}

function pct(sorted: number[], q: number): number {
  return Math.round(quantile(sorted, q) * 10) / 10
}

function summarize(samples: number[]): { median: number; p95: number; p99: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b)
  return { median: pct(s, 0.5), p95: pct(s, 0.95), p99: pct(s, 0.99), max: Math.round((s.at(-1) ?? NaN) * 10) / 10, n: s.length }
}

/** Chromium's own main-thread counters (seconds busy since Performance.enable on this session). */
async function cdpMetrics(page: Page): Promise<() => Promise<Record<string, number>>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable')
  return async () => {
    const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }
    return Object.fromEntries(metrics.map((m) => [m.name, m.value]))
  }
}

/** A Node client on /api/events: when the server pushed each run-updated, without the page's main thread in the way. */
export function eventsClient(url: string, runId: string | null): { frames: Array<[number, number]>; close(): void; opened: Promise<void> } {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/events`, { origin: url })
  const frames: Array<[number, number]> = []
  ws.on('message', (data) => {
    const t = epochNow()
    const text = data.toString()
    if (!text.startsWith('{"event":"run-updated"')) return
    if (runId !== null && !text.includes(`"runId":"${runId}"`)) return
    const m = /"completedTasks":(\d+)/.exec(text)
    if (m) frames.push([t, Number(m[1])])
  })
  ws.on('error', () => undefined)
  return { frames, close: () => ws.close(), opened: new Promise((r) => ws.once('open', () => r())) }
}

export async function run(): Promise<void> {
  const seconds = Number(process.env.VIGIL_LATENCY_SECONDS ?? 40)
  const warmup = Number(process.env.VIGIL_LATENCY_WARMUP_SECONDS ?? 5)
  const rate = Number(process.env.VIGIL_LATENCY_RATE ?? 1000)
  const tab = process.env.VIGIL_LATENCY_TAB ?? 'timeline'
  const tracePath = process.env.VIGIL_LATENCY_TRACE
  const cpuProfilePath = process.env.VIGIL_LATENCY_CPUPROFILE
  const markerEvery = Math.max(10, Math.round(rate / 10)) // 10 markers/s
  const serve = await startServe()
  const browser = await launchChromium()
  const loadBefore = loadavg()[0]!
  try {
    log(`${serve.url}: ${rate} events/s, marker every ${markerEvery} events, ${warmup} s warm-up + ${seconds} s measured`)
    const totalTasks = Math.ceil(((seconds + warmup + 30) * rate) / markerEvery)
    const publisher = new Publisher({ url: serve.url, producerId: 'bench-latency', rate, markerEvery, runEvents: 0, totalTasks })
    await publisher.ready
    const live = await waitFor(async () => (await rpc<RunSummaryLite[]>(serve.url, 'listRuns')).find((r) => r.producerId === 'bench-latency'), 'the run')

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    page.on('pageerror', (e) => log(`page error: ${e.message}`))
    await page.addInitScript({ content: PAGE_PROBE })
    await page.goto(`${serve.url}/#/run/${live.runId}`)
    await page.getByTestId('run-progress').waitFor()
    const nodeEvents = eventsClient(serve.url, live.runId)
    await nodeEvents.opened
    const metrics = await cdpMetrics(page)
    if (tab !== 'timeline') await page.getByTestId(`run-tab-${tab}`).click()
    await sleep(warmup * 1000)

    // The measured window.
    const windowStart = epochNow()
    const cpu0 = cpuSeconds(serve.proc.pid!)
    const cdp0 = await metrics()
    const events0 = (await rpc<RunSummaryLite[]>(serve.url, 'listRuns')).find((r) => r.runId === live.runId)!.eventCount
    const profiler = cpuProfilePath ? await page.context().newCDPSession(page) : null
    if (profiler) {
      await profiler.send('Profiler.enable')
      await profiler.send('Profiler.setSamplingInterval', { interval: 500 })
      await profiler.send('Profiler.start')
    }
    if (tracePath) await browser.startTracing(page, { path: tracePath, screenshots: false, categories: ['devtools.timeline', 'v8.execute', 'blink.user_timing', 'disabled-by-default-devtools.timeline'] })
    // Server responsiveness probe: a trivial RPC every 100 ms.
    const probeRtt: number[] = []
    let probing = true
    const prober = (async () => {
      while (probing) {
        const t = epochNow()
        await rpc(serve.url, 'getAppInfo')
        probeRtt.push(epochNow() - t)
        await sleep(100)
      }
    })()
    await sleep(seconds * 1000)
    probing = false
    await prober
    if (tracePath) await browser.stopTracing()
    if (profiler && cpuProfilePath) {
      const { profile } = (await profiler.send('Profiler.stop')) as { profile: unknown }
      writeFileSync(cpuProfilePath, JSON.stringify(profile))
    }
    const windowEnd = epochNow()
    const cpu1 = cpuSeconds(serve.proc.pid!)
    const cdp1 = await metrics()
    const events1 = (await rpc<RunSummaryLite[]>(serve.url, 'listRuns')).find((r) => r.runId === live.runId)!.eventCount
    const loadDuring = loadavg()[0]!

    // Let the last markers land, then stop the publisher.
    await sleep(1500)
    const pub = await publisher.stop()
    const data = (await page.evaluate(COLLECT)) as PageData
    await page.close()
    nodeEvents.close()

    const markers = pub.markers.filter(([, t]) => t >= windowStart && t <= windowEnd)
    const toDom: number[] = []
    const toPaint: number[] = []
    const toFrame: number[] = []
    const toServerPush: number[] = []
    const pushToPage: number[] = []
    const frameToDom: number[] = []
    const fetchMs: number[] = []
    const responseToDom: number[] = []
    const fetchBytes: number[] = []
    const halves: [number[], number[]] = [[], []]
    let missing = 0
    const mid = (windowStart + windowEnd) / 2
    for (const [k, sentAt] of markers) {
      const dom = firstReaching(data.dom, k)
      const frame = firstReaching(data.frames, k)
      const paint = firstReaching(data.paint, k)
      if (dom === null) {
        missing++
        continue
      }
      toDom.push(dom - sentAt)
      halves[sentAt < mid ? 0 : 1].push(dom - sentAt)
      if (paint !== null) toPaint.push(paint - sentAt)
      const pushed = firstReaching(nodeEvents.frames, k)
      if (pushed !== null) {
        toServerPush.push(pushed - sentAt)
        if (frame !== null) pushToPage.push(frame - pushed)
      }
      if (frame !== null) {
        toFrame.push(frame - sentAt)
        frameToDom.push(dom - frame)
      }
      // The fetch whose answer was rendered: the last one that ended before the DOM changed.
      const f = data.fetches.filter((x) => x.end <= dom).at(-1)
      if (f) {
        fetchMs.push(f.end - f.start)
        responseToDom.push(dom - f.end)
        fetchBytes.push(f.bytes)
      }
    }
    const windowFetches = data.fetches.filter((f) => f.start >= windowStart && f.start <= windowEnd)
    const windowSeconds = (windowEnd - windowStart) / 1000
    const serverRate = Math.round((events1 - events0) / windowSeconds)
    const context = {
      rateTarget: rate,
      rateSent: Math.round(pub.sent / pub.seconds),
      rateSentMinPerSecond: Math.round(Math.min(...pub.perSecond.slice(1, -1))),
      rateIngestedByVigil: serverRate,
      seconds: Math.round(windowSeconds * 10) / 10,
      markersSent: markers.length,
      markersMissing: missing,
      goal: 'p95 < 100 ms, p99 < 250 ms'
    }
    const total = summarize(toDom)
    report('live.latency.event_to_dom', 'ms', toDom, { p99: total.p99, ...context, pass: total.p95 < 100 && total.p99 < 250 })
    report('live.latency.event_to_paint', 'ms', toPaint, { p99: summarize(toPaint).p99, note: 'first animation frame after the DOM change' })
    report('live.latency.event_to_server_push', 'ms', toServerPush, { p99: summarize(toServerPush).p99, note: 'hub ingest → RunTracker → 100 ms coalescer → /api/events frame at a Node client' })
    report('live.latency.server_push_to_page', 'ms', pushToPage, { p99: summarize(pushToPage).p99, note: 'the same frame delivered to the page (waits while its main thread is busy)' })
    report('live.latency.event_to_push_frame', 'ms', toFrame, { p99: summarize(toFrame).p99, note: 'send → /api/events frame handled in the page' })
    report('live.latency.push_frame_to_dom', 'ms', frameToDom, { p99: summarize(frameToDom).p99, note: 'renderer: wait for a getRun slot, fetch, JSON, Svelte' })
    report('live.latency.getrun_fetch', 'ms', fetchMs, {
      p99: summarize(fetchMs).p99,
      bodyKiBMedian: Math.round(quantile([...fetchBytes].sort((a, b) => a - b), 0.5) / 1024),
      fetchesPerSecond: Math.round((windowFetches.length / windowSeconds) * 10) / 10,
      note: 'the getRun whose answer was rendered, request start → response end'
    })
    report('live.latency.response_to_dom', 'ms', responseToDom, { p99: summarize(responseToDom).p99, note: 'JSON parse + Svelte render of the run page' })
    report('live.latency.event_to_dom.first_half', 'ms', halves[0], { p99: summarize(halves[0]).p99 })
    report('live.latency.event_to_dom.second_half', 'ms', halves[1], { p99: summarize(halves[1]).p99 })
    report('live.latency.server_rpc_rtt', 'ms', probeRtt, { p99: summarize(probeRtt).p99, note: 'getAppInfo every 100 ms from Node: the server event loop under load' })
    const busy = (name: string) => Math.round((((cdp1[name] ?? 0) - (cdp0[name] ?? 0)) / windowSeconds) * 1000) / 10
    process.stdout.write(
      JSON.stringify({
        name: 'live.latency.cpu',
        unit: '% of one core',
        vigilServe: Math.round(((cpu1 - cpu0) / windowSeconds) * 1000) / 10,
        pageMainThreadTasks: busy('TaskDuration'),
        pageScript: busy('ScriptDuration'),
        pageLayout: busy('LayoutDuration'),
        pageStyle: busy('RecalcStyleDuration'),
        pageElements: data.elements,
        pageJsHeapMiB: Math.round(((cdp1.JSHeapUsedSize ?? 0) / 2 ** 20) * 10) / 10,
        tab,
        eventsFrameKiBPerSecond: Math.round(data.frameBytes / 1024 / windowSeconds),
        loadAvg1mBefore: Math.round(loadBefore * 100) / 100,
        loadAvg1mAfter: Math.round(loadDuring * 100) / 100,
        cores: cpus().length,
        pageClockSkewMs: Math.round(data.clockSkewMs * 100) / 100
      }) + '\n'
    )
    if (tracePath) writeFileSync(`${tracePath}.markers.json`, JSON.stringify({ markers, data }))
  } finally {
    await browser.close()
    await serve.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
