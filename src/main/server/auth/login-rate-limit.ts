// Failed logins per client address: at most LIMIT in a sliding WINDOW, then refused until one ages out.

const LIMIT = 5
const WINDOW_MS = 60_000
const MAX_ADDRESSES = 10_000

export interface LoginRateLimiterOptions {
  limit?: number
  windowMs?: number
  now?: () => number
}

export class LoginRateLimiter {
  /** address → times of recent failures, oldest first. */
  private readonly failures = new Map<string, number[]>()
  private readonly limit: number
  private readonly windowMs: number
  private readonly now: () => number

  constructor(opts: LoginRateLimiterOptions = {}) {
    this.limit = opts.limit ?? LIMIT
    this.windowMs = opts.windowMs ?? WINDOW_MS
    this.now = opts.now ?? Date.now
  }

  /** Seconds until this address may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    const recent = this.recent(address)
    if (recent.length < this.limit) return 0
    return Math.max(1, Math.ceil((recent[0]! + this.windowMs - this.now()) / 1000))
  }

  recordFailure(address: string): void {
    const recent = this.recent(address)
    recent.push(this.now())
    this.failures.delete(address)
    this.failures.set(address, recent)
    // Bounded memory under a flood of addresses: forget the least recently failing one.
    if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!)
  }

  private recent(address: string): number[] {
    const cutoff = this.now() - this.windowMs
    const kept = (this.failures.get(address) ?? []).filter((t) => t > cutoff)
    if (kept.length === 0) this.failures.delete(address)
    else this.failures.set(address, kept)
    return kept
  }
}
