// At most one update per `ms`, never a lost last one: the first change after a quiet spell is applied
// at once (a run calling a tool a second sees each call as it comes); changes closer together than
// `ms` wait for one trailing update, which reads the latest value then (latest wins, nothing queued).
// For a view that would otherwise redraw a whole table on every animation frame of a flood.
// Plain TypeScript, tested in Node.

export class RateGate {
  private last = -Infinity
  private timer: ReturnType<typeof setTimeout> | null = null
  private pending: (() => void) | null = null
  private disposed = false

  constructor(
    private readonly ms: number,
    private readonly now: () => number = () => performance.now()
  ) {}

  /** Runs `apply` now if the last update is `ms` old, else once when it is (with the `apply` last offered). */
  offer(apply: () => void): void {
    if (this.disposed) return
    this.pending = apply
    if (this.timer) return
    const wait = this.last + this.ms - this.now()
    if (wait <= 0) this.fire()
    else this.timer = setTimeout(() => ((this.timer = null), this.fire()), wait)
  }

  /** Whether an update waits for its turn. */
  get waiting(): boolean {
    return this.timer !== null
  }

  dispose(): void {
    this.disposed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.pending = null
  }

  private fire(): void {
    const apply = this.pending
    this.pending = null
    if (!apply || this.disposed) return
    this.last = this.now()
    apply()
  }
}
