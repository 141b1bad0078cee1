/**
 * One fetched value for a view: refetch without dropping what is shown (no flash, scroll and
 * selection stay), newest request wins, errors kept as text for the view to explain.
 */
export class Resource<T> {
  data = $state.raw<T | null>(null)
  /** True while a request runs; `data` still holds the previous answer meanwhile. */
  loading = $state(false)
  error = $state<string | null>(null)
  private seq = 0
  private last: (() => Promise<T>) | null = null
  /** Not state (refetch reads it inside effects): whether the newest request still runs. */
  private busy = false
  /** A refetch asked for while one ran: started when it settles (latest wins). */
  private pending: (() => Promise<T>) | null = null

  load(fetch: () => Promise<T>): void {
    const n = ++this.seq
    this.last = fetch
    this.pending = null
    this.busy = true
    this.loading = true
    fetch().then(
      (value) => {
        if (n !== this.seq) return
        this.data = value
        this.error = null
        this.settled()
      },
      (err: unknown) => {
        if (n !== this.seq) return
        this.error = err instanceof Error ? err.message : String(err)
        this.settled()
      }
    )
  }

  /**
   * The same data again (a new snapshot): starts now, or once the request in flight settles, so a burst
   * of pushes never stacks requests for one view (latest wins).
   */
  refetch(fetch: () => Promise<T>): void {
    if (!this.busy) return this.load(fetch)
    this.pending = fetch
    this.last = fetch
  }

  private settled(): void {
    this.busy = false
    this.loading = false
    const next = this.pending
    this.pending = null
    if (next) this.load(next)
  }

  retry = (): void => {
    if (this.last) this.load(this.last)
  }

  clear(): void {
    this.seq++
    this.busy = false
    this.pending = null
    this.data = null
    this.error = null
    this.loading = false
    this.last = null
  }
}

/**
 * Runs a task now, or, while one is in flight, once after it (latest wins): a burst of pushes never
 * stacks requests for the same view on the server's queue.
 */
export function latestWins(): (task: () => Promise<unknown>) => void {
  let running = false
  let next: (() => Promise<unknown>) | null = null
  const run = (task: () => Promise<unknown>): void => {
    if (running) {
      next = task
      return
    }
    running = true
    void task()
      .catch(() => undefined)
      .finally(() => {
        running = false
        const queued = next
        next = null
        if (queued) run(queued)
      })
  }
  return run
}
