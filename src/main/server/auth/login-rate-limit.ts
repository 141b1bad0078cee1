// Login attempts, limited per client and overall. An attempt is counted when its request ARRIVES
// (begin(), called before the body is read), not once its password has been checked: a client that sends
// a thousand request heads first and the bodies later still has at most PER_KEY attempts evaluated in a
// minute; the others are answered 429 without their password being looked at. A successful login gives
// its slot back, so only failures (and attempts still in flight) use up the limit.
//
// Keys: every loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z) is ONE client — a local attacker can
// bind any of 16 million 127/8 source addresses; an IPv6 client is its /64 (one host usually holds a whole
// /64); an IPv4 client is its address. On top of that, a global cap bounds what many addresses together
// can try. The price: a flood of wrong passwords blocks new logins for everyone for up to a minute
// (sessions already open keep working).
import { isIP } from 'node:net'

export const LOGIN_LIMITS = {
  /** Failed (or in-flight) attempts a minute per client key. */
  perKey: 5,
  /** Failed (or in-flight) attempts a minute from all clients together. */
  global: 20,
  windowMs: 60_000
} as const

const MAX_KEYS = 10_000

export interface LoginRateLimiterOptions {
  limit?: number
  globalLimit?: number
  windowMs?: number
  now?: () => number
}

/** A counted attempt: call succeeded() when the password was right (its slot is given back). */
export interface LoginAttempt {
  succeeded(): void
}

export type LoginAdmission = { ok: true; attempt: LoginAttempt } | { ok: false; retryAfterSeconds: number }

/** The rate limiter's key for a peer address (see the header). */
export function rateLimitKey(address: string): string {
  let a = address.trim().toLowerCase()
  const zone = a.indexOf('%')
  if (zone >= 0) a = a.slice(0, zone)
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7)
  if (isIP(a) === 4) return /^127\./.test(a) ? 'loopback' : a
  if (isIP(a) !== 6) return a
  const groups = expandIpv6(a)
  if (!groups) return a
  // ::1, and IPv4-mapped addresses written in hex (::ffff:7f00:1).
  const zeros5 = groups.slice(0, 5).every((g) => g === 0)
  if (zeros5 && groups[5] === 0 && groups[6] === 0 && groups[7] === 1) return 'loopback'
  if (zeros5 && groups[5] === 0xffff) {
    const v4 = `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`
    return v4.startsWith('127.') ? 'loopback' : v4
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (a dotted IPv4 tail included), or null. */
function expandIpv6(address: string): number[] | null {
  let text = address
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return null
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const head = parse(halves[0]!)
  const tail = halves.length === 2 ? parse(halves[1]!) : []
  const fill = 8 - head.length - tail.length
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null
  const groups = [...head, ...new Array<number>(fill).fill(0), ...tail]
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null
}

export class LoginRateLimiter {
  /** key → times of recent attempts (failed or in flight), oldest first. */
  private readonly attempts = new Map<string, number[]>()
  private global: number[] = []
  private readonly limit: number
  private readonly globalLimit: number
  private readonly windowMs: number
  private readonly now: () => number

  constructor(opts: LoginRateLimiterOptions = {}) {
    this.limit = opts.limit ?? LOGIN_LIMITS.perKey
    this.globalLimit = opts.globalLimit ?? LOGIN_LIMITS.global
    this.windowMs = opts.windowMs ?? LOGIN_LIMITS.windowMs
    this.now = opts.now ?? Date.now
  }

  /**
   * Counts an attempt from this address now, or refuses it (with the seconds to wait) when its key or
   * everyone together is at the limit. Call it when the request arrives, before reading its body.
   */
  begin(address: string): LoginAdmission {
    const key = rateLimitKey(address)
    const wait = this.wait(key)
    if (wait > 0) return { ok: false, retryAfterSeconds: wait }
    const at = this.now()
    const mine = this.recent(key)
    mine.push(at)
    this.attempts.delete(key)
    this.attempts.set(key, mine)
    this.global.push(at)
    // Bounded memory under a flood of addresses: forget the least recently trying key.
    if (this.attempts.size > MAX_KEYS) this.attempts.delete(this.attempts.keys().next().value!)
    let released = false
    return {
      ok: true,
      attempt: {
        succeeded: () => {
          if (released) return
          released = true
          removeOne(this.attempts.get(key), at)
          removeOne(this.global, at)
        }
      }
    }
  }

  /** Seconds until this address may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    return this.wait(rateLimitKey(address))
  }

  /** Counts one failed attempt that was not begun through begin() (tests, other callers). */
  recordFailure(address: string): void {
    const key = rateLimitKey(address)
    const mine = this.recent(key)
    mine.push(this.now())
    this.attempts.set(key, mine)
    this.global.push(this.now())
  }

  private wait(key: string): number {
    const now = this.now()
    const mine = this.recent(key)
    this.global = this.global.filter((t) => t > now - this.windowMs)
    let until = 0
    if (mine.length >= this.limit) until = Math.max(until, mine[mine.length - this.limit]! + this.windowMs)
    if (this.global.length >= this.globalLimit) until = Math.max(until, this.global[this.global.length - this.globalLimit]! + this.windowMs)
    return until === 0 ? 0 : Math.max(1, Math.ceil((until - now) / 1000))
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs
    const kept = (this.attempts.get(key) ?? []).filter((t) => t > cutoff)
    if (kept.length === 0) this.attempts.delete(key)
    else this.attempts.set(key, kept)
    return kept
  }
}

function removeOne(list: number[] | undefined, at: number): void {
  const i = list?.indexOf(at) ?? -1
  if (i >= 0) list!.splice(i, 1)
}
