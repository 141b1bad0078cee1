// Review gates as every view sees them: the pending queue (by deadline), the latest decided gates, and
// the do-not-disturb switch. Fed by a listReviews() snapshot and the 'reviews-changed' deltas (one per
// change turn, texts cut; ReviewFeed applies them in seq order and refetches on a gap, a resync marker
// or a reconnect), so a window never shows a gate someone else already decided. Whole texts: getReview.
import type { VigilBridge } from '../../shared/api/contract'
import type { ReviewsSnapshot } from '../../shared/model/review-delta'
import type { ReviewGate } from '../../shared/model/reviews'
import { ReviewFeed } from './review-feed'

export class ReviewsStore {
  pending = $state.raw<ReviewGate[]>([])
  recent = $state.raw<ReviewGate[]>([])
  doNotDisturb = $state(false)
  historyPersisted = $state(true)
  loaded = $state(false)
  error = $state<string | null>(null)
  /** Bumped on every change: pages that fetch more (the history) refetch on it. */
  version = $state(0)
  private readonly feed: ReviewFeed
  /** Unknown until the transport says; every change to "connected" refetches (pushes may have been missed). */
  private connected: boolean | null = null

  constructor(private readonly bridge: VigilBridge) {
    this.feed = new ReviewFeed({ load: () => this.bridge.listReviews(), onState: (state) => this.show(state) })
  }

  /** Subscribes first, then loads, so nothing that happens in between is missed. */
  async start(): Promise<void> {
    this.bridge.on('reviews-changed', (delta) => this.feed.push(delta))
    await this.reload()
  }

  async reload(): Promise<void> {
    try {
      await this.feed.resync()
      this.error = null
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err)
    } finally {
      this.loaded = true
    }
  }

  /** The event socket connected, dropped or came back: on (re)connect, pushes may have been missed. */
  setConnected(connected: boolean): void {
    const was = this.connected
    this.connected = connected
    if (connected && was !== true) void this.reload()
  }

  /**
   * A gate this window decided (or learned was decided), shown at once; the push that follows
   * carries the same outcome.
   */
  noteResolved(gate: ReviewGate): void {
    if (gate.status === 'pending') return
    this.feed.patch((s) => ({
      ...s,
      pending: s.pending.filter((g) => g.id !== gate.id),
      recent: [gate, ...s.recent.filter((g) => g.id !== gate.id)]
    }))
  }

  /** Pending or recently decided; undefined when older (ask getReview). */
  find(id: string): ReviewGate | undefined {
    return this.pending.find((g) => g.id === id) ?? this.recent.find((g) => g.id === id)
  }

  pendingForRun(runId: string): ReviewGate[] {
    return this.pending.filter((g) => g.runId === runId)
  }

  async setDoNotDisturb(enabled: boolean): Promise<void> {
    const answer = await this.bridge.setDoNotDisturb(enabled)
    // Only the switch, and only if no later push (another window's switch) was applied already.
    this.feed.patch((s) => (s.seq <= answer.seq ? { ...s, doNotDisturb: answer.doNotDisturb } : s))
  }

  private show(state: ReviewsSnapshot): void {
    if (this.pending !== state.pending) this.pending = state.pending
    if (this.recent !== state.recent) this.recent = state.recent
    this.doNotDisturb = state.doNotDisturb
    this.historyPersisted = state.historyPersisted
    this.version++
  }
}

/** A clock for countdowns; `run()` from an $effect so it stops with the view. */
export class Clock {
  now = $state(Date.now())

  run(everyMs = 250): () => void {
    this.now = Date.now()
    const timer = setInterval(() => (this.now = Date.now()), everyMs)
    return () => clearInterval(timer)
  }
}
