// Tool-call markers of the run timeline: one SVG path per lane and outcome instead of an element per call.
// A busy run keeps up to a thousand calls; as an element each (a <g>, its <title> and a <circle>) they
// were most of the page's elements and most of every frame's style, layout and paint (the timeline tab
// rendered every other frame at 1,000 events/s). (Canvases per lane cost as much again in layers to
// commit each frame.) The marker under the pointer is found here and shown in a tooltip of the view's
// own. Plain TypeScript, tested in Node.
import { isToolFailure, type PlacedTool } from './run-details'

export type MarkerKind = 'ok' | 'bad' | 'unknown'

export interface MarkerPoint {
  /** Where it is drawn (CSS pixels), relative to `view.left` and `view.top`. */
  x: number
  y: number
  r: number
  kind: MarkerKind
  placed: PlacedTool
}

export interface MarkerView {
  /** Chart x of a time (the SVG's coordinates). */
  scale: (t: number) => number
  /** Chart x of the drawing's left edge, and the width drawn (markers outside it are left out). */
  left: number
  width: number
  /** Chart y of the drawing's top edge, and the height of one lane. */
  top: number
  row: number
}

export function markerKind(outcome: string | null): MarkerKind {
  return outcome === 'SUCCESS' ? 'ok' : isToolFailure(outcome) ? 'bad' : 'unknown'
}

/**
 * The markers to draw: for each lane (its chart y and its calls), those inside the visible width.
 * A failed call is drawn larger and last, so a run of successes never hides one.
 */
export function markerPoints(lanes: ReadonlyArray<{ y: number; tools: readonly PlacedTool[] }>, view: MarkerView): MarkerPoint[] {
  const ok: MarkerPoint[] = []
  const bad: MarkerPoint[] = []
  for (const lane of lanes) {
    const y = lane.y + view.row / 2 - view.top
    for (const placed of lane.tools) {
      const kind = markerKind(placed.call.outcome)
      const r = kind === 'bad' ? 5 : 4
      const x = view.scale(placed.at) - view.left
      if (x < -r || x > view.width + r) continue
      ;(kind === 'bad' ? bad : ok).push({ x, y, r, kind, placed })
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
 * calls it holds. Each circle is two arcs from its left edge; coordinates rounded to 0.1 px.
 */
export function markerPath(points: readonly MarkerPoint[], kind: MarkerKind): string {
  const parts: string[] = []
  const n = (v: number) => String(Math.round(v * 10) / 10)
  for (const p of points) {
    if (p.kind !== kind) continue
    parts.push(`M${n(p.x - p.r)} ${n(p.y)}a${p.r} ${p.r} 0 1 0 ${2 * p.r} 0a${p.r} ${p.r} 0 1 0 ${-2 * p.r} 0`)
  }
  return parts.join('')
}
