// One coordinator for review gates from every source: attached AgentEnsemble dashboards (answered with
// `review_decision` frames), producers on Vigil's hub (answered with `{reviewId, decisionJson}`), and
// Vigil's own review API. Plain Node: the desktop adapter, the inbox and the HTTP API all sit on it.
//
// Rules (spec §2 and its weaknesses list, fixed here):
//  * the first decision wins on every surface; later ones get a conflict naming the winner;
//  * every change is pushed to every viewer at once (no stale panels);
//  * deadlines are Vigil's (`expiresAt`), and the action applied at the deadline is the advertised one:
//    an embedded dashboard would apply its own dashboard-wide action instead (§2.2.7), so shortly
//    before its deadline Vigil sends the advertised action as the decision itself;
//  * a decision word Vigil does not know is refused, never read as "exit early";
//  * who decided (`decidedBy`) is what the caller proved to the server (server/auth/caller.ts) or the
//    surface's own name, never a name from a request body; a review API gate's creator gets a secret
//    (stored hashed) with which it may read that one gate's outcome, also after a restart.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { ApiError } from '../../shared/api/errors'
import type {
  EventEnvelope,
  HubHelloMessage,
  ReviewDecisionMessage,
  ReviewRequestedMessage
} from '../../shared/protocol/agentensemble'
import { formatInstant, serializeClientMessage } from '../../shared/protocol/agentensemble'
import {
  compareByDeadline,
  clampGateTimeout,
  MAX_GATE_TIMEOUT_MS,
  normalizeDecisionWord,
  PENDING_TEXT_CHARS,
  RECENT_TEXT_CHARS,
  type ReviewDecisionWord,
  type ReviewGate,
  type ReviewGateSource,
  type ReviewOutcome,
  type ReviewSurface,
  type ReviewsState,
  type ReviewTimeoutAction
} from '../../shared/model/reviews'
import type { Incoming } from '../live/run-tracker'
import { GateJournal, type GateJournalStatus } from './gate-journal'
import { budgetKey, DEFAULT_GATE_LIMITS, GateBudget, gateBytes, GateLimitError, type GateLimits, type GateRefusals } from './gate-limits'
import { MemoryReviewLog, type ReviewLog } from './review-log'

/** How decisions reach the agents that asked. Each returns false when the agent cannot be reached now. */
export interface ReviewDelivery {
  toAttachment(sourceId: string, reviewId: string, decision: ReviewDecisionWord, revisedOutput?: string): boolean
  toHubProducer(reviewId: string, decisionJson: string, producerId: string | null): boolean
}

/** Where pending gates are kept, how full the caps are, and what was refused (GET /api/reviews shows it). */
export interface ReviewGateStats {
  limits: GateLimits
  usage: { gates: number; bytes: number }
  refused: GateRefusals
  /** Pending gates on disk: false when they live in memory only (no data folder, or it failed: `problem`). */
  persistence: { durable: boolean; path: string | null; problem: string | null; restored: number; appliedAtRestart: number }
}

export interface CreateGateInput {
  taskDescription: string
  taskOutput: string
  prompt?: string
  timeoutMs: number
  onTimeout: ReviewTimeoutAction
  timing?: string
  requiredRole?: string
  /** Who asks, shown in the inbox ("Review API" when absent). */
  source?: string
}

export interface DecideInput {
  decision: string
  revisedOutput?: string
  surface: ReviewSurface
  /** Who decided, as the server established it (never from a request body); absent: the surface's own name. */
  decidedBy?: string
}

/** decidedBy for surfaces whose caller says nothing more (the desktop's own window, dialog and notification; the hub's /ws). */
const SURFACE_DECIDERS: Partial<Record<ReviewSurface, string>> = {
  'desktop-inbox': 'desktop window',
  dialog: 'desktop approval dialog',
  notification: 'desktop notification',
  'hub-browser': 'AgentEnsemble viz on /ws'
}

/** A gate just raised through the review API, with the secret its creator may read it with (shown once, kept hashed). */
export interface OwnedGate {
  gate: ReviewGate
  secret: string
}

export type ReviewGateEvent = { type: 'raised' | 'resolved' | 'updated'; gate: ReviewGate } | { type: 'settings' }

export interface ReviewCoordinatorOptions {
  delivery: ReviewDelivery
  log?: ReviewLog
  now?: () => number
  /** Source id of Vigil's own hub in the run tracker (default "hub"). */
  hubSourceId?: string
  /** The label a source shows in the UI. */
  labelOf?: (sourceId: string) => string | undefined
  /** The live run a stream is in now. */
  runIdOf?: (sourceId: string, producerId: string | null) => string | null
  /** Decided gates kept in memory for `state().recent`. Default 20. */
  recentLimit?: number
  /** For attached dashboards: how long before their deadline Vigil sends the advertised action. Default 1000 ms. */
  timeoutLeadMs?: number
  /** How long past a deadline Vigil waits for an agent that applies its own timeout to say so. Default 5000 ms. */
  agentGraceMs?: number
  /** Caps on pending gates (see gate-limits.ts); defaults DEFAULT_GATE_LIMITS. */
  limits?: Partial<GateLimits>
}

interface Entry {
  gate: ReviewGate
  key: string
  /** Its budget (gate-limits.ts) and the bytes it holds there. */
  budgetKey: string
  bytes: number
  timer: NodeJS.Timeout | null
  waiters: Set<(gate: ReviewGate) => void>
  /** SHA-256 (hex) of the creator's secret (review API gates), or null. */
  secretHash: string | null
}

const SAFE_ID = /^[A-Za-z0-9._~-]{1,128}$/
/** Ids that would read as other inbox routes (#/reviews/history) or path segments. */
const RESERVED_IDS: ReadonlySet<string> = new Set(['history', '.', '..'])
/** setTimeout's largest delay; longer deadlines are reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1
const DIRECT_ACTIONS: ReadonlySet<string> = new Set(['CONTINUE', 'EXIT_EARLY'])
/** Longest a resolution waits for the history (DuckDB) before it is taken off the pending journal anyway. */
const SAVE_WAIT_MS = 2000

export class ReviewCoordinator {
  private readonly entries = new Map<string, Entry>()
  private readonly byKey = new Map<string, string>()
  private readonly listeners = new Set<(event: ReviewGateEvent) => void>()
  private log: ReviewLog
  private readonly now: () => number
  private readonly hubSourceId: string
  private readonly recentLimit: number
  private recent: ReviewGate[] = []
  /** Creator-secret hashes of the gates in `recent` (older ones are read from the history). */
  private readonly recentSecrets = new Map<string, string>()
  private doNotDisturb = false
  private ignoring = 0
  private closed = false
  private readonly budget: GateBudget
  private journal: GateJournal | null = null
  private restored = 0
  /** Resolutions being stored (settle()): decideOrExplain answers once its own is done. */
  private readonly settling = new Map<string, Promise<void>>()
  private appliedAtRestart = 0
  /**
   * Review API creates by idempotency key (the hash of the secret derived from the key → gate id and a
   * fingerprint of the request), so a caller whose 201 was lost can send the same request again without
   * raising a second gate. The newest IDEMPOTENCY_KEYS are kept; after a restart, pending gates are found
   * by their secret's hash instead.
   */
  private readonly idempotent = new Map<string, { id: string; fingerprint: string }>()

  constructor(private readonly opts: ReviewCoordinatorOptions) {
    this.log = opts.log ?? new MemoryReviewLog()
    this.now = opts.now ?? Date.now
    this.hubSourceId = opts.hubSourceId ?? 'hub'
    this.recentLimit = opts.recentLimit ?? 20
    this.budget = new GateBudget({ ...DEFAULT_GATE_LIMITS, ...opts.limits }, this.now)
  }

  /**
   * Keeps pending gates in `dataDir` from now on (gate-journal.ts) and restores the ones a previous Vigil
   * left there: pending again with their original deadlines, or, when the deadline passed while Vigil was
   * down, resolved at once with the advertised action and a note saying so. Call after useLog (those
   * outcomes go to the history) and before sources start. Never throws: a folder that cannot be used
   * leaves gates in memory and stats().persistence names the problem.
   */
  persistPendingIn(dataDir: string): GateJournalStatus {
    if (this.journal) return this.journal.status()
    const { journal, gates, secretHashes } = GateJournal.open(dataDir, {
      snapshot: () => [...this.entries.values()].map((e) => e.gate),
      secretOf: (id) => this.entries.get(id)?.secretHash ?? null
    })
    this.journal = journal
    for (const gate of gates) this.restore(gate, secretHashes.get(gate.id) ?? null)
    // What was just restored (and resolved at restart) is written by the first commit.
    if (gates.length > 0) void journal.flush()
    return journal.status()
  }

  /** Resolves once every gate raised or resolved so far is on disk (true), or could not be (false: memory only). */
  async persisted(): Promise<boolean> {
    // Resolutions still being stored queue their journal removal after the history answers.
    if (this.settling.size > 0) await Promise.all([...this.settling.values()])
    return this.journal ? this.journal.flush() : false
  }

  stats(): ReviewGateStats {
    const status = this.journal?.status()
    return {
      limits: { ...this.budget.limits },
      usage: this.budget.usage(),
      refused: this.budget.refusals(),
      persistence: {
        durable: status?.durable ?? false,
        path: status?.path ?? null,
        problem: status ? status.problem : 'Pending gates are kept in memory only: Vigil is not recording (no data folder).',
        restored: this.restored,
        appliedAtRestart: this.appliedAtRestart
      }
    }
  }

  /** Throws GateLimitError (429) when the review API may not raise one more gate: cheap, before reading a body. */
  checkApiAdmission(): void {
    this.budget.checkCount('api')
  }

  /** Listens to gates raised, resolved (decided, timed out, cancelled), updated (connection), and settings. */
  onEvent(listener: (event: ReviewGateEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  state(): ReviewsState {
    return {
      pending: this.pending().map((g) => cutTexts(g, PENDING_TEXT_CHARS)),
      recent: this.recent.map((g) => cutTexts(g, RECENT_TEXT_CHARS)),
      doNotDisturb: this.doNotDisturb,
      historyPersisted: this.log.persisted
    }
  }

  pending(): ReviewGate[] {
    return [...this.entries.values()].filter((e) => e.gate.status === 'pending').map((e) => copy(e.gate)).sort(compareByDeadline)
  }

  get(id: string): ReviewGate {
    const entry = this.entries.get(id)
    if (entry) return copy(entry.gate)
    const past = this.recent.find((g) => g.id === id)
    if (past) return copy(past)
    throw new ApiError('not-found', `No review gate "${id}". It may have been decided long ago or never existed.`)
  }

  /** Looks in memory, then in the persisted history. */
  async find(id: string): Promise<ReviewGate> {
    try {
      const gate = this.get(id)
      if (!gate.truncated || gate.status === 'pending') return gate
      return (await this.log.get(id)) ?? gate
    } catch (err) {
      const stored = await this.log.get(id)
      if (stored) return stored
      throw err
    }
  }

  history(offset: number, limit: number) {
    return this.log.list(offset, limit)
  }

  setDoNotDisturb(enabled: boolean): ReviewsState {
    if (this.doNotDisturb !== enabled) {
      this.doNotDisturb = enabled
      this.emit({ type: 'settings' })
    }
    return this.state()
  }

  get isDoNotDisturb(): boolean {
    return this.doNotDisturb
  }

  /** Replays of recorded history must not raise gates again: wrap them in this. */
  async ignoreWhile<T>(work: () => Promise<T>): Promise<T> {
    this.ignoring++
    try {
      return await work()
    } finally {
      this.ignoring--
    }
  }

  /** A gate raised through the review API. */
  create(input: CreateGateInput): ReviewGate {
    return this.createOwned(input).gate
  }

  /** A gate raised through the review API, and the secret (32 random bytes) with which its creator may read it. */
  createOwned(input: CreateGateInput, secret = randomBytes(32).toString('base64url')): OwnedGate {
    const id = randomUUID()
    const source: ReviewGateSource = { kind: 'api', sourceId: 'api', producerId: null, label: input.source?.trim() || 'Review API' }
    const gate = this.raise(`api\u0000${id}`, id, id, source, null, {
      taskDescription: input.taskDescription,
      taskOutput: input.taskOutput,
      timing: input.timing ?? 'AFTER_EXECUTION',
      prompt: input.prompt,
      timeoutMs: input.timeoutMs,
      onTimeout: input.onTimeout,
      requiredRole: input.requiredRole
    }, this.now(), secretHash(secret))
    return { gate, secret }
  }

  /**
   * createOwned() under an idempotency key (`Idempotency-Key` on `POST /api/reviews`): the first call
   * raises the gate, a repeat with the same key and the same request answers the same gate and the same
   * secret, and `replayed: true`; the same key with another request is a conflict. The secret is derived
   * from the key (SHA-256), so a gate restored after a restart (its secret's hash is in the journal) is
   * found again by a retry that lost its answer when Vigil stopped. The key is therefore as secret as the
   * gate's secret.
   */
  async createIdempotent(input: CreateGateInput, key: string): Promise<OwnedGate & { replayed: boolean }> {
    const secret = createHash('sha256').update(`vigil-gate-secret\u0000${key}`, 'utf8').digest('base64url')
    const hash = secretHash(secret)
    const fingerprint = createHash('sha256').update(JSON.stringify(input), 'utf8').digest('hex')
    const refuse = () => new ApiError('conflict', 'This Idempotency-Key was already used for a different gate. Use a new random key for each gate.')
    const seen = this.idempotent.get(hash)
    if (seen) {
      if (seen.fingerprint !== fingerprint) throw refuse()
      return { gate: await this.find(seen.id), secret, replayed: true }
    }
    // Not seen by this process: a gate restored from the journal (pending, or decided since among the
    // recent ones) may still carry this key's secret.
    const pendingId = [...this.entries.values()].find((e) => e.secretHash === hash)?.gate.id
    const recentId = pendingId ?? [...this.recentSecrets].find(([, h]) => h === hash)?.[0]
    if (recentId !== undefined) {
      const g = await this.find(recentId)
      const same = g.taskDescription === input.taskDescription && g.taskOutput === input.taskOutput && g.timeoutMs === input.timeoutMs && g.onTimeout === input.onTimeout
      if (!same) throw refuse()
      this.remember(hash, g.id, fingerprint)
      return { gate: g, secret, replayed: true }
    }
    const { gate } = this.createOwned(input, secret)
    this.remember(hash, gate.id, fingerprint)
    return { gate, secret, replayed: false }
  }

  private remember(hash: string, id: string, fingerprint: string): void {
    this.idempotent.set(hash, { id, fingerprint })
    while (this.idempotent.size > IDEMPOTENCY_KEYS) this.idempotent.delete(this.idempotent.keys().next().value!)
  }

  /**
   * Withdraws a pending review API gate at its creator's request (`DELETE /api/reviews/{id}` with the
   * gate's secret; `vigil gate` on Ctrl+C): closed as cancelled, so no reviewer answers a gate nobody
   * waits for any more. Answered once stored. A gate already resolved is a conflict naming its outcome.
   */
  async withdraw(id: string): Promise<ReviewGate> {
    const entry = this.entries.get(id)
    if (!entry || entry.gate.status !== 'pending') throw conflict(await this.find(id))
    if (entry.gate.source.kind !== 'api') throw new ApiError('bad-request', 'Only gates raised through the review API can be withdrawn.')
    this.resolve(entry, 'cancelled', {
      decision: null,
      revisedOutput: null,
      surface: 'agent',
      decidedBy: null,
      delivered: true,
      note: 'Withdrawn by the agent that raised it (it no longer waits for a decision).'
    })
    await this.settling.get(id)
    return copy(entry.gate)
  }

  /**
   * Whether `secret` is the one given to the creator of gate `id` (pending, recently resolved, or in the
   * history). Constant time; false for gates without one (hub, dashboards) and unknown ids.
   */
  async ownerSecretMatches(id: string, secret: string): Promise<boolean> {
    let stored = this.entries.get(id)?.secretHash ?? this.recentSecrets.get(id) ?? null
    if (stored === null) stored = await this.log.secretHashOf(id).catch(() => null)
    const candidate = Buffer.from(secretHash(secret), 'hex')
    const expected = stored !== null && /^[0-9a-f]{64}$/.test(stored) ? Buffer.from(stored, 'hex') : null
    // Compared either way, so an unknown id takes as long as a wrong secret.
    const same = timingSafeEqual(candidate, expected ?? Buffer.alloc(32))
    return expected !== null && same
  }

  /**
   * Decides a pending gate. Throws not-found (unknown id), conflict (already resolved: the message names
   * how, where and when), bad-request (unknown word, EDIT without text) or unavailable (the agent cannot
   * be reached now; the gate stays pending).
   */
  decide(id: string, input: DecideInput): ReviewGate {
    const entry = this.entries.get(id)
    if (!entry) {
      const past = this.recent.find((g) => g.id === id)
      if (past) throw conflict(past)
      throw new ApiError('not-found', `No review gate "${id}".`)
    }
    const gate = entry.gate
    if (gate.status !== 'pending') throw conflict(gate)
    const word = normalizeDecisionWord(input.decision)
    if (!word) {
      throw new ApiError('bad-request', `Unknown decision "${String(input.decision).slice(0, 40)}". Use CONTINUE (or APPROVE), EDIT or EXIT_EARLY.`)
    }
    if (word === 'EDIT' && typeof input.revisedOutput !== 'string') {
      throw new ApiError('bad-request', 'EDIT needs revisedOutput: the text that replaces the output.')
    }
    const revised = word === 'EDIT' ? input.revisedOutput : undefined
    if (!this.deliver(gate, word, revised)) {
      this.setConnected(entry, false)
      throw new ApiError('unavailable', `The agent behind "${gate.source.label}" cannot be reached right now; the gate stays pending. Try again when it reconnects.`)
    }
    this.resolve(entry, 'decided', {
      decision: word,
      revisedOutput: revised ?? null,
      surface: input.surface,
      decidedBy: input.decidedBy?.trim() || SURFACE_DECIDERS[input.surface] || null,
      delivered: true,
      note: null
    })
    return copy(gate)
  }

  /**
   * decide(), but a gate decided so long ago that only the stored history knows it is still a conflict
   * naming its outcome, not "unknown".
   */
  async decideOrExplain(id: string, input: DecideInput): Promise<ReviewGate> {
    try {
      const gate = this.decide(id, input)
      // Answered once stored: a decision acknowledged is never undone by a crash.
      await this.settling.get(gate.id)
      return gate
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'not-found') throw err
      const stored = await this.log.get(id)
      throw stored ? conflict(stored) : err
    }
  }

  /**
   * Resolves with the gate once it is no longer pending (at once if it already is, from memory or the
   * persisted history: a caller may wait again after its connection dropped or Vigil restarted); null if
   * `signal` aborts first. Rejects with not-found for an unknown id.
   */
  waitFor(id: string, signal?: AbortSignal): Promise<ReviewGate | null> {
    const entry = this.entries.get(id)
    if (!entry || entry.gate.status !== 'pending') return this.find(id)
    return new Promise((resolve) => {
      const waiter = (gate: ReviewGate) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(gate)
      }
      const onAbort = () => {
        entry.waiters.delete(waiter)
        resolve(null)
      }
      if (signal?.aborted) return resolve(null)
      signal?.addEventListener('abort', onAbort, { once: true })
      entry.waiters.add(waiter)
    })
  }

  /**
   * Every message the run tracker ingests (its tap). Raises gates from `review_requested`, resolves them
   * from the agent's own `review_timed_out`, and closes them when their run ends.
   */
  observe(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    if (this.ignoring > 0 || this.closed) return
    switch (message.type) {
      case 'event':
        return this.observeEnvelope(sourceId, message, receivedAt, false)
      case 'hub_hello':
        return this.observeHubHello(sourceId, message)
      case 'review_requested':
        return this.observeRequest(sourceId, producerId, message, receivedAt, false)
      case 'review_timed_out': {
        const entry = message.reviewId === null ? undefined : this.lookup(sourceId, producerId, message.reviewId)
        if (entry?.gate.status !== 'pending') return
        const action = message.action ?? entry.gate.onTimeout
        const note = action === entry.gate.onTimeout ? null : `The agent applied ${action}, not the advertised ${entry.gate.onTimeout} (AgentEnsemble's embedded dashboard uses its own default).`
        return this.resolve(entry, 'timed-out', { decision: action, revisedOutput: null, surface: 'agent', decidedBy: null, delivered: true, note })
      }
      case 'ensemble_completed':
        for (const entry of this.entries.values()) {
          if (entry.gate.status !== 'pending' || entry.gate.source.sourceId !== sourceId || entry.gate.source.producerId !== producerId) continue
          if (this.settledElsewhere(entry, message)) continue
          this.resolve(entry, 'cancelled', {
            decision: null,
            revisedOutput: null,
            surface: 'agent',
            decidedBy: null,
            delivered: false,
            note: 'The run ended before a decision was seen here (it may have been answered in another client).'
          })
        }
        return
      case 'task_started':
      case 'task_completed':
        // The agent went past a gate that is still pending here: someone decided it in another client.
        for (const entry of [...this.entries.values()]) {
          if (entry.gate.status !== 'pending' || entry.gate.source.sourceId !== sourceId || entry.gate.source.producerId !== producerId) continue
          this.settledElsewhere(entry, message)
        }
        return
    }
  }

  /**
   * A gate still pending here whose outcome the stream shows (issue 16): the agent started the task a
   * BEFORE gate guarded, completed the task an AFTER gate guarded, or ended the run early / normally.
   * Recorded as decided by "another client" (or timed out by the agent); true when resolved.
   */
  private settledElsewhere(entry: Entry, message: Incoming): boolean {
    const gate = entry.gate
    const elsewhere = (decision: string, note: string) =>
      this.resolve(entry, 'decided', { decision, revisedOutput: null, surface: 'agent', decidedBy: 'another client', delivered: true, note })
    if (message.type === 'task_started' || message.type === 'task_completed') {
      const guards = message.type === 'task_started' ? 'BEFORE_EXECUTION' : 'AFTER_EXECUTION'
      if (gate.timing !== guards || message.taskDescription !== gate.taskDescription) return false
      elsewhere('CONTINUE', `Decided in another client: the agent ${message.type === 'task_started' ? 'started' : 'completed'} the task (CONTINUE or EDIT; the stream does not say which).`)
      return true
    }
    if (message.type !== 'ensemble_completed') return false
    if (message.exitReason === 'USER_EXIT_EARLY') {
      elsewhere('EXIT_EARLY', 'Decided in another client: the run ended with USER_EXIT_EARLY.')
      return true
    }
    if (message.exitReason === 'COMPLETED') {
      elsewhere('CONTINUE', 'Decided in another client: the run went on and completed (CONTINUE or EDIT; the stream does not say which).')
      return true
    }
    if (message.exitReason === 'TIMEOUT') {
      this.resolve(entry, 'timed-out', { decision: gate.onTimeout, revisedOutput: null, surface: 'agent', decidedBy: null, delivered: true, note: 'The run ended with TIMEOUT: the agent applied its own deadline.' })
      return true
    }
    return false
  }

  /**
   * Re-reads whether the agent behind each pending gate can be reached (after a source or hub
   * producer connected, dropped or was removed). Gates show it; decisions to them are refused, not lost.
   */
  syncConnections(isConnected: (source: ReviewGateSource) => boolean): void {
    for (const entry of this.entries.values()) {
      if (entry.gate.status !== 'pending' || entry.gate.source.kind === 'api') continue
      this.setConnected(entry, isConnected(entry.gate.source))
    }
  }

  /** A decision addressed by the agent's own review id (a client on Vigil's hub /ws knows no other). */
  decideByReviewId(sourceId: string, reviewId: string, input: DecideInput): ReviewGate {
    const entry = [...this.entries.values()].find((e) => e.gate.source.sourceId === sourceId && e.gate.reviewId === reviewId)
    const past = this.recent.find((g) => g.source.sourceId === sourceId && g.reviewId === reviewId)
    return this.decide(entry?.gate.id ?? past?.id ?? reviewId, input)
  }

  /** Decided gates go here from now on (the persisted history opens after the coordinator starts). */
  useLog(log: ReviewLog): void {
    this.log = log
  }

  /** Stops timers; pending gates stay in the journal (written out by `journal.close()`) for the next start. */
  close(): void {
    this.closed = true
    for (const entry of this.entries.values()) {
      if (entry.timer) clearTimeout(entry.timer)
      entry.timer = null
    }
    // Resolutions still being stored finish first, so none comes back pending at the next start.
    const journal = this.journal
    if (journal) void Promise.all([...this.settling.values()]).then(() => journal.close())
  }

  // -------------------------------------------------------------------------------------------

  private observeEnvelope(sourceId: string, envelope: EventEnvelope, receivedAt: string, replayed: boolean): void {
    const producerId = envelope.producer.producerId
    const inner = envelope.message
    if (inner.type === 'review_requested') {
      this.observeRequest(sourceId, producerId, inner, envelope.receivedAt ?? receivedAt, replayed)
    } else if (inner.type === 'review_timed_out' || inner.type === 'ensemble_completed' || inner.type === 'task_started' || inner.type === 'task_completed') {
      this.observe(sourceId, producerId, inner, envelope.receivedAt ?? receivedAt)
    }
  }

  /**
   * A hub's late-join log replays every review_requested it ever saw and never clears them (§7). Only
   * gates still inside their deadline, and not timed out or ended later in the same log, are raised.
   */
  private observeHubHello(sourceId: string, hello: HubHelloMessage): void {
    const trace = hello.snapshotTrace ?? []
    const open = new Map<string, EventEnvelope>()
    for (const env of trace) {
      const inner = env.message
      const producerId = env.producer.producerId
      if (inner.type === 'review_requested') open.set(`${producerId}\u0000${inner.reviewId}`, env)
      else if (inner.type === 'review_timed_out' && inner.reviewId !== null) open.delete(`${producerId}\u0000${inner.reviewId}`)
      else if (inner.type === 'ensemble_completed' || inner.type === 'ensemble_started') {
        for (const key of [...open.keys()]) if (key.startsWith(`${producerId}\u0000`)) open.delete(key)
      }
    }
    for (const env of open.values()) this.observeEnvelope(sourceId, env, env.receivedAt ?? formatInstant(this.now()), true)
  }

  private observeRequest(sourceId: string, producerId: string | null, message: ReviewRequestedMessage, receivedAt: string, replayed: boolean): void {
    const key = sourceKey(sourceId, producerId, message.reviewId)
    const known = this.byKey.get(key)
    if (known && this.entries.get(known)?.gate.status === 'pending') return
    const received = Date.parse(receivedAt)
    const start = replayed && !Number.isNaN(received) ? received : this.now()
    if (replayed && message.timeoutMs > 0 && start + message.timeoutMs <= this.now()) return
    const hub = producerId !== null && sourceId === this.hubSourceId
    const label = this.opts.labelOf?.(sourceId) ?? sourceId
    const source: ReviewGateSource = {
      kind: hub ? 'hub' : 'attachment',
      sourceId,
      producerId,
      label: producerId !== null ? (hub ? producerId : `${label} · ${producerId}`) : label
    }
    const id = this.freshId(message.reviewId, key)
    try {
      this.raise(key, id, message.reviewId, source, this.opts.runIdOf?.(sourceId, producerId) ?? null, message, start)
    } catch (err) {
      // Over a cap: the agent is not told (no wire word for it) and applies its own timeout; counted and logged.
      if (!(err instanceof GateLimitError)) throw err
      this.budget.noteRefused(budgetKey(source), source.label, err)
    }
  }

  private raise(
    key: string,
    id: string,
    reviewId: string,
    source: ReviewGateSource,
    runId: string | null,
    request: { taskDescription: string; taskOutput: string; timing: string; prompt?: string; timeoutMs: number; onTimeout: string; requiredRole?: string },
    startMs: number,
    ownerSecretHash: string | null = null
  ): ReviewGate {
    const timeoutMs = clampGateTimeout(request.timeoutMs)
    if (timeoutMs !== request.timeoutMs) {
      console.warn(`vigil reviews: gate "${reviewId.slice(0, 80)}" from ${source.label.slice(0, 80)} asked for timeoutMs ${String(request.timeoutMs).slice(0, 40)}; using ${timeoutMs} (0 = no deadline, at most ${MAX_GATE_TIMEOUT_MS} = 7 days).`)
    }
    const gate: ReviewGate = {
      id,
      reviewId,
      source,
      runId,
      taskDescription: request.taskDescription,
      taskOutput: request.taskOutput,
      timing: request.timing,
      prompt: request.prompt ?? null,
      timeoutMs,
      onTimeout: request.onTimeout,
      requiredRole: request.requiredRole ?? null,
      createdAt: formatInstant(startMs),
      expiresAt: timeoutMs > 0 ? formatInstant(startMs + timeoutMs) : null,
      status: 'pending',
      connected: true,
      outcome: null
    }
    const bytes = gateBytes(gate)
    const budget = budgetKey(source)
    this.budget.check(budget, bytes)
    this.budget.add(budget, bytes)
    const entry: Entry = { gate, key, budgetKey: budget, bytes, timer: null, waiters: new Set(), secretHash: ownerSecretHash }
    this.entries.set(id, entry)
    this.byKey.set(key, id)
    this.journal?.put(copy(gate), ownerSecretHash)
    this.scheduleDeadline(entry)
    this.emit({ type: 'raised', gate: copy(gate) })
    return copy(gate)
  }

  /** A gate from the journal: pending again (agents disconnected until they are back), or applied now if its deadline passed. */
  private restore(stored: ReviewGate, ownerSecretHash: string | null): void {
    if (this.entries.has(stored.id)) return
    const { source } = stored
    const key = source.kind === 'api' ? `api\u0000${stored.id}` : sourceKey(source.sourceId, source.producerId, stored.reviewId)
    if (this.byKey.has(key)) return
    const gate: ReviewGate = { ...copy(stored), status: 'pending', outcome: null, connected: source.kind === 'api' }
    delete gate.truncated
    const bytes = gateBytes(gate)
    const budget = budgetKey(source)
    this.budget.add(budget, bytes) // admitted when raised; caps may have changed since, but it is not dropped
    const entry: Entry = { gate, key, budgetKey: budget, bytes, timer: null, waiters: new Set(), secretHash: source.kind === 'api' ? ownerSecretHash : null }
    this.entries.set(gate.id, entry)
    this.byKey.set(key, gate.id)
    this.restored++
    if (gate.expiresAt !== null && Date.parse(gate.expiresAt) <= this.now()) {
      this.appliedAtRestart++
      const after: Record<ReviewGateSource['kind'], string> = {
        api: '',
        hub: ' The producer applies the advertised action at its own deadline.',
        attachment: ' The agent applies its own timeout action at its deadline.'
      }
      this.resolve(entry, 'timed-out', {
        decision: gate.onTimeout,
        revisedOutput: null,
        surface: 'timeout',
        decidedBy: null,
        delivered: source.kind !== 'attachment',
        note: `Applied at restart: the deadline (${gate.expiresAt}) passed while Vigil was not running.${after[source.kind]}`
      })
      return
    }
    this.scheduleDeadline(entry)
    this.emit({ type: 'raised', gate: copy(gate) })
  }

  private scheduleDeadline(entry: Entry): void {
    const { gate } = entry
    if (gate.expiresAt === null) return
    const deadline = Date.parse(gate.expiresAt)
    // An attached dashboard applies its own action at its deadline: answer just before it with ours.
    const lead = gate.source.kind === 'attachment' && DIRECT_ACTIONS.has(gate.onTimeout)
      ? Math.min(this.opts.timeoutLeadMs ?? 1000, gate.timeoutMs / 10)
      : 0
    this.at(entry, deadline - lead, () => this.onDeadline(entry))
  }

  private onDeadline(entry: Entry): void {
    const { gate } = entry
    if (gate.status !== 'pending') return
    const action = gate.onTimeout
    const base = { decision: action, revisedOutput: null, surface: 'timeout' as const, decidedBy: null }
    switch (gate.source.kind) {
      case 'api':
        return this.resolve(entry, 'timed-out', { ...base, delivered: true, note: null })
      case 'hub':
        // AgentEnsemble's RemoteReviewHandler applies the per-request action itself and says nothing (§2.2.7).
        return this.resolve(entry, 'timed-out', { ...base, delivered: true, note: 'The producer applies the advertised action at its own deadline.' })
      case 'attachment': {
        if (DIRECT_ACTIONS.has(action) && this.deliver(gate, action as ReviewDecisionWord)) {
          return this.resolve(entry, 'timed-out', {
            ...base,
            delivered: true,
            note: 'Vigil sent the advertised action just before the agent\'s own deadline, so the agent applies exactly that.'
          })
        }
        // FAIL cannot be sent as a decision, or the agent is unreachable: wait for its own review_timed_out.
        const grace = this.opts.agentGraceMs ?? 5000
        this.at(entry, Date.parse(gate.expiresAt ?? '') + grace, () => {
          if (gate.status !== 'pending') return
          this.resolve(entry, 'timed-out', { ...base, delivered: false, note: 'The deadline passed; the agent applies its own timeout action (no word from it).' })
        })
        return
      }
    }
  }

  /** Runs `fn` at wall-clock `whenMs`, in steps when further away than setTimeout allows. */
  private at(entry: Entry, whenMs: number, fn: () => void): void {
    if (entry.timer) clearTimeout(entry.timer)
    const delay = Math.max(0, whenMs - this.now())
    entry.timer = setTimeout(() => {
      entry.timer = null
      if (this.closed) return
      if (delay > MAX_TIMER_MS) this.at(entry, whenMs, fn)
      else fn()
    }, Math.min(delay, MAX_TIMER_MS))
    entry.timer.unref?.()
  }

  private deliver(gate: ReviewGate, word: ReviewDecisionWord, revisedOutput?: string): boolean {
    switch (gate.source.kind) {
      case 'api':
        return true
      case 'attachment':
        return this.opts.delivery.toAttachment(gate.source.sourceId, gate.reviewId, word, revisedOutput)
      case 'hub': {
        const frame: ReviewDecisionMessage = { type: 'review_decision', reviewId: gate.reviewId, decision: word }
        if (revisedOutput !== undefined) frame.revisedOutput = revisedOutput
        return this.opts.delivery.toHubProducer(gate.reviewId, serializeClientMessage(frame), gate.source.producerId)
      }
    }
  }

  private resolve(entry: Entry, status: ReviewGate['status'], outcome: Omit<ReviewOutcome, 'decidedAt' | 'timeToDecisionMs'>): void {
    const { gate } = entry
    const at = this.now()
    gate.status = status
    gate.outcome = { ...outcome, decidedAt: formatInstant(at), timeToDecisionMs: Math.max(0, at - Date.parse(gate.createdAt)) }
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = null
    this.entries.delete(gate.id)
    if (this.byKey.get(entry.key) === gate.id) this.byKey.delete(entry.key)
    this.budget.release(entry.budgetKey, entry.bytes)
    // With a persisted history, recent gates are kept cut (find() reads a cut one whole from the history).
    this.recent.unshift(this.log.persisted ? cutTexts(gate, RECENT_TEXT_CHARS) : copy(gate))
    if (entry.secretHash) this.recentSecrets.set(gate.id, entry.secretHash)
    if (this.recent.length > this.recentLimit) {
      for (const old of this.recent.splice(this.recentLimit)) this.recentSecrets.delete(old.id)
    }
    const waiters = [...entry.waiters]
    entry.waiters.clear()
    // Waiting callers learn the outcome once it is stored (history, then the journal), so a crash just
    // after cannot bring back as pending a gate whose decision an agent already acted on.
    void this.settle(copy(gate), entry.secretHash).then(() => {
      for (const waiter of waiters) waiter(copy(gate))
    })
    this.emit({ type: 'resolved', gate: copy(gate) })
  }

  /**
   * Stores a resolved gate: in the history first, then its removal from the pending journal (so a crash
   * in between restores it pending rather than losing the outcome), committed. A history that does not
   * answer within SAVE_WAIT_MS does not hold this up.
   */
  private settle(gate: ReviewGate, ownerSecretHash: string | null): Promise<void> {
    const done = (async () => {
      let timer: NodeJS.Timeout | undefined
      try {
        const saved = Promise.resolve(this.log.save(gate, ownerSecretHash)).catch((err: unknown) => {
          console.error('vigil: could not save a review decision to the history:', err instanceof Error ? err.message : err)
        })
        await Promise.race([saved, new Promise<void>((r) => (timer = setTimeout(r, SAVE_WAIT_MS)))])
      } catch (err) {
        console.error('vigil: could not save a review decision to the history:', err)
      } finally {
        if (timer) clearTimeout(timer)
      }
      this.journal?.remove(gate.id)
      if (this.journal) await this.journal.flush()
    })()
    this.settling.set(gate.id, done)
    void done.finally(() => {
      if (this.settling.get(gate.id) === done) this.settling.delete(gate.id)
    })
    return done
  }

  private setConnected(entry: Entry, connected: boolean): void {
    if (entry.gate.connected === connected) return
    entry.gate.connected = connected
    this.emit({ type: 'updated', gate: copy(entry.gate) })
  }

  private lookup(sourceId: string, producerId: string | null, reviewId: string): Entry | undefined {
    const id = this.byKey.get(sourceKey(sourceId, producerId, reviewId))
    return id === undefined ? undefined : this.entries.get(id)
  }

  /** The agent's own id when it is URL-safe and free; otherwise one derived from where it came from. */
  private freshId(reviewId: string, key: string): string {
    const taken = (id: string) => this.entries.has(id) || this.recent.some((g) => g.id === id)
    if (SAFE_ID.test(reviewId) && !RESERVED_IDS.has(reviewId) && !taken(reviewId)) return reviewId
    const base = `g-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`
    let id = base
    for (let n = 2; taken(id); n++) id = `${base}-${n}`
    return id
  }

  private emit(event: ReviewGateEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event)
      } catch (err) {
        console.error('vigil: a review listener failed:', err)
      }
    }
  }
}

/** Idempotency keys of review API creates remembered (oldest forgotten first). */
const IDEMPOTENCY_KEYS = 2_000

/** How a creator secret is kept: SHA-256, hex. */
function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

function sourceKey(sourceId: string, producerId: string | null, reviewId: string): string {
  return `${sourceId}\u0000${producerId ?? ''}\u0000${reviewId}`
}

function copy(gate: ReviewGate): ReviewGate {
  return { ...gate, source: { ...gate.source }, outcome: gate.outcome ? { ...gate.outcome } : null }
}

/** A gate for a pushed list: long texts cut (pushes go to every window on every change), surrogate-safe. */
function cutTexts(gate: ReviewGate, max: number): ReviewGate {
  const out = copy(gate)
  const cut = (t: string) => {
    if (t.length <= max) return t
    return t.slice(0, /[\uD800-\uDBFF]/.test(t.charAt(max - 1)) ? max - 1 : max)
  }
  const revised = out.outcome?.revisedOutput ?? null
  if (out.taskOutput.length > max || (revised !== null && revised.length > max)) {
    out.taskOutput = cut(out.taskOutput)
    if (out.outcome && revised !== null) out.outcome.revisedOutput = cut(revised)
    out.truncated = true
  }
  return out
}

function conflict(gate: ReviewGate): ApiError {
  const o = gate.outcome
  const how = gate.status === 'timed-out' ? 'timed out' : gate.status === 'cancelled' ? 'closed' : 'decided'
  const what = o?.decision ? ` (${o.decision}${o.surface ? ` via ${o.surface}` : ''}${o.decidedBy ? ` by ${o.decidedBy}` : ''})` : ''
  return new ApiError('conflict', `Review gate "${gate.id}" was already ${how}${what} at ${o?.decidedAt ?? 'an earlier time'}.`)
}

