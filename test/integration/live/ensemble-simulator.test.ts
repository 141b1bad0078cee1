import { afterEach, describe, expect, it } from 'vitest'
import { EnsembleSimulator, finishedSequentialRunScript } from '../../../src/main/demo/ensemble-simulator'
import type { EnsembleSimulatorOptions } from '../../../src/main/demo/ensemble-simulator'
import { PERSISTENT_TYPES, parseServerFrame, serializeClientMessage, serializeServerMessage } from '../../../src/shared/protocol/agentensemble'
import type { ServerMessage } from '../../../src/shared/protocol/agentensemble'
import { connect, waitFor } from './helpers'
import type { TestClient } from './helpers'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function simulator(opts: EnsembleSimulatorOptions) {
  const sim = new EnsembleSimulator(opts)
  const started = await sim.start()
  cleanups.push(() => sim.stop())
  return { sim, ...started }
}

/** `null` sends no Origin header at all. */
function client(url: string, origin: string | null = 'http://localhost:5173'): TestClient {
  const c = connect(url, origin ?? undefined)
  cleanups.push(() => c.ws.terminate())
  return c
}

function messages(c: TestClient): ServerMessage[] {
  return c.frames.map((f) => {
    const r = parseServerFrame(f)
    if (!r.ok) throw new Error(`bad frame ${f}`)
    return r.message
  })
}

describe('EnsembleSimulator', () => {
  it('serves ws://127.0.0.1:PORT/ws and sends hello first: {"type":"hello"} before any run', async () => {
    const { url, port } = await simulator({ script: [] })
    expect(url).toBe(`ws://127.0.0.1:${port}/ws`)
    const c = client(url)
    await waitFor(() => c.frames.length > 0, 'hello')
    expect(c.frames).toEqual(['{"type":"hello"}'])
  })

  it('gives a late joiner the finished sequential run in hello, byte-exact', async () => {
    const script = finishedSequentialRunScript('e1')
    const { url } = await simulator({ script })
    const c = client(url)
    await waitFor(() => c.frames.length > 0, 'hello')
    const persistent = script.filter((m) => PERSISTENT_TYPES.has(m.type)).map((m) => serializeServerMessage(m))
    expect(c.frames[0]!.startsWith(`{"type":"hello","ensembleId":"e1","startedAt":"2026-03-05T14:00:00Z","snapshotTrace":[${persistent.join(',')}],"recentIterations":[{"started":{"type":"llm_iteration_started"`)).toBe(true)
    const hello = messages(c)[0]!
    if (hello.type !== 'hello') throw new Error('not hello')
    expect(hello.snapshotTrace?.map((m) => m.type)).toEqual([
      'ensemble_started',
      'task_started',
      'task_input',
      'task_completed',
      'task_started',
      'task_input',
      'task_completed',
      'ensemble_completed'
    ])
    expect(hello.recentIterations?.every((i) => i.completed?.responseType === 'FINAL_ANSWER')).toBe(true)
  })

  it('answers ping with pong, ignores malformed input and keeps the socket open', async () => {
    const { url } = await simulator({ script: [] })
    const c = client(url)
    await c.opened
    c.ws.send('garbage')
    c.ws.send('{"type":"PING"}')
    c.ws.send('{"type":"review_decision"}')
    c.ws.send(serializeClientMessage({ type: 'ping' }))
    await waitFor(() => c.frames.length >= 2, 'pong')
    expect(c.frames).toEqual(['{"type":"hello"}', '{"type":"pong"}'])
  })

  it('broadcasts heartbeats at the configured rate and reports clients on GET /api/status', async () => {
    const { url, port } = await simulator({ script: [], heartbeatMs: 40 })
    const c = client(url)
    await waitFor(() => c.frames.some((f) => f.startsWith('{"type":"heartbeat"')), 'a heartbeat')
    expect(c.frames.find((f) => f.startsWith('{"type":"heartbeat"'))).toMatch(/^\{"type":"heartbeat","serverTimeMs":\d{13}\}$/)
    const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as Record<string, unknown>
    expect(status).toEqual({ status: 'running', clients: 1, port })
  })

  it.each([
    ['a look-alike host', 'http://localhost.evil.com'],
    ['another host', 'http://evil.com/?host=localhost'],
    ['the literal null', 'null'],
    ['no Origin at all', null]
  ])('rejects %s with close 1008 "Origin not allowed" and no hello', async (_what, origin) => {
    const { url, port } = await simulator({ script: finishedSequentialRunScript() })
    const c = client(url, origin)
    const closed = await c.closed
    expect(closed).toEqual({ code: 1008, reason: 'Origin not allowed' })
    expect(c.frames).toEqual([])
    const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { clients: number }
    expect(status.clients).toBe(0)
  })

  it.each(['http://localhost:5173', 'https://127.0.0.1:1', 'http://[::1]:3000', 'HTTP://LOCALHOST'])('accepts the local origin %s', async (origin) => {
    const { url } = await simulator({ script: [] })
    const c = client(url, origin)
    await waitFor(() => c.frames.length > 0, 'hello')
    expect(c.frames[0]).toBe('{"type":"hello"}')
  })

  it('plays a sequential run in protocol order and completes the review round trip', async () => {
    const { sim, url } = await simulator({ paceMs: 3, loop: false, reviewTimeoutMs: 0 })
    const c = client(url)
    const request = await waitFor(() => messages(c).find((m) => m.type === 'review_requested'), 'a review', 3000)
    if (request.type !== 'review_requested') throw new Error('unreachable')
    expect(request).toMatchObject({ timing: 'AFTER_EXECUTION', timeoutMs: 0, onTimeout: 'CONTINUE' })
    c.ws.send(serializeClientMessage({ type: 'review_decision', reviewId: request.reviewId, decision: 'CONTINUE' }))
    // A second decision for the same id is recorded but has no effect (first wins).
    c.ws.send(serializeClientMessage({ type: 'review_decision', reviewId: request.reviewId, decision: 'EXIT_EARLY' }))
    await waitFor(() => messages(c).some((m) => m.type === 'ensemble_completed'), 'the end of the run', 3000)

    const all = messages(c)
    // Every frame is exactly what the serializer (= Jackson) would print.
    expect(c.frames).toEqual(all.map((m) => serializeServerMessage(m)))
    const types = all.map((m) => m.type)
    expect(types[0]).toBe('hello')
    expect(types[1]).toBe('ensemble_started')
    expect(types.at(-1)).toBe('ensemble_completed')
    expect(types.filter((t) => t === 'task_completed')).toHaveLength(3)
    // §1.6: task_completed only after the after-execution gate is decided.
    expect(types.lastIndexOf('task_completed')).toBeGreaterThan(types.indexOf('review_requested'))
    const tools = all.filter((m) => m.type === 'tool_called')
    expect(tools.map((m) => m.outcome)).toEqual(expect.arrayContaining(['SUCCESS', 'FAILURE']))
    expect(tools.some((m) => m.taskIndex === 0)).toBe(true)
    expect(types).toContain('file_changed')
    expect(all.at(-1)).toMatchObject({ exitReason: 'COMPLETED', totalToolCalls: tools.length })
    expect(sim.decisions).toEqual([
      { reviewId: request.reviewId, decision: 'CONTINUE' },
      { reviewId: request.reviewId, decision: 'EXIT_EARLY' }
    ])

    // A late joiner gets the persistent part of the run, but no review frames (§1.2).
    const late = client(url)
    await waitFor(() => late.frames.length > 0, 'late hello')
    const hello = messages(late)[0]!
    if (hello.type !== 'hello') throw new Error('not hello')
    expect(hello.snapshotTrace?.every((m) => PERSISTENT_TYPES.has(m.type))).toBe(true)
    expect(hello.snapshotTrace?.at(-1)?.type).toBe('ensemble_completed')
  })

  it('times a review out: broadcasts review_timed_out, then applies EXIT_EARLY (exitReason TIMEOUT)', async () => {
    const { url } = await simulator({ paceMs: 2, loop: false, reviewTimeoutMs: 60, reviewOnTimeout: 'EXIT_EARLY' })
    const c = client(url)
    await waitFor(() => messages(c).some((m) => m.type === 'ensemble_completed'), 'the end of the run', 3000)
    const all = messages(c)
    const request = all.find((m) => m.type === 'review_requested')!
    if (request.type !== 'review_requested') throw new Error('unreachable')
    expect(all).toContainEqual({ type: 'review_timed_out', reviewId: request.reviewId, action: 'EXIT_EARLY' })
    // The gated (third) task never completes.
    expect(all.filter((m) => m.type === 'task_completed')).toHaveLength(2)
    expect(all.at(-1)).toMatchObject({ type: 'ensemble_completed', exitReason: 'TIMEOUT' })
  })

  it('waits for a first client before playing, then loops into new runs', async () => {
    const { url } = await simulator({ paceMs: 1, loop: true, reviewTimeoutMs: 5 })
    await new Promise((r) => setTimeout(r, 50))
    const c = client(url)
    await waitFor(() => messages(c).filter((m) => m.type === 'ensemble_started').length >= 2, 'a second run', 4000)
    const all = messages(c)
    expect(all[0]).toEqual({ type: 'hello' })
    const ids = all.flatMap((m) => (m.type === 'ensemble_started' ? [m.ensembleId] : []))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('stop() closes clients and the port', async () => {
    const sim = new EnsembleSimulator({ paceMs: 5 })
    const { url, port } = await sim.start()
    const c = client(url)
    await c.opened
    await sim.stop()
    await c.closed
    await expect(fetch(`http://127.0.0.1:${port}/api/status`)).rejects.toThrow()
  })
})
