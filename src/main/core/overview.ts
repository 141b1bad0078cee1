// The Now page's data: running sessions and runs, recent finishes (failures first, with a one-line
// reason), totals for today and 7 days, and each source's health. Bounded (OVERVIEW_LIMITS); Perspt
// facts come from small per-store queries cached per snapshot version, run facts from a digest that is
// recomputed only when the run changed.
import type { DuckDBConnection } from '@duckdb/node-api'
import { durationOf, sessionDurationMs } from '../../shared/model/duration'
import { previewGraphemes } from '../../shared/graphemes'
import { escalationReason } from '../../shared/model/escalation-words'
import type { RunDetail, RunSummary } from '../../shared/model/live'
import type {
  Overview,
  OverviewDay,
  OverviewItem,
  OverviewSource,
  OverviewStatus,
  OverviewTotals
} from '../../shared/model/overview'
import { OVERVIEW_LIMITS } from '../../shared/model/overview'
import type { SessionRow } from '../../shared/model/perspt'
import type { SourceInfo } from '../../shared/model/sources'
import type { PersptTable } from '../perspt/schema'
import type { SchemaProbe } from '../perspt/store-reader'
import { text, toNumber } from '../perspt/store-reader'
import { has, msOf, rows } from '../perspt/views/dag-sql'
import { actionTagOf } from './session-failure'

export const DAY_MS = 86_400_000
/** One sparkline bucket: 12 × 30 s = the last six minutes. */
export const SPARK_BUCKET_MS = 30_000

/** What the Perspt store adds to a session row: why it failed, what it is doing, how busy it is. */
export interface SessionFacts {
  reason: string | null
  reasonNodeId: string | null
  currentStep: string | null
  /** LLM requests per bucket, oldest first. */
  activity: number[]
}

/** What the overview keeps of a run's detail (re-read only when the run changed). */
export interface RunDigest {
  currentStep: string | null
  reason: string | null
  reasonTaskIndex: number | null
  tokens: number
  llmRequests: number
  /** Event times (ms), newest last, for the sparkline. */
  eventTimes: number[]
  waitingOn: string | null
}

export interface ProducerHealth {
  producerId: string
  connected: boolean
  active: boolean
  lastSeenAt: string
}

export interface OverviewInput {
  now: number
  timeZone: string
  sources: SourceInfo[]
  sessions: Array<{ storeId: string; storeLabel: string; row: SessionRow; facts: SessionFacts | null }>
  /** `frozen`: imported from a file, or recorded from a source that is gone: it will never change again. */
  runs: Array<{ run: RunSummary; digest: RunDigest; sourceLabel: string; frozen?: boolean }>
  producers: ProducerHealth[]
  /** Run ids with a pending gate (the review coordinator is the truth), with the gate's task. */
  waitingRuns: Map<string, string>
}

const FAILED: ReadonlySet<string> = new Set(['failed', 'aborted', 'partial'])
const RUNNING_SESSION: ReadonlySet<string> = new Set(['running', 'stale', 'paused'])

/** YYYY-MM-DD of `ms` in `timeZone`. */
export function dayKey(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms))
}

function emptyTotals(): OverviewTotals {
  return { sessions: 0, runs: 0, llmRequests: 0, tokens: 0, costUsd: 0, failed: 0 }
}

function oneLine(s: string | null | undefined, max = 200): string | null {
  if (!s) return null
  // Cut on a grapheme boundary: never inside an emoji, a flag or a letter's accents.
  return previewGraphemes(s, max) || null
}

/** Buckets `times` (ms) into OVERVIEW_LIMITS.sparkBuckets buckets ending at `now`. */
export function sparkline(times: readonly number[], now: number, bucketMs = SPARK_BUCKET_MS): number[] {
  const n = OVERVIEW_LIMITS.sparkBuckets
  const out = new Array<number>(n).fill(0)
  const start = now - n * bucketMs
  for (const t of times) {
    if (t <= start || t > now) continue
    const i = Math.min(n - 1, Math.floor((t - start) / bucketMs))
    out[i]!++
  }
  return out
}

/** The short form of an ensemble id: its first 8 characters (ids are UUIDs). */
export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id
}

function sessionItem(s: OverviewInput['sessions'][number], now: number): OverviewItem {
  const { row, facts } = s
  const running = RUNNING_SESSION.has(row.status)
  const end = running ? null : (row.updatedAt ?? row.lastActivityAt ?? null)
  const planned = row.nodes.planned
  const failedNodes = row.nodes.failed + row.nodes.escalated
  return {
    kind: 'session',
    id: row.sessionId,
    sourceId: s.storeId,
    sourceLabel: s.storeLabel,
    title: oneLine(row.task, 160) ?? row.sessionId,
    name: row.friendlyName ?? shortId(row.sessionId),
    status: row.status,
    startedAt: row.createdAt,
    endedAt: end,
    lastActivityAt: row.lastActivityAt ?? row.updatedAt,
    durationMs: sessionDurationMs(row, now),
    progress: { done: row.nodes.committed, total: planned, failed: failedNodes, unit: 'nodes' },
    currentStep: running ? (facts?.currentStep ?? null) : null,
    llmRequests: row.llmRequests,
    tokens: row.tokensIn + row.tokensOut,
    costUsd: row.budget?.costUsedUsd ?? null,
    staleReason:
      row.status === 'stale'
        ? 'Marked running in the store, but no agent is writing it: the agent may have stopped without saying so.'
        : null,
    reason: FAILED.has(row.status) || failedNodes > 0 ? (facts?.reason ?? (FAILED.has(row.status) ? `Perspt status: ${row.rawStatus}` : null)) : null,
    reasonRef: facts?.reasonNodeId ? { nodeId: facts.reasonNodeId } : null,
    activity: running ? (facts?.activity ?? []) : []
  }
}

function runItem(r: OverviewInput['runs'][number], waitingOn: string | undefined, now: number): OverviewItem {
  const { run, digest } = r
  const incomplete = run.status === 'running' && r.frozen === true
  const running = run.status === 'running' && !incomplete
  const waiting = running && waitingOn !== undefined
  const status: OverviewStatus = incomplete ? 'incomplete' : waiting ? 'waiting' : running && run.stale ? 'stale' : run.status
  // An incomplete run ended, as far as anyone will ever know, at its last event.
  const endedAt = incomplete ? (run.lastEventAt ?? run.startedAt) : run.endedAt
  const firstTask = digest.currentStep
  return {
    kind: 'run',
    id: run.runId,
    sourceId: run.sourceId,
    sourceLabel: r.sourceLabel,
    title: [run.workflow, firstTask].filter(Boolean).join(' · ') || 'Run',
    name: run.ensembleId ? shortId(run.ensembleId) : shortId(run.runId),
    status,
    startedAt: run.startedAt,
    endedAt,
    lastActivityAt: run.lastEventAt ?? null,
    durationMs: durationOf(run.startedAt, endedAt, now),
    progress: { done: run.completedTasks, total: run.totalTasks, failed: run.failedTasks, unit: 'tasks' },
    currentStep: waiting ? `Waiting for review: ${waitingOn}` : running ? digest.currentStep : null,
    llmRequests: digest.llmRequests,
    tokens: digest.tokens,
    costUsd: null,
    staleReason: running && run.stale ? `${r.sourceLabel} is disconnected: this run may have moved on since its last event.` : null,
    reason: incomplete
      ? (digest.reason ?? 'The trace or recording stops before the run ended.')
      : run.status === 'completed' && run.failedTasks === 0
        ? null
        : digest.reason,
    reasonRef: digest.reasonTaskIndex !== null ? { taskIndex: digest.reasonTaskIndex } : null,
    activity: running ? sparkline(digest.eventTimes, now) : []
  }
}

/** What Vigil knows of a source, as one word and one line. */
function sourceHealth(source: SourceInfo, running: number): OverviewSource {
  if (source.kind === 'store') {
    const state = source.state === 'ready' ? (source.liveness === 'live' ? 'live' : 'idle') : source.state
    return {
      id: source.id,
      kind: 'store',
      label: source.label,
      state,
      health: source.state === 'error' ? 'error' : source.problem ? 'warning' : source.state === 'ready' && source.liveness === 'live' ? 'ok' : 'idle',
      detail: source.problem ? oneLine(source.problem.message) : null,
      lastSeenAt: source.refreshedAt,
      running
    }
  }
  const health = source.state === 'connected' ? 'ok' : source.state === 'closed' ? 'error' : 'warning'
  return {
    id: source.id,
    kind: 'attachment',
    label: source.label,
    state: source.state,
    health: source.problem && health === 'ok' ? 'warning' : health,
    detail: source.problem ? oneLine(source.problem.message) : source.state === 'reconnecting' && source.nextRetryAt ? `Next try at ${source.nextRetryAt}` : null,
    lastSeenAt: source.lastFrameAt,
    running
  }
}

/** The Now page's data from what main knows; pure, so it is tested on its own. */
export function buildOverview(input: OverviewInput): Overview {
  const { now, timeZone } = input
  const weekStart = now - 7 * DAY_MS
  const items: OverviewItem[] = [
    ...input.sessions.map((s) => sessionItem(s, now)),
    ...input.runs.map((r) => runItem(r, input.waitingRuns.get(r.run.runId), now))
  ]
  const isRunning = (i: OverviewItem) => (i.kind === 'run' ? i.endedAt === null && ['running', 'waiting', 'stale'].includes(i.status) : RUNNING_SESSION.has(i.status))
  const startedMs = (i: OverviewItem) => (i.startedAt ? Date.parse(i.startedAt) : 0)
  const endedMs = (i: OverviewItem) => Date.parse(i.endedAt ?? i.lastActivityAt ?? i.startedAt ?? '') || 0

  const running = items.filter(isRunning).sort((a, b) => startedMs(b) - startedMs(a))
  const recent = items
    .filter((i) => !isRunning(i) && endedMs(i) >= weekStart)
    .sort((a, b) => Number(FAILED.has(b.status)) - Number(FAILED.has(a.status)) || endedMs(b) - endedMs(a))

  // Seven days, oldest first; a session or run counts on the day it started.
  const days: OverviewDay[] = []
  const index = new Map<string, OverviewDay>()
  for (let d = 6; d >= 0; d--) {
    const day: OverviewDay = { day: dayKey(now - d * DAY_MS, timeZone), ...emptyTotals() }
    if (!index.has(day.day)) {
      days.push(day)
      index.set(day.day, day)
    }
  }
  for (const i of items) {
    if (!i.startedAt) continue
    const t = Date.parse(i.startedAt)
    if (!Number.isFinite(t) || t > now) continue
    const day = index.get(dayKey(t, timeZone))
    if (!day) continue
    if (i.kind === 'session') day.sessions++
    else day.runs++
    day.llmRequests += i.llmRequests
    day.tokens += i.tokens
    day.costUsd += i.costUsd ?? 0
    if (FAILED.has(i.status)) day.failed++
  }
  const week = emptyTotals()
  for (const d of days) for (const k of Object.keys(week) as Array<keyof OverviewTotals>) week[k] += d[k]
  const { day: _today, ...today } = days[days.length - 1]!

  const runningBySource = new Map<string, number>()
  for (const i of running) {
    const key = i.kind === 'run' && i.sourceId === 'hub' ? `hub:${input.runs.find((r) => r.run.runId === i.id)?.run.producerId ?? ''}` : i.sourceId
    runningBySource.set(key, (runningBySource.get(key) ?? 0) + 1)
  }
  const sources: OverviewSource[] = input.sources.map((s) => sourceHealth(s, runningBySource.get(s.id) ?? 0))
  for (const p of input.producers) {
    const id = `hub:${p.producerId}`
    sources.push({
      id,
      kind: 'producer',
      label: p.producerId,
      state: p.connected ? 'connected' : p.active ? 'disconnected' : 'left',
      health: p.connected ? 'ok' : p.active ? 'warning' : 'idle',
      detail: !p.connected && p.active ? 'Its ingress socket is closed; its runs may be out of date.' : null,
      lastSeenAt: p.lastSeenAt,
      running: runningBySource.get(id) ?? 0
    })
  }

  return {
    generatedAt: new Date(now).toISOString(),
    timeZone,
    running: running.slice(0, OVERVIEW_LIMITS.running),
    recent: recent.slice(0, OVERVIEW_LIMITS.recent),
    more: { running: Math.max(0, running.length - OVERVIEW_LIMITS.running), recent: Math.max(0, recent.length - OVERVIEW_LIMITS.recent) },
    today,
    week,
    days,
    sources,
    sparkBucketMs: SPARK_BUCKET_MS
  }
}

/** A run's digest from its detail: the running task, the first failure, its LLM use and event times. */
export function digestRun(detail: RunDetail): RunDigest {
  const runningTask = detail.tasks.find((t) => t.status === 'running')
  const failedTask = detail.tasks.find((t) => t.status === 'failed')
  let tokens = 0
  for (const it of detail.iterations ?? []) tokens += (it.inputTokens ?? 0) + (it.outputTokens ?? 0)
  const exit = detail.exitReason && detail.exitReason !== 'COMPLETED' ? `Ended: ${detail.exitReason}` : null
  const reason = failedTask
    ? `Task ${failedTask.taskIndex} failed (${failedTask.agentRole}): ${oneLine(failedTask.failureReason, 160) ?? 'no reason given'}`
    : exit
  const lastTask = detail.tasks.at(-1)
  const step = runningTask ?? lastTask
  return {
    currentStep: step ? oneLine(`${step.agentRole}: ${step.description}`, 140) : null,
    reason,
    reasonTaskIndex: failedTask?.taskIndex ?? null,
    tokens,
    llmRequests: detail.iterations?.length ?? 0,
    eventTimes: detail.recentEvents.map((e) => Date.parse(e.at)).filter(Number.isFinite),
    waitingOn: detail.pendingReviews[0]?.taskDescription ?? null
  }
}

/** The newest row (by `id` where the table has one) of each listed session in `table`. */
function latestPerSession(con: DuckDBConnection, probe: SchemaProbe, table: PersptTable, columns: string, sessionList: string): ReturnType<typeof rows> {
  const order = has(probe, table, 'id') ? 'id' : '1'
  return rows(
    con,
    `SELECT session_id, ${columns} FROM ${table}
     WHERE session_id IN (${sessionList})
     QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY ${order} DESC) = 1`
  )
}

/**
 * One store's facts for the given sessions, in one round trip per kind: the newest escalation (or
 * failed node) of each, the node each running one works on, and its LLM requests per bucket.
 */
export async function readSessionFacts(
  con: DuckDBConnection,
  probe: SchemaProbe,
  ids: { running: string[]; troubled: string[] },
  now: number
): Promise<Map<string, SessionFacts>> {
  const facts = new Map<string, SessionFacts>()
  const get = (sid: string): SessionFacts => {
    let f = facts.get(sid)
    if (!f) facts.set(sid, (f = { reason: null, reasonNodeId: null, currentStep: null, activity: [] }))
    return f
  }
  const list = (xs: string[]) => xs.map((x) => `'${x.replace(/'/g, "''")}'`).join(', ')
  if (ids.troubled.length > 0 && has(probe, 'escalation_reports', 'session_id', 'node_id', 'category')) {
    const evidence = has(probe, 'escalation_reports', 'evidence') ? 'evidence' : 'NULL'
    const action = has(probe, 'escalation_reports', 'action') ? 'action' : 'NULL'
    for (const r of await latestPerSession(con, probe, 'escalation_reports', `node_id, category, ${evidence} AS evidence, ${action} AS action`, list(ids.troubled))) {
      const f = get(String(r.session_id))
      f.reasonNodeId = text(r.node_id)
      f.reason = oneLine(escalationReason(text(r.category), actionTagOf(text(r.action)), text(r.node_id), text(r.evidence)))
    }
  }
  if (ids.running.length > 0 && has(probe, 'node_states', 'session_id', 'node_id', 'state')) {
    const goal = has(probe, 'node_states', 'goal') ? 'goal' : 'NULL'
    for (const r of await latestPerSession(con, probe, 'node_states', `node_id, state, ${goal} AS goal`, list(ids.running))) {
      get(String(r.session_id)).currentStep = oneLine(`${text(r.node_id) ?? '?'} · ${(text(r.state) ?? '').toLowerCase()}${text(r.goal) ? ` · ${text(r.goal)}` : ''}`, 140)
    }
  }
  if (ids.running.length > 0 && has(probe, 'llm_requests', 'session_id', 'timestamp')) {
    const from = now - OVERVIEW_LIMITS.sparkBuckets * SPARK_BUCKET_MS
    const t = msOf(probe, 'llm_requests', 'timestamp')
    for (const r of await rows(
      con,
      `SELECT session_id, floor((${t} - ${from}) / ${SPARK_BUCKET_MS}) AS b, count(*) AS n FROM llm_requests
       WHERE session_id IN (${list(ids.running)}) AND ${t} > ${from} AND ${t} <= ${now}
       GROUP BY ALL`
    )) {
      const f = get(String(r.session_id))
      if (f.activity.length === 0) f.activity = new Array<number>(OVERVIEW_LIMITS.sparkBuckets).fill(0)
      const b = Math.min(OVERVIEW_LIMITS.sparkBuckets - 1, Math.max(0, toNumber(r.b) ?? 0))
      f.activity[b] = (f.activity[b] ?? 0) + (toNumber(r.n) ?? 0)
    }
    for (const sid of ids.running) if (get(sid).activity.length === 0) get(sid).activity = new Array<number>(OVERVIEW_LIMITS.sparkBuckets).fill(0)
  }
  return facts
}

/** How many non-running sessions per store get their failure reason read (newest first). */
const TROUBLED_PER_STORE = 40

export interface OverviewDeps {
  sources(): SourceInfo[]
  /** A store's sessions and a way to query its snapshot; throws when the store cannot be read yet. */
  store(id: string): {
    listSessions(): Promise<SessionRow[]>
    query<T>(key: string, read: (con: DuckDBConnection, probe: SchemaProbe) => Promise<T>): Promise<T>
  }
  listRuns(): RunSummary[]
  getRun(runId: string): RunDetail | undefined
  producers(): ProducerHealth[]
  /** Pending gates: the run each waits in, and its task. */
  pendingGates(): Array<{ runId: string | null; taskDescription: string }>
  timeZone(): string
  now?: () => number
}

/** Gathers the overview's inputs (bounded, cached) and builds it. */
export class OverviewReader {
  private readonly digests = new Map<string, { key: string; digest: RunDigest }>()

  constructor(private readonly deps: OverviewDeps) {}

  async read(): Promise<Overview> {
    const now = this.deps.now?.() ?? Date.now()
    const weekStart = now - 7 * DAY_MS
    const sources = this.deps.sources()
    const labels = new Map(sources.map((s) => [s.id, s.label]))
    const sessions: OverviewInput['sessions'] = []
    await Promise.all(
      sources.map(async (source) => {
        if (source.kind !== 'store' || source.state !== 'ready') return
        let store: ReturnType<OverviewDeps['store']>
        let rows: SessionRow[]
        try {
          store = this.deps.store(source.id)
          rows = await store.listSessions()
        } catch {
          return // not readable right now: its health says why
        }
        const recentEnough = (r: SessionRow) =>
          RUNNING_SESSION.has(r.status) || Date.parse(r.lastActivityAt ?? r.updatedAt ?? r.createdAt ?? '') >= weekStart
        const kept = rows.filter(recentEnough)
        const running = kept.filter((r) => RUNNING_SESSION.has(r.status)).map((r) => r.sessionId)
        const troubled = kept
          .filter((r) => !RUNNING_SESSION.has(r.status) && (FAILED.has(r.status) || r.nodes.failed + r.nodes.escalated > 0))
          .sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''))
          .slice(0, TROUBLED_PER_STORE)
          .map((r) => r.sessionId)
        const all = [...running, ...troubled]
        let facts = new Map<string, SessionFacts>()
        if (all.length > 0) {
          const bucket = Math.floor(now / SPARK_BUCKET_MS)
          try {
            facts = await store.query(`overview:${bucket}:${all.join(',')}`, (con, probe) =>
              readSessionFacts(con, probe, { running, troubled: all }, (bucket + 1) * SPARK_BUCKET_MS)
            )
          } catch {
            // Facts are extras: the rows still show.
          }
        }
        for (const row of kept) sessions.push({ storeId: source.id, storeLabel: source.label, row, facts: facts.get(row.sessionId) ?? null })
      })
    )

    const runs: OverviewInput['runs'] = []
    const seen = new Set<string>()
    for (const run of this.deps.listRuns()) {
      seen.add(run.runId)
      const end = Date.parse(run.endedAt ?? run.lastEventAt ?? run.startedAt ?? '')
      if (run.status !== 'running' && !(end >= weekStart)) continue
      const digest = this.digest(run)
      if (!digest) continue
      const sourceLabel =
        run.sourceId === 'hub'
          ? `Hub · ${run.producerId ?? 'unknown producer'}`
          : run.sourceId === 'otel'
            ? `OpenTelemetry · ${(run.producerId ?? 'unknown service').replace(/\/[0-9a-f]{32}$/, '')}`
            : run.sourceId.startsWith('file:')
              ? run.sourceId.slice(5)
              : (labels.get(run.sourceId) ?? run.sourceId)
      // Hub and OpenTelemetry runs have no source of their own to lose: they are never frozen for it.
      const frozen = run.sourceId.startsWith('file:') || (run.sourceId !== 'hub' && run.sourceId !== 'otel' && !labels.has(run.sourceId))
      runs.push({ run, digest, sourceLabel, frozen })
    }
    for (const id of this.digests.keys()) if (!seen.has(id)) this.digests.delete(id)

    const waitingRuns = new Map<string, string>()
    for (const g of this.deps.pendingGates()) if (g.runId && !waitingRuns.has(g.runId)) waitingRuns.set(g.runId, oneLine(g.taskDescription, 120) ?? 'a review gate')

    return buildOverview({ now, timeZone: this.deps.timeZone(), sources, sessions, runs, producers: this.deps.producers(), waitingRuns })
  }

  private digest(run: RunSummary): RunDigest | null {
    const key = `${run.status}|${run.eventCount}|${run.completedTasks}|${run.failedTasks}|${run.lastEventAt ?? ''}`
    const cached = this.digests.get(run.runId)
    if (cached?.key === key) return cached.digest
    const detail = this.deps.getRun(run.runId)
    if (!detail) return null
    const digest = digestRun(detail)
    this.digests.set(run.runId, { key, digest })
    return digest
  }
}
