// RateGate: the first change after a quiet spell at once, a flood at most once per interval, the last
// change never lost, nothing after dispose.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RateGate } from '../../../src/renderer/lib/rate-gate'

describe('RateGate', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())
  const gate = (ms: number) => new RateGate(ms, () => Date.now())

  it('applies the first change at once, and again at once after a quiet spell', () => {
    const g = gate(100)
    const seen: number[] = []
    g.offer(() => seen.push(1))
    expect(seen).toEqual([1])
    vi.advanceTimersByTime(150)
    g.offer(() => seen.push(2))
    expect(seen).toEqual([1, 2])
    expect(g.waiting).toBe(false)
  })

  it('a flood: one update per interval, each with the latest value, the last one never lost', () => {
    const g = gate(100)
    let value = 0
    const shown: number[] = []
    const times: number[] = []
    const start = Date.now()
    // 60 changes a second for a second (a change every animation frame).
    for (let i = 1; i <= 60; i++) {
      value = i
      g.offer(() => {
        shown.push(value)
        times.push(Date.now() - start)
      })
      vi.advanceTimersByTime(1000 / 60)
    }
    vi.advanceTimersByTime(200)
    expect(shown[0]).toBe(1)
    expect(shown.at(-1)).toBe(60)
    // ~11 updates instead of 60, never two within 100 ms.
    expect(shown.length).toBeGreaterThanOrEqual(10)
    expect(shown.length).toBeLessThanOrEqual(12)
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100)
    expect(g.waiting).toBe(false)
  })

  it('a change while one waits replaces it (latest wins, one timer)', () => {
    const g = gate(100)
    const seen: string[] = []
    g.offer(() => seen.push('a'))
    g.offer(() => seen.push('b'))
    g.offer(() => seen.push('c'))
    expect(seen).toEqual(['a'])
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(100)
    expect(seen).toEqual(['a', 'c'])
  })

  it('does nothing after dispose, and leaves no timer', () => {
    const g = gate(100)
    const seen: string[] = []
    g.offer(() => seen.push('a'))
    g.offer(() => seen.push('b'))
    g.dispose()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(500)
    g.offer(() => seen.push('c'))
    expect(seen).toEqual(['a'])
  })
})
