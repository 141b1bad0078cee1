// AgentEnsemble hub figures: sustained ingest over /ingress (1 publisher connection, then 50
// producers on 50 connections; one browser reading the fan-out; RunTracker fed), and hub_hello
// build time + size after 100,000 ingested events. One JSON line per measurement.
//
// Publishers and the browser run in a worker thread so their serialization does not eat the hub's
// CPU; they send as fast as the socket takes it (bufferedAmount-bounded). Rates are counted at the hub.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { VigilService } from '../src/main/core/vigil-service'
import { LiveHub } from '../src/main/hub/live-hub'
import { RunTracker } from '../src/main/live/run-tracker'
import { startVigilServer } from '../src/main/server/vigil-server'
import { serializeServerMessage } from '../src/shared/protocol/agentensemble'
import type { DashboardMessage } from '../src/shared/protocol/agentensemble'
import { report } from './stats.mjs'

const log = (m: string) => process.stderr.write(`hub-ingest: ${m}\n`)
const DURATION_MS = Number(process.env.HUB_BENCH_MS ?? 10_000)

/** A plausible run: 3 tasks × (2 LLM iterations with 5 tokens + 1 tool call each); 56 events, 30 of them tokens. */
function runMessages(ensembleId: string): DashboardMessage[] {
  const out: DashboardMessage[] = [{ type: 'ensemble_started', ensembleId, startedAt: '2026-03-05T14:00:00Z', totalTasks: 3, workflow: 'SEQUENTIAL' }]
  for (let t = 1; t <= 3; t++) {
    const base = { taskDescription: `Research topic ${t} and summarise the findings`, agentRole: `Researcher ${t}` }
    out.push({ type: 'task_started', taskIndex: t, totalTasks: 3, ...base, startedAt: '2026-03-05T14:00:01.123456Z' })
    for (let i = 0; i < 2; i++) {
      out.push({
        type: 'llm_iteration_started',
        ...base,
        iterationIndex: i,
        messages: [{ role: 'user', content: `## Task\n${base.taskDescription}`, toolCalls: null, toolName: null }],
        totalMessageCount: 1
      })
      for (let j = 0; j < 5; j++) out.push({ type: 'token', token: 'token ', ...base, sentAt: '2026-03-05T14:00:01.5Z' })
      out.push({ type: 'llm_iteration_completed', ...base, iterationIndex: i, responseType: 'TOOL_CALLS', toolRequests: [{ name: 'web_search', arguments: '{"q":"ai"}' }], inputTokens: 500, outputTokens: 200, latencyMs: 1200 })
      out.push({ type: 'tool_called', agentRole: base.agentRole, taskIndex: t, toolName: 'web_search', durationMs: 840, outcome: 'SUCCESS', toolArguments: '{"q":"ai"}', toolResult: '3 results', structuredResult: null })
    }
    out.push({ type: 'task_completed', taskIndex: t, totalTasks: 3, ...base, completedAt: '2026-03-05T14:00:45.120Z', durationMs: 44000, tokenCount: -1, toolCallCount: 2 })
  }
  out.push({ type: 'ensemble_completed', ensembleId, completedAt: '2026-03-05T14:00:46Z', durationMs: 46000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 6 })
  return out
}

/** Inner messages with `__RUN__` where the ensemble id goes, so the worker only concatenates strings. */
export const TEMPLATES = runMessages('__RUN__').map((m) => serializeServerMessage(m))

// Runs in the worker: N publisher sockets + 1 reading browser, sending round-robin until told to stop.
export const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const WebSocket = require(workerData.wsPath)
const { url, producers, templates } = workerData
let stop = false
parentPort.on('message', (m) => { if (m === 'stop') stop = true })
const browser = new WebSocket(url + '/ws', { origin: 'http://localhost' })
let browserFrames = 0
browser.on('message', () => browserFrames++)
const sockets = producers.map((p, i) => {
  const ws = new WebSocket(url + '/ingress?producerId=' + encodeURIComponent(p))
  return { ws, producer: JSON.stringify({ producerId: p, serviceName: 'bench', instanceId: 'i' + i }), seq: 0, run: 0, k: 0 }
})
const opened = (ws) => new Promise((r) => ws.readyState === 1 ? r() : ws.once('open', r))
Promise.all([browser, ...sockets.map((s) => s.ws)].map(opened)).then(() => {
  parentPort.postMessage('ready')
  const t0 = Date.now()
  const pump = () => {
    if (stop) {
      for (const s of sockets) s.ws.close()
      parentPort.postMessage({ browserFrames })
      setTimeout(() => { browser.close(); process.exit(0) }, 200)
      return
    }
    for (let round = 0; round < 64; round++) {
      for (const s of sockets) {
        if (s.ws.bufferedAmount > 512 * 1024) continue
        const tpl = templates[s.k]
        s.k = (s.k + 1) % templates.length
        if (s.k === 1) s.run++
        const receivedAt = new Date(t0 + s.seq).toISOString()
        s.ws.send('{"type":"event","producer":' + s.producer + ',"sequence":' + (++s.seq) + ',"receivedAt":"' + receivedAt + '","message":' + tpl.replace('__RUN__', s.producer.length + '-' + s.run) + '}')
      }
    }
    setImmediate(pump)
  }
  pump()
})
`

/** Samples `count()` every second for `durationMs`: per-second rates, the total, and the event loop's delay meanwhile. */
export async function measureRate(count: () => number, durationMs: number): Promise<{ perSecond: number[]; total: number; elapsed: number; lag: IntervalHistogram }> {
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  const perSecond: number[] = []
  const start = performance.now()
  const first = count()
  let last = first
  let lastT = start
  while (performance.now() - start < durationMs) {
    await new Promise((r) => setTimeout(r, 1000))
    const now = performance.now()
    const n = count()
    perSecond.push(((n - last) * 1000) / (now - lastT))
    last = n
    lastT = now
  }
  lag.disable()
  return { perSecond, total: count() - first, elapsed: (performance.now() - start) / 1000, lag }
}

async function ingestRate(label: string, producerCount: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-hub-bench-'))
  const service = new VigilService({ mode: 'web', version: 'bench', tmpRoot: join(dir, 'tmp') })
  const tracker = new RunTracker({ onRunUpdated: () => undefined })
  const hub = new LiveHub({ tracker })
  const server = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: 'bench', extensions: [hub] })
  const frames = () => hub.producers().reduce((n, p) => n + p.diagnostics.frames, 0)
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      wsPath: createRequire(import.meta.url).resolve('ws'),
      url: server.url.replace('http', 'ws'),
      producers: Array.from({ length: producerCount }, (_, i) => `bench-${i}`),
      templates: TEMPLATES
    }
  })
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject)
      worker.once('message', () => resolve())
    })
    await new Promise((r) => setTimeout(r, 500)) // warm-up
    const { perSecond, total, elapsed, lag } = await measureRate(frames, DURATION_MS)
    const done = new Promise<{ browserFrames: number }>((resolve) => worker.on('message', (m) => typeof m === 'object' && resolve(m)))
    worker.postMessage('stop')
    const { browserFrames } = await done
    const malformed = hub.producers().reduce((n, p) => n + p.diagnostics.malformed + p.diagnostics.unknown, 0)
    report(`hub.ingest.ws.${label}`, 'events/s', perSecond, {
      sustained: Math.round(total / elapsed),
      events: total,
      seconds: Math.round(elapsed * 10) / 10,
      producers: producerCount,
      browserFramesReceived: browserFrames,
      slowBrowsersDropped: hub.counters().slowBrowsersDropped,
      rejected: malformed,
      runsTracked: tracker.listRuns().length,
      eventLoopLagP99Ms: Math.round(lag.percentile(99) / 1e6),
      eventLoopLagMaxMs: Math.round(lag.max / 1e6),
      goal: 20_000
    })
  } finally {
    await worker.terminate()
    await server.close()
    await service.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** hub_hello after `total` events from 50 producers; `everyEventRetained` uses no tokens, filling every ring. */
async function helloAfter(total: number, everyEventRetained: boolean): Promise<void> {
  const hub = new LiveHub({ tracker: new RunTracker({ onRunUpdated: () => undefined }), heartbeatMs: 0 })
  const templates = everyEventRetained ? TEMPLATES.filter((t) => !t.startsWith('{"type":"token"')) : TEMPLATES
  const t0 = Date.UTC(2026, 2, 5, 14)
  const ingestStart = performance.now()
  for (let seq = 1; seq <= total; seq++) {
    const p = (seq - 1) % 50
    const k = Math.floor((seq - 1) / 50)
    const producer = `{"producerId":"bench-${p}","serviceName":"bench"}`
    const inner = (templates[k % templates.length] as string).replace('__RUN__', `${p}-${Math.floor(k / templates.length)}`)
    hub.ingestEnvelope(`{"type":"event","producer":${producer},"sequence":${k + 1},"receivedAt":"${new Date(t0 + seq).toISOString()}","message":${inner}}`)
  }
  const ingestMs = performance.now() - ingestStart
  const samples: number[] = []
  let bytes = 0
  let envelopes = 0
  for (let i = 0; i < 10; i++) {
    const start = performance.now()
    const hello = hub.helloFrame()
    samples.push(performance.now() - start)
    bytes = Buffer.byteLength(hello)
    envelopes = hub.producers().reduce((n, pr) => n + pr.snapshotSize, 0)
  }
  report(`hub.hello.build_after_100k${everyEventRetained ? '.no_tokens' : ''}`, 'ms', samples, {
    ingested: total,
    producers: 50,
    snapshotEnvelopes: envelopes,
    helloBytes: bytes,
    helloMiB: Math.round((bytes / 2 ** 20) * 100) / 100,
    inProcessIngestPerSec: Math.round(total / (ingestMs / 1000)),
    bound: '≤ 2000 envelopes/producer, ≤ 4 MiB/producer, ≤ 32 MiB snapshotTrace'
  })
  await hub.close()
}

/** HUB_BENCH_ONLY=ws1,ws50,hello picks cases (default: all). */
export async function run(): Promise<void> {
  const only = new Set((process.env.HUB_BENCH_ONLY ?? 'ws1,ws50,hello').split(','))
  log(`ingest over /ingress, ${DURATION_MS} ms per case`)
  if (only.has('ws1')) await ingestRate('1_connection', 1)
  if (only.has('ws50')) await ingestRate('50_producers', 50)
  if (only.has('hello')) {
    log('hub_hello after 100,000 events')
    await helloAfter(100_000, false)
    await helloAfter(100_000, true)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
