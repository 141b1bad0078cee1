// The one API between Vigil's renderer and its main process. Implemented by the main process
// (src/main/core), carried by IPC (preload) in the desktop app and by HTTP + WebSocket in `vigil serve`.
import type { AppInfo, RecordingStatus } from '../model/app'
import type { RunDetail, RunSummary } from '../model/live'
import type { RunDelta } from '../model/run-reducer'
import type { Overview, SessionFailure } from '../model/overview'
import type { SessionRow } from '../model/perspt'
import type { ReviewsDelta, ReviewsSnapshot } from '../model/review-delta'
import type { ReviewDecisionWord, ReviewGate, ReviewHistoryPage } from '../model/reviews'
import { REVIEW_DECISION_WORDS } from '../model/reviews'
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
} from '../model/perspt-views'
import type { EnergySeries, LlmSeries, TimelineFacets, TimelinePage, TimelineQuery } from '../model/perspt-timeline'
import { TIMELINE_KINDS } from '../model/perspt-timeline'
import type { IngressTokenCreated, PlacesFacts, SettingsChanges, SettingsView } from '../model/settings'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../model/settings'
import { OTLP_PROTOCOLS } from '../model/otlp-export'
import type { SourceInfo } from '../model/sources'
import { args, bool, integer, listOf, oneOf, optional, record, text, wsUrl } from './validate'

export interface VigilApi {
  getAppInfo(): Promise<AppInfo>
  listSources(): Promise<SourceInfo[]>
  /** Watches a Perspt store file (never opening the file itself: see the reader). */
  addStore(path: string): Promise<SourceInfo>
  /** Attaches to an AgentEnsemble dashboard or hub at a ws:// URL. */
  addAttachment(url: string, label?: string): Promise<SourceInfo>
  renameSource(sourceId: string, label: string): Promise<SourceInfo>
  removeSource(sourceId: string): Promise<void>
  /** Desktop: a native file picker. Web: null (the UI asks for a path instead). */
  chooseStoreFile(): Promise<string | null>
  /** Starts the built-in simulated agents and watches them. Idempotent. */
  startDemo(): Promise<void>
  listSessions(storeId: string): Promise<SessionRow[]>
  getSessionSummary(storeId: string, sessionId: string): Promise<SessionSummary>
  getDag(storeId: string, sessionId: string): Promise<DagGraph>
  getNodeDetail(storeId: string, sessionId: string, nodeId: string): Promise<NodeDetail>
  getEnergy(storeId: string, sessionId: string): Promise<EnergyView>
  getLlmSummary(storeId: string, sessionId: string): Promise<LlmSummary>
  /** A window of LLM requests, sorted and filtered in DuckDB: never the whole table. */
  getLlmRows(storeId: string, sessionId: string, query: LlmRowsQuery): Promise<LlmRowsPage>
  getLlmRequest(storeId: string, sessionId: string, requestId: number): Promise<LlmRequestText>
  /** Characters [offset, offset + length) of a request's prompt or response: "show more" and the full-text download. */
  getLlmText(storeId: string, sessionId: string, requestId: number, part: 'prompt' | 'response', offset: number, length: number): Promise<LlmTextPart>
  getSandbox(storeId: string, sessionId: string): Promise<SandboxView>
  getDecisionTrace(storeId: string, sessionId: string): Promise<DecisionTrace>
  /** A window of the session's decision timeline (every decision record, oldest first), filtered in DuckDB. */
  getDecisionTimeline(storeId: string, sessionId: string, query: TimelineQuery): Promise<TimelinePage>
  /** Counts per kind of decision record and the nodes that have any, for the timeline's filters. */
  getDecisionTimelineFacets(storeId: string, sessionId: string): Promise<TimelineFacets>
  /** LLM latency percentiles (NULL latency excluded), tokens and estimated cost per time bucket, per model. */
  getLlmSeries(storeId: string, sessionId: string): Promise<LlmSeries>
  /** V_total per verification pass of every node (non-finite values null and counted), bounded. */
  getEnergySeries(storeId: string, sessionId: string): Promise<EnergySeries>
  /** The store page's totals over every session: LLM calls, tokens, latency, nodes, toolchains. */
  getStoreTotals(storeId: string): Promise<StoreTotals>
  /** Every node of a session (goal, class, V_total at commit, attempts, state) and its edge rows. */
  getSessionNodes(storeId: string, sessionId: string): Promise<SessionNodesView>
  /** Every verification pass of a session (bounded) with the session's energy statistics. */
  getEnergyPasses(storeId: string, sessionId: string): Promise<EnergyPassesView>
  /** Min, max and mean per energy component over the session's passes (NULL and non-finite excluded). */
  getEnergyStats(storeId: string, sessionId: string): Promise<EnergyStats>
  listRuns(): Promise<RunSummary[]>
  getRun(runId: string, recentEvents?: number): Promise<RunDetail>
  /** An AgentEnsemble ExecutionTrace (`.trace.json`) of a recorded run. */
  exportRunTrace(runId: string): Promise<{ fileName: string; json: string }>
  /** Loads a `.trace.json` (or `.dag.json`) as a source of its own; returns the runs it made. */
  importTraceFile(fileName: string, text: string): Promise<{ sourceId: string; kind: 'trace' | 'dag'; runIds: string[] }>
  /**
   * Pending review gates (by deadline), the latest decided ones, and the do-not-disturb switch, texts
   * cut (getReview has a gate whole), with the seq of the last `reviews-changed` push it includes.
   */
  listReviews(): Promise<ReviewsSnapshot>
  /** One gate, pending or decided (decided ones are looked up in the history too). */
  getReview(gateId: string): Promise<ReviewGate>
  /** First decision wins: a gate already resolved is a conflict naming how, where and when. */
  decideReview(gateId: string, decision: ReviewDecisionWord, revisedOutput?: string, surface?: InboxSurface): Promise<ReviewGate>
  /** Decided gates, newest first, from Vigil's DuckDB file. */
  getReviewHistory(offset: number, limit: number): Promise<ReviewHistoryPage>
  /** Silences notifications and dialogs for new gates (the badge still counts them). */
  setDoNotDisturb(enabled: boolean): Promise<ReviewsSnapshot>
  /**
   * The Now page: running sessions and runs (progress, elapsed, current step, spend), recent finishes
   * with failures first and a one-line reason, totals for today and 7 days, each source's health.
   * Bounded (OVERVIEW_LIMITS); refetch it on push events, coalesced.
   */
  getOverview(): Promise<Overview>
  /** Why a session failed (newest escalation and its evidence) or where it is stuck: the node Energy and DAG open on. */
  getSessionFailure(storeId: string, sessionId: string): Promise<SessionFailure>
  /** The Settings page: server, password and token (never their values), start at login, notifications. */
  getSettings(): Promise<SettingsView>
  /** Desktop window only (a browser gets forbidden). Port or host changes restart the embedded server. */
  updateSettings(changes: SettingsChanges): Promise<SettingsView>
  /** Desktop window only: sets the login password (stored as a salted scrypt hash); restarts the server. */
  setPassword(password: string): Promise<SettingsView>
  /** Desktop window only: no login any more (loopback only); restarts the server. */
  clearPassword(): Promise<SettingsView>
  /** Desktop window only: a new ingress token (replacing any), returned this once; restarts the server. */
  createIngressToken(): Promise<IngressTokenCreated>
  /** Desktop window only: no ingress token any more; restarts the server. */
  removeIngressToken(): Promise<SettingsView>
  /** What is running and where: interface, hub, review API, data folder, the demo's store and ensemble. */
  getPlaces(): Promise<PlacesFacts>
}

/** Which inbox a decision came from (kept in the audit history). */
export type InboxSurface = 'desktop-inbox' | 'browser-inbox'

/** Push events from main to every renderer. */
export interface VigilEvents {
  'sources-changed': SourceInfo[]
  /**
   * A new snapshot of a store. `sessions`: the sessions whose data changed since `version - 1` (new rows,
   * or a changed list row such as a status); null when any may have (a first read, a replaced or
   * rewritten file, too many to name). A window that missed a version treats it as null.
   */
  'store-updated': { storeId: string; version: number; sessions: string[] | null }
  'run-updated': RunSummary
  /** Main asks the UI to show a place, e.g. from the app menu or a notification: "#/attach". */
  navigate: { route: string }
  /**
   * Any gate raised, decided, timed out, or changed connection; or do-not-disturb switched: one delta
   * per event-loop turn, texts cut, at most MAX_REVIEWS_PUSH_BYTES. A window that misses a seq, or gets
   * a resync marker, refetches listReviews() (see src/shared/model/review-delta.ts).
   */
  'reviews-changed': ReviewsDelta
  /** Recording paused or resumed, or events not recorded: at most once a second, only on change. */
  'recording-changed': RecordingStatus
  /**
   * Only to a window that watches the run (VigilBridge.watchRuns): the run's new events as ops, numbered
   * per run, to apply on top of getRun() (src/shared/model/run-reducer.ts). A jump in the numbers,
   * `dropped` (the window's queue was full) or `reset` means: refetch getRun().
   */
  'run-delta': RunDelta
}

export type MethodName = keyof VigilApi
export type EventName = keyof VigilEvents
export type Unsubscribe = () => void

/** What the renderer holds: the API plus a way to listen to push events. */
export interface VigilBridge extends VigilApi {
  on<E extends EventName>(event: E, listener: (payload: VigilEvents[E]) => void): Unsubscribe
  /**
   * The runs this window shows live (at most MAX_WATCHED_RUNS; [] = none): Vigil pushes `run-delta` for
   * them only. Kept by the bridge and said again after every reconnect.
   */
  watchRuns(runIds: string[]): void
}

/** Runs one window may watch at once. */
export const MAX_WATCHED_RUNS = 8

/** What a window says on the web bridge's event socket to choose its runs (the only thing it says). */
export interface WatchRunsFrame {
  watchRuns: string[]
}

/** IPC channel (renderer → main, one-way) carrying the run ids of VigilBridge.watchRuns. */
export const WATCH_RUNS_CHANNEL = 'vigil:watch-runs'

/** The run ids of a watch request, or null when it is not one (at most MAX_WATCHED_RUNS ids of 1–200 characters). */
export function parseWatchRuns(raw: unknown): string[] | null {
  if (!Array.isArray(raw) || raw.length > MAX_WATCHED_RUNS) return null
  if (!raw.every((id): id is string => typeof id === 'string' && id.length > 0 && id.length <= 200)) return null
  return [...new Set(raw)]
}

type ArgParsers = { [M in MethodName]: (raw: unknown) => Parameters<VigilApi[M]> }

const id = text({ min: 1, max: 200 })
const label = text({ min: 1, max: 200 })
const path = text({ min: 1, max: 4096 })
/** Any id Perspt stored, '' and very long ones included: every listed session must open. */
export const MAX_SESSION_ID_CHARS = 65_536
const sessionId = text({ min: 0, max: MAX_SESSION_ID_CHARS })
/** Trace files travel as text in one call: the web bridge's body limit is set above this. */
export const MAX_TRACE_TEXT = 8 * 1024 * 1024
const llmRowsQuery = record<LlmRowsQuery>({
  offset: integer({ min: 0 }),
  limit: integer({ min: 1, max: 2000 }),
  sort: optional(oneOf(['time', 'model', 'node', 'tokensIn', 'tokensOut', 'latency'] as const)),
  dir: optional(oneOf(['asc', 'desc'] as const)),
  search: optional(text({ max: 500 })),
  model: optional(text({ max: 500 })),
  nodeId: optional(text({ max: 500 }))
})

const timelineQuery = record<TimelineQuery>({
  offset: integer({ min: 0 }),
  limit: integer({ min: 1, max: 500 }),
  kinds: optional(listOf(oneOf(TIMELINE_KINDS), TIMELINE_KINDS.length)),
  nodeId: optional(text({ max: 500 }))
})

/** Every method's argument checks; typed so that adding a method without checks does not compile. */
export const ARG_PARSERS: ArgParsers = {
  getAppInfo: args<[]>([]),
  listSources: args<[]>([]),
  addStore: args<[string]>(['path'], path),
  addAttachment: args<[string, string | undefined]>(['url', 'label'], wsUrl, optional(label)),
  renameSource: args<[string, string]>(['sourceId', 'label'], id, label),
  removeSource: args<[string]>(['sourceId'], id),
  chooseStoreFile: args<[]>([]),
  startDemo: args<[]>([]),
  listSessions: args<[string]>(['storeId'], id),
  getSessionSummary: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getDag: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getNodeDetail: args<[string, string, string]>(['storeId', 'sessionId', 'nodeId'], id, sessionId, text({ min: 1, max: 500 })),
  getEnergy: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getLlmSummary: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getLlmRows: args<[string, string, LlmRowsQuery]>(['storeId', 'sessionId', 'query'], id, sessionId, llmRowsQuery),
  getLlmRequest: args<[string, string, number]>(['storeId', 'sessionId', 'requestId'], id, sessionId, integer({ min: 0 })),
  getLlmText: args<[string, string, number, 'prompt' | 'response', number, number]>(
    ['storeId', 'sessionId', 'requestId', 'part', 'offset', 'length'],
    id,
    sessionId,
    integer({ min: 0 }),
    oneOf(['prompt', 'response'] as const),
    integer({ min: 0 }),
    integer({ min: 1, max: 1_048_576 })
  ),
  getSandbox: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getDecisionTrace: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getDecisionTimeline: args<[string, string, TimelineQuery]>(['storeId', 'sessionId', 'query'], id, sessionId, timelineQuery),
  getDecisionTimelineFacets: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getLlmSeries: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getEnergySeries: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getStoreTotals: args<[string]>(['storeId'], id),
  getSessionNodes: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getEnergyPasses: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getEnergyStats: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  listRuns: args<[]>([]),
  exportRunTrace: args<[string]>(['runId'], id),
  importTraceFile: args<[string, string]>(['fileName', 'text'], text({ min: 1, max: 255 }), text({ min: 1, max: MAX_TRACE_TEXT })),
  listReviews: args<[]>([]),
  getReview: args<[string]>(['gateId'], id),
  decideReview: args<[string, ReviewDecisionWord, string | undefined, InboxSurface | undefined]>(
    ['gateId', 'decision', 'revisedOutput', 'surface'],
    id,
    oneOf(REVIEW_DECISION_WORDS),
    optional(text({ max: 4 * 1024 * 1024 })),
    optional(oneOf(['desktop-inbox', 'browser-inbox'] as const))
  ),
  getReviewHistory: args<[number, number]>(['offset', 'limit'], integer({ min: 0 }), integer({ min: 1, max: 500 })),
  setDoNotDisturb: args<[boolean]>(['enabled'], bool),
  getOverview: args<[]>([]),
  getSessionFailure: args<[string, string]>(['storeId', 'sessionId'], id, sessionId),
  getSettings: args<[]>([]),
  updateSettings: args<[SettingsChanges]>(
    ['changes'],
    record<SettingsChanges>({
      host: optional(text({ min: 1, max: 253 })),
      port: optional(integer({ min: 1, max: 65535 })),
      startAtLogin: optional(bool),
      notifications: optional(bool),
      otlpEndpoint: optional(text({ max: 2048 })),
      otlpProtocol: optional(oneOf(OTLP_PROTOCOLS))
    })
  ),
  setPassword: args<[string]>(['password'], text({ min: MIN_PASSWORD_LENGTH, max: MAX_PASSWORD_LENGTH })),
  clearPassword: args<[]>([]),
  createIngressToken: args<[]>([]),
  removeIngressToken: args<[]>([]),
  getPlaces: args<[]>([]),
  getRun: args<[string, number | undefined]>(
    ['runId', 'recentEvents'],
    id,
    optional(integer({ min: 0, max: 5000 }))
  )
}

export const METHOD_NAMES = Object.keys(ARG_PARSERS) as MethodName[]

const EVENT_SET: { [E in EventName]: true } = {
  'sources-changed': true,
  'store-updated': true,
  'run-updated': true,
  navigate: true,
  'reviews-changed': true,
  'recording-changed': true,
  'run-delta': true
}
export const EVENT_NAMES = Object.keys(EVENT_SET) as EventName[]

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(ARG_PARSERS, name)
}

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(EVENT_SET, name)
}

/** IPC channel names; one prefix so preload and main refuse everything else. */
export const invokeChannel = (method: MethodName): string => `vigil:invoke:${method}`
export const eventChannel = (event: EventName): string => `vigil:event:${event}`

/** HTTP routes of the web bridge. */
export const RPC_PATH_PREFIX = '/api/rpc/'
export const EVENTS_PATH = '/api/events'

/** One frame on the web bridge's event socket. */
export interface EventFrame<E extends EventName = EventName> {
  event: E
  payload: VigilEvents[E]
}
