import { copyFileSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { DuckDBInstance } from '@duckdb/node-api'
import { RunTracker } from '../../../src/main/live/run-tracker'
import type { Incoming } from '../../../src/main/live/run-tracker'
import { Recorder, RecorderOpenError } from '../../../src/main/recorder/recorder'
import type { DashboardMessage, ServerMessage } from '../../../src/shared/protocol/agentensemble'
import { writeCorruptStore } from '../../fixtures/perspt-fixtures'

const root = mkdtempSync(join(tmpdir(), 'vigil-recorder-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const dbPath = () => join(root, `rec-${++n}.duckdb`)
const open: Recorder[] = []
afterEach(async () => {
  for (const r of open.splice(0)) await r.close()
})
async function openRec(opts: Parameters<typeof Recorder.open>[0]) {
  const r = await Recorder.open({ flushMs: 10_000, ...opts })
  open.push(r)
  return r
}
const tracker = () => new RunTracker({ onRunUpdated: () => undefined })
const T = (s: number) => `2026-03-05T14:00:${String(s).padStart(2, '0')}Z`

function run(id: string, base = 0): DashboardMessage[] {
  return [
    { type: 'ensemble_started', ensembleId: id, startedAt: T(base), totalTasks: 2, workflow: 'SEQUENTIAL' },
    { type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Research', agentRole: 'R', startedAt: T(base + 1) },
    { type: 'tool_called', agentRole: 'R', taskIndex: 1, toolName: 'web', durationMs: 5, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'ok', structuredResult: null },
    { type: 'tool_called', agentRole: 'R', taskIndex: 1, toolName: 'web', durationMs: 5, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'ok', structuredResult: null },
    { type: 'task_completed', taskIndex: 1, totalTasks: 2, taskDescription: 'Research', agentRole: 'R', completedAt: T(base + 3), durationMs: 2000, tokenCount: -1, toolCallCount: 2 },
    { type: 'task_started', taskIndex: 2, totalTasks: 2, taskDescription: 'Write', agentRole: 'W', startedAt: T(base + 4) },
    { type: 'task_failed', taskIndex: 2, taskDescription: 'Write', agentRole: 'W', failedAt: T(base + 5), reason: 'boom' }
  ]
}
const completed = (id: string, at: number): ServerMessage => ({ type: 'ensemble_completed', ensembleId: id, completedAt: T(at), durationMs: 9000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 2 })

function feed(t: RunTracker, source: string, msgs: Incoming[], at = T(30)) {
  for (const m of msgs) t.ingest(source, null, m, at)
}

function shape(t: RunTracker) {
  return t.listRuns().map((r) => {
    const d = t.getRun(r.runId)
    return { runId: r.runId, status: r.status, total: r.totalTasks, done: r.completedTasks, failed: r.failedTasks, tasks: d?.tasks.map((x) => [x.taskIndex, x.status, x.toolCalls]) }
  })
}

describe('Recorder', () => {
  it('writes tapped events in batches that survive close and reopen', async () => {
    const path = dbPath()
    const rec = await openRec({ path })
    const t = tracker()
    rec.attach(t)
    feed(t, 'ws:a', [{ type: 'heartbeat', serverTimeMs: 1 }, ...run('e1')])
    expect(rec.stats()).toMatchObject({ recorded: 0, queued: 7, dropped: 0 })
    await rec.flush()
    expect(rec.stats()).toMatchObject({ recorded: 7, queued: 0 })
    expect(rec.stats().lastFlushMs).not.toBeNull()
    feed(t, 'ws:a', [completed('e1', 9)])
    await rec.close()

    const again = await openRec({ path })
    const events = await again.readEvents()
    expect(events.map((e) => e.message.type)).toEqual([...run('e1').map((m) => m.type), 'ensemble_completed'])
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('flushes on its own timer', async () => {
    const rec = await openRec({ path: dbPath(), flushMs: 20 })
    const t = tracker()
    rec.attach(t)
    feed(t, 'ws:a', run('e1'))
    const deadline = Date.now() + 2000
    while (rec.stats().recorded < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(rec.stats().recorded).toBe(7)
  })

  it('replayInto rebuilds the same runs after a restart, without recording the replay', async () => {
    const path = dbPath()
    const live = tracker()
    const rec = await openRec({ path })
    rec.attach(live)
    feed(live, 'ws:a', [...run('e1'), completed('e1', 9), ...run('e2', 10)])
    feed(live, 'ws:b', [...run('e1'), completed('e1', 9)])
    live.ingest('ws:a', null, { type: 'review_decision', reviewId: 'r1', decision: 'CONTINUE' }, T(31))
    // A remote hub's envelopes are recorded unwrapped under their producer.
    live.ingest('hub', null, { type: 'event', producer: { producerId: 'p1' }, sequence: 1, receivedAt: T(1), message: run('h1')[0] as DashboardMessage }, T(32))
    await rec.close()

    const rec2 = await openRec({ path })
    const restored = tracker()
    rec2.attach(restored)
    const { events } = await rec2.replayInto(restored)
    expect(events).toBe(25)
    expect(shape(restored)).toEqual(shape(live))
    expect(restored.listRuns().map((r) => r.runId)).toContain('hub:p1:h1:1')
    await rec2.flush()
    expect(rec2.stats()).toMatchObject({ recorded: 0, queued: 0 })
    expect(await rec2.readEvents()).toHaveLength(25)
  })

  it('does not duplicate late-join hello snapshots, records what was missed, and survives a restart', async () => {
    const path = dbPath()
    const msgs = run('e1')
    const live = tracker()
    const rec = await openRec({ path })
    rec.attach(live)
    live.ingest('ws:a', null, { type: 'hello' }, T(0))
    feed(live, 'ws:a', msgs.slice(0, 3))
    // Reconnect: the snapshot repeats what we saw and adds what we missed (two equal tool calls stay two).
    live.ingest('ws:a', null, { type: 'hello', ensembleId: 'e1', snapshotTrace: msgs.slice(0, 5) }, T(40))
    feed(live, 'ws:a', msgs.slice(5))
    await rec.close()

    const rec2 = await openRec({ path })
    const events = await rec2.readEvents()
    expect(events.map((e) => e.message.type)).toEqual(['hello', ...msgs.map((m) => m.type)])
    expect(events.filter((e) => e.message.type === 'tool_called')).toHaveLength(2)

    // After Vigil restarts, the source reconnects and sends the full snapshot again: nothing new.
    const restored = tracker()
    rec2.attach(restored)
    await rec2.replayInto(restored)
    restored.ingest('ws:a', null, { type: 'hello', ensembleId: 'e1', snapshotTrace: msgs }, T(50))
    await rec2.flush()
    expect(rec2.stats().recorded).toBe(0)
    expect(shape(restored)).toEqual(shape(live))
  })

  it('dedupes hub_hello envelopes and recent iterations', async () => {
    const rec = await openRec({ path: dbPath() })
    const t = tracker()
    rec.attach(t)
    const env = (sequence: number, message: DashboardMessage) => ({ type: 'event' as const, producer: { producerId: 'p1' }, sequence, receivedAt: T(sequence), message })
    const started = { type: 'llm_iteration_started' as const, agentRole: 'R', taskDescription: 'Research', iterationIndex: 0, messages: [] }
    const msgs = run('h1')
    t.ingest('hub', null, env(1, msgs[0] as DashboardMessage), T(1))
    t.ingest('hub', null, env(2, msgs[1] as DashboardMessage), T(2))
    t.ingest('hub', null, env(3, started), T(3))
    t.ingest('hub', null, { type: 'hub_hello', snapshotTrace: [env(1, msgs[0] as DashboardMessage), env(2, msgs[1] as DashboardMessage), env(3, started), env(4, msgs[2] as DashboardMessage)], iterationsByProducer: { p1: [{ started }] } }, T(9))
    t.ingest('ws:e', null, { type: 'hello', ensembleId: 'x', snapshotTrace: [{ type: 'ensemble_started', ensembleId: 'x', startedAt: T(0), totalTasks: 1, workflow: null }], recentIterations: [{ started }] }, T(9))
    t.ingest('ws:e', null, { type: 'hello', ensembleId: 'x', snapshotTrace: [{ type: 'ensemble_started', ensembleId: 'x', startedAt: T(0), totalTasks: 1, workflow: null }], recentIterations: [{ started }] }, T(10))
    const events = await rec.readEvents()
    expect(events.filter((e) => e.sourceId === 'hub').map((e) => [e.producerId, e.message.type])).toEqual([
      ['p1', 'ensemble_started'],
      ['p1', 'task_started'],
      ['p1', 'llm_iteration_started'],
      ['p1', 'tool_called']
    ])
    expect(events.filter((e) => e.sourceId === 'ws:e').map((e) => e.message.type)).toEqual(['ensemble_started', 'llm_iteration_started'])
  })

  it('records an empty hello as a marker so a replay ends the runs it ended', async () => {
    const path = dbPath()
    const live = tracker()
    const rec = await openRec({ path })
    rec.attach(live)
    feed(live, 'ws:a', run('e1').slice(0, 2))
    live.ingest('ws:a', null, { type: 'hello' }, T(40))
    await rec.close()
    const rec2 = await openRec({ path })
    const restored = tracker()
    await rec2.replayInto(restored)
    expect(restored.listRuns()[0]?.status).toBe('aborted')
    expect(shape(restored)).toEqual(shape(live))
  })

  it('drops and counts the oldest unflushed events under a burst', async () => {
    const rec = await openRec({ path: dbPath(), maxQueued: 100 })
    const t = tracker()
    rec.attach(t)
    for (let i = 0; i < 1000; i++) t.ingest('ws:a', null, { type: 'tool_called', agentRole: 'R', taskIndex: 0, toolName: `t${i}`, durationMs: i, outcome: null, toolArguments: null, toolResult: null, structuredResult: null }, T(1))
    expect(rec.stats()).toMatchObject({ queued: 100, dropped: 900 })
    await rec.flush()
    expect(rec.stats()).toMatchObject({ recorded: 100, queued: 0, dropped: 900 })
    const events = await rec.readEvents()
    expect(events).toHaveLength(100)
    expect((events.at(-1)?.message as { toolName: string }).toolName).toBe('t999')
    expect((events[0]?.message as { toolName: string }).toolName).toBe('t900')
  })

  it('also bounds the unflushed queue by message text size, dropping and counting the oldest', async () => {
    const rec = await openRec({ path: dbPath(), maxQueuedChars: 50_000 })
    const t = tracker()
    rec.attach(t)
    const big = 'x'.repeat(10_000)
    for (let i = 0; i < 20; i++) t.ingest('ws:a', null, { type: 'tool_called', agentRole: 'R', taskIndex: 0, toolName: `t${i}`, durationMs: i, outcome: null, toolArguments: big, toolResult: null, structuredResult: null }, T(1))
    // ~10,200 characters each: four fit under 50,000.
    expect(rec.stats()).toMatchObject({ queued: 4, dropped: 16 })
    await rec.flush()
    const events = await rec.readEvents()
    expect(events.map((e) => (e.message as { toolName: string }).toolName)).toEqual(['t16', 't17', 't18', 't19'])
    // The queue's size starts again from zero after a flush.
    t.ingest('ws:a', null, { type: 'tool_called', agentRole: 'R', taskIndex: 0, toolName: 'after', durationMs: 1, outcome: null, toolArguments: big, toolResult: null, structuredResult: null }, T(2))
    expect(rec.stats()).toMatchObject({ queued: 1, dropped: 16 })
  })

  it('records an event whose structuredResult is too deep to stringify, with that value replaced by null, and counts it', async () => {
    const rec = await openRec({ path: dbPath() })
    const t = tracker()
    rec.attach(t)
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    const errors: unknown[] = []
    const original = console.error
    console.error = (...args: unknown[]) => void errors.push(args)
    try {
      feed(t, 'ws:a', [
        run('e1')[0]!,
        { type: 'tool_called', agentRole: 'R', taskIndex: 1, toolName: 'deep', durationMs: 3, outcome: 'SUCCESS', toolArguments: '{"q":1}', toolResult: 'ok', structuredResult: deep },
        { type: 'tool_called', agentRole: 'R', taskIndex: 1, toolName: 'shallow', durationMs: 4, outcome: 'SUCCESS', toolArguments: null, toolResult: null, structuredResult: { b: [1, 2] } }
      ])
    } finally {
      console.error = original
    }
    expect(errors).toEqual([])
    expect(rec.stats()).toMatchObject({ queued: 3, dropped: 0, replaced: 1 })
    const events = await rec.readEvents()
    expect(events.map((e) => e.message)).toEqual([
      run('e1')[0],
      { type: 'tool_called', agentRole: 'R', taskIndex: 1, toolName: 'deep', durationMs: 3, outcome: 'SUCCESS', toolArguments: '{"q":1}', toolResult: 'ok', structuredResult: null },
      { type: 'tool_called', agentRole: 'R', taskIndex: 1, toolName: 'shallow', durationMs: 4, outcome: 'SUCCESS', toolArguments: null, toolResult: null, structuredResult: { b: [1, 2] } }
    ])
  })

  it('opens DuckDB with a small memory limit and one thread', async () => {
    const rec = await openRec({ path: dbPath() })
    const settings = await rec.withConnection(async (con) =>
      (await con.runAndReadAll(`SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t`)).getRowObjectsJS()[0]
    )
    expect(Number(settings?.t)).toBe(1)
    // DuckDB reports it in its own units (e.g. "122.0 MiB" for 128MB).
    expect(String(settings?.m)).toMatch(/^1[12]\d(\.\d+)? MiB$/)
  })

  it('applies retention by age and by count, oldest first', async () => {
    const path = dbPath()
    let now = Date.parse('2026-03-01T00:00:00Z')
    const rec = await openRec({ path, now: () => now, retentionDays: 1 })
    const t = tracker()
    rec.attach(t)
    feed(t, 'ws:old', run('old'))
    await rec.flush()
    now += 2 * 86_400_000
    feed(t, 'ws:new', run('new'))
    await rec.close()

    const rec2 = await openRec({ path, now: () => now, retentionDays: 1, maxEvents: 5 })
    const events = await rec2.readEvents()
    expect(events.map((e) => e.sourceId)).toEqual(Array(5).fill('ws:new'))
    expect(events.map((e) => e.message.type)).toEqual(run('new').slice(2).map((m) => m.type))
    expect(await rec2.prune()).toBe(0)
  })

  it('refuses a DuckDB file that is not Vigil\'s, without changing it', async () => {
    const path = dbPath()
    const inst = await DuckDBInstance.create(path)
    const con = await inst.connect()
    await con.run('CREATE TABLE sessions (id VARCHAR)')
    con.closeSync()
    inst.closeSync()
    const err = await Recorder.open({ path }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecorderOpenError)
    expect((err as RecorderOpenError).reason).toBe('foreign')
    expect((err as Error).message).toMatch(/did not create/)
    // Still only the foreign table.
    const check = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
    const c2 = await check.connect()
    const tables = (await c2.runAndReadAll('SELECT table_name FROM information_schema.tables')).getRowObjectsJS()
    expect(tables.map((r) => r.table_name)).toEqual(['sessions'])
    c2.closeSync()
    check.closeSync()
  })

  it('refuses a file that is not a DuckDB database', async () => {
    const path = join(root, 'notes.duckdb')
    writeFileSync(path, 'hello, I am a text file and certainly no database\n')
    const err = await Recorder.open({ path }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecorderOpenError)
    expect((err as RecorderOpenError).reason).toBe('not-duckdb')
    expect((err as Error).message).toMatch(/not a DuckDB database/)
  })

  it('reports a corrupt file as unreadable, not as in use by another process ("block" is not "lock")', async () => {
    const path = join(root, 'corrupt.duckdb')
    await writeCorruptStore(path)
    const err = await Recorder.open({ path }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecorderOpenError)
    expect((err as RecorderOpenError).reason).not.toBe('busy')
    expect((err as Error).message).not.toMatch(/in use by another process/)
  })

  it('refuses a recording written by a newer schema', async () => {
    const path = dbPath()
    const rec = await Recorder.open({ path })
    await rec.close()
    const inst = await DuckDBInstance.create(path)
    const con = await inst.connect()
    await con.run(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
    con.closeSync()
    inst.closeSync()
    const err = await Recorder.open({ path }).catch((e: unknown) => e)
    expect((err as RecorderOpenError).reason).toBe('newer-schema')
  })
})

describe('Recorder with its journal', () => {
  const tool = (i: number): ServerMessage => ({ type: 'tool_called', agentRole: 'R', taskIndex: 1, toolName: `t${i}`, durationMs: 1, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'ok', structuredResult: null })

  it('replays what a crash left only in the journal into the recording at the next start, none twice', async () => {
    const pathA = dbPath()
    const a = await openRec({ path: pathA, flushMs: 3_600_000 })
    const t = tracker()
    a.attach(t)
    feed(t, 'src', [run('e1')[0]!, ...Array.from({ length: 10 }, (_, i) => tool(i))])
    await a.flush()
    feed(t, 'src', Array.from({ length: 10 }, (_, i) => tool(10 + i)))
    await waitForJournal(a)
    // The crash: the recording file and the journal as they are now, with the last ten only in the journal.
    const pathB = dbPath()
    for (const suffix of ['', '.wal']) if (existsSync(pathA + suffix)) copyFileSync(pathA + suffix, pathB + suffix)
    cpSync(`${pathA}.journal`, `${pathB}.journal`, { recursive: true })

    const b = await openRec({ path: pathB })
    expect(b.stats().recoveredFromJournal).toBe(10)
    const names = (await b.readEvents()).flatMap((e) => (e.message.type === 'tool_called' ? [e.message.toolName] : []))
    expect(names).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`))

    // A second start finds nothing left to replay.
    await b.close()
    open.splice(open.indexOf(b), 1)
    const c = await openRec({ path: pathB })
    expect(c.stats().recoveredFromJournal).toBe(0)
    expect((await c.readEvents()).filter((e) => e.message.type === 'tool_called')).toHaveLength(20)
  })

  it('keeps a batch it could not write and commits it once writing works again, losing nothing', async () => {
    const rec = await openRec({ path: dbPath(), flushMs: 3_600_000 })
    const t = tracker()
    rec.attach(t)
    feed(t, 'src', Array.from({ length: 5 }, (_, i) => tool(i)))
    // A failing write: the table is gone for one flush.
    await rec.withConnection((con) => con.run('ALTER TABLE events RENAME TO events_away'))
    await rec.flush()
    expect(rec.stats()).toMatchObject({ recorded: 0, queued: 5, dropped: 0 })
    expect(rec.pausedText()).toMatch(/^Recording paused: /)
    await rec.withConnection((con) => con.run('ALTER TABLE events_away RENAME TO events'))
    await rec.flush()
    expect(rec.stats()).toMatchObject({ recorded: 5, queued: 0, dropped: 0, paused: null })
    expect((await rec.readEvents()).map((e) => (e.message.type === 'tool_called' ? e.message.toolName : ''))).toEqual(['t0', 't1', 't2', 't3', 't4'])
  })
})

async function waitForJournal(rec: Recorder): Promise<void> {
  for (let i = 0; i < 200 && (rec.stats().journal?.pending ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 5))
  expect(rec.stats().journal?.pending).toBe(0)
}
