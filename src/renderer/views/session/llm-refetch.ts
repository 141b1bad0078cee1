// Refetching the LLM page on every snapshot without stacking requests or re-rendering what did not change.

/** `next`, or `shown` when it is equal (same JSON): keeping the shown object means nothing re-renders. */
export function sameOr<T>(shown: T | null, next: T): T {
  if (shown === null || shown === next) return next
  return JSON.stringify(shown) === JSON.stringify(next) ? shown : next
}

/** The most rows whose objects are remembered for reuse (a few windows' worth). */
const REMEMBERED_ROWS = 2000

/** Windows waiting for their turn; past this the oldest is dropped (counted) — it was asked for long ago. */
const MAX_QUEUED = 16

interface Queued<P> {
  request: () => Promise<P>
  promise: Promise<P>
  resolve: (page: P) => void
  reject: (err: unknown) => void
}

/**
 * Windows of rows fetched by key (the question and the window), one request at a time (the server
 * answers a store's queries one after the other anyway): at most one rows request in flight. A window
 * asked for again while it waits shares the waiting request (latest wins, nothing stacks); asked for
 * while it runs, it waits for its turn and so reads the newest snapshot. Rows equal to ones fetched
 * before (same key and JSON) come back as the same objects.
 */
export class RowsFetcher<R> {
  private running = false
  private readonly queue = new Map<string, Queued<{ rows: R[] }>>()
  private readonly known = new Map<string | number, { json: string; row: R }>()
  /** Requests started, asks that shared a waiting one, waiting ones dropped (tests, diagnostics). */
  readonly counts = { started: 0, shared: 0, dropped: 0 }

  constructor(private readonly keyOf: (row: R) => string | number) {}

  fetch<P extends { rows: R[] }>(key: string, request: () => Promise<P>): Promise<P> {
    const waiting = this.queue.get(key)
    if (waiting) {
      this.counts.shared++
      return waiting.promise as Promise<P>
    }
    let resolve!: (page: P) => void
    let reject!: (err: unknown) => void
    const promise = new Promise<P>((res, rej) => ((resolve = res), (reject = rej)))
    this.queue.set(key, { request, promise, resolve, reject } as unknown as Queued<{ rows: R[] }>)
    while (this.queue.size > MAX_QUEUED) {
      const [oldest, entry] = this.queue.entries().next().value!
      this.queue.delete(oldest)
      this.counts.dropped++
      entry.reject(new Error('This window was asked for again before its turn; scroll to load it.'))
    }
    this.pump()
    return promise
  }

  private pump(): void {
    if (this.running) return
    const next = this.queue.entries().next().value
    if (!next) return
    const [key, entry] = next
    this.queue.delete(key)
    this.running = true
    this.counts.started++
    entry
      .request()
      .then(
        (page) => entry.resolve({ ...page, rows: page.rows.map((r) => this.reuse(r)) }),
        (err: unknown) => entry.reject(err)
      )
      .finally(() => {
        this.running = false
        this.pump()
      })
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
