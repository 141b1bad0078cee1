// Issue 16 item 3: after a busy run (30,000 events into a 2,000-envelope window) a browser joining the hub
// still gets the run's ensemble_started and the task_started of every task still open (and, room
// permitting, the finished tasks' starts and ends), so AgentEnsemble's hub page shows "Ensemble e-big,
// 300 tasks", not "Ensemble —, Tasks 26". Real hub on a real server, a real publisher socket.
import { afterEach, describe, expect, it } from 'vitest'
import { RunFrame, SnapshotRing, mergeSnapshots, type SnapshotEntry } from '../../../src/main/hub/snapshot-buffer'
import { browser, frames, open, publisher, startHubServer, waitFor, type HubServer } from './hub-helpers'

let h: HubServer | null = null
afterEach(async () => {
  await h?.close()
  h = null
})

interface Env {
  type: string
  producer: { producerId: string }
  message: { type: string; taskIndex?: number; ensembleId?: string; totalTasks?: number }
}

/** hubReducer → liveReducer for one producer (spec §5.3): ensemble id, declared total and tasks by status. */
function replay(trace: Env[]) {
  const state = { ensembleId: null as string | null, totalTasks: 0, tasks: [] as Array<{ i: number; status: string }> }
  for (const env of trace) {
    const m = env.message
    if (m.type === 'ensemble_started') Object.assign(state, { ensembleId: m.ensembleId ?? null, totalTasks: m.totalTasks ?? 0, tasks: [] })
    else if (m.type === 'task_started' && !state.tasks.some((t) => t.i === m.taskIndex && t.status === 'running')) state.tasks.push({ i: m.taskIndex as number, status: 'running' })
    else if (m.type === 'task_completed') {
      const t = state.tasks.findLast((x) => x.i === m.taskIndex)
      if (t) t.status = 'completed'
    }
  }
  return state
}

describe('late join keeps the run frame', () => {
  it('30,000 events into a 2,000-envelope window: ensemble_started, all 300 tasks and the open ones are replayed', async () => {
    h = await startHubServer()
    const pub = await open(publisher(h, 'busy'))
    let seq = 0
    const t0 = Date.parse('2026-03-05T14:00:00Z')
    const send = (message: Record<string, unknown>) => {
      seq++
      pub.ws.send(JSON.stringify({ type: 'event', producer: { producerId: 'busy' }, sequence: seq, receivedAt: new Date(t0 + seq).toISOString(), message }))
    }
    send({ type: 'ensemble_started', ensembleId: 'e-big', startedAt: '2026-03-05T14:00:00Z', totalTasks: 300, workflow: 'PARALLEL' })
    const openTasks = [297, 298, 299, 300]
    for (let i = 1; i <= 300; i++) {
      send({ type: 'task_started', taskIndex: i, totalTasks: 300, taskDescription: `Task ${i}`, agentRole: 'R', startedAt: null })
      for (let k = 0; k < 97; k++) {
        send({ type: 'tool_called', agentRole: 'R', taskIndex: i, toolName: 't', durationMs: 1, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'task_started mentioned in a result', structuredResult: null })
      }
      if (!openTasks.includes(i)) send({ type: 'task_completed', taskIndex: i, totalTasks: 300, taskDescription: `Task ${i}`, agentRole: 'R', completedAt: null, durationMs: 1, tokenCount: -1, toolCallCount: 97 })
    }
    // Open tasks keep working after the others finished: their starts are far outside the window.
    for (let k = 0; k < 2500; k++) send({ type: 'tool_called', agentRole: 'R', taskIndex: 300, toolName: 't', durationMs: 1, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'x', structuredResult: null })
    const total = seq
    expect(total).toBeGreaterThan(30_000)
    await waitFor(() => h?.hub.producers()[0]?.lastSequence === total, 'all ingested', 20_000)
    expect(h.hub.producers()[0]?.snapshotSize).toBe(2000)

    const b = await open(browser(h))
    const [hello] = await frames(b, 1, 'hub_hello', 5000)
    const trace = (JSON.parse(hello as string) as { snapshotTrace: Env[] }).snapshotTrace
    const types = trace.map((e) => e.message.type)
    expect(types[0]).toBe('ensemble_started')
    const state = replay(trace)
    expect(state.ensembleId).toBe('e-big')
    expect(state.totalTasks).toBe(300)
    expect(state.tasks).toHaveLength(300)
    expect(state.tasks.filter((t) => t.status === 'running').map((t) => t.i)).toEqual(openTasks)
    expect(state.tasks.filter((t) => t.status === 'completed')).toHaveLength(296)
    // Still bounded: the window plus the frame, in receivedAt order.
    expect(trace.length).toBeLessThanOrEqual(2000 + 1 + 300 * 2)
    const keys = trace.map((e) => Date.parse((e as unknown as { receivedAt: string }).receivedAt))
    expect(keys).toEqual([...keys].sort((a, b) => a - b))
  })

  it('a new run replaces the frame, and the frame is bounded (finished tasks go first, ensemble_started never)', () => {
    const mk = (order: number, message: Record<string, unknown>, pad = 0): SnapshotEntry => {
      const text = JSON.stringify({ type: 'event', producer: { producerId: 'p' }, sequence: order, receivedAt: 'x', message, pad: 'x'.repeat(pad) })
      return { key: order, order, text, bytes: text.length }
    }
    const frame = new RunFrame(3, 100_000)
    const ring = new SnapshotRing(2, 1_000_000, null, frame)
    let n = 0
    ring.push(mk(++n, { type: 'ensemble_started', ensembleId: 'old', totalTasks: 1 }))
    ring.push(mk(++n, { type: 'ensemble_started', ensembleId: 'new', totalTasks: 5 }))
    for (let i = 1; i <= 5; i++) ring.push(mk(++n, { type: 'task_started', taskIndex: i }))
    ring.push(mk(++n, { type: 'task_completed', taskIndex: 1 }))
    ring.push(mk(++n, { type: 'tool_called', taskIndex: 2 }))
    ring.push(mk(n + 1, { type: 'tool_called', taskIndex: 2 }))
    const trace = mergeSnapshots([ring], 10_000_000, [frame]).map((t) => (JSON.parse(t) as Env).message)
    // 3 tasks at most: the finished task 1 went first, then the oldest open one (2).
    expect(trace.map((m) => `${m.type}:${m.taskIndex ?? m.ensembleId}`)).toEqual([
      'ensemble_started:new',
      'task_started:3',
      'task_started:4',
      'task_started:5',
      'tool_called:2',
      'tool_called:2'
    ])
    // The hello byte budget cuts the window before the frame (the newest envelope is kept first).
    const frameBytes = [...frame.entries()].reduce((sum, e) => sum + e.bytes + 1, 0)
    const newestBytes = JSON.parse(JSON.stringify(mk(n + 1, { type: 'tool_called', taskIndex: 2 }))).bytes + 1
    const tight = mergeSnapshots([ring], frameBytes + newestBytes, [frame]).map((t) => (JSON.parse(t) as Env).message.type)
    expect(tight).toEqual(['ensemble_started', 'task_started', 'task_started', 'task_started', 'tool_called'])
    // With room for one envelope only, the newest wins.
    expect(mergeSnapshots([ring], newestBytes, [frame]).map((t) => (JSON.parse(t) as Env).message.type)).toEqual(['tool_called'])
    // Bytes: a frame over its byte cap drops tasks, keeps the start.
    const small = new RunFrame(1000, 600)
    const r2 = new SnapshotRing(1, 1_000_000, null, small)
    r2.push(mk(1, { type: 'ensemble_started', ensembleId: 'b' }, 200))
    for (let i = 1; i <= 10; i++) r2.push(mk(1 + i, { type: 'task_started', taskIndex: i }, 100))
    expect(small.size).toBeLessThanOrEqual(600)
    const kept = [...small.entries()].map((e) => (JSON.parse(e.text) as Env).message)
    expect(kept[0]?.type).toBe('ensemble_started')
    expect(kept.at(-1)?.taskIndex).toBe(10)
    r2.release()
    expect([...small.entries()]).toHaveLength(0)
  })

  it('a gate settled elsewhere is replayed after its review_requested even when the publisher clock runs ahead', async () => {
    h = await startHubServer()
    const env = (seq: number, message: Record<string, unknown>) =>
      JSON.stringify({ type: 'event', producer: { producerId: 'ahead' }, sequence: seq, receivedAt: '2030-01-01T00:00:00Z', message })
    expect(h.hub.ingestEnvelope(env(1, { type: 'ensemble_started', ensembleId: 'e', startedAt: null, totalTasks: 1, workflow: 'SEQUENTIAL' }))).toBe(true)
    expect(h.hub.ingestEnvelope(env(2, { type: 'review_requested', reviewId: 'r', taskDescription: 'd', taskOutput: '', timing: 'BEFORE_EXECUTION', timeoutMs: 0, onTimeout: 'CONTINUE' }))).toBe(true)
    const b = await open(browser(h))
    await frames(b, 1, 'hub_hello')
    expect(h.hub.announceSettled('ahead', 'r', 'CONTINUE')).toBe(true)
    expect(h.hub.announceSettled('nobody', 'r', 'CONTINUE')).toBe(false)
    // Live browsers get it at once, inside the producer's envelope.
    const [, live] = await frames(b, 2, 'closing frame')
    expect(JSON.parse(live as string)).toMatchObject({ type: 'event', producer: { producerId: 'ahead' }, message: { type: 'review_timed_out', reviewId: 'r', action: 'CONTINUE' } })
    const trace = (JSON.parse(h.hub.helloFrame()) as { snapshotTrace: Env[] }).snapshotTrace.map((e) => e.message.type)
    expect(trace).toEqual(['ensemble_started', 'review_requested', 'review_timed_out'])
    // The id is no longer pending at the hub: a late decision from a hub browser is not forwarded.
    expect(h.hub.forwardDecision('r', '{"type":"review_decision","reviewId":"r","decision":"CONTINUE"}')).toBe(false)
  })
})
