// Review gate round trip on loopback, machine only: from the moment an agent raises a gate to the
// moment the decision reaches that agent, with a scripted reviewer that decides through the review API
// as soon as Vigil pushes the gate to it (on /api/events, like the inbox). The real `vigil serve` runs
// as its own process with recording on; agents and the reviewer run here. Three sources:
//  * hub:        a producer on /ingress sends review_requested; timed until it receives {reviewId, decisionJson};
//  * attachment: an embedded dashboard Vigil is attached to broadcasts it; timed until its review_decision;
//  * api:        POST /api/reviews?wait=true; timed until that request returns the decision.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket, { WebSocketServer } from 'ws'
import { report } from './stats.mjs'

const root = join(import.meta.dirname, '..')
const log = (m: string) => process.stderr.write(`review-roundtrip: ${m}\n`)
const ROUNDS = Number(process.env.REVIEW_BENCH_ROUNDS ?? 200)
const WARMUP = 20

interface Serve {
  url: string
  proc: ChildProcess
  dataDir: string
}

async function startServe(args: string[]): Promise<Serve> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-reviews-'))
  const proc = spawn(process.execPath, [join(root, 'bin/vigil.js'), 'serve', '--port', '0', '--no-default-store', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /Vigil listening on (\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    proc.once('exit', (code) => reject(new Error(`vigil serve exited ${code}`)))
  })
  return { url, proc, dataDir }
}

async function stopServe(s: Serve): Promise<void> {
  const exited = new Promise((r) => s.proc.once('exit', r))
  s.proc.kill('SIGTERM')
  await exited
  rmSync(s.dataDir, { recursive: true, force: true })
}

/** The scripted reviewer: decides every new pending gate through the API the moment it is pushed. */
function startReviewer(base: string): Promise<WebSocket> {
  const seen = new Set<string>()
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/events`, { origin: base })
  ws.on('message', (data) => {
    // reviews-changed is a delta: gates raised since the last push are in `added`.
    const frame = JSON.parse(data.toString()) as { event: string; payload: { added?: { id: string; connected: boolean }[] } }
    if (frame.event !== 'reviews-changed') return
    for (const gate of frame.payload.added ?? []) {
      if (seen.has(gate.id)) continue
      seen.add(gate.id)
      // Its answer may still be on the way when the last round ends and the server stops.
      fetch(`${base}/api/reviews/${encodeURIComponent(gate.id)}`, { method: 'POST', body: '{"decision":"CONTINUE"}' }).catch(() => undefined)
    }
  })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

const request = (reviewId: string) => ({ type: 'review_requested', reviewId, taskDescription: 'Draft the report', taskOutput: 'x'.repeat(2000), timing: 'AFTER_EXECUTION', timeoutMs: 60_000, onTimeout: 'EXIT_EARLY' })

async function measure(name: string, once: (i: number) => Promise<number>): Promise<void> {
  const samples: number[] = []
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const ms = await once(i)
    if (i >= WARMUP) samples.push(ms)
  }
  report(`reviews.roundtrip.${name}`, 'ms', samples, { goal_p95_ms: 50 })
}

async function hubRoundTrip(base: string): Promise<void> {
  const producer = new WebSocket(`${base.replace('http', 'ws')}/ingress`)
  await new Promise((r) => producer.once('open', r))
  let waiting: ((reviewId: string) => void) | null = null
  producer.on('message', (data) => waiting?.((JSON.parse(data.toString()) as { reviewId: string }).reviewId))
  let seq = 0
  await measure('hub', (i) => new Promise((resolve) => {
    const reviewId = `hub-${i}`
    const t0 = performance.now()
    waiting = (id) => {
      if (id === reviewId) resolve(performance.now() - t0)
    }
    producer.send(JSON.stringify({ type: 'event', producer: { producerId: 'bench-producer' }, sequence: ++seq, receivedAt: new Date().toISOString(), message: request(reviewId) }))
  }))
  producer.close()
}

async function apiRoundTrip(base: string): Promise<void> {
  const body = JSON.stringify({ taskDescription: 'Deploy?', taskOutput: 'x'.repeat(2000), timeoutMs: 60_000, onTimeout: 'EXIT_EARLY' })
  await measure('api', async () => {
    const t0 = performance.now()
    const res = await fetch(`${base}/api/reviews?wait=true`, { method: 'POST', body })
    const out = (await res.json()) as { decision: string }
    if (out.decision !== 'CONTINUE') throw new Error(`unexpected ${JSON.stringify(out)}`)
    return performance.now() - t0
  })
}

/** A minimal embedded dashboard: hello, then one review_requested per round; times the decision frame. */
async function attachmentRoundTrip(): Promise<void> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' })
  await new Promise((r) => wss.once('listening', r))
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`
  let client: WebSocket | null = null
  let waiting: ((reviewId: string) => void) | null = null
  const connected = new Promise<void>((resolve) => {
    wss.on('connection', (ws) => {
      client = ws
      ws.send('{"type":"hello"}')
      ws.on('message', (data) => waiting?.((JSON.parse(data.toString()) as { reviewId: string }).reviewId))
      resolve()
    })
  })
  const serve = await startServe(['--attach', url])
  const reviewer = await startReviewer(serve.url)
  await connected
  await measure('attachment', (i) => new Promise((resolve) => {
    const reviewId = `att-${i}`
    const t0 = performance.now()
    waiting = (id) => {
      if (id === reviewId) resolve(performance.now() - t0)
    }
    client!.send(JSON.stringify(request(reviewId)))
  }))
  reviewer.close()
  await stopServe(serve)
  for (const c of wss.clients) c.terminate()
  await new Promise((r) => wss.close(r))
}

export async function run(): Promise<void> {
  const serve = await startServe([])
  const reviewer = await startReviewer(serve.url)
  log(`${ROUNDS} rounds per source (after ${WARMUP} warm-up) against ${serve.url}`)
  await hubRoundTrip(serve.url)
  await apiRoundTrip(serve.url)
  reviewer.close()
  await stopServe(serve)
  await attachmentRoundTrip()
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
