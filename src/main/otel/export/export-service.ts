// Forwards every run Vigil sees to an OTLP/HTTP collector, off the hot path: it listens to the pushes
// Vigil already makes ('run-updated' for AgentEnsemble runs, 'store-updated' for Perspt stores) and,
// when a run or session has ended, reads it (a copy of the run; one query on the store's snapshot) and
// hands its spans to the exporter's bounded queue. Nothing is exported while a run is in progress (a
// span is sent once, when it has ended); what had already ended when forwarding was turned on (or when
// a store was first read) is not sent, so a restart does not send history again. Ids are deterministic:
// a run exported twice (e.g. after it changed) carries the same trace and span ids.
import { hostname } from 'node:os'
import type { EventFrame, VigilEvents } from '../../../shared/api/contract'
import type { RunSummary } from '../../../shared/model/live'
import type { SessionRow } from '../../../shared/model/perspt'
import { OTLP_PROTOCOLS, otlpEndpointProblem, type OtlpExportFacts, type OtlpExportStatus, type OtlpProtocol } from '../../../shared/model/otlp-export'
import type { EventHub } from '../../core/event-hub'
import type { SourceRegistry } from '../../core/source-registry'
import { sessionEnded } from '../../perspt/store-reader'
import { OtlpExporter, type OtlpExporterOptions } from './otlp-exporter'
import { readSessionSpans } from './perspt-spans'
import { runSpans } from './run-spans'

export interface OtlpExportConfig {
  endpoint: string
  protocol: OtlpProtocol
  headers: Record<string, string>
}

export interface OtlpExportServiceOptions {
  events: EventHub
  registry: SourceRegistry
  version: string
  /** Exporter tuning (tests: short intervals, small bounds). */
  exporter?: Partial<Omit<OtlpExporterOptions, 'endpoint' | 'protocol' | 'headers' | 'resource'>>
  /** How long close() may spend sending what is queued. */
  shutdownDeadlineMs?: number
  /**
   * A run is sent this long after its last change once it has ended (default 1 s): a run Vigil ended
   * itself (a task failed) is usually ended again by the server a moment later, and is then sent once.
   */
  settleMs?: number
}

/** Ended runs and sessions remembered as exported (oldest forgotten first). */
const MAX_REMEMBERED = 50_000
/** Export jobs (reading a run or session) waiting at most; beyond, the job is counted as failed. */
const MAX_PENDING_JOBS = 1_000

function runSignature(run: RunSummary): string {
  return `${run.status}|${run.endedAt ?? ''}|${run.completedTasks}|${run.failedTasks}|${run.totalTasks}`
}

function sessionSignature(s: SessionRow): string {
  return `${s.rawStatus}|${s.status}|${s.updatedAt ?? ''}`
}

/** A session is exported once it has ended: completed, partial, failed, aborted, or stale (its agent is gone). */
function isEnded(s: SessionRow): boolean {
  return sessionEnded(s.status)
}

export class OtlpExportService {
  private exporter: OtlpExporter | null = null
  private config: OtlpExportConfig | null = null
  private lockedBy: string | null = null
  private unsubscribe: (() => void) | null = null
  /** key → signature of what was exported (or baselined). */
  private readonly done = new Map<string, string>()
  /** Stores whose sessions have been baselined since forwarding started. */
  private readonly baselined = new Set<string>()
  private readonly storeChecks = new Map<string, boolean>()
  /** Ended runs waiting to settle before they are sent (bounded by the runs Vigil holds). */
  private readonly settling = new Map<string, NodeJS.Timeout>()
  private chain: Promise<unknown> = Promise.resolve()
  private pendingJobs = 0
  private runsExported = 0
  private exportFailures = 0

  constructor(private readonly opts: OtlpExportServiceOptions) {}

  /** Turns forwarding on (or changes it), or off with null. What has already ended is not sent. */
  configure(config: OtlpExportConfig | null, lockedBy: string | null = null): void {
    this.lockedBy = lockedBy
    const same = config && this.config && config.endpoint === this.config.endpoint && config.protocol === this.config.protocol && JSON.stringify(config.headers) === JSON.stringify(this.config.headers)
    if (same) return
    const previous = this.exporter
    this.exporter = null
    // The old exporter sends what it holds in the background (bounded by its deadline).
    if (previous) void previous.shutdown(this.opts.shutdownDeadlineMs ?? 5000)
    this.config = config
    if (!config) {
      this.unsubscribe?.()
      this.unsubscribe = null
      return
    }
    const problem = otlpEndpointProblem(config.endpoint)
    if (problem || config.endpoint.trim() === '') throw new Error(problem ?? 'An empty endpoint turns forwarding off: pass null instead.')
    this.exporter = new OtlpExporter({
      ...this.opts.exporter,
      endpoint: config.endpoint,
      protocol: OTLP_PROTOCOLS.includes(config.protocol) ? config.protocol : 'http/protobuf',
      headers: config.headers,
      resource: { serviceName: 'vigil', serviceVersion: this.opts.version, hostName: hostname() }
    })
    if (!this.unsubscribe) {
      this.baseline()
      this.unsubscribe = this.opts.events.subscribe((frame) => this.onFrame(frame))
      // Stores already read are baselined now, not at their next change (which may be a session ending).
      for (const source of this.opts.registry.list()) {
        if (source.kind === 'store') this.job(() => this.checkStore(source.id))
      }
    }
  }

  facts(): OtlpExportFacts {
    return {
      endpoint: this.config?.endpoint ?? null,
      protocol: this.config?.protocol ?? 'http/protobuf',
      headerNames: Object.keys(this.config?.headers ?? {}),
      lockedBy: this.lockedBy,
      status: this.status()
    }
  }

  status(): OtlpExportStatus {
    const base = this.exporter?.status() ?? {
      url: null,
      protocol: this.config?.protocol ?? 'http/protobuf',
      state: 'off' as const,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      sent: 0,
      queued: 0,
      queuedBytes: 0,
      retried: 0,
      dropped: 0,
      rejected: 0
    }
    return { ...base, runsExported: this.runsExported, exportFailures: this.exportFailures }
  }

  /** Waits for pending reads, then sends what is queued within the deadline. */
  async close(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = null
    // Runs still settling are sent now, and so are runs that ended so recently that their push has not
    // gone out yet (pushes are coalesced): every ended run not sent in its current state.
    for (const timer of this.settling.values()) clearTimeout(timer)
    this.settling.clear()
    if (this.exporter) {
      for (const run of this.opts.registry.tracker.listRuns()) if (run.status !== 'running') this.settled(run.runId)
    }
    const deadline = this.opts.shutdownDeadlineMs ?? 5000
    const started = Date.now()
    await Promise.race([this.chain.catch(() => undefined), new Promise((r) => setTimeout(r, deadline).unref())])
    await this.exporter?.shutdown(Math.max(100, deadline - (Date.now() - started)))
  }

  /** Exports one run now (whatever its state); false when Vigil does not hold it. */
  exportRun(runId: string): boolean {
    const run = this.opts.registry.tracker.getRun(runId, 0)
    if (!run || !this.exporter) return false
    this.exporter.enqueue(runSpans(run))
    this.runsExported++
    return true
  }

  /** Exports one Perspt session now (whatever its state). */
  async exportSession(storeId: string, sessionId: string): Promise<boolean> {
    const exporter = this.exporter
    if (!exporter) return false
    const entry = this.opts.registry.list().find((s) => s.id === storeId && s.kind === 'store')
    if (!entry || entry.kind !== 'store') return false
    const store = this.opts.registry.store(storeId)
    const session = (await store.listCountedSessions()).find((s) => s.sessionId === sessionId)
    if (!session) return false
    const spans = await store.query(`otlp-export:${sessionId}:${sessionSignature(session)}`, (con, probe) => readSessionSpans(con, probe, session, { storePath: entry.path }))
    exporter.enqueue(spans)
    this.runsExported++
    return true
  }

  /** A run has been quiet for settleMs: sent if it has ended and changed since it was last sent. */
  private settled(runId: string): void {
    const run = this.opts.registry.tracker.listRuns().find((r) => r.runId === runId)
    if (!run) {
      // Gone while it settled (its source was removed, or more than the runs Vigil holds came after it).
      this.exportFailures++
      return
    }
    if (run.status === 'running') return
    const key = `run:${runId}`
    const signature = runSignature(run)
    if (this.done.get(key) === signature) return
    this.remember(key, signature)
    this.job(async () => {
      if (!this.exportRun(runId)) this.exportFailures++
    })
  }

  private baseline(): void {
    for (const run of this.opts.registry.tracker.listRuns()) {
      if (run.status !== 'running') this.remember(`run:${run.runId}`, runSignature(run))
    }
    this.baselined.clear()
  }

  private remember(key: string, signature: string): void {
    this.done.delete(key)
    this.done.set(key, signature)
    if (this.done.size > MAX_REMEMBERED) this.done.delete(this.done.keys().next().value!)
  }

  private onFrame(frame: EventFrame): void {
    if (!this.exporter) return
    if (frame.event === 'run-updated') {
      const run = frame.payload as VigilEvents['run-updated']
      const pending = this.settling.get(run.runId)
      if (pending) clearTimeout(pending)
      this.settling.delete(run.runId)
      if (run.status === 'running' || this.done.get(`run:${run.runId}`) === runSignature(run)) return
      if (this.settling.size >= MAX_PENDING_JOBS) {
        this.exportFailures++
        return
      }
      const timer = setTimeout(() => {
        this.settling.delete(run.runId)
        this.settled(run.runId)
      }, this.opts.settleMs ?? 1000)
      timer.unref()
      this.settling.set(run.runId, timer)
    } else if (frame.event === 'store-updated') {
      const storeId = (frame.payload as VigilEvents['store-updated']).storeId
      // One check per store at a time; a push meanwhile asks for one more.
      if (this.storeChecks.has(storeId)) {
        this.storeChecks.set(storeId, true)
        return
      }
      this.storeChecks.set(storeId, false)
      this.job(async () => {
        try {
          do {
            this.storeChecks.set(storeId, false)
            await this.checkStore(storeId)
          } while (this.storeChecks.get(storeId) === true)
        } finally {
          this.storeChecks.delete(storeId)
        }
      })
    }
  }

  /** Runs export work one job at a time, after the current push has been delivered. */
  private job(work: () => Promise<void>): void {
    if (this.pendingJobs >= MAX_PENDING_JOBS) {
      this.exportFailures++
      return
    }
    this.pendingJobs++
    this.chain = this.chain
      .then(() => new Promise((r) => setImmediate(r)))
      .then(work)
      .catch((err: unknown) => {
        this.exportFailures++
        console.warn(`vigil: a run could not be read for export to the collector: ${err instanceof Error ? err.message : String(err)}`)
      })
      .finally(() => this.pendingJobs--)
  }

  private async checkStore(storeId: string): Promise<void> {
    let store
    try {
      store = this.opts.registry.store(storeId)
    } catch {
      return // removed meanwhile
    }
    let sessions: SessionRow[]
    try {
      sessions = await store.listSessions()
    } catch {
      return // not read yet
    }
    const first = !this.baselined.has(storeId)
    this.baselined.add(storeId)
    for (const s of sessions) {
      const key = `session:${storeId}:${s.sessionId}`
      if (!isEnded(s)) continue
      const signature = sessionSignature(s)
      if (this.done.get(key) === signature) continue
      // Counts come with the next version of a first read: export then.
      if (!first && s.countsPending) continue
      this.remember(key, signature)
      if (first) continue
      if (!(await this.exportSession(storeId, s.sessionId))) this.exportFailures++
    }
  }
}
