// An embedded-dashboard endpoint (spec §1, AgentEnsemble's WebDashboard `/ws`) for every run Vigil knows:
// hub producers, attachments, recordings replayed at start and imported traces. AgentEnsemble's own viz
// opens `/live?server=<this URL>` and shows the run with its header, timeline, Flow and review panel.
//
//   ws://HOST:PORT/ws?run=<runId>                  one run (its id in Vigil, RunSummary.runId)
//   ws://HOST:PORT/ws?producer=<producerId>        the current run of a hub producer, following new runs
//   ws://HOST:PORT/ws?source=<sourceId>[&producer=] the current run of any source (an attachment)
//
// The path is `/ws` on purpose: the auth gate and the connection caps treat it exactly as the hub's `/ws`
// (login when a password is set; AgentEnsemble's loopback-page Origin rule, spec §3, only without one;
// refusal = upgrade accepted then closed 1008 "Origin not allowed"). A `/ws` upgrade without these query
// parameters is the hub's (mount this extension before LiveHub).
//
// Protocol, as WebDashboard speaks it: `hello` first (ensembleId, startedAt, snapshotTrace of persistent
// messages, recentIterations), then every message of the run as a bare frame, `heartbeat` every 15 s,
// `ping` → `pong`, unknown or malformed client frames ignored. Additions: gates still pending when a client
// connects are sent as `review_requested` right after the hello (with the time left), and a gate settled
// anywhere else (Vigil's inbox, another client, its deadline) is announced with `review_timed_out` for its
// review id, the only message that closes the viz's review panel (§5.3). A `review_decision` goes to the
// review coordinator: the first decision wins on every surface.
//
// Bounds: per run at most maxSnapshotPerRun messages and maxSnapshotBytesPerRun bytes; past them the
// oldest detail messages (tool calls, task inputs, file changes, delegations) go first, then the oldest
// task ends and starts, never the run's ensemble_started nor the task_started of a task still open. All
// runs together hold at most maxBytesTotal (oldest runs dropped first). A client that does not read
// (maxQueueBytes unsent) is dropped.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type WebSocket from 'ws'
import type { RawData } from 'ws'
import { PERSISTENT_TYPES, parseClientFrame, serializeHello, serializeServerMessage } from '../../shared/protocol/agentensemble'
import type { DashboardMessage, IterationSnapshot, ServerMessage } from '../../shared/protocol/agentensemble'
import type { ReviewGate } from '../../shared/model/reviews'
import { isAllowedUpgradeOrigin } from '../server/origin-policy'
import type { ServerContext, ServerExtension } from '../server/vigil-server'
import { IterationBuffer, SnapshotBudget } from '../hub/snapshot-buffer'
import type { ReviewCoordinator, ReviewGateEvent } from '../reviews/review-coordinator'
import type { Incoming, RunTracker } from './run-tracker'

/** The coordinator's public face this endpoint needs. */
export type RunStreamReviews = Pick<ReviewCoordinator, 'pending' | 'onEvent' | 'decideByReviewId'>

export interface RunStreamOptions {
  tracker: RunTracker
  reviews: RunStreamReviews
  /** Run-tracker source id of Vigil's hub (`?producer=` without `?source=`). Default "hub". */
  hubSourceId?: string
  now?: () => number
  /** Heartbeat period (default 15000 as WebDashboard); 0 disables. */
  heartbeatMs?: number
  /** Persistent messages kept per run for the hello (default 2000, the hub's cap). */
  maxSnapshotPerRun?: number
  /** Bytes of them per run (default 4 MiB). */
  maxSnapshotBytesPerRun?: number
  /** Bytes of every run's snapshot and iterations together (default 64 MiB; the oldest runs go first). */
  maxBytesTotal?: number
  /** Runs kept (default 200, the tracker's default). */
  maxRuns?: number
  /** Completed LLM iterations per agentRole:taskDescription in recentIterations (default 5). */
  maxIterationsPerTask?: number
  /** Runs of a followed stream put in one hello (default 10, WebDashboard's maxRetainedRuns). */
  maxRunsPerHello?: number
  /** Largest client frame (default 64 KiB). */
  maxFrameBytes?: number
  /** Unsent bytes a client may have before it is dropped (default 8 MiB). */
  maxQueueBytes?: number
  /** Clients are pinged this often and terminated when silent for two periods (default 30 s; 0 never). */
  livenessMs?: number
  /**
   * The recorded messages of a run no longer held in memory (Recorder.runEvents), for `?run=` clients of
   * older runs; null or absent: not recorded. The hello then waits for the read.
   */
  loadRun?: (runId: string) => Promise<Array<{ message: Incoming }> | null>
}

export const RUN_STREAM_PATH = '/ws'

const ORIGIN_REFUSED = { code: 1008, reason: 'Origin not allowed' }
const SLOW_CLOSE = { code: 1013, reason: 'Client too slow' }

/** Detail messages: trimmed before the run's structure (task starts and ends). */
const DETAIL_TYPES: ReadonlySet<string> = new Set([
  'task_input',
  'tool_called',
  'file_changed',
  'delegation_started',
  'delegation_completed',
  'delegation_failed'
])

/** What a client follows. */
type Target = { kind: 'run'; runId: string } | { kind: 'stream'; sourceId: string; producerId: string | null }

interface Entry {
  text: string
  bytes: number
  detail: boolean
  /** ensemble_started, or the task_started of a task still open: never trimmed. */
  pinned: boolean
}

interface RunLog {
  runId: string
  streamKey: string
  sourceId: string
  producerId: string | null
  ensembleId: string | null
  startedAt: string | null
  entries: Entry[]
  bytes: number
  /** taskIndex → its open task_started entry. */
  openTasks: Map<number, Entry>
  iterations: IterationBuffer
}

interface StreamState {
  key: string
  sourceId: string
  producerId: string | null
  current: RunLog | null
  occurrences: Map<string, number>
  /** Every kept run of the stream, oldest first. */
  runs: RunLog[]
}

interface Client {
  ws: WebSocket
  target: Target
  /** Heard from (a frame or a pong) since the last liveness sweep. */
  alive: boolean
  /** Frames held back while its hello is being read from the recording. */
  held: string[] | null
}

export class RunStream implements ServerExtension {
  private readonly tracker: RunTracker
  private readonly reviews: RunStreamReviews
  private readonly loadRun: RunStreamOptions['loadRun'] | null
  private readonly hubSourceId: string
  private readonly now: () => number
  private readonly limits: {
    perRun: number
    bytesPerRun: number
    bytesTotal: number
    runs: number
    iterationsPerTask: number
    runsPerHello: number
    frameBytes: number
    queueBytes: number
  }
  private readonly budget: SnapshotBudget
  private readonly streams = new Map<string, StreamState>()
  /** Insertion order = creation order (eviction order). */
  private readonly runs = new Map<string, RunLog>()
  private readonly clients = new Set<Client>()
  private readonly wss: WebSocketServer
  private readonly heartbeat: NodeJS.Timeout | null
  private readonly liveness: NodeJS.Timeout | null
  private readonly untap: () => void
  private readonly unlisten: () => void
  private closed = false
  private loading: Promise<void> = Promise.resolve()
  /** Bytes of snapshots (iterations are counted by `budget`). */
  private snapshotBytes = 0

  constructor(opts: RunStreamOptions) {
    this.tracker = opts.tracker
    this.reviews = opts.reviews
    this.loadRun = opts.loadRun ?? null
    this.hubSourceId = opts.hubSourceId ?? 'hub'
    this.now = opts.now ?? Date.now
    this.limits = {
      perRun: Math.max(2, opts.maxSnapshotPerRun ?? 2000),
      bytesPerRun: Math.max(1024, opts.maxSnapshotBytesPerRun ?? 4 * 1024 * 1024),
      bytesTotal: Math.max(1024, opts.maxBytesTotal ?? 64 * 1024 * 1024),
      runs: Math.max(1, opts.maxRuns ?? 200),
      iterationsPerTask: Math.max(0, opts.maxIterationsPerTask ?? 5),
      runsPerHello: Math.max(1, opts.maxRunsPerHello ?? 10),
      frameBytes: Math.max(1024, opts.maxFrameBytes ?? 64 * 1024),
      queueBytes: Math.max(1024, opts.maxQueueBytes ?? 8 * 1024 * 1024)
    }
    this.budget = new SnapshotBudget(this.limits.bytesTotal / 4)
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.frameBytes })
    const beat = opts.heartbeatMs ?? 15_000
    this.heartbeat = beat > 0 ? setInterval(() => this.sendAll(serializeServerMessage({ type: 'heartbeat', serverTimeMs: this.now() })), beat) : null
    this.heartbeat?.unref()
    const live = opts.livenessMs ?? 30_000
    this.liveness = live > 0 ? setInterval(() => this.sweepSilent(), live) : null
    this.liveness?.unref()
    this.untap = this.tracker.tap((sourceId, producerId, message) => {
      try {
        this.observe(sourceId, producerId, message)
      } catch (err) {
        console.error('vigil run stream: could not keep a message:', err)
      }
    })
    this.unlisten = this.reviews.onEvent((event) => this.onGateEvent(event))
  }

  // -------------------------------------------------------------------------------------------
  // ServerExtension

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string, _ctx: ServerContext): boolean {
    if (path !== RUN_STREAM_PATH) return false
    const target = parseTarget(req.url ?? '/', this.hubSourceId)
    if (!target) return false
    if (this.closed) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return true
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, target))
    return true
  }

  clientCount(): number {
    return this.clients.size
  }

  /** `GET /api/status` (signed-in callers): clients, runs held for late joiners and their bytes. */
  statusDetails(): Record<string, unknown> {
    return { runStream: { clients: this.clients.size, runs: this.runs.size, snapshotBytes: this.snapshotBytes, limits: { ...this.limits } } }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.heartbeat) clearInterval(this.heartbeat)
    if (this.liveness) clearInterval(this.liveness)
    this.untap()
    this.unlisten()
    for (const c of this.clients) c.ws.terminate()
    this.clients.clear()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }

  // -------------------------------------------------------------------------------------------
  // Public: what a client connecting now gets

  /** The hello a client following `target` gets now (also for tests). */
  helloFor(target: Target): string {
    const logs = this.logsFor(target)
    const latest = logs.at(-1)
    if (!latest) return serializeHello({})
    // Oldest runs first; the newest always fits, older ones only within the per-run byte budget.
    const texts: string[] = []
    let room = this.limits.bytesPerRun * 2
    const chosen: RunLog[] = []
    for (let i = logs.length - 1; i >= 0 && chosen.length < this.limits.runsPerHello; i--) {
      const log = logs[i] as RunLog
      if (chosen.length > 0 && log.bytes > room) break
      room -= log.bytes
      chosen.unshift(log)
    }
    for (const log of chosen) for (const e of log.entries) texts.push(e.text)
    return serializeHello({
      ensembleId: latest.ensembleId,
      startedAt: latest.startedAt,
      snapshotTrace: texts,
      recentIterations: latest.iterations.snapshot()
    })
  }

  /** Runs kept for late joiners (ids), for status and tests. */
  keptRuns(): string[] {
    return [...this.runs.keys()]
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  private accept(ws: WebSocket, req: IncomingMessage, target: Target): void {
    ws.on('error', () => undefined)
    if (this.closed) return void ws.terminate()
    if (!isAllowedUpgradeOrigin(req)) {
      ws.close(ORIGIN_REFUSED.code, ORIGIN_REFUSED.reason)
      return
    }
    const client: Client = { ws, target, alive: true, held: null }
    // Registered and greeted in the same tick: no live frame falls between the hello and the stream.
    this.clients.add(client)
    // Only runs Vigil lists are read back (a made-up id must not make Vigil read a whole source).
    if (target.kind === 'run' && !this.runs.has(target.runId) && this.loadRun && this.tracker.getRun(target.runId, 0)) {
      client.held = []
      void this.helloFromRecording(target.runId).then((hello) => {
        const held = client.held ?? []
        client.held = null
        if (ws.readyState !== ws.OPEN) return
        ws.send(hello)
        for (const gate of this.pendingGatesFor(target)) ws.send(reviewRequestedFrame(gate, this.now()))
        for (const frame of held) this.send(client, frame)
      })
    } else {
      ws.send(this.helloFor(target))
      for (const gate of this.pendingGatesFor(target)) ws.send(reviewRequestedFrame(gate, this.now()))
    }
    ws.on('message', (data: RawData, isBinary: boolean) => {
      client.alive = true
      if (!isBinary) this.onClientFrame(client, rawText(data))
    })
    ws.on('pong', () => {
      client.alive = true
    })
    ws.on('close', () => this.clients.delete(client))
  }

  private onClientFrame(client: Client, text: string): void {
    const parsed = parseClientFrame(text)
    // Malformed or unknown frames are ignored and the socket stays open (§1.5).
    if (!parsed.ok) return
    const m = parsed.message
    if (m.type === 'ping') {
      this.send(client, serializeServerMessage({ type: 'pong' }))
      return
    }
    if (typeof m.reviewId !== 'string' || m.reviewId === '') return
    const gate = this.pendingGatesFor(client.target).find((g) => g.reviewId === m.reviewId)
    if (!gate) return // unknown, decided or timed out: dropped silently (§2.2.5)
    try {
      this.reviews.decideByReviewId(gate.source.sourceId, m.reviewId, {
        decision: m.decision,
        revisedOutput: m.revisedOutput ?? (String(m.decision).trim().toUpperCase() === 'EDIT' ? '' : undefined),
        surface: 'hub-browser',
        decidedBy: 'AgentEnsemble viz on a Vigil run endpoint'
      })
    } catch (err) {
      console.warn(`vigil run stream: a decision for review "${m.reviewId.slice(0, 80)}" was not applied: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  private pendingGatesFor(target: Target): ReviewGate[] {
    return this.reviews.pending().filter((g) => g.status === 'pending' && this.gateMatches(g, target))
  }

  private gateMatches(gate: ReviewGate, target: Target): boolean {
    if (target.kind === 'run') return gate.runId === target.runId
    return gate.source.sourceId === target.sourceId && gate.source.producerId === target.producerId
  }

  /** A gate settled (decided anywhere, timed out, closed): clients of its run are told with review_timed_out. */
  private onGateEvent(event: ReviewGateEvent): void {
    if (event.type !== 'resolved' || this.clients.size === 0) return
    const gate = event.gate
    if (gate.source.kind === 'api') return
    const action = gate.outcome?.decision ?? (gate.status === 'timed-out' ? gate.onTimeout : null)
    const frame = serializeServerMessage({ type: 'review_timed_out', reviewId: gate.reviewId, action })
    for (const c of this.clients) if (this.gateMatches(gate, c.target)) this.send(c, frame)
  }

  /** The hello of a run read back from the recording (bounded like a live one, not kept). */
  private helloFromRecording(runId: string): Promise<string> {
    // One read at a time: clients opening old runs wait in turn instead of loading the recording at once.
    const next = this.loading.then(() => this.readHello(runId))
    this.loading = next.then(
      () => undefined,
      () => undefined
    )
    return next
  }

  private async readHello(runId: string): Promise<string> {
    let events: Array<{ message: Incoming }> | null = null
    try {
      events = this.closed ? null : ((await this.loadRun?.(runId)) ?? null)
    } catch (err) {
      console.warn(`vigil run stream: could not read run "${runId.slice(0, 120)}" from the recording: ${err instanceof Error ? err.message : String(err)}`)
    }
    if (!events || events.length === 0 || this.closed) return serializeHello({})
    const log: RunLog = {
      runId,
      streamKey: '',
      sourceId: '',
      producerId: null,
      ensembleId: null,
      startedAt: null,
      entries: [],
      bytes: 0,
      openTasks: new Map(),
      iterations: new IterationBuffer(this.limits.iterationsPerTask, 256, 1024 * 1024, null)
    }
    const before = this.snapshotBytes
    for (const { message } of events) {
      if (message.type === 'ensemble_started' && log.ensembleId === null) {
        log.ensembleId = message.ensembleId
        log.startedAt = message.startedAt
      }
      if (message.type === 'llm_iteration_started' || message.type === 'llm_iteration_completed') log.iterations.add(message)
      else if (message.type !== 'review_decision' && message.type !== 'ping' && PERSISTENT_TYPES.has(message.type)) this.keep(log, message as DashboardMessage, serializeServerMessage(message), true)
    }
    this.snapshotBytes = before
    const hello = serializeHello({ ensembleId: log.ensembleId, startedAt: log.startedAt, snapshotTrace: log.entries.map((e) => e.text), recentIterations: log.iterations.snapshot() })
    log.iterations.clear()
    return hello
  }

  private send(client: Client, frame: string): void {
    if (client.held) {
      client.held.push(frame)
      return
    }
    const ws = client.ws
    if (ws.readyState !== ws.OPEN) return
    if (ws.bufferedAmount > this.limits.queueBytes) {
      this.clients.delete(client)
      ws.close(SLOW_CLOSE.code, SLOW_CLOSE.reason)
      setTimeout(() => ws.terminate(), 1000).unref()
      return
    }
    ws.send(frame)
  }

  /** A dead peer (half-open TCP) is found by a ping it never answers (browsers answer pings by themselves). */
  private sweepSilent(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.clients.delete(c)
        c.ws.terminate()
        continue
      }
      c.alive = false
      if (c.ws.readyState === c.ws.OPEN) c.ws.ping()
    }
  }

  /**
   * A source's stream was rebuilt from its own late-join snapshot (an attached dashboard or hub came back):
   * its clients get a fresh hello, which the viz replays from a clean state (§5.3), so nothing that
   * happened while Vigil was away is missing.
   */
  private greetAgain(sourceId: string, producerId: string | null | undefined): void {
    for (const c of this.clients) {
      const t = c.target
      const log = t.kind === 'run' ? this.runs.get(t.runId) : undefined
      const src = t.kind === 'run' ? log?.sourceId : t.sourceId
      const pid = t.kind === 'run' ? log?.producerId : t.producerId
      if (src !== sourceId || (producerId !== undefined && pid !== producerId)) continue
      this.send(c, this.helloFor(t))
    }
  }

  private sendAll(frame: string): void {
    for (const c of this.clients) this.send(c, frame)
  }

  // -------------------------------------------------------------------------------------------
  // The run logs (fed by the tracker's tap, attributed as RunTracker attributes: §1.7)

  private observe(sourceId: string, producerId: string | null, message: Incoming): void {
    switch (message.type) {
      case 'hello': {
        const snapshot = message.snapshotTrace ?? []
        if (snapshot.length > 0) {
          this.resetStreams(sourceId, producerId)
          for (const m of snapshot) this.observeDashboard(sourceId, producerId, m, false)
        }
        const stream = this.streams.get(streamKey(sourceId, producerId))
        if (stream?.current) for (const it of message.recentIterations ?? []) addIteration(stream.current, it)
        if (snapshot.length > 0) this.greetAgain(sourceId, producerId)
        return
      }
      case 'hub_hello': {
        const snapshot = message.snapshotTrace ?? []
        if (snapshot.length > 0) {
          this.resetStreams(sourceId, undefined)
          for (const env of snapshot) this.observeDashboard(sourceId, env.producer.producerId, env.message, false)
        }
        for (const [pid, items] of Object.entries(message.iterationsByProducer ?? {})) {
          const current = this.streams.get(streamKey(sourceId, pid))?.current
          if (current) for (const it of items) addIteration(current, it)
        }
        if (snapshot.length > 0) this.greetAgain(sourceId, undefined)
        return
      }
      case 'event':
        return this.observeDashboard(sourceId, message.producer.producerId, message.message, true)
      case 'producer_joined':
      case 'producer_left':
      case 'review_decision':
      case 'ping':
      case 'pong':
      case 'heartbeat':
        return
      default:
        return this.observeDashboard(sourceId, producerId, message, true)
    }
  }

  private observeDashboard(sourceId: string, producerId: string | null, message: DashboardMessage | ServerMessage, live: boolean): void {
    if (message.type === 'hello' || message.type === 'heartbeat' || message.type === 'pong') return
    if (message.type === 'event' || message.type === 'hub_hello' || message.type === 'producer_joined' || message.type === 'producer_left') return
    // Vigil's own record of an imported file: not AgentEnsemble's, never sent.
    if (message.type === 'vigil_trace_original') return
    // Vigil's own record of an OpenTelemetry span (src/main/otel): not AgentEnsemble's, never sent.
    if (message.type === 'vigil_span') return
    const stream = this.stream(sourceId, producerId)
    let log: RunLog | null
    if (message.type === 'ensemble_started') {
      log = this.newRun(stream, message.ensembleId, message.startedAt)
    } else if (message.type === 'ensemble_completed') {
      log = null
      if (message.ensembleId !== null) log = stream.runs.findLast((r) => r.ensembleId === message.ensembleId) ?? null
      log ??= stream.current ?? this.newRun(stream, message.ensembleId, null)
    } else {
      log = stream.current
      if (!log) {
        if (message.type === 'review_timed_out' || message.type === 'directive_active') return
        log = this.newRun(stream, null, null)
      }
    }
    let text: string | null = null
    const frame = () => (text ??= serializeServerMessage(message))
    if (PERSISTENT_TYPES.has(message.type)) this.keep(log, message, frame())
    else if (message.type === 'llm_iteration_started' || message.type === 'llm_iteration_completed') log.iterations.add(message)
    if (!live || this.clients.size === 0) return
    for (const c of this.clients) {
      const t = c.target
      const follows =
        t.kind === 'run' ? t.runId === log.runId : t.sourceId === sourceId && t.producerId === producerId && (stream.current === log || message.type === 'ensemble_completed')
      if (follows) this.send(c, frame())
    }
  }

  private keep(log: RunLog, message: DashboardMessage, text: string, detached = false): void {
    const bytes = Buffer.byteLength(text) + 1
    const entry: Entry = { text, bytes, detail: DETAIL_TYPES.has(message.type), pinned: false }
    switch (message.type) {
      case 'ensemble_started':
        entry.pinned = log.entries.length === 0
        break
      case 'task_started': {
        const previous = log.openTasks.get(message.taskIndex)
        if (previous) previous.pinned = false
        entry.pinned = true
        log.openTasks.set(message.taskIndex, entry)
        break
      }
      case 'task_completed':
      case 'task_failed': {
        const open = log.openTasks.get(message.taskIndex)
        if (open) open.pinned = false
        log.openTasks.delete(message.taskIndex)
        break
      }
    }
    log.entries.push(entry)
    log.bytes += bytes
    this.snapshotBytes += bytes
    // Trimmed in one pass once 10% over, so a long run costs O(1) per message on average.
    const slack = Math.ceil(this.limits.perRun / 10)
    if (log.entries.length > this.limits.perRun + slack || log.bytes > this.limits.bytesPerRun) this.trim(log)
    if (!detached && this.snapshotBytes > this.limits.bytesTotal) this.evictRuns()
  }

  /** Down to the per-run bounds: the oldest detail first, then the oldest unpinned structure. */
  private trim(log: RunLog): void {
    let excess = log.entries.length - this.limits.perRun
    let excessBytes = log.bytes - Math.floor(this.limits.bytesPerRun * 0.9)
    const drop = new Set<Entry>()
    for (const pass of [true, false]) {
      for (const e of log.entries) {
        if (excess <= 0 && excessBytes <= 0) break
        if (e.pinned || drop.has(e) || (pass && !e.detail)) continue
        drop.add(e)
        excess--
        excessBytes -= e.bytes
      }
    }
    if (drop.size === 0) return
    log.entries = log.entries.filter((e) => !drop.has(e))
    let freed = 0
    for (const e of drop) freed += e.bytes
    log.bytes -= freed
    this.snapshotBytes -= freed
  }

  private newRun(stream: StreamState, ensembleId: string | null, startedAt: string | null): RunLog {
    const n = (stream.occurrences.get(ensembleId ?? '') ?? 0) + 1
    stream.occurrences.set(ensembleId ?? '', n)
    // The id RunTracker gives the same run (createRun).
    const runId = `${stream.sourceId}:${stream.producerId ?? '-'}:${ensembleId ?? 'run'}:${n}`
    const old = this.runs.get(runId)
    if (old) this.dropRun(old)
    const log: RunLog = {
      runId,
      streamKey: stream.key,
      sourceId: stream.sourceId,
      producerId: stream.producerId,
      ensembleId,
      startedAt,
      entries: [],
      bytes: 0,
      openTasks: new Map(),
      iterations: new IterationBuffer(this.limits.iterationsPerTask, 256, 1024 * 1024, this.budget)
    }
    // The previous run's iterations are no longer anyone's recentIterations.
    stream.current?.iterations.clear()
    this.runs.set(runId, log)
    stream.runs.push(log)
    stream.current = log
    while (this.runs.size > this.limits.runs) this.dropRun(this.runs.values().next().value as RunLog)
    return log
  }

  private evictRuns(): void {
    for (const log of [...this.runs.values()]) {
      if (this.snapshotBytes <= this.limits.bytesTotal * 0.9) return
      if (this.streams.get(log.streamKey)?.current === log) continue
      this.dropRun(log)
    }
  }

  private dropRun(log: RunLog): void {
    this.runs.delete(log.runId)
    this.snapshotBytes -= log.bytes
    log.iterations.clear()
    log.entries = []
    log.bytes = 0
    const stream = this.streams.get(log.streamKey)
    if (stream) {
      stream.runs = stream.runs.filter((r) => r !== log)
      if (stream.current === log) stream.current = null
      // One stream per OpenTelemetry trace (src/main/otel): forgotten with its last run, so streams stay bounded.
      if (stream.sourceId === 'otel' && stream.runs.length === 0) this.streams.delete(stream.key)
    }
  }

  /** As RunTracker.resetSource: the streams of a source (or of one of its producers) start over. */
  private resetStreams(sourceId: string, producerId: string | null | undefined): void {
    for (const stream of [...this.streams.values()]) {
      if (stream.sourceId !== sourceId) continue
      if (producerId !== undefined && stream.producerId !== producerId) continue
      for (const log of [...stream.runs]) this.dropRun(log)
      this.streams.delete(stream.key)
    }
  }

  private stream(sourceId: string, producerId: string | null): StreamState {
    const key = streamKey(sourceId, producerId)
    let s = this.streams.get(key)
    if (!s) {
      s = { key, sourceId, producerId, current: null, occurrences: new Map(), runs: [] }
      this.streams.set(key, s)
    }
    return s
  }

  private logsFor(target: Target): RunLog[] {
    if (target.kind === 'run') {
      const log = this.runs.get(target.runId)
      return log ? [log] : []
    }
    return this.streams.get(streamKey(target.sourceId, target.producerId))?.runs ?? []
  }
}

/** `?run=`, `?producer=`, `?source=` of a `/ws` upgrade; null when none is given (the hub's /ws). */
export function parseTarget(url: string, hubSourceId = 'hub'): Target | null {
  const q = new URL(url, 'http://vigil.invalid').searchParams
  const run = q.get('run')
  if (run !== null && run !== '') return { kind: 'run', runId: run }
  const source = q.get('source')
  const producer = q.get('producer')
  if (source !== null && source !== '') return { kind: 'stream', sourceId: source, producerId: producer === '' ? null : producer }
  if (producer !== null && producer !== '') return { kind: 'stream', sourceId: hubSourceId, producerId: producer }
  return null
}

/** A pending gate as the viz expects it (§1.2), its timeout shortened to the time left. */
function reviewRequestedFrame(gate: ReviewGate, now: number): string {
  let timeoutMs = gate.timeoutMs
  if (gate.expiresAt !== null) timeoutMs = Math.max(1, Date.parse(gate.expiresAt) - now)
  return serializeServerMessage({
    type: 'review_requested',
    reviewId: gate.reviewId,
    taskDescription: gate.taskDescription,
    taskOutput: gate.taskOutput,
    timing: gate.timing,
    ...(gate.prompt !== null ? { prompt: gate.prompt } : {}),
    timeoutMs,
    onTimeout: gate.onTimeout,
    ...(gate.requiredRole !== null ? { requiredRole: gate.requiredRole } : {})
  })
}

function addIteration(log: RunLog, it: IterationSnapshot): void {
  log.iterations.add(it.started)
  if (it.completed) log.iterations.add(it.completed)
}

function streamKey(sourceId: string, producerId: string | null): string {
  return `${sourceId}\u0000${producerId ?? ''}\u0000${producerId === null ? 'embedded' : 'hub'}`
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}
