// Slowloris (issue 10 §4): a client that trickles its request head or body must not hold a socket
// for long. Vigil's server cuts a head not complete within headersTimeoutMs (default 10 s) and a
// request not complete within requestTimeoutMs (default 60 s), checked every second; an API body
// not read within bodyTimeoutMs (default 30 s; readBody's deadline) gets 408 and the socket is closed.
// Shortened here. Meanwhile other clients are served at once.
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { VigilService } from '../../src/main/core/vigil-service'
import { ReviewHttpApi } from '../../src/main/reviews/review-http'
import { CONNECTION_LIMITS } from '../../src/main/server/connection-limits'
import { BODY_TIMEOUT_MS, BodyTimeoutError, readBody, sendBodyTimeout } from '../../src/main/server/json-http'
import { serveOnLoopback } from '../support/loopback-vigil'
import { freshHello, loopProbe, openMany, startBounded, status } from './bounds-support'
import type { Bounded } from './bounds-support'

let v: Bounded | null = null
afterEach(async () => {
  await v?.close()
  v = null
})

interface Trickler {
  socket: Socket
  /** ms from connect to the server closing the socket; everything it answered. */
  done: Promise<{ ms: number; answer: string }>
  stop(): void
}

/** Connects and writes `head` then `chunks`, one every `everyMs`, until the server closes the socket. */
function trickle(port: number, head: string, chunk: string, everyMs: number): Promise<Trickler> {
  const socket = netConnect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  let answer = ''
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
  let timer: NodeJS.Timeout | null = null
  return new Promise((resolve) => {
    socket.once('connect', () => {
      const t0 = performance.now()
      const done = new Promise<{ ms: number; answer: string }>((r) =>
        socket.on('close', () => {
          if (timer) clearInterval(timer)
          r({ ms: performance.now() - t0, answer })
        })
      )
      socket.write(head)
      timer = setInterval(() => {
        if (!socket.destroyed) socket.write(chunk)
      }, everyMs)
      resolve({ socket, done, stop: () => socket.destroy() })
    })
  })
}

describe('slowloris', () => {
  it('defaults: 10 s for a request head, 60 s for a whole request, 30 s for an API body', () => {
    expect(CONNECTION_LIMITS.headersTimeoutMs).toBe(10_000)
    expect(CONNECTION_LIMITS.requestTimeoutMs).toBe(60_000)
    expect(CONNECTION_LIMITS.bodyTimeoutMs).toBe(BODY_TIMEOUT_MS)
    expect(BODY_TIMEOUT_MS).toBe(30_000)
  })

  it('200 clients trickling their request heads are cut by the header timeout; others are served at once meanwhile', async () => {
    v = await startBounded({ limits: { headersTimeoutMs: 1500, requestTimeoutMs: 5000 } })
    const probe = loopProbe()
    const port = v.port
    const tricklers = await openMany(200, () => trickle(port, 'GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: a\r\n', 200))
    // Served at once while 200 heads are pending.
    const t0 = performance.now()
    const s = await status(v)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(s.connections.sockets).toBeGreaterThanOrEqual(200)
    await freshHello(v)
    const results = await Promise.all(tricklers.map((t) => t.done))
    const slowest = Math.max(...results.map((r) => r.ms))
    // headersTimeout plus the 1 s check interval, plus slack for a loaded machine.
    expect(slowest).toBeLessThan(1500 + 1000 + 1500)
    expect(Math.min(...results.map((r) => r.ms))).toBeGreaterThan(1000)
    // None of them got an answer to its request.
    expect(results.every((r) => !r.answer.startsWith('HTTP/1.1 200'))).toBe(true)
    const { stall } = probe.stopBoth()
    expect(stall).toBeLessThan(100)
    console.log('slowloris/heads:', JSON.stringify({ clients: 200, slowestCutMs: Math.round(slowest), stallMs: Math.round(stall) }))
  })

  it('a body trickled into POST /api/hub/ingress is cut by the request timeout', async () => {
    v = await startBounded({ limits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } })
    const head = `POST /api/hub/ingress HTTP/1.1\r\nHost: 127.0.0.1:${v.port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"type":"event"`
    const t = await trickle(v.port, head, ' ', 100)
    const { ms } = await t.done
    expect(ms).toBeGreaterThan(1500)
    expect(ms).toBeLessThan(2000 + 1000 + 1500)
    expect((await status(v)).connections.sockets).toBeLessThanOrEqual(1)
  })

  it('an API call whose body does not arrive within bodyTimeoutMs gets 408 and its socket is closed', async () => {
    v = await startBounded({ limits: { bodyTimeoutMs: 800, requestTimeoutMs: 20_000 } })
    const head = `POST /api/rpc/getAppInfo HTTP/1.1\r\nHost: 127.0.0.1:${v.port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"args":`
    const t = await trickle(v.port, head, ' ', 100)
    const { ms, answer } = await t.done
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(answer).toContain('Request body not received in time.')
    expect(ms).toBeGreaterThan(700)
    expect(ms).toBeLessThan(800 + 1000 + 1500)
  })

  it('a review API body that does not arrive in time gets 408, not 500', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-slow-review-'))
    const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(dir, 'tmp') })
    const server = await serveOnLoopback(service, { extensions: [new ReviewHttpApi(service.reviews, 800)] })
    try {
      const head = `POST /api/reviews HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"taskDescription":`
      const t = await trickle(server.port, head, ' ', 100)
      const { answer } = await t.done
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
      expect(answer).toContain('Request body not received in time.')
    } finally {
      await server.close()
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('readBody (every JSON reader: hub ingress, review API, login) rejects a trickled body at its deadline; sendBodyTimeout answers 408', async () => {
    const seen: unknown[] = []
    const server = createServer((req, res) => {
      readBody(req, 1024 * 1024, 500).then(
        () => res.end('read'),
        (err: unknown) => {
          seen.push(err)
          if (err instanceof BodyTimeoutError) sendBodyTimeout(res)
        }
      )
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (server.address() as AddressInfo).port
      const t0 = performance.now()
      const answer = await new Promise<{ status: number; ms: number }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': 1000 } }, (res) => {
          res.resume()
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 })
        })
        req.on('error', reject)
        const timer = setInterval(() => req.write(' '), 100)
        req.on('close', () => clearInterval(timer))
        req.on('response', () => clearInterval(timer))
      })
      expect(answer.status).toBe(408)
      expect(answer.ms).toBeGreaterThan(400)
      expect(answer.ms).toBeLessThan(2000)
      expect(seen[0]).toBeInstanceOf(BodyTimeoutError)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  })
})
