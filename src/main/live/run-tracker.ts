// Turns AgentEnsemble live frames into Vigil runs (spec: shared/spec/agentensemble-protocol.md).
// Live events carry no run id (§1.7): each belongs to the latest ensemble_started of its stream,
// where a stream is one source, or one hub producer of a source. What an event does to its run is the
// shared reducer's (src/shared/model/run-reducer.ts), so that a run page can apply the same events
// (pushed as RunDelta ops) to the detail it fetched once; this class routes events to runs and does
// what spans runs (supersede, late-join rebuilds, stale streams, eviction).
import type {
  ClientMessage,
  EnsembleCompletedMessage,
  EnsembleStartedMessage,
  HelloMessage,
  HubHelloMessage,
  IterationSnapshot,
  ServerMessage
} from '../../shared/protocol/agentensemble'
import type { RunDetail, RunDetailLimits, RunStatus, RunSummary } from '../../shared/model/live'
import {
  applyRunOp,
  isRunMessage,
  newRunState,
  pickTime,
  VIGIL_EXIT_REASONS,
  type LiveRunDetail,
  type RunDelta,
  type RunOp
} from '../../shared/model/run-reducer'

export { VIGIL_EXIT_REASONS }

export interface RunTrackerOptions {
  onRunUpdated: (run: RunSummary) => void
  /** A run was dropped (source reset or eviction); it may come back under the same id after a replay. */
  onRunRemoved?: (runId: string) => void
  /**
   * The ops applied to each run in one batch (numbered per run), or `reset` when the run was rebuilt or
   * removed: what run pages apply on top of the detail they fetched (see RunDelta). Called at the end of
   * each batch, before onRunUpdated.
   */
  onRunOps?: (delta: RunDelta) => void
  now?: () => number
  /** Events kept per run for the detail view. */
  maxRecentEvents?: number
  /** Runs kept in total; the oldest finished ones go first. */
  maxRuns?: number
  /** Bounds of the per-run details (iterations, tool calls, …); defaults in DEFAULT_DETAIL_LIMITS. */
  detailLimits?: Partial<RunDetailLimits>
}

export const DEFAULT_DETAIL_LIMITS: RunDetailLimits = {
  iterations: 400,
  iterationsWithMessages: 6,
  messageChars: 4000,
  toolCalls: 1000,
  delegations: 300,
  fileChanges: 1000,
  tasks: 1000,
  textChars: 8000
}

/** Reviews linger this long past their deadline so the server's own review_timed_out can arrive first. */
const REVIEW_GRACE_MS = 2000

interface Stream {
  key: string
  sourceId: string
  producerId: string | null
  current: Run | null
  /** ensemble_started occurrences per ensembleId, so repeated ids still get distinct, replay-stable run ids. */
  occurrences: Map<string, number>
  stale: boolean
}

interface Run {
  stream: Stream
  state: LiveRunDetail
}

/** Ops of one run collected during a batch; `reset` when the run was removed or rebuilt in it. */
interface PendingOps {
  run: Run | null
  from: number
  ops: RunOp[]
  reset: boolean
}

export type Incoming = ServerMessage | ClientMessage

/** A listener on every ingested message, in arrival order. */
export type IngestTap = (sourceId: string, producerId: string | null, message: Incoming, receivedAt: string) => void

export class RunTracker {
  private readonly onRunUpdated: (run: RunSummary) => void
  private readonly onRunRemoved: ((runId: string) => void) | undefined
  private readonly onRunOps: ((delta: RunDelta) => void) | undefined
  private readonly now: () => number
  private readonly maxRecentEvents: number
  private readonly maxRuns: number
  /** The bounds of every run's detail. */
  readonly limits: RunDetailLimits
  private readonly streams = new Map<string, Stream>()
  /** Insertion order = creation order. */
  private readonly runs = new Map<string, Run>()
  private readonly dirty = new Set<string>()
  private readonly pending = new Map<string, PendingOps>()
  private depth = 0

  private readonly taps = new Set<IngestTap>()
  /** Messages applied by preview() whose taps have not run yet, with their stream's run before them (weak: bounded by what is alive). */
  private readonly previewed = new WeakMap<object, string | null>()
  /** While a previewed message's taps run: its stream and the run it arrived in. */
  private tapRun: { key: string; runId: string | null } | null = null

  constructor(opts: RunTrackerOptions) {
    this.onRunUpdated = opts.onRunUpdated
    this.onRunRemoved = opts.onRunRemoved
    this.onRunOps = opts.onRunOps
    this.now = opts.now ?? Date.now
    this.maxRecentEvents = Math.max(1, opts.maxRecentEvents ?? 500)
    this.maxRuns = Math.max(1, opts.maxRuns ?? 200)
    const limits = { ...DEFAULT_DETAIL_LIMITS, ...opts.detailLimits }
    for (const key of Object.keys(limits) as (keyof RunDetailLimits)[]) limits[key] = Math.max(key === 'iterationsWithMessages' ? 0 : 1, Math.floor(limits[key]))
    this.limits = limits
  }

  /**
   * Applies one frame. `hello`/`hub_hello` rebuild the source from their late-join snapshot, hub
   * `event` envelopes are unwrapped, and a `review_decision` we sent clears that pending review.
   */
  ingest(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    this.runTaps(sourceId, producerId, message, receivedAt)
    this.batch(() => this.apply(sourceId, producerId, message, receivedAt))
  }

  /**
   * Applies a message to Vigil's own view (runs, run pages) at once, before it is durable: the hub's
   * socket envelopes, so a run page shows an event without waiting for the ingest journal's fdatasync.
   * Its taps (the recording, the run endpoints, reviews) run later with `tapPreviewed`, once it is
   * durable (or known not to be), in the same order. A crash in between loses it from the view as well:
   * a restarted Vigil never had it, and a page fetches the run again when it reconnects.
   */
  preview(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    this.previewed.set(message, this.currentRunId(sourceId, producerId))
    this.batch(() => this.apply(sourceId, producerId, message, receivedAt))
  }

  /**
   * The taps of a message applied earlier with `preview` (the same object). While they run,
   * currentRunId answers for its stream as it did when the message arrived (the run before it), as
   * ingest's taps see it, though later messages may have moved the view on since.
   */
  tapPreviewed(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    const runId = this.previewed.get(message)
    this.previewed.delete(message)
    const outer = this.tapRun
    this.tapRun = runId === undefined ? null : { key: streamKey(sourceId, producerId), runId }
    try {
      this.runTaps(sourceId, producerId, message, receivedAt)
    } finally {
      this.tapRun = outer
    }
  }

  private runTaps(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    for (const tap of this.taps) {
      try {
        tap(sourceId, producerId, message, receivedAt)
      } catch (err) {
        console.error('vigil: an ingest tap failed:', err)
      }
    }
  }

  /** The run a stream is in now (the latest ensemble_started), or null: gates raised on it belong to that run. */
  currentRunId(sourceId: string, producerId: string | null): string | null {
    const key = streamKey(sourceId, producerId)
    if (this.tapRun?.key === key) return this.tapRun.runId
    return this.streams.get(key)?.current?.state.runId ?? null
  }

  /** Sees every message before it is applied (the recorder keeps them); returns an unsubscribe. */
  tap(listener: IngestTap): () => void {
    this.taps.add(listener)
    return () => this.taps.delete(listener)
  }

  /** Forgets the runs of a source (or of one of its hub producers; null = the embedded stream). */
  resetSource(sourceId: string, producerId?: string | null): void {
    this.batch(() => {
      for (const stream of [...this.streams.values()]) {
        if (stream.sourceId !== sourceId) continue
        if (producerId !== undefined && stream.producerId !== producerId) continue
        for (const run of [...this.runs.values()]) if (run.stream === stream) this.removeRun(run)
        this.streams.delete(stream.key)
      }
    })
  }

  /** The connection (or a hub producer) went away: running runs may be out of date until it is back. */
  markSourceDisconnected(sourceId: string, producerId?: string | null): void {
    this.batch(() => {
      for (const stream of this.streams.values()) {
        if (stream.sourceId !== sourceId) continue
        if (producerId !== undefined && stream.producerId !== producerId) continue
        this.setStale(stream, true)
      }
    })
  }

  /** Newest first. */
  listRuns(): RunSummary[] {
    return [...this.runs.values()].reverse().map((run) => summarize(run.state))
  }

  /**
   * A copy of a run's detail with its last `recentEvents` events, and `live`: a page applies the ops
   * numbered above `live.seq` on top of it. A deep copy: callers may edit it (a page now fetches it once,
   * not on every update).
   */
  getRun(runId: string, recentEvents = 100): RunDetail | undefined {
    const run = this.runs.get(runId)
    if (!run) return undefined
    this.batch(() => this.pruneReviews(run))
    const s = run.state
    const n = Math.max(0, Math.floor(recentEvents))
    return structuredClone({ ...s, recentEvents: n === 0 ? [] : s.recentEvents.slice(-n) })
  }

  /** Runs `fn` and reports each touched run once at the end (replays touch runs thousands of times). */
  batch<T>(fn: () => T): T {
    this.depth++
    try {
      return fn()
    } finally {
      this.depth--
      if (this.depth === 0) this.flush()
    }
  }

  // -------------------------------------------------------------------------------------------

  private apply(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    switch (message.type) {
      case 'hello':
        return this.applyHello(sourceId, producerId, message, receivedAt)
      case 'hub_hello':
        return this.applyHubHello(sourceId, message, receivedAt)
      case 'event':
        return this.apply(sourceId, message.producer.producerId, message.message, message.receivedAt ?? receivedAt)
      case 'producer_joined':
        this.setStale(this.stream(sourceId, message.producer.producerId), false)
        return
      case 'producer_left':
        return this.markSourceDisconnected(sourceId, message.producerId)
      case 'review_decision':
        return this.applyDecision(sourceId, message.reviewId, message.decision, receivedAt)
      case 'heartbeat':
      case 'pong':
      case 'ping':
        return
    }

    const stream = this.stream(sourceId, producerId)
    this.setStale(stream, false)
    if (message.type === 'ensemble_started') {
      this.startRun(stream, message, receivedAt)
      return
    }
    if (message.type === 'ensemble_completed') {
      this.completeRun(stream, message, receivedAt)
      return
    }
    // These only make sense inside a run we already know about.
    const needsRun = message.type === 'review_timed_out' || message.type === 'directive_active'
    const run = stream.current ?? (needsRun ? null : this.createRun(stream, null, null, receivedAt))
    if (!run || !isRunMessage(message)) return
    if (message.type === 'review_timed_out') {
      // The gate may belong to an earlier run of the stream (several ensembles on one server).
      const owner = [...this.runs.values()].find((r) => r.stream === stream && r.state.pendingReviews.some((v) => v.reviewId === message.reviewId)) ?? run
      this.op(owner, { op: 'message', at: receivedAt, message })
      return
    }
    this.op(run, { op: 'message', at: receivedAt, message })
  }

  /** Applies one op to a run and collects it for the run's pages; then lets expired gates go. */
  private op(run: Run, op: RunOp): void {
    applyRunOp(run.state, op, this.maxRecentEvents)
    const id = run.state.runId
    let p = this.pending.get(id)
    if (!p || p.run !== run) {
      const reset = p !== undefined
      p = { run, from: run.state.live.seq, ops: [], reset }
      this.pending.set(id, p)
    }
    if (!p.reset) p.ops.push(op)
    this.dirty.add(id)
    if (op.op === 'message') this.pruneReviews(run)
  }

  private applyHello(sourceId: string, producerId: string | null, hello: HelloMessage, receivedAt: string): void {
    const snapshot = hello.snapshotTrace ?? []
    if (snapshot.length > 0) {
      // A non-empty snapshot is the whole truth: rebuild from scratch (§1.2, "Facts" 5).
      this.resetSource(sourceId, producerId)
      for (const m of snapshot) this.apply(sourceId, producerId, m, receivedAt)
    } else {
      // No history means a fresh server: whatever we saw running can never finish.
      this.endRunning(sourceId, producerId, pickTime(null, receivedAt))
    }
    this.replayIterations(sourceId, producerId, hello.recentIterations ?? [], receivedAt)
  }

  private applyHubHello(sourceId: string, hello: HubHelloMessage, receivedAt: string): void {
    const snapshot = hello.snapshotTrace ?? []
    if (snapshot.length > 0) {
      this.resetSource(sourceId)
      for (const envelope of snapshot) this.apply(sourceId, null, envelope, receivedAt)
    } else {
      this.endRunning(sourceId, undefined, receivedAt)
    }
    for (const [producerId, iterations] of Object.entries(hello.iterationsByProducer ?? {})) {
      this.replayIterations(sourceId, producerId, iterations, receivedAt)
    }
  }

  private replayIterations(sourceId: string, producerId: string | null, items: IterationSnapshot[], receivedAt: string) {
    for (const item of items) {
      this.apply(sourceId, producerId, item.started, receivedAt)
      if (item.completed) this.apply(sourceId, producerId, item.completed, receivedAt)
    }
  }

  private startRun(stream: Stream, message: EnsembleStartedMessage, receivedAt: string): void {
    const at = pickTime(message.startedAt, receivedAt)
    const previous = stream.current
    // The viz leaves the old run "running" forever; it cannot go on once the server moved on.
    if (previous && previous.state.status === 'running') this.endRun(previous, 'aborted', at, VIGIL_EXIT_REASONS.superseded)
    const run = this.createRun(stream, message.ensembleId, message.workflow, at)
    this.op(run, { op: 'message', at: receivedAt, message })
  }

  private completeRun(stream: Stream, message: EnsembleCompletedMessage, receivedAt: string): void {
    const at = pickTime(message.completedAt, receivedAt)
    // With several ensembles on one server the completion may belong to an earlier (superseded) run.
    let run: Run | null = null
    if (message.ensembleId !== null) {
      for (const r of this.runs.values()) if (r.stream === stream && r.state.ensembleId === message.ensembleId) run = r
    }
    run ??= stream.current ?? this.createRun(stream, message.ensembleId, null, at)
    this.op(run, { op: 'message', at: receivedAt, message })
  }

  private applyDecision(sourceId: string, reviewId: string, decision: string, receivedAt: string): void {
    for (const run of this.runs.values()) {
      if (run.stream.sourceId !== sourceId) continue
      if (run.state.pendingReviews.some((r) => r.reviewId === reviewId)) this.op(run, { op: 'decided', reviewId, decision, at: receivedAt })
    }
  }

  private endRunning(sourceId: string, producerId: string | null | undefined, at: string): void {
    for (const stream of this.streams.values()) {
      if (stream.sourceId !== sourceId) continue
      if (producerId !== undefined && stream.producerId !== producerId) continue
      for (const run of this.runs.values()) {
        if (run.stream === stream && run.state.status === 'running') this.endRun(run, 'aborted', at, VIGIL_EXIT_REASONS.serverRestarted)
      }
    }
  }

  private endRun(run: Run, status: RunStatus, at: string, exitReason: string): void {
    this.op(run, { op: 'end', status, at, exitReason })
  }

  private createRun(stream: Stream, ensembleId: string | null, workflow: string | null, at: string): Run {
    const key = ensembleId ?? ''
    const n = (stream.occurrences.get(key) ?? 0) + 1
    stream.occurrences.set(key, n)
    const runId = `${stream.sourceId}:${stream.producerId ?? '-'}:${ensembleId ?? 'run'}:${n}`
    const run: Run = {
      stream,
      state: newRunState({ runId, sourceId: stream.sourceId, producerId: stream.producerId, ensembleId, workflow, startedAt: at, streamStale: stream.stale }, this.limits)
    }
    // Re-insert so that Map order stays creation order even when a replay recreates an id.
    this.runs.delete(runId)
    this.runs.set(runId, run)
    stream.current = run
    this.dirty.add(runId)
    // A run made again under an id pages may hold (a replay): they must refetch it.
    const p = this.pending.get(runId)
    if (p) p.run = run
    this.evict()
    return run
  }

  /**
   * Keeps at most maxRuns. Finished runs go first, oldest first (superseded ones before a stream's latest
   * one); a running run is evicted only when every kept run is running, the oldest first. Evicted runs
   * stay in the recording.
   */
  private evict(): void {
    while (this.runs.size > this.maxRuns) {
      let victim: Run | undefined
      let finished: Run | undefined
      for (const r of this.runs.values()) {
        if (r.state.status === 'running') continue
        if (r.stream.current !== r) {
          victim = r
          break
        }
        finished ??= r
      }
      victim ??= finished ?? this.runs.values().next().value
      if (!victim) return
      this.removeRun(victim)
    }
  }

  private removeRun(run: Run): void {
    const id = run.state.runId
    this.runs.delete(id)
    if (run.stream.current === run) run.stream.current = null
    // OpenTelemetry traces are one stream each (src/main/otel): one left without runs is forgotten, so
    // streams stay bounded by runs. (Hub and attachment streams keep their run-id counters.)
    if (run.stream.sourceId === 'otel' && run.stream.current === null && ![...this.runs.values()].some((r) => r.stream === run.stream)) this.streams.delete(run.stream.key)
    this.dirty.add(id)
    this.pending.set(id, { run: null, from: 0, ops: [], reset: true })
  }

  private stream(sourceId: string, producerId: string | null): Stream {
    const key = streamKey(sourceId, producerId)
    let stream = this.streams.get(key)
    if (!stream) {
      stream = { key, sourceId, producerId, current: null, occurrences: new Map(), stale: false }
      this.streams.set(key, stream)
    }
    return stream
  }

  private setStale(stream: Stream, stale: boolean): void {
    if (stream.stale === stale) return
    stream.stale = stale
    for (const run of this.runs.values()) {
      if (run.stream === stream) this.op(run, { op: 'stale', stale })
    }
  }

  /** Gates past their deadline (and the grace) leave the run: an op of its own, decided by this clock. */
  private pruneReviews(run: Run): void {
    const reviews = run.state.pendingReviews
    if (reviews.length === 0) return
    const limit = this.now() - REVIEW_GRACE_MS
    const expired = reviews.filter((r) => r.expiresAt !== null && !(Date.parse(r.expiresAt) > limit)).map((r) => r.reviewId)
    if (expired.length) this.op(run, { op: 'expire', reviewIds: expired })
  }

  private flush(): void {
    const deltas = [...this.pending.entries()]
    this.pending.clear()
    if (this.onRunOps) {
      for (const [runId, p] of deltas) {
        try {
          if (p.reset) this.onRunOps({ runId, from: 0, ops: [], reset: true })
          else if (p.ops.length) this.onRunOps({ runId, from: p.from, ops: p.ops })
        } catch (err) {
          console.error('[vigil] run ops listener failed:', err)
        }
      }
    }
    const ids = [...this.dirty]
    this.dirty.clear()
    for (const id of ids) {
      const run = this.runs.get(id)
      try {
        if (run) this.onRunUpdated(summarize(run.state))
        else this.onRunRemoved?.(id)
      } catch (err) {
        // A listener's bug must not corrupt the tracker or stop other notifications.
        console.error('[vigil] run listener failed:', err)
      }
    }
  }
}

/** The summary fields of a run's state (the reducer keeps its counts and `stale` current). */
function summarize(s: LiveRunDetail): RunSummary {
  return {
    runId: s.runId,
    sourceId: s.sourceId,
    producerId: s.producerId,
    ensembleId: s.ensembleId,
    workflow: s.workflow,
    status: s.status,
    totalTasks: s.totalTasks,
    completedTasks: s.completedTasks,
    failedTasks: s.failedTasks,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    eventCount: s.eventCount,
    exitReason: s.exitReason,
    stale: s.stale,
    lastEventAt: s.lastEventAt
  }
}

function streamKey(sourceId: string, producerId: string | null): string {
  return `${sourceId}\u0000${producerId ?? ''}\u0000${producerId === null ? 'embedded' : 'hub'}`
}
