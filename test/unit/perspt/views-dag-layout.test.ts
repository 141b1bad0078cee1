import { describe, it, expect } from 'vitest'
import { DAGRE_MAX, NODE_H, NODE_W, layoutGraph, structureKey } from '../../../src/renderer/views/session/DagLayout'
import type { LayoutInput } from '../../../src/renderer/views/session/DagLayout'

function tree(n: number): LayoutInput {
  const nodes = Array.from({ length: n }, (_, i) => `n${i}`)
  const edges = nodes.slice(1).map((id, i) => ({ from: `n${Math.floor(i / 2)}`, to: id, type: i % 5 === 0 ? 'split_sequence' : 'depends_on' }))
  return { nodes, edges }
}

function expectSane(input: LayoutInput) {
  const r = layoutGraph(input)
  expect(r.xs).toHaveLength(input.nodes.length)
  for (let i = 0; i < input.nodes.length; i++) {
    expect(Number.isFinite(r.xs[i]) && Number.isFinite(r.ys[i])).toBe(true)
    expect(r.xs[i]! - NODE_W / 2).toBeGreaterThanOrEqual(r.minX - 0.01)
    expect(r.xs[i]! + NODE_W / 2).toBeLessThanOrEqual(r.minX + r.width + 0.01)
    expect(r.ys[i]! + NODE_H / 2).toBeLessThanOrEqual(r.minY + r.height + 0.01)
  }
  // Left to right: every parent sits left of its child (no cycles here).
  const index = new Map(input.nodes.map((id, i) => [id, i]))
  for (const e of input.edges) expect(r.xs[index.get(e.from)!]!).toBeLessThan(r.xs[index.get(e.to)!]!)
  for (const e of r.edges) expect(e.d).toMatch(/^M/)
  return r
}

describe('DAG layout', () => {
  it('lays out small graphs with dagre, left to right, with typed edge paths', () => {
    const r = expectSane(tree(20))
    expect(r.engine).toBe('dagre')
    expect(r.edges.map((e) => e.type)).toContain('split_sequence')
  })

  it('uses a linear-time layering beyond dagre, and survives cycles and unknown endpoints', () => {
    const big = tree(DAGRE_MAX + 100)
    const t0 = performance.now()
    const r = expectSane(big)
    expect(r.engine).toBe('layered')
    expect(performance.now() - t0).toBeLessThan(1500)
    const cyclic: LayoutInput = { nodes: ['a', 'b', 'c'], edges: [{ from: 'a', to: 'b', type: 'x' }, { from: 'b', to: 'a', type: 'x' }, { from: 'c', to: 'ghost', type: 'x' }] }
    const c = layoutGraph({ ...cyclic, nodes: [...cyclic.nodes, ...Array.from({ length: DAGRE_MAX }, (_, i) => `z${i}`)] })
    expect(c.xs.every(Number.isFinite)).toBe(true)
    expect(layoutGraph(cyclic).xs.every(Number.isFinite)).toBe(true)
  })

  it('keys the structure so refreshes with the same nodes and edges reuse the layout', () => {
    const a = tree(30)
    expect(structureKey(a)).toBe(structureKey({ nodes: [...a.nodes], edges: a.edges.map((e) => ({ ...e })) }))
    expect(structureKey(a)).not.toBe(structureKey({ ...a, edges: a.edges.slice(1) }))
    expect(layoutGraph({ nodes: [], edges: [] }).width).toBe(0)
  })
})
