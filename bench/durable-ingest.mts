// Durability figures (issue #10): ingest throughput with every event journaled before it is acted on
// (1 connection and 50 producers over /ingress, and 50 concurrent POST clients), against the same hub
// with recording off, in one run; the loss window of a kill -9 mid-stream (real `vigil serve`); and
// restart-to-ready with a 1M-event journal left by a crash. One JSON line per measurement.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import WebSocket from 'ws'
import { VigilService } from '../src/main/core/vigil-service'
import { IngestJournal } from '../src/main/recorder/ingest-journal'
import { startVigilServer } from '../src/main/server/vigil-server'
import { measureRate, TEMPLATES, WORKER } from './hub-ingest.mjs'
import { report } from './stats.mjs'

const log = (m: string) => process.stderr.write(`durable-ingest: ${m}\n`)
const DURATION_MS = Number(process.env.DURABLE_BENCH_MS ?? 8000)
const root = resolve(import.meta.dirname, '..')
const bin = join(root, 'bin/vigil.js')

async function withService<T>(durable: boolean, fn: (service: VigilService, url: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-durable-bench-'))
  const service = new VigilService({ mode: 'web', version: 'bench', tmpRoot: join(dir, 'tmp') })
  if (durable) await service.startRecording(join(dir, 'data', 'recordings.duckdb'))
  const server = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: 'bench', extensions: service.serverExtensions() })
  try {
    return await fn(service, server.url)
  } finally {
    await server.close()
    await service.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Sustained socket ingest, counted at the hub, with publishers in a worker thread. */
export async function socketRate(durable: boolean, producerCount: number): Promise<void> {
  await withService(durable, async (service, url) => {
    const frames = () => service.hub.producers().reduce((n, p) => n + p.diagnostics.frames, 0)
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        wsPath: createRequire(import.meta.url).resolve('ws'),
        url: url.replace('http', 'ws'),
        producers: Array.from({ length: producerCount }, (_, i) => `bench-${i}`),
        templates: TEMPLATES
      }
    })
    try {
      await new Promise<void>((ok, fail) => {
        worker.once('error', fail)
        worker.once('message', () => ok())
      })
      await new Promise((r) => setTimeout(r, 500))
      const { perSecond, total, elapsed, lag } = await measureRate(frames, DURATION_MS)
      const stopped = new Promise((r) => worker.on('message', (m) => typeof m === 'object' && r(m)))
      worker.postMessage('stop')
      await stopped
      const status = service.recordingStatus()
      const details = service.serverExtensions().map((e) => e.statusDetails?.()).find((d) => d !== undefined && 'recording' in d) as { recording: { journal: unknown } } | undefined
      const journal = details?.recording.journal
      report(`ingest.ws.${producerCount === 1 ? '1_connection' : `${producerCount}_producers`}.${durable ? 'durable' : 'recording_off'}`, 'events/s', perSecond, {
        sustained: Math.round(total / elapsed),
        events: total,
        producers: producerCount,
        recorded: status.recorded,
        notRecorded: status.notRecorded,
        journal,
        eventLoopLagP99Ms: Math.round(lag.percentile(99) / 1e6),
        eventLoopLagMaxMs: Math.round(lag.max / 1e6),
        goal: 20_000
      })
    } finally {
      await worker.terminate()
    }
  })
}

/** 50 keep-alive clients POSTing one envelope each, waiting for the answer: 202s per second (each durable). */
async function postRate(durable: boolean): Promise<void> {
  await withService(durable, async (_service, url) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 50 })
    const latencies: number[] = []
    let acked = 0
    let other = 0
    const deadline = performance.now() + DURATION_MS
    const worker = async (w: number) => {
      for (let seq = 1; performance.now() < deadline; seq++) {
        const body = `{"type":"event","producer":{"producerId":"post-${w}"},"sequence":${seq},"receivedAt":"${new Date().toISOString()}","message":${TEMPLATES[seq % TEMPLATES.length]!.replace('__RUN__', `p${w}`)}}`
        const t0 = performance.now()
        const code = await new Promise<number>((ok) => {
          const req = request(`${url}/api/hub/ingress`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
            res.resume()
            res.on('end', () => ok(res.statusCode ?? 0))
          })
          req.on('error', () => ok(0))
          req.end(body)
        })
        latencies.push(performance.now() - t0)
        if (code === 202) acked++
        else other++
      }
    }
    const start = performance.now()
    await Promise.all(Array.from({ length: 50 }, (_, w) => worker(w)))
    const elapsed = (performance.now() - start) / 1000
    agent.destroy()
    report(`ingest.post.50_clients.${durable ? 'durable' : 'recording_off'}`, 'ms per POST', latencies, { ackedPerSec: Math.round(acked / elapsed), acked, notAcked: other })
  })
}

interface Vigil {
  proc: ReturnType<typeof spawn>
  url: string
}

async function startVigil(dataDir: string): Promise<{ vigil: Vigil; readyMs: number }> {
  const t0 = performance.now()
  const proc = spawn(process.execPath, [bin, 'serve', '--port', '0', '--no-default-store', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`not ready: ${out}`)), 600_000)
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /Vigil listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        ok(m[1]!)
      }
    })
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    proc.once('exit', (c) => fail(new Error(`exited ${c}: ${out}`)))
  })
  return { vigil: { proc, url }, readyMs: performance.now() - t0 }
}

const stop = (v: Vigil, signal: NodeJS.Signals) =>
  new Promise<void>((ok) => {
    v.proc.once('exit', () => ok())
    v.proc.kill(signal)
  })

/**
 * Socket events lost by a kill -9 at 5,000 ev/s: how many, and how far back before the kill the
 * earliest lost one was sent (the loss window). Every frame relayed to a browser is checked durable
 * by the fault tests; here we only measure.
 */
async function killWindow(rounds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-kill-bench-'))
  const data = join(dir, 'data')
  const lost: number[] = []
  const windows: number[] = []
  const serverWindows: number[] = []
  const sendTimes = new Map<string, number>()
  let killedAt: number[] = []
  try {
    for (let r = 0; r < rounds; r++) {
      const { vigil } = await startVigil(data)
      const ws = new WebSocket(`${vigil.url.replace('http', 'ws')}/ingress`)
      await new Promise((ok) => ws.once('open', ok))
      let seq = 0
      const tick = setInterval(() => {
        for (let i = 0; i < 25; i++) {
          const name = `k${r}-${++seq}`
          sendTimes.set(name, performance.now())
          ws.send(`{"type":"event","producer":{"producerId":"kill-${r}"},"sequence":${seq},"receivedAt":"${new Date().toISOString()}","message":{"type":"tool_called","agentRole":"A","taskIndex":1,"toolName":"${name}","durationMs":1,"outcome":"SUCCESS","toolArguments":"{}","toolResult":"ok","structuredResult":null}}`)
        }
      }, 5)
      await new Promise((ok) => setTimeout(ok, 2000))
      const st = (await (await fetch(`${vigil.url}/api/status`)).json()) as { recording: { journal: { durableWithinMs: { p99: number } | null } | null } }
      if (st.recording.journal?.durableWithinMs) serverWindows.push(st.recording.journal.durableWithinMs.p99)
      const at = performance.now()
      await stop(vigil, 'SIGKILL')
      clearInterval(tick)
      ws.terminate()
      killedAt = [...killedAt, at]
    }
    const { vigil } = await startVigil(data)
    await stop(vigil, 'SIGTERM')
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const db = await DuckDBInstance.create(join(data, 'recordings.duckdb'), { access_mode: 'READ_ONLY' })
    const con = await db.connect()
    const rows = (await con.runAndReadAll(`SELECT json_extract_string(message, '$.toolName') AS t FROM events WHERE type = 'tool_called'`)).getRowObjectsJS()
    con.closeSync()
    db.closeSync()
    const recorded = new Set(rows.map((x) => String(x.t)))
    for (let r = 0; r < rounds; r++) {
      const sent = [...sendTimes].filter(([name, t]) => name.startsWith(`k${r}-`) && t <= killedAt[r]!)
      const missing = sent.filter(([name]) => !recorded.has(name))
      lost.push(missing.length)
      const earliest = missing.reduce((m, [, t]) => Math.min(m, t), Infinity)
      windows.push(missing.length === 0 ? 0 : killedAt[r]! - earliest)
    }
    report('ingest.kill9.ws_lost_events', 'events', lost, { rounds, rate: '5,000 ev/s on one socket', sentPerRound: Math.round(sendTimes.size / rounds) })
    report('ingest.kill9.ws_loss_window', 'ms before the kill', windows, { rounds, note: 'sent-but-unrecorded frames: in TCP buffers or not yet durable' })
    report('ingest.journal.durable_within_p99', 'ms', serverWindows, { rounds, note: 'server side: receipt to fdatasync done, p99 of the last 1,024 batches' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A crash left `events` records in the journal and none in the recording: time until the next start is ready. */
async function restartWith(events: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-restart-bench-'))
  const data = join(dir, 'data')
  try {
    // A recording file with its mark at 0 (a first start and a clean stop), then a journal written as a crash would leave it.
    const first = await startVigil(data)
    await stop(first.vigil, 'SIGTERM')
    const journalDir = join(data, 'recordings.duckdb.journal')
    mkdirSync(journalDir, { recursive: true })
    const journal = await IngestJournal.start({ dir: journalDir }, 0)
    const writeStart = performance.now()
    for (let i = 1; i <= events; i++) {
      const inner = TEMPLATES[i % TEMPLATES.length]!.replace('__RUN__', `r${Math.floor(i / TEMPLATES.length)}`)
      journal.append({ kind: 'env', sourceId: 'hub', producerId: `p${i % 50}`, receivedAt: '2026-03-05T14:00:00Z', text: `{"type":"event","producer":{"producerId":"p${i % 50}"},"sequence":${i},"receivedAt":"2026-03-05T14:00:00Z","message":${inner}}` })
      if (i % 20_000 === 0) await journal.settle()
    }
    await journal.settle()
    const bytes = journal.stats().diskBytes
    await journal.close()
    log(`journal of ${events} events written (${Math.round(bytes / 2 ** 20)} MiB) in ${Math.round(performance.now() - writeStart)} ms`)
    const replay = await startVigil(data)
    await stop(replay.vigil, 'SIGTERM')
    const again = await startVigil(data)
    await stop(again.vigil, 'SIGTERM')
    report(`restart.ready_with_${events}_event_journal`, 'ms', [replay.readyMs], { journalMiB: Math.round(bytes / 2 ** 20), nextStartMs: Math.round(again.readyMs), note: 'next start: the same recording, journal already replayed' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** DURABLE_BENCH_ONLY=ws,post,kill,restart picks cases (default: all); DURABLE_RESTART_EVENTS (default 1,000,000). */
export async function run(): Promise<void> {
  const only = new Set((process.env.DURABLE_BENCH_ONLY ?? 'ws,post,kill,restart').split(','))
  if (only.has('ws')) {
    log(`socket ingest, ${DURATION_MS} ms per case, durable vs recording off`)
    for (const producers of [1, 50]) {
      await socketRate(false, producers)
      await socketRate(true, producers)
    }
  }
  if (only.has('post')) {
    log('POST ingest, 50 clients')
    await postRate(false)
    await postRate(true)
  }
  if (only.has('kill')) {
    log('kill -9 mid-stream, 5 rounds')
    await killWindow(5)
  }
  if (only.has('restart')) await restartWith(Number(process.env.DURABLE_RESTART_EVENTS ?? 1_000_000))
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
