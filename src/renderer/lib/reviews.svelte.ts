// Review gates as every view sees them: the pending queue (by deadline), the latest decided gates, and
// the do-not-disturb switch. Fed by listReviews() and the 'reviews-changed' push, which carries the
// whole state on every change, so a window never shows a gate someone else already decided.
import type { VigilBridge } from '../../shared/api/contract'
import type { ReviewGate, ReviewsState } from '../../shared/model/reviews'

export class ReviewsStore {
  pending = $state.raw<ReviewGate[]>([])
  recent = $state.raw<ReviewGate[]>([])
  doNotDisturb = $state(false)
  historyPersisted = $state(true)
  loaded = $state(false)
  error = $state<string | null>(null)
  /** Bumped on every change: pages that fetch more (the history) refetch on it. */
  version = $state(0)
  /** Counts pushes, so a listReviews() answer older than a push is not applied over it. */
  private pushes = 0
  private connected = true

  constructor(private readonly bridge: VigilBridge) {}

  /** Subscribes first, then loads, so nothing that happens in between is missed. */
  async start(): Promise<void> {
    this.bridge.on('reviews-changed', (state) => {
      this.pushes++
      this.apply(state)
    })
    await this.reload()
  }

  async reload(): Promise<void> {
    const seen = this.pushes
    try {
      const state = await this.bridge.listReviews()
      if (this.pushes === seen) this.apply(state)
      this.error = null
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err)
    } finally {
      this.loaded = true
    }
  }

  /** The event socket dropped or came back; after a drop, pushes may have been missed. */
  setConnected(connected: boolean): void {
    const wasDown = !this.connected
    this.connected = connected
    if (connected && wasDown) void this.reload()
  }

  apply(state: ReviewsState): void {
    this.pending = state.pending
    this.recent = state.recent
    this.doNotDisturb = state.doNotDisturb
    this.historyPersisted = state.historyPersisted
    this.version++
  }

  /**
   * A gate this window decided (or learned was decided), shown at once; the push that follows
   * carries the same outcome.
   */
  noteResolved(gate: ReviewGate): void {
    if (gate.status === 'pending') return
    this.pending = this.pending.filter((g) => g.id !== gate.id)
    this.recent = [gate, ...this.recent.filter((g) => g.id !== gate.id)]
    this.version++
  }

  /** Pending or recently decided; undefined when older (ask getReview). */
  find(id: string): ReviewGate | undefined {
    return this.pending.find((g) => g.id === id) ?? this.recent.find((g) => g.id === id)
  }

  pendingForRun(runId: string): ReviewGate[] {
    return this.pending.filter((g) => g.runId === runId)
  }

  async setDoNotDisturb(enabled: boolean): Promise<void> {
    this.apply(await this.bridge.setDoNotDisturb(enabled))
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
