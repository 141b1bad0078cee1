// Shared shapes and limits of Vigil's AgentEnsemble hub (spec shared/spec/agentensemble-protocol.md §7).
import type { ProducerInfo } from '../../shared/protocol/agentensemble'

/** Per-producer (or per-connection) ingest counters; same shape as an attachment's SourceDiagnostics. */
export interface HubDiagnostics {
  /** Every frame / POST body attributed to this producer, valid or not. */
  frames: number
  /** Dropped: not JSON, not an object, missing/blank fields, binary frames, invalid known inner message. */
  malformed: number
  /** Envelope `type` other than "event" (dropped), or an inner `type` Vigil does not know (relayed, not tracked). */
  unknown: number
  /** Frames over `maxFrameBytes` (the socket is closed 1009) or POST bodies refused with 413. */
  oversize: number
}

export type ProducerTransport = 'websocket' | 'http'

export interface ProducerStatus {
  producer: ProducerInfo
  /** How the latest envelope arrived. */
  transport: ProducerTransport
  /** An ingress socket carrying this producer is open. */
  connected: boolean
  /** Announced with producer_joined and not left since (HTTP producers stay active until evicted). */
  active: boolean
  /** Latest producer_joined (hub clock, ISO-8601). */
  joinedAt: string
  firstSeenAt: string
  lastSeenAt: string
  /** Latest producer_left, null while active. */
  leftAt: string | null
  lastSequence: number
  /** Sequence jumps other than +1 or a restart at 1 (the AgentEnsemble hub only logs them). */
  sequenceGaps: number
  /** Envelopes retained for late joiners. */
  snapshotSize: number
  /** review_requested ids still waiting for a decision. */
  pendingReviews: number
  diagnostics: HubDiagnostics
}

export interface HubCounters {
  /** Failures that could not be attributed to any producer (unbound sockets, anonymous POSTs). */
  unattributed: HubDiagnostics
  ingressConnections: number
  browsers: number
  /** Browsers disconnected because their send queue passed maxBrowserQueueBytes. */
  slowBrowsersDropped: number
  producersEvicted: number
  /** Socket envelopes refused for a new producer id past maxProducerIdsPerConnection or maxLiveProducers. */
  producerIdsRefused: number
  /** /ingress sockets closed 1008 for repeatedly sending producer ids over a cap. */
  producerIdSocketsClosed: number
  /** /ingress and /ws upgrades refused with 503 by a connection cap (vigil-server.ts). */
  connectionsRefused: number
  /** /ingress and /ws sockets closed after idleTimeoutMs with no traffic (frames or pongs). */
  idleSocketsClosed: number
  /** /ws browsers refused with 1013 while the others held over maxBrowsersQueueBytes unsent. */
  browsersRefusedBusy: number
  /**
   * Envelopes refused because they claimed what another producer owns: a producer id carried by another
   * open connection, or a review id pending for another producer (gate ownership, SECURITY.md).
   */
  ownershipRefused: number
}

export const HUB_DEFAULTS = {
  /** Idle producers (no socket, nothing received) are evicted after this, like AgentEnsemble's hub. */
  evictIdleAfterMs: 30 * 60_000,
  idleSweepMs: 60_000,
  heartbeatMs: 15_000,
  /** Largest accepted ingress frame / POST body / browser frame. AgentEnsemble publishers send one event per frame. */
  maxFrameBytes: 1024 * 1024,
  /** Envelopes retained per producer for hub_hello, as AgentEnsemble's hub caps its replay log. */
  maxSnapshotPerProducer: 2000,
  /** ...and at most this many bytes of them per producer. */
  maxSnapshotBytesPerProducer: 4 * 1024 * 1024,
  /** ...and all producers' snapshots together at most this many bytes (a producer pushing past it drops its own oldest). */
  maxSnapshotBytesTotal: 256 * 1024 * 1024,
  /** hub_hello.snapshotTrace carries at most this many bytes (the newest envelopes win). */
  maxHelloSnapshotBytes: 32 * 1024 * 1024,
  /** Unsent bytes of all /ws browsers together past which a new browser is refused (1013) before its hub_hello. */
  maxBrowsersQueueBytes: 256 * 1024 * 1024,
  /** A browser whose unsent data passes this is disconnected (the hub_hello itself is exempt). */
  maxBrowserQueueBytes: 4 * 1024 * 1024,
  /** Producers retained (AgentEnsemble's maxRetainedProducers); disconnected ones are evicted first. */
  maxProducers: 50,
  /** Completed iteration pairs kept per agentRole:taskDescription (maxSnapshotIterationsPerProducer). */
  maxIterationsPerTask: 5,
  /** Task keys with iterations kept per producer (the oldest key goes first). */
  maxIterationTasks: 100,
  /** ...and at most this many bytes of iterations per producer, and for all producers together (oldest pairs go first). */
  maxIterationBytesPerProducer: 4 * 1024 * 1024,
  maxIterationBytesTotal: 64 * 1024 * 1024,
  /** review_requested ids remembered per producer. */
  maxPendingReviewsPerProducer: 1000,
  /** Distinct producer ids one /ingress socket may carry; envelopes for more are refused (counted). */
  maxProducerIdsPerConnection: 16,
  /** Producers carried by open /ingress sockets, all sockets together; envelopes for more are refused. */
  maxLiveProducers: 256,
  /** Refused envelopes on one socket after which it is closed 1008. */
  maxRefusedIdsPerConnection: 100,
  /** /ingress and /ws sockets with no traffic (any frame, or a pong to Vigil's pings) this long are closed. */
  idleTimeoutMs: 120_000,
  /** A socket silent this long gets a WebSocket ping (a live peer answers with a pong, which counts as traffic). */
  idlePingMs: 30_000,
  /** onChange listeners hear about counter-only changes at most this often (roster changes: next tick). */
  changeThrottleMs: 500
} as const

export function emptyDiagnostics(): HubDiagnostics {
  return { frames: 0, malformed: 0, unknown: 0, oversize: 0 }
}

export function addDiagnostics(into: HubDiagnostics, from: HubDiagnostics): void {
  into.frames += from.frames
  into.malformed += from.malformed
  into.unknown += from.unknown
  into.oversize += from.oversize
}
