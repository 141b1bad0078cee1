// The web bridge's server on a real socket: API rules, CSRF, origin and Host checks, static files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VigilService } from '../../../src/main/core/vigil-service'
import { startVigilServer, type RunningServer } from '../../../src/main/server/vigil-server'

let dir: string
let service: VigilService
let server: RunningServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-server-'))
  const renderer = join(dir, 'renderer')
  mkdirSync(join(renderer, 'assets'), { recursive: true })
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Vigil</title>')
  writeFileSync(join(renderer, 'assets', 'app.js'), 'export {}')
  writeFileSync(join(dir, 'secret.txt'), 'top secret')
  service = new VigilService({ mode: 'web', version: '1.2.3', tmpRoot: join(dir, 'tmp') })
  server = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: renderer, version: '1.2.3', maxBodyBytes: 1024 * 1024 })
})

afterAll(async () => {
  await server.close()
  await service.close()
  rmSync(dir, { recursive: true, force: true })
})

function rpc(method: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
}

/** A raw request, to send what fetch refuses to (a foreign Host header, odd paths). */
function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
    req.end()
  })
}

function openEvents(origin?: string): Promise<{ code: number; reason: string; messages: string[] } | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, origin === undefined ? {} : { origin })
    const messages: string[] = []
    ws.on('message', (d: Buffer) => messages.push(d.toString()))
    ws.on('open', () => setTimeout(() => (ws.readyState === ws.OPEN ? (ws.close(), resolve('open')) : undefined), 200))
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), messages }))
    ws.on('error', () => undefined)
  })
}

describe('vigil server', () => {
  it('reports status with the client count', async () => {
    const res = await fetch(`${server.url}/api/status`)
    expect(await res.json()).toMatchObject({ name: 'vigil', version: '1.2.3', clients: 0, connections: { open: { total: 0 } } })
  })

  it('answers API calls as {ok, value} and errors with the matching HTTP status', async () => {
    expect(await (await rpc('listSources', '{"args":[]}')).json()).toEqual({ ok: true, value: [] })
    const bad = await rpc('addStore', '{"args":[1]}')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad-request')
    expect((await rpc('listSessions', '{"args":["nope"]}')).status).toBe(404)
    expect((await rpc('noSuchMethod', '{"args":[]}')).status).toBe(404)
    expect((await rpc('__proto__', '{"args":[]}')).status).toBe(404)
  })

  it('refuses malformed, mistyped and oversized bodies', async () => {
    expect((await rpc('listSources', '{oops')).status).toBe(400)
    expect((await rpc('listSources', '{"args":"x"}')).status).toBe(400)
    const text = await fetch(`${server.url}/api/rpc/listSources`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"args":[]}' })
    expect(text.status).toBe(415)
    const big = await rpc('addStore', JSON.stringify({ args: ['x'.repeat(2 * 1024 * 1024)] }))
    expect(big.status).toBe(413)
    expect((await fetch(`${server.url}/api/rpc/listSources`)).status).toBe(405)
  })

  it('refuses state-changing calls from foreign pages (CSRF) but not from its own or from scripts', async () => {
    const foreign = await rpc('addStore', '{"args":["/tmp/x.db"]}', { origin: 'http://evil.com' })
    expect(foreign.status).toBe(403)
    expect((await rpc('addStore', '{"args":["/tmp/x.db"]}', { origin: 'null' })).status).toBe(403)
    expect((await rpc('listSources', '{"args":[]}', { origin: server.url })).status).toBe(200)
    expect((await rpc('listSources', '{"args":[]}')).status).toBe(200)
    expect(await service.listSources()).toEqual([])
  })

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    expect((await raw('/api/status', { host: 'attacker.example' })).status).toBe(403)
    expect((await raw('/api/status', { host: `localhost:${server.port}` })).status).toBe(200)
  })

  it('serves the renderer with a strict CSP, and nothing outside it', async () => {
    const index = await raw('/', { host: `127.0.0.1:${server.port}` })
    expect(index.status).toBe(200)
    expect(String(index.headers['content-security-policy'])).toContain("script-src 'self'")
    expect(String(index.headers['content-security-policy'])).not.toContain('unsafe-eval')
    expect(index.headers['x-content-type-options']).toBe('nosniff')
    expect((await raw('/store/abc', { host: `127.0.0.1:${server.port}` })).body).toContain('<title>Vigil</title>')
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%5csecret.txt']) {
      const res = await raw(path, { host: `127.0.0.1:${server.port}` })
      expect(res.body).not.toContain('top secret')
    }
  })

  it('streams events to a local page and refuses other origins with 1008 and no data', async () => {
    for (const origin of [undefined, 'null', 'http://localhost.evil.com', 'http://evil.com/?host=localhost']) {
      const result = await openEvents(origin)
      expect(result).toEqual({ code: 1008, reason: 'Origin not allowed', messages: [] })
    }
    const frames: string[] = []
    // Vigil's own endpoint: a page on another local port is refused, its own page is served.
    expect(await openEvents('http://localhost:5173')).toEqual({ code: 1008, reason: 'Origin not allowed', messages: [] })
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { origin: server.url })
    await new Promise((r) => ws.on('open', r))
    ws.on('message', (d: Buffer) => frames.push(d.toString()))
    expect(((await (await fetch(`${server.url}/api/status`)).json()) as { clients: number }).clients).toBe(1)
    service.events.emit('navigate', { route: '#/x' })
    await new Promise((r) => setTimeout(r, 100))
    expect(frames.map((f) => JSON.parse(f))).toEqual([{ event: 'navigate', payload: { route: '#/x' } }])
    ws.close()
  })

  it('closes unknown WebSocket paths', async () => {
    const err = await new Promise<Error>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/nope`, { origin: 'http://localhost' })
      ws.on('error', resolve)
    })
    expect(err.message).toMatch(/404/)
  })
})

describe('server extensions', () => {
  it('route HTTP and upgrades to extensions, count their clients, and close them', async () => {
    let closed = false
    const ext = {
      handleHttp: (_req: unknown, res: ServerResponse, path: string) => {
        if (path !== '/api/hub/producers') return false
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"producers":[],"total":0}')
        return true
      },
      handleUpgrade: (_req: unknown, socket: Duplex, _head: Buffer, path: string) => {
        if (path !== '/ingress') return false
        socket.end('HTTP/1.1 418 I am a teapot\r\n\r\n')
        return true
      },
      clientCount: () => 3,
      close: async () => {
        closed = true
      }
    }
    const svc = new VigilService({ mode: 'web', version: '0', tmpRoot: join(dir, 'ext-tmp') })
    const srv = await startVigilServer({ host: '127.0.0.1', port: 0, api: svc, events: svc.events, staticDir: null, version: '0', extensions: [ext] })
    try {
      expect(await (await fetch(`${srv.url}/api/hub/producers`)).json()).toEqual({ producers: [], total: 0 })
      expect(((await (await fetch(`${srv.url}/api/status`)).json()) as { clients: number }).clients).toBe(3)
      expect((await fetch(`${srv.url}/api/other`)).status).toBe(404)
      const err = await new Promise<Error>((resolve) => new WebSocket(`${srv.url.replace('http', 'ws')}/ingress`).on('error', resolve))
      expect(err.message).toMatch(/418/)
    } finally {
      await srv.close()
      await svc.close()
    }
    expect(closed).toBe(true)
  })
})
