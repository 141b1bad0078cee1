// The rows of a span waterfall (views/run/RunSpans.svelte): spans nested under their parents, depth
// first, siblings by start time. A span whose parent has not arrived is shown at the top level
// (`orphan`); a cycle (a span claiming a descendant as parent) is cut where it repeats.
import type { SpanView } from '../../shared/model/live'

export interface SpanRow {
  span: SpanView
  depth: number
  startMs: number
  endMs: number
  /** The parent has not arrived (yet). */
  orphan: boolean
}

/** Epoch ms of an instant with up to 9 fraction digits (Date.parse keeps only milliseconds). */
export function instantMs(iso: string): number {
  const base = Date.parse(`${iso.slice(0, 19)}Z`)
  const frac = /\.(\d+)Z$/.exec(iso)?.[1] ?? ''
  return base + (frac ? Number(`0.${frac}`) * 1000 : 0)
}

export function spanRows(spans: readonly SpanView[]): SpanRow[] {
  const byId = new Map<string, SpanView>()
  for (const s of spans) byId.set(s.spanId, s)
  const children = new Map<string, SpanView[]>()
  const tops: SpanView[] = []
  for (const s of spans) {
    if (s.parentSpanId !== null && s.parentSpanId !== s.spanId && byId.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? []
      list.push(s)
      children.set(s.parentSpanId, list)
    } else tops.push(s)
  }
  const byStart = (a: SpanView, b: SpanView) => instantMs(a.startedAt) - instantMs(b.startedAt)
  const out: SpanRow[] = []
  const seen = new Set<string>()
  // Depth first, iteratively (a deep trace must not overflow the stack).
  const stack: { span: SpanView; depth: number }[] = tops.sort(byStart).reverse().map((span) => ({ span, depth: 0 }))
  const emit = (span: SpanView, depth: number) => {
    seen.add(span.spanId)
    out.push({ span, depth, startMs: instantMs(span.startedAt), endMs: instantMs(span.endedAt), orphan: span.parentSpanId !== null && !byId.has(span.parentSpanId) })
    const kids = (children.get(span.spanId) ?? []).slice().sort(byStart)
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ span: kids[i]!, depth: depth + 1 })
  }
  for (;;) {
    while (stack.length) {
      const { span, depth } = stack.pop()!
      if (!seen.has(span.spanId)) emit(span, depth)
    }
    // Spans only reachable through a cycle have no top: show the earliest of them at the top level.
    const left = spans.filter((s) => !seen.has(s.spanId))
    if (left.length === 0) return out
    stack.push({ span: left.sort(byStart)[0]!, depth: 0 })
  }
}
