// Tool-call markers of the run timeline: one SVG path per lane and outcome instead of an element per call.
// A busy run keeps up to a thousand calls; as an element each (a <g>, its <title> and a <circle>) they
// were most of the page's elements and most of every frame's style, layout and paint (the timeline tab
// rendered every other frame at 1,000 events/s). (Canvases per lane cost as much again in layers to
// commit each frame.) A failed call is drawn larger, in the last path, so successes never hide one.
// The marker under the pointer is found here and shown in a tooltip of the view's own. Plain
// TypeScript, tested in Node.
import { isToolFailure, type PlacedTool } from './run-details'

export type MarkerKind = 'ok' | 'bad' | 'unknown'

export interface MarkerPoint {
  /** Chart coordinates (the SVG's, CSS pixels). */
  x: number
  y: number
  r: number
  kind: MarkerKind
  placed: PlacedTool
}

export function markerKind(outcome: string | null): MarkerKind {
  return outcome === 'SUCCESS' ? 'ok' : isToolFailure(outcome) ? 'bad' : 'unknown'
}

/**
 * The markers of some lanes (each with its chart y and its calls), at `scale(at)` on the lane's middle
 * (lanes `row` px tall). Failures are larger and listed last.
 */
export function markerPoints(lanes: ReadonlyArray<{ y: number; tools: readonly PlacedTool[] }>, scale: (t: number) => number, row: number): MarkerPoint[] {
  const ok: MarkerPoint[] = []
  const bad: MarkerPoint[] = []
  for (const lane of lanes) {
    const y = lane.y + row / 2
    for (const placed of lane.tools) {
      const kind = markerKind(placed.call.outcome)
      ;(kind === 'bad' ? bad : ok).push({ x: scale(placed.at), y, r: kind === 'bad' ? 5 : 4, kind, placed })
    }
  }
  return ok.concat(bad)
}

/** The marker under a point (the nearest within `slop` px of its edge), or null. */
export function markerAt(points: readonly MarkerPoint[], x: number, y: number, slop = 2): MarkerPoint | null {
  let best: MarkerPoint | null = null
  let bestDistance = Infinity
  for (const p of points) {
    const d = Math.hypot(p.x - x, p.y - y)
    if (d <= p.r + slop && d < bestDistance) {
      best = p
      bestDistance = d
    }
  }
  return best
}

/**
 * One SVG path of circles (the markers of one kind on one lane): a lane is three elements, however many
 * calls it holds. Each circle is two arcs from its left edge, at half-pixel coordinates; a circle at the
 * place of one already drawn is left out (it would draw the same pixels). So a busy task's lane, whose
 * calls pile up a few pixels apart, gets a new path only when a call lands on a new spot, not on every
 * call: the page then has nothing to lay out or paint for it.
 */
export function markerPath(points: readonly MarkerPoint[], kind: MarkerKind): string {
  const parts: string[] = []
  const drawn = new Set<string>()
  const n = (v: number) => String(Math.round(v * 2) / 2)
  for (const p of points) {
    if (p.kind !== kind) continue
    const circle = `M${n(p.x - p.r)} ${n(p.y)}a${p.r} ${p.r} 0 1 0 ${2 * p.r} 0a${p.r} ${p.r} 0 1 0 ${-2 * p.r} 0`
    if (drawn.has(circle)) continue
    drawn.add(circle)
    parts.push(circle)
  }
  return parts.join('')
}
