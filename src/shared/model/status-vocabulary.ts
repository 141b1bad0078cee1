import type { AttachmentState, StoreLiveness, StoreState } from './sources'
import type { DelegationStatus, RunStatus, TaskStatus } from './live'
import type { DisplayStatus } from './perspt'
import type { NodeState } from './perspt-views'
import type { OverviewStatus, SourceHealth } from './overview'
import type { ReviewGateStatus } from './reviews'

// Vigil's one status vocabulary: every state Vigil shows, with the tone it is drawn in and the words a
// person reads. Tones are colours with one meaning each (src/renderer/styles/tokens.css holds their light
// and dark values; docs/design.md shows them). Amber ("attention") means only "someone should act now".

/** The semantic tones. Each has a text/line colour and a background in both themes (tokens.css). */
export const TONES = ['running', 'done', 'failed', 'stopped', 'attention', 'waiting', 'idle', 'info'] as const
export type Tone = (typeof TONES)[number]

/** What each tone means, for the design doc and the legend. */
export const TONE_MEANING: Record<Tone, string> = {
  running: 'Work is happening now.',
  done: 'Finished as intended, or healthy.',
  failed: 'Ended in an error.',
  stopped: 'Ended early on purpose (aborted, exited early): not an error.',
  attention: 'Someone should act now: a decision waits, an escalation, a deadline close, recording paused.',
  waiting: 'On hold for something outside the agent: reconnecting, paused, not heard from lately.',
  idle: 'Not started, or nothing happening: queued, pending, unknown.',
  info: 'A neutral fact worth noticing: partly done, flushed, superseded, timed out with its action applied.'
}

export interface StateWord {
  tone: Tone
  /** What a person reads, in sentence case. */
  label: string
}

const w = (tone: Tone, label: string): StateWord => ({ tone, label })

/** Every state Vigil shows, by where it comes from. Keys are the words as Vigil's model spells them (lower case). */
export const STATUS_VOCABULARY = {
  /** A Perspt session (DisplayStatus, shared/model/perspt.ts). */
  session: {
    running: w('running', 'Running'),
    completed: w('done', 'Completed'),
    partial: w('info', 'Partial'),
    failed: w('failed', 'Failed'),
    aborted: w('stopped', 'Aborted'),
    stale: w('waiting', 'Stale'),
    paused: w('waiting', 'Paused'),
    pending: w('idle', 'Pending'),
    unknown: w('idle', 'Unknown')
  },
  /** A node of a Perspt plan (NodeState, shared/model/perspt-views.ts). */
  node: {
    committed: w('done', 'Committed'),
    running: w('running', 'Running'),
    failed: w('failed', 'Failed'),
    escalated: w('attention', 'Escalated'),
    queued: w('idle', 'Queued')
  },
  /** An AgentEnsemble run as Vigil shows it (RunStatus plus what the page knows: shared/model/live.ts, overview.ts). */
  run: {
    running: w('running', 'Running'),
    completed: w('done', 'Completed'),
    failed: w('failed', 'Failed'),
    aborted: w('stopped', 'Aborted'),
    waiting: w('attention', 'Waiting for review'),
    incomplete: w('idle', 'Ended without completion'),
    stale: w('waiting', 'Stale'),
    disconnected: w('waiting', 'Disconnected')
  },
  /** A task of a run, and a delegation between agents (TaskStatus, DelegationStatus). */
  task: {
    pending: w('idle', 'Pending'),
    running: w('running', 'Running'),
    completed: w('done', 'Completed'),
    failed: w('failed', 'Failed'),
    aborted: w('stopped', 'Aborted')
  },
  /** A Perspt store or an attached dashboard (StoreState, StoreLiveness, AttachmentState, SourceHealth). */
  source: {
    loading: w('waiting', 'Loading'),
    ready: w('done', 'Ready'),
    live: w('done', 'Live'),
    idle: w('idle', 'Idle'),
    error: w('failed', 'Error'),
    connecting: w('waiting', 'Connecting'),
    connected: w('done', 'Connected'),
    reconnecting: w('waiting', 'Reconnecting'),
    closed: w('failed', 'Closed'),
    disconnected: w('waiting', 'Disconnected'),
    left: w('idle', 'Left'),
    ok: w('done', 'OK'),
    warning: w('attention', 'Needs a look'),
    unknown: w('idle', 'Unknown')
  },
  /** A review gate (ReviewGateStatus) and how it was resolved (its decision word on the wire: CONTINUE, EDIT, EXIT_EARLY, FAIL). */
  gate: {
    pending: w('attention', 'Waiting for a decision'),
    continue: w('done', 'Approved'),
    edit: w('done', 'Edited'),
    'exit early': w('stopped', 'Exited early'),
    fail: w('failed', 'Failed'),
    'timed-out': w('info', 'Timed out'),
    cancelled: w('idle', 'Closed'),
    decided: w('done', 'Decided')
  },
  /** A tool call's outcome (AgentEnsemble tool_called). */
  tool: {
    success: w('done', 'Success'),
    failure: w('failed', 'Failure'),
    unknown: w('idle', 'Unknown')
  },
  /** An OpenTelemetry span's status (OTLP Status.code; a span without one finished without saying how). */
  span: {
    ok: w('done', 'OK'),
    error: w('failed', 'Error'),
    unset: w('done', 'Finished')
  },
  /** A file a task changed. */
  file: {
    created: w('done', 'Created'),
    modified: w('info', 'Modified'),
    deleted: w('idle', 'Deleted'),
    changed: w('idle', 'Changed')
  },
  /** Vigil's own recording of live events (RecordingStatus). */
  recording: {
    recording: w('done', 'Recording'),
    'disk full': w('attention', 'Recording paused'),
    off: w('failed', 'Not recording'),
    'memory only': w('info', 'Kept in memory only')
  },
  /** Outcome words of Perspt's decision, sandbox and LLM records (verifications, branches, rewrites, reviews). */
  outcome: {
    passed: w('done', 'Passed'),
    ok: w('done', 'OK'),
    accepted: w('done', 'Accepted'),
    approved: w('done', 'Approved'),
    'auto approved': w('done', 'Auto-approved'),
    merged: w('done', 'Merged'),
    sealed: w('done', 'Sealed'),
    resolved: w('done', 'Resolved'),
    committed: w('done', 'Committed'),
    active: w('running', 'Active'),
    running: w('running', 'Running'),
    failed: w('failed', 'Failed'),
    rejected: w('failed', 'Rejected'),
    error: w('failed', 'Error'),
    aborted: w('stopped', 'Aborted'),
    cancelled: w('idle', 'Cancelled'),
    escalated: w('attention', 'Escalated'),
    'correction requested': w('attention', 'Correction requested'),
    unresolved: w('attention', 'Unresolved'),
    open: w('attention', 'Open'),
    degraded: w('waiting', 'Degraded'),
    retry: w('waiting', 'Retrying'),
    flushed: w('info', 'Flushed'),
    superseded: w('info', 'Superseded'),
    rewrite: w('info', 'Rewritten')
  }
} as const satisfies Record<string, Record<string, StateWord>>

// Every state the model can hold has an entry: a new state word fails to compile until it has a tone and a label.
const _coverage: {
  session: Record<DisplayStatus, StateWord>
  node: Record<NodeState, StateWord>
  run: Record<Exclude<OverviewStatus, DisplayStatus> | RunStatus, StateWord>
  task: Record<TaskStatus | DelegationStatus, StateWord>
  source: Record<StoreState | StoreLiveness | AttachmentState | SourceHealth, StateWord>
  gate: Record<ReviewGateStatus | 'continue' | 'edit' | 'exit early' | 'fail', StateWord>
} = STATUS_VOCABULARY
void _coverage

export type StatusDomain = keyof typeof STATUS_VOCABULARY

/**
 * Where a bare word (no domain given) is looked up, in order. Gate words come last: a gate's "pending"
 * needs a person (amber), a task's "pending" does not (grey), so gates always name their domain.
 */
const LOOKUP_ORDER: StatusDomain[] = ['session', 'run', 'task', 'node', 'source', 'recording', 'tool', 'file', 'outcome', 'span', 'gate']

const FLAT = new Map<string, StateWord>()
for (const domain of LOOKUP_ORDER) {
  for (const [word, entry] of Object.entries(STATUS_VOCABULARY[domain])) if (!FLAT.has(word)) FLAT.set(word, entry)
}

const key = (word: string) => word.trim().toLowerCase().replace(/_/g, ' ')

/** The tone and label of a state word; unknown words are idle and keep their own spelling, capitalised. */
export function describeState(word: string | null | undefined, domain?: StatusDomain): StateWord {
  const k = key(word ?? '')
  const table: Record<string, StateWord> | undefined = domain ? STATUS_VOCABULARY[domain] : undefined
  const found = table?.[k] ?? table?.[k.replace(/ /g, '-')] ?? FLAT.get(k) ?? FLAT.get(k.replace(/ /g, '-'))
  if (found) return found
  const raw = (word ?? '').trim()
  return { tone: 'idle', label: raw === '' ? 'Unknown' : raw.charAt(0).toUpperCase() + raw.slice(1).toLowerCase().replace(/_/g, ' ') }
}

export function toneOf(word: string | null | undefined, domain?: StatusDomain): Tone {
  return describeState(word, domain).tone
}

export function stateLabel(word: string | null | undefined, domain?: StatusDomain): string {
  return describeState(word, domain).label
}

/** The user's words for a review decision, with the wire word kept as detail: "Approved (CONTINUE)". */
export const DECISION_LABELS: Record<string, string> = {
  CONTINUE: 'Approved',
  EDIT: 'Edited',
  EXIT_EARLY: 'Exited early',
  FAIL: 'Failed'
}

/** "Approved (CONTINUE)", "Exited early (EXIT_EARLY)"; an unknown word is shown as it came. */
export function decisionLabel(wire: string | null | undefined, withWire = true): string {
  if (!wire) return 'No decision'
  const words = DECISION_LABELS[wire.toUpperCase()]
  if (!words) return wire
  return withWire ? `${words} (${wire.toUpperCase()})` : words
}
