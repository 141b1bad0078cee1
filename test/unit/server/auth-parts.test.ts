// The auth gate's parts on their own: cookie, secret comparison, sessions, rate limit, exposure, routes.
import type { IncomingMessage } from 'node:http'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { exposureProblem, exposureWarning } from '../../../src/main/server/auth/exposure'
import { LoginRateLimiter } from '../../../src/main/server/auth/login-rate-limit'
import { renderLoginPage } from '../../../src/main/server/auth/login-page'
import { bearerToken, clientAddress, isLoopbackRequest, isOnLoopbackHost } from '../../../src/main/server/auth/request-facts'
import { routeKind } from '../../../src/main/server/auth/route-kinds'
import { createSecretMatcher } from '../../../src/main/server/auth/secret-match'
import { buildClearedCookie, buildSessionCookie, readCookie, sessionCookieName } from '../../../src/main/server/auth/session-cookie'
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS, SessionStore } from '../../../src/main/server/auth/session-store'

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Lax, Path=/, with Max-Age; Secure only when asked (off loopback)', () => {
    const local = buildSessionCookie('tok', 3600, { name: 'vigil_session_7400', secure: false })
    expect(local).toBe('vigil_session_7400=tok; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax')
    const remote = buildSessionCookie('tok', 3600, { name: 'vigil_session_7400', secure: true })
    expect(remote).toBe('vigil_session_7400=tok; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax; Secure')
    expect(buildClearedCookie({ name: 'vigil_session_7400', secure: true })).toBe('vigil_session_7400=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax; Secure')
  })

  it('is named per port and read back from a Cookie header', () => {
    expect(sessionCookieName(7400)).toBe('vigil_session_7400')
    expect(readCookie('a=1; vigil_session_7400=xyz; vigil_session_7401=other', 'vigil_session_7400')).toBe('xyz')
    expect(readCookie('xvigil_session_7400=no', 'vigil_session_7400')).toBeNull()
    expect(readCookie(undefined, 'vigil_session_7400')).toBeNull()
  })
})

describe('secret matcher', () => {
  it('accepts the exact secret only, whatever the candidate length', () => {
    const match = createSecretMatcher('s3cret')
    expect(match('s3cret')).toBe(true)
    for (const wrong of ['', 's3cre', 's3cret ', 'S3CRET', 'x'.repeat(10_000)]) expect(match(wrong)).toBe(false)
  })
})

describe('session store', () => {
  it('issues a fresh 32-byte random token per login and keeps only hashes', () => {
    const store = new SessionStore()
    const a = store.create()
    const b = store.create()
    expect(a).not.toBe(b)
    expect(Buffer.from(a, 'base64url').length).toBe(32)
    expect(store.touch(a) && store.touch(b)).toBe(true)
    expect(JSON.stringify([...(store as unknown as { sessions: Map<string, unknown> }).sessions.keys()])).not.toContain(a)
  })

  it('expires after the idle limit, and after the absolute limit even when active', () => {
    const c = clock()
    const store = new SessionStore({ now: c.now })
    expect(SESSION_IDLE_MS).toBe(12 * 3600_000)
    expect(SESSION_ABSOLUTE_MS).toBe(24 * 3600_000)
    const idle = store.create()
    c.advance(SESSION_IDLE_MS - 1)
    expect(store.touch(idle)).toBe(true)
    c.advance(SESSION_IDLE_MS)
    expect(store.touch(idle)).toBe(false)

    const busy = store.create()
    for (let i = 0; i < 24; i++) {
      c.advance(3600_000 - 1)
      expect(store.touch(busy)).toBe(true)
    }
    c.advance(24)
    expect(store.touch(busy)).toBe(false)
    expect(store.maxAgeSeconds).toBe(24 * 3600)
  })

  it('revokes a token, and closes the sockets opened with it on revoke or expiry', () => {
    const c = clock()
    const store = new SessionStore({ now: c.now, idleMs: 1000 })
    const a = store.create()
    const b = store.create()
    const sa = new PassThrough()
    const sb = new PassThrough()
    store.bind(a, sa)
    store.bind(b, sb)
    store.revoke(a)
    expect(store.touch(a)).toBe(false)
    expect(sa.destroyed).toBe(true)
    expect(sb.destroyed).toBe(false)
    c.advance(1000)
    store.sweep()
    expect(sb.destroyed).toBe(true)
    expect(store.size).toBe(0)
  })
})

describe('login rate limit', () => {
  it('allows 5 failures per address per minute, then says how long to wait', () => {
    const c = clock()
    const limiter = new LoginRateLimiter({ now: c.now })
    for (let i = 0; i < 5; i++) {
      expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(0)
      limiter.recordFailure('10.0.0.1')
      c.advance(1000)
    }
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(55)
    expect(limiter.retryAfterSeconds('10.0.0.2')).toBe(0)
    c.advance(55_000)
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(0)
  })
})

describe('exposure', () => {
  const base = { hasPassword: false, hasIngressToken: false, insecure: false }
  it('refuses a non-loopback host with nothing guarding it, naming the ways out', () => {
    expect(exposureProblem({ ...base, host: '127.0.0.1' })).toBeNull()
    expect(exposureProblem({ ...base, host: 'localhost' })).toBeNull()
    for (const host of ['0.0.0.0', '192.168.1.5', '::', '127.0.0.2']) {
      const problem = exposureProblem({ ...base, host })
      expect(problem).toMatch(/--password-file/)
      expect(problem).toMatch(/--ingress-token-file/)
      expect(problem).toMatch(/VIGIL_INGRESS_TOKEN/)
      expect(problem).toMatch(/--insecure/)
      expect(problem).not.toContain('\n')
    }
    expect(exposureProblem({ ...base, host: '0.0.0.0', hasPassword: true })).toBeNull()
    expect(exposureProblem({ ...base, host: '0.0.0.0', hasIngressToken: true })).toBeNull()
    expect(exposureProblem({ ...base, host: '0.0.0.0', insecure: true })).toBeNull()
  })

  it('warns loudly when --insecure leaves browsers unguarded', () => {
    expect(exposureWarning({ ...base, host: '0.0.0.0', insecure: true })).toMatch(/WARNING: --insecure/)
    expect(exposureWarning({ ...base, host: '0.0.0.0', insecure: true, hasIngressToken: true })).toMatch(/any browser/)
    expect(exposureWarning({ ...base, host: '0.0.0.0', insecure: true, hasPassword: true })).toBeNull()
    expect(exposureWarning({ ...base, host: '127.0.0.1', insecure: true })).toBeNull()
  })
})

describe('route kinds', () => {
  it.each([
    ['/login', 'public'],
    ['/api/login', 'public'],
    ['/api/logout', 'public'],
    ['/api/status', 'public'],
    ['/ingress', 'agent'],
    ['/api/hub/ingress', 'agent'],
    ['/api/reviews', 'reviewer'],
    ['/api/reviews/r1/decision', 'reviewer'],
    ['/api/reviewsX', 'browser'],
    ['/ingress/', 'browser'],
    ['/', 'browser'],
    ['/assets/app.js', 'browser'],
    ['/api/rpc/listSources', 'browser'],
    ['/api/events', 'browser'],
    ['/ws', 'browser'],
    ['/api/hub/producers', 'browser']
  ])('%s is %s', (path, kind) => expect(routeKind(path)).toBe(kind))

  it('raising a gate (POST /api/reviews) is an agent route; deciding one (POST /api/reviews/{id}) a reviewer route', () => {
    expect(routeKind('/api/reviews', 'POST')).toBe('agent')
    expect(routeKind('/api/reviews', 'HEAD')).toBe('reviewer')
    expect(routeKind('/api/reviews/r1', 'POST')).toBe('reviewer')
    expect(routeKind('/api/reviews/r1', 'GET')).toBe('reviewer')
  })
})

describe('login page', () => {
  it('has a labelled password field, no script, and escapes its message', () => {
    const html = renderLoginPage({ kind: 'form', error: '<b>Wrong</b>' })
    expect(html).toContain('<label for="password">Password</label>')
    expect(html).toContain('id="password" type="password" name="password"')
    expect(html).not.toMatch(/<script/i)
    expect(html).toContain('role="alert">&#60;b&#62;Wrong&#60;/b&#62;')
    expect(html).toContain('prefers-color-scheme: dark')
    expect(renderLoginPage({ kind: 'signed-in' })).toContain('action="/api/logout"')
  })
})

describe('request facts', () => {
  const req = (remoteAddress: string, headers: Record<string, string>) => ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage

  it('counts a request as local only from a loopback address to a loopback name, not relayed', () => {
    expect(isLoopbackRequest(req('127.0.0.1', { host: 'localhost:7400' }))).toBe(true)
    expect(isLoopbackRequest(req('::1', { host: '[::1]:7400' }))).toBe(true)
    expect(isLoopbackRequest(req('::ffff:127.0.0.1', { host: '127.0.0.1:7400' }))).toBe(true)
    // DNS rebinding: a page on evil.example resolved to 127.0.0.1.
    expect(isLoopbackRequest(req('127.0.0.1', { host: 'evil.example:7400' }))).toBe(false)
    expect(isLoopbackRequest(req('127.0.0.1', { host: 'localhost.evil.com' }))).toBe(false)
    expect(isLoopbackRequest(req('127.0.0.1', {}))).toBe(false)
    // A proxy on this machine relaying someone else.
    expect(isLoopbackRequest(req('127.0.0.1', { host: 'localhost', 'x-forwarded-for': '203.0.113.9' }))).toBe(false)
    expect(isLoopbackRequest(req('127.0.0.1', { host: 'localhost', forwarded: 'for=203.0.113.9' }))).toBe(false)
    expect(isLoopbackRequest(req('192.168.1.7', { host: 'localhost:7400' }))).toBe(false)
  })

  it('tells loopback pages (no Secure cookie) from others, unwraps mapped addresses, reads bearer tokens', () => {
    expect(isOnLoopbackHost(req('1.2.3.4', { host: 'LOCALHOST:1' }))).toBe(true)
    expect(isOnLoopbackHost(req('1.2.3.4', { host: 'vigil.lan:7400' }))).toBe(false)
    expect(isOnLoopbackHost(req('1.2.3.4', {}))).toBe(false)
    expect(clientAddress(req('::ffff:10.0.0.5', {}))).toBe('10.0.0.5')
    expect(bearerToken(req('x', { authorization: 'Bearer abc.def' }))).toBe('abc.def')
    expect(bearerToken(req('x', { authorization: 'bearer abc' }))).toBe('abc')
    expect(bearerToken(req('x', { authorization: 'Basic abc' }))).toBeNull()
    expect(bearerToken(req('x', { authorization: 'Bearer a b' }))).toBeNull()
  })
})
