// Issue 11 item 3: the two ways the login rate limit was bypassed, tried again on a real server.
//  1. Rotating the source address within 127/8 (every one of 16 million loopback addresses used to be
//     its own client): all of loopback is now one client, so at most 5 failures a minute are evaluated.
//  2. Sending every login request's head first and the bodies afterwards (attempts used to be counted
//     only once a body had been read and checked): an attempt is now counted when its request arrives,
//     so at most 5 are evaluated and the rest are answered 429 without their password being looked at —
//     the right password inside the flood gets no session.
// Each test then moves the server's clock past the minute and signs in with the same password, from the
// same kind of client: the refusal came from the limit, not from a wrong password.
import { afterEach, describe, expect, it } from 'vitest'
import { LOGIN_LIMITS, LoginRateLimiter, rateLimitKey } from '../../src/main/server/auth/login-rate-limit'
import { startTestServer, type TestServer } from '../integration/server/auth-support'
import { rawRequest, sleep, splitRequest, type RawReply, type SplitRequest } from './auth-attack-support'

const PASSWORD = 'adv-Login-Password-91'
let now = Date.UTC(2026, 2, 5, 12)
let s: TestServer | null = null

afterEach(async () => {
  await s?.close()
  s = null
})

async function server(): Promise<TestServer> {
  s = await startTestServer({ auth: { password: PASSWORD, now: () => now } })
  return s
}

const loginJson = (password: string) => JSON.stringify({ password })
const headers = (port: number) => ({ host: `127.0.0.1:${port}`, 'content-type': 'application/json' })

function login(t: TestServer, password: string, localAddress?: string): Promise<RawReply> {
  return rawRequest(t.port, { method: 'POST', path: '/api/login', headers: headers(t.port), body: loginJson(password), localAddress })
}

function tally(replies: RawReply[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const r of replies) counts[r.status] = (counts[r.status] ?? 0) + 1
  return counts
}

const sessionCookies = (replies: RawReply[]) => replies.filter((r) => /vigil_session_\d+=[^;]/.test(r.headers['set-cookie'] ?? ''))

describe('rotating 127/8 source addresses', () => {
  it('evaluates at most 5 failures a minute from all of loopback together, and refuses the right password after them', async () => {
    const t = await server()
    const replies: RawReply[] = []
    // 60 guesses, each from its own loopback source address (127.0.0.2 … 127.0.0.61), one after another.
    for (let i = 0; i < 60; i++) replies.push(await login(t, `guess-${i}`, `127.0.0.${2 + i}`))
    expect(tally(replies)).toEqual({ 401: LOGIN_LIMITS.perKey, 429: 60 - LOGIN_LIMITS.perKey })
    expect(replies.slice(0, 5).every((r) => r.status === 401)).toBe(true)
    const limited = replies[5]!
    expect(JSON.parse(limited.body)).toMatchObject({ ok: false, error: { code: 'rate-limited' } })
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)

    // The right password from yet another loopback address is refused too, and gets no session.
    const right = await login(t, PASSWORD, '127.0.0.200')
    expect(right.status).toBe(429)
    expect(sessionCookies([right])).toEqual([])

    // A minute later the same password from the same address signs in: only the limit refused it.
    now += LOGIN_LIMITS.windowMs + 1000
    const later = await login(t, PASSWORD, '127.0.0.200')
    expect(later.status).toBe(200)
    expect(sessionCookies([later])).toHaveLength(1)
  })

  it('sustained: over three minutes, at most 5 failures per minute are evaluated', async () => {
    const t = await server()
    const evaluated: number[] = []
    for (let minute = 0; minute < 3; minute++) {
      const replies: RawReply[] = []
      for (let i = 0; i < 20; i++) {
        replies.push(await login(t, `m${minute}-guess-${i}`, `127.${minute}.${i}.${1 + i}`))
        now += 1000
      }
      evaluated.push(replies.filter((r) => r.status === 401).length)
      now += LOGIN_LIMITS.windowMs - 20 * 1000 + 1000
    }
    expect(evaluated).toEqual([5, 5, 5])
  })
})

describe('login heads first, bodies later', () => {
  it('evaluates at most 5 of 400 interleaved attempts, from rotating loopback addresses too; the right password inside the flood gets no session', async () => {
    const t = await server()
    const FLOOD = 400
    // Bodies all the same length, so the heads say nothing about which is which.
    const guess = (i: number) => loginJson(`wrong-${String(i).padStart(6, '0')}`.padEnd(PASSWORD.length + 8, 'x'))
    const flood: SplitRequest[] = []
    for (let i = 0; i < FLOOD; i++) flood.push(await splitRequest(t.port, '/api/login', headers(t.port), guess(i), `127.0.${1 + Math.floor(i / 200)}.${1 + (i % 200)}`))
    // Every head has been seen once all but the five counted attempts are answered (429, body unread).
    const deadline = Date.now() + 20_000
    while (flood.filter((r) => r.answered()).length < FLOOD - LOGIN_LIMITS.perKey && Date.now() < deadline) await sleep(20)
    expect(flood.filter((r) => r.answered())).toHaveLength(FLOOD - LOGIN_LIMITS.perKey)

    // The right password, inside the flood: head first like the others.
    const right = await splitRequest(t.port, '/api/login', headers(t.port), loginJson(PASSWORD), '127.0.0.250')
    await sleep(100)
    for (const r of flood) r.sendBody()
    right.sendBody()
    const replies = await Promise.all(flood.map((r) => r.reply))
    const rightReply = await right.reply
    for (const r of [...flood, right]) r.socket.destroy()

    expect(tally(replies)).toEqual({ 401: LOGIN_LIMITS.perKey, 429: FLOOD - LOGIN_LIMITS.perKey })
    expect(rightReply.status).toBe(429)
    expect(sessionCookies([...replies, rightReply])).toEqual([])

    // The same password, a minute later, signs in: the flood's 429 was the limit.
    now += LOGIN_LIMITS.windowMs + 1000
    const later = await login(t, PASSWORD, '127.0.0.250')
    expect(later.status).toBe(200)
    expect(sessionCookies([later])).toHaveLength(1)
  })

  it('a right login gives its slot back: five failures and a success still leave no room for a sixth failure', async () => {
    const t = await server()
    expect((await login(t, PASSWORD)).status).toBe(200)
    const replies: RawReply[] = []
    for (let i = 0; i < 7; i++) replies.push(await login(t, `nope-${i}`))
    expect(replies.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429, 429])
  })
})

describe('keys and the global cap (the limiter itself)', () => {
  it('keys every loopback address together, IPv6 by /64, IPv4 by address', () => {
    for (const a of ['127.0.0.1', '127.255.3.4', '::1', '::ffff:127.0.0.9', '::FFFF:127.1.2.3', '0:0:0:0:0:0:0:1', '::ffff:7f00:5']) {
      expect(rateLimitKey(a), a).toBe('loopback')
    }
    expect(rateLimitKey('2001:db8:1:2::1')).toBe(rateLimitKey('2001:db8:1:2:ffff:ffff:ffff:ffff'))
    expect(rateLimitKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64')
    expect(rateLimitKey('2001:db8:1:3::1')).not.toBe(rateLimitKey('2001:db8:1:2::1'))
    expect(rateLimitKey('fe80::1%eth0')).toBe(rateLimitKey('fe80::2'))
    expect(rateLimitKey('::ffff:10.0.0.5')).toBe('10.0.0.5')
    expect(rateLimitKey('10.0.0.5')).not.toBe(rateLimitKey('10.0.0.6'))
  })

  it('caps failures from many clients together at 20 a minute; a success frees its slot', () => {
    let t = 0
    const limiter = new LoginRateLimiter({ now: () => t })
    // One /64 rotating its low bits is one client.
    for (let i = 0; i < 5; i++) expect(limiter.begin(`2001:db8:0:1::${i + 1}`).ok).toBe(true)
    expect(limiter.begin('2001:db8:0:1::99')).toMatchObject({ ok: false })
    // Many clients, one failure each: the 21st attempt overall is refused whoever makes it.
    for (let i = 0; i < LOGIN_LIMITS.global - 5; i++) expect(limiter.begin(`198.51.100.${i + 1}`).ok, `client ${i}`).toBe(true)
    expect(limiter.begin('203.0.113.7')).toEqual({ ok: false, retryAfterSeconds: 60 })
    t += LOGIN_LIMITS.windowMs + 1
    const admitted = limiter.begin('203.0.113.7')
    expect(admitted.ok).toBe(true)
    if (admitted.ok) admitted.attempt.succeeded()
    expect(limiter.retryAfterSeconds('203.0.113.8')).toBe(0)
  })
})
