// The Now page's data: one bounded getOverview() call, refetched when a push says something changed
// (store snapshots, run updates, sources, gates), coalesced so a busy agent costs at most one fetch per
// `minGapMs`. Never polls; elapsed times tick in the page from the start times it already has.
import type { EventName, VigilBridge } from '../../shared/api/contract'
import type { Overview } from '../../shared/model/overview'

const TRIGGERS: EventName[] = ['store-updated', 'run-updated', 'sources-changed', 'reviews-changed']

export class OverviewStore {
  data = $state.raw<Overview | null>(null)
  error = $state<string | null>(null)
  /** Local time of the last answer (for "last update" when the server is gone). */
  updatedAt = $state<number | null>(null)
  private inFlight = false
  private again = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private lastFetch = 0
  private offs: Array<() => void> = []
  /** Pages showing the overview; while none does, pushes only mark it out of date. */
  private viewers = 0
  private dirty = true

  constructor(
    private readonly bridge: VigilBridge,
    private readonly minGapMs = 750
  ) {}

  /** Subscribes to the pushes once (the app keeps one store, so a page shows the last overview at once). */
  start(): () => void {
    if (this.offs.length === 0) this.offs = TRIGGERS.map((e) => this.bridge.on(e, () => this.changed()))
    return () => this.stop()
  }

  /** A page shows the overview: fetch if anything changed since it was last seen; returns the release. */
  show(): () => void {
    this.viewers++
    if (this.dirty || this.data === null) this.soon()
    return () => {
      this.viewers = Math.max(0, this.viewers - 1)
    }
  }

  private changed(): void {
    this.dirty = true
    if (this.viewers > 0) this.soon()
  }

  stop(): void {
    for (const off of this.offs) off()
    this.offs = []
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** Something changed: fetch once the gap since the last fetch has passed (one fetch for a burst). */
  soon(): void {
    if (this.timer) return
    const wait = Math.max(0, this.lastFetch + this.minGapMs - Date.now())
    this.timer = setTimeout(() => {
      this.timer = null
      void this.fetch()
    }, wait)
  }

  async fetch(): Promise<void> {
    if (this.inFlight) {
      this.again = true
      return
    }
    this.inFlight = true
    this.dirty = false
    this.lastFetch = Date.now()
    try {
      this.data = await this.bridge.getOverview()
      this.updatedAt = Date.now()
      this.error = null
    } catch (err) {
      this.dirty = true
      this.error = err instanceof Error ? err.message : String(err)
    } finally {
      this.inFlight = false
      if (this.again) {
        this.again = false
        this.soon()
      }
    }
  }
}
