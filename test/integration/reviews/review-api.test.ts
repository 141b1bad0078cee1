// The review API over real HTTP: create, list, wait, decide, and every refusal it owes a caller.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '../live/helpers'
import { call, createGate, GATE, startReviewVigil, watchReviews, type ReviewVigil } from './review-helpers'

let v: ReviewVigil

beforeEach(async () => {
  v = await startReviewVigil()
})
afterEach(async () => {
  await v.close()
})

describe('review API', () => {
  it('creates a gate, lists it in AgentEnsemble\'s shape plus expiresAt and source, and returns one by id', async () => {
    const before = Date.now()
    const created = await call(v, 'POST', '/api/reviews', { ...GATE, prompt: 'Check tone', source: 'release-bot', requiredRole: 'editor' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ status: 'PENDING' })
    const id = String(created.body.reviewId)
    const expires = Date.parse(String(created.body.expiresAt))
    expect(expires - before).toBeGreaterThanOrEqual(59_000)
    expect(expires - before).toBeLessThanOrEqual(61_000)

    const list = await call(v, 'GET', '/api/reviews')
    expect(list.status).toBe(200)
    expect(list.body.total).toBe(1)
    expect((list.body.reviews as unknown[])[0]).toMatchObject({
      reviewId: id,
      taskDescription: GATE.taskDescription,
      taskOutput: GATE.taskOutput,
      timing: 'AFTER_EXECUTION',
      prompt: 'Check tone',
      timeoutMs: 60_000,
      onTimeout: 'EXIT_EARLY',
      requiredRole: 'editor',
      expiresAt: created.body.expiresAt,
      source: { kind: 'api', label: 'release-bot' },
      status: 'PENDING'
    })
    const one = await call(v, 'GET', `/api/reviews/${id}`)
    expect(one.body).toMatchObject({ reviewId: id, status: 'PENDING' })
  })

  it('?wait=true holds the request until a decision and returns it', async () => {
    const watcher = watchReviews(v)
    await watcher.opened
    const waiting = call(v, 'POST', '/api/reviews?wait=true', GATE)
    const state = await waitFor(() => watcher.states().find((s) => s.pending.length === 1), 'the gate pushed to a viewer')
    const id = state.pending[0]!.id
    const decided = await call(v, 'POST', `/api/reviews/${id}`, { decision: 'EDIT', revisedOutput: 'Line one, fixed', decidedBy: 'ana' })
    expect(decided).toMatchObject({ status: 200, body: { reviewId: id, decision: 'EDIT', status: 'APPLIED' } })
    const result = await waiting
    // decidedBy is the server's record of who decided (no password, from this machine), never the body's "ana".
    expect(result).toMatchObject({ status: 200, body: { reviewId: id, status: 'APPLIED', decision: 'EDIT', revisedOutput: 'Line one, fixed', surface: 'api', decidedBy: 'local (no password)' } })
    // Every viewer learns the outcome at once.
    const last = await waitFor(() => watcher.states().find((s) => s.recent.some((g) => g.id === id)), 'the outcome pushed')
    expect(last.pending).toEqual([])
    expect(last.recent[0]).toMatchObject({ id, status: 'decided', outcome: { decision: 'EDIT', surface: 'api', decidedBy: 'local (no password)' } })
    watcher.ws.close()
  })

  it('GET /api/reviews/{id}?wait=true long-polls a gate created earlier', async () => {
    const id = await createGate(v)
    const waiting = call(v, 'GET', `/api/reviews/${id}?wait=true`)
    await new Promise((r) => setTimeout(r, 50))
    await v.service.decideReview(id, 'CONTINUE', undefined, 'browser-inbox')
    expect(await waiting).toMatchObject({ status: 200, body: { reviewId: id, status: 'DECIDED', outcome: { decision: 'CONTINUE', surface: 'browser-inbox' } } })
  })

  it('two deciders racing: one decision, one 409 that names the winner', async () => {
    const id = await createGate(v)
    const [a, b] = await Promise.all([
      call(v, 'POST', `/api/reviews/${id}`, { decision: 'CONTINUE' }),
      call(v, 'POST', `/api/reviews/${id}`, { decision: 'EXIT_EARLY' })
    ])
    const statuses = [a.status, b.status].sort()
    expect(statuses).toEqual([200, 409])
    const loser = a.status === 409 ? a : b
    const winner = a.status === 200 ? a : b
    expect(loser.body).toMatchObject({ ok: false, error: { code: 'conflict', reason: 'REVIEW_RESOLVED' } })
    expect(String((loser.body.error as { message: string }).message)).toContain(`${String(winner.body.decision)} via api`)
    const history = await v.service.getReviewHistory(0, 10)
    expect(history.total).toBe(1)
  })

  it('400 for bad bodies and unknown decision words, which never exit early', async () => {
    const id = await createGate(v)
    for (const body of ['not json', '[]', {}, { decision: 42 }, { decision: 'exit' }, { decision: 'EXIT EARLY' }, { decision: 'EDIT' }]) {
      const res = await call(v, 'POST', `/api/reviews/${id}`, body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body).toMatchObject({ ok: false, error: { code: 'bad-request', reason: 'BAD_REQUEST' } })
    }
    expect((await call(v, 'GET', `/api/reviews/${id}`)).body.status).toBe('PENDING')
    for (const body of [{ ...GATE, taskDescription: '' }, { ...GATE, timeoutMs: -1 }, { ...GATE, timeoutMs: 1.5 }, { ...GATE, onTimeout: 'STOP' }, { ...GATE, taskOutput: undefined }, { ...GATE, timing: 'LATER' }]) {
      expect((await call(v, 'POST', '/api/reviews', body)).status, JSON.stringify(body)).toBe(400)
    }
    expect((await call(v, 'GET', '/api/reviews')).body.total).toBe(1)
  })

  it('404 for unknown ids, 405 for other methods, 403 for cross-origin pages', async () => {
    expect(await call(v, 'POST', '/api/reviews/no-such-gate', { decision: 'CONTINUE' })).toMatchObject({ status: 404, body: { error: { reason: 'REVIEW_NOT_FOUND' } } })
    expect((await call(v, 'GET', '/api/reviews/no-such-gate')).status).toBe(404)
    expect((await call(v, 'DELETE', '/api/reviews')).status).toBe(405)
    const id = await createGate(v)
    const evil = await call(v, 'POST', `/api/reviews/${id}`, { decision: 'CONTINUE' }, { origin: 'http://evil.example' })
    expect(evil.status).toBe(403)
    expect((await call(v, 'POST', '/api/reviews', GATE, { origin: 'http://localhost.evil.com' })).status).toBe(403)
    expect((await call(v, 'GET', `/api/reviews/${id}`)).body.status).toBe('PENDING')
  })

  it('a timeout applies the advertised action, tells the waiting caller and every viewer', async () => {
    const watcher = watchReviews(v)
    await watcher.opened
    const started = Date.now()
    const result = await call(v, 'POST', '/api/reviews?wait=true', { ...GATE, timeoutMs: 300, onTimeout: 'CONTINUE' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    expect(result.body).toMatchObject({ status: 'TIMED_OUT', decision: 'CONTINUE', surface: 'timeout' })
    const id = String(result.body.reviewId)
    await waitFor(() => watcher.states().some((s) => s.recent.some((g) => g.id === id && g.status === 'timed-out')), 'the timeout pushed')
    expect((await call(v, 'POST', `/api/reviews/${id}`, { decision: 'EXIT_EARLY' })).status).toBe(409)
    watcher.ws.close()
  })

  it('a burst of gates makes one push, not one per gate', async () => {
    const watcher = watchReviews(v)
    await watcher.opened
    for (let i = 0; i < 200; i++) v.service.reviews.create({ ...GATE, onTimeout: 'CONTINUE', taskDescription: `gate ${i}` })
    const full = await waitFor(() => watcher.states().find((s) => s.pending.length === 200), 'the burst pushed')
    expect(watcher.states()).toHaveLength(1)
    expect(full.pending).toHaveLength(200)
    watcher.ws.close()
  })

  it('a viewer that connects mid-gate gets it pending from listReviews', async () => {
    const id = await createGate(v)
    const state = await v.service.listReviews()
    expect(state.pending.map((g) => g.id)).toEqual([id])
    expect(state.pending[0]!.expiresAt).not.toBeNull()
  })

  it('a caller that gives up waiting leaves the gate pending for others', async () => {
    const abort = new AbortController()
    const waiting = fetch(`${v.base}/api/reviews?wait=true`, { method: 'POST', body: JSON.stringify(GATE), signal: abort.signal }).catch((e: Error) => e)
    await waitFor(() => v.service.reviews.pending().length === 1, 'the gate')
    abort.abort()
    expect(await waiting).toBeInstanceOf(Error)
    const [pending] = v.service.reviews.pending()
    expect(pending?.status).toBe('pending')
    expect((await call(v, 'POST', `/api/reviews/${pending!.id}`, { decision: 'CONTINUE' })).status).toBe(200)
  })
})
