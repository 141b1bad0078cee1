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
 *
 * Bounded by bytes too (an llm_iteration_started carries a whole prompt, up to the 1 MiB frame
 * limit): at most `maxBytes` per producer and `budget.maxBytes` for all producers together; past
 * either, the oldest pairs go first (then other tasks' in-flight starts), never the message just added.
 */
export class IterationBuffer {
  private readonly tasks = new Map<string, TaskIterations>()
  private readonly sizes = new WeakMap<object, number>()
  private bytes = 0

  constructor(
    private readonly maxPerTask: number,
    private readonly maxTasks: number,
    private readonly maxBytes = Infinity,
    private readonly budget: SnapshotBudget | null = null
  ) {}

  /** Approximate bytes held (the strings of the messages kept). */
  get size(): number {
    return this.bytes
  }

  clear(): void {
    for (const entry of this.tasks.values()) this.release(entry)
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
      if (this.tasks.size > this.maxTasks) {
        const oldest = this.tasks.keys().next().value as string
        this.release(this.tasks.get(oldest) as TaskIterations)
        this.tasks.delete(oldest)
      }
    }
    if (message.type === 'llm_iteration_started') {
      if (entry.pending) this.account(entry.pending, -1)
      entry.pending = message
      this.account(message, 1)
      this.trim(entry)
      return
    }
    // A completion without its start is dropped, as in ConnectionManager.
    if (!entry.pending) return
    entry.pairs.push({ started: entry.pending, completed: message })
    this.account(message, 1)
    entry.pending = null
    while (entry.pairs.length > this.maxPerTask) this.releasePair(entry.pairs.shift() as IterationSnapshot)
    this.trim(entry)
  }

  snapshot(): IterationSnapshot[] {
    const out: IterationSnapshot[] = []
    for (const { pairs, pending } of this.tasks.values()) {
      out.push(...pairs)
      if (pending) out.push({ started: pending })
    }
    return out
  }

  private over(): boolean {
    return this.bytes > this.maxBytes || (this.budget !== null && this.budget.bytes > this.budget.maxBytes)
  }

  /** Drops the oldest kept items until within both budgets, keeping what `current` just received. */
  private trim(current: TaskIterations): void {
    if (!this.over()) return
    for (const [key, entry] of this.tasks) {
      const keepLast = entry === current ? 1 : 0
      while (entry.pairs.length > keepLast && this.over()) this.releasePair(entry.pairs.shift() as IterationSnapshot)
      if (!this.over()) return
      if (entry !== current) {
        this.release(entry)
        this.tasks.delete(key)
      }
    }
  }

  private release(entry: TaskIterations): void {
    for (const pair of entry.pairs) this.releasePair(pair)
    entry.pairs = []
    if (entry.pending) this.account(entry.pending, -1)
    entry.pending = null
  }

  private releasePair(pair: IterationSnapshot): void {
    this.account(pair.started, -1)
    if (pair.completed) this.account(pair.completed, -1)
  }

  private account(message: LlmIterationStartedMessage | LlmIterationCompletedMessage, sign: 1 | -1): void {
    let n = this.sizes.get(message)
    if (n === undefined) {
      n = iterationBytes(message)
      this.sizes.set(message, n)
    }
    this.bytes += sign * n
    if (this.budget) this.budget.bytes += sign * n
  }
}

/** The strings an iteration message holds (UTF-16 code units, about its UTF-8 size for ASCII) plus a little per object. */
export function iterationBytes(m: LlmIterationStartedMessage | LlmIterationCompletedMessage): number {
  let n = 64 + m.agentRole.length + m.taskDescription.length
  if (m.type === 'llm_iteration_started') {
    for (const msg of m.messages) {
      n += 32 + (msg.role?.length ?? 0) + (msg.content?.length ?? 0) + (msg.toolName?.length ?? 0)
      for (const call of msg.toolCalls ?? []) n += 16 + (call.name?.length ?? 0) + (call.arguments?.length ?? 0)
    }
  } else {
    n += m.responseType.length + (m.responseText?.length ?? 0)
    for (const call of m.toolRequests ?? []) n += 16 + (call.name?.length ?? 0) + (call.arguments?.length ?? 0)
  }
  return n
}
