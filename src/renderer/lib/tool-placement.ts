// A live run's tool calls placed on its timeline, grouped by task and kept between updates. The run
// page re-renders every frame on a busy run; placing all its (up to 1,000) calls and grouping them again
// each time was most of the timeline's script. Here a task's group is placed again only when its task
// (the reducer replaces a task object when it changes) or its calls changed; an unchanged group keeps
// its array, so the lane that draws it does nothing. Same result as toolsByTask(placeTools(...)).
import type { TaskView, ToolCallView } from '../../shared/model/live'
import { sameItems } from '../../shared/same-items'
import { ms, placeTools, type PlacedTool } from './run-details'

export interface PlacedByTask {
  /** Per task index, its calls in time order (calls with no task are left out, as in toolsByTask). */
  byTask: Map<number, PlacedTool[]>
  /** Whether any call sits at an estimated time (received in a replay, spread over its task). */
  approximate: boolean
}

interface Group {
  task: TaskView | undefined
  calls: ToolCallView[]
  placed: PlacedTool[]
  approximate: boolean
  /** Placed at `now` (a call with no readable time) or spread up to it (over a task not ended yet). */
  movesWithNow: boolean
}

export class ToolPlacement {
  /** The last placement's groups; bounded by the run's own bounded lists (rebuilt on each call). */
  private groups = new Map<number, Group>()

  place(calls: readonly ToolCallView[], tasks: readonly TaskView[], now: number): PlacedByTask {
    const byIndex = new Map<number, ToolCallView[]>()
    for (const c of calls) {
      if (c.taskIndex === null) continue
      const list = byIndex.get(c.taskIndex)
      if (list) list.push(c)
      else byIndex.set(c.taskIndex, [c])
    }
    // The last task of each index (a retried index keeps its latest attempt), as placeTools finds it.
    const lastTask = new Map<number, TaskView>()
    for (const t of tasks) lastTask.set(t.taskIndex, t)
    const groups = new Map<number, Group>()
    const byTask = new Map<number, PlacedTool[]>()
    let approximate = false
    for (const [index, list] of byIndex) {
      const task = lastTask.get(index)
      const old = this.groups.get(index)
      let group = old!
      if (!(old && !old.movesWithNow && old.task === task && sameItems(old.calls, list))) {
        const placed = placeTools(list, task ? [task] : [], now)
        const approximate = placed.some((p) => p.approximate)
        const movesWithNow = list.some((c) => ms(c.at) === null) || (approximate && task !== undefined && ms(task.endedAt) === null)
        group = { task, calls: list, placed, approximate, movesWithNow }
      }
      groups.set(index, group)
      byTask.set(index, group.placed)
      approximate ||= group.approximate
    }
    this.groups = groups
    return { byTask, approximate }
  }
}
