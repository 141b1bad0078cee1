import { describe, expect, it } from 'vitest'
import { placeTools, toolsByTask } from '../../../src/renderer/lib/run-details'
import { ToolPlacement } from '../../../src/renderer/lib/tool-placement'
import type { TaskView, ToolCallView } from '../../../src/shared/model/live'
import { iso, task } from '../../support/task-views'

let seq = 0
const call = (taskIndex: number | null, at: number | string | null) =>
  ({ seq: ++seq, taskIndex, at: typeof at === 'number' ? iso(at) : at, toolName: 't', outcome: 'SUCCESS' }) as unknown as ToolCallView

/** What the timeline drew before: every call placed, then grouped. */
const reference = (calls: ToolCallView[], tasks: TaskView[], now: number) => {
  const all = placeTools(calls, tasks, now)
  return { byTask: toolsByTask(all), approximate: all.some((p) => p.approximate) }
}
const plain = (r: { byTask: Map<number, { call: ToolCallView; at: number; approximate: boolean }[]>; approximate: boolean }) => ({
  approximate: r.approximate,
  byTask: [...r.byTask].sort((a, b) => a[0] - b[0]).map(([k, list]) => [k, list.map((p) => [p.call.seq, p.at, p.approximate])])
})

describe('ToolPlacement', () => {
  it('places a live run update after update as placing every call again would', () => {
    // A seeded walk: tasks start and end, calls arrive (some before their task's start, as in a replay,
    // some with no readable time), a retried index, calls with no task, the oldest calls dropped.
    let rnd = 42
    const next = () => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const placement = new ToolPlacement()
    let tasks: TaskView[] = []
    let calls: ToolCallView[] = []
    let now = 1_000_000
    for (let step = 0; step < 400; step++) {
      now += 50
      const r = next()
      if (r < 0.1 || tasks.length === 0) tasks = [...tasks, task(tasks.length + 1, now, null)]
      else if (r < 0.15) tasks = tasks.map((t, i) => (i === tasks.length - 1 && t.endedAt === null ? task(t.taskIndex, Date.parse(t.startedAt!), now) : t))
      else if (r < 0.17) tasks = [...tasks, task(Math.max(1, tasks.length - 1), now, null)] // a retried index
      else {
        const index = next() < 0.05 ? null : 1 + Math.floor(next() * tasks.length)
        const at = next() < 0.03 ? 'not a time' : next() < 0.1 ? now - 100_000 : now
        calls = [...calls, call(index, at)].slice(-120)
      }
      const got = placement.place(calls, tasks, now)
      expect(plain(got)).toEqual(plain(reference(calls, tasks, now)))
    }
  })

  it('keeps the list of a task whose task and calls did not change, and places a changed one again', () => {
    const placement = new ToolPlacement()
    const t1 = task(1, 1000, 5000)
    const t2 = task(2, 5000, null)
    const calls = [call(1, 2000), call(1, 3000), call(2, 6000)]
    const first = placement.place(calls, [t1, t2], 7000)
    const more = [...calls, call(2, 6500)]
    const second = placement.place(more, [t1, t2], 7100)
    expect(second.byTask.get(1)).toBe(first.byTask.get(1))
    expect(second.byTask.get(2)).not.toBe(first.byTask.get(2))
    expect(second.byTask.get(2)!.map((p) => p.at)).toEqual([6000, 6500])
    // The task ends before a call it had: that call is now outside it, spread over the task (a replay).
    const ended = task(2, 5000, 6200)
    const third = placement.place(more, [t1, ended], 7200)
    expect(third.byTask.get(1)).toBe(first.byTask.get(1))
    expect(third.approximate).toBe(true)
    expect(plain(third)).toEqual(plain(reference(more, [t1, ended], 7200)))
  })

  it('spreads calls received before a running task started up to "now", each time', () => {
    const placement = new ToolPlacement()
    const running = task(1, 1000, null)
    const calls = [call(1, 500)]
    expect(placement.place(calls, [running], 2000).byTask.get(1)![0]!.at).toBe(1500)
    expect(placement.place(calls, [running], 3000).byTask.get(1)![0]!.at).toBe(2000)
  })

  it('places a call with no readable time at "now" each time', () => {
    const placement = new ToolPlacement()
    const t1 = task(1, 1000, null)
    const calls = [call(1, 'garbled')]
    expect(placement.place(calls, [t1], 2000).byTask.get(1)![0]!.at).toBe(2000)
    expect(placement.place(calls, [t1], 3000).byTask.get(1)![0]!.at).toBe(3000)
  })
})
