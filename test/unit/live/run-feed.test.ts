// RunFeed on its own: which window gets which run's ops, batching, the per-window bound (drop, count,
// tell), resets, and forgetting a window. Transports are plain objects with a settable backlog.
import { describe, expect, it } from 'vitest'
import { RunFeed } from '../../../src/main/live/run-feed'
import { DEFAULT_DETAIL_LIMITS } from '../../../src/main/live/run-tracker'
import type { RunDelta, RunOp } from '../../../src/shared/model/run-reducer'

const op = (i: number): RunOp => ({ op: 'message', at: '2026-03-05T14:00:00Z', message: { type: 'token', token: `t${i}`, agentRole: null, taskDescription: null, sentAt: null } })
const ops = (from: number, n: number) => Array.from({ length: n }, (_, i) => op(from + i))
const tick = (ms = 15) => new Promise((r) => setTimeout(r, ms))
/** Waits until `check` holds (timers may run late on a busy machine). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await tick(10)
}

function transport() {
  const sent: RunDelta[] = []
  const t = { backlog: 0, sent, send: (d: RunDelta) => sent.push(d), backlogBytes: () => t.backlog }
  return t
}

describe('RunFeed', () => {
  it('sends a run only to the windows watching it, batched, numbered as published', async () => {
    const feed = new RunFeed()
    const a = transport()
    const b = transport()
    feed.connect(a).watch(['r1'])
    feed.connect(b).watch(['r2'])
    feed.publish({ runId: 'r1', from: 1, ops: ops(1, 2) }, DEFAULT_DETAIL_LIMITS)
    feed.publish({ runId: 'r1', from: 3, ops: ops(3, 1) }, DEFAULT_DETAIL_LIMITS)
    feed.publish({ runId: 'r3', from: 1, ops: ops(1, 5) }, DEFAULT_DETAIL_LIMITS)
    await until(() => a.sent.length > 0)
    await tick()
    expect(a.sent).toHaveLength(1)
    expect(a.sent[0]).toMatchObject({ runId: 'r1', from: 1 })
    expect(a.sent[0]!.ops).toHaveLength(3)
    // Token texts are not read by the reducer: cut from what is sent.
    expect(JSON.stringify(a.sent[0])).not.toContain('"t1"')
    expect(b.sent).toEqual([])
    expect(feed.stats()).toMatchObject({ windows: 2, watching: 2, droppedOps: 0, gaps: 0 })
  })

  it('sends the ops of one event-loop turn together at its end, then at most once per flushMs', async () => {
    const feed = new RunFeed({ flushMs: 200 })
    const t = transport()
    feed.connect(t).watch(['r1'])
    feed.publish({ runId: 'r1', from: 1, ops: ops(1, 2) }, DEFAULT_DETAIL_LIMITS)
    feed.publish({ runId: 'r1', from: 3, ops: ops(3, 2) }, DEFAULT_DETAIL_LIMITS)
    expect(t.sent).toEqual([])
    // No timer to wait for: the end of this turn.
    await new Promise((r) => setImmediate(r))
    expect(t.sent).toHaveLength(1)
    expect(t.sent[0]!.ops).toHaveLength(4)
    // Within flushMs of that send, the next ops wait for it.
    feed.publish({ runId: 'r1', from: 5, ops: ops(5, 1) }, DEFAULT_DETAIL_LIMITS)
    await new Promise((r) => setImmediate(r))
    await tick(20)
    expect(t.sent).toHaveLength(1)
    await until(() => t.sent.length > 1)
    expect(t.sent[1]).toMatchObject({ runId: 'r1', from: 5 })
  })

  it('holds ops while the transport is backed up, and past its bound drops them, counts them and says so', async () => {
    const feed = new RunFeed({ maxQueuedOps: 10, retryMs: 5 })
    const t = transport()
    const w = feed.connect(t)
    w.watch(['r1'])
    t.backlog = 10 * 1024 * 1024
    feed.publish({ runId: 'r1', from: 1, ops: ops(1, 6) }, DEFAULT_DETAIL_LIMITS)
    await tick()
    expect(t.sent).toEqual([]) // waiting, not lost
    feed.publish({ runId: 'r1', from: 7, ops: ops(7, 6) }, DEFAULT_DETAIL_LIMITS) // 12 > 10: the run's queue goes
    feed.publish({ runId: 'r1', from: 13, ops: ops(13, 2) }, DEFAULT_DETAIL_LIMITS)
    expect(w.droppedOps).toBe(12)
    expect(feed.stats().droppedOps).toBe(12)
    t.backlog = 0
    await until(() => t.sent.length > 0)
    expect(t.sent).toHaveLength(1)
    expect(t.sent[0]).toMatchObject({ runId: 'r1', from: 13, dropped: 12 })
    expect(t.sent[0]!.ops).toHaveLength(2)
    expect(feed.stats().gaps).toBe(1)
    // After the gap, ops follow on as usual.
    feed.publish({ runId: 'r1', from: 15, ops: ops(15, 1) }, DEFAULT_DETAIL_LIMITS)
    await until(() => t.sent.length > 1)
    expect(t.sent[1]).toEqual({ runId: 'r1', from: 15, ops: [expect.anything()] })
  })

  it('passes a reset on instead of ops, and forgets runs no longer watched and closed windows', async () => {
    const feed = new RunFeed()
    const t = transport()
    const w = feed.connect(t)
    w.watch(['r1', 'r2'])
    feed.publish({ runId: 'r1', from: 1, ops: ops(1, 3) }, DEFAULT_DETAIL_LIMITS)
    feed.publish({ runId: 'r1', from: 0, ops: [], reset: true }, DEFAULT_DETAIL_LIMITS)
    feed.publish({ runId: 'r2', from: 4, ops: ops(4, 1) }, DEFAULT_DETAIL_LIMITS)
    w.watch(['r1'])
    await until(() => t.sent.length > 0)
    await tick()
    expect(t.sent).toEqual([{ runId: 'r1', from: 0, ops: [], reset: true }])
    w.close()
    feed.publish({ runId: 'r1', from: 1, ops: ops(1, 1) }, DEFAULT_DETAIL_LIMITS)
    await tick()
    expect(t.sent).toHaveLength(1)
    expect(feed.stats()).toMatchObject({ windows: 0, watching: 0 })
  })
})
