import { afterEach, describe, expect, it } from 'vitest'
import { Attachment } from '../../../src/main/live/attachment'
import type { AttachmentStatus } from '../../../src/main/live/attachment'
import { RunTracker } from '../../../src/main/live/run-tracker'
import { EnsembleSimulator, finishedSequentialRunScript } from '../../../src/main/demo/ensemble-simulator'
import { formatInstant, serializeServerMessage } from '../../../src/shared/protocol/agentensemble'
import type { DashboardMessage, EventEnvelope, ServerMessage } from '../../../src/shared/protocol/agentensemble'
import { startServer, timeouts, waitFor } from './helpers'
import type { TestServer } from './helpers'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function attach(url: string, opts: Partial<ConstructorParameters<typeof Attachment>[0]> = {}) {
  const statuses: AttachmentStatus[] = []
  const tracker = new RunTracker({ onRunUpdated: () => undefined })
  const attachment = new Attachment({
    sourceId: 'src',
    url,
    tracker,
    onStatus: (s) => statuses.push(s),
    backoffMs: [50],
    ...opts
  })
  cleanups.push(() => attachment.close())
  attachment.start()
  return { attachment, tracker, statuses }
}

async function server(onConnection: Parameters<typeof startServer>[0], opts?: Parameters<typeof startServer>[1]): Promise<TestServer> {
  const s = await startServer(onConnection, opts)
  cleanups.push(() => s.close())
  return s
}

async function simulator(opts: ConstructorParameters<typeof EnsembleSimulator>[0]) {
  const sim = new EnsembleSimulator(opts)
  const { url } = await sim.start()
  cleanups.push(() => sim.stop())
  return { sim, url }
}

const send = (ws: { send(text: string): void }, m: ServerMessage) => ws.send(serializeServerMessage(m))

describe('Attachment against an embedded dashboard', () => {
  it('detects embedded mode and rebuilds a finished run from the late-join hello', async () => {
    const { url } = await simulator({ script: finishedSequentialRunScript('e1') })
    const { attachment, tracker } = attach(url)
    const run = await waitFor(() => tracker.listRuns()[0], 'a run')
    expect(run).toMatchObject({ ensembleId: 'e1', status: 'completed', completedTasks: 2, totalTasks: 2 })
    expect(attachment.status()).toMatchObject({ state: 'connected', mode: 'embedded', problem: null, nextRetryAt: null })
    expect(attachment.status().diagnostics).toEqual({ frames: 1, malformed: 0, unknown: 0, oversize: 0 })
    expect(attachment.status().lastFrameAt).not.toBeNull()
  })

  it('counts malformed and unknown frames, drops them and keeps the socket open', async () => {
    const s = await server((ws) => {
      send(ws, { type: 'hello' })
      ws.send('not json')
      ws.send('{"type":"PING"}')
      ws.send('{"type":"run_ack","status":"ACCEPTED"}')
      ws.send(Buffer.from([1, 2, 3]), { binary: true })
      ws.send('[1,2]')
      send(ws, { type: 'ensemble_started', ensembleId: 'e1', startedAt: null, totalTasks: 1, workflow: 'SEQUENTIAL' })
    })
    const { attachment, tracker } = attach(s.url)
    await waitFor(() => tracker.listRuns()[0], 'the run after the bad frames')
    expect(attachment.status().diagnostics).toEqual({ frames: 7, malformed: 3, unknown: 2, oversize: 0 })
    expect(attachment.status().state).toBe('connected')
    expect(s.connections).toHaveLength(1)
  })

  it('reports oversize frames and reconnects', async () => {
    const s = await server((ws) => {
      send(ws, { type: 'hello' })
      ws.send('x'.repeat(2000))
    })
    const { attachment, statuses } = attach(s.url, { maxFrameBytes: 1000 })
    await waitFor(() => attachment.status().diagnostics.oversize > 0, 'an oversize frame')
    // Read the history, not the current status: a quick reconnect may already have cleared the problem.
    await waitFor(() => statuses.some((st) => st.problem?.code === 'frame-too-large'), 'the oversize problem reported')
    await waitFor(() => s.connections.length >= 2, 'a reconnect')
  })

  it('sends review decisions and clears the pending review', async () => {
    const { sim, url } = await simulator({ paceMs: 5, loop: false, reviewTimeoutMs: 0 })
    const { attachment, tracker } = attach(url)
    const pending = await waitFor(() => {
      const run = tracker.listRuns()[0]
      return run && tracker.getRun(run.runId)?.pendingReviews[0]
    }, 'a pending review')
    expect(pending).toMatchObject({ timing: 'AFTER_EXECUTION', expiresAt: null, onTimeout: 'CONTINUE' })
    expect(attachment.sendReviewDecision(pending.reviewId, 'EDIT', 'Shorter, please')).toBe(true)
    const runId = tracker.listRuns()[0]!.runId
    expect(tracker.getRun(runId)!.pendingReviews).toEqual([])
    const done = await waitFor(() => tracker.listRuns().find((r) => r.status !== 'running'), 'the run to end', 3000)
    expect(done).toMatchObject({ status: 'completed', completedTasks: 3, totalTasks: 3, exitReason: 'COMPLETED' })
    expect(sim.decisions).toEqual([{ reviewId: pending.reviewId, decision: 'EDIT', revisedOutput: 'Shorter, please' }])
  })

  it('refuses to send while disconnected or with an invalid decision', async () => {
    const s = await server((ws) => send(ws, { type: 'hello' }))
    const { attachment } = attach(s.url)
    expect(attachment.sendReviewDecision('r1', 'CONTINUE')).toBe(false)
    await waitFor(() => attachment.status().mode === 'embedded', 'hello')
    expect(attachment.sendReviewDecision('r1', 'exit' as 'EXIT_EARLY')).toBe(false)
    expect(attachment.sendReviewDecision('', 'CONTINUE')).toBe(false)
    expect(attachment.sendReviewDecision('r1', 'CONTINUE')).toBe(true)
  })
})

describe('Attachment against a hub', () => {
  it('detects hub mode, replays envelopes per producer and follows live envelopes', async () => {
    const now = formatInstant(Date.now())
    const envelope = (producerId: string, sequence: number, message: DashboardMessage): EventEnvelope => ({
      type: 'event',
      producer: { producerId, serviceName: producerId.split('-')[0] },
      sequence,
      receivedAt: now,
      message
    })
    const started = (ensembleId: string): DashboardMessage => ({ type: 'ensemble_started', ensembleId, startedAt: now, totalTasks: 1, workflow: 'SEQUENTIAL' })
    const s = await server((ws) => {
      send(ws, {
        type: 'hub_hello',
        producers: [{ producerId: 'a-1' }, { producerId: 'b-1' }],
        snapshotTrace: [
          envelope('a-1', 1, started('ea')),
          envelope('b-1', 1, started('eb')),
          envelope('a-1', 2, { type: 'review_requested', reviewId: 'r1', taskDescription: 'Draft', taskOutput: 'x', timing: 'AFTER_EXECUTION', timeoutMs: 300000, onTimeout: 'EXIT_EARLY' })
        ]
      })
      send(ws, envelope('b-1', 2, { type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: 'T', agentRole: 'A', startedAt: now }))
    })
    const { attachment, tracker } = attach(s.url)
    await waitFor(() => tracker.listRuns().find((r) => r.producerId === 'b-1' && r.totalTasks === 1 && tracker.getRun(r.runId)!.tasks.length === 1), 'the live task')
    expect(attachment.status().mode).toBe('hub')
    const a = tracker.listRuns().find((r) => r.producerId === 'a-1')!
    expect(a.ensembleId).toBe('ea')
    expect(tracker.getRun(a.runId)!.pendingReviews.map((r) => r.reviewId)).toEqual(['r1'])
  })
})

describe('Attachment connection management', () => {
  it('explains a refused connection in user terms and keeps retrying', async () => {
    const s = await server(() => undefined)
    const url = s.url
    await s.close()
    const { attachment, statuses } = attach(url, { backoffMs: [30, 60] })
    await waitFor(() => statuses.filter((st) => st.state === 'reconnecting').length >= 2, 'two retries')
    const st = attachment.status()
    expect(st.state).toBe('reconnecting')
    expect(st.problem).toMatchObject({ code: 'connection-refused', message: `Connection refused at ${url}.` })
    expect(st.problem?.hint).toMatch(/Check that the agent is running and the URL/)
    // Set while waiting for the next attempt (null during the attempt itself).
    expect(statuses.some((x) => x.state === 'reconnecting' && x.nextRetryAt !== null)).toBe(true)
  })

  it('reconnects with the backoff after a server restart and replays the new hello', async () => {
    const hello = (id: string) => (ws: { send(t: string): void }) =>
      send(ws, { type: 'hello', ensembleId: id, snapshotTrace: [{ type: 'ensemble_started', ensembleId: id, startedAt: null, totalTasks: 1, workflow: 'SEQUENTIAL' }] })
    const first = await startServer(hello('e1'))
    const { attachment, tracker, statuses } = attach(first.url, { backoffMs: [40, 80] })
    await waitFor(() => tracker.listRuns()[0]?.ensembleId === 'e1', 'the first run')
    await first.close()
    await waitFor(() => attachment.status().state === 'reconnecting', 'reconnecting')
    expect(tracker.listRuns()[0]!.stale).toBe(true)
    await new Promise((r) => setTimeout(r, 100))
    const second = await server(hello('e2'), { port: first.port })
    await waitFor(() => tracker.listRuns()[0]?.ensembleId === 'e2', 'the run of the restarted server', 3000)
    expect(second.connections).toHaveLength(1)
    // The new snapshot replaces the old source state.
    expect(tracker.listRuns().map((r) => r.ensembleId)).toEqual(['e2'])
    expect(attachment.status()).toMatchObject({ state: 'connected', problem: null, nextRetryAt: null })
    expect(statuses.some((st) => st.nextRetryAt !== null)).toBe(true)
  })

  it('reconnects when the server goes silent (watchdog), even though the TCP connection stays up', async () => {
    // autoPong off: a stalled peer answers neither frames nor pings.
    const s = await server((ws) => send(ws, { type: 'hello' }), { autoPong: false })
    const { statuses } = attach(s.url, { watchdogMs: 150 })
    await waitFor(() => s.connections.length >= 2, 'a watchdog reconnect')
    const stalled = statuses.find((st) => st.problem?.code === 'stalled')
    expect(stalled?.problem?.message).toMatch(/No data from ws:\/\/127\.0\.0\.1:\d+\/ws for 150 ms/)
  })

  it('keeps a quiet but healthy connection alive with protocol pings', async () => {
    const s = await server((ws) => send(ws, { type: 'hub_hello' }))
    const { attachment } = attach(s.url, { watchdogMs: 150 })
    await waitFor(() => attachment.status().mode === 'hub', 'hub hello')
    await new Promise((r) => setTimeout(r, 500))
    expect(s.connections).toHaveLength(1)
    expect(attachment.status().state).toBe('connected')
  })

  it('explains an origin rejection (1008) and a wrong path (HTTP 404)', async () => {
    const { url } = await simulator({ script: [] })
    const evil = attach(url, { origin: 'http://localhost.evil.com' })
    await waitFor(() => evil.attachment.status().problem?.code === 'origin-rejected', 'origin rejection')
    expect(evil.attachment.status().problem?.message).toMatch(/Origin not allowed \(close code 1008\)/)
    const wrongPath = attach(url.replace('/ws', '/live'))
    await waitFor(() => wrongPath.attachment.status().problem?.code === 'http-error', 'http error')
    expect(wrongPath.attachment.status().problem?.message).toMatch(/HTTP 404/)
  })

  it('close() stops reconnecting and leaves no timers behind', async () => {
    // Earlier tests' sockets may still hold a timer: only ours must be gone afterwards.
    await new Promise((r) => setTimeout(r, 50))
    const before = timeouts()
    const s = await server((ws) => send(ws, { type: 'hello' }))
    const tracker = new RunTracker({ onRunUpdated: () => undefined })
    const attachment = new Attachment({ sourceId: 's', url: s.url, tracker, onStatus: () => undefined, backoffMs: [20], watchdogMs: 300 })
    attachment.start()
    await waitFor(() => attachment.status().mode === 'embedded', 'hello')
    await attachment.close()
    expect(attachment.status()).toMatchObject({ state: 'closed', nextRetryAt: null })
    await s.close()
    await new Promise((r) => setTimeout(r, 50))
    expect(timeouts()).toBeLessThanOrEqual(before)
    expect(s.connections).toHaveLength(1)

    // Closing while waiting to retry clears the retry timer too.
    const down = new Attachment({ sourceId: 't', url: s.url, tracker, onStatus: () => undefined, backoffMs: [10_000] })
    down.start()
    await waitFor(() => down.status().state === 'reconnecting', 'a scheduled retry')
    await down.close()
    expect(timeouts()).toBeLessThanOrEqual(before)
  })
})
