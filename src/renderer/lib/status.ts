// Status words and tones for the renderer: thin wrappers over the one vocabulary in
// src/shared/model/status-vocabulary.ts (tones drawn from styles/tokens.css).
import { describeState, type StatusDomain, type Tone } from '../../shared/model/status-vocabulary'

export type StatusTone = Tone
export type { StatusDomain }

export function toneOf(status: string, domain?: StatusDomain): StatusTone {
  return describeState(status, domain).tone
}

export function statusLabel(status: string, domain?: StatusDomain): string {
  return describeState(status, domain).label
}

/** What the page knows beyond the run itself. */
export interface RunShowContext {
  /** A review gate of this run is pending: it waits for a human, it is not running. */
  waiting?: boolean
  /** False while this page has lost Vigil: nothing shown can be trusted to be current. */
  connected?: boolean
  /** When this page last heard from Vigil (ms), for the disconnected title. */
  lastUpdateAt?: number | null
  /** False when the run's source is gone (removed, or a recording from an earlier start): it can never progress. */
  sourceKnown?: boolean
}

/** Runs loaded from a .trace.json, or recorded from a source that is gone, never receive another event. */
export function isFrozenRun(run: { sourceId: string }, ctx: RunShowContext = {}): boolean {
  return run.sourceId.startsWith('file:') || (ctx.sourceKnown === false && run.sourceId !== 'hub')
}

/**
 * The one status word for a run: a frozen run that never finished "ended without completion"; while the
 * page has lost Vigil a running run is "disconnected"; a run waiting on a gate is "waiting for review";
 * a running run whose source is disconnected is "stale" (amber: it may be out of date).
 */
export function shownRunStatus(run: { status: string; stale?: boolean; sourceId?: string }, ctx: RunShowContext = {}): string {
  if (run.status !== 'running') return run.status
  if (run.sourceId !== undefined && isFrozenRun({ sourceId: run.sourceId }, ctx)) return 'incomplete'
  if (ctx.connected === false) return 'disconnected'
  if (ctx.waiting) return 'waiting'
  return run.stale ? 'stale' : run.status
}

export function runStatusTitle(run: { status: string; stale?: boolean; exitReason?: string | null; sourceId?: string }, ctx: RunShowContext = {}): string | undefined {
  const shown = shownRunStatus(run, ctx)
  if (shown === 'incomplete') return 'The trace or recording stops before the run ended: it will not progress, and its end is unknown.'
  if (shown === 'disconnected') return disconnectedText(ctx.lastUpdateAt ?? null)
  if (shown === 'waiting') return 'A review gate of this run waits for a decision.'
  if (shown === 'stale') return 'Running when its source was last heard from; disconnected since, so it may be out of date.'
  return run.exitReason ? `Exit reason: ${run.exitReason}` : undefined
}

/** "Disconnected — last update 15:04:05 (UTC)": what every live badge says once the page lost Vigil. */
export function disconnectedText(lastUpdateAt: number | null): string {
  if (lastUpdateAt === null) return 'Disconnected — no update received yet'
  const d = new Date(lastUpdateAt)
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? 'local'
  const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(d)
  return `Disconnected — last update ${time} (${zone})`
}
