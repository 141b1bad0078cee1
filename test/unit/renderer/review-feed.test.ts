import { describe, expect, it } from 'vitest'
import { resyncDelta, type ReviewsDelta, type ReviewsSnapshot } from '../../../src/shared/model/review-delta'
import type { ReviewGate } from '../../../src/shared/model/reviews'
import { ReviewFeed } from '../../../src/renderer/lib/review-feed'

function gate(id: string): ReviewGate {
  return {
    id,
    reviewId: id,
    source: { kind: 'api', sourceId: 'api', producerId: null, label: 'Review API' },
    runId: null,
    requiredRole: null,
    taskDescription: id,
    taskOutput: '',
    timing: 'AFTER_EXECUTION',
    prompt: null,
    timeoutMs: 0,
    onTimeout: 'CONTINUE',
    createdAt: `2026-12-04T10:00:00.${id.padStart(3, '0').slice(-3)}Z`,
    expiresAt: null,
    status: 'pending',
    connected: true,
    outcome: null
  }
}

const snap = (seq: number, ids: string[]): ReviewsSnapshot => ({ pending: ids.map(gate), recent: [], doNotDisturb: false, historyPersisted: true, seq })
const add = (seq: number, ...ids: string[]): ReviewsDelta => ({ seq, added: ids.map(gate), changed: [], removed: [] })
const remove = (seq: number, ...ids: string[]): ReviewsDelta => ({ seq, added: [], changed: [], removed: ids })

/** A feed whose snapshots the test hands out by hand. */
function setup() {
  const requests: ((s: ReviewsSnapshot) => void)[] = []
  const failures: ((e: Error) => void)[] = []
  const shown: ReviewsSnapshot[] = []
  const feed = new ReviewFeed({
    load: () =>
      new Promise<ReviewsSnapshot>((resolve, reject) => {
        requests.push(resolve)
        failures.push(reject)
      }),
    onState: (s) => shown.push(s)
  })
  const ids = () => feed.state?.pending.map((g) => g.id)
  const answer = async (s: ReviewsSnapshot) => {
    const next = requests.shift()
    failures.shift()
    if (!next) throw new Error('no request waiting')
    next(s)
    await new Promise((r) => setTimeout(r, 0))
  }
  return { feed, requests, failures, shown, ids, answer }
}

describe('the renderer review feed', () => {
  it('applies deltas in seq order on top of the snapshot and ignores ones the snapshot holds', async () => {
    const { feed, ids, answer, requests } = setup()
    const done = feed.resync()
    await answer(snap(3, ['1']))
    await done
    feed.push(add(3, 'old')) // already in the snapshot
    feed.push(add(4, '2'))
    feed.push(remove(5, '1'))
    expect(ids()).toEqual(['2'])
    expect(feed.state?.seq).toBe(5)
    expect(requests).toHaveLength(0)
  })

  it('keeps deltas that arrive while the snapshot loads and applies the newer ones after it', async () => {
    const { feed, ids, answer } = setup()
    const done = feed.resync()
    feed.push(add(7, '7'))
    feed.push(add(8, '8'))
    feed.push(add(6, '6'))
    await answer(snap(6, ['1', '6']))
    await done
    expect(ids()).toEqual(['1', '6', '7', '8'])
    expect(feed.state?.seq).toBe(8)
  })

  it('a gap refetches instead of applying, and only one request runs at a time', async () => {
    const { feed, ids, answer, requests } = setup()
    const first = feed.resync()
    await answer(snap(1, ['1']))
    await first
    feed.push(remove(3, '1')) // seq 2 was missed
    expect(ids()).toEqual(['1'])
    expect(requests).toHaveLength(1)
    feed.push(add(4, '4')) // still loading: kept
    expect(requests).toHaveLength(1)
    await answer(snap(3, []))
    expect(ids()).toEqual(['4'])
    expect(feed.loads).toBe(2)
  })

  it('a resync marker refetches; a marker the snapshot already holds does not refetch again', async () => {
    const { feed, ids, answer, requests } = setup()
    const first = feed.resync()
    await answer(snap(0, []))
    await first
    feed.push(resyncDelta(1))
    expect(requests).toHaveLength(1)
    await answer(snap(1, ['a', 'b']))
    expect(ids()).toEqual(['a', 'b'])
    expect(requests).toHaveLength(0)
  })

  it('a marker or a gap seen during a load, newer than its snapshot, loads once more', async () => {
    const { feed, ids, answer, requests } = setup()
    void feed.resync()
    feed.push(add(5, '5'))
    feed.push(resyncDelta(6))
    await answer(snap(4, ['4']))
    expect(requests).toHaveLength(1) // the marker is newer than the snapshot
    await answer(snap(6, ['4', '5', 'x']))
    expect(ids()).toEqual(['4', '5', 'x'])
    expect(feed.loads).toBe(2)
  })

  it('asking again while a request runs (a reconnect) fetches once more after it, deltas from before dropped', async () => {
    const { feed, ids, answer, requests } = setup()
    const first = feed.resync()
    feed.push(add(50, 'from the old connection'))
    const second = feed.resync()
    expect(requests).toHaveLength(1)
    await answer(snap(1, ['1']))
    expect(requests).toHaveLength(1)
    // A restarted server counts from 1 again: its snapshot wins whatever the seq before.
    await answer(snap(1, ['new']))
    await Promise.all([first, second])
    expect(ids()).toEqual(['new'])
  })

  it('a failed load rejects and keeps what was shown; the next push tries again', async () => {
    const { feed, ids, answer, failures, requests } = setup()
    const first = feed.resync()
    await answer(snap(1, ['1']))
    await first
    const failing = feed.resync()
    failures.shift()!(new Error('offline'))
    requests.shift()
    await expect(failing).rejects.toThrow('offline')
    expect(ids()).toEqual(['1'])
    feed.push(add(9, '9')) // a gap: try again
    expect(requests).toHaveLength(1)
    await answer(snap(9, ['1', '9']))
    expect(ids()).toEqual(['1', '9'])
  })

  it('local patches show at once and the following push agrees', async () => {
    const { feed, ids, answer, shown } = setup()
    const first = feed.resync()
    await answer(snap(1, ['1', '2']))
    await first
    feed.patch((s) => ({ ...s, pending: s.pending.filter((g) => g.id !== '1') }))
    expect(ids()).toEqual(['2'])
    feed.push(remove(2, '1'))
    expect(ids()).toEqual(['2'])
    expect(shown.length).toBe(3)
  })
})
