// The span waterfall's rows: nesting by parent, siblings by start, orphans at the top level, cycles cut.
import { describe, expect, it } from 'vitest'
import { instantMs, spanRows } from '../../../src/renderer/lib/span-tree'
import type { SpanView } from '../../../src/shared/model/live'

function span(id: string, parent: string | null, startSec: number): SpanView {
  const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, '0')}.000000000Z`
  return { spanId: id, parentSpanId: parent, name: id, category: 'step', spanKind: 'INTERNAL', startedAt: at(startSec), endedAt: at(startSec + 1), durationMs: 1000, status: 'UNSET', error: null, service: null, agentName: null, operation: null, model: null, provider: null, inputTokens: null, outputTokens: null, toolName: null, attributes: {}, dropped: 0 }
}

describe('spanRows', () => {
  it('nests children under parents depth first, siblings by start time, whatever the arrival order', () => {
    const rows = spanRows([span('c2', 'root', 5), span('gc', 'c1', 3), span('c1', 'root', 2), span('root', null, 1)])
    expect(rows.map((r) => [r.span.spanId, r.depth])).toEqual([['root', 0], ['c1', 1], ['gc', 2], ['c2', 1]])
  })

  it('a span whose parent has not arrived is at the top level, marked', () => {
    const rows = spanRows([span('a', 'missing', 2), span('root', null, 1)])
    expect(rows.map((r) => [r.span.spanId, r.depth, r.orphan])).toEqual([['root', 0, false], ['a', 0, true]])
  })

  it('a cycle is shown once, never loops', () => {
    const rows = spanRows([span('x', 'y', 1), span('y', 'x', 2), span('self', 'self', 3)])
    expect(rows.map((r) => r.span.spanId).sort()).toEqual(['self', 'x', 'y'])
  })

  it('keeps nanoseconds below the millisecond', () => {
    expect(instantMs('2026-01-01T00:00:00.000250000Z') - instantMs('2026-01-01T00:00:00Z')).toBeCloseTo(0.25, 6)
  })
})
