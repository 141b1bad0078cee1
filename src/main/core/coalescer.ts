/**
 * Runs a keyed task at most once per `delayMs`: bursts of changes (a frame per millisecond from an
 * agent) become one push event per key, carrying the latest state.
 */
export class Coalescer {
  private readonly pending = new Map<string, () => void>()
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly delayMs: number) {}

  schedule(key: string, task: () => void): void {
    this.pending.set(key, task)
    if (this.timer) return
    this.timer = setTimeout(() => this.flush(), this.delayMs)
    this.timer.unref()
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const tasks = [...this.pending.values()]
    this.pending.clear()
    for (const task of tasks) task()
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.pending.clear()
  }
}
