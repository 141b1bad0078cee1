// CSRF and CORS on every path: state-changing requests must be same-origin (or carry the bearer
// token); no Access-Control-* header ever leaves the server, and a preflight is never granted.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerExtension } from '../../../src/main/server/vigil-server'
import { call, form, json, login, type Reply, startTestServer, type TestServer } from './auth-support'

const TOKEN = 'csrf-token-77'
const PASSWORD = 'csrf-pw'
const EVIL = { origin: 'http://evil.com' }

/** Stands for a careless future extension: grants CORS and accepts anything that reaches it. */
const careless: ServerExtension = {
  handleHttp(req: IncomingMessage, res: ServerResponse, path: string) {
    if (path !== '/api/careless') return false
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.writeHead(200, { 'access-control-allow-credentials': 'true', 'Access-Control-Allow-Methods': 'POST', 'content-type': 'text/plain' })
    res.end(`reached by ${req.method}`)
    return true
  }
}

const PATHS = ['/', '/login', '/assets/app.js', '/api/status', '/api/rpc/listSources', '/api/rpc/addStore', '/api/login', '/api/logout',
  '/api/hub/ingress', '/api/hub/producers', '/api/reviews', '/api/reviews/x', '/api/careless', '/ingress', '/nope']

function expectNoCors(reply: Reply, what: string): void {
  expect(Object.keys(reply.headers).filter((h) => h.startsWith('access-control-')), what).toEqual([])
}

describe.each([
  ['no password, loopback', {}],
  ['password and token', { password: PASSWORD, ingressToken: TOKEN }]
])('CSRF and CORS (%s)', (_name, auth) => {
  let s: TestServer
  let cookie = ''
  beforeAll(async () => {
    s = await startTestServer({ auth: { ...auth }, extensions: [careless] })
    if ('password' in auth) cookie = await login(s, PASSWORD)
  })
  afterAll(() => s.close())

  it('never grants a preflight (405, no Access-Control-* headers)', async () => {
    for (const path of PATHS) {
      const reply = await call(s, path, {
        method: 'OPTIONS',
        headers: { ...EVIL, cookie, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' }
      })
      expect(reply.status, path).toBe(405)
      expectNoCors(reply, path)
    }
  })

  it('sends no Access-Control-* header on any reply, even where an extension sets them', async () => {
    // Same-origin POSTs reach every route, /api/logout included: it signs out, so it comes last.
    for (const path of [...PATHS.filter((p) => p !== '/api/logout'), '/api/logout']) {
      for (const c of [{ headers: { ...EVIL, cookie } }, { method: 'POST', headers: { ...EVIL, cookie } }, json({ args: [] }, { cookie, origin: 'http://127.0.0.1' })]) {
        expectNoCors(await call(s, path, c), `${c.method ?? 'GET'} ${path}`)
      }
    }
    if ('password' in auth) cookie = await login(s, PASSWORD)
    const reached = await call(s, '/api/careless', { headers: { cookie } })
    expect(reached.body).toBe('reached by GET')
    expectNoCors(reached, 'careless extension')
  })

  it('refuses POST, PUT, DELETE and PATCH from a foreign page on every path (403), before anything runs', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of PATHS) {
        for (const origin of ['http://evil.com', 'null', 'http://localhost.evil.com', 'http://evil.com/?host=localhost']) {
          const reply = await call(s, path, { method, headers: { origin, cookie, 'content-type': 'application/json' }, body: '{"args":["/tmp/x.db"]}' })
          expect(reply.status, `${method} ${path} from ${origin}`).toBe(403)
          expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'forbidden' } })
        }
      }
    }
    // A form login from a foreign page is refused too (login CSRF).
    expect((await call(s, '/api/login', form({ password: PASSWORD }, EVIL))).status).toBe(403)
    expect(await s.service.listSources()).toEqual([])
  })

  it('lets same-origin pages and Origin-less clients through', async () => {
    for (const origin of [`http://127.0.0.1:${s.port}`, undefined]) {
      const headers: Record<string, string> = { cookie, ...(origin ? { origin } : {}) }
      expect((await call(s, '/api/rpc/listSources', json({ args: [] }, headers))).status, origin).toBe(200)
    }
    // Vigil's own origin is exact: a page on another local port, or another scheme, is a foreign page.
    for (const origin of ['http://localhost:5173', `http://127.0.0.1:${s.port + 1}`, `https://127.0.0.1:${s.port}`, 'http://127.0.0.1']) {
      expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie, origin }))).status, origin).toBe(403)
    }
  })

  it.runIf('ingressToken' in auth)('lets a valid bearer token past the Origin rule (not a wrong one)', async () => {
    const withToken = await call(s, '/api/careless', { method: 'POST', headers: { ...EVIL, authorization: `Bearer ${TOKEN}`, cookie } })
    expect(withToken.body).toBe('reached by POST')
    const wrong = await call(s, '/api/careless', { method: 'POST', headers: { ...EVIL, authorization: 'Bearer nope', cookie } })
    expect(wrong.status).toBe(403)
  })
})
