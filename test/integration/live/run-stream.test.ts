// Vigil's embedded-dashboard endpoint per run (src/main/live/run-stream.ts) through a real VigilService and
// its server: a client that behaves as AgentEnsemble's viz /live page (test/integration/live/viz-client.ts)
// checks what the viz's 7 e2e assertions check (spec §6.2), and the review panel round trip.
import { afterEach, describe, expect, it } from 'vitest'
import { startReviewVigil, type ReviewVigil } from '../reviews/review-helpers'
import { connect, waitFor, type TestClient } from './helpers'
import { flowDag, headerProgress, openViz } from './viz-client'
import { runStreamPath } from '../../../src/shared/model/live'

const T0 = Date.parse('2026-03-05T14:00:00Z')
const at = (s: number) => new Date(T0 + s * 1000).toISOString()

const TASK1 = 'Research AI adoption trends for 2025'
const TASK2 = 'Write a blog post summarising the AI research findings'

/** A publisher on Vigil's /ingress, as AgentEnsemble's WebSocket publisher (no Origin). */
class Publisher {
  readonly client: TestClient
  private seq = 0
  constructor(
    v: ReviewVigil,
    readonly producerId: string
  ) {
    this.client = connect(`${v.ws}/ingress?producerId=${encodeURIComponent(producerId)}`)
  }
  send(message: Record<string, unknown>, s = this.seq): void {
    this.seq++
    this.client.ws.send(JSON.stringify({ type: 'event', producer: { producerId: this.producerId, serviceName: 'svc' }, sequence: this.seq, receivedAt: at(s), message }))
  }
}

function sequentialRun(p: Publisher, ensembleId: string): void {
  p.send({ type: 'ensemble_started', ensembleId, startedAt: at(0), totalTasks: 2, workflow: 'SEQUENTIAL' })
  const tasks: Array<[number, string, string]> = [
    [1, TASK1, 'Researcher'],
    [2, TASK2, 'Writer']
  ]
  for (const [i, desc, role] of tasks) {
    p.send({ type: 'task_started', taskIndex: i, totalTasks: 2, taskDescription: desc, agentRole: role, startedAt: at(i) })
    p.send({ type: 'task_input', taskIndex: i, taskDescription: desc, expectedOutput: null, agentRole: role, agentGoal: null, agentBackground: null, toolNames: [], assembledContext: '## Task', sentAt: at(i) })
    p.send({ type: 'llm_iteration_started', agentRole: role, taskDescription: desc, iterationIndex: 0, messages: [{ role: 'user', content: desc, toolCalls: null, toolName: null }], totalMessageCount: 1 })
    p.send({ type: 'llm_iteration_completed', agentRole: role, taskDescription: desc, iterationIndex: 0, responseType: 'FINAL_ANSWER', responseText: 'done', inputTokens: 10, outputTokens: 5, latencyMs: 12 })
    p.send({ type: 'tool_called', agentRole: role, taskIndex: i, toolName: 'search', durationMs: 5, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'ok', structuredResult: null })
    p.send({ type: 'task_completed', taskIndex: i, totalTasks: 2, taskDescription: desc, agentRole: role, completedAt: at(i + 0.5), durationMs: 500, tokenCount: -1, toolCallCount: 1 })
  }
  p.send({ type: 'ensemble_completed', ensembleId, completedAt: at(3), durationMs: 3000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 2 })
}

let v: ReviewVigil | null = null
const clients: Array<{ ws: { terminate(): void } }> = []
function track<T extends { ws: { terminate(): void } }>(c: T): T {
  clients.push(c)
  return c
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate()
  await v?.close()
  v = null
})

async function runIdOf(vigil: ReviewVigil, ensembleId: string): Promise<string> {
  return waitFor(() => vigil.service.registry.tracker.listRuns().find((r) => r.ensembleId === ensembleId && r.status !== 'running')?.runId, `run ${ensembleId} finished`, 5000)
}

/**
 * A viz joining once the run's end is durable. Vigil's run pages see an envelope before the journal's
 * fdatasync, so the tracker may call the run ended while the endpoint (which streams only what is
 * durable) is a few ms behind: a viz joining then gets the end as live frames. This test is about the
 * join after the run, so it joins again until the hello holds the end.
 */
async function joinOnceDurable(url: string): Promise<ReturnType<typeof openViz>> {
  for (let attempt = 0; ; attempt++) {
    const viz = track(openViz(url))
    await viz.opened
    await waitFor(() => viz.frames[0], 'the hello')
    const trace = (viz.frames[0] as { snapshotTrace?: Array<{ type: string }> }).snapshotTrace ?? []
    if (trace.at(-1)?.type === 'ensemble_completed' || attempt >= 100) return viz
    viz.ws.terminate()
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('run endpoint (/ws?run=, /ws?producer=) speaks the embedded protocol', () => {
  it('a viz joining after the run sees the header, 2 completed task bars, "2 / 2 tasks" and the Flow (§6.2 assertions 1–6)', async () => {
    v = await startReviewVigil({ record: true })
    const p = new Publisher(v, 'svc-a-pod-1')
    clients.push(p.client)
    await p.client.opened
    sequentialRun(p, 'e-seq')
    const runId = await runIdOf(v, 'e-seq')
    const run = await v.service.getRun(runId)
    expect(run.embeddedPath).toBe(runStreamPath(runId))
    expect(run.embeddedFollowPath).toBe('/ws?producer=svc-a-pod-1')

    for (const path of [run.embeddedPath as string, run.embeddedFollowPath as string]) {
      const url = `${v.ws}${path}`
      const viz = await joinOnceDurable(url)
      // 1. Connected (the hello arrived first, unsolicited).
      await waitFor(() => viz.state.connectionStatus === 'connected', 'connected')
      expect(viz.frames[0]?.type).toBe('hello')
      const hello = viz.frames[0] as Record<string, unknown>
      expect(hello.ensembleId).toBe('e-seq')
      expect(hello.startedAt).toBe(at(0))
      // Persistent messages only, starting at the run's ensemble_started (§1.2).
      const types = (hello.snapshotTrace as Array<{ type: string }>).map((m) => m.type)
      expect(types[0]).toBe('ensemble_started')
      expect(types).not.toContain('llm_iteration_started')
      expect(types.at(-1)).toBe('ensemble_completed')
      expect(hello.recentIterations).toHaveLength(2)
      // 2. Header: ensemble id and workflow.
      expect(viz.state.ensembleId?.slice(0, 8)).toBe('e-seq')
      expect(viz.state.workflow).toBe('SEQUENTIAL')
      // 3. Progress.
      expect(headerProgress(viz.state)).toBe('2 / 2 tasks')
      // 4 and 5. Two task bars, both completed.
      expect(viz.state.tasks.map((t) => t.status)).toEqual(['completed', 'completed'])
      expect(viz.state.tasks.map((t) => t.toolCalls)).toEqual([1, 1])
      // 6. Flow: a chain of 2 nodes and a status bar naming the workflow.
      const dag = flowDag(viz.state)
      expect(dag.nodes).toEqual(['live-task-1', 'live-task-2'])
      expect(dag.edges).toEqual([['live-task-1', 'live-task-2']])
      expect(dag.statusBar).toContain('SEQUENTIAL')
      expect(viz.state.ensembleComplete).toBe(true)
      expect(Object.keys(viz.state.conversations)).toHaveLength(2)
      viz.ws.close()
    }
    // /api/status counts the endpoint's clients (the viz e2e review server polls "clients").
  })

  it('live frames arrive bare, ping gets pong, junk is ignored, a second run on the producer is followed', async () => {
    v = await startReviewVigil()
    const viz = track(openViz(`${v.ws}/ws?producer=live-1`))
    await viz.opened
    await waitFor(() => viz.frames.length >= 1, 'hello')
    expect(viz.frames[0]).toEqual({ type: 'hello' })
    const p = new Publisher(v, 'live-1')
    clients.push(p.client)
    await p.client.opened
    sequentialRun(p, 'e-live-1')
    await waitFor(() => viz.state.ensembleComplete, 'run 1 complete')
    expect(headerProgress(viz.state)).toBe('2 / 2 tasks')
    // Bare frames (no envelope), each its own message.
    expect(viz.frames.some((f) => f.type === 'event')).toBe(false)
    expect(viz.frames.filter((f) => f.type === 'token')).toHaveLength(0)
    expect(viz.frames.some((f) => f.type === 'llm_iteration_started')).toBe(true)
    viz.send('not json')
    viz.send('{"type":"PING"}')
    viz.send('{"type":"ping"}')
    await waitFor(() => viz.frames.some((f) => f.type === 'pong'), 'pong')
    // A new run on the same producer: the viz archives the first and shows the second.
    sequentialRun(p, 'e-live-2')
    await waitFor(() => viz.state.ensembleId === 'e-live-2' && viz.state.ensembleComplete, 'run 2 complete')
    expect(viz.state.completedRuns.map((r) => r.ensembleId)).toEqual(['e-live-1'])
    // A client on run 1 only sees run 1.
    const run1 = await runIdOf(v, 'e-live-1')
    const only1 = track(openViz(`${v.ws}${runStreamPath(run1)}`))
    await waitFor(() => only1.state.connectionStatus === 'connected', 'run-1 hello')
    expect(only1.state.ensembleId).toBe('e-live-1')
    expect(headerProgress(only1.state)).toBe('2 / 2 tasks')
    const status = (await (await fetch(`${v.base}/api/status`)).json()) as { clients: number; runStream: { clients: number; runs: number; snapshotBytes: number } }
    expect(status.clients).toBeGreaterThanOrEqual(2)
    expect(status.runStream.clients).toBe(2)
    expect(status.runStream.runs).toBe(2)
    expect(status.runStream.snapshotBytes).toBeGreaterThan(0)
  })

  it('review panel round trip: gate shown, Approve reaches the agent, other clients are told, "1 / 1 tasks" (§6.2 assertion 7)', async () => {
    v = await startReviewVigil({ record: true })
    const p = new Publisher(v, 'rev-1')
    clients.push(p.client)
    await p.client.opened
    const viz = track(openViz(`${v.ws}/ws?producer=rev-1`))
    const other = track(openViz(`${v.ws}/ws?producer=rev-1`))
    await Promise.all([viz.opened, other.opened])
    await waitFor(() => viz.state.connectionStatus === 'connected' && other.state.connectionStatus === 'connected', 'both connected')
    const desc = 'Draft a press release for the AgentEnsemble v3.0 product launch'
    p.send({ type: 'ensemble_started', ensembleId: 'e-rev', startedAt: at(0), totalTasks: 1, workflow: 'SEQUENTIAL' })
    p.send({ type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: desc, agentRole: 'Writer', startedAt: at(1) })
    p.send({
      type: 'review_requested',
      reviewId: 'r-1',
      taskDescription: desc,
      taskOutput: 'FOR IMMEDIATE RELEASE: AgentEnsemble announces v3.0, the fastest multi-agent framework available for Java developers.',
      timing: 'AFTER_EXECUTION',
      timeoutMs: 300000,
      onTimeout: 'EXIT_EARLY'
    })
    await waitFor(() => viz.state.pendingReviews.length === 1 && other.state.pendingReviews.length === 1, 'review panels')
    const panel = viz.state.pendingReviews[0]!
    expect(panel.taskDescription).toContain('press release')
    expect(panel.taskOutput).toContain('AgentEnsemble announces v3.0')
    expect(panel.timing.split('_')[0]).toBe('AFTER')
    expect(panel.timeoutMs).toBe(300000)

    // A viz opened now still sees the gate (WebDashboard's hello would not: an addition).
    const late = track(openViz(`${v.ws}/ws?producer=rev-1`))
    await waitFor(() => late.state.pendingReviews.length === 1, 'late joiner sees the pending gate')
    expect(late.state.pendingReviews[0]!.timeoutMs).toBeLessThanOrEqual(300000)

    viz.decide('r-1', 'CONTINUE')
    // The agent gets the hub's review forward frame.
    const forward = await waitFor(() => p.client.frames.map((f) => JSON.parse(f) as { reviewId?: string; decisionJson?: string }).find((f) => f.reviewId === 'r-1'), 'decision forwarded')
    expect(JSON.parse(forward.decisionJson as string)).toMatchObject({ type: 'review_decision', reviewId: 'r-1', decision: 'CONTINUE' })
    // The other clients' panels close (review_timed_out for that id is what their reducer understands).
    await waitFor(() => other.state.pendingReviews.length === 0 && late.state.pendingReviews.length === 0, 'other panels closed')
    expect(other.frames.find((f) => f.type === 'review_timed_out')).toEqual({ type: 'review_timed_out', reviewId: 'r-1', action: 'CONTINUE' })
    const gate = v.service.reviews.state().recent.find((g) => g.reviewId === 'r-1')
    expect(gate?.status).toBe('decided')
    expect(gate?.outcome?.surface).toBe('hub-browser')
    // A second decision (other tab) changes nothing: first decision wins.
    other.decide('r-1', 'EXIT_EARLY')
    p.send({ type: 'task_completed', taskIndex: 1, totalTasks: 1, taskDescription: desc, agentRole: 'Writer', completedAt: at(2), durationMs: 1000, tokenCount: -1, toolCallCount: 0 })
    p.send({ type: 'ensemble_completed', ensembleId: 'e-rev', completedAt: at(3), durationMs: 3000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 0 })
    await waitFor(() => headerProgress(viz.state) === '1 / 1 tasks', '1 / 1 tasks')
    expect(p.client.frames.filter((f) => f.includes('"r-1"'))).toHaveLength(1)
    expect(v.service.reviews.state().recent.find((g) => g.reviewId === 'r-1')?.outcome?.decision).toBe('CONTINUE')
  })

  it('a gate decided in Vigil closes the viz panel on the run endpoint and on the hub /ws', async () => {
    v = await startReviewVigil()
    const p = new Publisher(v, 'rev-2')
    clients.push(p.client)
    await p.client.opened
    const viz = track(openViz(`${v.ws}/ws?producer=rev-2`))
    const hubBrowser = track(connect(`${v.ws}/ws`, 'http://localhost:5173'))
    await Promise.all([viz.opened, hubBrowser.opened])
    p.send({ type: 'ensemble_started', ensembleId: 'e-rev2', startedAt: at(0), totalTasks: 1, workflow: 'SEQUENTIAL' })
    p.send({ type: 'review_requested', reviewId: 'r-2', taskDescription: 'Ship?', taskOutput: '', timing: 'BEFORE_EXECUTION', timeoutMs: 0, onTimeout: 'CONTINUE' })
    await waitFor(() => viz.state.pendingReviews.length === 1, 'panel')
    const gate = await waitFor(() => v!.service.reviews.pending().find((g) => g.reviewId === 'r-2'), 'gate raised')
    await v.service.decideReview(gate.id, 'EXIT_EARLY')
    await waitFor(() => viz.state.pendingReviews.length === 0, 'run endpoint panel closed')
    const closing = await waitFor(
      () => hubBrowser.frames.map((f) => JSON.parse(f) as Record<string, unknown>).find((f) => f.type === 'event' && (f.message as { type?: string }).type === 'review_timed_out'),
      'hub /ws told'
    )
    expect(closing).toMatchObject({ producer: { producerId: 'rev-2' }, message: { type: 'review_timed_out', reviewId: 'r-2', action: 'EXIT_EARLY' } })
    // A hub browser joining later does not see the gate as pending: the closing frame is in the late-join log.
    const lateHub = track(connect(`${v.ws}/ws`, 'http://localhost:5173'))
    const hello = await waitFor(() => lateHub.frames[0], 'hub_hello')
    const trace = (JSON.parse(hello) as { snapshotTrace: Array<{ message: { type: string } }> }).snapshotTrace.map((e) => e.message.type)
    expect(trace.lastIndexOf('review_timed_out')).toBeGreaterThan(trace.lastIndexOf('review_requested'))
    // Vigil's own run view did not take the closing frame for a timeout of the run.
    const run = v.service.registry.tracker.listRuns().find((r) => r.ensembleId === 'e-rev2')
    expect(run?.status).toBe('running')
  })

  it('refuses a foreign Origin as /ws does (1008, no hello) and leaves a plain /ws to the hub', async () => {
    v = await startReviewVigil()
    const evil = track(connect(`${v.ws}/ws?run=x`, 'http://evil.example'))
    expect(await evil.closed).toEqual({ code: 1008, reason: 'Origin not allowed' })
    expect(evil.frames).toEqual([])
    const unknownRun = track(openViz(`${v.ws}/ws?run=${encodeURIComponent('hub:nobody:e:1')}`))
    await waitFor(() => unknownRun.frames.length === 1, 'hello')
    expect(unknownRun.frames[0]).toEqual({ type: 'hello' })
    const hub = track(connect(`${v.ws}/ws`, 'http://localhost:5173'))
    const first = await waitFor(() => hub.frames[0], 'hub hello')
    expect(JSON.parse(first).type).toBe('hub_hello')
  })
})
