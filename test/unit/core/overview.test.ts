// The Now page's computation: what runs, what failed and why, totals by day, source health, bounds.
import { describe, expect, it } from 'vitest'
import { buildOverview, dayKey, digestRun, sparkline, type OverviewInput, type RunDigest } from '../../../src/main/core/overview'
import { durationOf } from '../../../src/shared/model/duration'
import type { RunDetail, RunSummary } from '../../../src/shared/model/live'
import { OVERVIEW_LIMITS } from '../../../src/shared/model/overview'
import type { SessionRow } from '../../../src/shared/model/perspt'
import type { SourceInfo } from '../../../src/shared/model/sources'

const NOW = Date.parse('2026-12-04T15:00:00Z')
const iso = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString()

function session(id: string, over: Partial<SessionRow> = {}): SessionRow {
  return {
    sessionId: id,
    task: `task of ${id}`,
    workingDir: '/w',
    rawStatus: 'COMPLETED',
    status: 'completed',
    createdAt: iso(60),
    updatedAt: iso(30),
    durationMs: 30 * 60_000,
    nodes: { planned: 4, committed: 4, running: 0, failed: 0, escalated: 0, queued: 0 },
    budget: { stepsUsed: 1, maxSteps: null, revisionsUsed: 0, maxRevisions: null, costUsedUsd: 0.25, maxCostUsd: 1 },
    llmRequests: 10,
    tokensIn: 100,
    tokensOut: 50,
    friendlyName: `name-${id}`,
    lastActivityAt: iso(30),
    ...over
  }
}

function run(id: string, over: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: id,
    sourceId: 'attach-1',
    producerId: null,
    ensembleId: `ens-${id}-0123456789`,
    workflow: 'SEQUENTIAL',
    status: 'running',
    totalTasks: 3,
    completedTasks: 1,
    failedTasks: 0,
    startedAt: iso(10),
    endedAt: null,
    eventCount: 5,
    lastEventAt: iso(1),
    ...over
  }
}

const digest = (over: Partial<RunDigest> = {}): RunDigest => ({
  currentStep: 'Writer: write the report',
  reason: null,
  reasonTaskIndex: null,
  tokens: 300,
  llmRequests: 2,
  eventTimes: [NOW - 10_000, NOW - 20_000, NOW - 200_000, NOW - 400_000],
  waitingOn: null,
  ...over
})

const store: SourceInfo = {
  id: 'store-1', kind: 'store', label: 'Main store', path: '/p/perspt.db', origin: 'ui', state: 'ready', liveness: 'live',
  problem: null, version: 3, refreshedAt: iso(0), tableCount: 23
}
const attachment: SourceInfo = {
  id: 'attach-1', kind: 'attachment', label: 'Ensemble', url: 'ws://x/ws', origin: 'ui', state: 'reconnecting', mode: 'embedded',
  problem: { code: 'refused', message: 'Connection refused', hint: 'Start it' }, lastFrameAt: iso(2), nextRetryAt: iso(-1),
  diagnostics: { frames: 1, malformed: 0, unknown: 0, oversize: 0 }
}

function input(over: Partial<OverviewInput> = {}): OverviewInput {
  return { now: NOW, timeZone: 'UTC', sources: [store, attachment], sessions: [], runs: [], producers: [], waitingRuns: new Map(), ...over }
}

describe('buildOverview', () => {
  it('lists running sessions and runs newest first, with progress, elapsed time, current step and spend', () => {
    const o = buildOverview(
      input({
        sessions: [
          { storeId: 'store-1', storeLabel: 'Main store', row: session('s-run', { status: 'running', rawStatus: 'RUNNING', createdAt: iso(20), nodes: { planned: 5, committed: 2, running: 1, failed: 0, escalated: 0, queued: 2 } }), facts: { reason: null, reasonNodeId: null, currentStep: 'n3 · running', activity: [0, 1] } },
          { storeId: 'store-1', storeLabel: 'Main store', row: session('s-done'), facts: null }
        ],
        runs: [{ run: run('r1'), digest: digest(), sourceLabel: 'Ensemble' }]
      })
    )
    expect(o.running.map((i) => i.id)).toEqual(['r1', 's-run'])
    const [r, s] = o.running
    expect(s).toMatchObject({ kind: 'session', status: 'running', progress: { done: 2, total: 5, unit: 'nodes' }, currentStep: 'n3 · running', costUsd: 0.25, durationMs: 20 * 60_000, tokens: 150 })
    expect(r).toMatchObject({ kind: 'run', status: 'running', name: 'ens-r1-0', progress: { done: 1, total: 3, unit: 'tasks' }, currentStep: 'Writer: write the report', tokens: 300, durationMs: 10 * 60_000 })
    expect(r!.activity).toHaveLength(OVERVIEW_LIMITS.sparkBuckets)
    // Three events in the last six minutes, one older.
    expect(r!.activity.reduce((a, b) => a + b, 0)).toBe(3)
    expect(r!.activity[11]).toBe(2)
  })

  it('says a run waiting on a gate is waiting, not running, and names the gate', () => {
    const o = buildOverview(input({ runs: [{ run: run('r1'), digest: digest(), sourceLabel: 'Ensemble' }], waitingRuns: new Map([['r1', 'Review the draft']]) }))
    expect(o.running[0]).toMatchObject({ status: 'waiting', currentStep: 'Waiting for review: Review the draft' })
  })

  it('an imported or orphaned recorded run that never finished ended without completion, at its last event', () => {
    const o = buildOverview(
      input({
        runs: [
          { run: run('imported', { sourceId: 'file:x.trace.json', startedAt: iso(30), lastEventAt: iso(20) }), digest: digest(), sourceLabel: 'x.trace.json', frozen: true },
          { run: run('live'), digest: digest(), sourceLabel: 'E', frozen: false }
        ]
      })
    )
    expect(o.running.map((i) => i.id)).toEqual(['live'])
    expect(o.recent[0]).toMatchObject({ id: 'imported', status: 'incomplete', endedAt: iso(20), durationMs: 10 * 60_000, activity: [], currentStep: null })
    expect(o.recent[0]!.reason).toMatch(/stops before the run ended/)
  })

  it('flags stale sessions and runs with why', () => {
    const o = buildOverview(
      input({
        sessions: [{ storeId: 'store-1', storeLabel: 'Main store', row: session('s', { status: 'stale', rawStatus: 'RUNNING' }), facts: null }],
        runs: [{ run: run('r', { stale: true }), digest: digest(), sourceLabel: 'Ensemble' }]
      })
    )
    expect(o.running.map((i) => i.status).sort()).toEqual(['stale', 'stale'])
    expect(o.running.every((i) => i.staleReason && i.staleReason.length > 10)).toBe(true)
    expect(o.running.find((i) => i.kind === 'run')!.staleReason).toMatch(/Ensemble is disconnected/)
  })

  it('puts failures first in recent finishes, each with a one-line reason and where its evidence is', () => {
    const o = buildOverview(
      input({
        sessions: [
          { storeId: 'store-1', storeLabel: 'Main store', row: session('ok-newest', { updatedAt: iso(1) }), facts: null },
          { storeId: 'store-1', storeLabel: 'Main store', row: session('bad', { status: 'failed', rawStatus: 'FAILED', updatedAt: iso(50) }), facts: { reason: 'Escalated at n2: type error · cannot\nunify', reasonNodeId: 'n2', currentStep: null, activity: [] } },
          { storeId: 'store-1', storeLabel: 'Main store', row: session('old', { createdAt: iso(60 * 24 * 9), updatedAt: iso(60 * 24 * 8), lastActivityAt: iso(60 * 24 * 8) }), facts: null }
        ],
        runs: [
          { run: run('rf', { status: 'failed', endedAt: iso(5), failedTasks: 1 }), digest: digest({ reason: 'Task 2 (Writer) failed: boom', reasonTaskIndex: 1 }), sourceLabel: 'Ensemble' }
        ]
      })
    )
    expect(o.recent.map((i) => i.id)).toEqual(['rf', 'bad', 'ok-newest'])
    expect(o.recent[0]).toMatchObject({ reason: 'Task 2 (Writer) failed: boom', reasonRef: { taskIndex: 1 } })
    expect(o.recent[1]).toMatchObject({ reason: 'Escalated at n2: type error · cannot\nunify', reasonRef: { nodeId: 'n2' } })
    expect(o.recent[2]!.reason).toBeNull()
    // A finished item is measured to its end, not to now.
    expect(o.recent[2]!.durationMs).toBe(durationOf(iso(60), iso(1)))
  })

  it('a failed session without escalation evidence still says something', () => {
    const o = buildOverview(input({ sessions: [{ storeId: 'store-1', storeLabel: 'S', row: session('f', { status: 'aborted', rawStatus: 'ABORTED' }), facts: null }] }))
    expect(o.recent[0]!.reason).toBe('Perspt status: ABORTED')
  })

  it('counts today and 7 days by start day in the given zone, with a 7-day series ending today', () => {
    const o = buildOverview(
      input({
        sessions: [
          { storeId: 'store-1', storeLabel: 'S', row: session('today'), facts: null },
          { storeId: 'store-1', storeLabel: 'S', row: session('3d', { status: 'failed', createdAt: iso(60 * 24 * 3), updatedAt: iso(60 * 24 * 3 - 5), lastActivityAt: iso(60 * 24 * 3 - 5) }), facts: null },
          { storeId: 'store-1', storeLabel: 'S', row: session('9d', { createdAt: iso(60 * 24 * 9) }), facts: null }
        ],
        runs: [{ run: run('r'), digest: digest(), sourceLabel: 'E' }]
      })
    )
    expect(o.days).toHaveLength(7)
    expect(o.days.at(-1)!.day).toBe('2026-12-04')
    expect(o.days[0]!.day).toBe('2026-11-28')
    expect(o.today).toEqual({ sessions: 1, runs: 1, llmRequests: 12, tokens: 450, costUsd: 0.25, failed: 0 })
    expect(o.week).toMatchObject({ sessions: 2, runs: 1, llmRequests: 22, tokens: 600, costUsd: 0.5, failed: 1 })
    expect(o.days.find((d) => d.day === '2026-12-01')).toMatchObject({ sessions: 1, failed: 1 })
  })

  it('moves the day boundary with the zone', () => {
    // 15:00 UTC is already the next day in Auckland (UTC+13 in December).
    expect(dayKey(NOW, 'Pacific/Auckland')).toBe('2026-12-05')
    const o = buildOverview(input({ timeZone: 'Pacific/Auckland' }))
    expect(o.days.at(-1)!.day).toBe('2026-12-05')
    expect(o.timeZone).toBe('Pacific/Auckland')
  })

  it('reports each source’s health in one word and one line, hub producers included', () => {
    const o = buildOverview(
      input({
        runs: [{ run: run('r'), digest: digest(), sourceLabel: 'E' }],
        producers: [
          { producerId: 'p-up', connected: true, active: true, lastSeenAt: iso(0) },
          { producerId: 'p-down', connected: false, active: true, lastSeenAt: iso(3) }
        ]
      })
    )
    expect(o.sources.map((s) => [s.id, s.state, s.health])).toEqual([
      ['store-1', 'live', 'ok'],
      ['attach-1', 'reconnecting', 'warning'],
      ['hub:p-up', 'connected', 'ok'],
      ['hub:p-down', 'disconnected', 'warning']
    ])
    expect(o.sources[1]).toMatchObject({ detail: 'Connection refused', running: 1 })
  })

  it('stays bounded and says how many it left off', () => {
    const many = Array.from({ length: OVERVIEW_LIMITS.running + 7 }, (_, i) => ({ run: run(`r${i}`, { startedAt: iso(i) }), digest: digest(), sourceLabel: 'E' }))
    const done = Array.from({ length: OVERVIEW_LIMITS.recent + 3 }, (_, i) => ({ storeId: 'store-1', storeLabel: 'S', row: session(`s${i}`), facts: null }))
    const o = buildOverview(input({ runs: many, sessions: done }))
    expect(o.running).toHaveLength(OVERVIEW_LIMITS.running)
    expect(o.running[0]!.id).toBe('r0')
    expect(o.more).toEqual({ running: 7, recent: 3 })
    expect(o.recent).toHaveLength(OVERVIEW_LIMITS.recent)
  })
})

describe('digestRun', () => {
  const detail = (over: Partial<RunDetail>): RunDetail => ({ ...run('r'), tasks: [], pendingReviews: [], recentEvents: [], iterations: [], ...over })
  const task = (i: number, status: 'running' | 'failed' | 'completed', failureReason: string | null = null) => ({
    taskIndex: i, description: `task ${i}`, agentRole: 'Writer', status, startedAt: iso(3), endedAt: null, durationMs: null, toolCalls: 0, failureReason
  })

  it('names the running task, the first failure with its message, and the exit reason otherwise', () => {
    const d = digestRun(detail({ tasks: [task(0, 'completed'), task(1, 'failed', 'Tool crashed:\n  stack'), task(2, 'running')] }))
    expect(d).toMatchObject({ currentStep: 'Writer: task 2', reason: 'Task 1 failed (Writer): Tool crashed: stack', reasonTaskIndex: 1 })
    expect(digestRun(detail({ status: 'aborted', exitReason: 'USER_EXIT_EARLY' })).reason).toBe('Ended: USER_EXIT_EARLY')
    expect(digestRun(detail({ status: 'completed', exitReason: 'COMPLETED' })).reason).toBeNull()
  })
})

describe('sparkline and durationOf', () => {
  it('buckets the last six minutes, oldest first, and ignores what is outside', () => {
    const s = sparkline([NOW, NOW - 1, NOW - 29_999, NOW - 30_001, NOW - 359_999, NOW - 400_000, NOW + 5], NOW)
    expect(s).toHaveLength(12)
    expect(s[11]).toBe(3)
    expect(s[10]).toBe(1)
    expect(s[0]).toBe(1)
    expect(s.reduce((a, b) => a + b, 0)).toBe(5)
  })

  it('measures open things to now and refuses reversed or unknown times', () => {
    expect(durationOf(iso(2), null, NOW)).toBe(120_000)
    expect(durationOf(iso(2), iso(1), NOW)).toBe(60_000)
    expect(durationOf(iso(1), iso(2), NOW)).toBeNull()
    expect(durationOf(null, iso(1), NOW)).toBeNull()
    expect(durationOf('garbage', null, NOW)).toBeNull()
  })
})
