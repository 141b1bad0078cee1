// Layered left-to-right layout of a session's task graph. Pure: runs in the page for small graphs
// and in dag-layout.worker.ts for big ones. dagre for quality, a linear-time layering for huge graphs.
import dagre from '@dagrejs/dagre'

export const NODE_W = 176
export const NODE_H = 46

export interface LayoutInput {
  nodes: string[]
  edges: Array<{ from: string; to: string; type: string }>
}

export interface Point {
  x: number
  y: number
}

export interface LaidOutEdge {
  from: string
  to: string
  type: string
  /** SVG path data in graph coordinates. */
  d: string
  /** Bounding box, for culling. */
  x0: number
  y0: number
  x1: number
  y1: number
}

export interface LayoutResult {
  /** Node centres, in input order. */
  xs: number[]
  ys: number[]
  edges: LaidOutEdge[]
  /** Bounds of everything drawn (nodes and edges), in graph coordinates. */
  minX: number
  minY: number
  width: number
  height: number
  engine: 'dagre' | 'dagre-longest-path' | 'layered'
}

/** Above this many nodes, dagre's network-simplex ranking gets slow (seconds); above the next, dagre at all. */
export const DAGRE_SIMPLEX_MAX = 400
export const DAGRE_MAX = 2500

/** A stable key of the graph's structure: the layout is reused while it stays the same. */
export function structureKey(input: LayoutInput): string {
  let h = 2166136261
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
    h = Math.imul(h ^ 0x1f, 16777619)
  }
  for (const n of input.nodes) mix(n)
  for (const e of input.edges) mix(`${e.from}>${e.to}:${e.type}`)
  return `${input.nodes.length}:${input.edges.length}:${(h >>> 0).toString(36)}`
}

function pathOf(points: Point[]): string {
  if (points.length === 0) return ''
  const f = (n: number) => Math.round(n * 10) / 10
  let d = `M${f(points[0]!.x)},${f(points[0]!.y)}`
  if (points.length === 2) return `${d}L${f(points[1]!.x)},${f(points[1]!.y)}`
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i]!
    const q = points[i + 1]!
    const mx = i === points.length - 2 ? q.x : (p.x + q.x) / 2
    const my = i === points.length - 2 ? q.y : (p.y + q.y) / 2
    d += `Q${f(p.x)},${f(p.y)} ${f(mx)},${f(my)}`
  }
  return d
}

function edgeOf(from: string, to: string, type: string, points: Point[]): LaidOutEdge {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (const p of points) {
    x0 = Math.min(x0, p.x)
    y0 = Math.min(y0, p.y)
    x1 = Math.max(x1, p.x)
    y1 = Math.max(y1, p.y)
  }
  return { from, to, type, d: pathOf(points), x0, y0, x1, y1 }
}

function withDagre(input: LayoutInput, ranker: 'network-simplex' | 'longest-path'): Unbounded {
  const g = new dagre.graphlib.Graph({ multigraph: true })
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 56, edgesep: 8, marginx: 24, marginy: 24, ranker })
  g.setDefaultEdgeLabel(() => ({}))
  for (const id of input.nodes) g.setNode(id, { width: NODE_W, height: NODE_H })
  input.edges.forEach((e, i) => {
    if (e.from !== e.to) g.setEdge(e.from, e.to, {}, `e${i}`)
  })
  dagre.layout(g)
  const xs: number[] = []
  const ys: number[] = []
  for (const id of input.nodes) {
    const n = g.node(id) as { x: number; y: number } | undefined
    xs.push(n?.x ?? 0)
    ys.push(n?.y ?? 0)
  }
  const edges: LaidOutEdge[] = []
  input.edges.forEach((e, i) => {
    if (e.from === e.to) return
    const label = g.edge({ v: e.from, w: e.to, name: `e${i}` }) as { points?: Point[] } | undefined
    edges.push(edgeOf(e.from, e.to, e.type, label?.points ?? []))
  })
  return { xs, ys, edges, engine: ranker === 'network-simplex' ? 'dagre' : 'dagre-longest-path' }
}

/** Linear-time layering for huge graphs: longest-path ranks (cycles broken), barycentre ordering. */
function layered(input: LayoutInput): Unbounded {
  const index = new Map(input.nodes.map((id, i) => [id, i]))
  const n = input.nodes.length
  const out: number[][] = Array.from({ length: n }, () => [])
  const indeg = new Array<number>(n).fill(0)
  for (const e of input.edges) {
    const a = index.get(e.from)
    const b = index.get(e.to)
    if (a === undefined || b === undefined || a === b) continue
    out[a]!.push(b)
    indeg[b]!++
  }
  const rank = new Array<number>(n).fill(0)
  const queue: number[] = []
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i)
  const done = new Array<boolean>(n).fill(false)
  for (let head = 0; head < queue.length || done.some((d) => !d); ) {
    if (head >= queue.length) {
      // A cycle: release its first unfinished node.
      const i = done.indexOf(false)
      indeg[i] = 0
      queue.push(i)
    }
    const i = queue[head++]!
    if (done[i]) continue
    done[i] = true
    for (const j of out[i]!) {
      if (done[j]) continue
      rank[j] = Math.max(rank[j]!, rank[i]! + 1)
      if (--indeg[j]! <= 0) queue.push(j)
    }
  }
  const layers: number[][] = []
  for (let i = 0; i < n; i++) (layers[rank[i]!] ??= []).push(i)
  const pos = new Array<number>(n).fill(0)
  const preds: number[][] = Array.from({ length: n }, () => [])
  for (let i = 0; i < n; i++) for (const j of out[i]!) preds[j]!.push(i)
  for (const layer of layers) {
    if (!layer) continue
    const bary = (i: number) => (preds[i]!.length === 0 ? pos[i]! : preds[i]!.reduce((s, p) => s + pos[p]!, 0) / preds[i]!.length)
    layer.sort((a, b) => bary(a) - bary(b) || a - b)
    layer.forEach((i, k) => (pos[i] = k))
  }
  const colW = NODE_W + 56
  const rowH = NODE_H + 14
  const xs = input.nodes.map((_, i) => 24 + rank[i]! * colW + NODE_W / 2)
  const ys = input.nodes.map((_, i) => 24 + pos[i]! * rowH + NODE_H / 2)
  const edges: LaidOutEdge[] = []
  for (const e of input.edges) {
    const a = index.get(e.from)
    const b = index.get(e.to)
    if (a === undefined || b === undefined || a === b) continue
    const p0 = { x: xs[a]! + NODE_W / 2, y: ys[a]! }
    const p1 = { x: xs[b]! - NODE_W / 2, y: ys[b]! }
    edges.push(edgeOf(e.from, e.to, e.type, [p0, { x: (p0.x + p1.x) / 2, y: p0.y }, { x: (p0.x + p1.x) / 2, y: p1.y }, p1]))
  }
  return { xs, ys, edges, engine: 'layered' }
}

type Unbounded = Omit<LayoutResult, 'minX' | 'minY' | 'width' | 'height'>

/** Measures what was placed, rather than trusting the engine's own graph size. */
function bounded(r: Unbounded): LayoutResult {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  r.xs.forEach((x, i) => {
    const y = r.ys[i]!
    x0 = Math.min(x0, x - NODE_W / 2)
    x1 = Math.max(x1, x + NODE_W / 2)
    y0 = Math.min(y0, y - NODE_H / 2)
    y1 = Math.max(y1, y + NODE_H / 2)
  })
  for (const e of r.edges) {
    if (!Number.isFinite(e.x0)) continue
    x0 = Math.min(x0, e.x0)
    x1 = Math.max(x1, e.x1)
    y0 = Math.min(y0, e.y0)
    y1 = Math.max(y1, e.y1)
  }
  if (!Number.isFinite(x0)) return { ...r, minX: 0, minY: 0, width: 0, height: 0 }
  return { ...r, minX: x0, minY: y0, width: x1 - x0, height: y1 - y0 }
}

export function layoutGraph(input: LayoutInput): LayoutResult {
  if (input.nodes.length === 0) return bounded({ xs: [], ys: [], edges: [], engine: 'dagre' })
  if (input.nodes.length <= DAGRE_SIMPLEX_MAX) return bounded(withDagre(input, 'network-simplex'))
  if (input.nodes.length <= DAGRE_MAX) return bounded(withDagre(input, 'longest-path'))
  return bounded(layered(input))
}
