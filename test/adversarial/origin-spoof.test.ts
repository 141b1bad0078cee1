// The spec's Origin spoof list (§3) and its relatives, against every WebSocket endpoint and every
// state-changing HTTP route of the real server bound to 127.0.0.1; plus DNS-rebinding Host headers on
// all of them. test/unit/server/origin-policy.test.ts covers the rule as a function and
// test/integration/{server,hub} a few origins per endpoint; this is the full matrix on the wire.
//
// Expected: a WebSocket from a refused origin is upgraded and then closed 1008 "Origin not allowed"
// with no data and is never counted; a refused POST is 403 and changes nothing; a foreign Host is 403
// before anything else. A missing Origin (non-browser client) is refused on /ws and /api/events and
// accepted on /ingress, POST /api/rpc and POST /api/hub/ingress (JDK publishers and scripts send none).
// Loopback pages on other ports pass only on /ws (no password here: spec §3 compatibility); Vigil's own
// endpoints take only its own origin (test/adversarial/origin-ports.test.ts has the full port matrix).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { envelope, expectIntact, expectServing, rawHttp, rawTcp, seedBaseline, serverCloseCode, sleep, startVigil, waitFor, wsClient } from './support'
import type { Recorded, Vigil } from './support'

let v: Vigil
let baseline: Recorded

beforeAll(async () => {
  v = await startVigil()
  baseline = await seedBaseline(v)
})
afterAll(() => v.close())

/** Origins a page that is not on this machine's loopback could claim (or a browser could send for one). */
const SPOOFED: string[] = [
  'http://localhost.evil.com',
  'http://notlocalhost.com',
  'null',
  'http://evil.com/?host=localhost',
  'http://evil.com/#localhost',
  'http://evil.com/http://localhost',
  'http://127.0.0.1.evil.com',
  'http://localhost@evil.com',
  'http://127.0.0.1@evil.com',
  'http://[::1]@evil.com',
  'http://evil.com\\@localhost',
  'http://localhost%2eevil.com',
  'http://LOCALHOST.EVIL.COM',
  'http://localhost:80.evil.com',
  'http://[::1].evil.com',
  'http://localhost, http://evil.com',
  'http://evil.com, http://localhost',
  'http://localhost.',
  'http://127.0.0.2',
  'http://0.0.0.0',
  'http://[::2]',
  'http://[::ffff:127.0.0.1]',
  'http://192.168.1.5:7400',
  'http://evil.com',
  'https://evil.com:443',
  'file://',
  'file://localhost/etc/passwd',
  'chrome-extension://abcdefghijklmnop',
  'app://renderer',
  'localhost',
  '//localhost',
  'not a url'
]

/** Loopback pages (spec §3: exact host, any scheme and port, case-insensitive). */
const LOOPBACK: string[] = ['http://localhost', 'http://localhost:1', 'https://127.0.0.1:65535', 'http://[::1]:3000', 'HTTP://LOCALHOST:5173', 'http://LocalHost']

const WS_PATHS = ['/ws', '/ingress', '/api/events'] as const

describe('WebSocket endpoints refuse spoofed origins with 1008 and no data', () => {
  for (const path of WS_PATHS) {
    it.each(SPOOFED)(`${path} refuses Origin %j`, async (origin) => {
      const before = v.hub.counters()
      const c = wsClient(v, path, origin)
      await c.opened
      expect(await c.closed).toEqual({ code: 1008, reason: 'Origin not allowed' })
      expect(c.frames).toEqual([])
      expect(await expectServing(v)).toBe(0)
      expect(v.hub.counters().ingressConnections).toBe(before.ingressConnections)
    })
  }

  it('a refused /ingress publisher cannot inject: what it sends before the close is never ingested', async () => {
    const producers = v.hub.producers().length
    for (const origin of ['http://evil.com', 'null', 'http://localhost.evil.com']) {
      const c = wsClient(v, '/ingress', origin)
      await c.opened
      // Send immediately, racing the server's close.
      try {
        c.ws.send(envelope({ producerId: `injected-${origin}` }, 1, { type: 'ensemble_started', ensembleId: 'injected', startedAt: null, totalTasks: 1, workflow: null }))
      } catch {
        // Already closing: fine.
      }
      await c.closed
    }
    await sleep(100)
    expect(v.hub.producers()).toHaveLength(producers)
    expect((await v.service.listRuns()).some((r) => r.ensembleId === 'injected')).toBe(false)
    await expectIntact(v, baseline)
  })

  it('an empty Origin header (sent raw: ws clients drop it) is refused on every WebSocket endpoint and POST route', async () => {
    for (const path of WS_PATHS) {
      const reply = await rawTcp(
        v,
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${v.port}\r\nOrigin: \r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        500
      )
      expect(reply.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /)
      expect(serverCloseCode(reply)).toBe(1008)
      expect(reply.toString('latin1')).not.toContain('hub_hello')
    }
    for (const path of ['/api/rpc/addStore', '/api/hub/ingress']) {
      const reply = await rawTcp(v, `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${v.port}\r\nOrigin: \r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{"args":[]}`)
      expect(reply.toString('latin1')).toMatch(/^HTTP\/1\.1 403 /)
    }
  })

  it('a missing Origin: refused on /ws and /api/events (browsers always send one), accepted on /ingress (publishers send none)', async () => {
    for (const path of ['/ws', '/api/events']) {
      const c = wsClient(v, path, null)
      await c.opened
      expect(await c.closed).toEqual({ code: 1008, reason: 'Origin not allowed' })
      expect(c.frames).toEqual([])
    }
    const p = wsClient(v, '/ingress', null)
    await p.opened
    await sleep(100)
    expect(p.ws.readyState).toBe(p.ws.OPEN)
    p.ws.terminate()
  })

  it.each(LOOPBACK)('loopback page %s is accepted on /ws (spec §3, no password) and refused on /ingress and /api/events', async (origin) => {
    const c = wsClient(v, '/ws', origin)
    await c.opened
    await waitFor(() => c.frames[0]?.startsWith('{"type":"hub_hello"'), 'hub_hello')
    await sleep(30)
    expect(c.ws.readyState).toBe(c.ws.OPEN)
    c.ws.close()
    await c.closed
    for (const path of ['/ingress', '/api/events']) {
      const refused = wsClient(v, path, origin)
      await refused.opened
      expect(await refused.closed, path).toEqual({ code: 1008, reason: 'Origin not allowed' })
      expect(refused.frames).toEqual([])
    }
  })

  it("Vigil's own page is accepted on every WebSocket endpoint", async () => {
    for (const path of WS_PATHS) {
      const c = wsClient(v, path, v.url)
      await c.opened
      if (path === '/ws') await waitFor(() => c.frames[0]?.startsWith('{"type":"hub_hello"'), 'hub_hello')
      await sleep(30)
      expect(c.ws.readyState, path).toBe(c.ws.OPEN)
      c.ws.close()
      await c.closed
    }
  })
})

describe('state-changing HTTP refuses spoofed origins with 403 and changes nothing', () => {
  it.each(SPOOFED)('POST /api/rpc/addAttachment and POST /api/hub/ingress refuse Origin %j', async (origin) => {
    const sources = JSON.stringify(await v.service.listSources())
    const producers = v.hub.producers().length
    const rpcRes = await rawHttp(v, 'POST', '/api/rpc/addAttachment', { origin, 'content-type': 'application/json' }, '{"args":["ws://127.0.0.1:1/ws"]}')
    expect(rpcRes.status).toBe(403)
    expect(JSON.parse(rpcRes.body.toString())).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const hubRes = await rawHttp(v, 'POST', '/api/hub/ingress', { origin, 'content-type': 'application/json' }, envelope({ producerId: 'spoofed' }, 1, { type: 'pong' }))
    expect(hubRes.status).toBe(403)
    // Neither answer lets a page read anything cross-origin.
    for (const res of [rpcRes, hubRes]) {
      expect(res.headers['access-control-allow-origin']).toBeUndefined()
      expect(res.headers['access-control-allow-credentials']).toBeUndefined()
    }
    expect(JSON.stringify(await v.service.listSources())).toBe(sources)
    expect(v.hub.producers()).toHaveLength(producers)
  })

  it.each(SPOOFED)('POST /api/reviews and POST /api/reviews/{id} refuse Origin %j', async (origin) => {
    const pending = (await v.service.listReviews()).pending.length
    const create = await rawHttp(v, 'POST', '/api/reviews', { origin, 'content-type': 'application/json' }, '{"taskDescription":"t","taskOutput":"o","timeoutMs":0,"onTimeout":"CONTINUE"}')
    expect(create.status).toBe(403)
    const decide = await rawHttp(v, 'POST', '/api/reviews/any', { origin, 'content-type': 'application/json' }, '{"decision":"CONTINUE"}')
    expect(decide.status).toBe(403)
    expect((await v.service.listReviews()).pending).toHaveLength(pending)
  })

  it('every RPC method refuses a foreign page, including ones that only read', async () => {
    for (const method of ['listSources', 'getAppInfo', 'listRuns', 'addStore', 'removeSource', 'startDemo', 'importTraceFile', 'exportRunTrace']) {
      const res = await rawHttp(v, 'POST', `/api/rpc/${method}`, { origin: 'http://evil.com', 'content-type': 'application/json' }, '{"args":[]}')
      expect(res.status, method).toBe(403)
    }
    expect((await v.service.getAppInfo()).demoRunning).toBe(false)
  })

  it('CORS preflights get no grant; simple (form-like) cross-site requests are refused before the body is read', async () => {
    const preflight = await rawHttp(v, 'OPTIONS', '/api/rpc/addStore', { origin: 'http://evil.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' })
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
    expect(preflight.headers['access-control-allow-methods']).toBeUndefined()
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await rawHttp(v, 'POST', '/api/rpc/addStore', { origin: 'http://evil.com', 'content-type': type }, 'args=["/etc/passwd"]')
      expect(res.status).toBe(403)
      const hub = await rawHttp(v, 'POST', '/api/hub/ingress', { origin: 'http://evil.com', 'content-type': type }, envelope({ producerId: 'form' }, 1, { type: 'pong' }))
      expect(hub.status).toBe(403)
    }
    // A loopback page on another port is a foreign page (403); even Vigil's own page cannot call the API
    // with a form: the JSON content type is required (it forces a preflight).
    const other = await rawHttp(v, 'POST', '/api/rpc/addStore', { origin: 'http://localhost:3000', 'content-type': 'text/plain' }, '{"args":["/etc/passwd"]}')
    expect(other.status).toBe(403)
    const own = await rawHttp(v, 'POST', '/api/rpc/addStore', { origin: v.url, 'content-type': 'text/plain' }, '{"args":["/etc/passwd"]}')
    expect(own.status).toBe(415)
    expect((await v.service.listSources()).some((s) => s.kind === 'store' && s.path === '/etc/passwd')).toBe(false)
    await expectIntact(v, baseline)
  })

  it("scripts without an Origin and Vigil's own page are accepted; loopback pages on other ports are not", async () => {
    const res = await rawHttp(v, 'POST', '/api/rpc/listSources', { 'content-type': 'application/json' }, '{"args":[]}')
    expect(res.status).toBe(200)
    const own = await rawHttp(v, 'POST', '/api/rpc/listSources', { origin: v.url, 'content-type': 'application/json' }, '{"args":[]}')
    expect(own.status).toBe(200)
    for (const origin of LOOPBACK) {
      const r = await rawHttp(v, 'POST', '/api/rpc/listSources', { origin, 'content-type': 'application/json' }, '{"args":[]}')
      expect(r.status, origin).toBe(403)
    }
  })
})

describe('DNS rebinding: a foreign Host header is refused everywhere', () => {
  const HOSTS = ['evil.com', 'evil.com:7400', 'localhost.evil.com', '127.0.0.1.evil.com', 'localhost@evil.com', '192.168.1.5', '[::2]', '0.0.0.0', '', 'localhost:80:80']
  it.each(HOSTS)('Host %j: 403 on HTTP routes and on every WebSocket upgrade', async (host) => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/index.html'],
      ['GET', '/api/status'],
      ['GET', '/api/hub/producers'],
      ['POST', '/api/rpc/listSources'],
      ['POST', '/api/hub/ingress']
    ] as const) {
      const body = method === 'POST' ? '{"args":[]}' : ''
      const reply = await rawTcp(
        v,
        `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`
      )
      expect(reply.toString('latin1'), `${method} ${path}`).toMatch(/^HTTP\/1\.1 (403|400) /)
      expect(reply.toString('latin1')).not.toContain('<title>Vigil</title>')
    }
    for (const path of WS_PATHS) {
      const reply = await rawTcp(
        v,
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`
      )
      expect(reply.toString('latin1'), `${path}`).toMatch(/^HTTP\/1\.1 (403|400) /)
    }
  })

  it('a request without any Host header (HTTP/1.0) is refused too', async () => {
    const reply = await rawTcp(v, 'GET /api/status HTTP/1.0\r\n\r\n')
    expect(reply.toString('latin1')).toMatch(/^HTTP\/1\.[01] (403|400)/)
    await expectServing(v)
    await expectIntact(v, baseline)
  })
})
