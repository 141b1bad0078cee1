// Run deltas to the windows that watch a run (issue 16 item 5). The RunTracker reports the ops of each
// run once per batch; each window (a browser on /api/events, or a desktop window over IPC) gets only
// those of the runs it watches, through a queue of its own:
//  * ops wait in the window's queue while its transport is backed up (a browser's socket holds more
//    than SEND_BACKLOG_BYTES unsent), and are sent at most every FLUSH_MS, one frame per run: at the
//    end of the event-loop turn that produced them (so the ops of one ingest batch go together) when
//    the last send is that old, else once it is;
//  * the queue holds at most MAX_QUEUED_OPS ops and MAX_QUEUED_OP_BYTES of them (as JSON): past either,
//    the run's queued ops and the new ones are
//    dropped and counted, and the window gets a delta with `dropped` (it refetches getRun()) followed by
//    the ops after the gap. The server, ingest and other windows never wait for a slow one.
import type { RunDetailLimits } from '../../shared/model/live'
import { slimRunOp, type RunDelta } from '../../shared/model/run-reducer'

export interface RunFeedLimits {
  /** Ops one window may have waiting in total, across its runs; past it they are dropped (a gap). */
  maxQueuedOps: number
  /** The same in bytes (the ops' JSON). */
  maxQueuedBytes: number
  /** A browser's unsent bytes above which its ops wait in its queue instead of going to the socket. */
  sendBacklogBytes: number
  /** At most one send per window this often (a busy run's ops go out together). */
  flushMs: number
  /** How soon a backed-up window is looked at again. */
  retryMs: number
}

export const RUN_FEED_LIMITS: RunFeedLimits = {
  maxQueuedOps: 5000,
  maxQueuedBytes: 4 * 1024 * 1024,
  sendBacklogBytes: 256 * 1024,
  flushMs: 4,
  retryMs: 20
}

export interface RunFeedTransport {
  send(delta: RunDelta): void
  /** Bytes sent but not yet taken by the peer (0 when the transport cannot tell). */
  backlogBytes(): number
}

export interface RunFeedWindow {
  /** Replaces the runs this window watches. */
  watch(runIds: readonly string[]): void
  close(): void
  /** Ops dropped for this window because its queue was full. */
  readonly droppedOps: number
}

export interface RunFeedStats {
  windows: number
  watching: number
  /** Ops dropped at a full window queue, and the gaps (dropped-deltas) that told windows so. */
  droppedOps: number
  gaps: number
}

interface Queued {
  from: number
  ops: RunDelta['ops']
  bytes: number
  dropped: number
  reset: boolean
}

/** A delta as published: its ops cut (slimRunOp) and their JSON size. */
interface Published {
  delta: RunDelta
  bytes: number
}

class FeedWindow implements RunFeedWindow {
  watched = new Set<string>()
  readonly queue = new Map<string, Queued>()
  queuedOps = 0
  queuedBytes = 0
  droppedOps = 0
  closed = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private immediate: ReturnType<typeof setImmediate> | null = null
  private lastSend = -Infinity

  constructor(
    private readonly feed: RunFeed,
    private readonly transport: RunFeedTransport
  ) {}

  watch(runIds: readonly string[]): void {
    const before = this.watched
    this.watched = new Set(runIds)
    this.feed.reindex(this, before, this.watched)
    for (const [id, q] of [...this.queue]) {
      if (this.watched.has(id)) continue
      this.queuedOps -= q.ops.length
      this.queuedBytes -= q.bytes
      this.queue.delete(id)
    }
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = null
    this.immediate = null
    this.queue.clear()
    this.feed.reindex(this, this.watched, new Set())
    this.feed.forget(this)
  }

  enqueue({ delta, bytes }: Published): void {
    const limits = this.feed.limits
    let q = this.queue.get(delta.runId)
    if (delta.reset) {
      if (q) this.unqueue(q)
      // The page refetches anyway; later ops of the rebuilt run are in what it fetches.
      this.queue.set(delta.runId, { from: 0, ops: [], bytes: 0, dropped: 0, reset: true })
    } else if (q?.reset) {
      // (as above)
    } else if (q && q.from + q.ops.length !== delta.from) {
      // Not contiguous (cannot happen with one tracker): say it as a gap rather than send a wrong sequence.
      this.drop(q, delta)
    } else {
      if (!q) {
        q = { from: delta.from, ops: [], bytes: 0, dropped: 0, reset: false }
        this.queue.set(delta.runId, q)
      }
      if (this.queuedOps + delta.ops.length > limits.maxQueuedOps || this.queuedBytes + bytes > limits.maxQueuedBytes) this.drop(q, delta)
      else {
        for (const op of delta.ops) q.ops.push(op)
        q.bytes += bytes
        this.queuedOps += delta.ops.length
        this.queuedBytes += bytes
      }
    }
    this.schedule()
  }

  private unqueue(q: Queued): void {
    this.queuedOps -= q.ops.length
    this.queuedBytes -= q.bytes
  }

  /** Drops what is queued for the run and the new ops: the window learns of the gap and refetches. */
  private drop(q: Queued, delta: RunDelta): void {
    const n = q.ops.length + delta.ops.length
    this.unqueue(q)
    q.dropped += n
    q.ops = []
    q.bytes = 0
    q.from = delta.from + delta.ops.length
    this.droppedOps += n
    this.feed.counted(n)
  }

  private schedule(): void {
    if (this.timer || this.immediate || this.closed) return
    const wait = this.lastSend + this.feed.limits.flushMs - performance.now()
    // A timer fires a millisecond later at best: once the last send is old enough, the end of this turn.
    if (wait <= 0) this.immediate = setImmediate(() => this.pump())
    else this.timer = setTimeout(() => this.pump(), wait)
  }

  private pump(): void {
    this.timer = null
    this.immediate = null
    if (this.closed || this.queue.size === 0) return
    if (this.transport.backlogBytes() > this.feed.limits.sendBacklogBytes) {
      this.timer = setTimeout(() => this.pump(), this.feed.limits.retryMs)
      return
    }
    this.lastSend = performance.now()
    const items = [...this.queue.entries()]
    this.queue.clear()
    this.queuedOps = 0
    this.queuedBytes = 0
    for (const [runId, q] of items) {
      const delta: RunDelta = q.reset ? { runId, from: 0, ops: [], reset: true } : { runId, from: q.from, ops: q.ops, ...(q.dropped ? { dropped: q.dropped } : {}) }
      if (q.dropped) this.feed.gapSent()
      try {
        this.transport.send(delta)
      } catch (err) {
        console.error('vigil: sending run ops failed:', err)
      }
    }
  }
}

/** Fans the tracker's run ops out to the windows watching each run. */
export class RunFeed {
  private readonly windows = new Set<FeedWindow>()
  /** The windows watching each run. */
  private readonly byRun = new Map<string, Set<FeedWindow>>()
  private dropped = 0
  private gaps = 0
  /** Tests may lower them. */
  limits: RunFeedLimits

  constructor(limits: Partial<RunFeedLimits> = {}) {
    this.limits = { ...RUN_FEED_LIMITS, ...limits }
  }

  /** A new window (browser socket or desktop window); close() it when it goes. */
  connect(transport: RunFeedTransport): RunFeedWindow {
    const w = new FeedWindow(this, transport)
    this.windows.add(w)
    return w
  }

  /** The ops of one run from one tracker batch; texts are cut once here for every window. */
  publish(delta: RunDelta, limits: RunDetailLimits): void {
    const watchers = this.byRun.get(delta.runId)
    if (!watchers) return
    let slim: Published | null = null
    for (const w of watchers) {
      if (!slim) {
        const ops = delta.reset ? [] : delta.ops.map((op) => slimRunOp(op, limits))
        let bytes = 0
        for (const op of ops) bytes += JSON.stringify(op).length
        slim = { delta: delta.reset ? delta : { ...delta, ops }, bytes }
      }
      w.enqueue(slim)
    }
  }

  stats(): RunFeedStats {
    let watching = 0
    for (const w of this.windows) watching += w.watched.size
    return { windows: this.windows.size, watching, droppedOps: this.dropped, gaps: this.gaps }
  }

  /** @internal */
  reindex(w: FeedWindow, before: ReadonlySet<string>, after: ReadonlySet<string>): void {
    for (const id of before) {
      if (after.has(id)) continue
      const set = this.byRun.get(id)
      set?.delete(w)
      if (set?.size === 0) this.byRun.delete(id)
    }
    for (const id of after) {
      let set = this.byRun.get(id)
      if (!set) this.byRun.set(id, (set = new Set()))
      set.add(w)
    }
  }

  /** @internal */
  forget(w: FeedWindow): void {
    this.windows.delete(w)
  }

  /** @internal */
  counted(n: number): void {
    this.dropped += n
  }

  /** @internal */
  gapSent(): void {
    this.gaps++
  }
}
