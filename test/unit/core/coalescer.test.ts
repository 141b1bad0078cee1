import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Coalescer } from '../../../src/main/core/coalescer'

describe('Coalescer', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('leading edge: the first change of an idle key runs at once', () => {
    const c = new Coalescer(100)
    const seen: string[] = []
    c.schedule('a', () => seen.push('a1'))
    expect(seen).toEqual(['a1'])
    // Idle again after a quiet window: the next lone change also runs at once.
    vi.advanceTimersByTime(100)
    c.schedule('a', () => seen.push('a2'))
    expect(seen).toEqual(['a1', 'a2'])
    c.dispose()
  })

  it('trailing edge: changes within the window collapse into the latest, run when the window ends', () => {
    const c = new Coalescer(100)
    const seen: string[] = []
    c.schedule('a', () => seen.push('a1'))
    c.schedule('a', () => seen.push('a2'))
    c.schedule('a', () => seen.push('a3'))
    expect(seen).toEqual(['a1'])
    vi.advanceTimersByTime(99)
    expect(seen).toEqual(['a1'])
    vi.advanceTimersByTime(1)
    expect(seen).toEqual(['a1', 'a3'])
    // The trailing run opened a new window: a change right after it waits for that window.
    c.schedule('a', () => seen.push('a4'))
    expect(seen).toEqual(['a1', 'a3'])
    vi.advanceTimersByTime(100)
    expect(seen).toEqual(['a1', 'a3', 'a4'])
    vi.advanceTimersByTime(500)
    expect(seen).toEqual(['a1', 'a3', 'a4'])
    c.dispose()
  })

  it('a busy key runs about once per window; keys are independent', () => {
    const c = new Coalescer(100)
    const runs = { a: 0, b: 0 }
    for (let t = 0; t < 1000; t++) {
      c.schedule('a', () => runs.a++)
      vi.advanceTimersByTime(1)
    }
    expect(runs.a).toBeGreaterThanOrEqual(10)
    expect(runs.a).toBeLessThanOrEqual(11)
    c.schedule('b', () => runs.b++)
    expect(runs.b).toBe(1)
    c.dispose()
  })

  it('flush runs held tasks now; dispose drops them; a throwing task does not block the key', () => {
    const c = new Coalescer(100)
    const seen: string[] = []
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    c.schedule('a', () => {
      throw new Error('boom')
    })
    c.schedule('a', () => seen.push('a2'))
    c.flush()
    expect(seen).toEqual(['a2'])
    vi.advanceTimersByTime(100)
    expect(seen).toEqual(['a2'])
    c.schedule('a', () => seen.push('a3'))
    c.schedule('a', () => seen.push('a4'))
    c.dispose()
    vi.advanceTimersByTime(200)
    expect(seen).toEqual(['a2', 'a3'])
    expect(err).toHaveBeenCalledTimes(1)
    err.mockRestore()
  })
})

describe('Coalescer: urgent changes', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('an urgent change runs at once inside a window, replaces the held one and restarts the window', () => {
    const c = new Coalescer(100, 20)
    const seen: string[] = []
    c.schedule('a', () => seen.push('a1'))
    vi.advanceTimersByTime(30)
    c.schedule('a', () => seen.push('a2'))
    c.schedule('a', () => seen.push('a3'), { urgent: true })
    expect(seen).toEqual(['a1', 'a3'])
    // The old window's end (t=100) runs nothing; the new one ends at t=130.
    c.schedule('a', () => seen.push('a4'))
    vi.advanceTimersByTime(70)
    expect(seen).toEqual(['a1', 'a3'])
    vi.advanceTimersByTime(30)
    expect(seen).toEqual(['a1', 'a3', 'a4'])
    c.dispose()
  })

  it('an urgent change right after a run waits only for the minimum gap, not the whole window', () => {
    const c = new Coalescer(100, 20)
    const seen: string[] = []
    c.schedule('a', () => seen.push('a1'))
    vi.advanceTimersByTime(5)
    c.schedule('a', () => seen.push('a2'), { urgent: true })
    c.schedule('a', () => seen.push('a3'))
    expect(seen).toEqual(['a1'])
    vi.advanceTimersByTime(14)
    expect(seen).toEqual(['a1'])
    vi.advanceTimersByTime(1)
    expect(seen).toEqual(['a1', 'a3'])
    vi.advanceTimersByTime(200)
    expect(seen).toEqual(['a1', 'a3'])
    c.dispose()
  })

  it('urgent changes closer than minGapMs are held: at most 1000 / minGapMs runs a second', () => {
    const c = new Coalescer(100, 20)
    let runs = 0
    for (let t = 0; t < 1000; t++) {
      c.schedule('a', () => runs++, { urgent: true })
      vi.advanceTimersByTime(1)
    }
    expect(runs).toBeGreaterThanOrEqual(45)
    expect(runs).toBeLessThanOrEqual(51)
    c.dispose()
  })
})
