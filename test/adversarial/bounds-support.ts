// Shared by the hard-bounds cases (producer ids, connection caps, idle sockets, slowloris): a real
// Vigil server on 127.0.0.1:0 with chosen caps, the event-loop and heap probes every case asserts
// with, and a check that a fresh browser still gets its hub_hello.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { mkdtempSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import WebSocket from 'ws'
import { VigilService } from '../../src/main/core/vigil-service'
import { LiveHub } from '../../src/main/hub/live-hub'
import type { LiveHubOptions } from '../../src/main/hub/live-hub'
import type { HubCounters } from '../../src/main/hub/types'
import type { ConnectionLimits, ConnectionStats } from '../../src/main/server/connection-limits'
import { serveOnLoopback } from '../support/loopback-vigil'
import type { RunningServer } from '../../src/main/server/vigil-server'
import { held, LOOPBACK_ORIGIN } from './support'

export interface Bounded {
  service: VigilService
  server: RunningServer
  hub: LiveHub
  url: string
  wsUrl: string
  port: number
  close(): Promise<void>
}

/** VigilService + startVigilServer wired as `vigil serve` does (hub + review API), with chosen caps. */
export async function startBounded(
  opts: { hub?: Partial<LiveHubOptions>; limits?: Partial<ConnectionLimits>; eventsIdle?: { pingMs: number; timeoutMs: number } } = {}
): Promise<Bounded> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bounds-'))
  const service = new VigilService({ mode: 'web', version: 'bounds', tmpRoot: join(dir, 'tmp') })
  const hub = opts.hub ? new LiveHub({ tracker: service.registry.tracker, heartbeatMs: 0, ...opts.hub }) : service.hub
  const server = await serveOnLoopback(service, { version: 'bounds', limits: opts.limits, eventsIdle: opts.eventsIdle, ...(opts.hub ? { extensions: [hub] } : {}) })
  return held(service, server, hub, dir)
}

export interface Status {
  name: string
  clients: number
  connections: ConnectionStats
  hub: HubCounters
}

export async function status(v: { url: string }): Promise<Status> {
  const res = await fetch(`${v.url}/api/status`)
  expect(res.status).toBe(200)
  return (await res.json()) as Status
}

/**
 * Event-loop stalls while it runs. `max` is the wall-clock maximum gap between 10 ms ticks
 * (monitorEventLoopDelay's view); `stall` is that gap counted only as far as this process used the
 * CPU during it (process.cpuUsage, all threads), so a test machine that deschedules the process
 * (two cores shared by several test runs) does not read as Vigil blocking its loop, while a
 * synchronous 150 ms of work still reads as 150 ms. Tests assert `stall`, log both.
 */
export function loopProbe(): { stop(): number; stopBoth(): { stall: number; max: number } } {
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  let last = performance.now()
  let lastCpu = process.cpuUsage()
  let stall = 0
  const timer = setInterval(() => {
    const now = performance.now()
    const cpu = process.cpuUsage(lastCpu)
    const gap = now - last - 10
    const cpuMs = (cpu.user + cpu.system) / 1000
    stall = Math.max(stall, Math.min(gap, cpuMs))
    last = now
    lastCpu = process.cpuUsage()
  }, 10)
  const stopBoth = () => {
    clearInterval(timer)
    h.disable()
    // The histogram's delay includes the 10 ms resolution itself.
    return { stall: Math.max(0, stall), max: Math.max(0, h.max / 1e6 - 10) }
  }
  return { stopBoth, stop: () => stopBoth().stall }
}

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** heapUsed in MiB after a full collection. */
export function heapMiB(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed / (1024 * 1024)
}

/** A fresh /ws browser: resolves with its hub_hello (parsed) and how long it took. */
export async function freshHello(v: { wsUrl: string }, timeoutMs = 5000): Promise<{ hello: { type: string; producers: { producerId: string }[] }; ms: number }> {
  const t0 = performance.now()
  const ws = new WebSocket(`${v.wsUrl}/ws`, { origin: LOOPBACK_ORIGIN })
  ws.on('error', () => undefined)
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no hub_hello in time')), timeoutMs)
      ws.once('message', (data: Buffer) => {
        clearTimeout(timer)
        resolve(data.toString())
      })
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
    })
    const hello = JSON.parse(text) as { type: string; producers: { producerId: string }[] }
    expect(hello.type).toBe('hub_hello')
    return { hello, ms: performance.now() - t0 }
  } finally {
    ws.terminate()
  }
}

/** Opens a WebSocket and resolves once it is open, or with the HTTP status and body of a refused upgrade. */
export function tryOpen(url: string, origin?: string): Promise<{ ws: WebSocket; status: 101 } | { status: number; body: string }> {
  const ws = new WebSocket(url, origin === undefined ? {} : { origin })
  ws.on('error', () => undefined)
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ ws, status: 101 }))
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: '' }))
    })
  })
}

/** Opens `n` sockets, `batch` at a time (the listen backlog is finite). */
export async function openMany<T>(n: number, open: () => Promise<T>, batch = 50): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < n; i += batch) out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, open))))
  return out
}

export interface RawUpgrade {
  socket: Socket
  /** The status code of the server's answer (101 when upgraded), once its head arrived. */
  status: Promise<number>
  closed: Promise<void>
}

/**
 * A raw TCP client that asks for a WebSocket on `path` and then never answers a ping. With
 * `read: false` it also stops reading once the answer's head arrived (what it is sent piles up in
 * the server); `closed` then settles only if the server resets the connection.
 */
export function rawUpgrade(port: number, path: string, origin: string | null = null, opts: { read?: boolean } = {}): Promise<RawUpgrade> {
  const socket = netConnect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  const closed = new Promise<void>((r) => socket.on('close', () => r()))
  let head = ''
  const status = new Promise<number>((resolve) => {
    socket.on('data', (d: Buffer) => {
      if (head.includes('\r\n')) return
      head += d.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head)
      if (m) resolve(Number(m[1]))
      if (opts.read === false && head.includes('\r\n\r\n')) socket.pause()
    })
    socket.on('close', () => resolve(0))
  })
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${origin === null ? '' : `Origin: ${origin}\r\n`}\r\n`
      )
      resolve({ socket, status, closed })
    })
  })
}

/** A raw TCP client that sends half a request head and then nothing (slowloris). */
export function halfHead(port: number, path = '/ws'): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = netConnect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  const closed = new Promise<void>((r) => socket.on('close', () => r()))
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`)
      resolve({ socket, closed })
    })
  })
}
