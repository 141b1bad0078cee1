import { mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { VigilApi } from '../../shared/api/contract'
import { ApiError } from '../../shared/api/errors'
import type { AppInfo, AppMode, RecordingStatus } from '../../shared/model/app'
import { followStreamPath, runStreamPath, type RunDetail, type RunSummary } from '../../shared/model/live'
import type { Overview, SessionFailure } from '../../shared/model/overview'
import type { SessionRow } from '../../shared/model/perspt'
import type {
  DagGraph,
  DecisionTrace,
  EnergyView,
  LlmRequestText,
  LlmTextPart,
  LlmRowsPage,
  LlmRowsQuery,
  LlmSummary,
  NodeDetail,
  SandboxView,
  SessionSummary,
  StoreTotals,
  SessionNodesView,
  EnergyPassesView,
  EnergyStats
} from '../../shared/model/perspt-views'
import type { ReviewsSnapshot } from '../../shared/model/review-delta'
import type { ReviewDecisionWord, ReviewGate, ReviewHistoryPage } from '../../shared/model/reviews'
import type { SourceInfo, StoreSourceInfo } from '../../shared/model/sources'
import type { IngressTokenCreated, PlacesFacts, SettingsChanges, SettingsView } from '../../shared/model/settings'
import type { InboxSurface } from '../../shared/api/contract'
import { parseClientFrame } from '../../shared/protocol/agentensemble'
import { startDemo, type DemoOptions, type RunningDemo } from '../demo/demo'
import { LiveHub } from '../hub/live-hub'
import { RunStream } from '../live/run-stream'
import { Recorder } from '../recorder/recorder'
import { RecordingOff } from '../recorder/recording-off'
import { DuckReviewLog } from '../recorder/review-history'
import { ReviewCoordinator, type ReviewGateEvent } from '../reviews/review-coordinator'
import { ReviewHttpApi } from '../reviews/review-http'
import { ReviewPush } from '../reviews/review-push'
import type { ServerExtension } from '../server/vigil-server'
import { dagNotARun, exportRunTrace, importTraceFile, ingestImportedTrace, traceFileName, traceSourceId } from '../recorder/trace-files'
import type { PersptStore } from '../perspt/perspt-store'
import { readDag, readNodeDetail } from '../perspt/views/dag'
import { readDecisionTrace } from '../perspt/views/decision-trace'
import { readEnergySeries, readLlmSeries } from '../perspt/views/chart-series'
import { readTimeline, readTimelineFacets } from '../perspt/views/timeline'
import type { EnergySeries, LlmSeries, TimelineFacets, TimelinePage, TimelineQuery } from '../../shared/model/perspt-timeline'
import { readEnergy } from '../perspt/views/energy'
import { readLlmRequest, readLlmRows, readLlmSummary, readLlmText } from '../perspt/views/llm'
import { readSandbox } from '../perspt/views/sandbox'
import { readSessionSummary } from '../perspt/views/session-summary'
import { readStoreTotals } from '../perspt/views/store-totals'
import { readSessionNodes } from '../perspt/views/nodes-table'
import { readEnergyPasses, readEnergyStats } from '../perspt/views/energy-passes'
import type { RememberedSources } from '../settings/remembered-sources'
import type { SettingsFile } from '../settings/settings-file'
import { placesFacts, ServeSettings, type SettingsProvider } from '../settings/app-settings'
import { currentCaller } from '../server/auth/caller'
import { OtlpExportService } from '../otel/export/export-service'
import { OtlpReceiver } from '../otel/otlp-receiver'
import { EventHub } from './event-hub'
import { OverviewReader } from './overview'
import { readSessionFailure, SESSION_FAILURE_TABLES } from './session-failure'
import { SourceRegistry } from './source-registry'

/** Run-tracker source id of producers on Vigil's own hub. */
const HUB_SOURCE_ID = 'hub'

export interface VigilServiceOptions {
  mode: AppMode
  version: string
  /** A private folder for snapshots and the demo; removed on close. */
  tmpRoot: string
  /** Desktop only: a native file picker. */
  chooseStoreFile?: () => Promise<string | null>
  /** Desktop only: where sources added in the UI are remembered. */
  remembered?: SettingsFile<RememberedSources>
  pollMs?: number
  demo?: DemoOptions
  /** The Settings page: AppSettings (desktop window), ServeSettings (vigil serve); default read-only, facts unknown. */
  settings?: SettingsProvider
}

/** Vigil's API implementation: the same object serves the desktop window (IPC) and browsers (HTTP). */
export class VigilService implements VigilApi {
  readonly events = new EventHub()
  readonly registry: SourceRegistry
  /** AgentEnsemble hub on Vigil's port (/ingress, /ws): its events feed the same run tracker. */
  readonly hub: LiveHub
  /** Review gates from every source, and the review API's own. */
  readonly reviews: ReviewCoordinator
  /** AgentEnsemble's embedded-dashboard protocol for every run (`/ws?run=`, `/ws?producer=`): src/main/live/run-stream.ts. */
  readonly runStream: RunStream
  /** Forwarding every run to an OpenTelemetry collector (off until configured): src/main/otel/export/. */
  readonly otlpExport: OtlpExportService
  /** OpenTelemetry traces received on `POST /v1/traces`, each a run (source "otel"): src/main/otel/otlp-receiver.ts. */
  readonly otlpReceiver: OtlpReceiver
  private demo: Promise<RunningDemo> | null = null
  private recorder: Recorder | null = null
  private recordingOff: RecordingOff | null = null
  private recordingWatch: NodeJS.Timeout | null = null
  private lastRecordingPush = ''
  private reviewsPush: ReviewPush | null = null
  private overviewReader: OverviewReader | null = null
  private recording: Pick<RecordingStatus, 'path' | 'active' | 'problem'> = { path: null, active: false, problem: null }

  constructor(private readonly opts: VigilServiceOptions) {
    this.registry = new SourceRegistry({
      tmpRoot: join(opts.tmpRoot, 'sources'),
      events: this.events,
      pollMs: opts.pollMs,
      onSetChanged: (sources) => this.remember(sources)
    })
    const tracker = this.registry.tracker
    this.reviews = new ReviewCoordinator({
      delivery: {
        toAttachment: (sourceId, reviewId, decision, revisedOutput) => {
          try {
            return this.registry.attachment(sourceId).sendReviewDecision(reviewId, decision, revisedOutput)
          } catch {
            return false // the source was removed
          }
        },
        // A gate restored after a restart is unknown to this hub: it is registered again with its producer.
        toHubProducer: (reviewId, decisionJson, producerId) =>
          producerId === null ? this.hub.forwardDecision(reviewId, decisionJson) : this.hub.forwardRestoredDecision(producerId, reviewId, decisionJson)
      },
      hubSourceId: HUB_SOURCE_ID,
      labelOf: (sourceId) => this.registry.list().find((s) => s.id === sourceId)?.label,
      runIdOf: (sourceId, producerId) => tracker.currentRunId(sourceId, producerId)
    })
    tracker.tap((sourceId, producerId, message, receivedAt) => this.reviews.observe(sourceId, producerId, message, receivedAt))
    this.hub = new LiveHub({
      tracker,
      sourceId: HUB_SOURCE_ID,
      onBrowserDecision: (reviewId, frameText) => this.decideFromHubBrowser(reviewId, frameText)
    })
    this.runStream = new RunStream({
      tracker,
      reviews: this.reviews,
      hubSourceId: HUB_SOURCE_ID,
      // Runs no longer held in memory are read back from the recording.
      loadRun: (runId) => (this.recorder ? this.recorder.runEvents(runId) : Promise.resolve(null))
    })
    this.reviews.onEvent((event) => {
      if (event.type === 'resolved' && event.gate.source.kind === 'hub' && event.gate.status === 'timed-out') {
        // AgentEnsemble producers never announce their own timeouts (§7): put it in the run's history.
        const g = event.gate
        tracker.ingest(HUB_SOURCE_ID, g.source.producerId, { type: 'review_timed_out', reviewId: g.reviewId, action: g.onTimeout }, g.outcome?.decidedAt ?? new Date().toISOString())
      }
      // AgentEnsemble's viz on /ws keeps a panel up until review_timed_out: tell it whenever a hub gate is settled.
      if (event.type === 'resolved' && event.gate.source.kind === 'hub' && event.gate.source.producerId !== null) {
        const g = event.gate
        this.hub.announceSettled(g.source.producerId as string, g.reviewId, g.outcome?.decision ?? (g.status === 'timed-out' ? g.onTimeout : null))
      }
      this.pushReviewsSoon(event)
    })
    this.events.subscribe((frame) => {
      if (frame.event === 'sources-changed') this.syncGateConnections()
    })
    this.hub.onChange(() => this.syncGateConnections())
    this.otlpReceiver = new OtlpReceiver({ tracker })
    this.otlpExport = new OtlpExportService({ events: this.events, registry: this.registry, version: opts.version })
  }

  /**
   * Starts (or changes, or stops) forwarding runs to a collector as the settings say. Call after
   * startRecording, so that runs replayed from the recording count as already seen; runs that had
   * ended before are not sent. Also called after every settings change.
   */
  applyOtlpSettings(): void {
    const s = this.settingsProvider().otlpExport?.() ?? null
    try {
      this.otlpExport.configure(s?.config ?? null, s?.lockedBy ?? null)
    } catch (err) {
      console.warn(`vigil: not forwarding runs to a collector: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  /**
   * Records every live event into Vigil's own DuckDB file and replays what earlier runs recorded, so
   * runs stay browsable after a restart. Call before sources start. A file that cannot be used (another
   * Vigil has it, or it is not Vigil's) leaves Vigil running without recording, and says why.
   */
  async startRecording(path: string): Promise<void> {
    this.recording = { path, active: false, problem: null }
    try {
      mkdirSync(dirname(path), { recursive: true })
      const recorder = await Recorder.open({ path })
      // Recorded review_requested frames are history, not gates waiting now.
      await this.reviews.ignoreWhile(() => recorder.replayInto(this.registry.tracker))
      recorder.attach(this.registry.tracker)
      // From now on a hub envelope is journaled (durable) before it is acknowledged, relayed or shown.
      this.hub.useDurability(recorder)
      this.otlpReceiver.useDurability(recorder)
      this.reviews.useLog(await DuckReviewLog.open(recorder))
      // Pending gates live next to the recording (this Vigil holds the folder's lock): restored now.
      this.reviews.persistPendingIn(dirname(path))
      this.recorder = recorder
      this.recording = { path, active: true, problem: null }
      this.watchRecording()
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      this.recording = { path, active: false, problem: message }
      // Nothing can be made durable: POSTs to the hub are refused 503 rather than acknowledged.
      this.recordingOff = new RecordingOff(message)
      this.hub.useDurability(this.recordingOff)
      this.otlpReceiver.useDurability(this.recordingOff)
      this.watchRecording()
      console.warn(`vigil: not recording live runs: ${message}`)
    }
  }

  /**
   * Re-adds the stores the user added in an earlier run of the desktop app, and returns what re-adds
   * the attachments: stores can open while the recording does, attachments wait for it (their runs are
   * journaled). One read of the file for both: adding a source rewrites it.
   */
  restoreRemembered(): () => void {
    const saved = this.opts.remembered?.read()
    if (!saved) return () => undefined
    for (const s of saved.stores) this.registry.addStore(s.path, 'settings', s.label)
    return () => {
      for (const a of saved.attachments) this.registry.addAttachment(a.url, 'settings', a.label)
    }
  }

  async getAppInfo(): Promise<AppInfo> {
    return {
      name: 'Vigil',
      version: this.opts.version,
      mode: this.opts.mode,
      platform: process.platform,
      demoRunning: this.demo !== null,
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
      recording: this.recordingStatus()
    }
  }

  async listSources(): Promise<SourceInfo[]> {
    return this.registry.list()
  }

  async addStore(path: string): Promise<SourceInfo> {
    return this.registry.addStore(path, 'ui')
  }

  async addAttachment(url: string, label?: string): Promise<SourceInfo> {
    return this.registry.addAttachment(url, 'ui', label)
  }

  async renameSource(sourceId: string, label: string): Promise<SourceInfo> {
    return this.registry.rename(sourceId, label)
  }

  async removeSource(sourceId: string): Promise<void> {
    await this.registry.remove(sourceId)
  }

  async chooseStoreFile(): Promise<string | null> {
    return this.opts.chooseStoreFile ? this.opts.chooseStoreFile() : null
  }

  async startDemo(): Promise<void> {
    if (!this.demo) {
      this.demo = startDemo(join(this.opts.tmpRoot, 'demo'), this.opts.demo)
      this.demo.catch(() => (this.demo = null))
    }
    let demo: RunningDemo
    try {
      demo = await this.demo
    } catch (err) {
      throw new ApiError('unavailable', `The demo could not start: ${err instanceof Error ? err.message : String(err)}`)
    }
    this.registry.addStore(demo.storePath, 'demo', 'Demo · Perspt store')
    this.registry.addAttachment(demo.attachUrl, 'demo', 'Demo · AgentEnsemble')
  }

  async listSessions(storeId: string): Promise<SessionRow[]> {
    return this.registry.store(storeId).listSessions()
  }

  async getSessionSummary(storeId: string, sessionId: string): Promise<SessionSummary> {
    const { store, session } = await this.session(storeId, sessionId)
    return store.query(`summary:${sessionId}`, (con, probe) => readSessionSummary(con, probe, session))
  }

  async getDag(storeId: string, sessionId: string): Promise<DagGraph> {
    // The display status (stale vs running) decides how started-but-uncommitted nodes count.
    const { store, session } = await this.session(storeId, sessionId)
    return store.query(`dag:${sessionId}:${session.status}`, (con, probe) =>
      readDag(con, probe, sessionId, { status: session.status })
    )
  }

  async getNodeDetail(storeId: string, sessionId: string, nodeId: string): Promise<NodeDetail> {
    const { store, session } = await this.session(storeId, sessionId)
    // JSON keeps the parts apart: session 'a:b' with node 'c' must not share a cache entry with session 'a', node 'b:c'.
    return store.query(`node:${JSON.stringify([sessionId, nodeId, session.status])}`, (con, probe) =>
      readNodeDetail(con, probe, sessionId, nodeId, { status: session.status })
    )
  }

  async getEnergy(storeId: string, sessionId: string): Promise<EnergyView> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`energy:${sessionId}`, (con, probe) => readEnergy(con, probe, sessionId))
  }

  async getLlmSummary(storeId: string, sessionId: string): Promise<LlmSummary> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`llm-summary:${sessionId}`, (con, probe, ctx) => readLlmSummary(con, probe, sessionId, ctx))
  }

  async getLlmRows(storeId: string, sessionId: string, query: LlmRowsQuery): Promise<LlmRowsPage> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`llm-rows:${sessionId}:${JSON.stringify(query)}`, (con, probe, ctx) => readLlmRows(con, probe, sessionId, query, ctx))
  }

  async getLlmRequest(storeId: string, sessionId: string, requestId: number): Promise<LlmRequestText> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`llm-request:${sessionId}:${requestId}`, (con, probe) => readLlmRequest(con, probe, sessionId, requestId))
  }

  async getLlmText(storeId: string, sessionId: string, requestId: number, part: 'prompt' | 'response', offset: number, length: number): Promise<LlmTextPart> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`llm-text:${sessionId}:${requestId}:${part}:${offset}:${length}`, (con, probe) => readLlmText(con, probe, sessionId, requestId, part, offset, length))
  }

  async getSandbox(storeId: string, sessionId: string): Promise<SandboxView> {
    const { store, session } = await this.session(storeId, sessionId)
    return store.query(`sandbox:${sessionId}`, (con, probe) => readSandbox(con, probe, session))
  }

  async getDecisionTrace(storeId: string, sessionId: string): Promise<DecisionTrace> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`decisions:${sessionId}`, (con, probe) => readDecisionTrace(con, probe, sessionId))
  }

  async getDecisionTimeline(storeId: string, sessionId: string, query: TimelineQuery): Promise<TimelinePage> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`timeline:${sessionId}:${JSON.stringify(query)}`, (con, probe) => readTimeline(con, probe, sessionId, query))
  }

  async getDecisionTimelineFacets(storeId: string, sessionId: string): Promise<TimelineFacets> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`timeline-facets:${sessionId}`, (con, probe) => readTimelineFacets(con, probe, sessionId))
  }

  async getLlmSeries(storeId: string, sessionId: string): Promise<LlmSeries> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`llm-series:${sessionId}`, (con, probe, ctx) => readLlmSeries(con, probe, sessionId, ctx))
  }

  async getEnergySeries(storeId: string, sessionId: string): Promise<EnergySeries> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`energy-series:${sessionId}`, (con, probe) => readEnergySeries(con, probe, sessionId))
  }

  async getStoreTotals(storeId: string): Promise<StoreTotals> {
    // Calls, tokens and node counts are the list's own (summed), so the totals match the rows the page
    // shows; the list is taken inside the query, from the same snapshot the query reads.
    const store = this.registry.store(storeId)
    return store.query('store-totals', async (con, probe) => readStoreTotals(con, probe, await store.listSessions()))
  }

  async getSessionNodes(storeId: string, sessionId: string): Promise<SessionNodesView> {
    const { store, session } = await this.session(storeId, sessionId)
    return store.query(`nodes:${sessionId}:${session.status}`, (con, probe) => readSessionNodes(con, probe, sessionId, { status: session.status }))
  }

  async getEnergyPasses(storeId: string, sessionId: string): Promise<EnergyPassesView> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`energy-passes:${sessionId}`, (con, probe) => readEnergyPasses(con, probe, sessionId))
  }

  async getEnergyStats(storeId: string, sessionId: string): Promise<EnergyStats> {
    const { store } = await this.session(storeId, sessionId)
    return store.query(`energy-stats:${sessionId}`, (con, probe) => readEnergyStats(con, probe, sessionId))
  }

  async listRuns(): Promise<RunSummary[]> {
    return this.registry.tracker.listRuns().map((r) => withEmbeddedPaths(r))
  }

  async getRun(runId: string, recentEvents?: number): Promise<RunDetail> {
    const run = this.registry.tracker.getRun(runId, recentEvents)
    if (!run) throw new ApiError('not-found', `No run with id "${runId}".`)
    return withEmbeddedPaths(run)
  }

  async exportRunTrace(runId: string): Promise<{ fileName: string; json: string }> {
    const run = this.registry.tracker.getRun(runId, 0)
    if (!run) throw new ApiError('not-found', `No run with id "${runId}".`)
    if (!this.recorder) {
      throw new ApiError('unavailable', `Runs are not being recorded${this.recording.problem ? `: ${this.recording.problem}` : ''}, so there are no events to export.`)
    }
    const json = exportRunTrace(await this.recorder.runEvents(runId), runId)
    return { fileName: traceFileName(run.ensembleId ?? runId), json }
  }

  async importTraceFile(fileName: string, text: string): Promise<{ sourceId: string; kind: 'trace' | 'dag'; runIds: string[] }> {
    const imported = importTraceFile(text)
    // A DAG is a plan with no run to show: say so rather than answer with no runs.
    if (imported.kind === 'dag' && imported.dag) throw dagNotARun(fileName, imported.dag)
    const sourceId = traceSourceId(fileName)
    const tracker = this.registry.tracker
    const before = new Set(tracker.listRuns().map((r) => r.runId))
    ingestImportedTrace(tracker, sourceId, imported)
    const runIds = tracker.listRuns().filter((r) => r.sourceId === sourceId && !before.has(r.runId)).map((r) => r.runId)
    return { sourceId, kind: imported.kind, runIds }
  }

  /** What Vigil's server mounts next to the web bridge: the AgentEnsemble hub and the review API. */
  serverExtensions(): ServerExtension[] {
    // The run endpoint first: it takes only /ws upgrades with ?run=, ?producer= or ?source= (the rest are the hub's).
    return [
      this.runStream,
      this.hub,
      this.otlpReceiver,
      new ReviewHttpApi(this.reviews),
      {
        statusDetails: () => ({
          recording: { ...this.recordingStatus(), journal: this.recorder?.stats().journal ?? null },
          otlpExport: this.otlpExport.status(),
          stores: this.storeStatus()
        })
      }
    ]
  }

  /**
   * Each Perspt store as `GET /api/status` tells it: how it is read (live or by copies, the fallbacks
   * and why live reading is off), so a script or a support question sees it without the UI.
   */
  private storeStatus(): Array<Pick<StoreSourceInfo, 'id' | 'label' | 'path' | 'state' | 'liveness' | 'version' | 'refreshedAt' | 'reading'> & { problem: string | null }> {
    return this.registry.list().flatMap((s) =>
      s.kind === 'store'
        ? [{ id: s.id, label: s.label, path: s.path, state: s.state, liveness: s.liveness, version: s.version, refreshedAt: s.refreshedAt, reading: s.reading, problem: s.problem?.message ?? null }]
        : []
    )
  }

  /** Pushes the recording status to every window when it changed (paused, resumed, events not recorded); checked every second. */
  private watchRecording(): void {
    if (this.recordingWatch) return
    this.lastRecordingPush = JSON.stringify({ ...this.recordingStatus(), recorded: 0 })
    this.recordingWatch = setInterval(() => {
      const status = this.recordingStatus()
      const text = JSON.stringify({ ...status, recorded: 0 })
      if (text === this.lastRecordingPush) return
      this.lastRecordingPush = text
      this.events.emit('recording-changed', status)
    }, 1000)
    this.recordingWatch.unref()
  }

  /** Whether live runs are recorded now, and what was not (per source). */
  recordingStatus(): RecordingStatus {
    const stats = this.recorder?.stats()
    const notRecorded: Record<string, number> = { ...stats?.unrecordedBySource, ...this.recordingOff?.counts() }
    return {
      ...this.recording,
      paused: this.recorder?.pausedText() ?? this.recordingOff?.pausedText() ?? null,
      notRecorded,
      refused: this.hubRefusals(),
      recorded: stats?.recorded ?? 0
    }
  }

  /**
   * Hub envelopes dropped before anything acted on them, per producer (`hub:<producerId>`: malformed or
   * too big) and for the hub as a whole (`hub`: unattributed bad frames, producer ids over a cap,
   * ownership refusals). Inner messages of unknown types are relayed, so they do not count.
   */
  private hubRefusals(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const p of this.hub.producers()) {
      const n = p.diagnostics.malformed + p.diagnostics.oversize
      if (n > 0) out[`hub:${p.producer.producerId}`] = n
    }
    const c = this.hub.counters()
    const whole = c.unattributed.malformed + c.unattributed.oversize + c.unattributed.unknown + c.producerIdsRefused + c.ownershipRefused
    if (whole > 0) out.hub = whole
    return out
  }

  async listReviews(): Promise<ReviewsSnapshot> {
    return this.pushReviewsSoon().snapshot()
  }

  async getReview(gateId: string): Promise<ReviewGate> {
    return this.reviews.find(gateId)
  }

  /**
   * Who decided and where are the server's to say (SECURITY.md "Who may raise, see and decide a gate"): a
   * call over /api/rpc runs as the caller the auth gate proved ("signed-in browser", "local (no password)")
   * on the browser inbox; a call with no HTTP request behind it is the desktop window's IPC. The
   * `_claimedSurface` a client sends is ignored (a page on the desktop's server would claim the window).
   */
  async decideReview(gateId: string, decision: ReviewDecisionWord, revisedOutput?: string, _claimedSurface?: InboxSurface): Promise<ReviewGate> {
    const caller = currentCaller()
    if (caller && !caller.reviewer) throw new ApiError('unauthorized', 'Deciding review gates needs a login.')
    const surface: InboxSurface = caller || this.opts.mode === 'web' ? 'browser-inbox' : 'desktop-inbox'
    return this.reviews.decideOrExplain(gateId, { decision, revisedOutput, surface, decidedBy: caller?.label })
  }

  async getReviewHistory(offset: number, limit: number): Promise<ReviewHistoryPage> {
    return this.reviews.history(offset, limit)
  }

  async setDoNotDisturb(enabled: boolean): Promise<ReviewsSnapshot> {
    this.reviews.setDoNotDisturb(enabled)
    return this.pushReviewsSoon().snapshot()
  }

  async getOverview(): Promise<Overview> {
    this.overviewReader ??= new OverviewReader({
      sources: () => this.registry.list(),
      store: (id) => this.registry.store(id),
      listRuns: () => this.registry.tracker.listRuns(),
      getRun: (runId) => this.registry.tracker.getRun(runId, 200),
      producers: () => this.hub.producers().map((p) => ({ producerId: p.producer.producerId, connected: p.connected, active: p.active, lastSeenAt: p.lastSeenAt })),
      pendingGates: () => this.reviews.pending().map((g) => ({ runId: g.runId, taskDescription: g.taskDescription })),
      timeZone: () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
    })
    return this.overviewReader.read()
  }

  async getSessionFailure(storeId: string, sessionId: string): Promise<SessionFailure> {
    const { store, session } = await this.session(storeId, sessionId)
    // Kept across snapshots that change neither table it reads (a live session's LLM calls, say).
    return store.query(`failure:${sessionId}:${session.status}`, (con, probe) => readSessionFailure(con, probe, session), { tables: SESSION_FAILURE_TABLES })
  }

  async getSettings(): Promise<SettingsView> {
    return this.withExport(this.settingsProvider().view())
  }

  async updateSettings(changes: SettingsChanges): Promise<SettingsView> {
    const view = await this.settingsProvider().update(changes)
    if (changes.otlpEndpoint !== undefined || changes.otlpProtocol !== undefined) this.applyOtlpSettings()
    return this.withExport(view)
  }

  /** The Settings page shows the collector forwarding's state next to its setting. */
  private withExport(view: SettingsView): SettingsView {
    return { ...view, otlpExport: this.otlpExport.facts() }
  }

  async setPassword(password: string): Promise<SettingsView> {
    return this.settingsProvider().setPassword(password)
  }

  async clearPassword(): Promise<SettingsView> {
    return this.settingsProvider().clearPassword()
  }

  async createIngressToken(): Promise<IngressTokenCreated> {
    return this.settingsProvider().createIngressToken()
  }

  async removeIngressToken(): Promise<SettingsView> {
    return this.settingsProvider().removeIngressToken()
  }

  async getPlaces(): Promise<PlacesFacts> {
    const demo = this.demo ? await this.demo.catch(() => null) : null
    return placesFacts(this.settingsProvider().places(), demo ? { storePath: demo.storePath, ensembleUrl: demo.attachUrl } : null)
  }

  private settingsProvider(): SettingsProvider {
    this.opts.settings ??= new ServeSettings({ mode: this.opts.mode, host: null, port: null, passwordSource: null, ingressTokenSource: null, dataDir: null })
    return this.opts.settings
  }

  async close(): Promise<void> {
    if (this.recordingWatch) clearInterval(this.recordingWatch)
    this.recordingWatch = null
    this.reviewsPush?.close()
    this.reviews.close()
    // Sends what is queued for the collector (bounded by its deadline) while the sources are still open.
    await this.otlpExport.close()
    await this.runStream.close()
    await this.hub.close()
    await this.registry.close()
    await this.recorder?.close()
    if (this.demo) await (await this.demo.catch(() => null))?.stop()
    rmSync(this.opts.tmpRoot, { recursive: true, force: true })
  }

  /** The store and the session row every per-session view starts from; unknown ids are a 404. */
  private async session(storeId: string, sessionId: string): Promise<{ store: PersptStore; session: SessionRow }> {
    const store = this.registry.store(storeId)
    // Views show a session's counts (summary, node states): never the not-yet-counted first list.
    const session = (await store.listCountedSessions()).find((s) => s.sessionId === sessionId)
    if (!session) throw new ApiError('not-found', `No session "${sessionId}" in this store.`)
    return { store, session }
  }

  /**
   * One reviews-changed push per event-loop turn, a small delta with a seq (src/main/reviews/review-push.ts):
   * a burst of gates makes one push, not one per gate, and a single change still goes out at once.
   * Without an event, just the push (listReviews reads its bounded snapshot and seq).
   */
  private pushReviewsSoon(event?: ReviewGateEvent): ReviewPush {
    this.reviewsPush ??= new ReviewPush(this.reviews, (delta) => this.events.emit('reviews-changed', delta))
    if (event) this.reviewsPush.note(event)
    return this.reviewsPush
  }

  /** AgentEnsemble's viz on Vigil's /ws decides with the agent's review id; invalid words are dropped (§2.2.4 reads them as exit). */
  private decideFromHubBrowser(reviewId: string, frameText: string): void {
    const parsed = parseClientFrame(frameText)
    if (!parsed.ok || parsed.message.type !== 'review_decision') return
    try {
      this.reviews.decideByReviewId(HUB_SOURCE_ID, reviewId, {
        decision: parsed.message.decision,
        revisedOutput: parsed.message.revisedOutput ?? (parsed.message.decision.trim().toUpperCase() === 'EDIT' ? '' : undefined),
        surface: 'hub-browser'
      })
    } catch (err) {
      console.warn(`vigil: a hub browser's decision for review "${reviewId.slice(0, 80)}" was not applied: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  private syncGateConnections(): void {
    const sources = new Map(this.registry.list().map((s) => [s.id, s]))
    const producers = new Map(this.hub.producers().map((p) => [p.producer.producerId, p]))
    this.reviews.syncConnections((source) => {
      if (source.kind === 'hub') return producers.get(source.producerId ?? '')?.connected ?? false
      const info = sources.get(source.sourceId)
      return info?.kind === 'attachment' && info.state === 'connected'
    })
  }

  private remember(sources: readonly SourceInfo[]): void {
    const file = this.opts.remembered
    if (!file) return
    const userAdded = sources.filter((s) => s.origin === 'ui' || s.origin === 'settings')
    try {
      file.write({
        stores: userAdded.flatMap((s) => (s.kind === 'store' ? [{ path: s.path, label: s.label }] : [])),
        attachments: userAdded.flatMap((s) => (s.kind === 'attachment' ? [{ url: s.url, label: s.label }] : []))
      })
    } catch (err) {
      console.error('vigil: could not remember sources:', err)
    }
  }
}

/** The run's AgentEnsemble embedded-dashboard paths on Vigil's server (docs/agentensemble.md). */
function withEmbeddedPaths<T extends RunSummary>(run: T): T {
  return { ...run, embeddedPath: runStreamPath(run.runId), embeddedFollowPath: followStreamPath(run.sourceId, run.producerId, HUB_SOURCE_ID) }
}
