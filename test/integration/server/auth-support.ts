// Shared by the auth*.test.ts files: a real Vigil server with a chosen auth, and raw HTTP/WebSocket
// clients that can send what fetch refuses to (Host, Origin, Cookie) from a chosen local address.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { VigilService } from '../../../src/main/core/vigil-service'
import { createAuth, type AuthOptions } from '../../../src/main/server/auth/auth-gate'
import { startVigilServer, type RunningServer, type ServerExtension } from '../../../src/main/server/vigil-server'

export interface TestServer {
  server: RunningServer
  service: VigilService
  host: string
  port: number
  close(): Promise<void>
}

/** A non-loopback IPv4 address of this machine (real "remote" callers), or null when there is none. */
export function lanAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return null
}

export async function startTestServer(opts: { host?: string; auth?: AuthOptions; extensions?: ServerExtension[] } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-auth-'))
  const renderer = join(dir, 'renderer')
  mkdirSync(join(renderer, 'assets'), { recursive: true })
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Vigil</title>')
  writeFileSync(join(renderer, 'assets', 'app.js'), 'export {}')
  const service = new VigilService({ mode: 'web', version: '1.2.3', tmpRoot: join(dir, 'tmp') })
  const host = opts.host ?? '127.0.0.1'
  let server: RunningServer
  try {
    server = await startVigilServer({
      host,
      port: 0,
      api: service,
      events: service.events,
      staticDir: renderer,
      version: '1.2.3',
      extensions: [...service.serverExtensions(), ...(opts.extensions ?? [])],
      auth: opts.auth ? createAuth(opts.auth) : undefined
    })
  } catch (err) {
    await service.close()
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return {
    server,
    service,
    host,
    port: server.port,
    async close() {
      await server.close()
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface Call {
  method?: string
  headers?: Record<string, string>
  body?: string
}

/** One HTTP request to `host:port` (the connection's local address is then chosen by the OS route). */
export function call(s: Pick<TestServer, 'host' | 'port'>, path: string, c: Call = {}): Promise<Reply> {
  const headers: Record<string, string> = { host: `${s.host}:${s.port}`, ...c.headers }
  if (c.body !== undefined) headers['content-length'] = String(Buffer.byteLength(c.body))
  return new Promise((resolve, reject) => {
    const req = request({ host: s.host, port: s.port, path, method: c.method ?? 'GET', headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(c.body)
  })
}

export const json = (body: unknown, headers: Record<string, string> = {}): Call => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body)
})

export const form = (fields: Record<string, string>, headers: Record<string, string> = {}): Call => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString()
})

/** The `name=value` part of a Set-Cookie reply, for the next request's Cookie header. */
export function cookieOf(reply: Reply): string {
  const set = reply.headers['set-cookie']
  const first = Array.isArray(set) ? set[0] : set
  if (!first) throw new Error(`no Set-Cookie in ${reply.status} ${reply.body}`)
  return first.split(';')[0]!
}

export async function login(s: Pick<TestServer, 'host' | 'port'>, password: string): Promise<string> {
  const reply = await call(s, '/api/login', json({ password }))
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.body}`)
  return cookieOf(reply)
}

export type SocketResult = { kind: 'open'; ws: WebSocket; messages: string[] } | { kind: 'refused'; status: number; body: string }

/** Opens a WebSocket; resolves once it is open (collecting frames) or once the upgrade is refused. */
export function openSocket(s: Pick<TestServer, 'host' | 'port'>, path: string, headers: Record<string, string> = {}): Promise<SocketResult> {
  const host = s.host.includes(':') ? `[${s.host}]` : s.host
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${host}:${s.port}${path}`, { headers })
    const messages: string[] = []
    ws.on('message', (d: Buffer) => messages.push(d.toString()))
    ws.on('open', () => resolve({ kind: 'open', ws, messages }))
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, body }))
    })
    ws.on('error', (err) => reject(err))
  })
}

export function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) resolve(-1)
    else ws.once('close', (code) => resolve(code))
  })
}
