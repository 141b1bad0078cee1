// "Notifications in this browser" (vigil serve's Settings page): a per-browser choice kept in
// localStorage, plus the browser's own permission. Off means no Web Notification for new review gates,
// whatever the permission says (a page cannot revoke a permission once given, so it keeps its own switch).

const KEY = 'vigil.browserNotifications'

export type BrowserPermission = 'default' | 'granted' | 'denied' | 'unsupported'

export function browserPermission(): BrowserPermission {
  return typeof Notification === 'undefined' ? 'unsupported' : (Notification.permission as BrowserPermission)
}

/** True unless the user turned them off here (the default follows the browser's permission). */
export function browserNotificationsEnabled(): boolean {
  try {
    return localStorage.getItem(KEY) !== 'off'
  } catch {
    return true
  }
}

/** Turns them on (asking the browser's permission if it was never asked) or off; returns the permission. */
export async function setBrowserNotifications(enabled: boolean): Promise<BrowserPermission> {
  try {
    localStorage.setItem(KEY, enabled ? 'on' : 'off')
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
  if (enabled && typeof Notification !== 'undefined' && Notification.permission === 'default') {
    return (await Notification.requestPermission()) as BrowserPermission
  }
  return browserPermission()
}
