import { describe, expect, it } from 'vitest'
import { drawMarkers, markerAt, markerKind, markerPoints, paintLane, type MarkerContext } from '../../../src/renderer/lib/timeline-markers'
import type { PlacedTool } from '../../../src/renderer/lib/run-details'
import type { ToolCallView } from '../../../src/shared/model/live'

const placed = (seq: number, at: number, outcome: string | null): PlacedTool => ({
  call: { seq, taskIndex: 1, agentRole: 'A', toolName: `tool ${seq}`, outcome, durationMs: 1, arguments: null, result: null, structuredResult: null, truncated: false } as ToolCallView,
  at,
  approximate: false
})
// 1 px per ms from t = 0 at chart x 12 (the timeline's padding); lanes of 30 px under a 26 px axis.
const view = { scale: (t: number) => 12 + t, left: 0, width: 400, top: 26, row: 30 }

describe('timeline markers', () => {
  it('places each call at its time on its lane, relative to the visible area', () => {
    const pts = markerPoints(
      [
        { y: 26, tools: [placed(1, 10, 'SUCCESS'), placed(2, 50, null)] },
        { y: 56, tools: [placed(3, 100, 'SUCCESS')] }
      ],
      view
    )
    expect(pts.map((p) => [p.placed.call.seq, p.x, p.y, p.kind, p.r])).toEqual([
      [1, 22, 15, 'ok', 4],
      [2, 62, 15, 'unknown', 4],
      [3, 112, 45, 'ok', 4]
    ])
  })

  it('draws failures larger and last, so successes never hide one; any outcome other than SUCCESS is a failure', () => {
    const pts = markerPoints([{ y: 26, tools: [placed(1, 10, 'FAILURE'), placed(2, 11, 'SUCCESS'), placed(3, 12, 'ERROR')] }], view)
    expect(pts.map((p) => [p.placed.call.seq, p.kind, p.r])).toEqual([
      [2, 'ok', 4],
      [1, 'bad', 5],
      [3, 'bad', 5]
    ])
    expect([markerKind('SUCCESS'), markerKind('FAILURE'), markerKind('TIMEOUT'), markerKind(null)]).toEqual(['ok', 'bad', 'bad', 'unknown'])
  })

  it('leaves out what is scrolled away (the canvas covers only the visible width)', () => {
    const tools = [placed(1, 0, 'SUCCESS'), placed(2, 300, 'SUCCESS'), placed(3, 700, 'SUCCESS')]
    const pts = markerPoints([{ y: 26, tools }], { ...view, left: 250, width: 300 })
    expect(pts.map((p) => [p.placed.call.seq, p.x])).toEqual([[2, 62]])
  })

  it('finds the marker under the pointer: the nearest one, within its radius and a little slop', () => {
    const pts = markerPoints([{ y: 26, tools: [placed(1, 10, 'SUCCESS'), placed(2, 16, 'FAILURE')] }], view)
    expect(markerAt(pts, 22, 15)?.placed.call.seq).toBe(1)
    expect(markerAt(pts, 27, 15)?.placed.call.seq).toBe(2)
    expect(markerAt(pts, 22, 21)?.placed.call.seq).toBe(1)
    expect(markerAt(pts, 22, 22)).toBeNull()
    expect(markerAt(pts, 100, 15)).toBeNull()
  })

  it('clears and draws every marker with the colours of its outcome, at the device pixel ratio', () => {
    const calls: string[] = []
    const ctx: MarkerContext = {
      fillStyle: '',
      strokeStyle: '',
      lineWidth: 0,
      setTransform: (...a) => calls.push(`scale ${a[0]}`),
      clearRect: (x, y, w, h) => calls.push(`clear ${x} ${y} ${w} ${h}`),
      beginPath: () => undefined,
      arc: (x, y, r) => calls.push(`arc ${x} ${y} ${r}`),
      fill: () => calls.push(`fill ${String(ctx.fillStyle)}`),
      stroke: () => calls.push(`stroke ${String(ctx.strokeStyle)}`)
    }
    const pts = markerPoints([{ y: 26, tools: [placed(1, 10, 'FAILURE'), placed(2, 20, 'SUCCESS'), placed(3, 30, null)] }], view)
    drawMarkers(ctx, pts, { text2: 'grey', surface: 'white', failed: 'red' }, { width: 400, height: 30, ratio: 2 })
    expect(calls).toEqual([
      'scale 2',
      'clear 0 0 400 30',
      'arc 32 15 4',
      'fill grey',
      'stroke white',
      'arc 42 15 4',
      'fill white',
      'stroke grey',
      'arc 22 15 5',
      'fill red',
      'stroke white'
    ])
  })
})

describe('paintLane', () => {
  const recorder = () => {
    let arcs = 0
    const ctx: MarkerContext = { fillStyle: '', strokeStyle: '', lineWidth: 0, setTransform: () => undefined, clearRect: () => undefined, beginPath: () => undefined, arc: () => void arcs++, fill: () => undefined, stroke: () => undefined }
    return { canvas: { width: 0, height: 0, getContext: () => ctx }, arcs: () => arcs }
  }
  const colors = { text2: 'grey', surface: 'white', failed: 'red' }
  const tools = [placed(1, 10, 'SUCCESS'), placed(2, 20, 'FAILURE')]

  it('sizes the canvas in device pixels and draws a lane again only when its markers moved', () => {
    const { canvas, arcs } = recorder()
    const size = { width: 400, height: 30, ratio: 1.5 }
    expect(paintLane(canvas, markerPoints([{ y: 26, tools }], { ...view, top: 26 }), colors, size)).toBe(true)
    expect([canvas.width, canvas.height, arcs()]).toEqual([600, 45, 2])
    // The next frame: same calls, same scale (new arrays, equal content): nothing drawn.
    expect(paintLane(canvas, markerPoints([{ y: 26, tools: [...tools] }], { ...view, top: 26 }), colors, size)).toBe(false)
    // A new call, a rescaled axis, new colours: drawn.
    expect(paintLane(canvas, markerPoints([{ y: 26, tools: [...tools, placed(3, 30, 'SUCCESS')] }], { ...view, top: 26 }), colors, size)).toBe(true)
    expect(paintLane(canvas, markerPoints([{ y: 26, tools: [...tools, placed(3, 30, 'SUCCESS')] }], { ...view, top: 26, scale: (t) => 12 + 2 * t }), colors, size)).toBe(true)
    expect(paintLane(canvas, markerPoints([{ y: 26, tools: [...tools, placed(3, 30, 'SUCCESS')] }], { ...view, top: 26, scale: (t) => 12 + 2 * t }), { ...colors }, size)).toBe(true)
    expect(arcs()).toBe(2 + 3 + 3 + 3)
  })
})
