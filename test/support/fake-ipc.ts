// An in-process stand-in for Electron's ipcMain/ipcRenderer pair: same call shapes, arguments and
// results structured-cloned as Electron does, and a configurable sender frame for each invoke.
import type { IpcMainLike, IpcOnLike, IpcSenderLike } from '../../src/main/ipc/ipc-api'
import type { IpcEventLike, SenderFrameLike } from '../../src/main/ipc/trusted-sender'
import type { IpcRendererLike } from '../../src/preload/ipc-bridge'

type Handler = (event: IpcEventLike, ...args: unknown[]) => unknown
type RendererListener = (event: unknown, ...args: unknown[]) => void

export interface FakeIpc {
  ipcMain: IpcMainLike & IpcOnLike
  ipcRenderer: IpcRendererLike
  /** webContents.send to this renderer. */
  send(channel: string, payload: unknown): void
  /** The frame the next invokes come from. */
  senderFrame: SenderFrameLike | null
  handlerCount(): number
}

export function createFakeIpc(): FakeIpc {
  const handlers = new Map<string, Handler>()
  const listeners = new Map<string, Set<RendererListener>>()
  const mainListeners = new Map<string, Set<Parameters<IpcOnLike['on']>[1]>>()
  const sender: IpcSenderLike = { id: 1, send: (channel, payload) => fake.send(channel, payload), isDestroyed: () => false, once: () => undefined }
  const fake: FakeIpc = {
    senderFrame: { url: 'app://renderer/index.html', parent: null },
    ipcMain: {
      handle(channel, listener) {
        if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
        handlers.set(channel, listener as Handler)
      },
      removeHandler(channel) {
        handlers.delete(channel)
      },
      on(channel, listener) {
        let set = mainListeners.get(channel)
        if (!set) mainListeners.set(channel, (set = new Set()))
        set.add(listener)
      },
      removeListener(channel, listener) {
        mainListeners.get(channel)?.delete(listener)
      }
    },
    ipcRenderer: {
      async invoke(channel, ...args) {
        const handler = handlers.get(channel)
        if (!handler) throw new Error(`Error invoking remote method '${channel}': No handler registered`)
        const result = await handler({ senderFrame: fake.senderFrame }, ...structuredClone(args))
        return structuredClone(result)
      },
      on(channel, listener) {
        let set = listeners.get(channel)
        if (!set) listeners.set(channel, (set = new Set()))
        set.add(listener)
      },
      removeListener(channel, listener) {
        listeners.get(channel)?.delete(listener)
      },
      send(channel, ...args) {
        for (const l of [...(mainListeners.get(channel) ?? [])]) l({ senderFrame: fake.senderFrame, sender }, ...structuredClone(args))
      }
    },
    send(channel, payload) {
      for (const l of [...(listeners.get(channel) ?? [])]) l({ sender: 'ipcRenderer (must not leak)' }, structuredClone(payload))
    },
    handlerCount: () => handlers.size
  }
  return fake
}
