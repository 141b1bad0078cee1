// Review alerts on the desktop, driven by a real ReviewCoordinator through a fake ReviewDesktop that
// records every call (the Electron adapter behind the same interface is only type-checked here).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ReviewGate } from '../../../src/shared/model/reviews'
import { ReviewCoordinator } from '../../../src/main/reviews/review-coordinator'
import {
  decisionDialogText,
  excerpt,
  notificationText,
  ReviewAlerts,
  trayTooltip,
  type DecisionChoice,
  type NotificationHandle,
  type NotifyExtras,
  type ReviewActions,
  type ReviewDesktop,
  type TrayState
} from '../../../src/main/reviews/review-alerts'

const T0 = Date.parse('2026-11-22T10:00:00.000Z')

interface Shown {
  title: string
  body: string
  onClick: () => void
  extras: NotifyExtras
  closed: boolean
}

interface OpenDialog {
  kind: 'decision' | 'confirm'
  gate: ReviewGate
  signal?: AbortSignal
  answer(choice: DecisionChoice | boolean): void
}

class FakeDesktop implements ReviewDesktop {
  notifications: Shown[] = []
  badges: number[] = []
  trays: TrayState[] = []
  actions: ReviewActions | null = null
  routes: (string | undefined)[] = []
  infos: string[] = []
  dialogs: OpenDialog[] = []
  focused = false
  /** Answer dialogs at once with these (in order); when empty, dialogs wait for `answer()`. */
  decisions: DecisionChoice[] = []
  confirms: boolean[] = []
  /** Like Electron with a parent window: an aborted signal closes the dialog as cancelled. */
  honorSignal = false

  notify(title: string, body: string, onClick: () => void, extras: NotifyExtras = {}): NotificationHandle {
    const shown: Shown = { title, body, onClick, extras, closed: false }
    this.notifications.push(shown)
    return { close: () => void (shown.closed = true) }
  }
  showDecisionDialog(gate: ReviewGate, signal?: AbortSignal): Promise<DecisionChoice> {
    return this.open('decision', gate, this.decisions.shift(), signal) as Promise<DecisionChoice>
  }
  confirmExit(gate: ReviewGate, signal?: AbortSignal): Promise<boolean> {
    return this.open('confirm', gate, this.confirms.shift(), signal) as Promise<boolean>
  }
  async showInfo(message: string): Promise<void> {
    this.infos.push(message)
  }
  setBadgeCount(count: number): void {
    this.badges.push(count)
  }
  setTray(state: TrayState, actions: ReviewActions): void {
    this.trays.push(state)
    this.actions = actions
  }
  focusWindow(route?: string): void {
    this.routes.push(route)
  }
  isWindowFocused(): boolean {
    return this.focused
  }

  get open_(): Shown[] {
    return this.notifications.filter((n) => !n.closed)
  }
  get badge(): number | undefined {
    return this.badges.at(-1)
  }
  get tray(): TrayState | undefined {
    return this.trays.at(-1)
  }

  private open(kind: OpenDialog['kind'], gate: ReviewGate, preset: DecisionChoice | boolean | undefined, signal?: AbortSignal): Promise<DecisionChoice | boolean> {
    return new Promise((resolve) => {
      const cancelled = kind === 'decision' ? 'cancel' : false
      const dialog: OpenDialog = { kind, gate, signal, answer: (choice) => resolve(signal?.aborted && this.honorSignal ? cancelled : choice) }
      this.dialogs.push(dialog)
      if (this.honorSignal) signal?.addEventListener('abort', () => resolve(cancelled))
      if (preset !== undefined) resolve(preset)
    })
  }
}

function setup(opts: { reachable?: boolean; start?: boolean } = {}) {
  let reachable = opts.reachable ?? true
  const delivered: string[] = []
  const coordinator = new ReviewCoordinator({
    delivery: {
      toAttachment: (_sourceId, reviewId, decision) => {
        if (!reachable) return false
        delivered.push(`${reviewId}:${decision}`)
        return true
      },
      toHubProducer: () => reachable
    },
    labelOf: (id) => (id === 'attach-1' ? 'Agent box' : undefined)
  })
  const desktop = new FakeDesktop()
  const alerts = new ReviewAlerts({ coordinator, desktop })
  if (opts.start !== false) alerts.start()
  let n = 0
  const raise = (extra: { task?: string; output?: string; timeoutMs?: number; source?: string } = {}) =>
    coordinator.create({
      taskDescription: extra.task ?? `Task ${++n}`,
      taskOutput: extra.output ?? 'Some output',
      timeoutMs: extra.timeoutMs ?? 0,
      onTimeout: 'CONTINUE',
      source: extra.source ?? 'deploy-bot'
    })
  return { coordinator, desktop, alerts, raise, delivered, setReachable: (r: boolean) => (reachable = r) }
}

/** Lets the dialog flow's awaits run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('ReviewAlerts: notifications', () => {
  it('notifies each new gate with its task and source', () => {
    const { desktop, raise } = setup()
    const a = raise({ task: 'Deploy v2 to staging', source: 'deploy-bot', timeoutMs: 5 * 60_000 })
    expect(desktop.notifications).toHaveLength(0) // a burst may follow: wait a moment
    vi.advanceTimersByTime(250)
    expect(desktop.notifications).toHaveLength(1)
    expect(desktop.notifications[0]).toMatchObject({ title: 'Review needed · deploy-bot', closed: false })
    expect(desktop.notifications[0]!.body).toBe('Deploy v2 to staging\nApplies CONTINUE in 5 min if nobody decides.')
    expect(desktop.notifications[0]!.extras.silent).toBe(false)

    // The OS took the first one away; a gate a while later gets its own notification.
    desktop.notifications[0]!.extras.onDismissed?.()
    vi.advanceTimersByTime(30_000)
    const b = raise({ task: 'Merge the refactor', source: 'ci' })
    vi.advanceTimersByTime(250)
    expect(desktop.notifications).toHaveLength(2)
    expect(desktop.notifications[1]).toMatchObject({ title: 'Review needed · ci', body: 'Merge the refactor' })
    expect(desktop.open_).toHaveLength(1) // never stacked
    expect([a.id, b.id].every((id) => typeof id === 'string')).toBe(true)
  })

  it('groups a burst into one notification "N review gates waiting", replaced rather than stacked', () => {
    const { desktop, raise } = setup()
    // Raised in one go (a hub replay): one notification.
    for (let i = 0; i < 4; i++) raise()
    vi.advanceTimersByTime(250)
    expect(desktop.notifications).toHaveLength(1)
    expect(desktop.notifications[0]!.title).toBe('4 review gates waiting')
    expect(desktop.notifications[0]!.body).toBe('• Task 4 — deploy-bot\n• Task 3 — deploy-bot\n• Task 2 — deploy-bot\nand 1 more')

    // More close together: the same notification is replaced with the new count.
    vi.advanceTimersByTime(2000)
    raise()
    vi.advanceTimersByTime(1000)
    raise()
    raise()
    vi.advanceTimersByTime(5000)
    expect(desktop.open_).toHaveLength(1)
    expect(desktop.open_[0]!.title).toBe('7 review gates waiting')
    // Replacements are throttled: at most one a second, so not one per gate.
    expect(desktop.notifications.length).toBeLessThanOrEqual(3)
  })

  it('groups a gate raised after the window while the last notification is still on screen', () => {
    const { desktop, raise } = setup()
    raise({ task: 'First' })
    vi.advanceTimersByTime(60_000)
    raise({ task: 'Second' })
    vi.advanceTimersByTime(1000)
    expect(desktop.open_).toHaveLength(1)
    expect(desktop.open_[0]!.title).toBe('2 review gates waiting')
    expect(desktop.notifications[0]!.closed).toBe(true)
  })

  it('groups within 10 s even after the OS dismissed the toast, and not after', () => {
    const { desktop, raise } = setup()
    raise()
    vi.advanceTimersByTime(250)
    desktop.notifications[0]!.extras.onDismissed?.()
    vi.advanceTimersByTime(3000)
    raise()
    vi.advanceTimersByTime(250)
    expect(desktop.notifications.at(-1)!.title).toBe('2 review gates waiting')
    desktop.notifications.at(-1)!.extras.onDismissed?.()
    vi.advanceTimersByTime(15_000)
    raise({ task: 'Later' })
    vi.advanceTimersByTime(250)
    expect(desktop.notifications.at(-1)).toMatchObject({ title: 'Review needed · deploy-bot', body: 'Later' })
  })

  it('clicking brings Vigil forward on the gate, or on the inbox when grouped', () => {
    const { desktop, raise } = setup()
    const a = raise()
    vi.advanceTimersByTime(250)
    desktop.notifications[0]!.onClick()
    expect(desktop.routes).toEqual([`#/reviews/${a.id}`])
    expect(desktop.notifications[0]!.closed).toBe(true)

    // The clicked notification is gone: the next gate starts a new one, then a burst groups.
    raise()
    vi.advanceTimersByTime(250)
    expect(desktop.notifications).toHaveLength(2)
    expect(desktop.notifications[1]!.title).toBe('Review needed · deploy-bot')
    raise()
    vi.advanceTimersByTime(1000)
    expect(desktop.open_[0]!.title).toBe('2 review gates waiting')
    desktop.open_[0]!.onClick()
    expect(desktop.routes.at(-1)).toBe('#/reviews')
  })

  it('withdraws the notification of a gate resolved elsewhere, and updates a group silently', () => {
    const { coordinator, desktop, raise } = setup()
    const a = raise()
    vi.advanceTimersByTime(250)
    coordinator.decide(a.id, { decision: 'CONTINUE', surface: 'api' })
    vi.advanceTimersByTime(1000)
    expect(desktop.notifications[0]!.closed).toBe(true)
    expect(desktop.open_).toHaveLength(0)

    const [b, c, d] = [raise(), raise(), raise()]
    vi.advanceTimersByTime(250)
    expect(desktop.open_[0]!.title).toBe('3 review gates waiting')
    coordinator.decide(b.id, { decision: 'CONTINUE', surface: 'browser-inbox' })
    vi.advanceTimersByTime(1000)
    expect(desktop.open_).toHaveLength(1)
    expect(desktop.open_[0]).toMatchObject({ title: '2 review gates waiting' })
    expect(desktop.open_[0]!.extras.silent).toBe(true)
    coordinator.decide(c.id, { decision: 'CONTINUE', surface: 'browser-inbox' })
    vi.advanceTimersByTime(1000)
    // One left: it reads as that gate again, and a click opens it.
    expect(desktop.open_[0]!.title).toBe('Review needed · deploy-bot')
    desktop.open_[0]!.onClick()
    expect(desktop.routes.at(-1)).toBe(`#/reviews/${d.id}`)
  })

  it('does not notify a gate resolved before its notification was due', () => {
    const { coordinator, desktop, raise } = setup()
    const a = raise()
    coordinator.decide(a.id, { decision: 'CONTINUE', surface: 'api' })
    vi.advanceTimersByTime(5000)
    expect(desktop.notifications).toHaveLength(0)
  })

  it('is silent while Vigil has the focus', () => {
    const { desktop, raise } = setup()
    desktop.focused = true
    raise()
    vi.advanceTimersByTime(250)
    expect(desktop.notifications[0]!.extras.silent).toBe(true)
  })

  it('in do-not-disturb shows no notification, while badge and tray still count', () => {
    const { coordinator, desktop, raise } = setup()
    raise()
    vi.advanceTimersByTime(250)
    expect(desktop.open_).toHaveLength(1)
    desktop.actions!.setDoNotDisturb(true)
    expect(coordinator.isDoNotDisturb).toBe(true)
    expect(desktop.open_).toHaveLength(0) // turning it on withdraws what is showing
    raise()
    raise()
    vi.advanceTimersByTime(60_000)
    expect(desktop.notifications).toHaveLength(1)
    expect(desktop.badge).toBe(3)
    expect(desktop.tray).toMatchObject({ pending: 3, doNotDisturb: true })

    desktop.actions!.setDoNotDisturb(false)
    expect(desktop.tray).toMatchObject({ pending: 3, doNotDisturb: false })
    raise()
    vi.advanceTimersByTime(250)
    expect(desktop.notifications).toHaveLength(2)
  })

  it('the tray reflects do-not-disturb set elsewhere (inbox, API)', () => {
    const { coordinator, desktop } = setup()
    expect(desktop.tray).toMatchObject({ pending: 0, doNotDisturb: false, nextGate: null })
    coordinator.setDoNotDisturb(true)
    expect(desktop.tray!.doNotDisturb).toBe(true)
    coordinator.setDoNotDisturb(false)
    expect(desktop.tray!.doNotDisturb).toBe(false)
  })
})

describe('ReviewAlerts: badge and tray', () => {
  it('follow raise, decide and timeout', () => {
    const { coordinator, desktop, raise } = setup()
    expect(desktop.badge).toBe(0)
    const a = raise({ task: 'Soon', timeoutMs: 30_000 })
    expect(desktop.badge).toBe(1)
    const b = raise({ task: 'Whenever' })
    expect(desktop.badge).toBe(2)
    expect(desktop.tray).toMatchObject({ pending: 2, doNotDisturb: false })
    expect(desktop.tray!.nextGate!.id).toBe(a.id) // the most urgent first
    coordinator.decide(b.id, { decision: 'EXIT_EARLY', surface: 'api' })
    expect(desktop.badge).toBe(1)
    vi.advanceTimersByTime(30_000)
    expect(coordinator.get(a.id).status).toBe('timed-out')
    expect(desktop.badge).toBe(0)
    expect(desktop.tray).toMatchObject({ pending: 0, nextGate: null })
  })

  it('counts gates already pending at start without notifying them', () => {
    const { coordinator, desktop, alerts } = setup({ start: false })
    coordinator.create({ taskDescription: 'Old', taskOutput: '', timeoutMs: 0, onTimeout: 'CONTINUE' })
    alerts.start()
    vi.advanceTimersByTime(5000)
    expect(desktop.badge).toBe(1)
    expect(desktop.notifications).toHaveLength(0)
    alerts.stop()
    coordinator.create({ taskDescription: 'After stop', taskOutput: '', timeoutMs: 0, onTimeout: 'CONTINUE' })
    expect(desktop.badge).toBe(1)
  })

  it('a failing native call does not break the coordinator or the other calls', () => {
    const { coordinator, desktop, raise } = setup()
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    desktop.setTray = () => {
      throw new Error('no tray here')
    }
    const a = raise()
    expect(desktop.badge).toBe(1)
    expect(() => coordinator.decide(a.id, { decision: 'CONTINUE', surface: 'api' })).not.toThrow()
    expect(desktop.badge).toBe(0)
    spy.mockRestore()
  })
})

describe('ReviewAlerts: the approval dialog', () => {
  it('Approve decides CONTINUE with surface "dialog" on the most urgent gate', async () => {
    const { coordinator, desktop, alerts, raise } = setup()
    raise({ task: 'Later' })
    const urgent = raise({ task: 'Urgent', timeoutMs: 60_000 })
    desktop.decisions.push('approve')
    await alerts.reviewNext()
    expect(desktop.dialogs).toHaveLength(1)
    expect(desktop.dialogs[0]!.gate.id).toBe(urgent.id)
    const gate = coordinator.get(urgent.id)
    expect(gate.status).toBe('decided')
    expect(gate.outcome).toMatchObject({ decision: 'CONTINUE', surface: 'dialog' })
    expect(coordinator.state().recent[0]).toMatchObject({ id: urgent.id, outcome: { decision: 'CONTINUE', surface: 'dialog' } })
    expect(desktop.badge).toBe(1)
    expect(desktop.infos).toEqual([])
  })

  it('opens from the tray action and from the notification button', async () => {
    const { coordinator, desktop, raise } = setup()
    const a = raise()
    vi.advanceTimersByTime(250)
    desktop.decisions.push('approve')
    desktop.actions!.reviewNext()
    await settle()
    expect(coordinator.get(a.id).outcome?.surface).toBe('dialog')

    const b = raise()
    vi.advanceTimersByTime(250)
    vi.advanceTimersByTime(1000)
    expect(desktop.open_.map((n) => n.title)).toEqual(['Review needed · deploy-bot'])
    desktop.decisions.push('cancel')
    desktop.open_[0]!.extras.action!.run()
    await settle()
    expect(desktop.dialogs.at(-1)!.gate.id).toBe(b.id)
    expect(coordinator.get(b.id).status).toBe('pending')
  })

  it('Edit… opens the in-app editor on the gate and decides nothing', async () => {
    const { coordinator, desktop, alerts, raise } = setup()
    const a = raise()
    desktop.decisions.push('edit')
    await alerts.reviewNext(a.id)
    expect(desktop.routes).toEqual([`#/reviews/${a.id}?edit=1`])
    expect(coordinator.get(a.id).status).toBe('pending')
  })

  it('Exit Early asks first: declined decides nothing, confirmed sends EXIT_EARLY', async () => {
    const { coordinator, desktop, alerts, raise } = setup()
    const a = raise()
    desktop.decisions.push('exit')
    desktop.confirms.push(false)
    await alerts.reviewNext(a.id)
    expect(desktop.dialogs.map((d) => d.kind)).toEqual(['decision', 'confirm'])
    expect(coordinator.get(a.id).status).toBe('pending')

    desktop.decisions.push('exit')
    desktop.confirms.push(true)
    await alerts.reviewNext(a.id)
    expect(coordinator.get(a.id).outcome).toMatchObject({ decision: 'EXIT_EARLY', surface: 'dialog' })
  })

  it('Cancel decides nothing', async () => {
    const { coordinator, desktop, alerts, raise } = setup()
    const a = raise()
    desktop.decisions.push('cancel')
    await alerts.reviewNext()
    expect(coordinator.get(a.id).status).toBe('pending')
    expect(desktop.infos).toEqual([])
  })

  it('a gate decided elsewhere while the dialog is open: the conflict is shown, nothing thrown', async () => {
    const { coordinator, desktop, alerts, raise } = setup()
    const a = raise()
    const flow = alerts.reviewNext(a.id)
    await settle()
    expect(desktop.dialogs).toHaveLength(1)
    coordinator.decide(a.id, { decision: 'EXIT_EARLY', surface: 'api', decidedBy: 'ana' })
    desktop.dialogs[0]!.answer('approve') // the user clicks Approve on the stale dialog
    await expect(flow).resolves.toBeUndefined()
    expect(desktop.infos).toHaveLength(1)
    expect(desktop.infos[0]).toMatch(/already decided \(EXIT_EARLY via api by ana\)/)
    expect(coordinator.get(a.id).outcome).toMatchObject({ decision: 'EXIT_EARLY', surface: 'api' })
  })

  it('where the dialog can be closed, a gate resolved elsewhere closes it and says why', async () => {
    const { coordinator, desktop, alerts, raise } = setup()
    desktop.honorSignal = true
    const a = raise()
    const flow = alerts.reviewNext(a.id)
    await settle()
    expect(desktop.dialogs[0]!.signal?.aborted).toBe(false)
    coordinator.decide(a.id, { decision: 'CONTINUE', surface: 'browser-inbox' })
    expect(desktop.dialogs[0]!.signal?.aborted).toBe(true)
    await flow
    expect(desktop.infos).toEqual([`"Task 1" was already decided (CONTINUE via browser-inbox). Nothing was changed here.`])
  })

  it('a gate timing out during the exit confirmation: nothing is sent, the user is told', async () => {
    const { coordinator, desktop, alerts, raise } = setup()
    desktop.honorSignal = true
    const a = raise({ timeoutMs: 10_000 })
    desktop.decisions.push('exit')
    const flow = alerts.reviewNext(a.id)
    await settle()
    expect(desktop.dialogs.map((d) => d.kind)).toEqual(['decision', 'confirm'])
    vi.advanceTimersByTime(10_000)
    await flow
    expect(coordinator.get(a.id)).toMatchObject({ status: 'timed-out', outcome: { decision: 'CONTINUE', surface: 'timeout' } })
    expect(desktop.infos[0]).toMatch(/already timed out \(CONTINUE via timeout\)/)
  })

  it('an agent that cannot be reached: the message is shown and the gate stays pending', async () => {
    const { coordinator, desktop, alerts, setReachable } = setup({ reachable: false })
    coordinator.observe(
      'attach-1',
      null,
      { type: 'review_requested', reviewId: 'r-1', taskDescription: 'Refactor', taskOutput: 'diff', timing: 'AFTER_EXECUTION', timeoutMs: 0, onTimeout: 'CONTINUE' },
      new Date().toISOString()
    )
    desktop.decisions.push('approve')
    await expect(alerts.reviewNext('r-1')).resolves.toBeUndefined()
    expect(desktop.infos[0]).toMatch(/cannot be reached right now; the gate stays pending/)
    expect(coordinator.get('r-1').status).toBe('pending')

    setReachable(true)
    desktop.decisions.push('approve')
    await alerts.reviewNext('r-1')
    expect(coordinator.get('r-1').outcome).toMatchObject({ decision: 'CONTINUE', surface: 'dialog' })
  })

  it('with nothing waiting, or an unknown gate, says so', async () => {
    const { desktop, alerts } = setup()
    await alerts.reviewNext()
    await alerts.reviewNext('nope')
    expect(desktop.dialogs).toHaveLength(0)
    expect(desktop.infos).toEqual(['No review gates are waiting.', 'No review gate "nope". It may have been decided long ago or never existed.'])
  })

  it('stopping (quit) closes an open dialog without deciding or telling anything', async () => {
    const { coordinator, desktop, alerts, raise } = setup()
    desktop.honorSignal = true
    const a = raise()
    const flow = alerts.reviewNext(a.id)
    await settle()
    alerts.stop()
    await flow
    expect(coordinator.get(a.id).status).toBe('pending')
    expect(desktop.infos).toEqual([])
  })

  it('opens one dialog at a time', async () => {
    const { desktop, alerts, raise } = setup()
    raise()
    raise()
    const first = alerts.reviewNext()
    await settle()
    await alerts.reviewNext()
    expect(desktop.dialogs).toHaveLength(1)
    expect(desktop.routes).toEqual([undefined]) // brings the open dialog's window forward instead
    desktop.dialogs[0]!.answer('cancel')
    await first
    desktop.decisions.push('cancel')
    await alerts.reviewNext()
    expect(desktop.dialogs).toHaveLength(2)
  })
})

describe('ReviewAlerts: text', () => {
  const gate = (extra: Partial<ReviewGate> = {}): ReviewGate => ({
    id: 'g1',
    reviewId: 'g1',
    source: { kind: 'api', sourceId: 'api', producerId: null, label: 'deploy-bot' },
    runId: null,
    taskDescription: 'Deploy v2',
    taskOutput: 'ok',
    timing: 'AFTER_EXECUTION',
    prompt: null,
    timeoutMs: 0,
    onTimeout: 'CONTINUE',
    requiredRole: null,
    createdAt: new Date(T0).toISOString(),
    expiresAt: null,
    status: 'pending',
    connected: true,
    outcome: null,
    ...extra
  })

  it('the dialog shows the task and about 600 characters of plain-text output', () => {
    const long = `${'word '.repeat(300)}\u0007\u001b[31mred\n\n\n\n\nend`
    const text = decisionDialogText(gate({ taskOutput: long, prompt: 'Check the numbers', expiresAt: new Date(T0 + 90_000).toISOString() }), T0)
    expect(text.message).toBe('Deploy v2')
    const output = text.detail.split('Output:\n')[1]!.split('\n\n(The output is longer')[0]!
    expect(output.length).toBeLessThanOrEqual(601)
    expect(output.length).toBeGreaterThan(450)
    expect(output.endsWith('…')).toBe(true)
    expect(text.detail).toContain('From deploy-bot')
    expect(text.detail).toContain('Applies CONTINUE in 2 min if nobody decides.')
    expect(text.detail).toContain('Prompt: Check the numbers')
    expect(text.detail).toContain('Edit… shows all of it')
  })

  it('excerpts drop control characters and fold blank lines', () => {
    expect(excerpt('a\u0007b\r\nc\n\n\n\nd\u202e', 100)).toBe('ab\nc\n\nd')
    expect(excerpt('short', 100)).toBe('short')
  })

  it('the dialog says when the agent is not connected', () => {
    expect(decisionDialogText(gate({ connected: false }), T0).detail).toMatch(/not connected right now/)
  })

  it('notification and tray texts', () => {
    expect(notificationText([gate()], T0)).toEqual({ title: 'Review needed · deploy-bot', body: 'Deploy v2' })
    expect(notificationText([gate(), gate({ id: 'g2', taskDescription: 'Migrate' })], T0).title).toBe('2 review gates waiting')
    expect(trayTooltip({ pending: 0, doNotDisturb: false, nextGate: null })).toBe('Vigil — no review gates waiting')
    expect(trayTooltip({ pending: 1, doNotDisturb: false, nextGate: null })).toBe('Vigil — 1 review gate waiting')
    expect(trayTooltip({ pending: 3, doNotDisturb: true, nextGate: null })).toBe('Vigil — 3 review gates waiting (do not disturb)')
  })
})
