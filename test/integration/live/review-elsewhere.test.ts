// Issue 16 items 1 and 2 on an attached dashboard. A gate answered in another client (AgentEnsemble's viz on the same embedded dashboard)
// is recorded as decided by "another client" when the stream shows the outcome, not as cancelled. A real
// VigilService attached to a real WebSocket server that speaks the embedded protocol.
import { afterEach, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { startReviewVigil, type ReviewVigil } from '../reviews/review-helpers'
import { startServer, waitFor, type TestServer } from './helpers'
import { headerProgress, openViz } from './viz-client'

let v: ReviewVigil | null = null
let dash: TestServer | null = null

afterEach(async () => {
  await v?.close()
  await dash?.close()
  v = null
  dash = null
})

const send = (ws: WebSocket, m: Record<string, unknown>) => ws.send(JSON.stringify(m))
const gate = (reviewId: string, timing: string, taskDescription: string) => ({
  type: 'review_requested',
  reviewId,
  taskDescription,
  taskOutput: timing === 'AFTER_EXECUTION' ? 'out' : '',
  timing,
  timeoutMs: 300000,
  onTimeout: 'EXIT_EARLY'
})

async function attached(): Promise<WebSocket> {
  dash = await startServer((ws) => send(ws, { type: 'hello' }))
  v = await startReviewVigil()
  await v.service.addAttachment(dash.url)
  return waitFor(() => dash?.connections[0], 'Vigil attached')
}

function outcomeOf(reviewId: string) {
  return waitFor(() => v?.service.reviews.state().recent.find((g) => g.reviewId === reviewId), `gate ${reviewId} resolved`, 3000)
}

describe('gates settled in another client', () => {
  it('AFTER gate: the task completing means it was approved elsewhere', async () => {
    const ws = await attached()
    send(ws, { type: 'ensemble_started', ensembleId: 'e1', startedAt: '2026-03-05T14:00:00Z', totalTasks: 2, workflow: 'SEQUENTIAL' })
    send(ws, { type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Draft', agentRole: 'W', startedAt: '2026-03-05T14:00:01Z' })
    send(ws, gate('r-after', 'AFTER_EXECUTION', 'Draft'))
    await waitFor(() => v?.service.reviews.pending().find((g) => g.reviewId === 'r-after'), 'gate raised')
    // An unrelated task finishing says nothing about this gate.
    send(ws, { type: 'task_completed', taskIndex: 9, totalTasks: 2, taskDescription: 'Other', agentRole: 'X', completedAt: '2026-03-05T14:00:02Z', durationMs: 1, tokenCount: -1, toolCallCount: 0 })
    send(ws, { type: 'task_completed', taskIndex: 1, totalTasks: 2, taskDescription: 'Draft', agentRole: 'W', completedAt: '2026-03-05T14:00:03Z', durationMs: 2000, tokenCount: -1, toolCallCount: 0 })
    const g = await outcomeOf('r-after')
    expect(g.status).toBe('decided')
    expect(g.outcome).toMatchObject({ decision: 'CONTINUE', decidedBy: 'another client', surface: 'agent' })
  })

  it('BEFORE gate: the task starting means it was approved elsewhere', async () => {
    const ws = await attached()
    send(ws, { type: 'ensemble_started', ensembleId: 'e2', startedAt: '2026-03-05T14:00:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' })
    send(ws, gate('r-before', 'BEFORE_EXECUTION', 'Plan'))
    await waitFor(() => v?.service.reviews.pending().find((g) => g.reviewId === 'r-before'), 'gate raised')
    send(ws, { type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: 'Plan', agentRole: 'P', startedAt: '2026-03-05T14:00:01Z' })
    expect((await outcomeOf('r-before')).outcome).toMatchObject({ decision: 'CONTINUE', decidedBy: 'another client' })
  })

  it('a run ending USER_EXIT_EARLY means exit early was chosen elsewhere; a run ending ERROR stays "closed"', async () => {
    const ws = await attached()
    send(ws, { type: 'ensemble_started', ensembleId: 'e3', startedAt: '2026-03-05T14:00:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' })
    send(ws, gate('r-exit', 'AFTER_EXECUTION', 'Draft'))
    await waitFor(() => v?.service.reviews.pending().find((g) => g.reviewId === 'r-exit'), 'gate raised')
    send(ws, { type: 'ensemble_completed', ensembleId: 'e3', completedAt: '2026-03-05T14:00:05Z', durationMs: 5000, exitReason: 'USER_EXIT_EARLY', totalTokens: -1, totalToolCalls: 0 })
    const g = await outcomeOf('r-exit')
    expect(g.status).toBe('decided')
    expect(g.outcome).toMatchObject({ decision: 'EXIT_EARLY', decidedBy: 'another client' })

    send(ws, { type: 'ensemble_started', ensembleId: 'e4', startedAt: '2026-03-05T14:01:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' })
    send(ws, gate('r-err', 'AFTER_EXECUTION', 'Draft'))
    await waitFor(() => v?.service.reviews.pending().find((g) => g.reviewId === 'r-err'), 'gate raised')
    send(ws, { type: 'ensemble_completed', ensembleId: 'e4', completedAt: '2026-03-05T14:01:05Z', durationMs: 5000, exitReason: 'ERROR', totalTokens: -1, totalToolCalls: 0 })
    expect((await outcomeOf('r-err')).status).toBe('cancelled')
  })

  it('a gate Vigil decided is not re-recorded when the task then completes', async () => {
    const ws = await attached()
    const decisions: string[] = []
    ws.on('message', (d) => decisions.push(d.toString()))
    send(ws, { type: 'ensemble_started', ensembleId: 'e5', startedAt: '2026-03-05T14:00:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' })
    send(ws, gate('r-own', 'AFTER_EXECUTION', 'Draft'))
    const pending = await waitFor(() => v?.service.reviews.pending().find((g) => g.reviewId === 'r-own'), 'gate raised')
    await v!.service.decideReview(pending.id, 'EXIT_EARLY')
    await waitFor(() => decisions.find((d) => d.includes('r-own')), 'decision delivered')
    send(ws, { type: 'task_completed', taskIndex: 1, totalTasks: 1, taskDescription: 'Draft', agentRole: 'W', completedAt: '2026-03-05T14:00:03Z', durationMs: 2000, tokenCount: -1, toolCallCount: 0 })
    await new Promise((r) => setTimeout(r, 100))
    const all = v!.service.reviews.state().recent.filter((g) => g.reviewId === 'r-own')
    expect(all).toHaveLength(1)
    expect(all[0]?.outcome?.decision).toBe('EXIT_EARLY')
    expect(all[0]?.outcome?.decidedBy).not.toBe('another client')
  })
})

describe('run endpoint on an attached dashboard', () => {
  it('an attached dashboard coming back: clients following it get a fresh hello with what happened meanwhile', async () => {
    let round = 0
    const started = { type: 'ensemble_started', ensembleId: 'e-back', startedAt: '2026-03-05T14:00:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' }
    const task = { type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: 'T', agentRole: 'R', startedAt: '2026-03-05T14:00:01Z' }
    const done = { type: 'task_completed', taskIndex: 1, totalTasks: 1, taskDescription: 'T', agentRole: 'R', completedAt: '2026-03-05T14:00:02Z', durationMs: 1000, tokenCount: -1, toolCallCount: 0 }
    dash = await startServer((ws) => {
      round++
      send(ws, { type: 'hello', ensembleId: 'e-back', snapshotTrace: round === 1 ? [started, task] : [started, task, done] })
    })
    v = await startReviewVigil()
    const source = await v.service.addAttachment(dash.url)
    await waitFor(() => v?.service.registry.tracker.listRuns().find((r) => r.ensembleId === 'e-back'), 'run seen')
    const viz = openViz(`${v.ws}/ws?source=${encodeURIComponent(source.id)}`)
    try {
      await waitFor(() => headerProgress(viz.state) === '0 / 1 tasks', 'first hello')
      // The dashboard drops Vigil; Vigil reconnects and gets a hello with the task done meanwhile.
      for (const c of dash.connections) c.terminate()
      await waitFor(() => headerProgress(viz.state) === '1 / 1 tasks', 'fresh hello after the reconnect', 10_000)
      expect(viz.frames.filter((f) => f.type === 'hello').length).toBeGreaterThanOrEqual(2)
    } finally {
      viz.ws.terminate()
    }
  })
})
