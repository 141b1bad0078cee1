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
  /** hub_hello.snapshotTrace carries at most this many bytes (the newest envelopes win). */
  maxHelloSnapshotBytes: 32 * 1024 * 1024,
  /** A browser whose unsent data passes this is disconnected (the hub_hello itself is exempt). */
  maxBrowserQueueBytes: 4 * 1024 * 1024,
  /** Producers retained (AgentEnsemble's maxRetainedProducers); disconnected ones are evicted first. */
  maxProducers: 50,
  /** Completed iteration pairs kept per agentRole:taskDescription (maxSnapshotIterationsPerProducer). */
  maxIterationsPerTask: 5,
  /** Task keys with iterations kept per producer (the oldest key goes first). */
  maxIterationTasks: 100,
  /** review_requested ids remembered per producer. */
  maxPendingReviewsPerProducer: 1000,
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
