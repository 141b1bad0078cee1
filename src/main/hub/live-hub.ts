// Vigil as a drop-in AgentEnsemble live-dashboard hub (spec shared/spec/agentensemble-protocol.md
// §7, LiveEventHub): publishers send envelopes to `/ingress` (WebSocket) or `POST /api/hub/ingress`,
// browsers on `/ws` get a `hub_hello` late-join snapshot and then every envelope verbatim, the roster
// (`producer_joined` / `producer_left`), heartbeats and pong; their `review_decision`s go back to the
// producer that asked. Every event also feeds Vigil's RunTracker (source "hub", per producer).
//
// Differences from AgentEnsemble's hub, all additive or protective:
//  * heartbeat every heartbeatMs and ping → pong on /ws (the hub has neither, §4);
//  * the spec §3 Origin rule on /ws; on /ingress too, except that a missing Origin is accepted there
//    (publishers use the JDK HttpClient, which sends none; a browser always sends one);
//  * frames over maxFrameBytes close the socket 1009 (POST: 413); a slow browser is dropped instead of
//    buffering without limit; hub_hello is bounded (see snapshot-buffer.ts);
//  * a decision for a producer whose socket is closed stays pending (forwardDecision returns false)
//    so a retry after the publisher reconnects still reaches it; the hub would drop it;
//  * an envelope whose inner message has a type Vigil knows but an invalid shape is dropped (the hub
//    relays any JSON); inner types Vigil does not know are relayed and snapshotted like the hub does.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type WebSocket from 'ws'
import { formatInstant, parseClientFrame, serializeHubHello, serializeReviewForward, serializeServerMessage } from '../../shared/protocol/agentensemble'
import type { IterationSnapshot, ServerMessage } from '../../shared/protocol/agentensemble'
import type { RunTracker } from '../live/run-tracker'
import { isAllowedUpgradeOrigin } from '../server/origin-policy'
import type { ServerContext, ServerExtension } from '../server/vigil-server'
import { BrowserFanout } from './browser-fanout'
import { handleHubHttp } from './hub-http'
import type { HubHttpTarget, HttpIngestReply } from './hub-http'
import { IngressChannel } from './ingress-channel'
import { instantSortKey, parseEnvelope } from './ingress-parse'
import type { ParsedEnvelope } from './ingress-parse'
import { ProducerRoster } from './producer-roster'
import type { ProducerRecord } from './producer-roster'
import { mergeSnapshots } from './snapshot-buffer'
import { HUB_DEFAULTS, addDiagnostics, emptyDiagnostics } from './types'
import type { HubCounters, HubDiagnostics, ProducerStatus } from './types'

export interface LiveHubOptions {
  tracker: RunTracker
  /** RunTracker source id of hub events (default "hub"); each producer is its own stream in it. */
  sourceId?: string
  now?: () => number
  /** Heartbeat period on /ws (default 15000, like the embedded dashboard); 0 disables. */
  heartbeatMs?: number
  /** Largest ingress frame, POST body or browser frame (default 1 MiB); bigger: close 1009 / 413. */
  maxFrameBytes?: number
  /** Envelopes kept per producer for hub_hello (default 2000, AgentEnsemble's cap). */
  maxSnapshotPerProducer?: number
  /** Bytes of envelopes kept per producer (default 4 MiB). */
  maxSnapshotBytesPerProducer?: number
  /** Bytes of all producers' snapshots together (default 256 MiB; a producer pushing past it drops its own oldest). */
  maxSnapshotBytesTotal?: number
  /** Bytes of hub_hello.snapshotTrace (default 32 MiB; the newest envelopes are kept). */
  maxHelloSnapshotBytes?: number
  /** Unsent bytes a browser may have before it is dropped (default 4 MiB; see browser-fanout.ts). */
  maxBrowserQueueBytes?: number
  /** Unsent bytes of all browsers past which a new browser is refused 1013 (default 256 MiB). */
  maxBrowsersQueueBytes?: number
  /** Producers retained (default 50); disconnected ones are evicted first, connected ones never. */
  maxProducers?: number
  /** Completed LLM iterations kept per agentRole:taskDescription for iterationsByProducer (default 5). */
  maxIterationsPerTask?: number
  /** Minimum delay between onChange calls for counter-only changes (default 500 ms). */
  changeThrottleMs?: number
  /**
   * A browser on /ws sent a review_decision (its exact frame text). Default: forward it to the producer.
   * Vigil's review coordinator takes it instead, so the first decision wins across every surface.
   */
  onBrowserDecision?: (reviewId: string, frameText: string) => void
  /** Producers without an open socket and silent this long are evicted (default 30 min, as AgentEnsemble); 0 never. */
  evictIdleAfterMs?: number
  /** How often idle producers are looked for (default 60 s). */
  idleSweepMs?: number
  /** Distinct producer ids one /ingress socket may carry (default 16); envelopes for more are refused. */
  maxProducerIdsPerConnection?: number
  /** Producers carried by open /ingress sockets in all (default 256); envelopes for new ones beyond are refused. */
  maxLiveProducers?: number
  /** Refused envelopes after which an /ingress socket is closed 1008 (default 100). */
  maxRefusedIdsPerConnection?: number
  /** /ingress and /ws sockets with no traffic (frames, pings, pongs) this long are terminated (default 120 s); 0 never. */
  idleTimeoutMs?: number
  /** Quiet sockets are pinged after this long (default 30 s); a pong counts as traffic. */
  idlePingMs?: number
}

export const HUB_WS_PATHS = { browsers: '/ws', ingress: '/ingress' } as const

/**
 * Where envelopes are made durable before the hub acts on them (Vigil's recorder and its journal).
 * Without one, envelopes are acted on at once (recording off: nothing to make durable).
 */
export interface HubDurability {
  /** Journals an envelope; `then` runs when durable (err null) or not. Null: cannot journal now. */
  journalEnvelope(sourceId: string, producerId: string, text: string, receivedAt: string, then: (seq: number, err: Error | null) => void): number | null
  /**
   * Runs `apply` (a journaled envelope's effects). `stored`: the message `apply` ingests and its JSON text,
   * which the recording then keeps as it is instead of serializing the message again.
   */
  applyJournaled(seq: number, apply: () => void, stored?: { message: object; text: string }): void
  /** Acts on an envelope that could not be made durable: shown live, counted as not recorded. */
  applyUnrecorded(sourceId: string, apply: () => void): void
  /** "Recording paused: why" while envelopes cannot be made durable. */
  pausedText(): string | null
  /** Behind: publishers are paused and POSTs answered 503 until onDrain. */
  congested(): boolean
  onDrain(listener: () => void): () => void
}

/**
 * Envelopes ingested per event-loop turn before the publisher sockets are paused until the next
 * turn. libuv reads every ready socket many times per poll, so a firehose from many publishers
 * would otherwise keep timers, browsers and the UI waiting for seconds.
 */
const INGEST_BUDGET_PER_TURN = 2000

/** ...and at most this many bytes of them (2,000 envelopes of 16 KiB would hold one turn for 150+ ms). */
const INGEST_BYTES_PER_TURN = 4 * 1024 * 1024

/**
 * ...and at most this many new producers per turn on sockets (each new one costs a roster entry, a
 * producer_joined and a run; 2,000 of them in one turn held the loop for 100+ ms).
 */
const NEW_PRODUCERS_PER_TURN = 200

/** The spec's refusal (§3): upgrade accepted, then closed 1008 with no hello. */
const ORIGIN_REFUSED = { code: 1008, reason: 'Origin not allowed' }

export class LiveHub implements ServerExtension {
  readonly maxFrameBytes: number
  private readonly tracker: RunTracker
  private readonly sourceId: string
  private readonly now: () => number
  private readonly maxHelloSnapshotBytes: number
  private readonly changeThrottleMs: number
  private readonly roster: ProducerRoster
  private readonly fanout: BrowserFanout
  private readonly browserWss: WebSocketServer
  private readonly ingressWss: WebSocketServer
  private readonly channels = new Set<IngressChannel>()
  private readonly unattributed: HubDiagnostics = emptyDiagnostics()
  private readonly listeners = new Set<() => void>()
  private readonly httpTarget: HubHttpTarget
  private producersEvicted = 0
  private ownershipRefused = 0
  private ingestedThisTurn = 0
  private readonly paused = new Set<IngressChannel>()
  private turnReset: NodeJS.Immediate | null = null
  private arrival = 0
  private closed = false
  private immediate: NodeJS.Immediate | null = null
  private throttle: NodeJS.Timeout | null = null
  private readonly idleSweep: NodeJS.Timeout | null
  private durability: HubDurability | null = null
  private undrain: (() => void) | null = null
  /** Publisher sockets paused until the recording catches up. */
  private readonly heldBack = new Set<IngressChannel>()
  private readonly caps: { idsPerConnection: number; liveProducers: number; refusedPerConnection: number }
  private readonly liveness: NodeJS.Timeout | null
  private producerIdsRefused = 0
  private producerIdSocketsClosed = 0
  private connectionsRefused = 0
  private idleSocketsClosed = 0
  /** Refusals not yet logged, and when the last log line was written (one line per burst). */
  private refusalLog = { pending: 0, loggedAt: -Infinity }
  private bytesThisTurn = 0
  private newProducersThisTurn = 0
  /** New producers admitted on a socket whose first envelope is not in the roster yet (waiting to be durable). */
  private readonly claims = new Map<string, IngressChannel>()
  /** The latest hub_hello, shared by browsers that join while nothing changed. */
  private helloCache: { key: string; frame: Buffer } | null = null
  private bytesReset: NodeJS.Immediate | null = null

  constructor(opts: LiveHubOptions) {
    this.tracker = opts.tracker
    this.sourceId = opts.sourceId ?? 'hub'
    this.now = opts.now ?? Date.now
    this.maxFrameBytes = Math.max(1024, opts.maxFrameBytes ?? HUB_DEFAULTS.maxFrameBytes)
    this.maxHelloSnapshotBytes = Math.max(0, opts.maxHelloSnapshotBytes ?? HUB_DEFAULTS.maxHelloSnapshotBytes)
    this.changeThrottleMs = Math.max(0, opts.changeThrottleMs ?? HUB_DEFAULTS.changeThrottleMs)
    const idleAfter = Math.max(0, opts.evictIdleAfterMs ?? HUB_DEFAULTS.evictIdleAfterMs)
    this.idleSweep = idleAfter > 0
      ? setInterval(() => this.evictIdle(idleAfter), Math.max(10, opts.idleSweepMs ?? HUB_DEFAULTS.idleSweepMs))
      : null
    this.idleSweep?.unref()
    this.caps = {
      idsPerConnection: Math.max(1, opts.maxProducerIdsPerConnection ?? HUB_DEFAULTS.maxProducerIdsPerConnection),
      liveProducers: Math.max(1, opts.maxLiveProducers ?? HUB_DEFAULTS.maxLiveProducers),
      refusedPerConnection: Math.max(1, opts.maxRefusedIdsPerConnection ?? HUB_DEFAULTS.maxRefusedIdsPerConnection)
    }
    const idleTimeout = Math.max(0, opts.idleTimeoutMs ?? HUB_DEFAULTS.idleTimeoutMs)
    const idlePing = Math.max(1, Math.min(idleTimeout, opts.idlePingMs ?? HUB_DEFAULTS.idlePingMs))
    this.liveness =
      idleTimeout > 0 ? setInterval(() => this.sweepIdleSockets(idleTimeout, idlePing), Math.max(50, Math.min(10_000, Math.floor(idlePing / 3)))) : null
    this.liveness?.unref()
    this.roster = new ProducerRoster({
      maxProducers: Math.max(1, opts.maxProducers ?? HUB_DEFAULTS.maxProducers),
      maxSnapshotPerProducer: Math.max(1, opts.maxSnapshotPerProducer ?? HUB_DEFAULTS.maxSnapshotPerProducer),
      maxSnapshotBytesPerProducer: Math.max(1, opts.maxSnapshotBytesPerProducer ?? HUB_DEFAULTS.maxSnapshotBytesPerProducer),
      maxSnapshotBytesTotal: Math.max(1, opts.maxSnapshotBytesTotal ?? HUB_DEFAULTS.maxSnapshotBytesTotal),
      maxIterationsPerTask: Math.max(0, opts.maxIterationsPerTask ?? HUB_DEFAULTS.maxIterationsPerTask),
      maxIterationTasks: HUB_DEFAULTS.maxIterationTasks,
      maxIterationBytesPerProducer: HUB_DEFAULTS.maxIterationBytesPerProducer,
      maxIterationBytesTotal: HUB_DEFAULTS.maxIterationBytesTotal,
      maxPendingReviewsPerProducer: HUB_DEFAULTS.maxPendingReviewsPerProducer
    })
    this.fanout = new BrowserFanout({
      maxQueueBytes: Math.max(1024, opts.maxBrowserQueueBytes ?? HUB_DEFAULTS.maxBrowserQueueBytes),
      maxTotalQueueBytes: Math.max(1024, opts.maxBrowsersQueueBytes ?? HUB_DEFAULTS.maxBrowsersQueueBytes),
      heartbeatMs: opts.heartbeatMs ?? HUB_DEFAULTS.heartbeatMs,
      now: this.now,
      onDecision: (reviewId, text) => {
        if (opts.onBrowserDecision) opts.onBrowserDecision(reviewId, text)
        else this.forwardDecision(reviewId, text)
      },
      onCountChanged: () => this.changed(false)
    })
    this.httpTarget = {
      maxFrameBytes: this.maxFrameBytes,
      ingestHttp: (text, bytes) => this.ingestHttp(text, bytes),
      countRefused: (kind) => {
        this.unattributed.frames++
        this.unattributed[kind]++
        this.changed(false)
      },
      producersJson: () => this.roster.producersJson()
    }
    // No compression: BrowserFanout writes pre-encoded frames to the socket next to ws's own writes.
    this.browserWss = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameBytes, perMessageDeflate: false })
    this.ingressWss = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameBytes })
  }

  // -------------------------------------------------------------------------------------------
  // ServerExtension

  handleHttp(req: IncomingMessage, res: ServerResponse, path: string, ctx: ServerContext): Promise<boolean> {
    return handleHubHttp(this.httpTarget, req, res, path, ctx)
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string, ctx: ServerContext): boolean {
    if (path !== HUB_WS_PATHS.browsers && path !== HUB_WS_PATHS.ingress) return false
    if (this.closed) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return true
    }
    if (path === HUB_WS_PATHS.browsers) {
      this.browserWss.handleUpgrade(req, socket, head, (ws) => this.acceptBrowser(ws, socket, req, ctx))
    } else {
      this.ingressWss.handleUpgrade(req, socket, head, (ws) => this.acceptPublisher(ws, req, ctx))
    }
    return true
  }

  /** Browsers on /ws. */
  clientCount(): number {
    return this.fanout.count
  }

  /** The server refused an upgrade by a connection cap (503). */
  connectionRefused(path: string): void {
    if (path !== HUB_WS_PATHS.browsers && path !== HUB_WS_PATHS.ingress) return
    this.connectionsRefused++
    this.changed(false)
  }

  /** `GET /api/status` shows the hub's counters. */
  statusDetails(): Record<string, unknown> {
    return { hub: this.counters() }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.idleSweep) clearInterval(this.idleSweep)
    if (this.liveness) clearInterval(this.liveness)
    if (this.bytesReset) clearImmediate(this.bytesReset)
    this.helloCache = null
    this.fanout.close()
    for (const channel of this.channels) channel.terminate()
    this.channels.clear()
    if (this.immediate) clearImmediate(this.immediate)
    if (this.throttle) clearTimeout(this.throttle)
    if (this.turnReset) clearImmediate(this.turnReset)
    this.turnReset = null
    this.paused.clear()
    this.immediate = null
    this.throttle = null
    this.listeners.clear()
    await Promise.all([this.browserWss, this.ingressWss].map((wss) => new Promise<void>((resolve) => wss.close(() => resolve()))))
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  /** The roster, sorted by serviceName then producerId, with each producer's state and counters. */
  producers(): ProducerStatus[] {
    return this.roster.sorted().map((r) => this.roster.status(r))
  }

  counters(): HubCounters {
    const unattributed = { ...this.unattributed }
    for (const ch of this.channels) if (ch.boundProducer === null) addDiagnostics(unattributed, ch.diagnostics)
    return {
      unattributed,
      ingressConnections: this.channels.size,
      browsers: this.fanout.count,
      slowBrowsersDropped: this.fanout.slowDropped,
      producersEvicted: this.producersEvicted,
      producerIdsRefused: this.producerIdsRefused,
      producerIdSocketsClosed: this.producerIdSocketsClosed,
      connectionsRefused: this.connectionsRefused,
      idleSocketsClosed: this.idleSocketsClosed,
      browsersRefusedBusy: this.fanout.busyRefused,
      ownershipRefused: this.ownershipRefused
    }
  }

  /**
   * Called after the roster or the counters changed. Roster changes are reported on the next tick,
   * counter-only changes at most every changeThrottleMs; several changes make one call.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  /**
   * Sends a browser's decision to the producer whose review it is, as `{"reviewId","decisionJson"}`
   * (§7). `decisionJson` must be a `review_decision` frame for that reviewId (the publisher parses
   * it). First decision wins: the id stops being pending once sent. False for unknown or already
   * decided ids, an invalid decision, or a producer whose socket is closed (the id stays pending).
   */
  forwardDecision(reviewId: string, decisionJson: string): boolean {
    if (typeof reviewId !== 'string' || reviewId === '' || typeof decisionJson !== 'string') return false
    const parsed = parseClientFrame(decisionJson)
    if (!parsed.ok || parsed.message.type !== 'review_decision' || parsed.message.reviewId !== reviewId) return false
    const owner = this.roster.pendingOwnerOf(reviewId)
    if (!owner?.channel) return false
    if (!owner.channel.send(serializeReviewForward(reviewId, decisionJson))) return false
    this.roster.removePending(reviewId)
    this.track(owner.id, parsed.message, formatInstant(this.now()))
    this.changed(false)
    return true
  }

  /**
   * A decision for a gate Vigil restored after a restart: this hub never saw its `review_requested`, so
   * the review is registered with its producer again (if that producer is connected now and no one
   * else has the id pending), then forwarded as forwardDecision does. False when it cannot be delivered now.
   */
  forwardRestoredDecision(producerId: string, reviewId: string, decisionJson: string): boolean {
    // Only ever to the producer whose gate it is.
    const holder = this.roster.pendingOwnerOf(reviewId)
    if (holder && holder.id !== producerId) return false
    if (this.forwardDecision(reviewId, decisionJson)) return true
    const record = this.roster.get(producerId)
    if (!record?.channel || this.roster.pendingOwnerOf(reviewId)) return false
    this.roster.addPending(record, reviewId)
    return this.forwardDecision(reviewId, decisionJson)
  }

  /**
   * A producer's gate was settled elsewhere (Vigil's inbox, another browser, its deadline): browsers on /ws
   * get `review_timed_out` for it inside an envelope of that producer (the only message that closes the
   * viz's review panel, spec §5.3), and so do late joiners (it goes into the producer's late-join log, after
   * the replayed review_requested). Not fed to the run tracker: it is not the agent's timeout.
   */
  announceSettled(producerId: string, reviewId: string, action: string | null): boolean {
    const record = this.roster.get(producerId)
    if (!record || this.closed) return false
    if (this.roster.pendingOwnerOf(reviewId) === record) this.roster.removePending(reviewId)
    const now = this.now()
    const text = serializeServerMessage({
      type: 'event',
      producer: record.info,
      sequence: record.lastSequence,
      receivedAt: formatInstant(now),
      message: { type: 'review_timed_out', reviewId, action }
    })
    const raw = Buffer.from(text)
    // Never before the producer's own envelopes (their receivedAt is the publisher's clock): late joiners must
    // replay it after the review_requested it closes.
    record.snapshot.push({ key: Math.max(now, record.snapshot.newestKey), order: ++this.arrival, text, bytes: raw.length })
    this.fanout.broadcast(raw)
    return true
  }

  /** The hub_hello a browser connecting now gets. */
  helloFrame(): string {
    const records = this.roster.sorted()
    // Null prototype: producer ids are arbitrary strings ("__proto__" included).
    const iterationsByProducer = Object.create(null) as Record<string, IterationSnapshot[]>
    for (const r of records) {
      const items = r.iterations.snapshot()
      if (items.length > 0) iterationsByProducer[r.id] = items
    }
    return serializeHubHello({
      producers: records.map((r) => r.info),
      // Each producer's run frame rides along even when the window is cut (issue 16, item 3).
      snapshotTrace: mergeSnapshots(
        records.map((r) => r.snapshot),
        this.maxHelloSnapshotBytes,
        records.map((r) => r.frame)
      ),
      iterationsByProducer
    })
  }

  /**
   * Ingests one envelope as POST /api/hub/ingress does (in-process publishers, tests). True when it
   * was valid; with durability on, it is acted on once durable (a moment later).
   */
  ingestEnvelope(text: string): boolean {
    return this.ingest(text, Buffer.from(text), null, () => undefined)
  }

  /**
   * Makes every envelope durable before it is acknowledged (202), relayed, snapshotted or recorded;
   * only Vigil's own view of a socket's envelope (run pages) is ahead of it (see ingest).
   * Call once, before publishers connect.
   */
  useDurability(durability: HubDurability): void {
    this.durability = durability
    this.undrain?.()
    this.undrain = durability.onDrain(() => this.releaseHeldBack())
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  private acceptBrowser(ws: WebSocket, socket: Duplex, req: IncomingMessage, _ctx: ServerContext): void {
    ws.on('error', () => undefined)
    if (this.closed) return void ws.terminate()
    if (!isAllowedUpgradeOrigin(req)) {
      ws.close(ORIGIN_REFUSED.code, ORIGIN_REFUSED.reason)
      return
    }
    // Built and sent in the same tick as the registration: no live frame can fall between the two.
    this.fanout.add(ws, socket, () => this.sharedHello())
  }

  private acceptPublisher(ws: WebSocket, req: IncomingMessage, _ctx: ServerContext): void {
    ws.on('error', () => undefined)
    if (this.closed) return void ws.terminate()
    // AgentEnsemble publishers (JDK HttpClient) send no Origin: strict §3 would lock every one of them
    // out of a loopback-bound hub. Browsers always send one, so a present Origin must pass §3.
    const origin = req.headers.origin
    if (origin !== undefined && !isAllowedUpgradeOrigin(req)) {
      ws.close(ORIGIN_REFUSED.code, ORIGIN_REFUSED.reason)
      return
    }
    const channel = new IngressChannel(ws, {
      onEnvelope: (ch, text, raw) => {
        this.ingest(text, raw, ch, null)
        this.spendBudget(ch)
        this.spendBytes(ch, raw.length)
        if (this.durability?.congested()) this.holdBack(ch)
      },
      onBadFrame: (ch, kind) => {
        const diag = this.channelDiagnostics(ch)
        diag.frames++
        diag[kind]++
        this.changed(false)
      },
      onClosed: (ch) => this.channelClosed(ch)
    })
    this.channels.add(channel)
    this.changed(false)
  }

  /** Counts one socket envelope; past the per-turn budget, pauses that socket until the next turn. */
  private spendBudget(channel: IngressChannel): void {
    this.ingestedThisTurn++
    this.turnReset ??= setImmediate(() => {
      this.turnReset = null
      this.ingestedThisTurn = 0
      for (const ch of this.paused) if (!this.heldBack.has(ch)) ch.resume()
      this.paused.clear()
    })
    if (this.ingestedThisTurn > INGEST_BUDGET_PER_TURN && !this.paused.has(channel)) {
      this.paused.add(channel)
      channel.pause()
    }
  }

  private channelDiagnostics(channel: IngressChannel): HubDiagnostics {
    const bound = channel.boundProducer === null ? undefined : this.roster.get(channel.boundProducer)
    return bound ? bound.diagnostics : channel.diagnostics
  }

  private channelClosed(channel: IngressChannel): void {
    this.paused.delete(channel)
    this.heldBack.delete(channel)
    if (!this.channels.delete(channel)) return
    if (channel.boundProducer === null || !this.roster.get(channel.boundProducer)) addDiagnostics(this.unattributed, channel.diagnostics)
    let roster = false
    for (const id of channel.carried) {
      const record = this.roster.get(id)
      if (!record || record.channel !== channel) continue
      record.channel = null
      if (record.announced) {
        this.leave(record, 'disconnected')
        roster = true
      }
    }
    this.changed(roster)
  }

  // -------------------------------------------------------------------------------------------
  // Ingest

  /** POST /api/hub/ingress: 202 once the envelope is durable; 400 invalid; 503 while recording is paused or behind. */
  private ingestHttp(text: string, raw: Buffer): Promise<HttpIngestReply> {
    const d = this.durability
    // Paused journals are probed by the appends themselves (once a second), so a POST still tries.
    if (d && !this.closed && d.congested()) {
      return Promise.resolve({ status: 503, message: 'Vigil is behind on recording events. The event was not accepted; send it again in a moment.' })
    }
    return new Promise((resolve) => {
      if (!this.ingest(text, raw, null, resolve)) resolve({ status: 400 })
    })
  }

  /**
   * One envelope from a socket (`channel`) or a POST (`reply`). False when refused. With durability
   * on, it is journaled first and acted on (relayed, snapshotted, tracked) once durable, in order;
   * `reply` learns the outcome then. A socket's envelope that cannot be made durable (disk full) is
   * still relayed and shown, and counted as not recorded; a POST's is refused 503 instead.
   */
  private ingest(text: string, raw: Buffer, channel: IngressChannel | null, reply: ((r: HttpIngestReply) => void) | null): boolean {
    if (this.closed) return false
    const parsed = parseEnvelope(text)
    if (!parsed.ok) {
      const known = parsed.producerId === null ? undefined : this.roster.get(parsed.producerId)
      const diag = channel ? this.channelDiagnostics(channel) : (known?.diagnostics ?? this.unattributed)
      diag.frames++
      diag[parsed.reason]++
      this.changed(false)
      return false
    }
    const stolen = this.ownershipProblem(parsed, channel)
    if (stolen) {
      // Counted once, in ownershipRefused (the claimed producer did not send it).
      this.ownershipRefused++
      this.logRefusal(stolen)
      this.changed(false)
      // Refused, not invalid: a POST learns why (409); a socket's envelope is dropped and counted.
      reply?.({ status: 409, message: `${stolen}.` })
      return reply !== null
    }
    if (channel && !this.admitProducer(channel, parsed.producer.producerId)) return false
    // Claimed at once, so the per-connection caps hold while envelopes wait to be durable.
    channel?.carried.add(parsed.producer.producerId)
    // Set when Vigil's own view already has the message (see preview below): apply then runs its taps only.
    let previewedAt: string | null = null
    let applied = false
    const apply = () => {
      applied = true
      this.applyEnvelope(parsed, text, raw, channel, previewedAt)
    }
    const d = this.durability
    if (!d) {
      apply()
      reply?.({ status: 202 })
      return true
    }
    const producerId = parsed.producer.producerId
    const receivedAt = parsed.receivedAt ?? formatInstant(this.now())
    const seq = d.journalEnvelope(this.sourceId, producerId, text, receivedAt, (journaled, err) => {
      if (!err) {
        d.applyJournaled(journaled, apply)
        reply?.({ status: 202 })
      } else if (reply) {
        reply({ status: 503, message: `Recording paused: ${err.message}. The event was not accepted; send it again later.` })
      } else {
        d.applyUnrecorded(this.sourceId, apply)
      }
    })
    if (seq === null) {
      if (reply) reply({ status: 503, message: `${d.pausedText() ?? 'Recording paused'}. The event was not accepted; send it again later.` })
      else d.applyUnrecorded(this.sourceId, apply)
    } else if (channel && parsed.message && !applied) {
      // A socket's envelope is shown either way (durable, or counted as not recorded), so Vigil's own
      // view (run pages) takes it now, before the journal's fdatasync; acknowledging, relaying to /ws,
      // the late-join snapshot, the recording and reviews still wait for durability. A POST's is not:
      // it may yet be refused (503).
      previewedAt = receivedAt
      this.preview(producerId, parsed.message, receivedAt)
    }
    return true
  }

  /** What the hub does with a valid envelope (once it is durable, when durability is on). */
  private applyEnvelope(parsed: ParsedEnvelope, text: string, raw: Buffer, channel: IngressChannel | null, previewedAt: string | null): void {
    const now = this.now()
    let roster = false
    const { record, evicted } = this.roster.upsert(parsed.producer, channel ? 'websocket' : 'http', now)
    for (const victim of evicted) {
      this.producersEvicted++
      if (victim.announced) this.leave(victim, 'evicted')
      roster = true
    }
    // A socket that closed while its envelope was being made durable no longer carries the producer.
    if (channel && this.channels.has(channel)) {
      if (channel.boundProducer === null || !this.roster.get(channel.boundProducer)) {
        channel.boundProducer = record.id
        addDiagnostics(record.diagnostics, channel.diagnostics)
        Object.assign(channel.diagnostics, emptyDiagnostics())
      }
      channel.carried.add(record.id)
      if (record.channel !== channel) roster = true
      record.channel = channel
    }
    record.diagnostics.frames++
    if (parsed.message === null) record.diagnostics.unknown++

    if (!record.announced) {
      record.announced = true
      record.joinedAt = now
      record.leftAt = null
      const joined: ServerMessage = { type: 'producer_joined', producer: record.info, joinedAt: formatInstant(now) }
      this.fanout.broadcast(serializeServerMessage(joined))
      this.track(null, joined, formatInstant(now))
      roster = true
    }
    this.roster.noteSequence(record, parsed.sequence)

    // What the hub sniffs (§7).
    const message = parsed.message
    if (message) {
      switch (message.type) {
        case 'ensemble_started':
          record.iterations.clear()
          break
        case 'review_requested':
          this.roster.addPending(record, message.reviewId)
          break
        case 'review_timed_out':
          // Embedded-style publishers announce expiry; the id can no longer be decided.
          if (message.reviewId !== null && this.roster.pendingOwnerOf(message.reviewId) === record) this.roster.removePending(message.reviewId)
          break
        case 'llm_iteration_started':
        case 'llm_iteration_completed':
          record.iterations.add(message)
          break
      }
    }
    if (parsed.innerType !== 'token' && parsed.innerType !== 'heartbeat') {
      const key = instantSortKey(parsed.receivedAt)
      record.snapshot.push({ key: Number.isFinite(key) ? key : now, order: ++this.arrival, text, bytes: raw.length })
    }

    this.fanout.broadcast(raw)
    if (message && previewedAt !== null) this.tapPreviewed(record.id, message, previewedAt)
    else if (message) this.track(record.id, message, parsed.receivedAt ?? formatInstant(now))
    this.changed(roster)
  }

  /** Pauses a publisher socket while the recording is behind; onDrain resumes it. */
  private holdBack(channel: IngressChannel): void {
    if (this.heldBack.has(channel)) return
    this.heldBack.add(channel)
    channel.pause()
  }

  private releaseHeldBack(): void {
    for (const ch of this.heldBack) if (!this.paused.has(ch)) ch.resume()
    this.heldBack.clear()
  }

  /**
   * Producer-id caps of a socket envelope: a socket may carry maxProducerIdsPerConnection ids, and
   * open sockets together maxLiveProducers. Over either, the envelope is refused (counted, logged
   * once per burst); a socket that keeps at it is closed 1008 with the reason.
   */
  private admitProducer(channel: IngressChannel, producerId: string): boolean {
    if (channel.carried.has(producerId)) return true
    let reason: string | null = null
    if (channel.carried.size >= this.caps.idsPerConnection) {
      reason = `Too many producer ids on one connection (limit ${this.caps.idsPerConnection})`
    } else if (!this.roster.get(producerId)?.channel && this.liveProducers() >= this.caps.liveProducers) {
      reason = `Too many connected producers (limit ${this.caps.liveProducers})`
    }
    if (reason === null) {
      if (!this.roster.get(producerId)?.channel) this.claims.set(producerId, channel)
      if (!this.roster.get(producerId)) this.spendNewProducer(channel)
      return true
    }
    this.producerIdsRefused++
    channel.refusedIds++
    this.logRefusal(reason)
    if (channel.refusedIds >= this.caps.refusedPerConnection && !channel.closing) {
      this.producerIdSocketsClosed++
      channel.close(1008, reason)
    }
    this.changed(false)
    return false
  }

  /**
   * Gate ownership (SECURITY.md): a producer id belongs to the open connection that carries it (or has
   * claimed it, its envelope still on the way to the roster), so another connection or a POST cannot
   * speak for it — send its review_timed_out or ensemble_completed, or take its decisions — while it is
   * connected; and a review id pending for one producer cannot be raised again by another (the decision
   * would go to whoever raised it last). Returns why the envelope is refused, or null.
   */
  private ownershipProblem(parsed: ParsedEnvelope, channel: IngressChannel | null): string | null {
    const producerId = parsed.producer.producerId
    const record = this.roster.get(producerId)
    // The roster knows channels by their ProducerChannel face; they are this hub's IngressChannels.
    const owner = (record?.channel ?? this.claims.get(producerId) ?? null) as IngressChannel | null
    if (owner && owner !== channel && this.channels.has(owner) && !owner.closing) {
      return `Producer id "${producerId.slice(0, 128)}" is in use by another connection`
    }
    const message = parsed.message
    if (message?.type === 'review_requested') {
      const holder = this.roster.pendingOwnerOf(message.reviewId)
      if (holder && holder.id !== producerId) return `Review id "${message.reviewId.slice(0, 128)}" is pending for another producer`
    }
    return null
  }

  /**
   * helloFrame() as UTF-8, built once per state: every change a browser could see is broadcast (which
   * bumps the fan-out's generation), and an eviction changes the roster's size or the eviction count.
   * Browsers joining between two changes share one Buffer instead of a copy each (64 non-reading
   * browsers held 1.1 GB of hello strings, and each hello cost the loop up to 170 ms to build).
   */
  private sharedHello(): Buffer {
    const key = `${this.fanout.generation}:${this.roster.size}:${this.producersEvicted}`
    if (this.helloCache?.key !== key) this.helloCache = { key, frame: Buffer.from(this.helloFrame()) }
    return this.helloCache.frame
  }

  /**
   * Producers carried by open sockets, counting those admitted whose envelope is still on its way to
   * the roster (durable ingest applies it after the journal commit), so a burst cannot pass the cap.
   */
  private liveProducers(): number {
    for (const [id, ch] of this.claims) if (this.roster.get(id)?.channel || ch.closing) this.claims.delete(id)
    return this.roster.connectedCount + this.claims.size
  }

  /** Admitted now; past NEW_PRODUCERS_PER_TURN this turn, the socket waits for the next turn (spendBudget resumes it). */
  private spendNewProducer(channel: IngressChannel): void {
    if (this.newProducersThisTurn++ === 0) {
      setImmediate(() => {
        this.newProducersThisTurn = 0
      })
    }
    if (this.newProducersThisTurn >= NEW_PRODUCERS_PER_TURN && !this.paused.has(channel)) {
      this.paused.add(channel)
      channel.pause()
    }
  }

  /** The byte side of the per-turn ingest budget: past it, pauses the socket until the next turn (spendBudget resumes it). */
  private spendBytes(channel: IngressChannel, bytes: number): void {
    this.bytesThisTurn += bytes
    this.bytesReset ??= setImmediate(() => {
      this.bytesReset = null
      this.bytesThisTurn = 0
    })
    if (this.bytesThisTurn > INGEST_BYTES_PER_TURN && !this.paused.has(channel)) {
      this.paused.add(channel)
      channel.pause()
    }
  }

  /** One log line per burst of refusals (at most one every 10 s, with how many since the last). */
  private logRefusal(reason: string): void {
    this.refusalLog.pending++
    const at = performance.now()
    if (at - this.refusalLog.loggedAt < 10_000) return
    console.warn(`vigil hub: refused ${this.refusalLog.pending} ingress envelope(s): ${reason}`)
    this.refusalLog = { pending: 0, loggedAt: at }
  }

  /** Pings quiet /ingress and /ws sockets, terminates silent ones (see ingress-channel.ts). */
  private sweepIdleSockets(idleTimeoutMs: number, pingMs: number): void {
    if (this.closed) return
    const now = performance.now()
    let closed = this.fanout.sweepIdle(now, idleTimeoutMs, pingMs)
    for (const channel of this.channels) if (channel.checkIdle(now, idleTimeoutMs, pingMs)) closed++
    if (closed === 0) return
    this.idleSocketsClosed += closed
    this.changed(false)
  }

  private evictIdle(idleAfterMs: number): void {
    const evicted = this.roster.evictIdle(this.now() - idleAfterMs)
    if (evicted.length === 0) return
    this.producersEvicted += evicted.length
    // A producer that already left was announced then; eviction is news only to those still listed as active.
    for (const record of evicted) if (record.announced) this.leave(record, 'evicted')
    this.changed(true)
  }

  private leave(record: ProducerRecord, reason: 'disconnected' | 'evicted'): void {
    const at = this.now()
    record.announced = false
    record.leftAt = at
    const left: ServerMessage = { type: 'producer_left', producerId: record.id, leftAt: formatInstant(at), reason }
    this.fanout.broadcast(serializeServerMessage(left))
    this.track(null, left, formatInstant(at))
  }

  /** Vigil's view of a socket envelope before it is durable (RunTracker.preview). */
  private preview(producerId: string, message: Parameters<RunTracker['ingest']>[2], receivedAt: string): void {
    try {
      this.tracker.preview(this.sourceId, producerId, message, receivedAt)
    } catch (err) {
      console.error('vigil hub: run tracker failed:', err)
    }
  }

  private tapPreviewed(producerId: string, message: Parameters<RunTracker['ingest']>[2], receivedAt: string): void {
    try {
      this.tracker.tapPreviewed(this.sourceId, producerId, message, receivedAt)
    } catch (err) {
      console.error('vigil hub: run tracker failed:', err)
    }
  }

  private track(producerId: string | null, message: Parameters<RunTracker['ingest']>[2], receivedAt: string): void {
    try {
      this.tracker.ingest(this.sourceId, producerId, message, receivedAt)
    } catch (err) {
      // The tracker is Vigil's view; relaying to browsers and publishers must go on regardless.
      console.error('vigil hub: run tracker failed:', err)
    }
  }

  // -------------------------------------------------------------------------------------------
  // Change notification

  private changed(roster: boolean): void {
    if (this.closed || this.listeners.size === 0) return
    if (roster) {
      if (this.immediate) return
      if (this.throttle) {
        clearTimeout(this.throttle)
        this.throttle = null
      }
      this.immediate = setImmediate(() => this.emit())
      return
    }
    if (this.immediate || this.throttle) return
    this.throttle = setTimeout(() => this.emit(), this.changeThrottleMs)
    this.throttle.unref()
  }

  private emit(): void {
    this.immediate = null
    if (this.throttle) clearTimeout(this.throttle)
    this.throttle = null
    for (const listener of [...this.listeners]) {
      try {
        listener()
      } catch (err) {
        console.error('vigil hub: change listener failed:', err)
      }
    }
  }
}
