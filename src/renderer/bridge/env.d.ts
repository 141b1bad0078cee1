import type { VigilBridge } from '../../shared/api/contract'

declare global {
  interface Window {
    /** Exposed by the desktop app's preload; absent in a browser. */
    vigil?: VigilBridge
  }
}
export {}
