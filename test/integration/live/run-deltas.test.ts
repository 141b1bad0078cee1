// Run deltas through the real server (issue 16 item 5): a producer publishes into Vigil's hub, windows
// on /api/events watch runs. Each gets only the ops of the runs it watches, numbered per run without a
// gap; a window built on the real web bridge and RunFollow fetches the detail once and ends equal to a
// fresh getRun(); a window that stops reading has its queue bounded: the ops past the bound are dropped,
// counted, and the window is told (a delta with `dropped`), refetches once and ends equal again.
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { EventFrame } from '../../../src/shared/api/contract'
import type { RunDetail } from '../../../src/shared/model/live'
import { RUN_PAGE_EVENTS, type RunDelta } from '../../../src/shared/model/run-reducer'
import type { DashboardMessage } from '../../../src/shared/protocol/agentensemble'
import { createWebBridge, type SocketFactory } from '../../../src/renderer/bridge/web-bridge'
import { RunFollow } from '../../../src/renderer/lib/run-follow'
import { connect, type TestClient } from './helpers'
import { startReviewVigil, type ReviewVigil } from '../reviews/review-helpers'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function waitFor<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function vigil(): Promise<ReviewVigil> {
  const v = await startReviewVigil()
  cleanups.push(() => v.close())
  return v
}

/** A hub producer: envelopes as AgentEnsemble's publisher sends them. */
async function producer(v: ReviewVigil, producerId: string) {
  const c = connect(`${v.ws}/ingress?producerId=${encodeURIComponent(producerId)}`)
  cleanups.push(() => c.ws.close())
  await c.opened
  let seq = 0
  const info = { producerId, serviceName: 'svc', instanceId: producerId }
  return {
    send(message: DashboardMessage) {
      c.ws.send(JSON.stringify({ type: 'event', producer: info, sequence: ++seq, receivedAt: new Date().toISOString(), message }))
    },
    drain: () => waitFor(() => c.ws.bufferedAmount === 0, 'producer drained', 20_000)
  }
}

async function rpc<T>(v: ReviewVigil, method: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`${v.base}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args }) })
  const body = (await res.json()) as { ok: boolean; value: T }
  if (!body.ok) throw new Error(JSON.stringify(body))
  return body.value
}

/** A raw window on /api/events: its run-delta frames, and a way to choose runs. */
async function rawWindow(v: ReviewVigil): Promise<{ client: TestClient; deltas: () => RunDelta[]; watch(ids: string[]): void }> {
  const client = connect(`${v.ws}/api/events`, v.base)
  cleanups.push(() => client.ws.close())
  await client.opened
  return {
    client,
    deltas: () =>
      client.frames
        .map((f) => JSON.parse(f) as EventFrame)
        .filter((f) => f.event === 'run-delta')
        .map((f) => f.payload as RunDelta),
    watch: (ids) => client.ws.send(JSON.stringify({ watchRuns: ids }))
  }
}

/** A run page as the renderer builds it: the web bridge, RunFollow on top; counts its getRun calls. */
function pageWindow(v: ReviewVigil, runId: string) {
  let socket: WebSocket | null = null
  const openSocket: SocketFactory = (url) => {
    socket = new WebSocket(url, { origin: v.base })
    return socket as never
  }
  let getRuns = 0
  const countingFetch: typeof fetch = (input, init) => {
    if (String(input).endsWith('/getRun')) getRuns++
    return fetch(input, init)
  }
  const bridge = createWebBridge({ baseUrl: v.base, openSocket, fetch: countingFetch, reconnectMs: [50] })
  cleanups.push(() => bridge.dispose())
  let shown: RunDetail | null = null
  const follow = new RunFollow({ runId, load: (id) => bridge.getRun(id, RUN_PAGE_EVENTS), onState: (d) => (shown = d), frame: (fn) => setTimeout(fn, 5) })
  bridge.on('run-delta', (d) => follow.push(d))
  bridge.watchRuns([runId])
  void follow.resync()
  return { follow, shown: () => shown, getRuns: () => getRuns, socket: () => socket! }
}

const role = 'Researcher'
const task = (k: number): DashboardMessage => ({ type: 'task_started', taskIndex: k, totalTasks: 500, taskDescription: `Task ${k}`, agentRole: role, startedAt: new Date().toISOString() })
const tool = (k: number, result = 'ok'): DashboardMessage => ({ type: 'tool_called', agentRole: role, taskIndex: k, toolName: 'search', durationMs: 3, outcome: 'SUCCESS', toolArguments: '{"q":1}', toolResult: result, structuredResult: null })

async function runOf(v: ReviewVigil, producerId: string, minEvents = 1): Promise<string> {
  return waitFor(() => v.service.registry.tracker.listRuns().find((r) => r.producerId === producerId && r.eventCount >= minEvents)?.runId, `run of ${producerId}`, 10_000)
}

function expectContiguous(deltas: RunDelta[]): void {
  for (let i = 1; i < deltas.length; i++) {
    const prev = deltas[i - 1]!
    // A delta after a gap starts past the ops dropped before it.
    expect(deltas[i]!.from).toBe(prev.from + prev.ops.length + (deltas[i]!.dropped ?? 0))
  }
}

describe('run deltas on /api/events', () => {
  it('go only to windows watching the run, numbered per run without a gap; a page fetches once and equals a fresh getRun', async () => {
    const v = await vigil()
    const a = await producer(v, 'pa')
    const b = await producer(v, 'pb')
    a.send({ type: 'ensemble_started', ensembleId: 'ea', startedAt: new Date().toISOString(), totalTasks: 3, workflow: 'SEQUENTIAL' })
    b.send({ type: 'ensemble_started', ensembleId: 'eb', startedAt: new Date().toISOString(), totalTasks: 3, workflow: 'SEQUENTIAL' })
    const runA = await runOf(v, 'pa')
    const runB = await runOf(v, 'pb')

    const watchingA = await rawWindow(v)
    watchingA.watch([runA])
    const watchingB = await rawWindow(v)
    watchingB.watch([runB])
    const watchingNone = await rawWindow(v)
    const page = pageWindow(v, runA)
    await waitFor(() => page.shown() !== null && v.service.events.runFeed.stats().watching === 3, 'windows watching')

    for (let k = 1; k <= 3; k++) {
      a.send(task(k))
      b.send(task(k))
      for (let i = 0; i < 20; i++) {
        a.send(tool(k, `result ${k}.${i}`))
        b.send(tool(k))
      }
      a.send({ type: 'llm_iteration_started', agentRole: role, taskDescription: `Task ${k}`, iterationIndex: 0, messages: [{ role: 'user', content: 'hi', toolCalls: null, toolName: null }] })
      a.send({ type: 'file_changed', agentRole: role, filePath: `f${k}.ts`, changeType: 'CREATED', linesAdded: k, linesRemoved: 0 })
      a.send({ type: 'task_completed', taskIndex: k, totalTasks: 3, taskDescription: `Task ${k}`, agentRole: role, completedAt: new Date().toISOString(), durationMs: 5, tokenCount: -1, toolCallCount: 20 })
    }
    a.send({ type: 'ensemble_completed', ensembleId: 'ea', completedAt: new Date().toISOString(), durationMs: 50, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 60 })
    await a.drain()
    const final = await waitFor(async () => {
      const r = await rpc<RunDetail>(v, 'getRun', runA, RUN_PAGE_EVENTS)
      return r.status === 'completed' ? r : null
    }, 'run A completed', 10_000)
    await waitFor(() => page.shown()?.status === 'completed' && watchingA.deltas().at(-1)?.ops.some((o) => o.op === 'message' && o.message.type === 'ensemble_completed'), 'the last ops pushed', 10_000)

    const toA = watchingA.deltas()
    expect(toA.length).toBeGreaterThan(0)
    expect(toA.every((d) => d.runId === runA)).toBe(true)
    expectContiguous(toA)
    // Every event of the run since the watch began (3 × (1 + 20 + 3) + the completion), each once.
    const messages = toA.flatMap((d) => d.ops).filter((o) => o.op === 'message')
    expect(messages).toHaveLength(3 * 24 + 1)
    expect(toA.at(-1)!.from + toA.at(-1)!.ops.length - 1).toBe(final.live!.seq)
    expect(watchingB.deltas().every((d) => d.runId === runB)).toBe(true)
    expect(watchingB.deltas().flatMap((d) => d.ops)).toHaveLength(3 * 21)
    expect(watchingNone.deltas()).toEqual([])

    // The page: fetched once, then ops only; what it shows is what a fresh fetch gives.
    expect(page.getRuns()).toBe(1)
    expect(page.follow.loads).toBe(1)
    expect(page.shown()).toEqual(final)
  })

  it('bounds a window that stops reading: drops and counts the ops past the bound, tells it of the gap, and it recovers with one refetch', async () => {
    const v = await vigil()
    v.service.events.runFeed.limits = { ...v.service.events.runFeed.limits, maxQueuedOps: 300 }
    const p = await producer(v, 'slow')
    p.send({ type: 'ensemble_started', ensembleId: 'es', startedAt: new Date().toISOString(), totalTasks: 1, workflow: 'SEQUENTIAL' })
    p.send(task(1))
    const runId = await runOf(v, 'slow', 2)
    const raw = await rawWindow(v)
    raw.watch([runId])
    const page = pageWindow(v, runId)
    await waitFor(() => page.shown() !== null && v.service.events.runFeed.stats().watching === 2, 'windows watching')

    // Both windows stop reading; the producer goes on until the server has dropped ops for them.
    raw.client.ws.pause()
    page.socket().pause()
    const big = 'x'.repeat(8000)
    let sent = 0
    while (v.service.events.runFeed.stats().droppedOps === 0) {
      if (sent >= 40_000) throw new Error('no op was dropped after 40,000 events')
      for (let i = 0; i < 200; i++) p.send(tool(1, big))
      sent += 200
      await p.drain()
      await new Promise((r) => setTimeout(r, 30))
    }
    for (let i = 0; i < 50; i++) p.send(tool(1, 'after the gap'))
    p.send({ type: 'task_completed', taskIndex: 1, totalTasks: 1, taskDescription: 'Task 1', agentRole: role, completedAt: new Date().toISOString(), durationMs: 5, tokenCount: -1, toolCallCount: sent + 50 })
    await p.drain()
    raw.client.ws.resume()
    page.socket().resume()

    const final = await waitFor(async () => {
      const r = await rpc<RunDetail>(v, 'getRun', runId, RUN_PAGE_EVENTS)
      return r.tasks[0]?.status === 'completed' ? r : null
    }, 'task completed', 20_000)
    await waitFor(() => raw.deltas().some((d) => d.ops.some((o) => o.op === 'message' && o.message.type === 'task_completed')), 'the raw window caught up', 20_000)
    const deltas = raw.deltas()
    const gaps = deltas.filter((d) => d.dropped)
    expect(gaps.length).toBeGreaterThan(0)
    // Numbers still add up: ops sent + ops dropped cover every op, and the counts agree with the server's.
    expectContiguous(deltas)
    const stats = v.service.events.runFeed.stats()
    const droppedHere = gaps.reduce((n, d) => n + d.dropped!, 0)
    expect(stats.droppedOps).toBeGreaterThanOrEqual(droppedHere)
    expect(stats.gaps).toBeGreaterThanOrEqual(gaps.length)
    // …and /api/status says so.
    const status = (await (await fetch(`${v.base}/api/status`)).json()) as { runDeltas?: { droppedOps: number; gaps: number } }
    expect(status.runDeltas!.droppedOps).toBeGreaterThanOrEqual(droppedHere)
    expect(status.runDeltas!.gaps).toBeGreaterThanOrEqual(gaps.length)

    // The page saw the gap, refetched once for it, and shows what a fresh fetch shows.
    await waitFor(() => page.shown()?.tasks[0]?.status === 'completed', 'the page caught up', 20_000)
    expect(page.follow.gaps).toBeGreaterThanOrEqual(1)
    expect(page.getRuns()).toBeGreaterThanOrEqual(2)
    expect(page.getRuns()).toBeLessThanOrEqual(1 + page.follow.gaps + 1)
    expect(page.shown()).toEqual(final)
  }, 120_000)
})
