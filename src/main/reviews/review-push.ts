// The `reviews-changed` push: the coordinator's gate events, merged per event-loop turn into one small
// delta with a sequence number (src/shared/model/review-delta.ts). A burst of gates (a hub replay, 500
// agents at once) makes one push, not one per gate, and a single change still goes out at once. No push
// is larger than MAX_REVIEWS_PUSH_BYTES: a turn too big even with tight cuts pushes a resync marker, and
// windows refetch the (bounded) list instead.
import {
  boundReviewsState,
  MAX_REVIEWS_PUSH_BYTES,
  resyncDelta,
  ReviewChanges,
  TIGHT_TEXT_CHARS,
  type ReviewChange,
  type ReviewsDelta,
  type ReviewsSnapshot
} from '../../shared/model/review-delta'
import { PENDING_TEXT_CHARS, RECENT_TEXT_CHARS, type ReviewsState } from '../../shared/model/reviews'

/** What the push reads from the coordinator. */
export interface ReviewPushSource {
  state(): ReviewsState
  readonly isDoNotDisturb: boolean
}

/** A gate's JSON without its texts is a few hundred bytes: past this many gates a turn cannot fit. */
const MIN_GATE_BYTES = 200

export class ReviewPush {
  private seq = 0
  private changes = new ReviewChanges()
  private timer: NodeJS.Immediate | null = null
  /** What windows hold from earlier pushes (or snapshots), so a delta names only what changed. */
  private knownRecent = new Set<string>()
  private sentDoNotDisturb: boolean | null = null
  private sentHistoryPersisted: boolean | null = null
  private closed = false

  constructor(
    private readonly source: ReviewPushSource,
    private readonly emit: (delta: ReviewsDelta) => void,
    private readonly maxBytes = MAX_REVIEWS_PUSH_BYTES
  ) {}

  /** A gate event: pushed with the rest of this turn's. */
  note(change: ReviewChange): void {
    if (this.closed) return
    this.changes.note(change)
    if (!this.timer) this.timer = setImmediate(() => this.flush())
  }

  /** listReviews(): the state with every text cut, and the seq of the last push it includes. */
  snapshot(): ReviewsSnapshot {
    return boundReviewsState(this.source.state(), this.seq)
  }

  /** The last push's seq. */
  get lastSeq(): number {
    return this.seq
  }

  close(): void {
    this.closed = true
    if (this.timer) clearImmediate(this.timer)
    this.timer = null
  }

  /** Sends this turn's delta now (called by the timer; tests call it directly). */
  flush(): void {
    if (this.timer) clearImmediate(this.timer)
    this.timer = null
    const changes = this.changes
    if (changes.isEmpty) return
    this.changes = new ReviewChanges()
    this.seq++
    const state = changes.recentChanged ? this.source.state() : null
    const doNotDisturb = this.source.isDoNotDisturb
    const opts = {
      recent: state?.recent,
      knownRecent: this.knownRecent,
      doNotDisturb: doNotDisturb !== this.sentDoNotDisturb ? doNotDisturb : undefined,
      historyPersisted: state && state.historyPersisted !== this.sentHistoryPersisted ? state.historyPersisted : undefined
    }
    let delta: ReviewsDelta | null = null
    if (changes.gateCount * MIN_GATE_BYTES <= this.maxBytes) {
      delta = this.fitting(changes.toDelta(this.seq, { ...opts, pendingChars: PENDING_TEXT_CHARS, recentChars: RECENT_TEXT_CHARS }))
      delta ??= this.fitting(changes.toDelta(this.seq, { ...opts, pendingChars: TIGHT_TEXT_CHARS, recentChars: TIGHT_TEXT_CHARS }))
    }
    if (delta) {
      if (delta.recent) this.knownRecent = new Set(delta.recent.ids)
      if (delta.doNotDisturb !== undefined) this.sentDoNotDisturb = delta.doNotDisturb
      if (delta.historyPersisted !== undefined) this.sentHistoryPersisted = delta.historyPersisted
    } else {
      // Windows refetch everything: what they will hold is the state now.
      delta = resyncDelta(this.seq)
      const now = state ?? this.source.state()
      this.knownRecent = new Set(now.recent.map((g) => g.id))
      this.sentDoNotDisturb = now.doNotDisturb
      this.sentHistoryPersisted = now.historyPersisted
    }
    this.emit(delta)
  }

  /** `delta` if its JSON fits the bound, else null. */
  private fitting(delta: ReviewsDelta): ReviewsDelta | null {
    // Characters never exceed UTF-8 bytes: a cheap lower bound first, the exact size only when it may fit.
    let chars = 0
    for (const list of [delta.added, delta.changed, delta.recent?.added ?? []]) {
      for (const g of list) chars += g.taskDescription.length + g.taskOutput.length + (g.prompt?.length ?? 0) + (g.outcome?.revisedOutput?.length ?? 0)
    }
    if (chars > this.maxBytes) return null
    return Buffer.byteLength(JSON.stringify(delta), 'utf8') <= this.maxBytes ? delta : null
  }
}
