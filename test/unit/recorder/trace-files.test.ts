import { describe, expect, it } from 'vitest'
import { RunTracker } from '../../../src/main/live/run-tracker'
import type { TraceEvent } from '../../../src/main/recorder/trace-files'
import { exportRunTrace, importTraceFile, ingestImportedTrace, isoDuration, parseIsoDuration, segmentRuns, traceSourceId } from '../../../src/main/recorder/trace-files'
import { ApiError } from '../../../src/shared/api/errors'
import type { DashboardMessage } from '../../../src/shared/protocol/agentensemble'

const T = (s: number) => `2026-03-05T14:00:${String(s).padStart(2, '0')}Z`
const ev = (message: DashboardMessage, s: number, sourceId = 'ws:a'): TraceEvent => ({ sourceId, producerId: null, receivedAt: T(s), message })

const events: TraceEvent[] = [
  ev({ type: 'ensemble_started', ensembleId: 'e1', startedAt: T(0), totalTasks: 2, workflow: 'SEQUENTIAL' }, 0),
  ev({ type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Research', agentRole: 'R', startedAt: T(1) }, 1),
  ev({ type: 'task_input', taskIndex: 1, taskDescription: 'Research', expectedOutput: 'A report', agentRole: 'R', agentGoal: 'Find', agentBackground: null, toolNames: ['web'], assembledContext: '## Task', sentAt: T(1) }, 1),
  ev({ type: 'llm_iteration_started', agentRole: 'R', taskDescription: 'Research', iterationIndex: 0, messages: [{ role: 'system', content: 'You are R', toolCalls: null, toolName: null }] }, 2),
  ev({ type: 'llm_iteration_completed', agentRole: 'R', taskDescription: 'Research', iterationIndex: 0, responseType: 'TOOL_CALLS', toolRequests: [{ name: 'web', arguments: '{}' }], inputTokens: 10, outputTokens: 5, latencyMs: 1200 }, 3),
  ev({ type: 'tool_called', agentRole: 'R', taskIndex: 1, toolName: 'web', durationMs: 500, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'r', structuredResult: { v: 1 } }, 4),
  ev({ type: 'llm_iteration_started', agentRole: 'R', taskDescription: 'Research', iterationIndex: 1, messages: [] }, 5),
  ev({ type: 'llm_iteration_completed', agentRole: 'R', taskDescription: 'Research', iterationIndex: 1, responseType: 'FINAL_ANSWER', responseText: 'Done', inputTokens: 20, outputTokens: 7, latencyMs: 800 }, 6),
  ev({ type: 'task_completed', taskIndex: 1, totalTasks: 2, taskDescription: 'Research', agentRole: 'R', completedAt: T(7), durationMs: 6000, tokenCount: -1, toolCallCount: 1 }, 7),
  ev({ type: 'task_started', taskIndex: 2, totalTasks: 2, taskDescription: 'Write', agentRole: 'W', startedAt: T(8) }, 8),
  ev({ type: 'tool_called', agentRole: 'W', taskIndex: 0, toolName: 'fs', durationMs: 100, outcome: 'FAILURE', toolArguments: null, toolResult: null, structuredResult: null }, 9),
  ev({ type: 'delegation_started', delegationId: 'd1', delegatingAgentRole: 'W', workerRole: 'E', taskDescription: 'Edit' }, 9),
  ev({ type: 'delegation_completed', delegationId: 'd1', delegatingAgentRole: 'W', workerRole: 'E', durationMs: 1000 }, 10),
  ev({ type: 'task_completed', taskIndex: 2, totalTasks: 2, taskDescription: 'Write', agentRole: 'W', completedAt: T(11), durationMs: 3000, tokenCount: -1, toolCallCount: 1 }, 11),
  ev({ type: 'ensemble_completed', ensembleId: 'e1', completedAt: T(12), durationMs: 12000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 2 }, 12),
  ev({ type: 'ensemble_started', ensembleId: 'e2', startedAt: T(20), totalTasks: 1, workflow: 'SEQUENTIAL' }, 20),
  ev({ type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: 'Solo', agentRole: 'S', startedAt: T(21) }, 21),
  ev({ type: 'task_failed', taskIndex: 1, taskDescription: 'Solo', agentRole: 'S', failedAt: T(22), reason: 'boom' }, 22)
]

function trackerFrom(list: TraceEvent[]) {
  const t = new RunTracker({ onRunUpdated: () => undefined })
  for (const e of list) t.ingest(e.sourceId, e.producerId, e.message, e.receivedAt)
  return t
}
const view = (t: RunTracker, runId: string) => {
  const d = t.getRun(runId)
  return d && { status: d.status, exitReason: d.exitReason, total: d.totalTasks, tasks: d.tasks.map((x) => [x.taskIndex, x.description, x.agentRole, x.status, x.toolCalls, x.startedAt, x.endedAt, x.durationMs]) }
}

describe('trace files', () => {
  it('attributes events to runs with the tracker\'s run ids', () => {
    expect([...segmentRuns(events).keys()]).toEqual(trackerFrom(events).listRuns().map((r) => r.runId).reverse())
  })

  it('exports an ExecutionTrace per the spec', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document navigated by the assertions below
    const trace = JSON.parse(exportRunTrace(events, 'ws:a:-:e1:1')) as Record<string, any>
    expect(Object.keys(trace)).toEqual(['schemaVersion', 'captureMode', 'ensembleId', 'workflow', 'startedAt', 'completedAt', 'totalDuration', 'inputs', 'agents', 'taskTraces', 'metrics', 'totalCostEstimate', 'errors', 'mapReduceLevels', 'loopTraces', 'graphTrace', 'traceId', 'metadata'])
    expect(trace).toMatchObject({ schemaVersion: '1.1', captureMode: 'STANDARD', ensembleId: 'e1', totalDuration: 'PT12S', completedAt: T(12) })
    expect(trace.agents[0]).toEqual({ role: 'R', goal: 'Find', background: null, toolNames: ['web'], allowDelegation: false })
    const t1 = trace.taskTraces[0]
    expect(t1).toMatchObject({ taskDescription: 'Research', expectedOutput: 'A report', duration: 'PT6S', finalOutput: 'Done', prompts: { systemPrompt: 'You are R', userPrompt: '## Task' } })
    expect(t1.llmInteractions).toHaveLength(2)
    expect(t1.llmInteractions[0].toolCalls[0]).toMatchObject({ toolName: 'web', duration: 'PT0.5S', outcome: 'SUCCESS', structuredOutput: { v: 1 } })
    expect(t1.metrics).toMatchObject({ inputTokens: 30, outputTokens: 12, totalTokens: 42, llmLatency: 'PT2S', llmCallCount: 2, toolCallCount: 1 })
    expect(trace.taskTraces[1].delegations[0]).toMatchObject({ delegatorRole: 'W', workerRole: 'E', duration: 'PT1S', succeeded: true })
    expect(trace.metrics.totalToolCalls).toBe(2)
    expect(() => exportRunTrace(events, 'nope')).toThrow(ApiError)
  })

  it('round-trips export → import into the same run', () => {
    const original = trackerFrom(events)
    for (const runId of ['ws:a:-:e1:1', 'ws:a:-:e2:1']) {
      const imported = importTraceFile(exportRunTrace(events, runId))
      expect(imported.kind).toBe('trace')
      const t = new RunTracker({ onRunUpdated: () => undefined })
      const source = traceSourceId('x.trace.json')
      ingestImportedTrace(t, source, imported)
      const [run] = t.listRuns()
      expect(run?.runId).toBe(`${source}:-:${imported.ensembleId}:1`)
      expect(view(t, run?.runId ?? '')).toEqual(view(original, runId))
    }
  })

  it('imports the spec\'s minimal Java trace and a DAG', () => {
    const minimal = `{"schemaVersion":"1.1","captureMode":"OFF","ensembleId":"2f1c","workflow":"SEQUENTIAL","startedAt":"2026-03-05T09:00:00Z","completedAt":"2026-03-05T09:00:12.345Z","totalDuration":"PT12.345S","inputs":{},"agents":[{"role":"Researcher","goal":"g","background":null,"toolNames":[],"allowDelegation":false}],"taskTraces":[{"taskDescription":"Research AI","expectedOutput":"A report","agentRole":"Researcher","startedAt":"2026-03-05T09:00:00Z","completedAt":"2026-03-05T09:00:12.3Z","duration":"PT12.3S","prompts":{"systemPrompt":"s","userPrompt":"u"},"llmInteractions":[{"iterationIndex":0,"startedAt":"2026-03-05T09:00:01Z","completedAt":"2026-03-05T09:00:04.2Z","latency":"PT3.2S","inputTokens":800,"outputTokens":450,"responseType":"FINAL_ANSWER","responseText":"r","toolCalls":[],"messages":[]}],"delegations":[],"finalOutput":"r","parsedOutput":null,"metrics":{},"nodeType":null,"mapReduceLevel":null,"metadata":{}}],"metrics":{"totalTokens":1250,"totalToolCalls":0},"totalCostEstimate":null,"errors":[],"mapReduceLevels":[],"loopTraces":[],"graphTrace":null,"traceId":null,"metadata":{}}`
    const imported = importTraceFile(minimal)
    expect(imported.messages.map((m) => m.type)).toEqual(['ensemble_started', 'vigil_trace_original', 'task_started', 'task_input', 'llm_iteration_started', 'llm_iteration_completed', 'task_completed', 'ensemble_completed'])
    const t = new RunTracker({ onRunUpdated: () => undefined })
    ingestImportedTrace(t, 'file:min.trace.json', imported)
    expect(t.listRuns()[0]).toMatchObject({ runId: 'file:min.trace.json:-:2f1c:1', status: 'completed', totalTasks: 1, completedTasks: 1 })

    const dag = importTraceFile('{"schemaVersion":"1.3","type":"dag","workflow":"PARALLEL","generatedAt":"2026-03-05T09:00:00Z","agents":[],"tasks":[{"id":"t0","description":"A","agentRole":"R","dependsOn":[],"onCriticalPath":true},{"id":"t1","description":"B","agentRole":"W","dependsOn":["t0"]}],"parallelGroups":[],"criticalPath":["t0"]}')
    expect(dag).toMatchObject({ kind: 'dag', messages: [], dag: { workflow: 'PARALLEL', criticalPath: ['t0'] } })
    expect(dag.dag?.tasks[1]).toEqual({ id: 't1', description: 'B', agentRole: 'W', dependsOn: ['t0'], onCriticalPath: false })
  })

  it('refuses malformed files with a bad-request naming the problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /not JSON/],
      ['[1,2]', /not a JSON object/],
      ['{"hello":1}', /neither an ExecutionTrace/],
      ['{"ensembleId":"e","taskTraces":{}}', /taskTraces is not an array/],
      ['{"ensembleId":"e","taskTraces":[1]}', /taskTraces\[0\] is not an object/],
      ['{"ensembleId":"e","taskTraces":[{"startedAt":"yesterday"}]}', /taskTraces\[0\]\.startedAt is not an ISO-8601 instant/],
      ['{"ensembleId":"e","taskTraces":[{"duration":"12 s"}]}', /taskTraces\[0\]\.duration is not an ISO-8601 duration/],
      ['{"ensembleId":7,"taskTraces":[]}', /ensembleId is not a string/],
      ['{"type":"dag","tasks":[{"description":"x"}]}', /tasks\[0\]\.id is missing/]
    ]
    for (const [text, why] of cases) {
      let err: unknown
      try {
        importTraceFile(text)
      } catch (e) {
        err = e
      }
      expect(err, text).toBeInstanceOf(ApiError)
      expect((err as ApiError).code).toBe('bad-request')
      expect((err as ApiError).message).toMatch(why)
    }
  })

  it('formats and parses durations like java.time.Duration', () => {
    expect([0, 500, 44000, 300000, 3723500].map(isoDuration)).toEqual(['PT0S', 'PT0.5S', 'PT44S', 'PT5M', 'PT1H2M3.5S'])
    expect(['PT12.345S', 'PT5M', 'P1DT1H', 'PT0S'].map(parseIsoDuration)).toEqual([12345, 300000, 90000000, 0])
    expect(parseIsoDuration(300)).toBe(300000)
    expect(parseIsoDuration('PT')).toBeNull()
    expect(parseIsoDuration('5 minutes')).toBeNull()
  })
})
