// What a run shows of an OpenTelemetry span (issue 15): the `vigil_span` record the OTLP receiver
// (src/main/otel) journals with a run becomes a SpanView for the span waterfall, and, by its category,
// an LLM call, a tool call or a task (run-reducer.ts applies them). Pure: imports only src/shared.
import type { VigilSpanMessage } from '../protocol/agentensemble'
import type { SpanView } from './live'

/** Spans kept per run unless RunDetailLimits.spans says otherwise; past it the oldest go (counted). */
export const SPAN_LIMIT = 2000

/** Span categories and the words the interface uses for them. */
export const SPAN_CATEGORY_LABELS: Readonly<Record<string, string>> = {
  llm: 'LLM call',
  embeddings: 'Embeddings',
  tool: 'Tool call',
  agent: 'Agent',
  step: 'Step'
}

function clip(text: string | null | undefined, max: number): string | null {
  if (text === null || text === undefined) return null
  return text.length > max ? text.slice(0, max) : text
}

/** The view of a span record, texts cut to `textChars`. */
export function spanView(m: VigilSpanMessage, textChars: number): SpanView {
  const attributes: Record<string, string> = {}
  for (const [k, v] of Object.entries(m.attributes ?? {})) attributes[clip(k, 200) ?? ''] = clip(v, textChars) ?? ''
  return {
    spanId: m.spanId,
    parentSpanId: m.parentSpanId,
    name: clip(m.name, textChars) ?? '',
    category: m.category,
    spanKind: m.spanKind,
    startedAt: m.startedAt,
    endedAt: m.endedAt,
    durationMs: m.durationMs,
    status: m.status,
    error: clip(m.error, textChars),
    service: clip(m.service, textChars),
    agentName: clip(m.agentName, textChars),
    operation: clip(m.operation, textChars),
    model: clip(m.model, textChars),
    provider: clip(m.provider, textChars),
    inputTokens: m.inputTokens ?? null,
    outputTokens: m.outputTokens ?? null,
    toolName: clip(m.toolName, textChars),
    attributes,
    dropped: m.dropped
  }
}

/** Who a span's LLM call, tool call or task is attributed to: its agent, else its service. */
export function spanActor(m: Pick<VigilSpanMessage, 'agentName' | 'service'>): string {
  return m.agentName ?? m.service ?? 'unknown'
}

/** Milliseconds as the run views print them. */
/**
 * A label on a time axis `range` ms long, precise enough that the axis's quarter ticks read apart (a
 * 3 ms trace labelled 0.76, 2, 2 and 3 ms by spanDurationText read as a fault).
 */
export function spanAxisText(ms: number, range: number): string {
  if (range >= 10) return spanDurationText(ms)
  if (range < 1) return `${(ms * 1000).toFixed(range < 0.01 ? 2 : 0)} µs`
  return ms < 1 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`
}

export function spanDurationText(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}
