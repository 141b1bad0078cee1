// The IPC transport of the API contract, on the renderer side. Takes an ipcRenderer-like object so
// the exact code the preload exposes also runs in tests against a fake ipcMain.
import {
  eventChannel,
  invokeChannel,
  METHOD_NAMES,
  type EventName,
  type VigilApi,
  type VigilBridge,
  type VigilEvents,
  WATCH_RUNS_CHANNEL
} from '../shared/api/contract'
import { fromErrorData, type ApiResult } from '../shared/api/errors'

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
  /** One-way message to main (ipcRenderer.send). */
  send(channel: string, ...args: unknown[]): void
}

export function createIpcBridge(ipc: IpcRendererLike): VigilBridge {
  const api = Object.fromEntries(
    METHOD_NAMES.map((m) => [
      m,
      async (...args: unknown[]) => {
        const result = (await ipc.invoke(invokeChannel(m), ...args)) as ApiResult<unknown>
        if (result.ok) return result.value
        throw fromErrorData(result.error)
      }
    ])
  ) as unknown as VigilApi

  return {
    ...api,
    on<E extends EventName>(event: E, listener: (payload: VigilEvents[E]) => void) {
      // Never hand the renderer the IpcRendererEvent: it would leak ipcRenderer (security item 20).
      const wrapped = (_event: unknown, payload: unknown) => listener(payload as VigilEvents[E])
      ipc.on(eventChannel(event), wrapped)
      return () => {
        ipc.removeListener(eventChannel(event), wrapped)
      }
    },
    watchRuns(runIds: string[]) {
      ipc.send(WATCH_RUNS_CHANNEL, [...runIds])
    }
  }
}
