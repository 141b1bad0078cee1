// Words and tones for review gates, shared by the inbox, the history and the run banner.
import type { ReviewGate, ReviewOutcome } from '../../shared/model/reviews'
import { decisionLabel, describeState } from '../../shared/model/status-vocabulary'
import { formatTimeWithZone } from './format'
import type { StatusTone } from './status'

const ACTION_WORDS: Record<string, string> = { CONTINUE: 'Auto-continue', EXIT_EARLY: 'Auto-exit', FAIL: 'Auto-fail' }

/** "Auto-continue", "Auto-exit", "Auto-fail": what happens at the deadline. */
export function timeoutActionLabel(onTimeout: string): string {
  return ACTION_WORDS[onTimeout.toUpperCase()] ?? `Auto ${onTimeout.toLowerCase()}`
}

/** "4:59", "1:04:59", "2d 3h": time left, rounded up to the second. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const d = Math.floor(total / 86_400)
  const h = Math.floor((total % 86_400) / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`
  return `${m}:${String(s).padStart(2, '0')}`
}

export interface Countdown {
  text: string
  /** Under a minute left (amber), or the deadline passed while the gate is still open. */
  urgent: boolean
  remainingMs: number | null
}

/** What a pending gate's countdown says at `now`. */
export function countdownOf(gate: Pick<ReviewGate, 'expiresAt' | 'onTimeout'>, now: number): Countdown {
  if (gate.expiresAt === null) return { text: 'Waits forever (no timeout)', urgent: false, remainingMs: null }
  const remainingMs = Date.parse(gate.expiresAt) - now
  const action = timeoutActionLabel(gate.onTimeout)
  if (remainingMs <= 0) return { text: `${action} now…`, urgent: true, remainingMs: 0 }
  return { text: `${action} in ${formatCountdown(remainingMs)}`, urgent: remainingMs < 60_000, remainingMs }
}

const TIMING_WORDS: Record<string, string> = { BEFORE: 'Before the task', DURING: 'During the task', AFTER: 'After the task' }

/** "Before the task", "During the task", "After the task" from BEFORE_EXECUTION etc.; other words as they came. */
export function timingLabel(timing: string): string {
  const head = timing.split('_')[0]?.toUpperCase() ?? ''
  return TIMING_WORDS[head] ?? timing
}

const SURFACE_LABELS: Record<string, string> = {
  'desktop-inbox': 'the desktop inbox',
  'browser-inbox': 'a browser inbox',
  dialog: 'the desktop dialog',
  notification: 'a notification',
  api: 'the review API',
  'hub-browser': 'a browser on the hub',
  timeout: 'the timeout',
  agent: 'the agent'
}

/** "the review API", "a browser inbox", … */
export function surfaceLabel(surface: string): string {
  return SURFACE_LABELS[surface] ?? surface
}

/** Short surface names for tables: "api", "browser-inbox", … */
export const SURFACE_SHORT: Record<string, string> = {
  'desktop-inbox': 'Desktop inbox',
  'browser-inbox': 'Browser inbox',
  dialog: 'Desktop dialog',
  notification: 'Notification',
  api: 'API',
  'hub-browser': 'Hub browser',
  timeout: 'Timeout',
  agent: 'Agent'
}

/**
 * The user's words with the wire word as detail: "Approved (CONTINUE)", "Edited (EDIT)", "Exited early
 * (EXIT_EARLY)", "Timed out · Approved (CONTINUE)", "Closed", "Waiting for a decision".
 */
export function outcomeLabel(gate: Pick<ReviewGate, 'status' | 'outcome'>): string {
  const word = gate.outcome?.decision ?? null
  if (gate.status === 'timed-out') return `Timed out · ${word ? decisionLabel(word) : 'unknown action'}`
  if (gate.status === 'cancelled' || gate.status === 'pending') return describeState(gate.status, 'gate').label
  return word ? decisionLabel(word) : 'Decided'
}

/**
 * The gate tones of the status vocabulary: waiting for a decision amber (someone should act), approved and
 * edited green, exited early "stopped", FAIL red, a timeout "info" (its action applied), closed grey.
 */
export function outcomeToneOf(gate: Pick<ReviewGate, 'status' | 'outcome'>): StatusTone {
  const word = gate.outcome?.decision ?? null
  if (word === 'FAIL') return 'failed'
  if (gate.status !== 'decided' || !word) return describeState(gate.status, 'gate').tone
  return describeState(word, 'gate').tone
}

/**
 * One sentence for a resolved gate: "Decided via the review API: EDIT at 2026-11-22 14:03:07 UTC",
 * "Timed out — CONTINUE applied at …", "Closed at …: the run ended …".
 */
export function outcomeSentence(gate: Pick<ReviewGate, 'status' | 'outcome'>): string {
  const o: ReviewOutcome | null = gate.outcome
  if (!o) return gate.status === 'pending' ? 'Waiting for a decision.' : 'Resolved.'
  const at = formatTimeWithZone(o.decidedAt)
  if (gate.status === 'timed-out') {
    const by = o.surface === 'agent' ? ' by the agent' : ''
    return `Timed out — ${o.decision ? decisionLabel(o.decision) : 'its own action'} applied${by} at ${at}`
  }
  if (gate.status === 'cancelled') return `Closed at ${at}`
  const who = o.decidedBy ? ` by ${o.decidedBy}` : ''
  return `Decided via ${surfaceLabel(o.surface)}${who}: ${decisionLabel(o.decision)} at ${at}`
}

/** Where a gate comes from, for its label: "Review API", "Attached dashboard", "Hub producer". */
export function sourceKindLabel(kind: string): string {
  return kind === 'api' ? 'Review API' : kind === 'hub' ? 'Hub producer' : kind === 'attachment' ? 'Attached dashboard' : kind
}
