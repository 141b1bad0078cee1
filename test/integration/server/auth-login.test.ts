// Login for `vigil serve` on a real socket: everything behind it, the page, the cookie, fresh tokens,
// logout, expiry (injected clock), rate limit, and no password or token in any log.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { envelope, started, SVC_A } from '../../unit/hub/frames'
import { call, closed, cookieOf, form, json, login, openSocket, startTestServer, type TestServer } from './auth-support'

const PASSWORD = 'pw-Integration-9f3!'
const HOUR = 3600_000
let now = Date.UTC(2026, 2, 5)
let s: TestServer

beforeAll(async () => {
  s = await startTestServer({ auth: { password: PASSWORD, now: () => now } })
})
afterAll(() => s.close())

/** Vigil's own origin as a browser on it sends it (scheme, host and port). */
const local = (srv: { port: number }) => ({ origin: `http://127.0.0.1:${srv.port}` })

describe('with a password, before signing in', () => {
  it('redirects pages and assets to /login with 303', async () => {
    for (const path of ['/', '/index.html', '/store/abc', '/assets/app.js', '/favicon.svg']) {
      const reply = await call(s, path)
      expect(reply.status, path).toBe(303)
      expect(reply.headers.location).toBe('/login')
      expect(reply.body).toBe('')
    }
  })

  it('answers API calls with 401 JSON {ok:false, error:{code:"unauthorized"}}', async () => {
    const cases: Array<[string, Parameters<typeof call>[2]]> = [
      ['/api/rpc/listSources', json({ args: [] })],
      ['/api/rpc/addStore', json({ args: ['/tmp/x.db'] })],
      ['/api/hub/producers', {}],
      ['/api/nope', {}]
    ]
    for (const [path, c] of cases) {
      const reply = await call(s, path, c)
      expect(reply.status, path).toBe(401)
      expect(reply.headers['content-type']).toMatch(/application\/json/)
      expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'unauthorized', message: expect.stringContaining('/login') } })
    }
    expect(await s.service.listSources()).toEqual([])
  })

  it('refuses WebSocket upgrades on /api/events and /ws with HTTP 401, before any hello', async () => {
    for (const path of ['/api/events', '/ws']) {
      const result = await openSocket(s, path, local(s))
      expect(result, path).toMatchObject({ kind: 'refused', status: 401 })
    }
  })

  it('keeps /api/status public but says only name and version', async () => {
    const reply = await call(s, '/api/status')
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body)).toEqual({ name: 'vigil', version: '1.2.3' })
  })

  it('serves the login page: a labelled form posting to /api/login, under the strict CSP, no script', async () => {
    const reply = await call(s, '/login')
    expect(reply.status).toBe(200)
    expect(reply.headers['content-type']).toMatch(/text\/html/)
    expect(String(reply.headers['content-security-policy'])).toContain("script-src 'self'")
    expect(reply.headers['cache-control']).toBe('no-store')
    // Browsers send "Origin: null" with a form POST from a no-referrer page, which the CSRF rule refuses.
    expect(reply.headers['referrer-policy']).toBe('same-origin')
    expect(reply.body).toContain('<form method="post" action="/api/login">')
    expect(reply.body).toContain('<label for="password">Password</label>')
    expect(reply.body).not.toMatch(/<script/i)
  })
})

describe('signing in', () => {
  it('through the form: a wrong password shows the page again with 401 and a clear message', async () => {
    const reply = await call(s, '/api/login', form({ password: 'nope' }, local(s)))
    expect(reply.status).toBe(401)
    expect(reply.body).toContain('role="alert">Wrong password.')
    expect(reply.headers['set-cookie']).toBeUndefined()
  })

  it('through the form: the right one sets the cookie and redirects to the app (303)', async () => {
    const reply = await call(s, '/api/login', form({ password: PASSWORD }, local(s)))
    expect(reply.status).toBe(303)
    expect(reply.headers.location).toBe('/')
    const cookie = String(reply.headers['set-cookie'])
    expect(cookie).toMatch(new RegExp(`^vigil_session_${s.port}=[A-Za-z0-9_-]{43}; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax$`))
    const page = await call(s, '/', { headers: { cookie: cookieOf(reply) } })
    expect(page.status).toBe(200)
    expect(page.body).toContain('<title>Vigil</title>')
  })

  it('as JSON, for scripts; a wrong password is 401 unauthorized', async () => {
    const bad = await call(s, '/api/login', json({ password: 'nope' }))
    expect(bad.status).toBe(401)
    expect(JSON.parse(bad.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
    expect((await call(s, '/api/login', json({ nothing: 1 }))).status).toBe(401)
    const cookie = await login(s, PASSWORD)
    const rpc = await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))
    expect(JSON.parse(rpc.body)).toEqual({ ok: true, value: [] })
    const status = JSON.parse((await call(s, '/api/status', { headers: { cookie } })).body)
    expect(status).toMatchObject({ name: 'vigil', version: '1.2.3', clients: 0 })
  })

  it('opens WebSockets and the hub with a session', async () => {
    const cookie = await login(s, PASSWORD)
    for (const path of ['/api/events', '/ws']) {
      const result = await openSocket(s, path, { ...local(s), cookie })
      expect(result.kind, path).toBe('open')
      if (result.kind === 'open') result.ws.close()
    }
    expect((await call(s, '/api/hub/producers', { headers: { cookie } })).status).toBe(200)
  })

  it('gives every login its own fresh token, all valid at once (no single global token)', async () => {
    const tokens = await Promise.all([1, 2, 3].map(() => login(s, PASSWORD)))
    expect(new Set(tokens).size).toBe(3)
    for (const cookie of tokens) expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(200)
  })

  it('shows a signed-in browser the way out on /login', async () => {
    const cookie = await login(s, PASSWORD)
    const page = await call(s, '/login', { headers: { cookie } })
    expect(page.body).toContain('You are signed in.')
    expect(page.body).toContain('action="/api/logout"')
  })

  it('ignores a forged or garbage cookie', async () => {
    for (const cookie of [`vigil_session_${s.port}=forged`, `vigil_session_${s.port}=`, 'other=1']) {
      expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(401)
    }
    // Another port's cookie does not count here.
    const mine = await login(s, PASSWORD)
    const elsewhere = mine.replace(`vigil_session_${s.port}=`, `vigil_session_${s.port + 1}=`)
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie: elsewhere }))).status).toBe(401)
  })
})

describe('signing out', () => {
  it('ends that session only, clears the cookie and closes its sockets', async () => {
    const cookie = await login(s, PASSWORD)
    const other = await login(s, PASSWORD)
    const socket = await openSocket(s, '/api/events', { ...local(s), cookie })
    expect(socket.kind).toBe('open')
    const reply = await call(s, '/api/logout', { method: 'POST', headers: { cookie } })
    expect(reply.status).toBe(200)
    expect(String(reply.headers['set-cookie'])).toMatch(new RegExp(`^vigil_session_${s.port}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax$`))
    if (socket.kind === 'open') await closed(socket.ws)
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(401)
    expect((await call(s, '/', { headers: { cookie } })).headers.location).toBe('/login')
    expect((await openSocket(s, '/api/events', { ...local(s), cookie })).kind).toBe('refused')
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie: other }))).status).toBe(200)
  })

  it('from the page: a form POST redirects to /login; GET /logout changes nothing', async () => {
    const cookie = await login(s, PASSWORD)
    const get = await call(s, '/logout', { headers: { cookie } })
    expect(get).toMatchObject({ status: 303, headers: { location: '/login' } })
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(200)
    const post = await call(s, '/api/logout', form({}, { cookie, ...local(s) }))
    expect(post).toMatchObject({ status: 303, headers: { location: '/login' } })
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(401)
  })
})

describe('expiry', () => {
  it('ends a session after 12 h idle', async () => {
    const cookie = await login(s, PASSWORD)
    now += 12 * HOUR - 1000
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(200)
    now += 12 * HOUR
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(401)
  })

  it('ends an active session 24 h after login, and closes its sockets', async () => {
    const cookie = await login(s, PASSWORD)
    const socket = await openSocket(s, '/api/events', { ...local(s), cookie })
    for (let h = 0; h < 23; h++) {
      now += HOUR
      expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(200)
    }
    now += HOUR
    expect((await call(s, '/api/rpc/listSources', json({ args: [] }, { cookie }))).status).toBe(401)
    expect(socket.kind).toBe('open')
    if (socket.kind === 'open') expect(await closed(socket.ws)).toBe(1006)
  })
})

describe('loopback agents', () => {
  it('still publish to /ingress and POST /api/hub/ingress without a token or login', async () => {
    const ws = await openSocket(s, '/ingress')
    expect(ws.kind).toBe('open')
    if (ws.kind === 'open') ws.ws.close()
    const reply = await call(s, '/api/hub/ingress', { method: 'POST', body: envelope(SVC_A, 1, '2026-03-05T14:00:00Z', started('e1')) })
    expect(reply.status).toBe(202)
    // They raise review gates too, but reading gates needs a login or the reviewer token, also from loopback.
    const gate = { taskDescription: 'Ship?', taskOutput: 'v1', timeoutMs: 0, onTimeout: 'CONTINUE' }
    expect((await call(s, '/api/reviews', json(gate))).status).toBe(201)
    expect((await call(s, '/api/reviews')).status).toBe(401)
  })
})

describe('rate limit and logs', () => {
  let limited: TestServer
  let t = 0
  beforeAll(async () => {
    limited = await startTestServer({ auth: { password: PASSWORD, now: () => t } })
  })
  afterAll(() => limited.close())
  afterEach(() => vi.restoreAllMocks())

  it('allows 5 failed logins a minute per address, then 429 "Too many attempts, try again in N s", even for the right password', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await call(limited, '/api/login', form({ password: `wrong-${i}` }, local(limited)))).status).toBe(401)
      t += 1000
    }
    const page = await call(limited, '/api/login', form({ password: PASSWORD }, local(limited)))
    expect(page.status).toBe(429)
    expect(page.headers['retry-after']).toBe('55')
    expect(page.body).toContain('role="alert">Too many attempts, try again in 55 s.')
    expect(page.headers['set-cookie']).toBeUndefined()
    const api = await call(limited, '/api/login', json({ password: PASSWORD }))
    expect(api.status).toBe(429)
    expect(JSON.parse(api.body)).toMatchObject({ ok: false, error: { code: 'rate-limited', message: 'Too many attempts, try again in 55 s.' } })
    t += 55_000
    expect((await call(limited, '/api/login', json({ password: PASSWORD }))).status).toBe(200)
  })

  it('never writes the password or a token to the console or stdout/stderr', async () => {
    t += 120_000
    const lines: string[] = []
    const capture = (...args: unknown[]) => void lines.push(args.map(String).join(' '))
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) vi.spyOn(console, level).mockImplementation(capture)
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => (capture(chunk), true))
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => (capture(chunk), true))

    await call(limited, '/api/login', form({ password: `${PASSWORD}-nearly` }, local(limited)))
    const reply = await call(limited, '/api/login', form({ password: PASSWORD }, local(limited)))
    const cookie = cookieOf(reply)
    await call(limited, '/api/rpc/listSources', json({ args: [] }, { cookie }))
    await call(limited, '/api/logout', form({}, { cookie, ...local(limited) }))
    vi.restoreAllMocks()

    const token = cookie.split('=')[1]!
    const all = lines.join('\n')
    expect(all).not.toContain(PASSWORD)
    expect(all).not.toContain(token)
  })
})

describe('without a password', () => {
  let open: TestServer
  beforeAll(async () => {
    open = await startTestServer()
  })
  afterAll(() => open.close())

  it('serves loopback callers as before; /login leads to the app and /api/login has nothing to check', async () => {
    expect((await call(open, '/')).status).toBe(200)
    expect(JSON.parse((await call(open, '/api/status')).body)).toMatchObject({ name: 'vigil', version: '1.2.3', clients: 0 })
    expect(await call(open, '/login')).toMatchObject({ status: 303, headers: { location: '/' } })
    const reply = await call(open, '/api/login', json({ password: 'anything' }))
    expect(reply.status).toBe(404)
    expect(reply.headers['set-cookie']).toBeUndefined()
  })
})
