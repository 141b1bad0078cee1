import { contextBridge, ipcRenderer } from 'electron'
import { createIpcBridge } from './ipc-bridge'

// Only the contract's methods and `on` cross into the page; never ipcRenderer itself.
if (!process.contextIsolated) {
  throw new Error('Vigil requires contextIsolation: refusing to expose the API.')
}
contextBridge.exposeInMainWorld('vigil', createIpcBridge(ipcRenderer))
