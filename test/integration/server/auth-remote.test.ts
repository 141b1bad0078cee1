// Remote callers: real connections from this machine's LAN address (non-loopback), and an injected
// isLoopback for machines that have none. Agents need the bearer token (or a login) off loopback;
// browsers need a login, or are refused when there is no password; the Secure cookie attribute.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExposureError } from '../../../src/main/server/auth/exposure'
import { envelope, started, SVC_A } from '../../unit/hub/frames'
import { call, cookieOf, json, lanAddress, login, openSocket, startTestServer, type TestServer } from './auth-support'

const PASSWORD = 'remote-pw-51'
const TOKEN = 'ingress-token-8c1f0e'
const lan = lanAddress()
const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` })
const ingressBody = (seq: number) => envelope(SVC_A, seq, '2026-03-05T14:00:00Z', started(`e-${seq}`))

describe('agents and browsers off loopback (injected isLoopback: every caller is remote)', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer({ auth: { password: PASSWORD, ingressToken: TOKEN, isLoopback: () => false } })
  })
  afterAll(() => s.close())

  it('refuses /ingress without the token (401 on upgrade), a wrong one too, and accepts the right one', async () => {
    expect(await openSocket(s, '/ingress')).toMatchObject({ kind: 'refused', status: 401 })
    expect(await openSocket(s, '/ingress', bearer('nearly-' + TOKEN))).toMatchObject({ kind: 'refused', status: 401 })
    expect(await openSocket(s, '/ingress', { authorization: TOKEN })).toMatchObject({ kind: 'refused', status: 401 })
    const ok = await openSocket(s, '/ingress', bearer())
    expect(ok.kind).toBe('open')
    if (ok.kind === 'open') ok.ws.close()
  })

  it('refuses POST /api/hub/ingress and /api/reviews without the token, with WWW-Authenticate: Bearer', async () => {
    for (const [path, c] of [
      ['/api/hub/ingress', { method: 'POST', body: ingressBody(1) }],
      ['/api/reviews', {}],
      ['/api/reviews/some-id', {}]
    ] as const) {
      const reply = await call(s, path, c)
      expect(reply.status, path).toBe(401)
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="vigil"')
      expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
    }
    expect((await call(s, '/api/hub/ingress', { method: 'POST', body: ingressBody(2), headers: bearer() })).status).toBe(202)
    // The ingress token raises a gate; it never reads or decides one (that needs a login or the reviewer token).
    const gate = { taskDescription: 'Ship?', taskOutput: 'v1', timeoutMs: 0, onTimeout: 'CONTINUE' }
    expect((await call(s, '/api/reviews', json(gate, bearer()))).status).toBe(201)
    expect((await call(s, '/api/reviews', { headers: bearer() })).status).toBe(401)
  })

  it('lets a login session stand in for the token', async () => {
    const cookie = await login(s, PASSWORD)
    expect((await call(s, '/api/hub/ingress', { method: 'POST', body: ingressBody(3), headers: { cookie } })).status).toBe(202)
    expect((await call(s, '/api/reviews', { headers: { cookie } })).status).toBe(200)
  })

  it('does not let the agent token into the browser side (pages, RPC, /ws)', async () => {
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, bearer()))).status).toBe(401)
    expect((await call(s, '/', { headers: bearer() })).status).toBe(303)
    expect(await openSocket(s, '/ws', { origin: 'http://127.0.0.1', ...bearer() })).toMatchObject({ kind: 'refused', status: 401 })
  })
})

describe.skipIf(lan === null)(`from a real non-loopback address (${lan})`, () => {
  const host = lan!
  let guarded: TestServer
  let tokenOnly: TestServer
  let insecure: TestServer
  beforeAll(async () => {
    guarded = await startTestServer({ host, auth: { password: PASSWORD, ingressToken: TOKEN } })
    tokenOnly = await startTestServer({ host, auth: { ingressToken: TOKEN } })
    insecure = await startTestServer({ host, auth: { insecure: true } })
  })
  afterAll(async () => {
    await Promise.all([guarded, tokenOnly, insecure].map((s) => s.close()))
  })

  it('requires the bearer token on /ingress and POST /api/hub/ingress', async () => {
    expect(await openSocket(guarded, '/ingress')).toMatchObject({ kind: 'refused', status: 401 })
    const ok = await openSocket(guarded, '/ingress', bearer())
    expect(ok.kind).toBe('open')
    if (ok.kind === 'open') ok.ws.close()
    expect((await call(guarded, '/api/hub/ingress', { method: 'POST', body: ingressBody(1) })).status).toBe(401)
    expect((await call(guarded, '/api/hub/ingress', { method: 'POST', body: ingressBody(2), headers: bearer() })).status).toBe(202)
  })

  it('sets the Secure attribute on the cookie when the page is not on a loopback host', async () => {
    const reply = await call(guarded, '/api/login', json({ password: PASSWORD }))
    expect(String(reply.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Lax; Secure$/)
    const cookie = cookieOf(reply)
    expect((await call(guarded, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(200)
    const viaLocalName = await call(guarded, '/api/login', json({ password: PASSWORD }, { host: `localhost:${guarded.port}` }))
    expect(String(viaLocalName.headers['set-cookie'])).not.toContain('Secure')
  })

  it('with a token but no password: agents with the token get in, remote browsers are refused (403)', async () => {
    expect((await call(tokenOnly, '/api/hub/ingress', { method: 'POST', body: ingressBody(1), headers: bearer() })).status).toBe(202)
    const page = await call(tokenOnly, '/')
    expect(page.status).toBe(403)
    expect(JSON.parse(page.body).error.message).toMatch(/--password-file/)
    expect((await call(tokenOnly, '/api/rpc/listSources', json({ args: [] }))).status).toBe(403)
    expect(await openSocket(tokenOnly, '/api/events', { origin: `http://${host}:${tokenOnly.port}` })).toMatchObject({ kind: 'refused', status: 403 })
    expect(JSON.parse((await call(tokenOnly, '/api/status')).body)).toEqual({ name: 'vigil', version: '1.2.3' })
  })

  it('--insecure serves everyone, as asked', async () => {
    expect((await call(insecure, '/')).status).toBe(200)
    expect((await call(insecure, '/api/hub/ingress', { method: 'POST', body: ingressBody(1) })).status).toBe(202)
    expect(JSON.parse((await call(insecure, '/api/status')).body)).toMatchObject({ name: 'vigil', version: '1.2.3', clients: 0 })
  })

  it('is refused at start with nothing guarding it', async () => {
    await expect(startTestServer({ host })).rejects.toThrow(ExposureError)
    await expect(startTestServer({ host })).rejects.toThrow(/--password-file.*--ingress-token-file.*--insecure/)
  })
})
