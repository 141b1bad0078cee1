// Who may open the run endpoint (/ws?run=…): the server's auth gate and Origin rule treat it as the hub's
// /ws. With a password: no login → 401 before any upgrade; a login from Vigil's own origin → hello; a
// loopback page on another port → closed 1008 even with the session (a cookie never stands in for an
// allowed origin). Without a password: a loopback page is accepted (AgentEnsemble's rule, spec §3).
import { afterEach, describe, expect, it } from 'vitest'
import { closed, login, openSocket, startTestServer, type TestServer } from '../server/auth-support'

let s: TestServer | null = null
afterEach(async () => {
  await s?.close()
  s = null
})

describe('run endpoint access', () => {
  it('with a password: login needed, own origin only', async () => {
    s = await startTestServer({ auth: { password: 'correct horse battery' } })
    const own = `http://127.0.0.1:${s.port}`
    const anonymous = await openSocket(s, '/ws?producer=p1', { origin: own })
    expect(anonymous).toMatchObject({ kind: 'refused', status: 401 })
    const cookie = await login(s, 'correct horse battery')
    const signedIn = await openSocket(s, '/ws?producer=p1', { origin: own, cookie })
    expect(signedIn.kind).toBe('open')
    if (signedIn.kind !== 'open') return
    await new Promise((r) => setTimeout(r, 100))
    expect(signedIn.messages[0]).toBe('{"type":"hello"}')
    signedIn.ws.close()
    const foreignPage = await openSocket(s, '/ws?run=x', { origin: 'http://localhost:5173', cookie })
    expect(foreignPage.kind).toBe('open')
    if (foreignPage.kind !== 'open') return
    expect(await closed(foreignPage.ws)).toBe(1008)
    expect(foreignPage.messages).toEqual([])
  })

  it('without a password: a loopback page (the viz on 7328 / 5173) is accepted, another site is not', async () => {
    s = await startTestServer()
    const viz = await openSocket(s, '/ws?run=x', { origin: 'http://localhost:7328' })
    expect(viz.kind).toBe('open')
    if (viz.kind === 'open') {
      await new Promise((r) => setTimeout(r, 100))
      expect(viz.messages[0]).toBe('{"type":"hello"}')
      viz.ws.close()
    }
    const evil = await openSocket(s, '/ws?run=x', { origin: 'http://localhost.evil.com' })
    expect(evil.kind).toBe('open')
    if (evil.kind === 'open') expect(await closed(evil.ws)).toBe(1008)
  })
})
