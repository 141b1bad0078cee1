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
    private readonly budget: SnapshotBudget | null = null,
    /** Sees every entry pushed (the producer's run frame, kept past the ring's window). */
    private readonly frame: RunFrame | null = null
  ) {
    this.slots = new Array<SnapshotEntry | undefined>(Math.min(16, Math.max(1, maxEntries)))
  }

  get size(): number {
    return this.count
  }

  get bytes(): number {
    return this.totalBytes
  }

  /** The merge key of the newest entry, or -Infinity when empty. */
  get newestKey(): number {
    return this.count === 0 ? -Infinity : (this.slots[(this.head + this.count - 1) % this.slots.length] as SnapshotEntry).key
  }

  push(entry: SnapshotEntry): void {
    if (this.count === this.slots.length) {
      if (this.slots.length < this.maxEntries) this.grow()
      else this.shift()
    }
    this.slots[(this.head + this.count) % this.slots.length] = entry
    this.count++
    this.frame?.note(entry)
    this.totalBytes += entry.bytes
    if (this.budget) this.budget.bytes += entry.bytes
    // Always keep the newest entry, even if it alone is over the byte budget.
    while ((this.totalBytes > this.maxBytes || (this.budget !== null && this.budget.bytes > this.budget.maxBytes)) && this.count > 1) this.shift()
  }

  /** Drops every entry (their bytes go back to the shared budget). */
  release(): void {
    while (this.count > 0) this.shift()
    this.frame?.clear()
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
 * All retained envelopes of all producers ordered by receivedAt (then arrival), keeping only what fits
 * in `maxBytes` (counting the separating commas): the newest envelope first, then the entries of
 * `frames` (each producer's run frame, see RunFrame: its ensemble_started first) whether the ring still
 * holds them or not, then the other envelopes newest first. So a late joiner learns the run's
 * ensemble_started and its open tasks however far the ring's window has moved.
 */
export function mergeSnapshots(rings: Iterable<SnapshotRing>, maxBytes: number, frames: Iterable<RunFrame> = []): string[] {
  const all: SnapshotEntry[] = []
  for (const ring of rings) ring.appendTo(all)
  // Each ring is (nearly always) already in order, and TimSort merges sorted runs in linear time.
  all.sort((a, b) => a.key - b.key || a.order - b.order)
  const kept = new Set<SnapshotEntry>()
  let budget = maxBytes
  const take = (e: SnapshotEntry): boolean => {
    if (kept.has(e)) return true
    if (e.bytes + 1 > budget) return false
    budget -= e.bytes + 1
    kept.add(e)
    return true
  }
  const newest = all.at(-1)
  if (newest) take(newest)
  for (const frame of frames) for (const e of frame.entries()) take(e)
  // The rest, newest first, as long as they fit (older ones than the first that does not fit stay out).
  for (let i = all.length - 1; i >= 0 && take(all[i] as SnapshotEntry); i--);
  // Mostly in order already (the window, plus a few older frame entries): TimSort is near linear here.
  const out = [...kept].sort((a, b) => a.key - b.key || a.order - b.order)
  const texts = new Array<string>(out.length)
  for (let i = 0; i < out.length; i++) texts[i] = (out[i] as SnapshotEntry).text
  return texts
}

/** Inner message types that make a run's frame (spec §1.6): its start, its tasks' starts and ends, its end. */
const FRAME_TYPE = /"(ensemble_started|task_started|task_completed|task_failed|ensemble_completed)"/

interface FrameTask {
  start: SnapshotEntry | null
  end: SnapshotEntry | null
}

/**
 * The frame of one producer's current run, kept for late joiners even after the snapshot ring's window
 * moved past it (issue 16: 30,000 events into a 2,000-envelope window left "Ensemble —, Tasks 26"): the
 * run's ensemble_started, the task_started of every task still open, and — room permitting — the starts
 * and ends of finished tasks and the run's ensemble_completed. Cleared at the next ensemble_started.
 *
 * Bound: at most maxTasks tasks and maxBytes bytes of envelopes (entries are shared with the ring, so
 * this costs nothing while the ring still holds them). Past either, finished tasks go first (oldest
 * first), then the oldest open ones; the ensemble_started is always kept.
 */
export class RunFrame {
  private started: SnapshotEntry | null = null
  private completed: SnapshotEntry | null = null
  private readonly tasks = new Map<number, FrameTask>()
  private bytes = 0

  constructor(
    private readonly maxTasks: number,
    private readonly maxBytes: number
  ) {}

  /** Bytes of envelopes referenced. */
  get size(): number {
    return this.bytes
  }

  /** Looks at a pushed envelope: only frame types are parsed (a cheap text test first). */
  note(entry: SnapshotEntry): void {
    if (!FRAME_TYPE.test(entry.text)) return
    let inner: { type?: unknown; taskIndex?: unknown } | null
    try {
      const env = JSON.parse(entry.text) as { message?: { type?: unknown; taskIndex?: unknown } }
      inner = typeof env.message === 'object' && env.message !== null ? env.message : null
    } catch {
      return
    }
    if (!inner) return
    const index = typeof inner.taskIndex === 'number' ? inner.taskIndex : null
    switch (inner.type) {
      case 'ensemble_started':
        this.clear()
        this.started = entry
        this.bytes += entry.bytes
        return
      case 'ensemble_completed':
        if (this.completed) this.bytes -= this.completed.bytes
        this.completed = entry
        this.bytes += entry.bytes
        break
      case 'task_started': {
        if (index === null) return
        const old = this.tasks.get(index)
        if (old) this.dropTask(index, old)
        this.tasks.set(index, { start: entry, end: null })
        this.bytes += entry.bytes
        break
      }
      case 'task_completed':
      case 'task_failed': {
        if (index === null) return
        let t = this.tasks.get(index)
        if (!t) {
          t = { start: null, end: null }
          this.tasks.set(index, t)
        }
        if (t.end) this.bytes -= t.end.bytes
        t.end = entry
        this.bytes += entry.bytes
        break
      }
      default:
        return
    }
    this.trim()
  }

  /** The entries kept, in no particular order. */
  *entries(): Iterable<SnapshotEntry> {
    if (this.started) yield this.started
    for (const t of this.tasks.values()) {
      if (t.start) yield t.start
      if (t.end) yield t.end
    }
    if (this.completed) yield this.completed
  }

  clear(): void {
    this.started = null
    this.completed = null
    this.tasks.clear()
    this.bytes = 0
  }

  private dropTask(index: number, t: FrameTask): void {
    this.tasks.delete(index)
    if (t.start) this.bytes -= t.start.bytes
    if (t.end) this.bytes -= t.end.bytes
  }

  private trim(): void {
    if (this.tasks.size <= this.maxTasks && this.bytes <= this.maxBytes) return
    // Finished tasks first, oldest first; then the oldest open ones.
    for (const finished of [true, false]) {
      for (const [index, t] of this.tasks) {
        if (this.tasks.size <= this.maxTasks && this.bytes <= this.maxBytes) return
        if (finished !== (t.end !== null)) continue
        this.dropTask(index, t)
      }
    }
  }
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
