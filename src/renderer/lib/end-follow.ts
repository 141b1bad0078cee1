// Following a scroll region's end, as a log's tail does (a live run's tools and files tables, its
// conversation): whether the region was at its end when last scrolled by the user; while it was,
// whenever what it holds changes size (rows added, a block grown) it is put back there: after layout,
// before paint (ResizeObserver), so no extra layout. Scrolled up, nothing moves.
// A scroll away from the end counts as the user's only with their input just before it (wheel, touch,
// keys, a pointer on the scrollbar): a busy run that drops blocks above the view moves the scroll
// position too (clamped, anchored), and that is not the user leaving the end. While it follows, the
// browser's scroll anchoring is off in the region (it would move the view up with the blocks dropped);
// scrolled up, anchoring keeps the reader's place as usual.

/** What it uses of a scroll region (an HTMLElement). */
export interface ScrollRegion {
  scrollTop: number
  readonly scrollHeight: number
  readonly clientHeight: number
  readonly style: { overflowAnchor: string }
  addEventListener(type: string, listener: () => void, options?: { passive?: boolean; capture?: boolean }): void
  removeEventListener(type: string, listener: () => void, options?: { capture?: boolean }): void
}
/** What it uses of ResizeObserver. */
export type SizeObserverClass = new (changed: () => void) => { observe(target: never): void; disconnect(): void }

/** A scroll this soon after the user's input is theirs. */
const USER_SCROLL_MS = 1000
const USER_INPUT = ['wheel', 'touchmove', 'keydown', 'pointerdown'] as const

export class EndFollow {
  /** At the end as last scrolled; a region starts at its end (a live view opens on the newest). */
  private end = true
  /** The region kept at its end (keep), whose scroll anchoring is off while at the end. */
  private kept: ScrollRegion | null = null
  private inputAt = -Infinity
  /** `onEnd`: told whenever the region leaves its end or comes back to it (a view that shows less while it follows). */
  constructor(private readonly onEnd?: (atEnd: boolean) => void) {}
  get atEnd(): boolean {
    return this.end
  }
  private set atEnd(v: boolean) {
    if (v === this.end) return
    this.end = v
    // Anchoring first: what the listener changes above the view then keeps the reader's place.
    if (this.kept) this.kept.style.overflowAnchor = v ? 'none' : ''
    this.onEnd?.(v)
  }

  /** Notes, on each scroll of `region`, whether the user left its end or came back to it. Returns the clean-up. */
  watch(region: ScrollRegion, now: () => number = () => performance.now()): () => void {
    const onInput = () => (this.inputAt = now())
    const onScroll = () => {
      const atEnd = region.scrollTop + region.clientHeight >= region.scrollHeight - 4
      if (this.end && !atEnd && now() - this.inputAt > USER_SCROLL_MS) {
        // Moved by the content, not the user: back to the end (while it follows).
        if (this.kept === region) region.scrollTop = region.scrollHeight - region.clientHeight
        return
      }
      this.atEnd = atEnd
    }
    for (const type of USER_INPUT) region.addEventListener(type, onInput, { passive: true, capture: true })
    region.addEventListener('scroll', onScroll, { passive: true })
    return () => {
      for (const type of USER_INPUT) region.removeEventListener(type, onInput, { capture: true })
      region.removeEventListener('scroll', onScroll)
    }
  }

  /** Keeps `region` at its end while it was there and `content` (or the region) changes size. Returns the clean-up. */
  keep(region: ScrollRegion, content: Iterable<unknown>, Observer: SizeObserverClass = (globalThis as unknown as { ResizeObserver: SizeObserverClass }).ResizeObserver): () => void {
    const pin = () => {
      const end = region.scrollHeight - region.clientHeight
      if (this.end && end > region.scrollTop) region.scrollTop = end
    }
    const observer = new Observer(pin)
    for (const el of content) observer.observe(el as never)
    observer.observe(region as never)
    // A block drawn only near the view (content-visibility: auto) that comes into it takes its real
    // height in a later frame, which the observer does not always report in time.
    region.addEventListener('contentvisibilityautostatechange', pin, { passive: true, capture: true })
    this.kept = region
    region.style.overflowAnchor = this.end ? 'none' : ''
    return () => {
      observer.disconnect()
      region.removeEventListener('contentvisibilityautostatechange', pin, { capture: true })
      this.kept = null
      region.style.overflowAnchor = ''
    }
  }
}
