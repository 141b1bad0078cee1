// The hub's producers (spec §7): identity and metadata, connection state, late-join buffers,
// pending review ids and diagnostics. Keyed by producerId; capacity eviction prefers producers
// that no socket carries, least recently seen first.
//
// Cost per envelope is O(1) whatever the roster's size: the roster keeps the set of producers no
// socket carries (the only eviction candidates, at most ~maxProducers of them), so finding a victim
// and counting connected producers never walks every producer (10,000 ids on one socket used to
// stall the event loop for seconds; see also LiveHub's per-connection and live-producer caps).
import { formatInstant, serializeProducerInfo } from '../../shared/protocol/agentensemble'
import type { ProducerInfo } from '../../shared/protocol/agentensemble'
import { IterationBuffer, RunFrame, SnapshotBudget, SnapshotRing } from './snapshot-buffer'
import { emptyDiagnostics } from './types'
import type { HubDiagnostics, ProducerStatus, ProducerTransport } from './types'

/** The ingress socket a producer's envelopes arrive on; the roster only compares identities. */
export interface ProducerChannel {
  /** Sends a text frame; false when the channel is closed. */
  send(text: string): boolean
}

export interface ProducerRecord {
  readonly id: string
  info: ProducerInfo
  transport: ProducerTransport
  /** The socket that carried the latest envelope, while it is open. */
  channel: ProducerChannel | null
  /** producer_joined was broadcast and no producer_left since. */
  announced: boolean
  firstSeenAt: number
  joinedAt: number
  lastSeenAt: number
  leftAt: number | null
  lastSequence: number
  sequenceGaps: number
  readonly snapshot: SnapshotRing
  /** The current run's ensemble_started and task starts/ends, kept for late joiners past the ring's window. */
  readonly frame: RunFrame
  readonly iterations: IterationBuffer
  /** Insertion order = request order, for capping. */
  readonly pending: Set<string>
  readonly diagnostics: HubDiagnostics
}

export interface RosterLimits {
  maxProducers: number
  maxSnapshotPerProducer: number
  maxSnapshotBytesPerProducer: number
  /** Snapshot bytes of all producers together (default: unlimited). */
  maxSnapshotBytesTotal?: number
  /** LLM-iteration bytes kept per producer and for all together (default: unlimited). */
  maxIterationBytesPerProducer?: number
  maxIterationBytesTotal?: number
  maxIterationsPerTask: number
  maxIterationTasks: number
  maxPendingReviewsPerProducer: number
  /** Tasks and bytes a producer's run frame keeps (defaults: maxSnapshotPerProducer, maxSnapshotBytesPerProducer / 4). */
  maxFrameTasks?: number
  maxFrameBytes?: number
}

export class ProducerRoster {
  private readonly records = new Map<string, ProducerRecord>()
  /** Records whose channel is null: the eviction candidates. */
  private readonly disconnected = new Set<ProducerRecord>()
  private readonly snapshotBudget: SnapshotBudget
  private readonly iterationBudget: SnapshotBudget
  /** reviewId → the producer that asked for it. */
  private readonly pendingOwner = new Map<string, ProducerRecord>()

  constructor(private readonly limits: RosterLimits) {
    this.snapshotBudget = new SnapshotBudget(limits.maxSnapshotBytesTotal ?? Infinity)
    this.iterationBudget = new SnapshotBudget(limits.maxIterationBytesTotal ?? Infinity)
  }

  /** Bytes of every producer's late-join snapshot together. */
  get snapshotBytes(): number {
    return this.snapshotBudget.bytes
  }

  /** Approximate bytes of every producer's LLM-iteration buffer together. */
  get iterationBytes(): number {
    return this.iterationBudget.bytes
  }

  get size(): number {
    return this.records.size
  }

  /** Producers an open ingress socket carries (their `channel` is set). O(1). */
  get connectedCount(): number {
    return this.records.size - this.disconnected.size
  }

  get(producerId: string): ProducerRecord | undefined {
    return this.records.get(producerId)
  }

  values(): IterableIterator<ProducerRecord> {
    return this.records.values()
  }

  /**
   * Registers or refreshes a producer from an envelope's `producer` (its metadata may change).
   * Returns the producers evicted to make room (none when all the others are connected: a live
   * producer is never dropped, so the roster may briefly exceed maxProducers).
   */
  upsert(info: ProducerInfo, transport: ProducerTransport, now: number): { record: ProducerRecord; evicted: ProducerRecord[] } {
    const existing = this.records.get(info.producerId)
    if (existing) {
      existing.info = info
      existing.transport = transport
      existing.lastSeenAt = now
      return { record: existing, evicted: [] }
    }
    const evicted: ProducerRecord[] = []
    while (this.records.size >= this.limits.maxProducers) {
      const victim = this.evictionCandidate()
      if (!victim) break
      this.remove(victim)
      evicted.push(victim)
    }
    const records = this.records
    const disconnected = this.disconnected
    let channel: ProducerChannel | null = null
    const frame = new RunFrame(
      Math.max(1, this.limits.maxFrameTasks ?? this.limits.maxSnapshotPerProducer),
      Math.max(1024, this.limits.maxFrameBytes ?? Math.floor(this.limits.maxSnapshotBytesPerProducer / 4))
    )
    const record: ProducerRecord = {
      id: info.producerId,
      info,
      transport,
      // Tracked so eviction and connectedCount never scan the whole roster.
      get channel(): ProducerChannel | null {
        return channel
      },
      set channel(next: ProducerChannel | null) {
        channel = next
        if (records.get(this.id) !== this) return
        if (next === null) disconnected.add(this)
        else disconnected.delete(this)
      },
      announced: false,
      firstSeenAt: now,
      joinedAt: now,
      lastSeenAt: now,
      leftAt: null,
      lastSequence: 0,
      sequenceGaps: 0,
      frame,
      snapshot: new SnapshotRing(this.limits.maxSnapshotPerProducer, this.limits.maxSnapshotBytesPerProducer, this.snapshotBudget, frame),
      iterations: new IterationBuffer(
        this.limits.maxIterationsPerTask,
        this.limits.maxIterationTasks,
        this.limits.maxIterationBytesPerProducer ?? Infinity,
        this.iterationBudget
      ),
      pending: new Set(),
      diagnostics: emptyDiagnostics()
    }
    records.set(record.id, record)
    disconnected.add(record)
    return { record, evicted }
  }

  /**
   * Removes producers with no open ingress socket that sent nothing since `idleSince` (AgentEnsemble's
   * hub evicts after 30 idle minutes), so a long-running Vigil does not keep every producer forever.
   */
  evictIdle(idleSince: number): ProducerRecord[] {
    const victims = [...this.disconnected].filter((r) => r.lastSeenAt < idleSince)
    for (const victim of victims) this.remove(victim)
    return victims
  }

  /** Records a sequence number; a jump other than +1 (or a restart at 1) counts as a gap. */
  noteSequence(record: ProducerRecord, sequence: number): void {
    if (record.lastSequence > 0 && sequence !== record.lastSequence + 1 && sequence !== 1) record.sequenceGaps++
    record.lastSequence = sequence
  }

  addPending(record: ProducerRecord, reviewId: string): void {
    // The same id from another producer moves to it: the latest request is the one waiting.
    const previous = this.pendingOwner.get(reviewId)
    if (previous && previous !== record) previous.pending.delete(reviewId)
    record.pending.delete(reviewId)
    record.pending.add(reviewId)
    this.pendingOwner.set(reviewId, record)
    while (record.pending.size > this.limits.maxPendingReviewsPerProducer) {
      const oldest = record.pending.values().next().value as string
      this.removePending(oldest)
    }
  }

  pendingOwnerOf(reviewId: string): ProducerRecord | undefined {
    return this.pendingOwner.get(reviewId)
  }

  removePending(reviewId: string): void {
    const owner = this.pendingOwner.get(reviewId)
    if (!owner) return
    owner.pending.delete(reviewId)
    this.pendingOwner.delete(reviewId)
  }

  /** Sorted by serviceName then producerId (GET /api/hub/producers order); a missing serviceName sorts first. */
  sorted(): ProducerRecord[] {
    return [...this.records.values()].sort((a, b) => {
      const sa = a.info.serviceName ?? ''
      const sb = b.info.serviceName ?? ''
      if (sa !== sb) return sa < sb ? -1 : 1
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
    })
  }

  /** `{"producers":[…],"total":n}` exactly as the hub's REST endpoint writes it. */
  producersJson(): string {
    const list = this.sorted()
    return `{"producers":[${list.map((r) => serializeProducerInfo(r.info)).join(',')}],"total":${list.length}}`
  }

  status(record: ProducerRecord): ProducerStatus {
    return {
      producer: cloneInfo(record.info),
      transport: record.transport,
      connected: record.channel !== null,
      active: record.announced,
      joinedAt: formatInstant(record.joinedAt),
      firstSeenAt: formatInstant(record.firstSeenAt),
      lastSeenAt: formatInstant(record.lastSeenAt),
      leftAt: record.leftAt === null ? null : formatInstant(record.leftAt),
      lastSequence: record.lastSequence,
      sequenceGaps: record.sequenceGaps,
      snapshotSize: record.snapshot.size,
      pendingReviews: record.pending.size,
      diagnostics: { ...record.diagnostics }
    }
  }

  private evictionCandidate(): ProducerRecord | null {
    let best: ProducerRecord | null = null
    for (const r of this.disconnected) {
      if (!best || r.lastSeenAt < best.lastSeenAt) best = r
    }
    return best
  }

  private remove(record: ProducerRecord): void {
    this.records.delete(record.id)
    this.disconnected.delete(record)
    record.snapshot.release()
    record.iterations.clear()
    for (const id of record.pending) this.pendingOwner.delete(id)
    record.pending.clear()
  }
}

function cloneInfo(info: ProducerInfo): ProducerInfo {
  return info.tags ? { ...info, tags: { ...info.tags } } : { ...info }
}
