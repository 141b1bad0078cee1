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

export function statusLabel(status: string): string {
  return status.charAt(0).toUpperCase() + status.slice(1)
}
