// Issue 11 item 4, on the wire: a page on ANOTHER LOCAL PORT (or scheme) of the same machine, in a browser
// that holds a valid session cookie (browsers send cookies to every port of a host), is refused on every
// one of Vigil's endpoints. Only Vigil's own origin — exact scheme, host and port — passes; /ws also
// takes --allow-origin origins, and AgentEnsemble's loopback rule only while no password is set.
// test/e2e/cross-port.spec.ts does the same with a real Chromium page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../integration/server/auth-support'
import { rawRequest, tryUpgrade, type RawReply } from './auth-attack-support'

const PASSWORD = 'adv-Origin-Password-17'
const VIZ = 'http://localhost:7329' // AgentEnsemble's viz, allowed with --allow-origin
const GATE = JSON.stringify({ taskDescription: 'Deploy 2.4?', taskOutput: 'changelog', timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' })

let withPassword: TestServer
let open: TestServer
let cookie: string

beforeAll(async () => {
  withPassword = await startTestServer({ auth: { password: PASSWORD, allowOrigins: [VIZ] } })
  open = await startTestServer({ auth: { allowOrigins: [VIZ] } })
  const reply = await http(withPassword, 'POST', '/api/login', {}, JSON.stringify({ password: PASSWORD }))
  expect(reply.status).toBe(200)
  cookie = /^(vigil_session_\d+=[^;]+)/.exec(reply.headers['set-cookie']!)![1]!
})
afterAll(async () => {
  await withPassword.close()
  await open.close()
})

const own = (t: TestServer) => `http://127.0.0.1:${t.port}`
/** Pages of the same machine that are not Vigil: other ports, other loopback names, another scheme. */
const others = (t: TestServer) => [
  `http://127.0.0.1:${t.port + 1}`,
  'http://localhost:5173',
  `http://localhost:${t.port}`, // another host name: another origin (its Host header would differ)
  'http://[::1]:3000',
  `https://127.0.0.1:${t.port}`,
  'http://127.0.0.1',
  VIZ // allowed on /ws only
]

function http(t: TestServer, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawReply> {
  return rawRequest(t.port, { method, path, headers: { host: `127.0.0.1:${t.port}`, 'content-type': 'application/json', ...headers }, body })
}

async function pendingIds(t: TestServer): Promise<string[]> {
  const list = await http(t, 'GET', '/api/reviews', { cookie })
  expect(list.status).toBe(200)
  return (JSON.parse(list.body) as { reviews: Array<{ reviewId: string }> }).reviews.map((r) => r.reviewId)
}

describe('with a password: a logged-in browser on another local port gets nothing', () => {
  it('POST /api/rpc: 403 for every other origin, with the cookie; 200 from Vigil’s own page', async () => {
    for (const origin of others(withPassword)) {
      const reply = await http(withPassword, 'POST', '/api/rpc/addAttachment', { origin, cookie }, '{"args":["ws://127.0.0.1:1/ws"]}')
      expect(reply.status, origin).toBe(403)
      expect(reply.headers['access-control-allow-origin']).toBeUndefined()
    }
    expect((await withPassword.service.listSources()).length).toBe(0)
    expect((await http(withPassword, 'POST', '/api/rpc/listSources', { origin: own(withPassword), cookie }, '{"args":[]}')).status).toBe(200)
  })

  it('the review API: listing, creating and deciding are refused to other origins, done for Vigil’s own page', async () => {
    const created = await http(withPassword, 'POST', '/api/reviews', { origin: own(withPassword), cookie }, GATE)
    expect(created.status).toBe(201)
    const id = (JSON.parse(created.body) as { reviewId: string }).reviewId
    for (const origin of others(withPassword)) {
      expect((await http(withPassword, 'GET', '/api/reviews', { origin, cookie })).status, `list from ${origin}`).toBe(403)
      expect((await http(withPassword, 'GET', `/api/reviews/${id}`, { origin, cookie })).status, `read from ${origin}`).toBe(403)
      expect((await http(withPassword, 'POST', '/api/reviews', { origin, cookie }, GATE)).status, `create from ${origin}`).toBe(403)
      expect((await http(withPassword, 'POST', `/api/reviews/${id}`, { origin, cookie }, '{"decision":"CONTINUE"}')).status, `decide from ${origin}`).toBe(403)
    }
    expect(await pendingIds(withPassword)).toEqual([id])
    const decided = await http(withPassword, 'POST', `/api/reviews/${id}`, { origin: own(withPassword), cookie }, '{"decision":"CONTINUE"}')
    expect(decided.status).toBe(200)
    expect(await pendingIds(withPassword)).toEqual([])
  })

  it('the hub’s HTTP routes refuse other origins (no injected events)', async () => {
    const env = JSON.stringify({ type: 'event', producer: { producerId: 'injected' }, sequence: 1, receivedAt: '2026-03-05T14:00:00Z', message: { type: 'pong' } })
    for (const origin of others(withPassword)) {
      expect((await http(withPassword, 'POST', '/api/hub/ingress', { origin, cookie }, env)).status, origin).toBe(403)
      expect((await http(withPassword, 'GET', '/api/hub/producers', { origin, cookie })).status, origin).toBe(403)
    }
    expect((await http(withPassword, 'GET', '/api/hub/producers', { origin: own(withPassword), cookie })).status).toBe(200)
  })

  it('/api/events: upgraded then closed 1008 with no frame for every other origin, even with the cookie', async () => {
    for (const origin of others(withPassword)) {
      const r = await tryUpgrade(withPassword.port, '/api/events', { origin, cookie })
      expect(r, origin).toEqual({ kind: 'ws', closeCode: 1008, frames: [] })
    }
    expect(await tryUpgrade(withPassword.port, '/api/events', { origin: own(withPassword), cookie })).toEqual({ kind: 'ws', closeCode: null, frames: [] })
    // And without the cookie, Vigil's own page is asked to sign in first.
    expect(await tryUpgrade(withPassword.port, '/api/events', { origin: own(withPassword) })).toEqual({ kind: 'http', status: 401 })
  })

  it('/ws: other loopback ports are refused (no loopback rule with a password); Vigil’s own page and --allow-origin pass', async () => {
    for (const origin of others(withPassword).filter((o) => o !== VIZ)) {
      const r = await tryUpgrade(withPassword.port, '/ws', { origin, cookie })
      expect(r, origin).toEqual({ kind: 'ws', closeCode: 1008, frames: [] })
    }
    for (const origin of [own(withPassword), VIZ]) {
      const r = await tryUpgrade(withPassword.port, '/ws', { origin, cookie })
      expect(r, origin).toMatchObject({ kind: 'ws', closeCode: null })
      expect(r.kind === 'ws' && r.frames[0]?.startsWith('{"type":"hub_hello"'), origin).toBe(true)
    }
    // An allowed origin still needs a login: the cookie is required, the origin alone opens nothing.
    expect(await tryUpgrade(withPassword.port, '/ws', { origin: VIZ })).toEqual({ kind: 'http', status: 401 })
  })

  it('/ingress: a page on another port is refused 1008; a publisher without an Origin is not', async () => {
    for (const origin of others(withPassword)) {
      expect(await tryUpgrade(withPassword.port, '/ingress?producerId=x', { origin, cookie }), origin).toEqual({ kind: 'ws', closeCode: 1008, frames: [] })
    }
    expect(await tryUpgrade(withPassword.port, '/ingress?producerId=x', {})).toEqual({ kind: 'ws', closeCode: null, frames: [] })
  })

  it('a no-cors request a page sends without an Origin (an <img>, a no-cors fetch) is refused by its Fetch Metadata; navigations are not', async () => {
    for (const site of ['same-site', 'cross-site']) {
      for (const mode of ['no-cors', 'cors']) {
        expect((await http(withPassword, 'GET', '/api/reviews', { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': mode })).status, `${site} ${mode}`).toBe(403)
        expect((await http(withPassword, 'GET', '/api/hub/producers', { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': mode })).status, `${site} ${mode}`).toBe(403)
      }
      // A link followed from elsewhere opens the app (top-level navigation).
      expect((await http(withPassword, 'GET', '/', { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate' })).status, site).toBe(200)
    }
    for (const site of ['same-origin', 'none']) {
      expect((await http(withPassword, 'GET', '/api/reviews', { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': 'cors' })).status, site).toBe(200)
    }
  })

  it('behind an HTTPS proxy, https:// is Vigil’s own origin only when the proxy says so (X-Forwarded-Proto)', async () => {
    const https = `https://127.0.0.1:${withPassword.port}`
    expect((await http(withPassword, 'POST', '/api/rpc/listSources', { origin: https, cookie }, '{"args":[]}')).status).toBe(403)
    expect((await http(withPassword, 'POST', '/api/rpc/listSources', { origin: https, cookie, 'x-forwarded-proto': 'https' }, '{"args":[]}')).status).toBe(200)
    expect((await http(withPassword, 'POST', '/api/rpc/listSources', { origin: own(withPassword), cookie, 'x-forwarded-proto': 'https' }, '{"args":[]}')).status).toBe(403)
  })
})

describe('without a password (AgentEnsemble compatibility on /ws only)', () => {
  it('/ws keeps the loopback rule (any port); /api/events, /ingress and the HTTP API take only Vigil’s own origin', async () => {
    for (const origin of ['http://localhost:5173', `http://127.0.0.1:${open.port + 1}`, 'http://[::1]:3000']) {
      const ws = await tryUpgrade(open.port, '/ws', { origin })
      expect(ws.kind === 'ws' && ws.closeCode === null && ws.frames[0]?.startsWith('{"type":"hub_hello"'), origin).toBe(true)
      expect(await tryUpgrade(open.port, '/api/events', { origin }), origin).toEqual({ kind: 'ws', closeCode: 1008, frames: [] })
      expect(await tryUpgrade(open.port, '/ingress?producerId=x', { origin }), origin).toEqual({ kind: 'ws', closeCode: 1008, frames: [] })
      expect((await http(open, 'POST', '/api/rpc/listSources', { origin }, '{"args":[]}')).status, origin).toBe(403)
      expect((await http(open, 'POST', '/api/reviews', { origin }, GATE)).status, origin).toBe(403)
      expect((await http(open, 'GET', '/api/reviews', { origin })).status, origin).toBe(403)
    }
    expect(await tryUpgrade(open.port, '/api/events', { origin: own(open) })).toEqual({ kind: 'ws', closeCode: null, frames: [] })
    expect((await http(open, 'POST', '/api/rpc/listSources', { origin: own(open) }, '{"args":[]}')).status).toBe(200)
    // Not a loopback page: refused on /ws too.
    expect(await tryUpgrade(open.port, '/ws', { origin: 'http://evil.example' })).toEqual({ kind: 'ws', closeCode: 1008, frames: [] })
  })
})
