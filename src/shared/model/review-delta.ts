// The gate list as windows receive it: one snapshot (listReviews) and then small deltas, one per
// event-loop turn, each with a sequence number. Every text in them is cut; the inbox fetches a whole
// gate with getReview. Pure: the main process builds deltas with it, the renderer applies them.
import { compareByDeadline, PENDING_TEXT_CHARS, RECENT_TEXT_CHARS, type ReviewGate, type ReviewsState } from './reviews'

/** Largest push (its JSON, UTF-8): a turn whose delta would be bigger pushes a resync marker instead. */
export const MAX_REVIEWS_PUSH_BYTES = 256 * 1024
/** The second try for a turn too big at the usual cuts (a burst of large gates): texts this short. */
export const TIGHT_TEXT_CHARS = 512
/** Longest source label, role, timing, decider or note in a pushed or listed gate. */
export const SHORT_TEXT_CHARS = 1000
/** listReviews(): the pending gates' long texts together stay under this many characters (per-text cut shrinks, never below MIN_LISTED_TEXT_CHARS). */
export const LISTED_TEXT_BUDGET_CHARS = 4 * 1024 * 1024
export const MIN_LISTED_TEXT_CHARS = 256

/** listReviews(): the state, and the last push it already includes. */
export interface ReviewsSnapshot extends ReviewsState {
  /** Deltas with a higher `seq` apply on top of this snapshot; lower or equal ones are already in it. */
  seq: number
}

/**
 * One push. Applied in order: `removed`, then `added` and `changed` (both replace a gate with the same
 * id, so applying a change a snapshot already has is harmless), then `recent`.
 */
export interface ReviewsDelta {
  /** One more than the previous push's. A window that sees a gap (it missed one) refetches listReviews(). */
  seq: number
  /** This turn's changes were too big to push: refetch listReviews(). The lists below are empty. */
  resync?: true
  /** Gates raised since the last push (pending), texts cut. */
  added: ReviewGate[]
  /** Pending gates that changed (e.g. their agent dropped or came back), texts cut. */
  changed: ReviewGate[]
  /** Ids of gates no longer pending (decided, timed out, cancelled). */
  removed: string[]
  /** When the decided list changed: its ids, newest first, and the gates in it new since the last push (texts cut). */
  recent?: { ids: string[]; added: ReviewGate[] }
  doNotDisturb?: boolean
  historyPersisted?: boolean
}

/** What the coordinator reports (structurally its ReviewGateEvent). */
export type ReviewChange = { type: 'raised' | 'resolved' | 'updated'; gate: ReviewGate } | { type: 'settings' }

/** Cuts a text to `max` UTF-16 units without splitting a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text
  return text.slice(0, /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max)
}

/**
 * A copy of `gate` with every text cut: the long ones (description, output, prompt, revised output) to
 * `max`, the short ones (source label, role, timing, timeout action, decider, note) to SHORT_TEXT_CHARS.
 * `truncated` is set when anything was cut (or already was); getReview has the whole gate.
 */
export function cutGateTexts(gate: ReviewGate, max: number): ReviewGate {
  let cut = gate.truncated === true
  const long = (t: string): string => {
    const c = cutText(t, max)
    if (c !== t) cut = true
    return c
  }
  const short = (t: string): string => {
    const c = cutText(t, SHORT_TEXT_CHARS)
    if (c !== t) cut = true
    return c
  }
  const o = gate.outcome
  const out: ReviewGate = {
    ...gate,
    taskDescription: long(gate.taskDescription),
    taskOutput: long(gate.taskOutput),
    prompt: gate.prompt === null ? null : long(gate.prompt),
    timing: short(gate.timing),
    onTimeout: short(gate.onTimeout),
    requiredRole: gate.requiredRole === null ? null : short(gate.requiredRole),
    source: { ...gate.source, label: short(gate.source.label) },
    outcome: o
      ? {
          ...o,
          revisedOutput: o.revisedOutput === null ? null : long(o.revisedOutput),
          decidedBy: o.decidedBy === null ? null : short(o.decidedBy),
          note: o.note === null ? null : short(o.note)
        }
      : null
  }
  if (cut) out.truncated = true
  return out
}

/**
 * listReviews(), bounded: every text cut as in a push, and when many gates are pending their long texts
 * are cut shorter still, so the whole answer stays near LISTED_TEXT_BUDGET_CHARS (plus a small fixed
 * part per gate).
 */
export function boundReviewsState(state: ReviewsState, seq: number): ReviewsSnapshot {
  const perText = Math.max(MIN_LISTED_TEXT_CHARS, Math.min(PENDING_TEXT_CHARS, Math.floor(LISTED_TEXT_BUDGET_CHARS / Math.max(1, state.pending.length * 4))))
  return {
    pending: state.pending.map((g) => cutGateTexts(g, perText)),
    recent: state.recent.map((g) => cutGateTexts(g, RECENT_TEXT_CHARS)),
    doNotDisturb: state.doNotDisturb,
    historyPersisted: state.historyPersisted,
    seq
  }
}

/**
 * One turn's changes, merged: a gate raised and changed in the same turn is one `added`, a gate
 * raised and resolved is one `removed` (a snapshot taken in between may hold it), a change after the
 * gate was resolved is dropped.
 */
export class ReviewChanges {
  private readonly added = new Map<string, ReviewGate>()
  private readonly changed = new Map<string, ReviewGate>()
  private readonly removed = new Set<string>()
  private readonly resolved = new Map<string, ReviewGate>()
  private settings = false

  note(change: ReviewChange): void {
    if (change.type === 'settings') {
      this.settings = true
      return
    }
    const { gate } = change
    switch (change.type) {
      case 'raised':
        this.removed.delete(gate.id)
        this.resolved.delete(gate.id)
        this.changed.delete(gate.id)
        this.added.set(gate.id, gate)
        return
      case 'updated':
        if (gate.status !== 'pending' || this.removed.has(gate.id)) return
        if (this.added.has(gate.id)) this.added.set(gate.id, gate)
        else this.changed.set(gate.id, gate)
        return
      case 'resolved':
        this.added.delete(gate.id)
        this.changed.delete(gate.id)
        this.removed.add(gate.id)
        this.resolved.set(gate.id, gate)
        return
    }
  }

  get isEmpty(): boolean {
    return !this.settings && this.added.size === 0 && this.changed.size === 0 && this.removed.size === 0
  }

  /** Some gate left the pending list this turn: the decided list changed. */
  get recentChanged(): boolean {
    return this.resolved.size > 0
  }

  get settingsChanged(): boolean {
    return this.settings
  }

  /** Gates this delta would carry (the pending and the newly decided ones). */
  get gateCount(): number {
    return this.added.size + this.changed.size + this.resolved.size
  }

  /**
   * The delta for this turn with texts cut to `pendingChars` / `recentChars`. `recent` is the decided
   * list now (newest first) when it changed, `knownRecent` the ids windows already hold from earlier
   * pushes; `flags` are included as given.
   */
  toDelta(
    seq: number,
    opts: {
      pendingChars: number
      recentChars: number
      recent?: readonly ReviewGate[]
      knownRecent?: ReadonlySet<string>
      doNotDisturb?: boolean
      historyPersisted?: boolean
    }
  ): ReviewsDelta {
    const delta: ReviewsDelta = {
      seq,
      added: [...this.added.values()].map((g) => cutGateTexts(g, opts.pendingChars)),
      changed: [...this.changed.values()].map((g) => cutGateTexts(g, opts.pendingChars)),
      removed: [...this.removed]
    }
    if (opts.recent) {
      const known = opts.knownRecent ?? new Set<string>()
      delta.recent = {
        ids: opts.recent.map((g) => g.id),
        added: opts.recent.filter((g) => !known.has(g.id) || this.resolved.has(g.id)).map((g) => cutGateTexts(g, opts.recentChars))
      }
    }
    if (opts.doNotDisturb !== undefined) delta.doNotDisturb = opts.doNotDisturb
    if (opts.historyPersisted !== undefined) delta.historyPersisted = opts.historyPersisted
    return delta
  }
}

/** A resync marker: windows refetch listReviews(). */
export function resyncDelta(seq: number): ReviewsDelta {
  return { seq, resync: true, added: [], changed: [], removed: [] }
}

/**
 * `delta` applied on `state` (whose seq must be delta.seq - 1), as a new state; untouched lists keep
 * their identity. Null when the window must refetch instead: a resync marker, or a decided list that
 * names a gate the window does not have.
 */
export function applyReviewsDelta(state: ReviewsSnapshot, delta: ReviewsDelta): ReviewsSnapshot | null {
  if (delta.resync) return null
  let pending = state.pending
  if (delta.removed.length > 0 || delta.added.length > 0 || delta.changed.length > 0) {
    const removed = new Set(delta.removed)
    const upserts = new Map<string, ReviewGate>()
    for (const g of [...delta.added, ...delta.changed]) upserts.set(g.id, g)
    const kept = state.pending.filter((g) => !removed.has(g.id)).map((g) => upserts.get(g.id) ?? g)
    const present = new Set(kept.map((g) => g.id))
    // Existing gates keep their order among equals; new ones come after them (the server's arrival order).
    pending = [...kept, ...[...upserts.values()].filter((g) => !present.has(g.id))].sort(compareByDeadline)
  }
  let recent = state.recent
  if (delta.recent) {
    const byId = new Map(state.recent.map((g) => [g.id, g]))
    for (const g of delta.recent.added) byId.set(g.id, g)
    const next: ReviewGate[] = []
    for (const id of delta.recent.ids) {
      const g = byId.get(id)
      if (!g) return null
      next.push(g)
    }
    recent = next
  }
  return {
    pending,
    recent,
    doNotDisturb: delta.doNotDisturb ?? state.doNotDisturb,
    historyPersisted: delta.historyPersisted ?? state.historyPersisted,
    seq: delta.seq
  }
}

/**
 * A pushed gate (`live`, cut, up to date) with the texts of the same gate fetched whole (`whole`,
 * maybe older): status, connection and outcome come from `live`, every text from `whole`.
 */
export function withWholeTexts(live: ReviewGate, whole: ReviewGate): ReviewGate {
  const o = live.outcome
  const wo = whole.outcome
  const gate: ReviewGate = {
    ...live,
    taskDescription: whole.taskDescription,
    taskOutput: whole.taskOutput,
    prompt: whole.prompt,
    timing: whole.timing,
    onTimeout: whole.onTimeout,
    requiredRole: whole.requiredRole,
    source: { ...live.source, label: whole.source.label },
    outcome: o && wo ? { ...o, revisedOutput: wo.revisedOutput, decidedBy: wo.decidedBy, note: wo.note } : o
  }
  // Whole only if the fetched copy already knew the outcome the push shows.
  if (o && !wo) gate.truncated = true
  else delete gate.truncated
  return gate
}
