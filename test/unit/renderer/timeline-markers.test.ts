import { describe, expect, it } from 'vitest'
import { markerAt, markerKind, markerPath, markerPoints } from '../../../src/renderer/lib/timeline-markers'
import type { PlacedTool } from '../../../src/renderer/lib/run-details'
import type { ToolCallView } from '../../../src/shared/model/live'

const placed = (seq: number, at: number, outcome: string | null): PlacedTool => ({
  call: { seq, taskIndex: 1, agentRole: 'A', toolName: `tool ${seq}`, outcome, durationMs: 1, arguments: null, result: null, structuredResult: null, truncated: false } as ToolCallView,
  at,
  approximate: false
})
// 1 px per ms from t = 0 at chart x 12 (the timeline's padding); lanes of 30 px.
const scale = (t: number) => 12 + t
const ROW = 30

describe('timeline markers', () => {
  it('places each call at its time on the middle of its lane', () => {
    const pts = markerPoints(
      [
        { y: 0, tools: [placed(1, 10, 'SUCCESS'), placed(2, 50, null)] },
        { y: 30, tools: [placed(3, 100, 'SUCCESS')] }
      ],
      scale,
      ROW
    )
    expect(pts.map((p) => [p.placed.call.seq, p.x, p.y, p.kind, p.r])).toEqual([
      [1, 22, 15, 'ok', 4],
      [2, 62, 15, 'unknown', 4],
      [3, 112, 45, 'ok', 4]
    ])
  })

  it('draws failures larger and last, so successes never hide one; any outcome other than SUCCESS is a failure', () => {
    const pts = markerPoints([{ y: 0, tools: [placed(1, 10, 'FAILURE'), placed(2, 11, 'SUCCESS'), placed(3, 12, 'ERROR')] }], scale, ROW)
    expect(pts.map((p) => [p.placed.call.seq, p.kind, p.r])).toEqual([
      [2, 'ok', 4],
      [1, 'bad', 5],
      [3, 'bad', 5]
    ])
    expect([markerKind('SUCCESS'), markerKind('FAILURE'), markerKind('TIMEOUT'), markerKind(null)]).toEqual(['ok', 'bad', 'bad', 'unknown'])
  })

  it('finds the marker under the pointer: the nearest one, within its radius and a little slop', () => {
    const pts = markerPoints([{ y: 0, tools: [placed(1, 10, 'SUCCESS'), placed(2, 16, 'FAILURE')] }], scale, ROW)
    expect(markerAt(pts, 22, 15)?.placed.call.seq).toBe(1)
    expect(markerAt(pts, 27, 15)?.placed.call.seq).toBe(2)
    expect(markerAt(pts, 22, 21)?.placed.call.seq).toBe(1)
    expect(markerAt(pts, 22, 22)).toBeNull()
    expect(markerAt(pts, 100, 15)).toBeNull()
  })

  it('draws the markers of one kind on a lane as one path of circles (two arcs each, from the left edge)', () => {
    const pts = markerPoints([{ y: 26, tools: [placed(1, 10, 'SUCCESS'), placed(2, 20.04, 'SUCCESS'), placed(3, 30, 'FAILURE')] }], scale, ROW)
    expect(markerPath(pts, 'ok')).toBe('M18 41a4 4 0 1 0 8 0a4 4 0 1 0 -8 0M28 41a4 4 0 1 0 8 0a4 4 0 1 0 -8 0')
    expect(markerPath(pts, 'bad')).toBe('M37 41a5 5 0 1 0 10 0a5 5 0 1 0 -10 0')
    expect(markerPath(pts, 'unknown')).toBe('')
  })

  it('leaves out a circle drawn at the same half pixel as one before it, so more calls there keep the path', () => {
    const lane = (times: number[]) => markerPoints([{ y: 0, tools: times.map((t, i) => placed(i + 1, t, 'SUCCESS')) }], scale, ROW)
    const one = markerPath(lane([10]), 'ok')
    expect(one).toBe('M18 15a4 4 0 1 0 8 0a4 4 0 1 0 -8 0')
    // 10.1 and 10.2 ms land on the same half pixel: the same path, however many calls.
    expect(markerPath(lane([10, 10.1, 10.2, 10.1]), 'ok')).toBe(one)
    // 10.4 rounds to the next half pixel: a second circle.
    expect(markerPath(lane([10, 10.2, 10.4]), 'ok')).toBe(`${one}M18.5 15a4 4 0 1 0 8 0a4 4 0 1 0 -8 0`)
    // Kinds are kept apart: a failure at the same spot is drawn in its own path.
    const mixed = markerPoints([{ y: 0, tools: [placed(1, 10, 'SUCCESS'), placed(2, 10, 'FAILURE')] }], scale, ROW)
    expect(markerPath(mixed, 'ok')).toBe(one)
    expect(markerPath(mixed, 'bad')).toBe('M17 15a5 5 0 1 0 10 0a5 5 0 1 0 -10 0')
  })
})

