// Tool-call markers of the run timeline, drawn on canvases instead of an SVG element each: a busy run
// keeps up to a thousand of them, and as SVG they were most of the page's elements and most of every
// frame's style, layout and paint (the timeline tab rendered every other frame at 1,000 events/s).
// One small canvas per lane in view, as wide as the visible part of the chart (so its size stays bounded
// at any zoom), redrawn only when its own markers moved: a busy run's frame redraws the newest lane, not
// all of them (one canvas over the whole view cost a 4 MB bitmap upload every frame). Plain TypeScript,
// tested in Node.
import { isToolFailure, type PlacedTool } from './run-details'

export type MarkerKind = 'ok' | 'bad' | 'unknown'

export interface MarkerPoint {
  /** Canvas coordinates (CSS pixels), relative to the visible area's top-left corner. */
  x: number
  y: number
  r: number
  kind: MarkerKind
  placed: PlacedTool
}

export interface MarkerView {
  /** Chart x of a time (the SVG's coordinates). */
  scale: (t: number) => number
  /** Chart x at the canvas's left edge (the scroller's scrollLeft) and the canvas's width. */
  left: number
  width: number
  /** Chart y of the canvas's top edge, and the height of one lane. */
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

/** The marker under a point of the canvas (the nearest within `slop` px of its edge), or null. */
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

export interface MarkerColors {
  /** --text-2: a successful call's fill, the ring of one with no outcome. */
  text2: string
  /** --surface: the ring around filled markers (so touching markers read apart), the fill of unknown ones. */
  surface: string
  /** --status-failed */
  failed: string
}

/** The 2D context calls drawMarkers needs (a canvas's CanvasRenderingContext2D, or a recorder in tests). */
export interface MarkerContext {
  fillStyle: unknown
  strokeStyle: unknown
  lineWidth: number
  setTransform(a: number, b: number, c: number, d: number, e: number, f: number): void
  clearRect(x: number, y: number, w: number, h: number): void
  beginPath(): void
  arc(x: number, y: number, r: number, start: number, end: number): void
  fill(): void
  stroke(): void
}

/** Clears the canvas (width × height CSS px at `ratio` device px each) and draws the markers. */
export function drawMarkers(ctx: MarkerContext, points: readonly MarkerPoint[], colors: MarkerColors, size: { width: number; height: number; ratio: number }): void {
  ctx.setTransform(size.ratio, 0, 0, size.ratio, 0, 0)
  ctx.clearRect(0, 0, size.width, size.height)
  ctx.lineWidth = 1.5
  for (const p of points) {
    ctx.beginPath()
    ctx.arc(p.x, p.y, p.r, 0, 2 * Math.PI)
    ctx.fillStyle = p.kind === 'ok' ? colors.text2 : p.kind === 'bad' ? colors.failed : colors.surface
    ctx.strokeStyle = p.kind === 'unknown' ? colors.text2 : colors.surface
    ctx.fill()
    ctx.stroke()
  }
}

/** Same markers at the same places (a lane whose calls and scale did not change is not drawn again). */
export function samePoints(a: readonly MarkerPoint[], b: readonly MarkerPoint[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!
    const q = b[i]!
    if (p.placed.call !== q.placed.call || p.x !== q.x || p.y !== q.y) return false
  }
  return true
}

/** A canvas element, as far as paintLane needs one. */
export interface LaneCanvas {
  width: number
  height: number
  getContext(kind: '2d'): MarkerContext | null
}

const painted = new WeakMap<LaneCanvas, { points: readonly MarkerPoint[]; colors: MarkerColors; width: number; ratio: number }>()

/**
 * Draws a lane's markers on its canvas (width × height CSS px), unless it already shows exactly these.
 * True when it drew.
 */
export function paintLane(canvas: LaneCanvas, points: readonly MarkerPoint[], colors: MarkerColors, size: { width: number; height: number; ratio: number }): boolean {
  const last = painted.get(canvas)
  if (last && last.colors === colors && last.width === size.width && last.ratio === size.ratio && samePoints(last.points, points)) return false
  const w = Math.max(1, Math.round(size.width * size.ratio))
  const h = Math.max(1, Math.round(size.height * size.ratio))
  if (canvas.width !== w) canvas.width = w
  if (canvas.height !== h) canvas.height = h
  const ctx = canvas.getContext('2d')
  if (!ctx) return false
  drawMarkers(ctx, points, colors, size)
  painted.set(canvas, { points, colors, width: size.width, ratio: size.ratio })
  return true
}
