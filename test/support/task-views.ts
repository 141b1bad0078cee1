// Run tasks and times as the renderer's run helpers receive them, for their unit tests.
import type { TaskView } from '../../src/shared/model/live'

export const iso = (t: number): string => new Date(t).toISOString()

/** Task `taskIndex` from `start` to `end` (ms); running while `end` is null. */
export const task = (taskIndex: number, start: number, end: number | null): TaskView => ({
  taskIndex,
  description: `task ${taskIndex}`,
  agentRole: 'A',
  status: end === null ? 'running' : 'completed',
  startedAt: iso(start),
  endedAt: end === null ? null : iso(end),
  durationMs: end === null ? null : end - start,
  toolCalls: 0,
  failureReason: null
})
