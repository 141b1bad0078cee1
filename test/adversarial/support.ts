// The adversarial suite's harness: the real Vigil server in-process (VigilService + startVigilServer +
// the service's own extensions — LiveHub and the review API — as `vigil serve` wires them, recording into a real DuckDB file, a real renderer folder next to files
// it must never serve), a baseline run ingested before the attack, and the checks every case ends
// with: the server still answers `GET /api/status`, and nothing recorded before the attack changed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import WebSocket from 'ws'
import { VigilService } from '../../src/main/core/vigil-service'
import { LiveHub } from '../../src/main/hub/live-hub'
import type { LiveHubOptions } from '../../src/main/hub/live-hub'
import { serveOnLoopback } from '../support/loopback-vigil'
import type { RunningServer } from '../../src/main/server/vigil-server'
import { serializeServerMessage } from '../../src/shared/protocol/agentensemble'
import type { DashboardMessage, ProducerInfo } from '../../src/shared/protocol/agentensemble'
import { connect, waitFor } from '../integration/live/helpers'
import type { TestClient } from '../integration/live/helpers'
import { realisticRun } from '../unit/hub/frames'

export { connect, waitFor }
export type { TestClient }

/** The content of the file planted outside the renderer folder; no response may ever contain it. */
export const SECRET = 'TOP-SECRET-7f3a9c'
export const LOOPBACK_ORIGIN = 'http://localhost:5173'
export const AT = '2026-03-05T14:00:00Z'
export const BASELINE: ProducerInfo = { producerId: 'baseline-pod-1', serviceName: 'baseline', instanceId: 'pod-1' }

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface Vigil {
  service: VigilService
  server: RunningServer
  hub: LiveHub
  /** Temp root: renderer/, secret.txt, recordings.duckdb, tmp/. */
  dir: string
  rendererDir: string
  url: string
  wsUrl: string
  port: number
  close(): Promise<void>
}

export interface StartOptions {
  /** Record into <dir>/recordings.duckdb as `vigil serve` does (default true). */
  record?: boolean
  /** A LiveHub with these options instead of the service's default one. */
  hub?: Partial<LiveHubOptions>
  /** Runs before recording starts (e.g. to plant a broken <dir>/recordings.duckdb). */
  prepare?: (dir: string) => Promise<void> | void
  /** How often Perspt stores are polled (default: the service's). */
  pollMs?: number
  /** Expect recording to start (default true when recording). */
  expectRecording?: boolean
}

export const recordingPath = (dir: string) => join(dir, 'recordings.duckdb')

/** Starts Vigil as `vigil serve` wires it (service.hub as the server extension), on 127.0.0.1:0. */
export async function startVigil(opts: StartOptions = {}): Promise<Vigil> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-adv-'))
  const rendererDir = join(dir, 'renderer')
  mkdirSync(join(rendererDir, 'assets'), { recursive: true })
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Vigil</title>')
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'export {}')
  writeFileSync(join(dir, 'secret.txt'), SECRET)
  writeFileSync(join(dir, 'renderer-secret.txt'), SECRET) // a sibling whose name starts like the root's
  const service = new VigilService({ mode: 'web', version: 'adv', tmpRoot: join(dir, 'tmp'), pollMs: opts.pollMs })
  await opts.prepare?.(dir)
  if (opts.record ?? true) {
    await service.startRecording(recordingPath(dir))
    if (opts.expectRecording ?? true) expect((await service.getAppInfo()).recording.active).toBe(true)
  }
  const hub = opts.hub ? new LiveHub({ tracker: service.registry.tracker, ...opts.hub }) : service.hub
  // As `vigil serve` wires it: the hub and the review API (or a custom hub alone).
  const server = await serveOnLoopback(service, { staticDir: rendererDir, version: 'adv', ...(opts.hub ? { extensions: [hub] } : {}) })
  return { ...held(service, server, hub, dir), dir, rendererDir }
}

/** A running in-process Vigil as tests hold it: its URLs, and a close that also stops a custom hub and removes `dir`. */
export function held(service: VigilService, server: RunningServer, hub: LiveHub, dir: string) {
  return {
    service,
    server,
    hub,
    url: server.url,
    wsUrl: server.url.replace('http', 'ws'),
    port: server.port,
    close: async () => {
      await server.close()
      if (hub !== service.hub) await hub.close()
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Frames

export function envelope(producer: ProducerInfo, sequence: number, message: DashboardMessage, receivedAt = AT): string {
  return serializeServerMessage({ type: 'event', producer, sequence, receivedAt, message })
}

/** One token envelope of about `bytes` bytes (tokens are relayed but neither snapshotted nor stored in full). */
export function bulkToken(producer: ProducerInfo, sequence: number, bytes: number): string {
  return envelope(producer, sequence, { type: 'token', token: 'x'.repeat(bytes), agentRole: 'Writer', taskDescription: 'Bulk', sentAt: null })
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** A raw HTTP request (any path, any headers, any body), bypassing fetch's normalisation. */
export function rawHttp(v: Vigil, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: v.port, method, path, headers: { host: `127.0.0.1:${v.port}`, connection: 'close', ...headers }, insecureHTTPParser: true },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Raw bytes on a fresh TCP connection; resolves with everything the server sent before closing (or after `ms`). */
export function rawTcp(v: Vigil, bytes: string | Buffer, ms = 1500): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket: Socket = netConnect(v.port, '127.0.0.1', () => socket.write(bytes))
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(Buffer.concat(chunks))
    }
    const timer = setTimeout(done, ms)
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.on('close', done)
    socket.on('error', done)
  })
}

export async function postIngress(v: Vigil, body: string | Buffer, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${v.url}/api/hub/ingress`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  await res.arrayBuffer()
  return res.status
}

export async function rpc(v: Vigil, method: string, args: unknown[], headers: Record<string, string> = {}): Promise<{ status: number; body: { ok: boolean; value?: unknown; error?: { code: string; message: string } } }> {
  const res = await fetch(`${v.url}/api/rpc/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ args })
  })
  return { status: res.status, body: (await res.json()) as { ok: boolean } }
}

/** `GET /api/status` must answer 200 with Vigil's name; returns the client count. */
export async function expectServing(v: Vigil): Promise<number> {
  const res = await fetch(`${v.url}/api/status`)
  expect(res.status).toBe(200)
  const body = (await res.json()) as { name: string; clients: number }
  expect(body.name).toBe('vigil')
  return body.clients
}

// ---------------------------------------------------------------------------------------------
// WebSocket clients

/** A WebSocket client; by default from Vigil's own page (the only origin every endpoint accepts). */
export function wsClient(v: Vigil, path: string, origin: string | null = v.url): TestClient {
  return connect(`${v.wsUrl}${path}`, origin ?? undefined)
}

/** A WebSocket the server accepted and that proves it still works: a ping on /ws answers pong. */
export async function expectPong(c: TestClient): Promise<void> {
  const before = c.frames.length
  c.ws.send('{"type":"ping"}')
  await waitFor(() => c.frames.slice(before).includes('{"type":"pong"}'), 'pong')
}

/** Sends one complete WebSocket frame by hand (masked as a client must, unless told otherwise). */
export function clientFrame(opcode: number, payload: Buffer, opts: { fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer {
  const fin = opts.fin ?? true
  const mask = opts.mask ?? true
  const len = payload.length
  const head: number[] = [(fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode]
  const m = mask ? 0x80 : 0
  if (len < 126) head.push(m | len)
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff)
  else {
    head.push(m | 127)
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(BigInt(len))
    head.push(...b)
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload])
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78])
  const masked = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!))
  return Buffer.concat([Buffer.from(head), key, masked])
}

/** A raw TCP client that completes the WebSocket handshake on `path` and then does what the test says. */
export async function rawWebSocket(v: Vigil, path: string, origin: string | null = v.url): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = netConnect(v.port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (d: Buffer) => chunks.push(d))
  socket.on('error', () => undefined)
  const closed = new Promise<void>((r) => socket.on('close', () => r()))
  await new Promise<void>((r) => socket.once('connect', () => r()))
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${v.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${origin === null ? '' : `Origin: ${origin}\r\n`}\r\n`
  )
  await waitFor(() => Buffer.concat(chunks).includes('\r\n\r\n'), 'handshake')
  expect(Buffer.concat(chunks).toString('latin1')).toMatch(/^HTTP\/1\.1 101 /)
  return { socket, received: () => Buffer.concat(chunks), closed }
}

/** The close code in the first close frame the server sent on a raw socket, or null. */
export function serverCloseCode(bytes: Buffer): number | null {
  let at = bytes.indexOf('\r\n\r\n') + 4
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f
    let len = bytes[at + 1]! & 0x7f
    let off = at + 2
    if (len === 126) {
      len = bytes.readUInt16BE(off)
      off += 2
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(off))
      off += 8
    }
    if (opcode === 0x8) return len >= 2 ? bytes.readUInt16BE(off) : 1005
    at = off + len
  }
  return null
}

// ---------------------------------------------------------------------------------------------
// "Nothing recorded is lost"

export interface Recorded {
  runId: string
  eventCount: number
  /** getRun(runId, 500) as JSON. */
  detail: string
  /** The run as exported from the recording file (the recorder's content). */
  trace: string
  runCount: number
}

/** Ingests a realistic 56-event run as producer `BASELINE` through POST /api/hub/ingress and returns its run. */
export async function seedBaseline(v: Vigil, ensembleId = 'baseline-run'): Promise<Recorded> {
  let seq = 0
  for (const message of realisticRun(ensembleId)) {
    expect(await postIngress(v, envelope(BASELINE, ++seq, message))).toBe(202)
  }
  const run = await waitFor(() => v.service.registry.tracker.listRuns().find((r) => r.ensembleId === ensembleId && r.status === 'completed'), 'baseline run')
  expect(run.eventCount).toBeGreaterThanOrEqual(56)
  return recorded(v, run.runId)
}

export async function recorded(v: Vigil, runId: string): Promise<Recorded> {
  const runs = await v.service.listRuns()
  const run = runs.find((r) => r.runId === runId)
  expect(run, `run ${runId}`).toBeDefined()
  return {
    runId,
    eventCount: run!.eventCount,
    detail: JSON.stringify(await v.service.getRun(runId, 500)),
    trace: (await v.service.exportRunTrace(runId)).json,
    runCount: runs.length
  }
}

/** The server still serves, and the baseline run is exactly as it was: same events in memory and in the recording. */
export async function expectIntact(v: Vigil, before: Recorded): Promise<void> {
  await expectServing(v)
  const now = await recorded(v, before.runId)
  expect(now.eventCount).toBe(before.eventCount)
  expect(now.detail).toBe(before.detail)
  expect(now.trace).toBe(before.trace)
  expect(now.runCount).toBeGreaterThanOrEqual(before.runCount)
}

/** Opens a socket that must be accepted, and waits for it to be open. */
export async function opened(c: TestClient): Promise<TestClient> {
  await c.opened
  return c
}

export function isOpen(c: TestClient): boolean {
  return c.ws.readyState === WebSocket.OPEN
}
