import type { VigilBridge } from '../../shared/api/contract'
import type { AppInfo } from '../../shared/model/app'
import type { RunSummary } from '../../shared/model/live'
import type { SourceInfo } from '../../shared/model/sources'
import { nextSessionChanges, sessionVersionOf, type SessionChanges } from './session-changes'

/** What every view shares: app info, the watched sources and the live runs, kept current by push events. */
export class AppState {
  info = $state<AppInfo | null>(null)
  sources = $state.raw<SourceInfo[]>([])
  runs = $state.raw<RunSummary[]>([])
  /** False while the web bridge's event socket is down. */
  connected = $state(true)
  /** When this page last heard from Vigil (an answer or a push), in ms: "last update" once disconnected. */
  lastUpdateAt = $state<number | null>(null)
  loaded = $state(false)
  loadError = $state<string | null>(null)
  /** Bumped per store on every new snapshot, so views refetch exactly what changed. */
  storeVersions = $state<Record<string, number>>({})
  /**
   * Per store: the last version heard, the last one at which any session may have changed (a push that
   * named none, or a missed version), and per session the last version that named it.
   */
  private sessionChanges = $state.raw<Record<string, SessionChanges>>({})

  readonly stores = $derived(this.sources.filter((s) => s.kind === 'store'))
  readonly attachments = $derived(this.sources.filter((s) => s.kind === 'attachment'))

  constructor(readonly bridge: VigilBridge) {}

  /** Subscribes first, then loads, so nothing that happens in between is missed. */
  async start(onNavigate: (route: string) => void): Promise<void> {
    this.bridge.on('sources-changed', (sources) => {
      this.sources = sources
      this.seedSessionChanges(sources)
      this.heard()
    })
    this.bridge.on('store-updated', ({ storeId, version, sessions }) => {
      this.storeVersions = { ...this.storeVersions, [storeId]: version }
      this.sessionChanges = { ...this.sessionChanges, [storeId]: nextSessionChanges(this.sessionChanges[storeId], version, sessions) }
      this.heard()
    })
    this.bridge.on('run-updated', (run) => {
      this.upsertRun(run)
      this.heard()
    })
    this.bridge.on('reviews-changed', () => this.heard())
    this.bridge.on('recording-changed', (recording) => {
      if (this.info) this.info = { ...this.info, recording }
    })
    this.bridge.on('navigate', ({ route }) => onNavigate(route))
    await this.reload()
  }

  async reload(): Promise<void> {
    try {
      const [info, sources, runs] = await Promise.all([
        this.bridge.getAppInfo(),
        this.bridge.listSources(),
        this.bridge.listRuns()
      ])
      this.info = info
      this.sources = sources
      this.seedSessionChanges(sources)
      this.runs = runs
      this.loadError = null
      this.heard()
    } catch (err) {
      this.loadError = err instanceof Error ? err.message : String(err)
    } finally {
      this.loaded = true
    }
  }

  setConnected(connected: boolean): void {
    const wasDown = !this.connected
    this.connected = connected
    if (connected) this.heard()
    // Back after a drop: events may have been missed, so fetch the truth again.
    if (connected && wasDown) void this.reload()
  }

  /**
   * Bumps only when a push says this session changed (or any may have): a session's views refetch on it,
   * not on every snapshot of the store. Undefined until the store's first push.
   */
  sessionVersion(storeId: string, sessionId: string): number | undefined {
    const c = this.sessionChanges[storeId]
    return c === undefined ? undefined : sessionVersionOf(c, sessionId)
  }

  /** A store first seen in the source list: its next push (version + 1) can name sessions at once. */
  private seedSessionChanges(sources: SourceInfo[]): void {
    const fresh = sources.filter((s) => s.kind === 'store' && this.sessionChanges[s.id] === undefined)
    if (fresh.length === 0) return
    const next = { ...this.sessionChanges }
    for (const s of fresh) if (s.kind === 'store') next[s.id] = { last: s.version, all: s.version, sessions: {} }
    this.sessionChanges = next
  }

  /** Whether a run's source still exists (hub, OpenTelemetry and imported runs have none of their own). */
  sourceKnown(sourceId: string): boolean {
    return sourceId === 'hub' || sourceId === 'otel' || sourceId.startsWith('file:') || this.sources.some((s) => s.id === sourceId)
  }

  private heard(): void {
    // At most one state write a second: pushes can come by the hundred.
    const now = Date.now()
    if (this.lastUpdateAt === null || now - this.lastUpdateAt >= 1000) this.lastUpdateAt = now
  }

  private upsertRun(run: RunSummary): void {
    const i = this.runs.findIndex((r) => r.runId === run.runId)
    this.runs = i < 0 ? [...this.runs, run] : this.runs.with(i, run)
  }
}

