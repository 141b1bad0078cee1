// Keeps a window's copy of the gate lists: one listReviews() snapshot, then the `reviews-changed`
// deltas in seq order. A gap in the seqs (a missed push: the web bridge's socket dropped, say), a resync
// marker, or a (re)connect refetches the snapshot; deltas arriving while it loads are kept and applied
// on top of it. Plain TypeScript (the Svelte store wraps it), so it is tested in Node.
import { applyReviewsDelta, type ReviewsDelta, type ReviewsSnapshot } from '../../shared/model/review-delta'

/** Deltas kept while a snapshot loads; past this, they are dropped and the snapshot is fetched again. */
const MAX_BUFFERED = 1000

export interface ReviewFeedOptions {
  load: () => Promise<ReviewsSnapshot>
  /** Every new state (lists not changed keep their identity). */
  onState: (state: ReviewsSnapshot) => void
}

export class ReviewFeed {
  private current: ReviewsSnapshot | null = null
  private buffered: ReviewsDelta[] = []
  private overflowed = false
  private loading: Promise<void> | null = null
  private again = false
  /** Snapshots fetched so far (tests and diagnostics). */
  loads = 0

  constructor(private readonly opts: ReviewFeedOptions) {}

  get state(): ReviewsSnapshot | null {
    return this.current
  }

  /** A `reviews-changed` push. */
  push(delta: ReviewsDelta): void {
    if (this.loading || !this.current) {
      if (this.buffered.length < MAX_BUFFERED) this.buffered.push(delta)
      else this.overflowed = true
      if (!this.loading) void this.resync().catch(() => undefined)
      return
    }
    if (delta.seq <= this.current.seq) return // already in the snapshot
    const next = delta.seq === this.current.seq + 1 ? applyReviewsDelta(this.current, delta) : null
    if (next) this.show(next)
    else void this.resync().catch(() => undefined) // a gap, a resync marker, or a decided gate unknown here
  }

  /**
   * Fetches the snapshot (once, however many callers ask while it loads; again afterwards if something
   * asked for it after the request went out). Rejects when the fetch fails; the old state stays.
   */
  resync(): Promise<void> {
    if (this.loading) {
      this.again = true
      return this.loading
    }
    this.loading = this.run().finally(() => (this.loading = null))
    return this.loading
  }

  /** A local change shown at once (a decision this window made); the push that follows agrees with it. */
  patch(change: (state: ReviewsSnapshot) => ReviewsSnapshot): void {
    if (this.current) this.show(change(this.current))
  }

  private async run(): Promise<void> {
    do {
      this.again = false
      // What came before this request is in its answer.
      this.buffered = []
      this.overflowed = false
      this.loads++
      let state = await this.opts.load()
      for (const delta of this.buffered.sort((a, b) => a.seq - b.seq)) {
        if (delta.seq <= state.seq) continue
        const next = delta.seq === state.seq + 1 ? applyReviewsDelta(state, delta) : null
        if (!next) {
          this.again = true
          break
        }
        state = next
      }
      if (this.overflowed) this.again = true
      this.buffered = []
      this.show(state)
    } while (this.again)
  }

  private show(state: ReviewsSnapshot): void {
    this.current = state
    this.opts.onState(state)
  }
}
