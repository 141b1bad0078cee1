// Gates raised by real agents over the wire: an attached AgentEnsemble dashboard (the protocol simulator)
// and a producer on Vigil's own /ingress; decisions must reach them as the exact frames the spec names.
import { afterEach, describe, expect, it } from 'vitest'
import { EnsembleSimulator } from '../../../src/main/demo/ensemble-simulator'
import { formatInstant, serializeClientMessage } from '../../../src/shared/protocol/agentensemble'
import { connect, waitFor } from '../live/helpers'
import { call, startReviewVigil, type ReviewVigil } from './review-helpers'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function vigil(opts: Parameters<typeof startReviewVigil>[0] = {}): Promise<ReviewVigil> {
  const v = await startReviewVigil(opts)
  cleanups.push(() => v.close())
  return v
}

async function simulator(opts: ConstructorParameters<typeof EnsembleSimulator>[0] = {}): Promise<EnsembleSimulator> {
  const sim = new EnsembleSimulator({ paceMs: 5, loop: false, heartbeatMs: 60_000, ...opts })
  await sim.start()
  cleanups.push(() => sim.stop())
  return sim
}

function envelope(producerId: string, sequence: number, message: unknown): string {
  return JSON.stringify({ type: 'event', producer: { producerId, serviceName: 'svc' }, sequence, receivedAt: formatInstant(Date.now()), message })
}

const REQUEST = { type: 'review_requested', reviewId: 'r-hub-1', taskDescription: 'Draft', taskOutput: 'Output', timing: 'AFTER_EXECUTION', timeoutMs: 60_000, onTimeout: 'EXIT_EARLY' }

describe('gates from an attached AgentEnsemble dashboard', () => {
  it('appear pending with their run, and approving sends exactly the review_decision frame', async () => {
    const v = await vigil()
    const sim = await simulator({ reviewTimeoutMs: 60_000 })
    const source = await v.service.addAttachment(sim.url)
    const gate = await waitFor(() => v.service.reviews.pending()[0], 'the gate from the simulator', 10_000)
    expect(gate.source).toMatchObject({ kind: 'attachment', sourceId: source.id })
    expect(gate.runId).not.toBeNull()
    const run = await v.service.getRun(gate.runId!)
    expect(run.pendingReviews.map((r) => r.reviewId)).toEqual([gate.reviewId])

    const decided = await v.service.decideReview(gate.id, 'CONTINUE')
    expect(decided.outcome).toMatchObject({ decision: 'CONTINUE', surface: 'browser-inbox' })
    await waitFor(() => sim.decisions.length === 1, 'the decision at the agent')
    expect(sim.decisions).toEqual([{ reviewId: gate.reviewId, decision: 'CONTINUE' }])
    // The agent goes on and finishes; no second frame is ever sent.
    await waitFor(() => v.service.registry.tracker.getRun(gate.runId!, 0)?.status === 'completed', 'the run to finish', 10_000)
    await expect(v.service.decideReview(gate.id, 'EXIT_EARLY')).rejects.toMatchObject({ code: 'conflict' })
    expect(sim.decisions).toHaveLength(1)
  })

  it('an edit reaches the agent with its text', async () => {
    const v = await vigil()
    const sim = await simulator()
    await v.service.addAttachment(sim.url)
    const gate = await waitFor(() => v.service.reviews.pending()[0], 'the gate', 10_000)
    expect((await call(v, 'POST', `/api/reviews/${gate.id}`, { decision: 'edit', revisedOutput: 'Revised ✓' })).status).toBe(200)
    await waitFor(() => sim.decisions.length === 1, 'the decision')
    expect(sim.decisions[0]).toEqual({ reviewId: gate.reviewId, decision: 'EDIT', revisedOutput: 'Revised ✓' })
  })

  it('at the deadline Vigil applies the advertised action, not the dashboard\'s own', async () => {
    const v = await vigil()
    const sim = await simulator({ reviewTimeoutMs: 1500, reviewOnTimeout: 'EXIT_EARLY' })
    await v.service.addAttachment(sim.url)
    const gate = await waitFor(() => v.service.reviews.pending()[0], 'the gate', 10_000)
    const done = await v.service.reviews.waitFor(gate.id)
    expect(done).toMatchObject({ status: 'timed-out', outcome: { decision: 'EXIT_EARLY', surface: 'timeout', delivered: true } })
    await waitFor(() => sim.decisions.length > 0, 'the advertised action at the agent')
    expect(sim.decisions).toEqual([{ reviewId: gate.reviewId, decision: 'EXIT_EARLY' }])
  })

  it('a dropped connection marks the gate, refuses decisions with 503, and keeps it pending', async () => {
    const v = await vigil()
    const sim = await simulator({ reviewTimeoutMs: 0 })
    await v.service.addAttachment(sim.url)
    const gate = await waitFor(() => v.service.reviews.pending()[0], 'the gate', 10_000)
    await sim.stop()
    await waitFor(() => v.service.reviews.pending()[0]?.connected === false || undefined, 'the gate marked disconnected', 5000)
    const res = await call(v, 'POST', `/api/reviews/${gate.id}`, { decision: 'CONTINUE' })
    expect(res).toMatchObject({ status: 503, body: { error: { code: 'unavailable', reason: 'AGENT_UNREACHABLE' } } })
    expect(v.service.reviews.pending().map((g) => g.id)).toEqual([gate.id])
  })
})

describe('gates from producers on Vigil\'s hub', () => {
  it('a decision goes back over that producer\'s ingress socket as {reviewId, decisionJson}', async () => {
    const v = await vigil()
    const producer = connect(`${v.ws}/ingress`)
    await producer.opened
    producer.ws.send(envelope('svc-a-1', 1, REQUEST))
    const gate = await waitFor(() => v.service.reviews.pending()[0], 'the hub gate')
    expect(gate).toMatchObject({ id: 'r-hub-1', source: { kind: 'hub', producerId: 'svc-a-1' }, connected: true })
    expect((await call(v, 'POST', '/api/reviews/r-hub-1', { decision: 'CONTINUE' })).status).toBe(200)
    await waitFor(() => producer.frames.length === 1, 'the forwarded decision')
    const decisionJson = serializeClientMessage({ type: 'review_decision', reviewId: 'r-hub-1', decision: 'CONTINUE' })
    expect(producer.frames[0]).toBe(JSON.stringify({ reviewId: 'r-hub-1', decisionJson }))
    expect(decisionJson).toBe('{"type":"review_decision","reviewId":"r-hub-1","decision":"CONTINUE"}')
    producer.ws.close()
  })

  it('AgentEnsemble\'s viz deciding on /ws goes through the same first-decision-wins rule', async () => {
    const v = await vigil()
    const producer = connect(`${v.ws}/ingress`)
    await producer.opened
    producer.ws.send(envelope('svc-a-1', 1, REQUEST))
    await waitFor(() => v.service.reviews.pending()[0], 'the hub gate')
    const viz = connect(`${v.ws}/ws`, 'http://localhost:5173')
    await viz.opened
    viz.ws.send('{"type":"review_decision","reviewId":"r-hub-1","decision":"typo"}')
    viz.ws.send('{"type":"review_decision","reviewId":"r-hub-1","decision":"EXIT_EARLY"}')
    await waitFor(() => producer.frames.length === 1, 'the forwarded decision')
    expect(JSON.parse(producer.frames[0]!)).toMatchObject({ reviewId: 'r-hub-1', decisionJson: '{"type":"review_decision","reviewId":"r-hub-1","decision":"EXIT_EARLY"}' })
    expect(v.service.reviews.get('r-hub-1').outcome).toMatchObject({ decision: 'EXIT_EARLY', surface: 'hub-browser' })
    expect((await call(v, 'POST', '/api/reviews/r-hub-1', { decision: 'CONTINUE' })).status).toBe(409)
    await new Promise((r) => setTimeout(r, 50))
    expect(producer.frames).toHaveLength(1)
    viz.ws.close()
    producer.ws.close()
  })

  it('a producer that left: gate marked disconnected; HTTP-only producers cannot be answered', async () => {
    const v = await vigil()
    const producer = connect(`${v.ws}/ingress`)
    await producer.opened
    producer.ws.send(envelope('svc-a-1', 1, REQUEST))
    await waitFor(() => v.service.reviews.pending()[0], 'the hub gate')
    producer.ws.close()
    await waitFor(() => v.service.reviews.pending()[0]?.connected === false || undefined, 'disconnected', 3000)
    expect((await call(v, 'POST', '/api/reviews/r-hub-1', { decision: 'CONTINUE' })).status).toBe(503)

    const posted = await fetch(`${v.base}/api/hub/ingress`, { method: 'POST', body: envelope('http-only', 1, { ...REQUEST, reviewId: 'r-http' }) })
    expect(posted.status).toBe(202)
    await waitFor(() => v.service.reviews.pending().find((g) => g.id === 'r-http' && !g.connected), 'the HTTP producer\'s gate, unreachable', 3000)
  })

  it('a hub gate that times out says so in its run, which AgentEnsemble producers never do', async () => {
    const v = await vigil()
    const producer = connect(`${v.ws}/ingress`)
    await producer.opened
    producer.ws.send(envelope('svc-a-1', 1, { type: 'ensemble_started', ensembleId: 'e1', startedAt: formatInstant(Date.now()), totalTasks: 1, workflow: 'SEQUENTIAL' }))
    producer.ws.send(envelope('svc-a-1', 2, { ...REQUEST, timeoutMs: 200, onTimeout: 'CONTINUE' }))
    const gate = await waitFor(() => v.service.reviews.pending()[0], 'the hub gate')
    const done = await v.service.reviews.waitFor(gate.id)
    expect(done).toMatchObject({ status: 'timed-out', outcome: { decision: 'CONTINUE', surface: 'timeout' } })
    const run = await v.service.getRun(gate.runId!)
    expect(run.pendingReviews).toEqual([])
    expect(run.recentEvents.map((e) => e.type)).toContain('review_timed_out')
    expect(producer.frames).toEqual([])
    producer.ws.close()
  })
})

describe('history in Vigil\'s DuckDB', () => {
  it('decided gates survive a restart; recorded requests are not raised again', async () => {
    const first = await startReviewVigil({ record: true })
    const dataDir = first.dir
    const producer = connect(`${first.ws}/ingress`)
    await producer.opened
    producer.ws.send(envelope('svc-a-1', 1, REQUEST))
    await waitFor(() => first.service.reviews.pending()[0], 'the hub gate')
    await first.service.decideReview('r-hub-1', 'EDIT', 'new text', 'desktop-inbox')
    const api = await call(first, 'POST', '/api/reviews?wait=true', { taskDescription: 'x', taskOutput: 'y', timeoutMs: 100, onTimeout: 'FAIL' })
    expect(api.body.status).toBe('TIMED_OUT')
    producer.ws.close()
    await first.server.close()
    await first.service.close()

    const second = await vigil({ record: true, dataDir })
    expect(second.service.reviews.pending()).toEqual([])
    const history = await second.service.getReviewHistory(0, 10)
    expect(history.total).toBe(2)
    expect(history.rows.map((g) => [g.status, g.outcome?.decision, g.outcome?.surface])).toEqual([
      ['timed-out', 'FAIL', 'timeout'],
      // vigil serve has no desktop window: the surface a caller claims is not taken.
      ['decided', 'EDIT', 'browser-inbox']
    ])
    expect(history.rows[1]).toMatchObject({ id: 'r-hub-1', source: { kind: 'hub', producerId: 'svc-a-1' }, outcome: { revisedOutput: 'new text' } })
    expect((await second.service.getReview('r-hub-1')).status).toBe('decided')
    expect((await second.service.listReviews()).historyPersisted).toBe(true)
  })
})
