import { describe, expect, it } from 'vitest'
import { ms, placeTools, steppedEnd, toolsByTask } from '../../../src/renderer/lib/run-details'
import type { ToolCallView } from '../../../src/shared/model/live'
import { iso, task } from '../../support/task-views'

const call = (seq: number, taskIndex: number | null, at: number) => ({ seq, taskIndex, at: iso(at), toolName: 't', outcome: 'SUCCESS' }) as unknown as ToolCallView

describe('steppedEnd', () => {
  it('never ends before the data, never moves back, and moves in few steps', () => {
    let prev = 0
    let changes = 0
    const bad: number[] = []
    for (let e = 1000; e <= 600_000; e += 100) {
      const v = steppedEnd(0, e)
      if (v < e || v < prev || v - e > e * 0.1) bad.push(e)
      if (v !== prev) changes++
      prev = v
    }
    expect(bad).toEqual([])
    // 5,990 updates (10 a second for ten minutes) rescale the axis about a hundred times.
    expect(changes).toBeLessThan(150)
    expect(steppedEnd(5000, 65_123)).toBe(5000 + 65_000)
  })
})

describe('placeTools / toolsByTask', () => {
  it('groups placed calls by task in time order, using the latest attempt of a task index', () => {
    const tasks = [task(1, 0, 100), task(2, 100, 200), task(2, 300, null)]
    const placed = placeTools([call(1, 1, 50), call(2, 2, 350), call(3, 1, 20), call(4, null, 10)], tasks, 400)
    expect(placed.map((p) => p.call.seq)).toEqual([4, 3, 1, 2])
    expect(placed.every((p) => !p.approximate)).toBe(true)
    const byTask = toolsByTask(placed)
    expect(byTask.get(1)?.map((p) => p.call.seq)).toEqual([3, 1])
    expect(byTask.get(2)?.map((p) => p.call.seq)).toEqual([2])
    expect(byTask.has(3)).toBe(false)
  })

  it('places the calls of a running task at their receive time though the clock is behind them; ended tasks spread replayed calls', () => {
    // The page's clock ticks once a second: a busy running task gets calls received after its `now`.
    const placed = placeTools([call(1, 1, 1000), call(2, 1, 1500), call(3, 1, 1800), call(4, 2, 5000)], [task(1, 900, null), task(2, 100, 200)], 1200)
    expect(placed.filter((p) => p.call.taskIndex === 1).map((p) => [p.at, p.approximate])).toEqual([
      [1000, false],
      [1500, false],
      [1800, false]
    ])
    // A call received long after its task ended (a late-join replay) is spread over the task.
    const late = placed.find((p) => p.call.seq === 4)!
    expect(late.approximate).toBe(true)
    expect(late.at).toBeGreaterThan(100)
    expect(late.at).toBeLessThan(200)
  })
})

describe('ms', () => {
  it('reads ISO times as Date.parse does, null for none or unreadable, also after its cache starts over', () => {
    expect(ms(null)).toBeNull()
    expect(ms('')).toBeNull()
    expect(ms('yesterday')).toBeNull()
    expect(ms('yesterday')).toBeNull()
    // A string longer than an ISO time (not kept) is read as Date.parse reads it, each time.
    const long = `Sat, 05 Dec 2026 04:00:00 GMT${' (an agent that says more than it needs to)'.repeat(4)}`
    const expected = Number.isNaN(Date.parse(long)) ? null : Date.parse(long)
    expect(ms(long)).toBe(expected)
    expect(ms(long)).toBe(expected)
    const base = Date.UTC(2026, 11, 6, 4, 0, 0)
    // More distinct times than the cache keeps, each read twice: every answer right.
    for (let i = 0; i < 20_000; i++) {
      const s = iso(base + i * 7)
      expect(ms(s)).toBe(base + i * 7)
      if (i % 997 === 0) expect(ms(iso(base))).toBe(base)
    }
  })
})
