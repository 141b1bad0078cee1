// Late-join state of the hub (spec §7): a bounded ring of raw envelope texts per producer, the
// per-producer LLM-iteration buffer, and the merge that turns them into hub_hello.snapshotTrace.
//
// Bound: a hub_hello carries at most min(producers × maxSnapshotPerProducer envelopes,
// maxHelloSnapshotBytes) of snapshot; each producer keeps at most maxSnapshotPerProducer envelopes
// and maxSnapshotBytesPerProducer bytes. Building it is one stable sort of already-ordered runs
// plus a join of the stored strings: no envelope is parsed or re-serialized.
import type { IterationSnapshot, LlmIterationCompletedMessage, LlmIterationStartedMessage } from '../../shared/protocol/agentensemble'

export interface SnapshotEntry {
  /** receivedAt as epoch ms (fractional), the merge key. */
  key: number
  /** Hub-wide arrival number: breaks ties so equal instants keep arrival order. */
  order: number
  text: string
  bytes: number
}

/**
 * Bytes all of a hub's rings hold together. A ring that pushes while the total is over `maxBytes`
 * drops its own oldest entries (keeping its newest), so the hub's late-join state stays under
 * maxBytes plus one envelope per producer however many producers fill their rings.
 */
export class SnapshotBudget {
  bytes = 0
  constructor(readonly maxBytes: number) {}
}

/** Fixed-capacity FIFO of envelopes, oldest evicted first, bounded by count and bytes. */
export class SnapshotRing {
  /** Grows by doubling up to maxEntries (a producer that sends little costs little). */
  private slots: (SnapshotEntry | undefined)[]
  private head = 0
  private count = 0
  private totalBytes = 0

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly budget: SnapshotBudget | null = null
  ) {
    this.slots = new Array<SnapshotEntry | undefined>(Math.min(16, Math.max(1, maxEntries)))
  }

  get size(): number {
    return this.count
  }

  get bytes(): number {
    return this.totalBytes
  }

  push(entry: SnapshotEntry): void {
    if (this.count === this.slots.length) {
      if (this.slots.length < this.maxEntries) this.grow()
      else this.shift()
    }
    this.slots[(this.head + this.count) % this.slots.length] = entry
    this.count++
    this.totalBytes += entry.bytes
    if (this.budget) this.budget.bytes += entry.bytes
    // Always keep the newest entry, even if it alone is over the byte budget.
    while ((this.totalBytes > this.maxBytes || (this.budget !== null && this.budget.bytes > this.budget.maxBytes)) && this.count > 1) this.shift()
  }

  /** Drops every entry (their bytes go back to the shared budget). */
  release(): void {
    while (this.count > 0) this.shift()
  }

  /** Oldest first. */
  appendTo(out: SnapshotEntry[]): void {
    for (let i = 0; i < this.count; i++) out.push(this.slots[(this.head + i) % this.slots.length] as SnapshotEntry)
  }

  private grow(): void {
    const next = new Array<SnapshotEntry | undefined>(Math.min(this.maxEntries, this.slots.length * 2))
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) % this.slots.length]
    this.slots = next
    this.head = 0
  }

  private shift(): void {
    const e = this.slots[this.head]
    this.slots[this.head] = undefined
    this.head = (this.head + 1) % this.slots.length
    this.count--
    if (e) {
      this.totalBytes -= e.bytes
      if (this.budget) this.budget.bytes -= e.bytes
    }
  }
}

/**
 * All retained envelopes of all producers ordered by receivedAt (then arrival), keeping only the
 * newest ones that fit in `maxBytes` (counting the separating commas).
 */
export function mergeSnapshots(rings: Iterable<SnapshotRing>, maxBytes: number): string[] {
  const all: SnapshotEntry[] = []
  for (const ring of rings) ring.appendTo(all)
  // Each ring is (nearly always) already in order, and TimSort merges sorted runs in linear time.
  all.sort((a, b) => a.key - b.key || a.order - b.order)
  let start = all.length
  let budget = maxBytes
  while (start > 0) {
    const cost = (all[start - 1] as SnapshotEntry).bytes + 1
    if (cost > budget) break
    budget -= cost
    start--
  }
  const out = new Array<string>(all.length - start)
  for (let i = start; i < all.length; i++) out[i - start] = (all[i] as SnapshotEntry).text
  return out
}

interface TaskIterations {
  pairs: IterationSnapshot[]
  pending: LlmIterationStartedMessage | null
}

/**
 * One producer's conversation hydration buffer, as ConnectionManager keeps recentIterations (§1.2):
 * per `agentRole:taskDescription`, the last N completed `{started, completed}` pairs plus the
 * in-flight `{started}`; cleared at each ensemble_started.
 */
export class IterationBuffer {
  private readonly tasks = new Map<string, TaskIterations>()

  constructor(
    private readonly maxPerTask: number,
    private readonly maxTasks: number
  ) {}

  clear(): void {
    this.tasks.clear()
  }

  add(message: LlmIterationStartedMessage | LlmIterationCompletedMessage): void {
    if (this.maxPerTask <= 0) return
    const key = `${message.agentRole}:${message.taskDescription}`
    let entry = this.tasks.get(key)
    if (!entry) {
      if (message.type === 'llm_iteration_completed') return
      entry = { pairs: [], pending: null }
      this.tasks.set(key, entry)
      if (this.tasks.size > this.maxTasks) this.tasks.delete(this.tasks.keys().next().value as string)
    }
    if (message.type === 'llm_iteration_started') {
      entry.pending = message
      return
    }
    // A completion without its start is dropped, as in ConnectionManager.
    if (!entry.pending) return
    entry.pairs.push({ started: entry.pending, completed: message })
    entry.pending = null
    while (entry.pairs.length > this.maxPerTask) entry.pairs.shift()
  }

  snapshot(): IterationSnapshot[] {
    const out: IterationSnapshot[] = []
    for (const { pairs, pending } of this.tasks.values()) {
      out.push(...pairs)
      if (pending) out.push({ started: pending })
    }
    return out
  }
}
