// Desktop alerts for review gates (plain Node): OS notifications, the native approval dialog, the tray
// and the dock/taskbar badge. This class holds every rule; `ReviewDesktop` is the thin native surface
// (src/main/desktop/review-desktop.ts implements it with Electron; tests use a fake).
//
// Rules:
//  * one notification per new gate (task + source), unless do-not-disturb is on;
//  * Vigil never stacks notifications: a gate raised within `groupWindowMs` of the last one, or while the
//    last one is still on screen, joins it, and the notification is replaced by "N review gates waiting";
//  * a gate resolved anywhere leaves its notification (withdrawn when nothing is left, otherwise updated
//    silently if still on screen);
//  * clicking brings Vigil forward on the gate (`#/reviews/<id>`), or on the inbox (`#/reviews`) when grouped;
//  * the badge and the tray always show the pending count, do-not-disturb or not, after every event;
//  * the approval dialog decides through the coordinator with surface "dialog"; a conflict (decided
//    elsewhere meanwhile) or an unreachable agent is told to the user, never thrown.
import { ApiError } from '../../shared/api/errors'
import type { ReviewGate } from '../../shared/model/reviews'
import type { ReviewCoordinator, ReviewGateEvent } from './review-coordinator'

/** A notification on screen; `close()` withdraws it (a no-op once it is gone). */
export interface NotificationHandle {
  close(): void
}

export interface NotifyExtras {
  /** No sound: the notification is an update of one already shown, or Vigil has the focus. */
  silent?: boolean
  /** A button on the notification (macOS shows it; elsewhere the click does the job). */
  action?: { label: string; run: () => void }
  /** The user or the OS dismissed it (not reported on every platform). */
  onDismissed?: () => void
}

export type DecisionChoice = 'approve' | 'edit' | 'exit' | 'cancel'

export interface TrayState {
  pending: number
  doNotDisturb: boolean
  /** The most urgent pending gate (what "Review next gate…" opens). */
  nextGate: ReviewGate | null
}

/** What the tray, the app menu and the notification buttons can ask for. */
export interface ReviewActions {
  reviewNext(): void
  openInbox(): void
  setDoNotDisturb(enabled: boolean): void
}

/** The native surface the alerts drive. Every method must be safe to call at any time. */
export interface ReviewDesktop {
  notify(title: string, body: string, onClick: () => void, extras?: NotifyExtras): NotificationHandle
  /** Approve / Edit… / Exit Early / Cancel. `signal` closes the dialog as cancelled (the gate was resolved elsewhere). */
  showDecisionDialog(gate: ReviewGate, signal?: AbortSignal): Promise<DecisionChoice>
  /** "Stop this agent early?" Resolves false on cancel or when `signal` aborts. */
  confirmExit(gate: ReviewGate, signal?: AbortSignal): Promise<boolean>
  showInfo(message: string): Promise<void>
  /** Dock / taskbar badge; 0 clears it. */
  setBadgeCount(count: number): void
  /** Tray icon, tooltip and menu (and the app menu's review items). Called after every change. */
  setTray(state: TrayState, actions: ReviewActions): void
  /** Shows and focuses the main window (creating it if needed), then navigates it to `route` if given. */
  focusWindow(route?: string): void
  isWindowFocused(): boolean
}

/** The part of the coordinator the alerts use. */
export type ReviewSource = Pick<ReviewCoordinator, 'onEvent' | 'pending' | 'get' | 'decide' | 'isDoNotDisturb' | 'setDoNotDisturb'>

export interface ReviewAlertsOptions {
  coordinator: ReviewSource
  desktop: ReviewDesktop
  now?: () => number
  /** Gates raised within this long of the last notification join it. Default 10 s. */
  groupWindowMs?: number
  /** A new notification waits this long for more gates of the same burst. Default 250 ms. */
  gatherMs?: number
  /** A shown notification is replaced at most this often. Default 1 s. */
  minReplaceMs?: number
}

export const INBOX_ROUTE = '#/reviews'
export function gateRoute(id: string, edit = false): string {
  return `${INBOX_ROUTE}/${encodeURIComponent(id)}${edit ? '?edit=1' : ''}`
}

interface Shown {
  handle: NotificationHandle
  /** Pending gates the notification stands for, in arrival order. */
  gateIds: string[]
  shownAt: number
  dismissed: boolean
}

export class ReviewAlerts {
  private readonly coordinator: ReviewSource
  private readonly desktop: ReviewDesktop
  private readonly now: () => number
  private readonly groupWindowMs: number
  private readonly gatherMs: number
  private readonly minReplaceMs: number
  private unsubscribe: (() => void) | null = null
  /** Raised, not yet in a notification. */
  private fresh: string[] = []
  private shown: Shown | null = null
  private flushTimer: NodeJS.Timeout | null = null
  private dialog: { gateId: string; abort: AbortController } | null = null
  readonly actions: ReviewActions

  constructor(opts: ReviewAlertsOptions) {
    this.coordinator = opts.coordinator
    this.desktop = opts.desktop
    this.now = opts.now ?? Date.now
    this.groupWindowMs = opts.groupWindowMs ?? 10_000
    this.gatherMs = opts.gatherMs ?? 250
    this.minReplaceMs = opts.minReplaceMs ?? 1000
    this.actions = {
      reviewNext: () => void this.reviewNext(),
      openInbox: () => this.openInbox(),
      setDoNotDisturb: (enabled) => this.setDoNotDisturb(enabled)
    }
  }

  /** Subscribes and shows the current count. Gates already pending are counted, not notified. */
  start(): this {
    if (this.unsubscribe) return this
    this.unsubscribe = this.coordinator.onEvent((event) => this.onEvent(event))
    this.refresh()
    return this
  }

  stop(): void {
    this.unsubscribe?.()
    this.unsubscribe = null
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = null
    this.fresh = []
    this.withdraw()
    this.dialog?.abort.abort()
  }

  openInbox(): void {
    this.desktop.focusWindow(INBOX_ROUTE)
  }

  openGate(id: string, edit = false): void {
    this.desktop.focusWindow(gateRoute(id, edit))
  }

  setDoNotDisturb(enabled: boolean): void {
    this.coordinator.setDoNotDisturb(enabled)
  }

  /**
   * The native approval dialog for `gateId`, or the most urgent pending gate. One dialog at a time; never
   * rejects (whatever goes wrong is shown to the user).
   */
  async reviewNext(gateId?: string): Promise<void> {
    if (this.dialog) {
      // One dialog at a time: bring forward the window the open one belongs to.
      this.guard(() => this.desktop.focusWindow())
      return
    }
    let gate: ReviewGate | undefined
    try {
      gate = gateId === undefined ? this.coordinator.pending()[0] : this.coordinator.get(gateId)
    } catch (err) {
      return this.info(messageOf(err))
    }
    if (!gate) return this.info('No review gates are waiting.')
    if (gate.status !== 'pending') return this.info(resolvedMessage(gate))

    const abort = new AbortController()
    const dialog = { gateId: gate.id, abort }
    this.dialog = dialog
    try {
      const choice = await this.desktop.showDecisionDialog(gate, abort.signal)
      if (choice === 'cancel') return await this.explainAbort(abort.signal, gate.id)
      if (choice === 'edit') return this.openGate(gate.id, true)
      if (choice === 'exit' && !(await this.desktop.confirmExit(gate, abort.signal))) return await this.explainAbort(abort.signal, gate.id)
      this.coordinator.decide(gate.id, { decision: choice === 'approve' ? 'CONTINUE' : 'EXIT_EARLY', surface: 'dialog' })
    } catch (err) {
      await this.info(messageOf(err))
    } finally {
      if (this.dialog === dialog) this.dialog = null
    }
  }

  // -------------------------------------------------------------------------------------------

  private onEvent(event: ReviewGateEvent): void {
    switch (event.type) {
      case 'raised':
        if (!this.coordinator.isDoNotDisturb) {
          this.fresh.push(event.gate.id)
          this.scheduleFlush()
        }
        break
      case 'resolved':
        if (this.dialog?.gateId === event.gate.id) this.dialog.abort.abort()
        this.fresh = this.fresh.filter((id) => id !== event.gate.id)
        if (this.shown?.gateIds.includes(event.gate.id)) this.scheduleFlush()
        break
      case 'settings':
        if (this.coordinator.isDoNotDisturb) {
          this.fresh = []
          this.withdraw()
        }
        break
      case 'updated':
        break
    }
    this.refresh()
  }

  /** Badge, tray and menu: the pending count, always. */
  private refresh(): void {
    const pending = this.coordinator.pending()
    const state: TrayState = { pending: pending.length, doNotDisturb: this.coordinator.isDoNotDisturb, nextGate: pending[0] ?? null }
    this.guard(() => this.desktop.setBadgeCount(pending.length))
    this.guard(() => this.desktop.setTray(state, this.actions))
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return
    const now = this.now()
    const shown = this.shown
    const notBefore = shown && !shown.dismissed ? shown.shownAt + this.minReplaceMs : now
    const delay = Math.max(this.gatherMs, notBefore - now)
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null
      this.guard(() => this.flush())
    }, delay)
    this.flushTimer.unref?.()
  }

  private flush(): void {
    const pendingIds = new Set(this.coordinator.pending().map((g) => g.id))
    const fresh = unique(this.fresh.filter((id) => pendingIds.has(id)))
    this.fresh = []
    const prev = this.shown
    const joins = prev !== null && (!prev.dismissed || this.now() - prev.shownAt < this.groupWindowMs)
    const carried = joins ? prev.gateIds.filter((id) => pendingIds.has(id) && !fresh.includes(id)) : []
    const ids = [...carried, ...fresh]

    if (ids.length === 0) {
      // Everything it stood for is resolved: withdraw it.
      if (prev && (joins || prev.gateIds.every((id) => !pendingIds.has(id)))) this.withdraw()
      return
    }
    if (fresh.length === 0 && prev) {
      // Only resolutions: update what is still on screen, silently; leave a dismissed one alone.
      if (sameIds(prev.gateIds, ids)) return
      if (prev.dismissed) {
        prev.gateIds = ids
        return
      }
    }
    this.show(ids, fresh.length === 0 || this.desktop.isWindowFocused())
  }

  private show(ids: string[], silent: boolean): void {
    const gates = ids.flatMap((id) => {
      try {
        return [this.coordinator.get(id)]
      } catch {
        return []
      }
    })
    if (gates.length === 0) return this.withdraw()
    const { title, body } = notificationText(gates, this.now())
    const single = gates.length === 1 ? gates[0]! : null
    const record: Shown = { handle: { close() {} }, gateIds: gates.map((g) => g.id), shownAt: this.now(), dismissed: false }
    const onClick = () => {
      // A clicked notification is gone (closing it again is harmless); the next gate starts a new one.
      if (this.shown === record) this.withdraw()
      if (single) this.openGate(single.id)
      else this.openInbox()
    }
    this.withdraw()
    record.handle = this.desktop.notify(title, body, onClick, {
      silent,
      action: { label: 'Review…', run: () => void this.reviewNext(single?.id) },
      onDismissed: () => {
        record.dismissed = true
      }
    })
    this.shown = record
  }

  private withdraw(): void {
    const shown = this.shown
    this.shown = null
    if (shown) this.guard(() => shown.handle.close())
  }

  /** A dialog closed because its gate was resolved elsewhere would just vanish: say why. */
  private async explainAbort(signal: AbortSignal, gateId: string): Promise<void> {
    if (!signal.aborted) return
    const gate = this.coordinator.get(gateId)
    if (gate.status !== 'pending') await this.info(resolvedMessage(gate))
  }

  private async info(message: string): Promise<void> {
    try {
      await this.desktop.showInfo(message)
    } catch (err) {
      console.error('vigil: could not show a review message:', err)
    }
  }

  private guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      console.error('vigil: a review alert failed:', err)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Text (shared by the Electron adapter so the tests see what the user sees).

/** Plain text, control characters removed, runs of blank lines folded, cut at a word near `max`. */
export function excerpt(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '').replace(/\n{3,}/g, '\n\n').trim()
  if (clean.length <= max) return clean
  const cut = clean.slice(0, max)
  const space = cut.search(/\s\S*$/)
  return `${(space > max * 0.8 ? cut.slice(0, space) : cut).trimEnd()}…`
}

function oneLine(text: string, max: number): string {
  return excerpt(text.replace(/\s+/g, ' '), max)
}

/** "in 4 min" / "in 30 s" / "now", for a gate's deadline. */
export function dueIn(expiresAt: string | null, now: number): string | null {
  if (expiresAt === null) return null
  const ms = Date.parse(expiresAt) - now
  if (Number.isNaN(ms)) return null
  if (ms <= 0) return 'now'
  if (ms < 60_000) return `in ${Math.ceil(ms / 1000)} s`
  if (ms < 90 * 60_000) return `in ${Math.round(ms / 60_000)} min`
  return `in ${Math.round(ms / 3_600_000)} h`
}

function deadlineLine(gate: ReviewGate, now: number): string | null {
  const due = dueIn(gate.expiresAt, now)
  return due ? `Applies ${gate.onTimeout} ${due} if nobody decides.` : null
}

export function notificationText(gates: readonly ReviewGate[], now: number): { title: string; body: string } {
  if (gates.length === 1) {
    const gate = gates[0]!
    const lines = [oneLine(gate.taskDescription, 160) || '(no task description)', deadlineLine(gate, now)].filter((l) => l !== null)
    return { title: `Review needed · ${oneLine(gate.source.label, 60)}`, body: lines.join('\n') }
  }
  const shown = gates.slice(-3).reverse()
  const lines = shown.map((g) => `• ${oneLine(g.taskDescription, 70) || '(no task description)'} — ${oneLine(g.source.label, 30)}`)
  if (gates.length > shown.length) lines.push(`and ${gates.length - shown.length} more`)
  return { title: `${gates.length} review gates waiting`, body: lines.join('\n') }
}

/** The approval dialog's text: the task as the message; source, deadline, prompt and ~600 characters of output as detail. */
export function decisionDialogText(gate: ReviewGate, now: number): { title: string; message: string; detail: string } {
  const output = excerpt(gate.taskOutput, 600)
  const more = gate.taskOutput.length > output.length ? `\n\n(The output is longer: Edit… shows all of it.)` : ''
  const detail = [
    `From ${oneLine(gate.source.label, 80)}${gate.connected ? '' : ' (not connected right now: a decision cannot reach it)'}`,
    deadlineLine(gate, now),
    gate.prompt ? `Prompt: ${oneLine(gate.prompt, 200)}` : null,
    '',
    output ? `Output:\n${output}${more}` : 'No output.'
  ].filter((l) => l !== null)
  return { title: 'Review gate', message: oneLine(gate.taskDescription, 300) || 'Review gate', detail: detail.join('\n') }
}

export function exitConfirmText(gate: ReviewGate): { message: string; detail: string } {
  return {
    message: 'Stop this agent early?',
    detail: `"${oneLine(gate.taskDescription, 120)}" from ${oneLine(gate.source.label, 60)} will receive EXIT_EARLY and stop. This cannot be undone.`
  }
}

export function trayTooltip(state: TrayState): string {
  const count = state.pending === 0 ? 'no review gates waiting' : state.pending === 1 ? '1 review gate waiting' : `${state.pending} review gates waiting`
  return `Vigil — ${count}${state.doNotDisturb ? ' (do not disturb)' : ''}`
}

/** Why a dialog for `gate` no longer applies. */
function resolvedMessage(gate: ReviewGate): string {
  const o = gate.outcome
  const how = gate.status === 'timed-out' ? 'timed out' : gate.status === 'cancelled' ? 'closed' : 'decided'
  const what = o?.decision ? ` (${o.decision} via ${o.surface}${o.decidedBy ? ` by ${o.decidedBy}` : ''})` : ''
  return `"${oneLine(gate.taskDescription, 80)}" was already ${how}${what}. Nothing was changed here.`
}

function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message
  return `The decision could not be made: ${err instanceof Error ? err.message : String(err)}`
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)]
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}
