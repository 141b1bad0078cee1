// The Settings page's "Notifications" switch on the desktop: review alerts keep counting gates (badge,
// tray) and keep their dialogs, but show no OS notification while it is off. Wraps the desktop adapter,
// so the review alerts' own logic is untouched.
import type { NotificationHandle, ReviewDesktop } from '../reviews/review-alerts'

const NOTHING_SHOWN: NotificationHandle = { close: () => undefined }

export function withNotificationSwitch(desktop: ReviewDesktop, enabled: () => boolean): ReviewDesktop {
  return {
    notify: (title, body, onClick, extras) => (enabled() ? desktop.notify(title, body, onClick, extras) : NOTHING_SHOWN),
    showDecisionDialog: (gate, signal) => desktop.showDecisionDialog(gate, signal),
    confirmExit: (gate, signal) => desktop.confirmExit(gate, signal),
    showInfo: (message) => desktop.showInfo(message),
    setBadgeCount: (count) => desktop.setBadgeCount(count),
    setTray: (state, actions) => desktop.setTray(state, actions),
    focusWindow: (route) => desktop.focusWindow(route),
    isWindowFocused: () => desktop.isWindowFocused()
  }
}
