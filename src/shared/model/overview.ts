// The Now page: what is running, what failed, what it cost, and how each source is, computed in main
// from the store readers and the run tracker, bounded (see OVERVIEW_LIMITS), never whole tables.
import type { DisplayStatus } from './perspt'
import type { RunStatus } from './live'

/** How many items each list carries at most; `more` says how many were left off. */
export const OVERVIEW_LIMITS = { running: 50, recent: 20, sparkBuckets: 12 } as const

/**
 * A run waiting on a review gate is "waiting", never "running"; an imported or recorded run whose source
 * is gone and that never finished is "incomplete" (ended without completion), never "running".
 */
export type OverviewStatus = DisplayStatus | RunStatus | 'waiting' | 'incomplete'

export interface OverviewProgress {
  done: number
  total: number
  failed: number
  unit: 'nodes' | 'tasks'
}

/** One Perspt session or one live run, as the Now page lists it. */
export interface OverviewItem {
  kind: 'session' | 'run'
  /** Session id or Vigil's run id. */
  id: string
  sourceId: string
  sourceLabel: string
  /** What it is: the session's task, the run's workflow and first task. */
  title: string
  /** A short name: Perspt's friendly name, the ensemble id's short form. */
  name: string
  status: OverviewStatus
  startedAt: string | null
  endedAt: string | null
  lastActivityAt: string | null
  /** durationOf(startedAt, endedAt ?? generatedAt): one definition everywhere. */
  durationMs: number | null
  progress: OverviewProgress
  /** The node or task being worked on, or the gate it waits for. */
  currentStep: string | null
  llmRequests: number
  tokens: number
  /** Perspt budgets only; live runs report no cost. */
  costUsd: number | null
  /** Why it may be out of date (source disconnected, agent gone), else null. */
  staleReason: string | null
  /** One line: escalation category and evidence, task failure, exit reason. Null when it did not fail. */
  reason: string | null
  /** Where the evidence is: a node id (sessions) or a task index (runs). */
  reasonRef: { nodeId?: string; taskIndex?: number } | null
  /** Activity per bucket (LLM requests or events), oldest first, OVERVIEW_LIMITS.sparkBuckets long; empty when unknown. */
  activity: number[]
}

export interface OverviewTotals {
  /** Perspt sessions created plus live runs started. */
  sessions: number
  runs: number
  llmRequests: number
  tokens: number
  costUsd: number
  failed: number
}

export interface OverviewDay extends OverviewTotals {
  /** YYYY-MM-DD in `Overview.timeZone`. */
  day: string
}

export type SourceHealth = 'ok' | 'warning' | 'error' | 'idle'

export interface OverviewSource {
  /** A source id, or `hub:<producerId>` for a producer on Vigil's hub. */
  id: string
  kind: 'store' | 'attachment' | 'producer' | 'trace'
  label: string
  /** The source's own word: live, idle, connected, reconnecting, error… */
  state: string
  health: SourceHealth
  /** One line when something is wrong, else null. */
  detail: string | null
  /** Last snapshot or frame. */
  lastSeenAt: string | null
  running: number
}

export interface Overview {
  generatedAt: string
  /** The zone the days are counted in. */
  timeZone: string
  running: OverviewItem[]
  /** Finished within the last 7 days: failures first, then newest first. */
  recent: OverviewItem[]
  more: { running: number; recent: number }
  today: OverviewTotals
  week: OverviewTotals
  /** The last 7 days, oldest first, today last. */
  days: OverviewDay[]
  sources: OverviewSource[]
  /** Width of one activity bucket. */
  sparkBucketMs: number
}

/** Why a Perspt session failed (or where it is stuck), for its Summary and to open Energy and DAG on that node. */
export interface SessionFailure {
  /** One line: escalation category and evidence, else the failed node and its error type. Null when nothing went wrong. */
  reason: string | null
  /** The newest escalation report, when any (the evidence). */
  escalation: { id: number | null; nodeId: string | null; category: string | null; action: string | null; evidence: string | null; at: string | null } | null
  /** The node to look at first: escalated, else failed, else (running) the one with the most attempts. */
  focusNodeId: string | null
  /** Why that node: 'escalated' | 'failed' | 'stuck'. */
  focusKind: 'escalated' | 'failed' | 'stuck' | null
}
