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

  load(fetch: () => Promise<T>): void {
    const n = ++this.seq
    this.last = fetch
    this.loading = true
    fetch().then(
      (value) => {
        if (n !== this.seq) return
        this.data = value
        this.error = null
        this.loading = false
      },
      (err: unknown) => {
        if (n !== this.seq) return
        this.error = err instanceof Error ? err.message : String(err)
        this.loading = false
      }
    )
  }

  retry = (): void => {
    if (this.last) this.load(this.last)
  }

  clear(): void {
    this.seq++
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
