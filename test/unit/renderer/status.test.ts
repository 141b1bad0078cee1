// One status word per run, whatever the page: frozen runs ended without completion, a lost page says
// Disconnected, a run at a gate waits for review, a disconnected source makes it stale.
import { describe, expect, it } from 'vitest'
import { disconnectedText, isFrozenRun, runStatusTitle, shownRunStatus, statusLabel, toneOf } from '../../../src/renderer/lib/status'
import { taskDurationMs, taskSpan } from '../../../src/renderer/lib/run-details'
import { sessionDurationMs } from '../../../src/shared/model/duration'
import type { TaskView } from '../../../src/shared/model/live'

const run = (over: Partial<{ status: string; stale: boolean; sourceId: string }> = {}) => ({ status: 'running', stale: false, sourceId: 'attach-1', ...over })

describe('shownRunStatus', () => {
  it('puts frozen, disconnected, waiting and stale in that order, and leaves ended runs alone', () => {
    expect(shownRunStatus(run({ sourceId: 'file:a.trace.json' }), { connected: false, waiting: true })).toBe('incomplete')
    expect(shownRunStatus(run(), { sourceKnown: false })).toBe('incomplete')
    expect(shownRunStatus(run({ sourceId: 'hub' }), { sourceKnown: false })).toBe('running')
    expect(shownRunStatus(run(), { connected: false, waiting: true })).toBe('disconnected')
    expect(shownRunStatus(run({ stale: true }), { waiting: true })).toBe('waiting')
    expect(shownRunStatus(run({ stale: true }))).toBe('stale')
    expect(shownRunStatus(run())).toBe('running')
    expect(shownRunStatus(run({ status: 'failed', sourceId: 'file:x' }), { connected: false, waiting: true })).toBe('failed')
    expect(isFrozenRun({ sourceId: 'file:x' })).toBe(true)
  })

  it('labels and colours: amber only for what needs attention', () => {
    expect(statusLabel('waiting')).toBe('Waiting for review')
    expect(statusLabel('incomplete')).toBe('Ended without completion')
    expect(toneOf('waiting')).toBe('attention')
    expect(toneOf('incomplete')).toBe('idle')
    expect(toneOf('stale')).toBe('waiting')
    expect(toneOf('aborted')).not.toBe(toneOf('failed'))
    expect(statusLabel('pending', 'gate')).toBe('Waiting for a decision')
    expect(runStatusTitle(run(), { waiting: true })).toMatch(/review gate/)
  })

  it('says when the last update was, with its zone', () => {
    expect(disconnectedText(null)).toBe('Disconnected — no update received yet')
    expect(disconnectedText(Date.parse('2026-12-04T15:04:05Z'))).toMatch(/^Disconnected — last update \d\d:04:05 \([^)]+\)$/)
  })
})

describe('one duration definition', () => {
  const task = (over: Partial<TaskView>): TaskView => ({
    taskIndex: 1, description: 'd', agentRole: 'r', status: 'completed', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:07.000Z',
    durationMs: 6300, toolCalls: 0, failureReason: null, ...over
  })
  it('a task lasts what its bar shows, not the agent’s own figure', () => {
    const t = task({})
    const span = taskSpan(t, 0)!
    expect(taskDurationMs(t, 0)).toBe(span.end - span.start)
    expect(taskDurationMs(t, 0)).toBe(7000)
    expect(taskDurationMs(task({ startedAt: null }), 0)).toBe(6300)
  })
  it('a running session grows to now, a stale one stops at its last activity, a finished one at its last update', () => {
    const base = { createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', lastActivityAt: '2026-01-01T00:01:00Z', durationMs: 0 }
    const now = Date.parse('2026-01-01T00:10:00Z')
    expect(sessionDurationMs({ ...base, status: 'running' }, now)).toBe(600_000)
    expect(sessionDurationMs({ ...base, status: 'stale' }, now)).toBe(60_000)
    expect(sessionDurationMs({ ...base, status: 'completed', updatedAt: '2026-01-01T00:02:00Z' }, now)).toBe(120_000)
  })
})
