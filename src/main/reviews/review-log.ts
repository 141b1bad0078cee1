// Where decided review gates are kept for the inbox's history. The desktop app and `vigil serve` keep
// them in Vigil's own DuckDB file (recorder/review-history.ts); without recording, in memory only.
import type { ReviewGate, ReviewHistoryPage } from '../../shared/model/reviews'

export interface ReviewLog {
  /** True when the history survives a restart. */
  readonly persisted: boolean
  /** Stores a resolved gate (settles once stored); never rejects for a storage problem it can report later. */
  save(gate: ReviewGate): void | Promise<void>
  /** Newest first. */
  list(offset: number, limit: number): Promise<ReviewHistoryPage>
  get(id: string): Promise<ReviewGate | null>
}

/** A bounded in-memory history: the oldest entries go first. */
export class MemoryReviewLog implements ReviewLog {
  readonly persisted = false
  private readonly gates: ReviewGate[] = []

  constructor(private readonly limit = 1000) {}

  save(gate: ReviewGate): void {
    this.gates.unshift(gate)
    if (this.gates.length > this.limit) this.gates.length = this.limit
  }

  async list(offset: number, limit: number): Promise<ReviewHistoryPage> {
    return { rows: this.gates.slice(offset, offset + limit), total: this.gates.length }
  }

  async get(id: string): Promise<ReviewGate | null> {
    return this.gates.find((g) => g.id === id) ?? null
  }
}
