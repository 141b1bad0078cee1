import { eventChannel, invokeChannel, METHOD_NAMES, type VigilApi } from '../../shared/api/contract'
import type { ApiResult } from '../../shared/api/errors'
import { dispatch } from '../core/dispatch'
import type { EventHub } from '../core/event-hub'
import type { IpcEventLike } from './trusted-sender'

/** The part of Electron's ipcMain this module uses; tests pass an in-process fake. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void
  removeHandler(channel: string): void
}

export interface IpcApiOptions {
  ipcMain: IpcMainLike
  api: VigilApi
  isTrustedSender: (event: IpcEventLike) => boolean
  log?: (message: string) => void
}

/**
 * Registers one handler per contract method. Each checks the sender, then validates the arguments and
 * answers with an ApiResult (Electron keeps only `message` of thrown errors; data keeps the code).
 */
export function registerIpcApi(opts: IpcApiOptions): () => void {
  const log = opts.log ?? ((m: string) => console.warn(m))
  for (const method of METHOD_NAMES) {
    opts.ipcMain.handle(invokeChannel(method), async (event, ...args): Promise<ApiResult<unknown>> => {
      if (!opts.isTrustedSender(event)) {
        log(`vigil: refused IPC ${method} from untrusted sender ${event.senderFrame?.url ?? '(no frame)'}`)
        return { ok: false, error: { code: 'forbidden', message: 'Untrusted sender.' } }
      }
      const result = await dispatch(opts.api, method, args)
      if (!result.ok && result.error.code === 'bad-request') log(`vigil: refused IPC ${method}: ${result.error.message}`)
      return result
    })
  }
  return () => {
    for (const method of METHOD_NAMES) opts.ipcMain.removeHandler(invokeChannel(method))
  }
}

/** Forwards every push event to the renderers through `send` (webContents.send in the desktop app). */
export function forwardEventsOverIpc(events: EventHub, send: (channel: string, payload: unknown) => void): () => void {
  return events.subscribe((frame) => send(eventChannel(frame.event), frame.payload))
}
