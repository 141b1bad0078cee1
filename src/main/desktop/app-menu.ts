import { app, Menu, shell, type MenuItemConstructorOptions } from 'electron'

export interface MenuActions {
  openStore(): void
  attachToUrl(): void
  startDemo(): void
}

/** The application menu; File actions go through the same API the window uses. */
export function setAppMenu(actions: MenuActions): void {
  const isMac = process.platform === 'darwin'
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Perspt Store…', accelerator: 'CmdOrCtrl+O', click: () => actions.openStore() },
        { label: 'Attach to URL…', accelerator: 'CmdOrCtrl+L', click: () => actions.attachToUrl() },
        { label: 'Try the Demo', click: () => actions.startDemo() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' }
      ]
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' }
      ]
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'Perspt store format', click: () => void shell.openExternal('https://github.com/eonseed/perspt') }]
    }
  ]
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}
