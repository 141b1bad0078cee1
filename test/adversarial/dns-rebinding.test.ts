// Issue 11 item 4: DNS rebinding is refused in every mode. A page on evil.example that re-points its name
// at this machine makes the browser send `Host: evil.example[:port]`; Vigil answers 403 before any route,
// on loopback and — the gap this closes — on a non-loopback binding started with --insecure, with or
// without a password. 127.0.0.2 stands in for a LAN address: Vigil treats it as non-loopback (only
// localhost, 127.0.0.1 and ::1 are loopback bindings) while the test never leaves this machine.
import { mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseArgs, type ServeOptions } from '../../src/main/cli/args'
import { startServe, type RunningVigil } from '../../src/main/cli/serve'
import { startTestServer, type TestServer } from '../integration/server/auth-support'
import { rawRequest, tryUpgrade } from './auth-attack-support'

const PASSWORD = 'adv-Rebind-Password-33'
const FOREIGN = (port: number) => ['evil.example', `evil.example:${port}`, 'localhost.evil.example', `127.0.0.2.nip.io:${port}`, 'attacker', `evil.example:${port}@127.0.0.2`]

interface Target {
  name: string
  host: string
  port: number
  close(): Promise<void>
}

const targets: Target[] = []
let dataDir: string
let cli: RunningVigil

beforeAll(async () => {
  const fromServer = (name: string, s: TestServer): Target => ({ name, host: s.host, port: s.port, close: () => s.close() })
  targets.push(fromServer('loopback, no password', await startTestServer()))
  targets.push(fromServer('127.0.0.2 --insecure, no password', await startTestServer({ host: '127.0.0.2', auth: { insecure: true } })))
  targets.push(fromServer('127.0.0.2 --insecure with a password', await startTestServer({ host: '127.0.0.2', auth: { insecure: true, password: PASSWORD } })))
  // The real command line: `vigil serve --host 127.0.0.2 --insecure`.
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-rebind-'))
  const opts = parseArgs(['serve', '--host', '127.0.0.2', '--port', '0', '--insecure', '--no-default-store', '--data-dir', dataDir]) as ServeOptions
  cli = await startServe(opts, { version: 'adv', staticDir: null, env: {}, warn: () => undefined })
  targets.push({ name: 'vigil serve --host 127.0.0.2 --insecure', host: '127.0.0.2', port: cli.server.port, close: () => cli.close() })
})
afterAll(async () => {
  for (const t of targets) await t.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const ROUTES = [
  ['GET', '/'],
  ['GET', '/api/status'],
  ['GET', '/api/reviews'],
  ['GET', '/api/hub/producers'],
  ['POST', '/api/rpc/listSources'],
  ['POST', '/api/login'],
  ['POST', '/api/reviews']
] as const

function send(t: Target, method: string, path: string, host: string) {
  const body = method === 'POST' ? '{"args":[]}' : undefined
  return rawRequest(t.port, { method, path, headers: { host, 'content-type': 'application/json' }, body }, t.host)
}

describe.each([0, 1, 2, 3])('DNS rebinding against target %i', (index) => {
  it('a foreign Host is 403 on every HTTP route and every WebSocket upgrade; the server’s own address is served', async () => {
    const t = targets[index]!
    for (const host of FOREIGN(t.port)) {
      for (const [method, path] of ROUTES) {
        const reply = await send(t, method, path, host)
        expect(reply.status, `${t.name}: ${method} ${path} Host ${host}`).toBe(403)
        expect(reply.body).not.toContain('"version"')
      }
      for (const path of ['/ws', '/api/events', '/ingress']) {
        const r = await tryUpgrade(t.port, path, { host, origin: `http://${host}` }, 300, t.host)
        expect(r, `${t.name}: ${path} Host ${host}`).toEqual({ kind: 'http', status: 403 })
      }
    }
    // Control: the same requests under the address the server listens on are answered.
    const own = `${t.host}:${t.port}`
    const status = await send(t, 'GET', '/api/status', own)
    expect(status.status, t.name).toBe(200)
    expect(JSON.parse(status.body)).toMatchObject({ name: 'vigil' })
    const ws = await tryUpgrade(t.port, '/api/events', { host: own, origin: `http://${own}` }, 300, t.host)
    expect(ws, t.name).toEqual(t.name.includes('with a password') ? { kind: 'http', status: 401 } : { kind: 'ws', closeCode: null, frames: [] })
  })
})

describe('names a non-loopback binding does accept', () => {
  it('IP addresses, loopback names and this machine’s own name pass; a name the user allowed with --allow-origin (a reverse proxy) passes', async () => {
    const t = targets[1]!
    for (const host of [`127.0.0.2:${t.port}`, `localhost:${t.port}`, `127.0.0.1:${t.port}`, `${hostname()}:${t.port}`]) {
      expect((await send(t, 'GET', '/api/status', host)).status, host).toBe(200)
    }
    const proxied = await startTestServer({ host: '127.0.0.2', auth: { insecure: true, allowOrigins: ['https://vigil.example'] } })
    try {
      const base = { port: proxied.port, host: '127.0.0.2' }
      const asProxy = (host: string, origin: string) =>
        rawRequest(base.port, { method: 'POST', path: '/api/rpc/listSources', headers: { host, origin, 'x-forwarded-proto': 'https', 'content-type': 'application/json' }, body: '{"args":[]}' }, base.host)
      expect((await asProxy('vigil.example', 'https://vigil.example')).status).toBe(200)
      expect((await asProxy('evil.example', 'https://evil.example')).status).toBe(403)
    } finally {
      await proxied.close()
    }
  })
})
