// One status palette across Vigil: running blue, completed green, failed red, stale/escalated amber, pending grey.

export type StatusTone = 'running' | 'completed' | 'failed' | 'stale' | 'pending'

const TONES: Record<string, StatusTone> = {
  running: 'running',
  connecting: 'running',
  live: 'running',
  completed: 'completed',
  committed: 'completed',
  connected: 'completed',
  ready: 'completed',
  failed: 'failed',
  error: 'failed',
  aborted: 'failed',
  closed: 'failed',
  stale: 'stale',
  // A run waiting on a human: amber, the one colour for "needs attention".
  waiting: 'stale',
  disconnected: 'stale',
  // A recorded or imported run whose trace stops before its end: not running, not a known failure.
  incomplete: 'pending',
  left: 'pending',
  escalated: 'stale',
  partial: 'stale',
  reconnecting: 'stale',
  paused: 'stale',
  pending: 'pending',
  queued: 'pending',
  loading: 'pending',
  idle: 'pending',
  unknown: 'pending'
}

export function toneOf(status: string): StatusTone {
  return TONES[status.toLowerCase()] ?? 'pending'
}

const LABELS: Record<string, string> = {
  waiting: 'Waiting for review',
  incomplete: 'Ended without completion'
}

export function statusLabel(status: string): string {
  return LABELS[status] ?? status.charAt(0).toUpperCase() + status.slice(1)
}

/** A run still "running" whose source is disconnected shows amber: it may be out of date. */
export function shownRunStatus(run: { status: string; stale?: boolean }): string {
  return run.status === 'running' && run.stale ? 'stale' : run.status
}

export function runStatusTitle(run: { status: string; stale?: boolean; exitReason?: string | null }): string | undefined {
  if (run.status === 'running' && run.stale) return 'Running when its source was last heard from; disconnected since, so it may be out of date.'
  return run.exitReason ? `Exit reason: ${run.exitReason}` : undefined
}
