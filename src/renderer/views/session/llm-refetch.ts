// Refetching the LLM page on every snapshot without stacking requests or re-rendering what did not change.

/** `next`, or `shown` when it is equal (same JSON): keeping the shown object means nothing re-renders. */
export function sameOr<T>(shown: T | null, next: T): T {
  if (shown === null || shown === next) return next
  return JSON.stringify(shown) === JSON.stringify(next) ? shown : next
}

/** The most rows whose objects are remembered for reuse (a few windows' worth). */
const REMEMBERED_ROWS = 2000

/**
 * Windows of rows fetched by key (the question and the window): at most one request per key in flight.
 * Asked again while one runs, the fetch is queued to start when it settles (so it reads the newest
 * snapshot), and every ask meanwhile shares that one queued request: latest wins, nothing stacks.
 * Rows equal to ones fetched before (same key and JSON) come back as the same objects.
 */
export class RowsFetcher<R> {
  private readonly slots = new Map<string, { running: Promise<unknown>; queued: Promise<unknown> | null }>()
  private readonly known = new Map<string | number, { json: string; row: R }>()
  /** Requests started and asks that shared a queued one (tests, diagnostics). */
  readonly counts = { started: 0, shared: 0 }

  constructor(private readonly keyOf: (row: R) => string | number) {}

  fetch<P extends { rows: R[] }>(key: string, request: () => Promise<P>): Promise<P> {
    const slot = this.slots.get(key)
    if (!slot) return this.start(key, request)
    if (slot.queued) {
      this.counts.shared++
      return slot.queued as Promise<P>
    }
    const queued = slot.running.then(
      () => undefined,
      () => undefined
    ).then(() => this.start(key, request))
    slot.queued = queued
    return queued
  }

  private start<P extends { rows: R[] }>(key: string, request: () => Promise<P>): Promise<P> {
    this.counts.started++
    const running = request().then((page) => ({ ...page, rows: page.rows.map((r) => this.reuse(r)) }))
    this.slots.set(key, { running, queued: null })
    const done = () => {
      const slot = this.slots.get(key)
      // A queued request takes the slot over when it starts (start() replaced it).
      if (slot?.running === running) this.slots.delete(key)
    }
    running.then(done, done)
    return running
  }

  private reuse(row: R): R {
    const key = this.keyOf(row)
    const json = JSON.stringify(row)
    const before = this.known.get(key)
    if (before && before.json === json) return before.row
    if (this.known.size >= REMEMBERED_ROWS) this.known.clear()
    this.known.set(key, { json, row })
    return row
  }
}
