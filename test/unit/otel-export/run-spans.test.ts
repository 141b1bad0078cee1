// AgentEnsemble run → OTLP spans, from a run a real RunTracker built out of protocol frames: the root
// span, invoke_agent spans per task, chat spans per LLM iteration (tokens, latency as duration),
// execute_tool spans, failures as status ERROR with an exception event, deterministic ids.
import { describe, expect, it } from 'vitest'
import { RunTracker } from '../../../src/main/live/run-tracker'
import { runSpans } from '../../../src/main/otel/export/run-spans'
import { SPAN_KIND, STATUS_CODE, type OtlpAnyValue, type OtlpSpan } from '../../../src/main/otel/otlp-model'
import type { ServerMessage } from '../../../src/shared/protocol/agentensemble'
import { realisticRun } from '../hub/frames'

const T0 = '2026-03-05T14:00:00Z'
const at = (sec: number) => new Date(Date.parse(T0) + sec * 1000).toISOString()
const ms = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n

function attr(s: OtlpSpan, key: string): string | number | boolean | string[] | undefined {
  const v: OtlpAnyValue | undefined = s.attributes.find((a) => a.key === key)?.value
  if (!v) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.arrayValue) return v.arrayValue.values.map((x) => x.stringValue ?? '')
  return undefined
}

function failingRun(): { tracker: RunTracker; runId: string } {
  const tracker = new RunTracker({ onRunUpdated: () => undefined })
  const feed = (m: ServerMessage, sec: number) => tracker.ingest('src-1', null, m, at(sec))
  feed({ type: 'ensemble_started', ensembleId: 'e-42', startedAt: at(0), totalTasks: 2, workflow: 'SEQUENTIAL' }, 0)
  feed({ type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Research', agentRole: 'Researcher', startedAt: at(1) }, 1)
  feed({ type: 'llm_iteration_started', agentRole: 'Researcher', taskDescription: 'Research', iterationIndex: 0, messages: [], totalMessageCount: 0 }, 2)
  feed({ type: 'llm_iteration_completed', agentRole: 'Researcher', taskDescription: 'Research', iterationIndex: 0, responseType: 'TOOL_CALLS', inputTokens: 1200, outputTokens: 80, latencyMs: 1500 }, 4)
  feed({ type: 'tool_called', agentRole: 'Researcher', taskIndex: 1, toolName: 'web_search', durationMs: 700, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'ok', structuredResult: null }, 5)
  feed({ type: 'llm_iteration_started', agentRole: 'Researcher', taskDescription: 'Research', iterationIndex: 1, messages: [], totalMessageCount: 0 }, 6)
  feed({ type: 'llm_iteration_completed', agentRole: 'Researcher', taskDescription: 'Research', iterationIndex: 1, responseType: 'FINAL_ANSWER', inputTokens: 1500, outputTokens: 300, latencyMs: 2000 }, 8)
  feed({ type: 'task_completed', taskIndex: 1, totalTasks: 2, taskDescription: 'Research', agentRole: 'Researcher', completedAt: at(9), durationMs: 8000, tokenCount: 3080, toolCallCount: 1 }, 9)
  feed({ type: 'task_started', taskIndex: 2, totalTasks: 2, taskDescription: 'Write', agentRole: 'Writer', startedAt: at(10) }, 10)
  feed({ type: 'tool_called', agentRole: 'Writer', taskIndex: 2, toolName: 'file_write', durationMs: 100, outcome: 'FAILURE', toolArguments: '{}', toolResult: 'disk full', structuredResult: null }, 11)
  feed({ type: 'task_failed', taskIndex: 2, taskDescription: 'Write', agentRole: 'Writer', failedAt: at(12), reason: 'Could not write the post' }, 12)
  feed({ type: 'ensemble_completed', ensembleId: 'e-42', completedAt: at(13), durationMs: 13000, exitReason: 'ERROR', totalTokens: 3080, totalToolCalls: 2 }, 13)
  return { tracker, runId: tracker.listRuns()[0]!.runId }
}

describe('runSpans (AgentEnsemble run → OTLP)', () => {
  it('maps run, tasks, LLM iterations and tool calls with GenAI attributes and parents', () => {
    const { tracker, runId } = failingRun()
    const spans = runSpans(tracker.getRun(runId, 0)!)
    const root = spans[0]!
    expect(root.parentSpanId).toBe('')
    expect(root.name).toBe('run SEQUENTIAL')
    expect(root.startTimeUnixNano).toBe(ms(at(0)))
    expect(root.endTimeUnixNano).toBe(ms(at(13)))
    expect(attr(root, 'vigil.run.id')).toBe(runId)
    expect(attr(root, 'agentensemble.ensemble.id')).toBe('e-42')
    expect(attr(root, 'vigil.run.tasks.failed')).toBe(1)
    expect(root.status).toEqual({ code: STATUS_CODE.error, message: 'ERROR' })
    expect(root.events.map((e) => e.name)).toEqual(['exception'])

    const agents = spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'invoke_agent')
    expect(agents.map((s) => [s.name, attr(s, 'gen_ai.agent.name'), s.parentSpanId])).toEqual([
      ['invoke_agent Researcher', 'Researcher', root.spanId],
      ['invoke_agent Writer', 'Writer', root.spanId]
    ])
    expect(agents[0]!.startTimeUnixNano).toBe(ms(at(1)))
    expect(agents[0]!.endTimeUnixNano).toBe(ms(at(9)))
    expect(agents[0]!.status).toBeUndefined()
    expect(agents[1]!.status).toEqual({ code: STATUS_CODE.error, message: 'Could not write the post' })
    expect(agents[1]!.events[0]!.attributes.find((a) => a.key === 'exception.message')?.value).toEqual({ stringValue: 'Could not write the post' })

    const chats = spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'chat')
    expect(chats).toHaveLength(2)
    expect(chats.every((s) => s.kind === SPAN_KIND.client && s.parentSpanId === agents[0]!.spanId)).toBe(true)
    expect(chats.map((s) => [attr(s, 'gen_ai.usage.input_tokens'), attr(s, 'gen_ai.usage.output_tokens'), attr(s, 'gen_ai.response.finish_reasons')])).toEqual([
      [1200, 80, ['tool_calls']],
      [1500, 300, ['stop']]
    ])
    // Latency as duration, ending when the completion arrived.
    expect(chats[0]!.endTimeUnixNano).toBe(ms(at(4)))
    expect(chats[0]!.endTimeUnixNano - chats[0]!.startTimeUnixNano).toBe(1_500_000_000n)

    const tools = spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'execute_tool')
    expect(tools.map((s) => [s.name, attr(s, 'gen_ai.tool.name'), s.parentSpanId])).toEqual([
      ['execute_tool web_search', 'web_search', agents[0]!.spanId],
      ['execute_tool file_write', 'file_write', agents[1]!.spanId]
    ])
    expect(tools[0]!.endTimeUnixNano - tools[0]!.startTimeUnixNano).toBe(700_000_000n)
    expect(tools[1]!.status?.code).toBe(STATUS_CODE.error)
    expect(tools[1]!.events[0]!.attributes.find((a) => a.key === 'exception.message')?.value).toEqual({ stringValue: 'disk full' })

    // One trace, unique span ids, every parent present.
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1)
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(spans.length)
    const ids = new Set(spans.map((s) => s.spanId))
    expect(spans.every((s) => s.parentSpanId === '' || ids.has(s.parentSpanId))).toBe(true)
  })

  it('gives the same ids when the run is exported again, other ids for another run', () => {
    const a = failingRun()
    const b = failingRun()
    expect(runSpans(a.tracker.getRun(a.runId, 0)!)).toEqual(runSpans(b.tracker.getRun(b.runId, 0)!))

    const tracker = new RunTracker({ onRunUpdated: () => undefined })
    for (const m of realisticRun('other')) tracker.ingest('src-1', null, m, T0)
    const other = runSpans(tracker.getRun(tracker.listRuns()[0]!.runId, 0)!)
    expect(other[0]!.traceId).not.toBe(runSpans(a.tracker.getRun(a.runId, 0)!)[0]!.traceId)
  })

  it('a realistic completed run: 3 tasks, 6 chats, 6 tools, no errors', () => {
    const tracker = new RunTracker({ onRunUpdated: () => undefined })
    for (const m of realisticRun('e-ok')) tracker.ingest('hub', 'svc', m, T0)
    const spans = runSpans(tracker.getRun(tracker.listRuns()[0]!.runId, 0)!)
    const count = (op: string) => spans.filter((s) => attr(s, 'gen_ai.operation.name') === op).length
    expect([count('invoke_agent'), count('chat'), count('execute_tool')]).toEqual([3, 6, 6])
    expect(spans.filter((s) => s.status?.code === STATUS_CODE.error)).toEqual([])
    expect(attr(spans[0]!, 'vigil.producer.id')).toBe('svc')
  })
})

describe('isoNanos', () => {
  it('keeps every digit of a received span’s time, and reads plain ISO times', async () => {
    const { isoNanos } = await import('../../../src/main/otel/export/run-spans')
    expect(isoNanos('2026-03-05T14:00:01.123456789Z')).toBe(1_772_719_201_123_456_789n)
    expect(isoNanos('2026-03-05T14:00:01.5Z')).toBe(1_772_719_201_500_000_000n)
    expect(isoNanos('2026-03-05T14:00:01Z')).toBe(1_772_719_201_000_000_000n)
    expect(isoNanos('not a time')).toBeNull()
  })
})
