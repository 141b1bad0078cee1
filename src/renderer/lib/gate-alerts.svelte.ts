// Gates find the user in any browser tab: the tab title and favicon carry the pending count, and in
// `vigil serve` a Web Notification announces each new gate (permission is asked on the user's first
// interaction with a gate, never on load; clicking the notification focuses that gate). The desktop
// app has OS notifications from main, so it gets only the title and badge here.
import type { ReviewGate } from '../../shared/model/reviews'
import { browserNotificationsEnabled } from './browser-notifications'

const ICON_BODY = `<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#24324f"/><stop offset="1" stop-color="#141b2b"/></linearGradient></defs><rect x="32" y="32" width="960" height="960" rx="210" fill="url(#bg)"/><path d="M168 512c96-160 208-240 344-240s248 80 344 240c-96 160-208 240-344 240S264 672 168 512z" fill="none" stroke="#6ea8ff" stroke-width="56" stroke-linejoin="round"/><circle cx="512" cy="512" r="112" fill="#4cc38a"/>`

/** The favicon with an amber count badge (9+ beyond nine), as a data: URL the CSP allows. */
export function badgedIcon(count: number): string {
  const text = count > 9 ? '9+' : String(count)
  const badge =
    count > 0
      ? `<circle cx="744" cy="280" r="272" fill="#f0b429" stroke="#141b2b" stroke-width="32"/><text x="744" y="392" font-family="Arial,Helvetica,sans-serif" font-weight="700" font-size="${text.length > 1 ? 280 : 340}" text-anchor="middle" fill="#1b1f27">${text}</text>`
      : ''
  return `data:image/svg+xml,${encodeURIComponent(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1024 1024">${ICON_BODY}${badge}</svg>`)}`
}

export function titleFor(count: number, base = 'Vigil'): string {
  return count > 0 ? `(${count}) ${count === 1 ? 'Review waiting' : 'Reviews waiting'} · ${base}` : base
}

type Permission = 'default' | 'granted' | 'denied' | 'unsupported'

export class GateAlerts {
  /** What the browser allows; 'unsupported' on the desktop (main notifies) and without the API. */
  permission = $state<Permission>('unsupported')
  private asked = false
  private known: Set<string> | null = null

  constructor(
    private readonly web: boolean,
    private readonly focusGate: (gateId: string) => void
  ) {
    if (web && typeof Notification !== 'undefined') this.permission = Notification.permission as Permission
  }

  /** The user touched a gate (opened, approved, clicked the banner): the moment to ask, once. */
  noteInteraction(): void {
    if (!this.web || this.asked || !browserNotificationsEnabled() || typeof Notification === 'undefined' || Notification.permission !== 'default') return
    this.asked = true
    void Notification.requestPermission().then((p) => (this.permission = p as Permission))
  }

  /** Title and favicon for `count` pending gates. */
  showCount(count: number): void {
    document.title = titleFor(count)
    const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]')
    if (link) {
      link.type = 'image/svg+xml'
      link.href = count > 0 ? badgedIcon(count) : './favicon.svg'
      link.dataset.count = String(count)
    }
  }

  /** Call with every pending list: notifies about gates not seen before (not those present at load). */
  pendingChanged(pending: readonly ReviewGate[], doNotDisturb: boolean): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
    const ids = new Set(pending.map((g) => g.id))
    const before = this.known
    this.known = ids
    // Settings → This browser can turn them off (a page cannot take back a permission it was given).
    if (before === null || doNotDisturb || !this.web || !browserNotificationsEnabled() || typeof Notification === 'undefined' || Notification.permission !== 'granted') return
    for (const gate of pending) {
      if (before.has(gate.id)) continue
      try {
        const n = new Notification('Review needed', {
          body: `${gate.taskDescription.slice(0, 160)}\n${gate.source.label}`,
          tag: `vigil-gate-${gate.id}`,
          requireInteraction: gate.expiresAt !== null
        })
        n.onclick = () => {
          window.focus()
          this.focusGate(gate.id)
          n.close()
        }
      } catch {
        // Some browsers allow notifications only from a service worker: the banner and title still say it.
      }
    }
  }
}
