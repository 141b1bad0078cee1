import type { VigilBridge } from '../../shared/api/contract'
import { createWebBridge } from './web-bridge'

export interface ConnectedBridge {
  bridge: VigilBridge
  /** Desktop (IPC through the preload) or web (HTTP + WebSocket to `vigil serve`). */
  transport: 'ipc' | 'web'
}

/** The desktop preload's bridge when present, otherwise the web bridge to the server that served this page. */
export function connectBridge(onConnectionChange: (connected: boolean) => void): ConnectedBridge {
  if (window.vigil) return { bridge: window.vigil, transport: 'ipc' }
  // Signed out or expired while the page was open: the server's login page brings the user back.
  const onUnauthorized = () => window.location.assign('/login')
  return { bridge: createWebBridge({ baseUrl: window.location.origin, onConnectionChange, onUnauthorized }), transport: 'web' }
}
