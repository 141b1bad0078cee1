// Following a scroll region's end, as a log's tail does (a live run's tools and files tables, its
// conversation): whether the region was at its end when last scrolled (by the user or by us); while it
// was, whenever what it holds changes size (rows added, a block grown) it is put back there: after
// layout, before paint (ResizeObserver), so no extra layout. Scrolled up, nothing moves.
// While it follows, the browser's scroll anchoring is off in the region: when a busy run drops the oldest
// rows or blocks above the view, anchoring would move the view up with them, which reads as the user
// leaving the end. Scrolled up, anchoring keeps the reader's place as usual.

/** What it uses of a scroll region (an HTMLElement). */
export interface ScrollRegion {
  scrollTop: number
  readonly scrollHeight: number
  readonly clientHeight: number
  readonly style: { overflowAnchor: string }
  addEventListener(type: 'scroll', listener: () => void, options?: { passive?: boolean }): void
  removeEventListener(type: 'scroll', listener: () => void): void
}
/** What it uses of ResizeObserver. */
export type SizeObserverClass = new (changed: () => void) => { observe(target: never): void; disconnect(): void }

export class EndFollow {
  /** At the end as last scrolled; a region starts at its end (a live view opens on the newest). */
  private end = true
  /** The region kept at its end (keep), whose scroll anchoring is off while at the end. */
  private kept: ScrollRegion | null = null
  get atEnd(): boolean {
    return this.end
  }
  private set atEnd(v: boolean) {
    if (v === this.end) return
    this.end = v
    if (this.kept) this.kept.style.overflowAnchor = v ? 'none' : ''
  }
  /** Where the region was scrolled to when last known at its end. */
  private endTop = 0

  /** Notes, on each scroll of `region`, whether it is at its end. Returns the clean-up. */
  watch(region: ScrollRegion): () => void {
    const onScroll = () => {
      this.atEnd = region.scrollTop + region.clientHeight >= region.scrollHeight - 4
      if (this.atEnd) this.endTop = region.scrollTop
    }
    region.addEventListener('scroll', onScroll, { passive: true })
    return () => region.removeEventListener('scroll', onScroll)
  }

  /** Keeps `region` at its end while it was there and `content` (or the region) changes size. Returns the clean-up. */
  keep(region: ScrollRegion, content: Iterable<unknown>, Observer: SizeObserverClass = (globalThis as unknown as { ResizeObserver: SizeObserverClass }).ResizeObserver): () => void {
    const observer = new Observer(() => {
      // Scrolled up since, its scroll event not yet come (events are dispatched with the next frame, and
      // the content grew first): the user left the end, and is not pulled back. (Content that shrank
      // clamps the scroll position to the new end: still at the end.)
      if (this.atEnd && region.scrollTop < this.endTop - 4 && region.scrollTop + region.clientHeight < region.scrollHeight - 4) this.atEnd = false
      const end = region.scrollHeight - region.clientHeight
      if (this.atEnd && end > region.scrollTop) region.scrollTop = end
      if (this.atEnd) this.endTop = region.scrollTop
    })
    for (const el of content) observer.observe(el as never)
    observer.observe(region as never)
    this.kept = region
    region.style.overflowAnchor = this.end ? 'none' : ''
    return () => {
      observer.disconnect()
      this.kept = null
      region.style.overflowAnchor = ''
    }
  }
}
