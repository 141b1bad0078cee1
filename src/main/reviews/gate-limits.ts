// Hard caps on pending review gates, so no local process can exhaust Vigil's memory with them (each
// pending gate keeps its texts whole: the reviewer must be able to read all of it). Counted per source
// and overall; a gate over a cap is refused, never raised and then dropped:
//   * the review API answers 429 (too many gates) or 413 (too many bytes), naming the limit;
//   * gates from agents (hub producers, attached dashboards) are refused, counted per source in
//     `GateBudget.refusals()` (GET /api/reviews shows them) and logged once per burst.
import type { ReviewGate, ReviewGateSource } from '../../shared/model/reviews'

export interface GateLimits {
  /** Pending gates overall. */
  maxGates: number
  /** Pending gates per source (the review API is one source; each hub producer and attached stream is one). */
  maxGatesPerSource: number
  /** UTF-8 bytes of pending gates' texts overall. */
  maxBytes: number
  /** UTF-8 bytes of pending gates' texts per source. */
  maxBytesPerSource: number
}

export const DEFAULT_GATE_LIMITS: GateLimits = {
  maxGates: 1000,
  maxGatesPerSource: 200,
  maxBytes: 64 * 1024 * 1024,
  maxBytesPerSource: 16 * 1024 * 1024
}

/** A cap's name as errors and counters give it (the last three: the review API's request limits). */
export type GateLimitName = keyof GateLimits | 'maxBodyBytes' | 'maxTextChars' | 'maxInFlightBodyBytes'

/** A gate refused by a cap: `status` is 429 for a count, 413 for bytes. */
export class GateLimitError extends Error {
  override readonly name = 'GateLimitError'
  constructor(
    readonly limit: GateLimitName,
    readonly value: number,
    readonly status: 413 | 429,
    message: string
  ) {
    super(message)
  }
}

export interface GateRefusals {
  total: number
  /** Per source key (see `budgetKey`), at most 100 keys; the rest are summed under "(other)". */
  bySource: Record<string, { count: number; lastLimit: GateLimitName; lastAt: string }>
}

/** Which budget a gate counts against: "api", or the source id and producer id. */
export function budgetKey(source: ReviewGateSource): string {
  if (source.kind === 'api') return 'api'
  return source.producerId === null ? source.sourceId : `${source.sourceId}/${source.producerId}`
}

/** The bytes a pending gate holds: its texts in UTF-8. */
export function gateBytes(gate: Pick<ReviewGate, 'taskDescription' | 'taskOutput' | 'prompt' | 'requiredRole' | 'timing'>): number {
  return (
    Buffer.byteLength(gate.taskDescription) +
    Buffer.byteLength(gate.taskOutput) +
    (gate.prompt === null || gate.prompt === undefined ? 0 : Buffer.byteLength(gate.prompt)) +
    (gate.requiredRole === null || gate.requiredRole === undefined ? 0 : Buffer.byteLength(gate.requiredRole)) +
    Buffer.byteLength(gate.timing)
  )
}

const MAX_REFUSAL_KEYS = 100
/** Refusals closer together than this are one burst: logged once. */
const BURST_GAP_MS = 10_000

export class GateBudget {
  private count = 0
  private bytes = 0
  private readonly perSource = new Map<string, { count: number; bytes: number }>()
  private readonly refused: GateRefusals = { total: 0, bySource: Object.create(null) as GateRefusals['bySource'] }
  private lastRefusalAt = -Infinity
  private unloggedRefusals = 0

  constructor(
    readonly limits: GateLimits,
    private readonly now: () => number,
    private readonly log: (message: string) => void = (m) => console.warn(m)
  ) {}

  /** Throws GateLimitError when one more gate of `bytes` from `key` would pass a cap. */
  check(key: string, bytes: number): void {
    const mine = this.perSource.get(key) ?? { count: 0, bytes: 0 }
    const l = this.limits
    if (mine.count + 1 > l.maxGatesPerSource) {
      throw new GateLimitError('maxGatesPerSource', l.maxGatesPerSource, 429, `Too many pending review gates from this source (limit maxGatesPerSource = ${l.maxGatesPerSource}). Decide or wait for some first.`)
    }
    if (this.count + 1 > l.maxGates) {
      throw new GateLimitError('maxGates', l.maxGates, 429, `Too many pending review gates (limit maxGates = ${l.maxGates}). Decide or wait for some first.`)
    }
    if (bytes > l.maxBytesPerSource || mine.bytes + bytes > l.maxBytesPerSource) {
      throw new GateLimitError('maxBytesPerSource', l.maxBytesPerSource, 413, `This gate's texts (${bytes} bytes) would take this source's pending gates over ${l.maxBytesPerSource} bytes (limit maxBytesPerSource).`)
    }
    if (this.bytes + bytes > l.maxBytes) {
      throw new GateLimitError('maxBytes', l.maxBytes, 413, `This gate's texts (${bytes} bytes) would take all pending gates over ${l.maxBytes} bytes (limit maxBytes).`)
    }
  }

  /** The count-only part of check(): cheap, before a request body is read. */
  checkCount(key: string): void {
    this.check(key, 0)
  }

  add(key: string, bytes: number): void {
    const mine = this.perSource.get(key) ?? { count: 0, bytes: 0 }
    mine.count++
    mine.bytes += bytes
    this.perSource.set(key, mine)
    this.count++
    this.bytes += bytes
  }

  release(key: string, bytes: number): void {
    const mine = this.perSource.get(key)
    if (!mine) return
    mine.count--
    mine.bytes -= bytes
    if (mine.count <= 0) this.perSource.delete(key)
    this.count = Math.max(0, this.count - 1)
    this.bytes = Math.max(0, this.bytes - bytes)
  }

  /** Counts a refused agent gate and logs the first of each burst (then how many followed it). */
  noteRefused(key: string, label: string, err: GateLimitError): void {
    const at = this.now()
    this.refused.total++
    const bucket = key in this.refused.bySource || Object.keys(this.refused.bySource).length < MAX_REFUSAL_KEYS ? key : '(other)'
    const entry = this.refused.bySource[bucket] ?? { count: 0, lastLimit: err.limit, lastAt: '' }
    entry.count++
    entry.lastLimit = err.limit
    entry.lastAt = new Date(at).toISOString()
    this.refused.bySource[bucket] = entry
    if (at - this.lastRefusalAt > BURST_GAP_MS) {
      const before = this.unloggedRefusals > 0 ? ` (${this.unloggedRefusals} more were refused in the previous burst)` : ''
      this.log(`vigil: refused a review gate from ${label}: ${err.message}${before}. Further refusals in this burst are counted (GET /api/reviews "refused"), not logged.`)
      this.unloggedRefusals = 0
    } else {
      this.unloggedRefusals++
    }
    this.lastRefusalAt = at
  }

  usage(): { gates: number; bytes: number } {
    return { gates: this.count, bytes: this.bytes }
  }

  refusals(): GateRefusals {
    const bySource = Object.create(null) as GateRefusals['bySource']
    for (const [k, v] of Object.entries(this.refused.bySource)) bySource[k] = { ...v }
    return { total: this.refused.total, bySource }
  }
}
