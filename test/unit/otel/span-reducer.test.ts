// vigil_span records in the shared run reducer: the span kept for the waterfall, the LLM call, tool call
// or failed task derived from it, duplicates ignored, the per-run bound counted; and a page applying the
// same ops as deltas ends with what the main process holds.
import { describe, expect, it } from 'vitest'
import { DEFAULT_DETAIL_LIMITS } from '../../../src/main/live/run-tracker'
import { SPAN_LIMIT } from '../../../src/shared/model/otel-spans'
import { applyRunOp, applyRunOps, newRunState, type RunOp } from '../../../src/shared/model/run-reducer'
import type { VigilSpanMessage } from '../../../src/shared/protocol/agentensemble'

function rec(spanId: string, extra: Partial<VigilSpanMessage> = {}): VigilSpanMessage {
  return {
    type: 'vigil_span', traceId: 'ab'.repeat(16), spanId, parentSpanId: 'root0000root0000', name: `span ${spanId}`, category: 'step', spanKind: 'INTERNAL',
    startedAt: '2026-03-01T10:00:01.000000000Z', endedAt: '2026-03-01T10:00:02.500000000Z', durationMs: 1500, status: 'UNSET', error: null,
    service: 'svc', agentName: null, operation: null, model: null, provider: null, toolName: null, toolCallId: null, toolArguments: null, toolResult: null, dropped: 0,
    ...extra
  }
}
const op = (message: VigilSpanMessage): RunOp => ({ op: 'message', at: '2026-03-01T10:00:03Z', message })
const fresh = () => newRunState({ runId: 'otel:svc/x:x:1', sourceId: 'otel', producerId: 'svc/x', ensembleId: 'x', workflow: 'svc', startedAt: '2026-03-01T10:00:01Z', streamStale: false }, DEFAULT_DETAIL_LIMITS)

describe('vigil_span in the run reducer', () => {
  it('derives LLM calls, tool calls and failed tasks; the root names the run and moves its start', () => {
    const run = fresh()
    const ops = [
      op(rec('c1', { category: 'llm', agentName: 'planner', model: 'gpt-4o', inputTokens: 10, outputTokens: 2, inputMessages: [{ role: 'user', content: 'hi', toolCalls: null, toolName: null }], outputText: 'hello' })),
      op(rec('c2', { category: 'llm', agentName: 'planner', name: 'span c1', status: 'ERROR', error: '429' })),
      op(rec('t1', { category: 'tool', toolName: 'search', toolArguments: '{}', toolResult: '[]' })),
      op(rec('root0000root0000', { parentSpanId: null, name: 'handle', category: 'agent', startedAt: '2026-03-01T10:00:00.000000000Z' })),
      op(rec('t1', { category: 'tool', toolName: 'search' }))
    ]
    for (const o of ops) applyRunOp(run, o, 100)
    expect(run.spans?.map((s) => s.spanId)).toEqual(['c1', 'c2', 't1', 'root0000root0000'])
    expect(run.workflow).toBe('handle')
    expect(run.startedAt).toBe('2026-03-01T10:00:00.000000000Z')
    expect(run.iterations.map((i) => [i.agentRole, i.iterationIndex, i.inputTokens, i.responseType, i.responseText])).toEqual([
      ['planner', 0, 10, 'FINAL_ANSWER', 'hello'],
      ['planner', 1, null, 'ERROR', null]
    ])
    expect(run.iterations[0]!.startedAt).toBe('2026-03-01T10:00:01.000000000Z')
    // The duplicate t1 (a retried batch) added nothing.
    expect(run.toolCalls.map((t) => [t.toolName, t.outcome, t.arguments])).toEqual([['search', 'SUCCESS', '{}']])
    expect(run.tasks.map((t) => [t.description, t.status, t.failureReason])).toEqual([
      ['span c1', 'failed', '429'],
      ['handle', 'completed', null]
    ])
    expect(run.failedTasks).toBe(1)
    // The event list says what is known: counts only where the span has them, a failed call with its error.
    const said = run.recentEvents.filter((e) => e.type === 'llm_iteration_completed').map((e) => e.summary)
    expect(said).toEqual(['planner called gpt-4o: 10 tokens in, 2 out, 1.5 s', "planner's call to a model failed after 1.5 s: 429"])
  })

  it('a page applying the ops as deltas ends equal to the main process', () => {
    const server = fresh()
    const page = structuredClone(server)
    const ops = [op(rec('a', { category: 'llm' })), op(rec('b', { category: 'tool' })), op(rec('c', { status: 'ERROR', error: 'x' })), op(rec('a'))]
    for (const o of ops) applyRunOp(server, o, 100)
    expect(applyRunOps(page, ops, 100)).toEqual(server)
    // The page's earlier detail is left as it was.
    expect(page.spans).toBeUndefined()
  })

  it(`keeps the newest ${SPAN_LIMIT} spans and counts the rest`, () => {
    const run = fresh()
    for (let i = 0; i < SPAN_LIMIT + 5; i++) applyRunOp(run, op(rec(`s${i}`)), 10)
    expect(run.spans).toHaveLength(SPAN_LIMIT)
    expect(run.spans![0]!.spanId).toBe('s5')
    expect(run.dropped.spans).toBe(5)
  })
})

describe('RunTracker with one stream per trace', () => {
  it('forgets an OpenTelemetry stream with its last run, so streams stay bounded by runs', async () => {
    const { RunTracker } = await import('../../../src/main/live/run-tracker')
    const tracker = new RunTracker({ onRunUpdated: () => undefined, maxRuns: 3 })
    for (let i = 0; i < 50; i++) {
      const producer = `svc/${String(i).padStart(32, '0')}`
      tracker.ingest('otel', producer, { type: 'ensemble_started', ensembleId: String(i), startedAt: '2026-03-01T10:00:00Z', totalTasks: 0, workflow: 'svc' }, '2026-03-01T10:00:00Z')
      tracker.ingest('otel', producer, { type: 'ensemble_completed', ensembleId: String(i), completedAt: '2026-03-01T10:00:01Z', durationMs: 1000, exitReason: 'COMPLETED', totalTokens: 0, totalToolCalls: 0 }, '2026-03-01T10:00:01Z')
    }
    expect(tracker.listRuns()).toHaveLength(3)
    expect((tracker as unknown as { streams: Map<string, unknown> }).streams.size).toBeLessThanOrEqual(4)
  })
})
