import { afterEach, describe, expect, it } from 'vitest'
import { ReviewCoordinator } from '../../../src/main/reviews/review-coordinator'
import { ReviewPush } from '../../../src/main/reviews/review-push'
import { applyReviewsDelta, MAX_REVIEWS_PUSH_BYTES, TIGHT_TEXT_CHARS, type ReviewsDelta, type ReviewsSnapshot } from '../../../src/shared/model/review-delta'
import { PENDING_TEXT_CHARS } from '../../../src/shared/model/reviews'

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

let open: ReviewCoordinator[] = []
afterEach(() => {
  for (const c of open) c.close()
  open = []
})

function setup(maxBytes?: number) {
  const c = new ReviewCoordinator({
    delivery: { toAttachment: () => true, toHubProducer: () => true },
    recentLimit: 5,
    // The push is under test here, not the caps on pending gates.
    limits: { maxGates: 1e6, maxGatesPerSource: 1e6, maxBytes: 2 ** 40, maxBytesPerSource: 2 ** 40 }
  })
  open.push(c)
  const pushes: ReviewsDelta[] = []
  const bytes: number[] = []
  const push = new ReviewPush(c, (d) => {
    pushes.push(d)
    bytes.push(Buffer.byteLength(JSON.stringify(d)))
  }, maxBytes)
  c.onEvent((e) => push.note(e))
  const raise = (taskDescription = 'Ship it?', extra: { taskOutput?: string; prompt?: string } = {}) =>
    c.create({ taskDescription, taskOutput: extra.taskOutput ?? 'out', prompt: extra.prompt, timeoutMs: 0, onTimeout: 'CONTINUE' })
  return { c, push, pushes, bytes, raise }
}

/** What a window holds after applying `deltas` in order on `from`; throws where it would refetch. */
function follow(from: ReviewsSnapshot, deltas: ReviewsDelta[]): ReviewsSnapshot {
  let state = from
  for (const d of deltas) {
    if (d.seq <= state.seq) continue
    expect(d.seq).toBe(state.seq + 1)
    const next = applyReviewsDelta(state, d)
    if (!next) throw new Error(`delta ${d.seq} asks for a refetch`)
    state = next
  }
  return state
}

/** The parts of a state windows show, texts aside. */
function shape(s: ReviewsSnapshot) {
  return {
    pending: s.pending.map((g) => `${g.id}:${g.status}:${g.connected}`),
    recent: s.recent.map((g) => `${g.id}:${g.status}:${g.outcome?.decision}`),
    doNotDisturb: s.doNotDisturb,
    historyPersisted: s.historyPersisted
  }
}

describe('the reviews push', () => {
  it('sends one delta per event-loop turn with that turn\'s changes, seq one more each time', async () => {
    const { pushes, raise, c } = setup()
    const a = raise('a')
    const b = raise('b')
    expect(pushes).toHaveLength(0)
    await turn()
    expect(pushes).toHaveLength(1)
    expect(pushes[0]).toMatchObject({ seq: 1, changed: [], removed: [], doNotDisturb: false })
    expect(pushes[0]?.added.map((g) => g.id)).toEqual([a.id, b.id])

    c.decide(a.id, { decision: 'CONTINUE', surface: 'api' })
    c.setDoNotDisturb(true)
    await turn()
    expect(pushes).toHaveLength(2)
    expect(pushes[1]).toMatchObject({ seq: 2, added: [], changed: [], removed: [a.id], doNotDisturb: true, historyPersisted: false })
    expect(pushes[1]?.recent?.ids).toEqual([a.id])

    await turn()
    expect(pushes).toHaveLength(2) // nothing happened: no push
  })

  it('a push never carries whole long texts: 5 gates of 4 MB texts make one push under the bound', async () => {
    const { pushes, bytes, raise, c } = setup()
    const huge = 'x'.repeat(4 * 1024 * 1024)
    for (let i = 0; i < 5; i++) raise(`${i}${huge}`, { taskOutput: huge, prompt: huge })
    // What the whole-state push sent before: the coordinator's state, description and prompt uncut.
    const before = Buffer.byteLength(JSON.stringify(c.state()))
    expect(before).toBeGreaterThan(40 * 1024 * 1024)
    await turn()
    expect(pushes).toHaveLength(1)
    expect(bytes[0]).toBeLessThanOrEqual(MAX_REVIEWS_PUSH_BYTES)
    expect(pushes[0]?.added).toHaveLength(5)
    for (const g of pushes[0]!.added) {
      expect(g.truncated).toBe(true)
      expect([g.taskDescription.length, g.taskOutput.length, g.prompt?.length]).toEqual([PENDING_TEXT_CHARS, PENDING_TEXT_CHARS, PENDING_TEXT_CHARS])
    }

    // Six such gates in one turn do not fit at the usual cut: the turn goes out with tight cuts, not a resync.
    for (let i = 0; i < 6; i++) raise(`more ${i}${huge}`, { taskOutput: huge, prompt: huge })
    await turn()
    expect(pushes).toHaveLength(2)
    expect(bytes[1]).toBeLessThanOrEqual(MAX_REVIEWS_PUSH_BYTES)
    expect(pushes[1]?.resync).toBeUndefined()
    expect(pushes[1]?.added).toHaveLength(6)
    for (const g of pushes[1]!.added) {
      expect(g.truncated).toBe(true)
      expect([g.taskDescription.length, g.taskOutput.length, g.prompt?.length]).toEqual([TIGHT_TEXT_CHARS, TIGHT_TEXT_CHARS, TIGHT_TEXT_CHARS])
    }
  })

  it('measures bytes, not characters: texts that escape to six bytes each still fit', async () => {
    const { pushes, bytes, raise } = setup()
    const control = '\u0001'.repeat(PENDING_TEXT_CHARS * 2)
    raise(control, { taskOutput: control, prompt: control })
    await turn()
    expect(bytes[0]).toBeLessThanOrEqual(MAX_REVIEWS_PUSH_BYTES)
    expect(pushes[0]?.added[0]?.taskOutput).toHaveLength(TIGHT_TEXT_CHARS)
  })

  it('a turn too big even with tight cuts pushes a resync marker; the snapshot then continues the sequence', async () => {
    const { pushes, bytes, raise, push } = setup(20_000)
    for (let i = 0; i < 200; i++) raise(`gate ${i}`)
    await turn()
    expect(pushes).toEqual([{ seq: 1, resync: true, added: [], changed: [], removed: [] }])
    expect(bytes[0]).toBeLessThan(100)
    const snap = push.snapshot()
    expect(snap.seq).toBe(1)
    expect(snap.pending).toHaveLength(200)
    raise('small')
    await turn()
    expect(follow(snap, pushes.slice(1)).pending).toHaveLength(201)
  })

  it('a snapshot taken mid-turn and the turn\'s delta applied on it agree with the state after the turn', async () => {
    const { pushes, raise, push, c } = setup()
    const a = raise('a')
    await turn()
    const b = raise('b')
    c.decide(a.id, { decision: 'EXIT_EARLY', surface: 'api' })
    const mid = push.snapshot() // already holds b and a's decision, but says seq 1
    expect(mid.seq).toBe(1)
    const c2 = raise('c')
    c.decide(b.id, { decision: 'CONTINUE', surface: 'api' })
    await turn()
    const after = follow(mid, pushes)
    expect(shape(after)).toEqual(shape(push.snapshot()))
    expect(after.pending.map((g) => g.id)).toEqual([c2.id])
  })

  it('a window that follows every delta from any snapshot ends where the coordinator is (random turns)', async () => {
    const { raise, push, pushes, c } = setup()
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const snapshots: ReviewsSnapshot[] = [push.snapshot()]
    for (let t = 0; t < 60; t++) {
      const ops = 1 + rand(4)
      for (let k = 0; k < ops; k++) {
        const pending = c.pending()
        const op = rand(10)
        if (op < 4 || pending.length === 0) raise(`t${t}k${k}`, { taskOutput: 'w'.repeat(rand(40_000)) })
        else if (op < 8) c.decide(pending[rand(pending.length)]!.id, { decision: 'CONTINUE', surface: 'api' })
        else if (op < 9) c.setDoNotDisturb(rand(2) === 0)
        else snapshots.push(push.snapshot())
      }
      await turn()
      if (rand(3) === 0) snapshots.push(push.snapshot())
    }
    const truth = shape(push.snapshot())
    expect(truth.recent.length).toBeGreaterThan(0)
    for (const s of snapshots) expect(shape(follow(s, pushes))).toEqual(truth)
    expect(pushes.map((p) => p.seq)).toEqual(pushes.map((_, i) => i + 1))
  })

  it('stops pushing once closed', async () => {
    const { raise, push, pushes } = setup()
    raise('a')
    push.close()
    raise('b')
    await turn()
    expect(pushes).toHaveLength(0)
  })
})
