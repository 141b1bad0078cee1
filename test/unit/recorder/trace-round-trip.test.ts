// Issue 16 item 4: a trace imported then exported equals the original for every field (Vigil changes none
// of an imported run), over a corpus written from the spec (§5.5 ExecutionTrace): costs, inputs, nested
// delegation worker traces, capture modes, errors without a task, memory operations, map-reduce, loops,
// graphs. Failed runs read failed; export file names are safe for every ensemble id.
import { describe, expect, it } from 'vitest'
import { RunTracker } from '../../../src/main/live/run-tracker'
import {
  exportRunTrace,
  importTraceFile,
  ingestImportedTrace,
  traceFileName,
  traceSourceId,
  type TraceEvent
} from '../../../src/main/recorder/trace-files'
import { parseServerFrame, serializeServerMessage, type ServerMessage } from '../../../src/shared/protocol/agentensemble'

const memoryOps = (n: number) => ({ shortTermEntriesWritten: n, longTermStores: n + 1, longTermRetrievals: n + 2, entityLookups: n + 3 })
const cost = (i: number, o: number) => ({ inputCost: i, outputCost: o, totalCost: i + o, currency: 'USD' })
const taskMetrics = (extra: Record<string, unknown> = {}) => ({
  inputTokens: 800,
  outputTokens: 450,
  totalTokens: 1250,
  llmLatency: 'PT3.2S',
  toolExecutionTime: 'PT0.5S',
  memoryRetrievalTime: 'PT0.012S',
  promptBuildTime: 'PT0.003S',
  llmCallCount: 1,
  toolCallCount: 1,
  delegationCount: 0,
  memoryOperations: memoryOps(2),
  costEstimate: cost(0.0024, 0.0068),
  ...extra
})

function taskTrace(desc: string, role: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    taskDescription: desc,
    expectedOutput: 'A report',
    agentRole: role,
    startedAt: '2026-03-05T09:00:00Z',
    completedAt: '2026-03-05T09:00:12.3Z',
    duration: 'PT12.3S',
    prompts: { systemPrompt: `You are a ${role}.`, userPrompt: `## Task\n${desc}` },
    llmInteractions: [
      {
        iterationIndex: 0,
        startedAt: '2026-03-05T09:00:00.100Z',
        completedAt: '2026-03-05T09:00:03.300Z',
        latency: 'PT3.2S',
        inputTokens: 800,
        outputTokens: 450,
        responseType: 'TOOL_CALLS',
        responseText: null,
        toolCalls: [
          {
            toolName: 'web_search',
            arguments: '{"q":"ai"}',
            result: 'results',
            structuredOutput: { hits: [1, 2, 3] },
            startedAt: '2026-03-05T09:00:03.400Z',
            completedAt: '2026-03-05T09:00:03.900Z',
            duration: 'PT0.5S',
            outcome: 'SUCCESS',
            parsedInput: { q: 'ai' },
            metadata: { source: 'bing' }
          }
        ],
        messages: [
          { role: 'system', content: `You are a ${role}.`, toolCalls: [], toolName: null },
          { role: 'user', content: desc, toolCalls: [], toolName: null }
        ]
      }
    ],
    delegations: [],
    finalOutput: 'The report',
    parsedOutput: { title: 'Report', sections: 3 },
    metrics: taskMetrics(),
    nodeType: null,
    mapReduceLevel: null,
    metadata: { custom: 'kept' },
    ...extra
  }
}

function executionTrace(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: '1.1',
    captureMode: 'STANDARD',
    ensembleId: '2f1c9a7e-0000-4000-8000-000000000001',
    workflow: 'SEQUENTIAL',
    startedAt: '2026-03-05T09:00:00Z',
    completedAt: '2026-03-05T09:00:12.345Z',
    totalDuration: 'PT12.345S',
    inputs: {},
    agents: [{ role: 'Researcher', goal: 'Find facts', background: null, toolNames: ['web_search'], allowDelegation: false }],
    taskTraces: [taskTrace('Research AI', 'Researcher')],
    metrics: {
      totalInputTokens: 800,
      totalOutputTokens: 450,
      totalTokens: 1250,
      totalLlmLatency: 'PT3.2S',
      totalToolExecutionTime: 'PT0.5S',
      totalMemoryRetrievalTime: 'PT0.012S',
      totalPromptBuildTime: 'PT0.003S',
      totalLlmCallCount: 1,
      totalToolCalls: 1,
      totalDelegations: 0,
      memoryOperations: memoryOps(2),
      taskMetrics: { Researcher: taskMetrics() },
      totalCostEstimate: cost(0.0024, 0.0068)
    },
    totalCostEstimate: cost(0.0024, 0.0068),
    errors: [],
    mapReduceLevels: [],
    loopTraces: [],
    graphTrace: null,
    traceId: null,
    metadata: {},
    ...extra
  }
}

const worker = (depth: number): Record<string, unknown> =>
  taskTrace(`Worker task at depth ${depth}`, `Worker${depth}`, {
    delegations:
      depth < 3
        ? [
            {
              delegatorRole: `Worker${depth}`,
              workerRole: `Worker${depth + 1}`,
              taskDescription: `Sub-task ${depth + 1}`,
              startedAt: '2026-03-05T09:00:01Z',
              completedAt: '2026-03-05T09:00:02Z',
              duration: 'PT1S',
              depth: depth + 1,
              result: `done ${depth + 1}`,
              succeeded: true,
              workerTrace: worker(depth + 1)
            }
          ]
        : []
  })

const CORPUS: Record<string, Record<string, unknown>> = {
  'costs and inputs': executionTrace({ inputs: { topic: 'AI agents', year: '2026' } }),
  'nested delegation worker traces': executionTrace({
    workflow: 'HIERARCHICAL',
    taskTraces: [
      taskTrace('Manage the blog', 'Manager', {
        delegations: [
          {
            delegatorRole: 'Manager',
            workerRole: 'Worker1',
            taskDescription: 'Write a blog post',
            startedAt: '2026-03-05T09:00:01Z',
            completedAt: '2026-03-05T09:00:10Z',
            duration: 'PT9S',
            depth: 1,
            result: 'A post',
            succeeded: true,
            workerTrace: worker(1)
          },
          {
            delegatorRole: 'Manager',
            workerRole: 'Editor',
            taskDescription: 'Edit',
            startedAt: '2026-03-05T09:00:10Z',
            completedAt: '2026-03-05T09:00:11Z',
            duration: 'PT1S',
            depth: 1,
            result: 'Guard rejected',
            succeeded: false,
            workerTrace: null
          }
        ]
      })
    ]
  }),
  'capture mode FULL': executionTrace({ captureMode: 'FULL' }),
  'capture mode OFF': executionTrace({ captureMode: 'OFF', taskTraces: [taskTrace('Quiet', 'Researcher', { llmInteractions: [], prompts: { systemPrompt: null, userPrompt: null } })] }),
  'errors without a task': executionTrace({
    completedAt: null,
    totalDuration: null,
    errors: [
      { agentRole: null, taskDescription: null, errorType: 'IllegalStateException', message: 'Memory store unavailable', stackTrace: 'java.lang.IllegalStateException: …', occurredAt: '2026-03-05T09:00:13Z' }
    ]
  }),
  'a failed task': executionTrace({
    taskTraces: [taskTrace('Research AI', 'Researcher', { completedAt: '2026-03-05T09:00:05Z', finalOutput: null })],
    errors: [{ agentRole: 'Researcher', taskDescription: 'Research AI', errorType: 'ToolException', message: 'limit reached', stackTrace: null, occurredAt: '2026-03-05T09:00:05Z' }]
  }),
  'memory operations, map-reduce, loops, graph, trace id': executionTrace({
    workflow: 'PARALLEL',
    taskTraces: [taskTrace('Map 1', 'Mapper', { nodeType: 'map', mapReduceLevel: 0 }), taskTrace('Reduce', 'Reducer', { nodeType: 'final-reduce', mapReduceLevel: 1 })],
    mapReduceLevels: [
      { level: 0, taskCount: 1, duration: 'PT5S', workflow: 'PARALLEL' },
      { level: 1, taskCount: 1, duration: 'PT2S', workflow: 'SEQUENTIAL' }
    ],
    loopTraces: [{ loopName: 'refine', iterationsRun: 2, maxIterations: 5, terminationReason: 'predicate', onMaxIterations: 'RETURN_LAST', outputMode: 'LAST', memoryMode: 'ACCUMULATE', iterations: [[{ a: 1 }], [{ a: 2 }]] }],
    graphTrace: { graphName: 'g', startState: 's', stepsRun: 2, maxSteps: 10, terminationReason: 'terminal', steps: [{ stepNumber: 1, stateName: 's', nextState: 't' }] },
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    metadata: { team: 'research', run: { attempt: 2 } }
  }),
  'odd ensemble id': executionTrace({ ensembleId: '../../etc/passwd..' })
}

/** The recorder keeps each message as its serialized frame and parses it back on read. */
function throughStorage(m: ServerMessage): ServerMessage {
  const parsed = parseServerFrame(serializeServerMessage(m))
  if (!parsed.ok) throw new Error(`not storable: ${m.type}`)
  return parsed.message
}

function roundTrip(name: string, trace: Record<string, unknown>) {
  const text = JSON.stringify(trace, null, 2)
  const fileName = `${name.replace(/\W+/g, '-')}.trace.json`
  const sourceId = traceSourceId(fileName)
  const imported = importTraceFile(text)
  const events: TraceEvent[] = imported.messages.map((m, i) => ({ sourceId, producerId: null, receivedAt: imported.receivedAt[i] as string, message: throughStorage(m) }))
  const tracker = new RunTracker({ onRunUpdated: () => undefined })
  ingestImportedTrace(tracker, sourceId, imported)
  const run = tracker.listRuns()[0]
  if (!run) throw new Error('no run')
  return { run, exported: JSON.parse(exportRunTrace(events, run.runId)) as Record<string, unknown> }
}

describe('trace files, lossless', () => {
  for (const [name, trace] of Object.entries(CORPUS)) {
    it(`import then export gives the file back: ${name}`, () => {
      const { exported } = roundTrip(name, trace)
      expect(exported).toEqual(trace)
    })
  }

  it('runs with errors read failed, with or without a task that owns the error', () => {
    expect(roundTrip('a', CORPUS['errors without a task'] as Record<string, unknown>).run).toMatchObject({ status: 'failed', exitReason: 'ERROR' })
    expect(roundTrip('b', CORPUS['a failed task'] as Record<string, unknown>).run).toMatchObject({ status: 'failed', failedTasks: 1 })
    expect(roundTrip('c', CORPUS['costs and inputs'] as Record<string, unknown>).run).toMatchObject({ status: 'completed', exitReason: 'COMPLETED' })
  })

  it('export file names are safe for every ensemble id', () => {
    const ids = ['..', '.', '...', '../../etc/passwd', 'a/b\\c', 'x.', '.hidden', 'a..b', '', '   ', 'CON', 'nul.txt', 'com1', 'ünïcødé', 'x'.repeat(500), 'run:1:2', '2f1c9a7e-0000-4000-8000-000000000001']
    for (const id of ids) {
      const name = traceFileName(id)
      expect(name, id).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*\.trace\.json$/)
      expect(name, id).not.toContain('..')
      expect(name.length, id).toBeLessThanOrEqual(131)
      expect(name.replace(/\.trace\.json$/, ''), id).not.toMatch(/^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i)
    }
    expect(traceFileName('2f1c9a7e-0000-4000-8000-000000000001')).toBe('2f1c9a7e-0000-4000-8000-000000000001.trace.json')
  })
})
