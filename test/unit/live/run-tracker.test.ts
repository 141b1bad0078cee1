import { describe, expect, it } from 'vitest'
import { RunTracker } from '../../../src/main/live/run-tracker'
import { EnsembleSimulator, finishedSequentialRunScript } from '../../../src/main/demo/ensemble-simulator'
import type { RunSummary } from '../../../src/shared/model/live'
import type { ServerMessage } from '../../../src/shared/protocol/agentensemble'

const T0 = '2026-03-05T14:00:00Z'
const at = (sec: number) => new Date(Date.parse(T0) + sec * 1000).toISOString()

function setup(opts: { now?: () => number; maxRecentEvents?: number; maxRuns?: number } = {}) {
  const updates: RunSummary[] = []
  const removed: string[] = []
  const tracker = new RunTracker({ onRunUpdated: (r) => updates.push(r), onRunRemoved: (id) => removed.push(id), ...opts })
  const feed = (messages: ServerMessage[], source = 'src', producer: string | null = null, sec = 0) =>
    messages.forEach((m) => tracker.ingest(source, producer, m, at(sec)))
  return { tracker, updates, removed, feed }
}

const started = (ensembleId: string | null, totalTasks = 2, workflow = 'SEQUENTIAL'): ServerMessage => ({
  type: 'ensemble_started',
  ensembleId,
  startedAt: T0,
  totalTasks,
  workflow
})
const taskStarted = (taskIndex: number, agentRole = 'Researcher'): ServerMessage => ({
  type: 'task_started',
  taskIndex,
  totalTasks: 2,
  taskDescription: `Task ${taskIndex}`,
  agentRole,
  startedAt: at(taskIndex)
})
const taskCompleted = (taskIndex: number): ServerMessage => ({
  type: 'task_completed',
  taskIndex,
  totalTasks: 2,
  taskDescription: `Task ${taskIndex}`,
  agentRole: 'Researcher',
  completedAt: at(taskIndex + 5),
  durationMs: 5000,
  tokenCount: -1,
  toolCallCount: 0
})
const completed = (ensembleId: string | null, exitReason = 'COMPLETED'): ServerMessage => ({
  type: 'ensemble_completed',
  ensembleId,
  completedAt: at(30),
  durationMs: 30000,
  exitReason,
  totalTokens: -1,
  totalToolCalls: 0
})
const tool = (taskIndex: number, agentRole: string | null, outcome: string | null = 'SUCCESS'): ServerMessage => ({
  type: 'tool_called',
  agentRole,
  taskIndex,
  toolName: 'web_search',
  durationMs: 10,
  outcome,
  toolArguments: null,
  toolResult: null,
  structuredResult: null
})
const review = (reviewId: string, timeoutMs: number): ServerMessage => ({
  type: 'review_requested',
  reviewId,
  taskDescription: 'Draft',
  taskOutput: 'Output',
  timing: 'AFTER_EXECUTION',
  timeoutMs,
  onTimeout: 'EXIT_EARLY'
})

describe('RunTracker late join', () => {
  it('rebuilds a finished sequential run from the hello snapshot: 2/2 tasks completed, run completed', () => {
    const { tracker, updates } = setup()
    const hello = new EnsembleSimulator({ script: finishedSequentialRunScript('e1') }).hello()
    expect(hello.snapshotTrace).toHaveLength(8)
    expect(hello.recentIterations).toHaveLength(2)
    tracker.ingest('src', null, hello, '2026-03-05T15:00:00Z')

    const runs = tracker.listRuns()
    expect(runs).toHaveLength(1)
    const run = runs[0]!
    expect(run).toMatchObject({
      sourceId: 'src',
      producerId: null,
      ensembleId: 'e1',
      workflow: 'SEQUENTIAL',
      status: 'completed',
      totalTasks: 2,
      completedTasks: 2,
      failedTasks: 0,
      startedAt: T0,
      endedAt: '2026-03-05T14:00:18.500Z',
      exitReason: 'COMPLETED'
    })
    // One coalesced notification for the whole replay.
    expect(updates).toHaveLength(1)
    const detail = tracker.getRun(run.runId)!
    expect(detail.tasks.map((t) => [t.taskIndex, t.agentRole, t.status, t.durationMs])).toEqual([
      [1, 'Researcher', 'completed', 8116],
      [2, 'Writer', 'completed', 8116]
    ])
    // Server times where the frame has them.
    expect(detail.tasks[0]!.startedAt).toBe('2026-03-05T14:00:00.004518Z')
    expect(detail.recentEvents.map((e) => e.type)).toContain('llm_iteration_completed')
  })

  it('gives the same run id when the same snapshot is replayed after a reconnect', () => {
    const { tracker, removed, updates } = setup()
    const hello = new EnsembleSimulator({ script: finishedSequentialRunScript('e1') }).hello()
    tracker.ingest('src', null, hello, at(100))
    const id = tracker.listRuns()[0]!.runId
    tracker.markSourceDisconnected('src')
    tracker.ingest('src', null, hello, at(200))
    expect(tracker.listRuns().map((r) => r.runId)).toEqual([id])
    expect(removed).toEqual([])
    expect(updates.at(-1)?.runId).toBe(id)
  })

  it('ends runs that were running when a reconnect finds a fresh server (empty hello)', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1)])
    tracker.markSourceDisconnected('src')
    expect(tracker.listRuns()[0]!.stale).toBe(true)
    tracker.ingest('src', null, { type: 'hello' }, at(60))
    const run = tracker.getRun(tracker.listRuns()[0]!.runId)!
    expect(run).toMatchObject({ status: 'aborted', exitReason: 'SERVER_RESTARTED', endedAt: at(60), stale: false })
    expect(run.tasks[0]!.status).toBe('aborted')
  })
})

describe('RunTracker run identity', () => {
  it('keeps consecutive ensembles on one source apart, even with a repeated ensembleId', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1), taskCompleted(1), completed('e1')])
    feed([started('e2', 1), taskStarted(1, 'Writer')])
    feed([completed('e2'), started('e2', 1)])
    const runs = tracker.listRuns()
    expect(runs).toHaveLength(3)
    expect(new Set(runs.map((r) => r.runId)).size).toBe(3)
    expect(runs.map((r) => [r.ensembleId, r.status])).toEqual([
      ['e2', 'running'],
      ['e2', 'completed'],
      ['e1', 'completed']
    ])
    expect(runs[1]!.completedTasks).toBe(0)
    expect(tracker.getRun(runs[2]!.runId)!.tasks).toHaveLength(1)
  })

  it('separates sources and hub producers', () => {
    const { tracker, feed } = setup()
    feed([started('e1')], 'a')
    feed([started('e1')], 'b')
    feed([started('e1')], 'hub', 'svc-1')
    feed([started('e1')], 'hub', 'svc-2')
    feed([taskStarted(1)], 'hub', 'svc-2')
    const runs = tracker.listRuns()
    expect(runs).toHaveLength(4)
    expect(runs.find((r) => r.producerId === 'svc-2')!.totalTasks).toBe(2)
    expect(tracker.getRun(runs.find((r) => r.producerId === 'svc-1')!.runId)!.tasks).toHaveLength(0)
  })

  it('unwraps hub envelopes and tracks producer presence', () => {
    const { tracker } = setup()
    const env = (message: ServerMessage) =>
      ({ type: 'event', producer: { producerId: 'svc-a' }, sequence: 1, receivedAt: at(5), message }) as ServerMessage
    tracker.ingest('hub', null, env(started('e1')), at(9))
    tracker.ingest('hub', null, env(tool(0, 'X')), at(9))
    const [run] = tracker.listRuns()
    expect(run).toMatchObject({ producerId: 'svc-a', ensembleId: 'e1', lastEventAt: at(5) })
    tracker.ingest('hub', null, { type: 'producer_left', producerId: 'svc-a', reason: 'disconnected' }, at(10))
    expect(tracker.listRuns()[0]!.stale).toBe(true)
    tracker.ingest('hub', null, { type: 'producer_joined', producer: { producerId: 'svc-a' } }, at(11))
    expect(tracker.listRuns()[0]!.stale).toBe(false)
  })

  it('lets a late ensemble_completed close the run it belongs to when ensembles overlap', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1), started('e2')])
    let [r2, r1] = tracker.listRuns()
    expect(r1).toMatchObject({ ensembleId: 'e1', status: 'aborted', exitReason: 'SUPERSEDED' })
    expect(r2).toMatchObject({ ensembleId: 'e2', status: 'running' })
    feed([completed('e1')])
    ;[r2, r1] = tracker.listRuns()
    expect(r1).toMatchObject({ ensembleId: 'e1', status: 'completed' })
    expect(r2).toMatchObject({ ensembleId: 'e2', status: 'running' })
  })
})

describe('RunTracker abnormal endings', () => {
  it('ends a still-running run as aborted when the source starts another, with its tasks aborted', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1), taskCompleted(1), taskStarted(2)])
    feed([started('e2')], 'src', null, 40)
    const old = tracker.getRun(tracker.listRuns()[1]!.runId)!
    expect(old).toMatchObject({ status: 'aborted', endedAt: T0, completedTasks: 1 })
    expect(old.tasks.map((t) => t.status)).toEqual(['completed', 'aborted'])
    expect(tracker.listRuns().filter((r) => r.status === 'running')).toHaveLength(1)
  })

  it('marks the run failed when a task fails (no ensemble_completed follows), and reopens it if work goes on', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1)])
    feed([{ type: 'task_failed', taskIndex: 1, taskDescription: 'Task 1', agentRole: 'Researcher', failedAt: at(4), reason: 'limit reached' }])
    let run = tracker.getRun(tracker.listRuns()[0]!.runId)!
    expect(run).toMatchObject({ status: 'failed', failedTasks: 1, exitReason: 'TASK_FAILED', endedAt: at(4) })
    expect(run.tasks[0]).toMatchObject({ status: 'failed', failureReason: 'limit reached', durationMs: 3000 })
    feed([taskStarted(2)])
    run = tracker.getRun(run.runId)!
    expect(run).toMatchObject({ status: 'running', endedAt: null })
  })

  it('closes tasks left running by an exit-early ending', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1), review('r1', 0), completed('e1', 'USER_EXIT_EARLY')])
    const run = tracker.getRun(tracker.listRuns()[0]!.runId)!
    expect(run).toMatchObject({ status: 'aborted', exitReason: 'USER_EXIT_EARLY' })
    expect(run.tasks[0]!.status).toBe('aborted')
    expect(run.pendingReviews).toEqual([])
  })

  it('fails the run when a review timeout applies FAIL', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1), review('r1', 1000), { type: 'review_timed_out', reviewId: 'r1', action: 'FAIL' }])
    const run = tracker.getRun(tracker.listRuns()[0]!.runId)!
    expect(run).toMatchObject({ status: 'failed', exitReason: 'REVIEW_TIMEOUT_FAIL', pendingReviews: [] })
    expect(run.tasks[0]).toMatchObject({ status: 'failed', failureReason: 'Review timed out' })
  })
})

describe('RunTracker tool attribution', () => {
  it('uses taskIndex, else the running task of the same role, else the latest running task', () => {
    const { tracker, feed } = setup()
    feed([started('e1', 3, 'PARALLEL'), taskStarted(1, 'Researcher'), taskStarted(2, 'Analyst'), taskStarted(3, 'Writer')])
    feed([tool(1, 'Writer'), tool(0, 'Researcher', 'FAILURE'), tool(0, 'Researcher'), tool(0, 'Nobody'), tool(0, null, null), tool(9, 'Analyst')])
    const run = tracker.getRun(tracker.listRuns()[0]!.runId)!
    expect(run.tasks.map((t) => [t.agentRole, t.toolCalls, t.toolFailures])).toEqual([
      ['Researcher', 3, 1],
      ['Analyst', 1, 0],
      ['Writer', 2, 0]
    ])
    // Tool frames carry no time: Vigil's receive time is used.
    expect(run.recentEvents.at(-1)).toMatchObject({ type: 'tool_called', at: at(0) })
  })

  it('ignores unattributable tool calls for task counts but keeps the event', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), tool(0, 'X')])
    const run = tracker.getRun(tracker.listRuns()[0]!.runId)!
    expect(run.tasks).toEqual([])
    expect(run.eventCount).toBe(2)
  })
})

describe('RunTracker reviews', () => {
  it('keeps pending reviews with a server-side deadline and drops them after it passes', () => {
    let now = Date.parse(at(0))
    const { tracker, feed } = setup({ now: () => now })
    feed([started('e1'), taskStarted(1), review('r1', 60_000), review('r2', 0)])
    const id = tracker.listRuns()[0]!.runId
    expect(tracker.getRun(id)!.pendingReviews).toEqual([
      expect.objectContaining({ reviewId: 'r1', expiresAt: '2026-03-05T14:01:00Z', requestedAt: at(0), timeoutMs: 60_000, onTimeout: 'EXIT_EARLY', prompt: null }),
      expect.objectContaining({ reviewId: 'r2', expiresAt: null })
    ])
    now += 59_000
    expect(tracker.getRun(id)!.pendingReviews).toHaveLength(2)
    now += 10_000
    expect(tracker.getRun(id)!.pendingReviews.map((r) => r.reviewId)).toEqual(['r2'])
  })

  it('removes a review on review_timed_out and on our own decision', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1), review('r1', 0), review('r2', 0), review('r1', 0)])
    const id = tracker.listRuns()[0]!.runId
    expect(tracker.getRun(id)!.pendingReviews).toHaveLength(2)
    feed([{ type: 'review_timed_out', reviewId: 'r1', action: 'CONTINUE' }])
    expect(tracker.getRun(id)!.pendingReviews.map((r) => r.reviewId)).toEqual(['r2'])
    tracker.ingest('src', null, { type: 'review_decision', reviewId: 'r2', decision: 'CONTINUE' }, at(3))
    expect(tracker.getRun(id)!.pendingReviews).toEqual([])
    expect(tracker.getRun(id)!.recentEvents.at(-1)).toMatchObject({ type: 'review_decision', summary: 'Review decided: CONTINUE' })
    expect(tracker.getRun(id)!.status).toBe('running')
  })

  it('clears pending reviews when a new ensemble starts', () => {
    const { tracker, feed } = setup()
    feed([started('e1'), taskStarted(1), review('r1', 0), started('e2')])
    const old = tracker.listRuns()[1]!
    expect(tracker.getRun(old.runId)!.pendingReviews).toEqual([])
  })
})

describe('RunTracker memory bounds and resets', () => {
  it('keeps a bounded ring of recent events', () => {
    const { tracker, feed } = setup({ maxRecentEvents: 5 })
    feed([started('e1'), taskStarted(1), ...Array.from({ length: 20 }, () => tool(1, 'Researcher'))])
    const run = tracker.getRun(tracker.listRuns()[0]!.runId, 1000)!
    expect(run.eventCount).toBe(22)
    expect(run.recentEvents.map((e) => e.seq)).toEqual([18, 19, 20, 21, 22])
    expect(tracker.getRun(run.runId, 2)!.recentEvents.map((e) => e.seq)).toEqual([21, 22])
    expect(tracker.getRun(run.runId, 0)!.recentEvents).toEqual([])
  })

  it('evicts the oldest finished runs beyond maxRuns', () => {
    const { tracker, feed, removed } = setup({ maxRuns: 2 })
    feed([started('a'), completed('a'), started('b'), completed('b'), started('c')])
    expect(tracker.listRuns().map((r) => r.ensembleId)).toEqual(['c', 'b'])
    expect(removed).toHaveLength(1)
  })

  it('evicts finished runs first, even when they are their stream\'s latest, before any running run', () => {
    const { tracker, feed, removed } = setup({ maxRuns: 3 })
    feed([started('live-1')], 'a')
    feed([started('done-1'), completed('done-1')], 'b')
    feed([started('live-2')], 'c')
    feed([started('done-2'), completed('done-2')], 'd')
    feed([started('live-3')], 'e')
    // The two finished runs went (oldest first), although each is the latest of its stream.
    expect(tracker.listRuns().map((r) => r.ensembleId)).toEqual(['live-3', 'live-2', 'live-1'])
    expect(removed).toEqual(['b:-:done-1:1', 'd:-:done-2:1'])
    // Only when every kept run is running does the oldest running one go.
    feed([started('live-4')], 'f')
    expect(tracker.listRuns().map((r) => r.ensembleId)).toEqual(['live-4', 'live-3', 'live-2'])
  })

  it('500 producers with running runs and many finished runs: running runs are kept while finished ones remain', () => {
    const { tracker, feed } = setup({ maxRuns: 200 })
    for (let i = 0; i < 150; i++) feed([started(`done-${i}`), completed(`done-${i}`)], 'hub', `old-${i}`)
    for (let i = 0; i < 200; i++) feed([started(`live-${i}`)], 'hub', `p-${i}`)
    const runs = tracker.listRuns()
    expect(runs).toHaveLength(200)
    expect(runs.every((r) => r.status === 'running')).toBe(true)
    for (let i = 200; i < 500; i++) feed([started(`live-${i}`)], 'hub', `p-${i}`)
    // Past the cap with only running runs: the newest 200 stay.
    expect(tracker.listRuns().map((r) => r.ensembleId)).toEqual(Array.from({ length: 200 }, (_, i) => `live-${499 - i}`))
  })

  it('resetSource forgets only that source (or producer) and reports removals', () => {
    const { tracker, feed, removed } = setup()
    feed([started('e1')], 'a')
    feed([started('e1')], 'b')
    feed([started('e1')], 'hub', 'p1')
    feed([started('e1')], 'hub', 'p2')
    tracker.resetSource('a')
    tracker.resetSource('hub', 'p1')
    expect(tracker.listRuns().map((r) => `${r.sourceId}/${r.producerId}`).sort()).toEqual(['b/null', 'hub/p2'])
    expect(removed).toHaveLength(2)
  })

  it('survives a throwing listener', () => {
    const tracker = new RunTracker({
      onRunUpdated: () => {
        throw new Error('listener bug')
      }
    })
    const err = console.error
    console.error = () => undefined
    try {
      expect(() => tracker.ingest('s', null, started('e1'), at(0))).not.toThrow()
    } finally {
      console.error = err
    }
    expect(tracker.listRuns()).toHaveLength(1)
  })
})
