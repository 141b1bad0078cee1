// An AgentEnsemble run (as Vigil holds it: RunDetail, bounded) → OTLP spans with the GenAI semantic
// conventions: run → root span, tasks → `invoke_agent` spans, LLM iterations → `chat` client spans,
// tool calls → `execute_tool` spans; failures → status ERROR and an `exception` event. Ids are derived
// from the run id (span-common.ts), so exporting a run again is idempotent. docs/otel.md has the table.
import type { RunDetail, SpanView, TaskView } from '../../../shared/model/live'
import { SPAN_KIND, STATUS_CODE, type OtlpKeyValue, type OtlpSpan, type OtlpStatus } from '../otlp-model'
import { attrs, clip, exceptionEvent, msOf, nanos, span, spanIdFor, traceIdFor } from './span-common'

/** The kind part of an AgentEnsemble run's trace id (traceIdFor('agentensemble-run', runId)). */
export const RUN_TRACE_KIND = 'agentensemble-run'

/** `TOOL_CALLS` → tool_calls, `FINAL_ANSWER` → stop (gen_ai.response.finish_reasons). */
function finishReason(responseType: string | null): string | null {
  if (responseType === 'TOOL_CALLS') return 'tool_calls'
  if (responseType === 'FINAL_ANSWER') return 'stop'
  return responseType ? responseType.toLowerCase() : null
}

function taskFailed(task: TaskView): boolean {
  return task.status === 'failed'
}

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/
const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']

/** An ISO time with up to nanosecond digits (as the receiver keeps them) → nanoseconds, exactly. */
export function isoNanos(iso: string): bigint | null {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(iso)
  if (!m) {
    const ms = msOf(iso)
    return ms === null ? null : nanos(ms)
  }
  const base = Date.parse(`${m[1]}Z`)
  if (!Number.isFinite(base)) return null
  return BigInt(base) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'))
}

/**
 * A run Vigil received as OpenTelemetry spans (POST /v1/traces) is sent on with its own trace and span
 * ids, so a collector that also got the agent's spans directly, or a chain of Vigils, keeps one copy (and
 * two Vigils forwarding to each other stop after one echo: the second copy changes nothing). Null when
 * the run did not come from spans.
 */
export function receivedRunSpans(run: RunDetail): OtlpSpan[] | null {
  const views = run.spans ?? []
  const traceId = run.ensembleId ?? ''
  if (views.length === 0 || !TRACE_ID.test(traceId)) return null
  const out: OtlpSpan[] = []
  for (const v of views) {
    if (!SPAN_ID.test(v.spanId)) continue
    const start = isoNanos(v.startedAt)
    const end = isoNanos(v.endedAt)
    if (start === null || end === null) continue
    const failed = v.status === 'ERROR'
    out.push({
      traceId,
      spanId: v.spanId,
      parentSpanId: v.parentSpanId && SPAN_ID.test(v.parentSpanId) ? v.parentSpanId : '',
      flags: 1,
      name: v.name,
      kind: Math.max(0, KIND_NAMES.indexOf(v.spanKind)),
      startTimeUnixNano: start,
      endTimeUnixNano: end < start ? start : end,
      attributes: receivedAttributes(v),
      events: failed && v.error ? [{ ...exceptionEvent(0, 'Error', v.error), timeUnixNano: end }] : [],
      links: [],
      ...(v.status === 'ERROR' ? { status: { code: STATUS_CODE.error, ...(v.error ? { message: v.error } : {}) } } : v.status === 'OK' ? { status: { code: STATUS_CODE.ok } } : {})
    })
  }
  return out
}

function receivedAttributes(v: SpanView): OtlpKeyValue[] {
  const known = attrs({
    'gen_ai.operation.name': v.operation,
    'gen_ai.request.model': v.model,
    'gen_ai.provider.name': v.provider,
    'gen_ai.usage.input_tokens': v.inputTokens,
    'gen_ai.usage.output_tokens': v.outputTokens,
    'gen_ai.tool.name': v.toolName,
    'gen_ai.agent.name': v.agentName,
    // The service that sent it (every span goes out under Vigil's resource).
    'vigil.origin.service': v.service
  })
  const taken = new Set(known.map((kv) => kv.key))
  // The other attributes as the receiver kept them (as text, bounded).
  for (const [key, value] of Object.entries(v.attributes)) if (!taken.has(key)) known.push({ key, value: { stringValue: value } })
  return known
}

/** The spans of one run, root first. A run with no start time uses its first known time. */
export function runSpans(run: RunDetail): OtlpSpan[] {
  const received = receivedRunSpans(run)
  if (received) return received
  const traceId = traceIdFor(RUN_TRACE_KIND, run.runId)
  const rootId = spanIdFor(traceId, 'run')
  const times = [msOf(run.startedAt), msOf(run.endedAt), msOf(run.lastEventAt)]
  for (const t of run.tasks) times.push(msOf(t.startedAt), msOf(t.endedAt))
  const known = times.filter((t): t is number => t !== null)
  const runStart = msOf(run.startedAt) ?? (known.length ? Math.min(...known) : Date.now())
  const runEnd = msOf(run.endedAt) ?? msOf(run.lastEventAt) ?? (known.length ? Math.max(...known) : runStart)

  const failed = run.status === 'failed' || run.exitReason === 'ERROR'
  const rootStatus: OtlpStatus | undefined = failed ? { code: STATUS_CODE.error, message: clip(run.exitReason ?? 'The run failed.') ?? undefined } : undefined
  const spans: OtlpSpan[] = [
    span({
      traceId,
      spanId: rootId,
      parentSpanId: '',
      name: `run ${run.workflow ?? run.ensembleId ?? 'agentensemble'}`,
      kind: SPAN_KIND.internal,
      startMs: runStart,
      endMs: runEnd,
      attributes: attrs({
        'vigil.run.id': run.runId,
        'vigil.source.id': run.sourceId,
        'vigil.producer.id': run.producerId,
        'vigil.run.kind': 'agentensemble',
        'vigil.run.status': run.status,
        'vigil.run.exit_reason': run.exitReason ?? null,
        'agentensemble.ensemble.id': run.ensembleId,
        'agentensemble.workflow': run.workflow,
        'vigil.run.tasks.total': run.totalTasks,
        'vigil.run.tasks.completed': run.completedTasks,
        'vigil.run.tasks.failed': run.failedTasks,
        // What Vigil's bounds dropped before export (the spans below are what it still held).
        'vigil.run.dropped.tasks': run.dropped?.tasks || null,
        'vigil.run.dropped.llm_iterations': run.dropped?.iterations || null,
        'vigil.run.dropped.tool_calls': run.dropped?.toolCalls || null
      }),
      status: rootStatus,
      events: failed ? [exceptionEvent(runEnd, 'RunFailed', run.exitReason ?? 'The run failed.')] : []
    })
  ]

  const taskSpanIds = new Map<number, string>()
  for (const task of run.tasks) {
    const id = spanIdFor(traceId, `task:${task.taskIndex}`)
    taskSpanIds.set(task.taskIndex, id)
    const start = msOf(task.startedAt) ?? runStart
    const end = msOf(task.endedAt) ?? (task.durationMs !== null ? start + task.durationMs : runEnd)
    const bad = taskFailed(task)
    spans.push(
      span({
        traceId,
        spanId: id,
        parentSpanId: rootId,
        name: `invoke_agent ${task.agentRole || 'agent'}`,
        kind: SPAN_KIND.internal,
        startMs: start,
        endMs: end,
        attributes: attrs({
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': task.agentRole || null,
          'agentensemble.task.index': task.taskIndex,
          'agentensemble.task.description': clip(task.description),
          'agentensemble.task.status': task.status,
          'agentensemble.task.tool_calls': task.toolCalls
        }),
        status: bad ? { code: STATUS_CODE.error, message: clip(task.failureReason ?? 'The task failed.') ?? undefined } : undefined,
        events: bad ? [exceptionEvent(end, 'TaskFailed', task.failureReason ?? 'The task failed.')] : []
      })
    )
  }
  const parentOf = (taskIndex: number | null): string => (taskIndex !== null ? (taskSpanIds.get(taskIndex) ?? rootId) : rootId)

  // Iterations have no id of their own: task, role and index, plus an occurrence count for repeats.
  const seen = new Map<string, number>()
  for (const it of run.iterations ?? []) {
    const base = `${it.taskIndex ?? '-'}:${it.agentRole}:${it.iterationIndex}`
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    const completed = msOf(it.completedAt)
    const started = msOf(it.startedAt)
    const latency = it.latencyMs ?? (completed !== null && started !== null ? completed - started : 0)
    // Frames carry no timestamps: the completion's receive time minus the reported latency is the best start.
    const end = completed ?? (started !== null ? started + latency : runEnd)
    const start = completed !== null ? completed - latency : (started ?? end)
    spans.push(
      span({
        traceId,
        spanId: spanIdFor(traceId, `llm:${base}:${n}`),
        parentSpanId: parentOf(it.taskIndex),
        name: 'chat',
        kind: SPAN_KIND.client,
        startMs: start,
        endMs: end,
        attributes: attrs({
          'gen_ai.operation.name': 'chat',
          'gen_ai.agent.name': it.agentRole || null,
          'gen_ai.usage.input_tokens': it.inputTokens,
          'gen_ai.usage.output_tokens': it.outputTokens,
          'gen_ai.response.finish_reasons': finishReason(it.responseType) ? [finishReason(it.responseType) as string] : null,
          'agentensemble.llm.iteration': it.iterationIndex,
          'agentensemble.llm.latency_ms': it.latencyMs,
          'agentensemble.llm.tool_requests': it.toolRequests.length || null
        })
      })
    )
  }

  for (const call of run.toolCalls ?? []) {
    const end = msOf(call.at) ?? runEnd
    const start = end - Math.max(0, call.durationMs)
    const bad = call.outcome !== null && call.outcome !== 'SUCCESS'
    spans.push(
      span({
        traceId,
        spanId: spanIdFor(traceId, `tool:${call.seq}`),
        parentSpanId: parentOf(call.taskIndex),
        name: `execute_tool ${call.toolName ?? 'tool'}`,
        kind: SPAN_KIND.internal,
        startMs: start,
        endMs: end,
        attributes: attrs({
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': call.toolName,
          'gen_ai.tool.type': 'function',
          'gen_ai.agent.name': call.agentRole,
          'agentensemble.tool.outcome': call.outcome,
          'agentensemble.tool.duration_ms': call.durationMs
        }),
        status: bad ? { code: STATUS_CODE.error, message: `Tool outcome ${call.outcome}` } : undefined,
        events: bad ? [exceptionEvent(end, 'ToolFailed', clip(call.result) ?? `Tool outcome ${call.outcome}`)] : []
      })
    )
  }
  return spans
}
