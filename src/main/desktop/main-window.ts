import { BrowserWindow, screen } from 'electron'
import { join } from 'node:path'
import { fitToDisplays, windowStateFile, type WindowState } from '../settings/window-state'
import { APP_ENTRY_URL } from './app-protocol'
import { hardenedWebPreferences } from './web-preferences'

export interface MainWindowOptions {
  dataDir: string
  preloadPath: string
  /** electron-vite's dev server URL in development; the app:// entry otherwise. */
  devServerUrl?: string
  iconPath?: string
}

/** The main window: hardened, shown when ready, its size and place remembered. */
export function createMainWindow(opts: MainWindowOptions): BrowserWindow {
  const stateFile = windowStateFile(opts.dataDir)
  const state = fitToDisplays(
    stateFile.read(),
    screen.getAllDisplays().map((d) => d.workArea)
  )
  const win = new BrowserWindow({
    ...boundsOf(state),
    minWidth: 640,
    minHeight: 400,
    show: false,
    title: 'Vigil',
    backgroundColor: '#16181d',
    icon: opts.iconPath,
    webPreferences: hardenedWebPreferences(opts.preloadPath)
  })
  if (state.maximized) win.maximize()
  win.once('ready-to-show', () => win.show())

  const save = () => {
    if (win.isDestroyed()) return
    const b = win.getNormalBounds()
    try {
      stateFile.write({ x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() })
    } catch (err) {
      console.error('vigil: could not save the window state:', err)
    }
  }
  win.on('close', save)

  void win.loadURL(opts.devServerUrl ?? APP_ENTRY_URL)
  return win
}

function boundsOf(state: WindowState) {
  return { x: state.x, y: state.y, width: state.width, height: state.height }
}

export function defaultPreloadPath(mainDir: string): string {
  return join(mainDir, '../preload/index.js')
}
