// Pending gates across a restart of a real Vigil (VigilService + server, recording in a real DuckDB file
// and the gate journal next to it), and the caps on pending gates over the real review API and /ingress.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EnsembleSimulator } from '../../../src/main/demo/ensemble-simulator'
import { formatInstant, serializeClientMessage } from '../../../src/shared/protocol/agentensemble'
import { connect, waitFor } from '../live/helpers'
import { call, createGate, GATE, startReviewVigil, type ReviewVigil } from './review-helpers'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-gates-data-'))
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function vigil(opts: Parameters<typeof startReviewVigil>[0] = {}): Promise<ReviewVigil> {
  const v = await startReviewVigil(opts)
  cleanups.push(() => v.close())
  return v
}

/** A clean shutdown (what SIGTERM does), leaving the data folder. */
async function stop(v: ReviewVigil): Promise<void> {
  await v.server.close()
  await v.service.close()
}

function envelope(producerId: string, sequence: number, message: unknown): string {
  return JSON.stringify({ type: 'event', producer: { producerId, serviceName: 'svc' }, sequence, receivedAt: formatInstant(Date.now()), message })
}

const REQUEST = { type: 'review_requested', reviewId: 'r-hub-1', taskDescription: 'Draft', taskOutput: 'Output', timing: 'AFTER_EXECUTION', timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' }

describe('pending gates across a restart', () => {
  it('come back pending with their deadlines; a caller waits again and gets the decision; the producer gets its decision when back', async () => {
    const data = dataDir()
    const first = await vigil({ record: true, dataDir: data })
    const apiId = await createGate(first, { timeoutMs: 600_000, source: 'deploy-bot' })
    const forever = await createGate(first, { timeoutMs: 0 })
    const producer = connect(`${first.ws}/ingress`)
    await producer.opened
    producer.ws.send(envelope('svc-a-1', 1, REQUEST))
    await waitFor(() => first.service.reviews.pending().length === 3, 'three gates')
    const before = first.service.reviews.pending()
    // A caller waiting on the API gate: its connection drops with the restart.
    const dropped = call(first, 'GET', `/api/reviews/${apiId}?wait=true`).catch((err: unknown) => err)
    producer.ws.close()
    await stop(first)
    expect(await dropped).toBeInstanceOf(Error)

    const second = await vigil({ record: true, dataDir: data })
    const after = second.service.reviews.pending()
    expect(after.map((g) => [g.id, g.createdAt, g.expiresAt, g.taskOutput, g.source.label])).toEqual(
      before.map((g) => [g.id, g.createdAt, g.expiresAt, g.taskOutput, g.source.label])
    )
    expect(after.find((g) => g.id === forever)?.expiresAt).toBeNull()
    // The producer is not back yet: its gate is shown disconnected and a decision is refused, not lost.
    expect(after.find((g) => g.id === 'r-hub-1')).toMatchObject({ status: 'pending', connected: false, source: { kind: 'hub', producerId: 'svc-a-1' } })
    expect((await call(second, 'POST', '/api/reviews/r-hub-1', { decision: 'CONTINUE' })).status).toBe(503)
    const listed = await call(second, 'GET', '/api/reviews')
    expect(listed.body).toMatchObject({ total: 3, persistence: { durable: true, problem: null, restored: 3, appliedAtRestart: 0 } })
    expect((await call(second, 'GET', '/api/status')).body).toMatchObject({ reviews: { pending: 3, persistence: { durable: true, restored: 3 } } })

    // The API caller waits again on the same id and gets the decision.
    const again = call(second, 'GET', `/api/reviews/${apiId}?wait=true`)
    await new Promise((r) => setTimeout(r, 50))
    expect((await call(second, 'POST', `/api/reviews/${apiId}`, { decision: 'EDIT', revisedOutput: 'fixed', decidedBy: 'ana' })).status).toBe(200)
    expect(await again).toMatchObject({ status: 200, body: { reviewId: apiId, status: 'DECIDED', outcome: { decision: 'EDIT', revisedOutput: 'fixed', decidedBy: 'local (no password)' } } })

    // The producer reconnects with the same id on a new socket: once it is back, the decision reaches it.
    const back = connect(`${second.ws}/ingress`)
    await back.opened
    back.ws.send(envelope('svc-a-1', 2, { type: 'heartbeat' }))
    await waitFor(() => second.service.reviews.pending().find((g) => g.id === 'r-hub-1' && g.connected), 'the producer back')
    expect((await call(second, 'POST', '/api/reviews/r-hub-1', { decision: 'CONTINUE' })).status).toBe(200)
    await waitFor(() => back.frames.length === 1, 'the decision at the producer')
    const decisionJson = serializeClientMessage({ type: 'review_decision', reviewId: 'r-hub-1', decision: 'CONTINUE' })
    expect(back.frames[0]).toBe(JSON.stringify({ reviewId: 'r-hub-1', decisionJson }))
    back.ws.close()

    // Decided gates are not restored a second time; the one still pending is.
    await stop(second)
    const third = await vigil({ record: true, dataDir: data })
    expect(third.service.reviews.pending().map((g) => g.id)).toEqual([forever])
    // A late re-wait on a decided gate answers from the history.
    expect(await call(third, 'GET', `/api/reviews/${apiId}?wait=true`)).toMatchObject({ status: 200, body: { status: 'DECIDED', outcome: { decision: 'EDIT' } } })
  })

  it('a deadline that passed while Vigil was down is applied at start with the advertised action, and recorded so', async () => {
    const data = dataDir()
    const first = await vigil({ record: true, dataDir: data })
    const apiId = await createGate(first, { timeoutMs: 400, onTimeout: 'CONTINUE' })
    const producer = connect(`${first.ws}/ingress`)
    await producer.opened
    producer.ws.send(envelope('svc-a-1', 1, { type: 'ensemble_started', ensembleId: 'e1', startedAt: formatInstant(Date.now()), totalTasks: 1, workflow: 'SEQUENTIAL' }))
    producer.ws.send(envelope('svc-a-1', 2, { ...REQUEST, timeoutMs: 400, onTimeout: 'EXIT_EARLY' }))
    await waitFor(() => first.service.reviews.pending().length === 2, 'two gates')
    producer.ws.close()
    await stop(first)
    await new Promise((r) => setTimeout(r, 600))

    const second = await vigil({ record: true, dataDir: data })
    expect(second.service.reviews.pending()).toEqual([])
    const api = await second.service.getReview(apiId)
    expect(api).toMatchObject({ status: 'timed-out', outcome: { decision: 'CONTINUE', surface: 'timeout', note: expect.stringMatching(/^Applied at restart/) } })
    const hub = await second.service.getReview('r-hub-1')
    expect(hub).toMatchObject({ status: 'timed-out', outcome: { decision: 'EXIT_EARLY', surface: 'timeout', note: expect.stringMatching(/^Applied at restart/) } })
    // The waiting caller re-waits and learns it at once.
    expect(await call(second, 'GET', `/api/reviews/${apiId}?wait=true`)).toMatchObject({ status: 200, body: { status: 'TIMED_OUT', outcome: { decision: 'CONTINUE' } } })
    // In the history (DuckDB) and in the producer's run.
    const history = await second.service.getReviewHistory(0, 10)
    expect(history.rows.filter((g) => g.outcome?.note?.startsWith('Applied at restart')).map((g) => g.id).sort()).toEqual([apiId, 'r-hub-1'].sort())
    expect((await call(second, 'GET', '/api/reviews')).body).toMatchObject({ persistence: { restored: 2, appliedAtRestart: 2 } })
    const run = second.service.registry.tracker.listRuns().find((r) => r.sourceId === 'hub')
    expect(run).toBeDefined()
    const detail = await second.service.getRun(run!.runId)
    expect(detail.recentEvents.map((e) => e.type)).toContain('review_timed_out')

    // Not applied twice.
    await stop(second)
    const third = await vigil({ record: true, dataDir: data })
    expect(third.service.reviews.pending()).toEqual([])
    expect((await third.service.getReviewHistory(0, 10)).total).toBe(2)
  })

  it('a gate from an attached dashboard comes back, reconnects with the attachment, and is answered once', async () => {
    const data = dataDir()
    const sim = new EnsembleSimulator({ paceMs: 5, loop: false, heartbeatMs: 60_000, reviewTimeoutMs: 0 })
    await sim.start()
    cleanups.push(() => sim.stop())
    const first = await vigil({ record: true, dataDir: data })
    await first.service.addAttachment(sim.url)
    const gate = await waitFor(() => first.service.reviews.pending()[0], 'the gate from the simulator', 10_000)
    await stop(first)

    const second = await vigil({ record: true, dataDir: data })
    expect(second.service.reviews.pending()).toEqual([expect.objectContaining({ id: gate.id, createdAt: gate.createdAt, connected: false })])
    await second.service.addAttachment(sim.url)
    await waitFor(() => second.service.reviews.pending()[0]?.connected, 'the attachment back', 10_000)
    // The dashboard's own late-join copy of the request is the same gate, not a second one.
    expect(second.service.reviews.pending()).toHaveLength(1)
    await second.service.decideReview(gate.id, 'CONTINUE')
    await waitFor(() => sim.decisions.length === 1, 'the decision at the agent')
    expect(sim.decisions).toEqual([{ reviewId: gate.reviewId, decision: 'CONTINUE' }])
  })

  it('a decided gate with a long output is kept cut in memory and read whole from the history', async () => {
    const v = await vigil({ record: true })
    const output = 'o'.repeat(100_000)
    const id = await createGate(v, { taskOutput: output })
    expect((await call(v, 'POST', `/api/reviews/${id}`, { decision: 'EDIT', revisedOutput: `${output}!` })).status).toBe(200)
    // What stays in memory is cut…
    expect(v.service.reviews.get(id)).toMatchObject({ truncated: true })
    expect(v.service.reviews.get(id).taskOutput.length).toBeLessThan(10_000)
    // …and the API reads it whole from the history.
    const whole = await call(v, 'GET', `/api/reviews/${id}`)
    expect((whole.body.taskOutput as string).length).toBe(100_000)
    expect((whole.body.outcome as { revisedOutput: string }).revisedOutput).toHaveLength(100_001)
  })

  it('without a data folder gates work in memory and GET /api/reviews says they are not durable', async () => {
    const v = await vigil()
    const res = await call(v, 'POST', '/api/reviews', GATE)
    expect(res).toMatchObject({ status: 201, body: { persisted: false } })
    expect((await call(v, 'GET', '/api/reviews')).body).toMatchObject({ total: 1, persistence: { durable: false, problem: expect.stringMatching(/memory only/) } })
    // And in the status every monitor reads.
    expect((await call(v, 'GET', '/api/status')).body).toMatchObject({ reviews: { pending: 1, persistence: { durable: false, problem: expect.stringMatching(/memory only/) } } })
  })
})

describe('caps on pending gates', () => {
  it('the review API answers 429 past the per-source count and 413 past the bytes or the body limit, naming the limit', async () => {
    const v = await vigil({ record: true })
    for (let i = 0; i < 200; i++) {
      const res = await call(v, 'POST', '/api/reviews', { ...GATE, taskDescription: `gate ${i}` })
      expect(res.status).toBe(201)
      expect(res.body.persisted).toBe(true)
    }
    const over = await call(v, 'POST', '/api/reviews', GATE)
    expect(over).toMatchObject({ status: 429, body: { ok: false, error: { code: 'rate-limited', reason: 'GATE_LIMIT', limit: { name: 'maxGatesPerSource', value: 200 } } } })
    expect(String((over.body.error as { message: string }).message)).toContain('maxGatesPerSource')
    // Deciding frees room.
    const first = v.service.reviews.pending()[0]!
    expect((await call(v, 'POST', `/api/reviews/${first.id}`, { decision: 'CONTINUE' })).status).toBe(200)
    expect((await call(v, 'POST', '/api/reviews', GATE)).status).toBe(201)
  })

  it('413 for gates whose texts pass the per-source bytes, and for a body over 8 MiB', async () => {
    const v = await vigil()
    const big = 'x'.repeat(4 * 1024 * 1024)
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await call(v, 'POST', '/api/reviews', { ...GATE, taskOutput: big })).status)
    expect(statuses).toEqual([201, 201, 201, 413, 413])
    const refused = await call(v, 'POST', '/api/reviews', { ...GATE, taskOutput: big })
    expect(refused.body).toMatchObject({ error: { code: 'too-large', limit: { name: 'maxBytesPerSource', value: 16 * 1024 * 1024 } } })
    expect((await call(v, 'GET', '/api/reviews')).body).toMatchObject({ usage: { gates: 3 } })
    const huge = await call(v, 'POST', '/api/reviews', `{"taskDescription":"x","taskOutput":"${'y'.repeat(8 * 1024 * 1024 + 10)}","timeoutMs":0,"onTimeout":"CONTINUE"}`)
    expect(huge).toMatchObject({ status: 413, body: { error: { limit: { name: 'maxBodyBytes', value: 8 * 1024 * 1024 } } } })
    const long = await call(v, 'POST', '/api/reviews', { ...GATE, taskDescription: 'd'.repeat(4 * 1024 * 1024 + 1) })
    expect(long).toMatchObject({ status: 413, body: { error: { limit: { name: 'maxTextChars', value: 4 * 1024 * 1024 } } } })
  })

  it('gates from a hub producer past the cap are refused and counted, never raised and dropped', async () => {
    const v = await vigil()
    const producer = connect(`${v.ws}/ingress`)
    await producer.opened
    for (let i = 0; i < 205; i++) producer.ws.send(envelope('svc-a-1', i + 1, { ...REQUEST, reviewId: `r-${i}` }))
    await waitFor(() => v.service.reviews.stats().refused.total === 5, 'five refusals', 5000)
    expect(v.service.reviews.pending()).toHaveLength(200)
    const listed = await call(v, 'GET', '/api/reviews')
    expect(listed.body).toMatchObject({ refused: { total: 5, bySource: { 'hub/svc-a-1': { count: 5, lastLimit: 'maxGatesPerSource' } } } })
    // Another producer still has its own room.
    producer.ws.send(envelope('svc-b-1', 1, { ...REQUEST, reviewId: 'r-b' }))
    await waitFor(() => v.service.reviews.pending().some((g) => g.id === 'r-b'), 'the other producer\'s gate')
    producer.ws.close()
  })
})
