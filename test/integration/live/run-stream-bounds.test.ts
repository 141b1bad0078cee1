// The run endpoint's late-join state (src/main/live/run-stream.ts) over a real RunTracker and
// ReviewCoordinator: its run ids are the tracker's (hub producers, attachments replaying hellos, imports),
// the snapshot is bounded yet keeps the run's frame, and the heartbeat ticks. Also through a real server.
import { afterEach, describe, expect, it } from 'vitest'
import { RunTracker, type Incoming } from '../../../src/main/live/run-tracker'
import { RunStream } from '../../../src/main/live/run-stream'
import { ReviewCoordinator } from '../../../src/main/reviews/review-coordinator'
import { startVigilServer, type RunningServer } from '../../../src/main/server/vigil-server'
import { VigilService } from '../../../src/main/core/vigil-service'
import { Recorder } from '../../../src/main/recorder/recorder'
import { importTraceFile, ingestImportedTrace } from '../../../src/main/recorder/trace-files'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from './helpers'
import { openViz } from './viz-client'

const streams: RunStream[] = []
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const s of streams.splice(0)) await s.close()
  for (const c of cleanups.splice(0)) await c()
})

function setup(opts: ConstructorParameters<typeof RunStream>[0] extends infer O ? Partial<O> : never = {}) {
  const tracker = new RunTracker({ onRunUpdated: () => undefined })
  const reviews = new ReviewCoordinator({ delivery: { toAttachment: () => true, toHubProducer: () => true }, runIdOf: (s, p) => tracker.currentRunId(s, p) })
  tracker.tap((s, p, m, at) => reviews.observe(s, p, m, at))
  const stream = new RunStream({ tracker, reviews, heartbeatMs: 0, ...opts })
  streams.push(stream)
  cleanups.push(async () => reviews.close())
  return { tracker, stream }
}

const started = (ensembleId: string, totalTasks: number): Incoming => ({ type: 'ensemble_started', ensembleId, startedAt: '2026-03-05T14:00:00Z', totalTasks, workflow: 'SEQUENTIAL' })
const taskStarted = (i: number): Incoming => ({ type: 'task_started', taskIndex: i, totalTasks: 300, taskDescription: `T${i}`, agentRole: 'R', startedAt: '2026-03-05T14:00:01Z' })
const taskDone = (i: number): Incoming => ({ type: 'task_completed', taskIndex: i, totalTasks: 300, taskDescription: `T${i}`, agentRole: 'R', completedAt: '2026-03-05T14:00:02Z', durationMs: 1, tokenCount: -1, toolCallCount: 0 })
const tool = (i: number): Incoming => ({ type: 'tool_called', agentRole: 'R', taskIndex: i, toolName: 't', durationMs: 1, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'r', structuredResult: null })
const AT = '2026-03-05T14:00:00Z'

describe('run endpoint state', () => {
  it('uses the tracker\'s run ids for hub producers, attachments replaying a hello, and imports', () => {
    const { tracker, stream } = setup()
    tracker.ingest('hub', 'p1', started('e1', 1), AT)
    tracker.ingest('hub', 'p1', started('e1', 1), AT) // the same ensemble id again: a second run
    tracker.ingest('att', null, started('a1', 2), AT)
    tracker.ingest('att', null, taskStarted(1), AT)
    // The dashboard reconnects: its hello replays two runs.
    tracker.ingest('att', null, { type: 'hello', ensembleId: 'a2', snapshotTrace: [started('a1', 2), taskStarted(1), taskDone(1), started('a2', 1)] as never }, AT)
    tracker.ingest('att', null, tool(0), AT) // an event before any run on a fresh stream is not needed here
    const imported = importTraceFile(JSON.stringify({ ensembleId: 'x', taskTraces: [{ taskDescription: 'T', agentRole: 'R', startedAt: AT, completedAt: AT }], startedAt: AT, completedAt: AT }))
    ingestImportedTrace(tracker, 'file:x.trace.json', imported)
    tracker.ingest('hub', 'p2', tool(1), AT) // no ensemble_started: a run without an id
    const ids = tracker.listRuns().map((r) => r.runId).sort()
    expect(stream.keptRuns().sort()).toEqual(ids)
    const hello = JSON.parse(stream.helloFor({ kind: 'run', runId: 'att:-:a1:1' })) as { snapshotTrace: Array<{ type: string }> }
    expect(hello.snapshotTrace.map((m) => m.type)).toEqual(['ensemble_started', 'task_started', 'task_completed'])
    // The import's own record of its file is not AgentEnsemble's and never in a hello.
    expect(stream.helloFor({ kind: 'run', runId: 'file:x.trace.json:-:x:1' })).not.toContain('vigil_trace_original')
  })

  it('30,000 events into a 2,000-message snapshot keep ensemble_started, every task start/end and the open tasks', () => {
    const { tracker, stream } = setup({ maxSnapshotPerRun: 2000 })
    tracker.batch(() => {
      tracker.ingest('hub', 'busy', started('big', 300), AT)
      for (let i = 1; i <= 300; i++) {
        tracker.ingest('hub', 'busy', taskStarted(i), AT)
        for (let k = 0; k < 98; k++) tracker.ingest('hub', 'busy', tool(i), AT)
        if (i < 297) tracker.ingest('hub', 'busy', taskDone(i), AT)
      }
    })
    const hello = JSON.parse(stream.helloFor({ kind: 'stream', sourceId: 'hub', producerId: 'busy' })) as { ensembleId: string; snapshotTrace: Array<{ type: string; taskIndex?: number }> }
    expect(hello.ensembleId).toBe('big')
    const trace = hello.snapshotTrace
    expect(trace.length).toBeLessThanOrEqual(2000 + 200)
    expect(trace[0]?.type).toBe('ensemble_started')
    expect(trace.filter((m) => m.type === 'task_started')).toHaveLength(300)
    expect(trace.filter((m) => m.type === 'task_completed')).toHaveLength(296)
    // The newest detail is what stays.
    expect(trace.at(-1)).toMatchObject({ type: 'tool_called', taskIndex: 300 })
  })

  it('bytes are bounded too: a run of big tool results keeps its start and open tasks', () => {
    const { tracker, stream } = setup({ maxSnapshotBytesPerRun: 64 * 1024 })
    tracker.ingest('hub', 'p', started('b', 2), AT)
    tracker.ingest('hub', 'p', taskStarted(1), AT)
    for (let k = 0; k < 200; k++) tracker.ingest('hub', 'p', { ...(tool(1) as object), toolResult: 'x'.repeat(2000) } as Incoming, AT)
    const text = stream.helloFor({ kind: 'stream', sourceId: 'hub', producerId: 'p' })
    expect(text.length).toBeLessThanOrEqual(64 * 1024 + 4096)
    const types = (JSON.parse(text) as { snapshotTrace: Array<{ type: string }> }).snapshotTrace.map((m) => m.type)
    expect(types.slice(0, 2)).toEqual(['ensemble_started', 'task_started'])
  })

  it('heartbeat every heartbeatMs on a real server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rs-'))
    const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(dir, 'tmp') })
    const stream = new RunStream({ tracker: service.registry.tracker, reviews: service.reviews, heartbeatMs: 50 })
    streams.push(stream)
    const server: RunningServer = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: 'x', extensions: [stream] })
    cleanups.push(async () => {
      await server.close()
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    })
    const viz = openViz(`${server.url.replace('http', 'ws')}/ws?producer=nobody`)
    cleanups.push(async () => viz.ws.terminate())
    await waitFor(() => viz.frames.filter((f) => f.type === 'heartbeat').length >= 2, 'two heartbeats')
    expect(viz.frames[0]).toEqual({ type: 'hello' })
    expect(typeof viz.frames.find((f) => f.type === 'heartbeat')?.serverTimeMs).toBe('number')
  })

  it('a client that answers no ping is terminated; one that does stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rs-'))
    const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(dir, 'tmp') })
    const stream = new RunStream({ tracker: service.registry.tracker, reviews: service.reviews, heartbeatMs: 0, livenessMs: 50 })
    streams.push(stream)
    const server: RunningServer = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: 'x', extensions: [stream] })
    cleanups.push(async () => {
      await server.close()
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    })
    const url = `${server.url.replace('http', 'ws')}/ws?producer=nobody`
    const answering = openViz(url)
    const { WebSocket } = await import('ws')
    const mute = new WebSocket(url, { origin: 'http://localhost:5173', autoPong: false })
    mute.on('error', () => undefined)
    const muteClosed = new Promise<void>((resolve) => mute.on('close', () => resolve()))
    cleanups.push(async () => {
      answering.ws.terminate()
      mute.terminate()
    })
    await answering.opened
    await muteClosed
    expect(answering.ws.readyState).toBe(answering.ws.OPEN)
    expect(stream.clientCount()).toBe(1)
  })

  it('a run no longer held in memory is read back from the recording (real DuckDB file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rs-'))
    const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(dir, 'tmp') })
    const tracker = service.registry.tracker
    const recorder = await Recorder.open({ path: join(dir, 'rec.duckdb') })
    recorder.attach(tracker)
    const stream = new RunStream({ tracker, reviews: service.reviews, heartbeatMs: 0, maxRuns: 1, loadRun: (id) => recorder.runEvents(id) })
    streams.push(stream)
    const server: RunningServer = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: 'x', extensions: [stream] })
    cleanups.push(async () => {
      await server.close()
      await service.close()
      await recorder.close()
      rmSync(dir, { recursive: true, force: true })
    })
    tracker.ingest('hub', 'p', started('old', 1), AT)
    tracker.ingest('hub', 'p', taskStarted(1), AT)
    tracker.ingest('hub', 'p', { type: 'llm_iteration_started', agentRole: 'R', taskDescription: 'T1', iterationIndex: 0, messages: [] }, AT)
    tracker.ingest('hub', 'p', taskDone(1), AT)
    tracker.ingest('hub', 'q', started('new', 1), AT)
    expect(stream.keptRuns()).toEqual(['hub:q:new:1'])
    const viz = openViz(`${server.url.replace('http', 'ws')}/ws?run=${encodeURIComponent('hub:p:old:1')}`)
    cleanups.unshift(async () => viz.ws.terminate())
    await waitFor(() => viz.state.connectionStatus === 'connected', 'hello from the recording', 5000)
    const hello = viz.frames[0] as { ensembleId?: string; snapshotTrace?: Array<{ type: string }>; recentIterations?: unknown[] }
    expect(hello.ensembleId).toBe('old')
    expect(hello.snapshotTrace?.map((m) => m.type)).toEqual(['ensemble_started', 'task_started', 'task_completed'])
    expect(hello.recentIterations).toHaveLength(1)
    expect(viz.state.tasks.map((t) => t.status)).toEqual(['completed'])
  })
})
