// Agents cannot steal or suppress each other's review gates on Vigil's hub: a review id pending for one
// producer cannot be raised again by another (the human's decision would go to the thief), a producer id
// carried by an open connection cannot be borrowed by another connection or a POST (to send the victim's
// review_timed_out or ensemble_completed, or to receive its decisions), and absurd timeouts are clamped,
// never dropped. With recording on, so the durable path is the one under test.
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_GATE_TIMEOUT_MS } from '../../src/shared/model/reviews'
import { formatInstant } from '../../src/shared/protocol/agentensemble'
import { call, startReviewVigil, type ReviewVigil } from '../integration/reviews/review-helpers'
import { connect, waitFor, type TestClient } from '../integration/live/helpers'

const running: ReviewVigil[] = []
const sockets: TestClient[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate()
  for (const v of running.splice(0)) await v.close()
})

async function vigil(): Promise<ReviewVigil> {
  const v = await startReviewVigil({ record: true })
  running.push(v)
  return v
}

async function publisher(v: ReviewVigil): Promise<TestClient> {
  const c = connect(`${v.ws}/ingress`)
  sockets.push(c)
  await c.opened
  return c
}

function envelope(producerId: string, sequence: number, message: unknown): string {
  return JSON.stringify({ type: 'event', producer: { producerId, serviceName: 'svc' }, sequence, receivedAt: formatInstant(Date.now()), message })
}

const request = (reviewId: string, timeoutMs = 600_000) => ({
  type: 'review_requested',
  reviewId,
  taskDescription: 'Deploy to production?',
  taskOutput: 'diff …',
  timing: 'AFTER_EXECUTION',
  timeoutMs,
  onTimeout: 'EXIT_EARLY'
})
const started = { type: 'ensemble_started', ensembleId: 'e1', startedAt: '2026-03-05T14:00:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' }

const settle = () => new Promise((r) => setTimeout(r, 150))

describe('gate ownership on the hub', () => {
  it('refuses another producer re-using a pending review id; the decision reaches the owner only', async () => {
    const v = await vigil()
    const victim = await publisher(v)
    victim.ws.send(envelope('victim', 1, request('deploy-1')))
    await waitFor(() => v.service.reviews.pending()[0], 'the victim gate')
    const thief = await publisher(v)
    thief.ws.send(envelope('thief', 1, request('deploy-1')))
    await settle()
    expect(v.service.reviews.pending().map((g) => [g.reviewId, g.source.producerId])).toEqual([['deploy-1', 'victim']])
    expect(v.service.hub.counters().ownershipRefused).toBe(1)

    expect((await call(v, 'POST', '/api/reviews/deploy-1', { decision: 'CONTINUE' })).status).toBe(200)
    await waitFor(() => victim.frames.length === 1, 'the decision at the owner')
    expect(JSON.parse(victim.frames[0]!)).toMatchObject({ reviewId: 'deploy-1' })
    await settle()
    expect(thief.frames).toEqual([])
  })

  it('refuses a second connection borrowing a connected producer id: no spoofed timeout or run end closes its gate', async () => {
    const v = await vigil()
    const owner = await publisher(v)
    owner.ws.send(envelope('svc-a', 1, started))
    owner.ws.send(envelope('svc-a', 2, request('r-a')))
    await waitFor(() => v.service.reviews.pending()[0], 'the gate')
    const spoofer = await publisher(v)
    spoofer.ws.send(envelope('svc-a', 3, { type: 'review_timed_out', reviewId: 'r-a', action: 'CONTINUE' }))
    spoofer.ws.send(envelope('svc-a', 4, { type: 'ensemble_completed', ensembleId: 'e1', completedAt: '2026-03-05T14:01:00Z', durationMs: 60_000, exitReason: 'COMPLETED', totalTokens: 0, totalToolCalls: 0 }))
    const posted = await fetch(`${v.base}/api/hub/ingress`, { method: 'POST', body: envelope('svc-a', 5, { type: 'review_timed_out', reviewId: 'r-a', action: 'CONTINUE' }) })
    expect(posted.status).toBe(409)
    expect(((await posted.json()) as { error: { message: string } }).error.message).toMatch(/in use by another connection/)
    await settle()
    expect(v.service.reviews.pending().map((g) => [g.reviewId, g.status])).toEqual([['r-a', 'pending']])
    expect(v.service.hub.counters().ownershipRefused).toBe(3)

    // The decision still goes to the owner's socket, not the spoofer's.
    expect((await call(v, 'POST', '/api/reviews/r-a', { decision: 'EXIT_EARLY' })).status).toBe(200)
    await waitFor(() => owner.frames.length === 1, 'the decision at the owner')
    expect(spoofer.frames).toEqual([])
  })

  it('lets a producer come back under its id once its old connection is gone, and its own timeout closes its gate', async () => {
    const v = await vigil()
    const first = await publisher(v)
    first.ws.send(envelope('svc-b', 1, request('r-b')))
    await waitFor(() => v.service.reviews.pending()[0], 'the gate')
    first.ws.close()
    await first.closed
    await waitFor(() => v.service.reviews.pending()[0]?.connected === false || undefined, 'marked disconnected', 5000)
    const again = await publisher(v)
    again.ws.send(envelope('svc-b', 2, { type: 'review_timed_out', reviewId: 'r-b', action: 'EXIT_EARLY' }))
    await waitFor(() => v.service.reviews.pending().length === 0 || undefined, 'the owner closing its gate', 5000)
    expect(v.service.reviews.get('r-b')).toMatchObject({ status: 'timed-out' })
    expect(v.service.hub.counters().ownershipRefused).toBe(0)
  })

  it('clamps absurd timeouts instead of dropping the gate', async () => {
    const v = await vigil()
    const p = await publisher(v)
    // 1e300 and -5 are valid JSON numbers an agent can send.
    p.ws.send(envelope('svc-c', 1, request('huge', 1e300)))
    p.ws.send(envelope('svc-c', 2, request('negative', -5)))
    await waitFor(() => v.service.reviews.pending().length === 2 || undefined, 'both gates raised', 5000)
    const byId = new Map(v.service.reviews.pending().map((g) => [g.reviewId, g]))
    expect(byId.get('huge')).toMatchObject({ timeoutMs: MAX_GATE_TIMEOUT_MS })
    expect(Date.parse(byId.get('huge')!.expiresAt!) - Date.now()).toBeGreaterThan(MAX_GATE_TIMEOUT_MS - 60_000)
    expect(byId.get('negative')).toMatchObject({ timeoutMs: 0, expiresAt: null })
  })
})
