/**
 * Runs a keyed task at most once per `delayMs` per key: bursts of changes (a frame per millisecond from
 * an agent) become one push event per key and window, carrying the latest state.
 *
 * Leading and trailing edge: the first change of a key that has been idle for a window runs at once
 * (a lone event is pushed without delay); changes of that key within the next `delayMs` are held, and
 * the latest of them runs when the window ends, which opens a new window. So a busy key is pushed about
 * once per `delayMs`, and the latest state is always delivered, at most `delayMs` late.
 *
 * An urgent change (`{ urgent: true }`, e.g. a run's progress or status moved) runs at once even inside
 * a window, or, when the key ran less than `minGapMs` ago, as soon as that gap has passed; it replaces
 * the held task and starts a new window. Urgent runs are thus bounded by 1000 / `minGapMs` per second
 * per key, routine ones by 1000 / `delayMs`.
 */
export class Coalescer {
  /** Keys inside their window: the held task (null if nothing changed since the last run), the window's timer, when the key last ran. */
  private readonly windows = new Map<string, { task: (() => void) | null; timer: NodeJS.Timeout; ranAt: number; hurried: boolean }>()

  constructor(
    private readonly delayMs: number,
    private readonly minGapMs = Math.max(1, Math.round(delayMs / 5))
  ) {}

  schedule(key: string, task: () => void, opts: { urgent?: boolean } = {}): void {
    const open = this.windows.get(key)
    if (!open) {
      this.openWindow(key)
      this.run(task)
      return
    }
    open.task = task
    if (!opts.urgent || open.hurried) return
    // Urgent: end this window now, or as soon as the minimum gap since the last run has passed.
    clearTimeout(open.timer)
    const wait = open.ranAt + this.minGapMs - Date.now()
    if (wait <= 0) {
      this.openWindow(key)
      this.run(task)
      return
    }
    open.hurried = true
    open.timer = this.endTimer(key, wait)
  }

  /** Runs every held task now (their windows stay open, so the next change is still coalesced). */
  flush(): void {
    const tasks: Array<() => void> = []
    for (const w of this.windows.values()) {
      if (w.task) tasks.push(w.task)
      w.task = null
    }
    for (const task of tasks) this.run(task)
  }

  dispose(): void {
    for (const w of this.windows.values()) clearTimeout(w.timer)
    this.windows.clear()
  }

  private openWindow(key: string): void {
    this.windows.set(key, { task: null, timer: this.endTimer(key, this.delayMs), ranAt: Date.now(), hurried: false })
  }

  /** The end of a key's window: idle if nothing changed in it, else run the latest change and open the next. */
  private endTimer(key: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const w = this.windows.get(key)
      this.windows.delete(key)
      if (!w?.task) return // idle: the next change runs at once again
      this.openWindow(key)
      this.run(w.task)
    }, ms)
    timer.unref()
    return timer
  }

  private run(task: () => void): void {
    try {
      task()
    } catch (err) {
      // One listener's bug must not leave a window open forever or stop the other keys.
      console.error('[vigil] coalesced task failed:', err)
    }
  }
}
