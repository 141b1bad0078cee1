// Electron security item 17: every IPC handler checks who is calling. Structural types keep this file
// free of electron imports, so it is tested in plain Node.

export interface SenderFrameLike {
  url: string
  parent: unknown
}

export interface IpcEventLike {
  senderFrame: SenderFrameLike | null
}

export interface TrustedOrigin {
  protocol: string
  host: string
}

/** The renderer in production: app://renderer/… */
export const APP_ORIGIN: TrustedOrigin = { protocol: 'app:', host: 'renderer' }

/**
 * Only the top frame of a page loaded from a trusted origin may call. Compared by protocol and host
 * (Node's URL reports origin "null" for custom schemes, and prefixes must never be compared as text).
 */
export function createSenderCheck(trusted: readonly TrustedOrigin[]): (event: IpcEventLike) => boolean {
  return (event) => {
    const frame = event.senderFrame
    if (!frame || frame.parent !== null) return false
    let url: URL
    try {
      url = new URL(frame.url)
    } catch {
      return false
    }
    return trusted.some((t) => t.protocol === url.protocol && t.host === url.host)
  }
}
