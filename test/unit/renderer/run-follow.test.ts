// RunFollow's render pacing on its own (Node: no animation frames, `frame` is a timer): cheap renders
// follow one another at once; an expensive one spaces the next out; but never so far that the ops
// waiting would push events the page keeps out unshown.
import { describe, expect, it } from 'vitest'
import { RunFollow } from '../../../src/renderer/lib/run-follow'
import { DEFAULT_DETAIL_LIMITS } from '../../../src/main/live/run-tracker'
import { applyRunOps, newRunState, type RunDelta, type RunOp } from '../../../src/shared/model/run-reducer'
import type { RunDetail } from '../../../src/shared/model/live'

const RUN = 'hub:p:run-1'
const op = (i: number): RunOp => ({
  op: 'message',
  at: '2026-03-05T14:00:00Z',
  message: { type: 'tool_called', agentRole: 'A', taskIndex: 0, toolName: `tool_${i}`, durationMs: 1, outcome: 'SUCCESS', toolArguments: null, toolResult: null, structuredResult: null }
})
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms))
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await tick(5)
}
function busy(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // a render that costs `ms`
  }
}

const INIT = { runId: RUN, sourceId: 'hub', producerId: 'p', ensembleId: 'e', workflow: 'SEQUENTIAL', startedAt: '2026-03-05T14:00:00Z', streamStale: false }
const emptyRun = () => newRunState(INIT, DEFAULT_DETAIL_LIMITS)

function follow(renderMs: () => number, keepEvents = 200) {
  const shown: RunDetail[] = []
  const f = new RunFollow({
    runId: RUN,
    load: async () => emptyRun(),
    onState: (d) => {
      shown.push(d)
      busy(renderMs())
    },
    frame: (fn) => setTimeout(fn, 0),
    keepEvents
  })
  let seq = 0
  const push = (n: number) => {
    const delta: RunDelta = { runId: RUN, from: seq + 1, ops: Array.from({ length: n }, (_, i) => op(seq + 1 + i)) }
    seq += n
    f.push(delta)
  }
  return { f, shown, push }
}

describe('RunFollow render pacing', () => {
  it('does not space out renders that fit in a frame, and applies every op once', async () => {
    const { f, shown, push } = follow(() => 0)
    await f.resync()
    for (let i = 0; i < 5; i++) {
      const before = shown.length
      push(3)
      await until(() => shown.length > before)
      await tick(2) // the render's cost is noted after it
    }
    expect(f.renderSpacing()).toBe(0)
    const last = shown.at(-1)!
    expect(last.toolCalls).toHaveLength(15)
    expect(last.toolCalls!.map((c) => c.toolName)).toEqual(Array.from({ length: 15 }, (_, i) => `tool_${i + 1}`))
    expect(f.loads).toBe(1)
  })

  it('does not space out renders of up to 1.5 frames (a busy page measures more than it renders); spaces out dearer ones', async () => {
    let cost = 18
    const { f, shown, push } = follow(() => cost)
    await f.resync()
    const settle = async () => {
      for (let i = 0; i < 4; i++) {
        const before = shown.length
        push(1)
        await until(() => shown.length > before)
        await tick(2)
      }
    }
    await settle()
    expect(f.renderSpacing()).toBe(0)
    cost = 40
    await settle()
    // About 2 × 40 − 3 × 16.7 ≈ 30 ms (the cost is a moving average, and the machine may be slower).
    expect(f.renderSpacing()).toBeGreaterThan(10)
    expect(f.renderSpacing()).toBeLessThan(200)
    f.dispose()
  })

  it('spaces renders out after costly ones, but shows sooner ops that would push unseen events out of the list', async () => {
    const { f, shown, push } = follow(() => 150)
    await f.resync()
    const renderAfter = async (n: number[]) => {
      await tick(2) // the last render's cost is noted after it
      const before = shown.length
      const t = performance.now()
      for (const k of n) push(k)
      await until(() => shown.length > before)
      return performance.now() - t
    }
    for (let i = 0; i < 4; i++) await renderAfter([1])
    // Renders of 150 ms: the next waits about as long again (not 0, at most 500 ms); a flood of ops less.
    const spaced = f.renderSpacing()
    expect(spaced).toBeGreaterThan(150)
    expect(spaced).toBeLessThanOrEqual(500)
    expect(f.renderSpacing(true)).toBeLessThan(spaced)
    // A trickle of ops waits for that spacing…
    const trickle = await renderAfter([1])
    expect(trickle).toBeGreaterThan(15)
    // …a flood less: 150 ops with 200 events kept (half would already be unseen) are shown sooner.
    const flood = await renderAfter([1, 150])
    expect(flood).toBeLessThan(trickle)
    expect(shown.at(-1)!.toolCalls).toHaveLength(156)
    expect(shown.at(-1)!.recentEvents).toHaveLength(156)
    f.dispose()
  })

  it('after Vigil restarts, a refetch shows what it has (events shown before but never durable are gone) and follows its new ops', async () => {
    // The hub shows a socket's events before they are durable; a crash in between loses them. The page
    // refetches on reconnect (RunView) and must then show the restarted server's run, not its own copy.
    let server = applyRunOps(emptyRun(), [op(1), op(2), op(3)], 200)
    const shown: RunDetail[] = []
    const f = new RunFollow({ runId: RUN, load: async () => structuredClone(server), onState: (d) => shown.push(d), frame: (fn) => setTimeout(fn, 0) })
    await f.resync()
    f.push({ runId: RUN, from: 4, ops: [op(4), op(5)] })
    await until(() => shown.at(-1)!.toolCalls!.length === 5)
    // Restarted: only tool_1..3 were durable; its next op is numbered 4 again, and is another event.
    server = applyRunOps(emptyRun(), [op(1), op(2), op(3)], 200)
    await f.resync()
    expect(shown.at(-1)!.toolCalls!.map((c) => c.toolName)).toEqual(['tool_1', 'tool_2', 'tool_3'])
    f.push({ runId: RUN, from: 4, ops: [op(40)] })
    await until(() => shown.at(-1)!.toolCalls!.length === 4)
    expect(shown.at(-1)!.toolCalls!.map((c) => c.toolName)).toEqual(['tool_1', 'tool_2', 'tool_3', 'tool_40'])
    expect(f.loads).toBe(2)
    f.dispose()
  })

  it('in a browser, a render counts its script, layout and paint once (they happen in the same frame), not the next frame as well', async () => {
    // Animation frames as a browser runs them: every 16 ms one task runs the callbacks queued so far,
    // then restyles, lays out and paints (here: RENDER_MS busy) before any other task.
    const SCRIPT_MS = 5
    const RENDER_MS = 10
    const g = globalThis as { requestAnimationFrame?: (cb: () => void) => number }
    const saved = g.requestAnimationFrame
    let callbacks: Array<() => void> = []
    let frames = 0
    const vsync = setInterval(() => {
      const run = callbacks
      callbacks = []
      if (run.length === 0) return
      frames++
      for (const cb of run) cb()
      busy(RENDER_MS)
    }, 16)
    g.requestAnimationFrame = (cb) => {
      callbacks.push(cb)
      return callbacks.length
    }
    try {
      const shown: RunDetail[] = []
      const f = new RunFollow({
        runId: RUN,
        load: async () => emptyRun(),
        onState: (d) => {
          shown.push(d)
          busy(SCRIPT_MS)
        }
      })
      await f.resync()
      let seq = 0
      for (let i = 0; i < 30; i++) {
        f.push({ runId: RUN, from: seq + 1, ops: [op(seq + 1), op(seq + 2)] })
        seq += 2
        await tick(8)
      }
      // A render costs SCRIPT_MS + RENDER_MS = 15 ms, under 1.5 frames: not spaced, every frame renders.
      // Counting the next frame's render as well made it about 30 ms, spaced about 10–20 ms.
      expect(f.renderSpacing(false)).toBeLessThan(5)
      await until(() => shown.at(-1)!.toolCalls!.length === seq)
      expect(shown.at(-1)!.toolCalls).toHaveLength(60)
      expect(frames).toBeGreaterThan(0)
      f.dispose()
    } finally {
      clearInterval(vsync)
      g.requestAnimationFrame = saved
    }
  })
})
