// Where decided review gates are kept for the inbox's history. The desktop app and `vigil serve` keep
// them in Vigil's own DuckDB file (recorder/review-history.ts); without recording, in memory only.
import type { ReviewGate, ReviewHistoryPage } from '../../shared/model/reviews'

export interface ReviewLog {
  /** True when the history survives a restart. */
  readonly persisted: boolean
  /**
   * Stores a resolved gate (settles once stored); never rejects for a storage problem it can report later.
   * `secretHash`: the SHA-256 (hex) of its creator's secret (review API gates), so the creator can still
   * read its outcome (GET /api/reviews/{id} with the secret) after the gate left memory.
   */
  save(gate: ReviewGate, secretHash?: string | null): void | Promise<void>
  /** Newest first. */
  list(offset: number, limit: number): Promise<ReviewHistoryPage>
  get(id: string): Promise<ReviewGate | null>
  /** The creator-secret hash stored with the newest gate of this id, or null. */
  secretHashOf(id: string): Promise<string | null>
}

/**
 * A bounded in-memory history: the oldest entries go first, past `limit` gates or `maxBytes` of their
 * texts (decided gates keep their texts whole: without the bound, a flood of large gates decided one
 * after another would fill the heap). Listed as the recording lists them (recorder/review-history.ts):
 * newest decided first by the instant, not its spelling (offsets from other clients), unreadable
 * times last, then newest saved first.
 */
export class MemoryReviewLog implements ReviewLog {
  readonly persisted = false
  private readonly gates: { gate: ReviewGate; bytes: number; secretHash: string | null; at: number }[] = []
  private bytes = 0

  constructor(
    private readonly limit = 1000,
    private readonly maxBytes = 64 * 1024 * 1024
  ) {}

  save(gate: ReviewGate, secretHash?: string | null): void {
    const bytes = textBytes(gate)
    const at = decidedMs(gate)
    // Gates come decided in order, almost always: the place is found from the newest end.
    let i = 0
    while (i < this.gates.length && this.gates[i]!.at > at) i++
    this.gates.splice(i, 0, { gate, bytes, secretHash: secretHash ?? null, at })
    this.bytes += bytes
    while (this.gates.length > 1 && (this.gates.length > this.limit || this.bytes > this.maxBytes)) {
      this.bytes -= this.gates.pop()!.bytes
    }
  }

  async list(offset: number, limit: number): Promise<ReviewHistoryPage> {
    return { rows: this.gates.slice(offset, offset + limit).map((e) => e.gate), total: this.gates.length }
  }

  async get(id: string): Promise<ReviewGate | null> {
    return this.gates.find((e) => e.gate.id === id)?.gate ?? null
  }

  async secretHashOf(id: string): Promise<string | null> {
    return this.gates.find((e) => e.gate.id === id)?.secretHash ?? null
  }
}

/** When it was decided, ms; unreadable or missing: -Infinity (listed last). */
function decidedMs(gate: ReviewGate): number {
  const t = Date.parse(gate.outcome?.decidedAt ?? '')
  return Number.isNaN(t) ? -Infinity : t
}

function textBytes(gate: ReviewGate): number {
  const texts = [gate.taskDescription, gate.taskOutput, gate.prompt, gate.outcome?.revisedOutput]
  return texts.reduce((n, t) => n + (typeof t === 'string' ? Buffer.byteLength(t) : 0), 0)
}
