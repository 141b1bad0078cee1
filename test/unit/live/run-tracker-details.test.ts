// Run details for the live views: LLM iterations, tool calls, delegations and file changes.
import { describe, expect, it } from 'vitest'
import { RunTracker } from '../../../src/main/live/run-tracker'
import { finishedSequentialRunScript } from '../../../src/main/demo/ensemble-simulator'
import type { RunDetail } from '../../../src/shared/model/live'
import type { IterationSnapshot, ServerMessage } from '../../../src/shared/protocol/agentensemble'

const T0 = '2026-03-05T14:00:00Z'
const at = (sec: number) => new Date(Date.parse(T0) + sec * 1000).toISOString()

function setup(detailLimits?: ConstructorParameters<typeof RunTracker>[0]['detailLimits']) {
  const tracker = new RunTracker({ onRunUpdated: () => {}, detailLimits })
  const feed = (messages: ServerMessage[], sec = 0, producer: string | null = null) =>
    messages.forEach((m) => tracker.ingest('src', producer, m, at(sec)))
  const detail = (): RunDetail => {
    const summary = tracker.listRuns()[0]
    expect(summary).toBeDefined()
    return tracker.getRun(summary!.runId)!
  }
  return { tracker, feed, detail }
}

const started = (totalTasks = 2, workflow = 'SEQUENTIAL'): ServerMessage => ({ type: 'ensemble_started', ensembleId: 'e1', startedAt: T0, totalTasks, workflow })
const taskStarted = (taskIndex: number, agentRole: string, taskDescription = `Task ${taskIndex}`): ServerMessage => ({
  type: 'task_started',
  taskIndex,
  totalTasks: 2,
  taskDescription,
  agentRole,
  startedAt: at(taskIndex)
})
const iterStarted = (agentRole: string, taskDescription: string, iterationIndex: number, content = 'Do it'): ServerMessage => ({
  type: 'llm_iteration_started',
  agentRole,
  taskDescription,
  iterationIndex,
  messages: [
    { role: 'system', content: `You are a ${agentRole}.`, toolCalls: null, toolName: null },
    { role: 'user', content, toolCalls: null, toolName: null }
  ],
  totalMessageCount: 2
})
const iterCompleted = (agentRole: string, taskDescription: string, iterationIndex: number, extra: Partial<Record<string, unknown>> = {}): ServerMessage =>
  ({
    type: 'llm_iteration_completed',
    agentRole,
    taskDescription,
    iterationIndex,
    responseType: 'TOOL_CALLS',
    toolRequests: [{ name: 'web_search', arguments: '{"q":"x"}' }],
    inputTokens: 500,
    outputTokens: 200,
    latencyMs: 1200,
    ...extra
  }) as ServerMessage
const tool = (taskIndex: number, agentRole: string | null, outcome: string | null, extra: Record<string, unknown> = {}): ServerMessage =>
  ({
    type: 'tool_called',
    agentRole,
    taskIndex,
    toolName: 'calculator',
    durationMs: 500,
    outcome,
    toolArguments: '{"expr":"6*7"}',
    toolResult: '42',
    structuredResult: { value: 42 },
    ...extra
  }) as ServerMessage

describe('RunTracker details: LLM iterations', () => {
  it('pairs started and completed frames per task, with tokens, latency, messages and response', () => {
    const { feed, detail } = setup()
    feed([started(), taskStarted(1, 'Researcher', 'Find papers')], 0)
    feed([iterStarted('Researcher', 'Find papers', 0)], 2)
    feed([iterCompleted('Researcher', 'Find papers', 0)], 3)
    feed([iterStarted('Researcher', 'Find papers', 1), iterCompleted('Researcher', 'Find papers', 1, { responseType: 'FINAL_ANSWER', responseText: 'Done.', toolRequests: undefined })], 4)

    const its = detail().iterations!
    expect(its).toHaveLength(2)
    expect(its[0]).toMatchObject({
      taskIndex: 1,
      agentRole: 'Researcher',
      iterationIndex: 0,
      startedAt: at(2),
      completedAt: at(3),
      responseType: 'TOOL_CALLS',
      inputTokens: 500,
      outputTokens: 200,
      latencyMs: 1200,
      totalMessageCount: 2,
      toolRequests: [{ name: 'web_search', arguments: '{"q":"x"}' }]
    })
    expect(its[0]!.messages.map((m) => [m.role, m.content])).toEqual([
      ['system', 'You are a Researcher.'],
      ['user', 'Do it']
    ])
    expect(its[1]).toMatchObject({ iterationIndex: 1, responseType: 'FINAL_ANSWER', responseText: 'Done.', toolRequests: [] })
  })

  it('keeps an in-flight iteration open and attributes iterations to the task with the same role and description', () => {
    const { feed, detail } = setup()
    feed([started(), taskStarted(1, 'Researcher', 'A'), taskStarted(2, 'Writer', 'B')])
    feed([iterStarted('Writer', 'B', 0), iterStarted('Researcher', 'A', 0)], 1)
    const its = detail().iterations!
    expect(its.map((i) => [i.agentRole, i.taskIndex, i.completedAt, i.responseType])).toEqual([
      ['Writer', 2, null, null],
      ['Researcher', 1, null, null]
    ])
  })

  it('truncates long messages and responses, and keeps messages only on the newest iterations of a task', () => {
    const { feed, detail } = setup({ messageChars: 10, textChars: 5, iterationsWithMessages: 2 })
    feed([started(), taskStarted(1, 'R', 'T')])
    for (let i = 0; i < 4; i++) feed([iterStarted('R', 'T', i, 'x'.repeat(50)), iterCompleted('R', 'T', i, { responseText: 'abcdefghij' })], i + 1)
    const its = detail().iterations!
    expect(its).toHaveLength(4)
    expect(its.map((i) => i.messagesDropped)).toEqual([true, true, false, false])
    expect(its[0]!.messages).toEqual([])
    expect(its[0]!.inputTokens).toBe(500)
    expect(its[3]!.messages[1]).toMatchObject({ content: 'x'.repeat(10), truncated: true })
    expect(its[3]).toMatchObject({ responseText: 'abcde', responseTruncated: true })
  })

  it('bounds the number of iterations, dropping the oldest and counting them', () => {
    const { feed, detail } = setup({ iterations: 3 })
    feed([started(), taskStarted(1, 'R', 'T')])
    for (let i = 0; i < 5; i++) feed([iterStarted('R', 'T', i), iterCompleted('R', 'T', i)], i + 1)
    const d = detail()
    expect(d.iterations!.map((i) => i.iterationIndex)).toEqual([2, 3, 4])
    expect(d.dropped!.iterations).toBe(2)
    expect(d.limits!.iterations).toBe(3)
  })

  it('hydrates iterations from hello.recentIterations without duplicating ones seen in a hub snapshot', () => {
    const { tracker, detail } = setup()
    const script = finishedSequentialRunScript()
    const snapshot = script.filter((m) => !m.type.startsWith('llm_iteration')) as NonNullable<Extract<ServerMessage, { type: 'hello' }>['snapshotTrace']>
    const recent: IterationSnapshot[] = []
    for (let i = 0; i < script.length; i++) {
      const m = script[i]!
      if (m.type === 'llm_iteration_started') recent.push({ started: m, completed: script[i + 1] as Extract<ServerMessage, { type: 'llm_iteration_completed' }> })
    }
    tracker.ingest('src', null, { type: 'hello', ensembleId: 'e', startedAt: T0, snapshotTrace: snapshot, recentIterations: recent }, at(30))
    let its = detail().iterations!
    expect(its.map((i) => [i.taskIndex, i.responseType, i.responseText])).toEqual([
      [1, 'FINAL_ANSWER', 'AI adoption grew 42%.'],
      [2, 'FINAL_ANSWER', '# AI in 2025\n…']
    ])
    // The same iterations again (as a hub replays both its log and iterationsByProducer): no duplicates.
    for (const r of recent) {
      tracker.ingest('src', null, r.started, at(31))
      tracker.ingest('src', null, r.completed!, at(31))
    }
    its = detail().iterations!
    expect(its).toHaveLength(2)
  })
})

describe('RunTracker details: tool calls', () => {
  it('records task, agent, tool, outcome, duration, raw arguments, result and the receive time', () => {
    const { feed, detail } = setup()
    feed([started(), taskStarted(1, 'Analyst')])
    feed([tool(1, 'Analyst', 'SUCCESS')], 2)
    feed([tool(1, 'Analyst', 'FAILURE', { toolName: 'fetch_url', toolResult: 'HTTP 403', structuredResult: null })], 3)
    feed([tool(0, null, null, { toolArguments: null, toolResult: null, structuredResult: null })], 4)
    const calls = detail().toolCalls!
    expect(calls).toHaveLength(3)
    expect(calls[0]).toMatchObject({
      taskIndex: 1,
      agentRole: 'Analyst',
      toolName: 'calculator',
      outcome: 'SUCCESS',
      durationMs: 500,
      arguments: '{"expr":"6*7"}',
      result: '42',
      structuredResult: '{"value":42}',
      truncated: false,
      at: at(2)
    })
    expect(calls[1]).toMatchObject({ toolName: 'fetch_url', outcome: 'FAILURE', result: 'HTTP 403', structuredResult: null })
    // taskIndex 0 and no role: the latest running task.
    expect(calls[2]).toMatchObject({ taskIndex: 1, agentRole: null, outcome: null, arguments: null, result: null })
    expect(new Set(calls.map((c) => c.seq)).size).toBe(3)
    // The task counters still agree.
    expect(detail().tasks[0]).toMatchObject({ toolCalls: 3, toolFailures: 1 })
  })

  it('attributes taskIndex 0 by agent role and truncates long arguments and results', () => {
    const { feed, detail } = setup({ textChars: 8 })
    feed([started(), taskStarted(1, 'Researcher'), taskStarted(2, 'Writer')])
    feed([tool(0, 'Researcher', 'SUCCESS', { toolArguments: '{"query":"a long query"}', toolResult: 'r'.repeat(20) })], 1)
    const [call] = detail().toolCalls!
    expect(call).toMatchObject({ taskIndex: 1, arguments: '{"query"', result: 'r'.repeat(8), truncated: true })
  })

  it('bounds tool calls and counts the dropped ones', () => {
    const { feed, detail } = setup({ toolCalls: 2 })
    feed([started(), taskStarted(1, 'A')])
    for (let i = 0; i < 5; i++) feed([tool(1, 'A', 'SUCCESS', { durationMs: i })], i)
    const d = detail()
    expect(d.toolCalls!.map((c) => c.durationMs)).toEqual([3, 4])
    expect(d.dropped!.toolCalls).toBe(3)
  })
})

describe('RunTracker details: delegations and file changes', () => {
  it('follows a delegation from start to completion or failure', () => {
    const { feed, detail } = setup()
    feed([started(1, 'HIERARCHICAL'), taskStarted(1, 'Manager')])
    feed([{ type: 'delegation_started', delegationId: 'd1', delegatingAgentRole: 'Manager', workerRole: 'Writer', taskDescription: 'Write a blog post' }], 1)
    feed([{ type: 'delegation_started', delegationId: 'd2', delegatingAgentRole: 'Manager', workerRole: 'Editor', taskDescription: 'Edit' }], 2)
    let ds = detail().delegations!
    expect(ds.map((d) => [d.delegationId, d.status])).toEqual([
      ['d1', 'running'],
      ['d2', 'running']
    ])
    feed([{ type: 'delegation_completed', delegationId: 'd1', delegatingAgentRole: 'Manager', workerRole: 'Writer', durationMs: 32000 }], 33)
    feed([{ type: 'delegation_failed', delegationId: 'd2', delegatingAgentRole: 'Manager', workerRole: 'Editor', reason: 'Guard rejected' }], 5)
    ds = detail().delegations!
    expect(ds[0]).toMatchObject({
      delegationId: 'd1',
      from: 'Manager',
      to: 'Writer',
      taskDescription: 'Write a blog post',
      taskIndex: 1,
      status: 'completed',
      startedAt: at(1),
      endedAt: at(33),
      durationMs: 32000,
      reason: null
    })
    expect(ds[1]).toMatchObject({ status: 'failed', reason: 'Guard rejected', durationMs: 3000, endedAt: at(5) })
  })

  it('keeps a completion whose start was not seen', () => {
    const { feed, detail } = setup()
    feed([started(1, 'HIERARCHICAL')])
    feed([{ type: 'delegation_completed', delegationId: null, delegatingAgentRole: 'M', workerRole: 'W', durationMs: 10 }], 4)
    expect(detail().delegations).toEqual([expect.objectContaining({ delegationId: null, from: 'M', to: 'W', status: 'completed', durationMs: 10, endedAt: at(4) })])
  })

  it('records file changes with the server timestamp and the agent task', () => {
    const { feed, detail } = setup()
    feed([started(1), taskStarted(1, 'Coder')])
    feed([{ type: 'file_changed', agentRole: 'Coder', filePath: 'src/Main.java', changeType: 'MODIFIED', linesAdded: 10, linesRemoved: 3, timestamp: '2026-03-05T14:00:45.120Z' }], 50)
    feed([{ type: 'file_changed', linesAdded: 0, linesRemoved: 0 }], 51)
    const files = detail().fileChanges!
    expect(files[0]).toMatchObject({ agentRole: 'Coder', taskIndex: 1, filePath: 'src/Main.java', changeType: 'MODIFIED', linesAdded: 10, linesRemoved: 3, at: '2026-03-05T14:00:45.120Z' })
    expect(files[1]).toMatchObject({ agentRole: null, filePath: null, changeType: null, at: at(51) })
  })

  it('returns copies: editing a detail does not change the tracker', () => {
    const { feed, detail } = setup()
    feed([started(1), taskStarted(1, 'A'), tool(1, 'A', 'SUCCESS'), iterStarted('A', 'Task 1', 0)])
    const d = detail()
    d.toolCalls![0]!.outcome = 'FAILURE'
    d.iterations![0]!.messages[0]!.content = 'changed'
    const again = detail()
    expect(again.toolCalls![0]!.outcome).toBe('SUCCESS')
    expect(again.iterations![0]!.messages[0]!.content).toBe('You are a A.')
  })

  it('starts every run with empty details and drops them with the run', () => {
    const { tracker, feed, detail } = setup()
    feed([started(1), taskStarted(1, 'A'), tool(1, 'A', 'SUCCESS')])
    feed([started(1)], 10)
    expect(detail()).toMatchObject({ iterations: [], toolCalls: [], delegations: [], fileChanges: [], dropped: { iterations: 0, toolCalls: 0, delegations: 0, fileChanges: 0 } })
    expect(tracker.listRuns()).toHaveLength(2)
    tracker.resetSource('src')
    expect(tracker.listRuns()).toHaveLength(0)
  })
})

describe('bounds on agent text and tasks (SECURITY.md gap: memory growth from one agent)', () => {
  it('clips task descriptions and roles to textChars, in tasks, event summaries and iterations, and still matches them', () => {
    const { feed, detail } = setup({ textChars: 100 })
    const description = 'D'.repeat(1_000_000)
    const role = 'R'.repeat(50_000)
    feed([started(1), taskStarted(1, role, description)])
    feed([iterStarted(role, description, 0), iterCompleted(role, description, 0)], 1)
    feed([tool(1, role, 'SUCCESS'), tool(0, role, 'SUCCESS')], 2)
    feed([{ type: 'task_completed', taskIndex: 1, totalTasks: 1, taskDescription: description, agentRole: role, completedAt: at(5), durationMs: 4000, tokenCount: -1, toolCallCount: 2 }], 5)
    const d = detail()
    expect(d.tasks).toHaveLength(1)
    expect(d.tasks[0]).toMatchObject({ description: 'D'.repeat(100), agentRole: 'R'.repeat(100), status: 'completed', toolCalls: 2 })
    for (const e of d.recentEvents) expect(e.summary.length).toBeLessThanOrEqual(100)
    expect(d.iterations).toHaveLength(1)
    expect(d.iterations![0]).toMatchObject({ taskIndex: 1, agentRole: 'R'.repeat(100), taskDescription: 'D'.repeat(100), responseType: 'TOOL_CALLS' })
    expect(d.toolCalls!.map((c) => [c.taskIndex, c.agentRole])).toEqual([
      [1, 'R'.repeat(100)],
      [1, 'R'.repeat(100)]
    ])
    expect(d.limits).toMatchObject({ textChars: 100, tasks: 1000 })
  })

  it('keeps at most `tasks` tasks per run, oldest finished first, and counts the dropped ones in the totals', () => {
    const { feed, detail } = setup({ tasks: 5 })
    feed([started(0)])
    feed([taskStarted(1, 'Keep', 'still running')])
    for (let i = 2; i <= 9; i++) {
      feed([taskStarted(i, 'A')])
      if (i % 2 === 0) feed([{ type: 'task_completed', taskIndex: i, totalTasks: 0, taskDescription: `Task ${i}`, agentRole: 'A', completedAt: at(i + 1), durationMs: 1000, tokenCount: -1, toolCallCount: 0 }])
      else feed([{ type: 'task_failed', taskIndex: i, taskDescription: `Task ${i}`, agentRole: 'A', failedAt: at(i + 1), reason: 'boom' }])
    }
    const d = detail()
    expect(d.tasks.map((t) => t.taskIndex)).toEqual([1, 6, 7, 8, 9])
    expect(d.tasks[0]!.status).toBe('running')
    expect(d.dropped).toMatchObject({ tasks: 4 })
    // 2..9: four completed (2, 4, 6, 8) and four failed; the dropped ones (2..5) still count.
    expect(d).toMatchObject({ totalTasks: 9, completedTasks: 4, failedTasks: 4 })
  })

  it('clips a pending review\'s texts in the run detail (the inbox has them whole)', () => {
    const { feed, detail } = setup({ textChars: 100 })
    feed([started(1), { type: 'review_requested', reviewId: 'r1', taskDescription: 'D'.repeat(5000), taskOutput: 'O'.repeat(1_000_000), timing: 'AFTER_EXECUTION', prompt: 'P'.repeat(500), timeoutMs: 0, onTimeout: 'CONTINUE' }])
    const [review] = detail().pendingReviews
    expect(review).toMatchObject({ reviewId: 'r1', taskDescription: 'D'.repeat(100), taskOutput: 'O'.repeat(100), prompt: 'P'.repeat(100) })
  })

  it('200 task_started with 1 MB descriptions and distinct indexes keep a bounded run', () => {
    const { feed, detail } = setup({ tasks: 50 })
    feed([started(0)])
    const big = 'x'.repeat(1_000_000)
    for (let i = 1; i <= 200; i++) feed([taskStarted(i, `role-${i}-${big}`, `${i}-${big}`)])
    const d = detail()
    expect(d.tasks).toHaveLength(50)
    expect(d.dropped!.tasks).toBe(150)
    expect(d.totalTasks).toBe(200)
    const kept = d.tasks.reduce((n, t) => n + t.description.length + t.agentRole.length, 0) + d.recentEvents.reduce((n, e) => n + e.summary.length, 0)
    expect(kept).toBeLessThanOrEqual(50 * 2 * 8000 + 201 * 8000)
  })
})
