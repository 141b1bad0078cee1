// Keeps a window's copy of one run's detail: one getRun(), then the run's `run-delta` pushes applied
// with the shared reducer (src/shared/model/run-reducer.ts) — no refetch per update. A jump in the op
// numbers, a delta saying ops were dropped (the window's queue on the server was full) or that the run
// was rebuilt, and a (re)connect, refetch; deltas arriving while it loads are kept and applied on top.
// Ops are applied and shown at most once per `frame` (an animation frame in the page), so a busy run
// costs one render per frame, whatever its event rate. A render that costs more than 1.5 frames (a heavy
// tab, a slow machine) spaces the next one out (up to 500 ms), so input stays responsive; but never so
// far that more events arrive in between than the page keeps (`keepEvents`): each event is shown in
// the recent-events list for at least one render. Plain TypeScript, so it is tested in Node.
import type { RunDetail } from '../../shared/model/live'
import { applyRunOps, isLiveRunDetail, RUN_PAGE_EVENTS, type LiveRunDetail, type RunDelta, type RunOp } from '../../shared/model/run-reducer'

/**
 * Renders are at most this far apart however much they cost: on a starved machine the measured cost
 * also counts time the page was not scheduled, and the run must still move on.
 */
const MAX_RENDER_SPACING_MS = 500

/** One frame at 60 Hz: a render cheaper than this is not spaced out (the next frame shows the next ops). */
const FRAME_MS = 1000 / 60

/** Ops kept while the detail loads; past this they are dropped and the detail is fetched again. */
const MAX_BUFFERED_OPS = 50_000

export interface RunFollowOptions {
  runId: string
  load: (runId: string) => Promise<RunDetail>
  /** Every new detail (lists that did not change keep their identity). */
  onState: (detail: RunDetail) => void
  onError?: (err: unknown) => void
  /** When to apply queued ops and show them; default: the next animation frame (a timer where there is none). */
  frame?: (fn: () => void) => void
  keepEvents?: number
}

export class RunFollow {
  private current: RunDetail | null = null
  /** Ops received, not yet applied (they follow `current.live.seq` without a gap). */
  private queued: RunOp[] = []
  private buffered: RunDelta[] = []
  private bufferedOps = 0
  private overflowed = false
  private loading: Promise<void> | null = null
  private again = false
  private framePending = false
  /** When the last render started, and what renders cost lately (see measureRender), in ms. */
  private lastShowAt = -Infinity
  private renderCost = 0
  private spacingTimer: ReturnType<typeof setTimeout> | null = null
  private spacingDue = 0
  private disposed = false
  /** Details fetched so far, and the times a gap made one necessary (tests and diagnostics). */
  loads = 0
  gaps = 0

  constructor(private readonly opts: RunFollowOptions) {}

  get state(): RunDetail | null {
    return this.current
  }

  dispose(): void {
    this.disposed = true
    if (this.spacingTimer) clearTimeout(this.spacingTimer)
    this.spacingTimer = null
  }

  /**
   * How long after a render the next one may start: nothing while renders cost up to one and a half
   * frames (then the browser renders at most once a frame and handles input in between; the measured
   * cost also counts tasks queued behind the render, so a busy page measures more than it renders, and
   * spacing such renders out only delayed what they show); past that, about as long again as a render
   * costs, less 1.5 frames (a page this slow renders about half the time), at most MAX_RENDER_SPACING_MS. Once the ops waiting reach half the events a page keeps, sooner (see
   * push): half as long again as a render costs, so no event skips the list unshown while the page
   * can afford it, and a page that cannot (renders slower than events fill the list) still leaves a
   * third of its time to input and the rest of the machine, and skips rows of the list instead.
   */
  renderSpacing(flood = this.queued.length >= this.flushAt): number {
    const spacing = Math.min(MAX_RENDER_SPACING_MS, Math.max(0, 2 * this.renderCost - 3 * FRAME_MS))
    return flood ? Math.min(spacing, 1.5 * this.renderCost) : spacing
  }

  /** Ops waiting past which a spaced-out render is brought forward to the next frame. */
  private get flushAt(): number {
    return Math.max(1, Math.floor((this.opts.keepEvents ?? RUN_PAGE_EVENTS) / 2))
  }

  /** A `run-delta` push (for any run: others are ignored). */
  push(delta: RunDelta): void {
    if (this.disposed || delta.runId !== this.opts.runId) return
    if (this.loading || !this.current) {
      this.buffer(delta)
      if (!this.loading && !this.current) void this.resync().catch(() => undefined)
      return
    }
    if (!isLiveRunDetail(this.current)) return // a recording: nothing is pushed for it
    if (!this.accept(this.current.live.seq + this.queued.length, delta, this.queued)) {
      this.gaps++
      this.buffer(delta)
      void this.resync().catch(() => undefined)
      return
    }
    if (this.spacingTimer && this.queued.length >= this.flushAt && this.lastShowAt + this.renderSpacing(true) < this.spacingDue) {
      // So many ops wait that some events would leave the list unshown: shown sooner (see renderSpacing).
      clearTimeout(this.spacingTimer)
      this.spacingTimer = null
      this.framePending = false
    }
    this.scheduleFrame()
  }

  /**
   * Fetches the detail (once, however many callers ask while it loads; again afterwards if something
   * asked after the request went out). Rejects when the fetch fails; the old detail stays.
   */
  resync(): Promise<void> {
    if (this.loading) {
      this.again = true
      return this.loading
    }
    this.loading = this.run()
      .catch((err: unknown) => {
        if (!this.disposed) this.opts.onError?.(err)
        throw err
      })
      .finally(() => (this.loading = null))
    return this.loading
  }

  /** Appends the ops of `delta` that follow `have` to `into`; false when there is a gap before them. */
  private accept(have: number, delta: RunDelta, into: RunOp[]): boolean {
    if (delta.reset || delta.dropped) return false
    const end = delta.from + delta.ops.length - 1
    if (end <= have) return true // already in
    if (delta.from > have + 1) return false
    for (let i = have + 1 - delta.from; i < delta.ops.length; i++) into.push(delta.ops[i]!)
    return true
  }

  private buffer(delta: RunDelta): void {
    // A rebuilt run while a request is out: its answer may be the old run, so fetch once more.
    if (delta.reset) {
      if (this.loading) this.again = true
      return
    }
    const kept: RunDelta = { runId: delta.runId, from: delta.from, ops: delta.ops, ...(delta.dropped ? { dropped: delta.dropped } : {}) }
    if (this.bufferedOps + kept.ops.length > MAX_BUFFERED_OPS) {
      this.overflowed = true
      return
    }
    this.buffered.push(kept)
    this.bufferedOps += kept.ops.length
  }

  private async run(): Promise<void> {
    do {
      this.again = false
      // What came before this request is in its answer.
      this.buffered = []
      this.bufferedOps = 0
      this.overflowed = false
      this.loads++
      const detail = await this.opts.load(this.opts.runId)
      if (this.disposed) return
      this.queued = []
      this.current = detail
      if (isLiveRunDetail(detail)) {
        const ops: RunOp[] = []
        for (const d of this.buffered) {
          const have = detail.live.seq + ops.length
          // Ops dropped before `from` are in the answer only if it is at least that recent.
          if (d.dropped && have < d.from - 1) {
            this.again = true
            break
          }
          if (!this.accept(have, { ...d, dropped: undefined }, ops)) {
            this.again = true
            break
          }
        }
        this.queued = ops
      }
      if (this.overflowed) this.again = true
      this.buffered = []
      this.bufferedOps = 0
      this.show()
    } while (this.again && !this.disposed)
  }

  private scheduleFrame(): void {
    if (this.framePending) return
    this.framePending = true
    const frame = this.opts.frame ?? defaultFrame
    const go = () =>
      frame(() => {
        this.framePending = false
        if (!this.disposed && !this.loading) this.show()
      })
    const due = this.lastShowAt + this.renderSpacing()
    const wait = due - performance.now()
    if (wait > 1) {
      this.spacingDue = due
      this.spacingTimer = setTimeout(() => {
        this.spacingTimer = null
        go()
      }, wait)
    } else go()
  }

  /**
   * What a render costs: the view updates in microtasks after onState (the next task sees the script
   * time). Shown from an animation frame (the usual way), the browser restyles, lays out and paints right
   * after it, in the same frame: that next task sees it all. Shown at another time (a fetch came back),
   * that happens in its next frame (a task queued from that frame's animation callback sees it). Waits in
   * between (vsync) are not counted. (Counting the next frame after an animation-frame render counted
   * that frame's own render too: about twice the cost, so a page whose renders took half a frame
   * rendered only every other frame.)
   */
  private measureRender(): void {
    const started = performance.now()
    this.lastShowAt = started
    const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => number }).requestAnimationFrame
    const note = (cost: number) => (this.renderCost = 0.5 * this.renderCost + 0.5 * cost)
    const framed = inAnimationFrame
    setTimeout(() => {
      const script = performance.now() - started
      if (framed || typeof raf !== 'function') return note(script)
      raf.call(globalThis, () => {
        const frameStart = performance.now()
        setTimeout(() => note(script + performance.now() - frameStart), 0)
      })
    }, 0)
  }

  /** Applies the queued ops and shows the result. */
  private show(): void {
    if (this.disposed || !this.current) return
    this.measureRender()
    if (this.queued.length && isLiveRunDetail(this.current)) {
      const ops = this.queued
      this.queued = []
      this.current = applyRunOps(this.current as LiveRunDetail, ops, this.opts.keepEvents ?? RUN_PAGE_EVENTS)
    }
    this.opts.onState(this.current)
  }
}

/** True while defaultFrame's callback runs from an animation frame (the browser renders right after it). */
let inAnimationFrame = false

export function defaultFrame(fn: () => void): void {
  const requestAnimationFrame = (globalThis as { requestAnimationFrame?: (cb: () => void) => number }).requestAnimationFrame
  if (typeof requestAnimationFrame !== 'function') {
    setTimeout(fn, 0)
    return
  }
  // A hidden tab gets no animation frames: a timer makes sure the state still moves on. Cleared when the
  // frame comes first (the usual case: 60 timer tasks a second less on a busy run).
  let done = false
  const once = () => {
    if (done) return
    done = true
    clearTimeout(fallback)
    fn()
  }
  requestAnimationFrame.call(globalThis, () => {
    inAnimationFrame = true
    try {
      once()
    } finally {
      inAnimationFrame = false
    }
  })
  const fallback = setTimeout(once, 100)
}
