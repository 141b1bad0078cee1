import { eventChannel, invokeChannel, METHOD_NAMES, parseWatchRuns, WATCH_RUNS_CHANNEL, type VigilApi } from '../../shared/api/contract'
import type { RunFeedWindow } from '../live/run-feed'
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

/** The window a one-way IPC message came from (Electron's WebContents, structurally). */
export interface IpcSenderLike {
  id: number
  send(channel: string, payload: unknown): void
  isDestroyed(): boolean
  once(event: 'destroyed', listener: () => void): unknown
}

export interface IpcOnLike {
  on(channel: string, listener: (event: IpcEventLike & { sender: IpcSenderLike }, ...args: unknown[]) => void): unknown
  removeListener(channel: string, listener: (event: IpcEventLike & { sender: IpcSenderLike }, ...args: unknown[]) => void): unknown
}

/**
 * `run-delta` over IPC: each window says which runs it watches (VigilBridge.watchRuns) and gets their
 * ops through its own queue (src/main/live/run-feed.ts), as browsers do on /api/events. IPC reports no
 * backlog, so the queue only batches (every FLUSH_MS).
 */
export function forwardRunDeltasOverIpc(opts: { ipcMain: IpcOnLike; events: EventHub; isTrustedSender: (event: IpcEventLike) => boolean; log?: (message: string) => void }): () => void {
  const log = opts.log ?? ((m: string) => console.warn(m))
  const windows = new Map<number, RunFeedWindow>()
  const listener = (event: IpcEventLike & { sender: IpcSenderLike }, raw: unknown): void => {
    if (!opts.isTrustedSender(event)) {
      log(`vigil: refused IPC ${WATCH_RUNS_CHANNEL} from untrusted sender ${event.senderFrame?.url ?? '(no frame)'}`)
      return
    }
    const ids = parseWatchRuns(raw)
    if (!ids) return
    const sender = event.sender
    let w = windows.get(sender.id)
    if (!w) {
      w = opts.events.runFeed.connect({
        send: (delta) => {
          if (!sender.isDestroyed()) sender.send(eventChannel('run-delta'), delta)
        },
        backlogBytes: () => 0
      })
      windows.set(sender.id, w)
      const gone = w
      sender.once('destroyed', () => {
        gone.close()
        windows.delete(sender.id)
      })
    }
    w.watch(ids)
  }
  opts.ipcMain.on(WATCH_RUNS_CHANNEL, listener)
  return () => {
    opts.ipcMain.removeListener(WATCH_RUNS_CHANNEL, listener)
    for (const w of windows.values()) w.close()
    windows.clear()
  }
}
