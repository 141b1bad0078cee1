import { describe, expect, it } from 'vitest'
import { IterationBuffer, SnapshotRing, mergeSnapshots } from '../../../src/main/hub/snapshot-buffer'
import type { LlmIterationCompletedMessage, LlmIterationStartedMessage } from '../../../src/shared/protocol/agentensemble'

const entry = (key: number, order: number, text = `"${order}"`) => ({ key, order, text, bytes: text.length })
const texts = (ring: SnapshotRing) => {
  const out: { text: string }[] = []
  ring.appendTo(out as never)
  return out.map((e) => e.text)
}

describe('SnapshotRing', () => {
  it('keeps the newest maxEntries, oldest first', () => {
    const ring = new SnapshotRing(3, 1e9)
    for (let i = 1; i <= 5; i++) ring.push(entry(i, i))
    expect(texts(ring)).toEqual(['"3"', '"4"', '"5"'])
    expect(ring.size).toBe(3)
    expect(ring.bytes).toBe(9)
  })

  it('evicts by bytes too, but always keeps the newest entry', () => {
    const ring = new SnapshotRing(100, 10)
    ring.push(entry(1, 1, 'aaaa'))
    ring.push(entry(2, 2, 'bbbb'))
    ring.push(entry(3, 3, 'cccc'))
    expect(texts(ring)).toEqual(['bbbb', 'cccc'])
    ring.push(entry(4, 4, 'x'.repeat(50)))
    expect(texts(ring)).toEqual(['x'.repeat(50)])
  })
})

describe('mergeSnapshots', () => {
  it('merges producers by receivedAt, ties in arrival order', () => {
    const a = new SnapshotRing(10, 1e9)
    const b = new SnapshotRing(10, 1e9)
    a.push(entry(10, 1, 'a1'))
    a.push(entry(30, 3, 'a2'))
    b.push(entry(20, 2, 'b1'))
    b.push(entry(30, 4, 'b2'))
    b.push(entry(5, 5, 'b3')) // a publisher clock that went back
    expect(mergeSnapshots([a, b], 1e9)).toEqual(['b3', 'a1', 'b1', 'a2', 'b2'])
  })

  it('keeps only the newest envelopes that fit the byte budget (counting separators)', () => {
    const a = new SnapshotRing(10, 1e9)
    for (let i = 1; i <= 5; i++) a.push(entry(i, i, `e${i}`))
    expect(mergeSnapshots([a], 9)).toEqual(['e3', 'e4', 'e5'])
    expect(mergeSnapshots([a], 0)).toEqual([])
  })

  it('merges 100,000 retained envelopes in well under a second', () => {
    const rings = Array.from({ length: 50 }, () => new SnapshotRing(2000, 1e9))
    let order = 0
    for (let i = 0; i < 2000; i++) for (const r of rings) r.push(entry(1e12 + order, ++order, '{"type":"event"}'))
    const t0 = performance.now()
    const merged = mergeSnapshots(rings, 1e9)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(merged).toHaveLength(100_000)
  })
})

describe('IterationBuffer', () => {
  const startedMsg = (task: string, i: number): LlmIterationStartedMessage => ({
    type: 'llm_iteration_started',
    agentRole: 'R',
    taskDescription: task,
    iterationIndex: i,
    messages: []
  })
  const completedMsg = (task: string, i: number): LlmIterationCompletedMessage => ({
    type: 'llm_iteration_completed',
    agentRole: 'R',
    taskDescription: task,
    iterationIndex: i,
    responseType: 'FINAL_ANSWER',
    inputTokens: 0,
    outputTokens: 0,
    latencyMs: 0
  })

  it('keeps the last N pairs per task plus the in-flight start; completions without a start are dropped', () => {
    const buf = new IterationBuffer(2, 10)
    buf.add(completedMsg('T', 9))
    for (let i = 0; i < 3; i++) {
      buf.add(startedMsg('T', i))
      buf.add(completedMsg('T', i))
    }
    buf.add(startedMsg('T', 3))
    buf.add(startedMsg('U', 0))
    const snap = buf.snapshot()
    expect(snap.map((s) => [s.started.taskDescription, s.started.iterationIndex, s.completed?.iterationIndex ?? null])).toEqual([
      ['T', 1, 1],
      ['T', 2, 2],
      ['T', 3, null],
      ['U', 0, null]
    ])
    buf.clear()
    expect(buf.snapshot()).toEqual([])
  })

  it('bounds the number of task keys and is off with 0', () => {
    const buf = new IterationBuffer(5, 2)
    for (const t of ['a', 'b', 'c']) buf.add(startedMsg(t, 0))
    expect(buf.snapshot().map((s) => s.started.taskDescription)).toEqual(['b', 'c'])
    const off = new IterationBuffer(0, 2)
    off.add(startedMsg('a', 0))
    expect(off.snapshot()).toEqual([])
  })
})
