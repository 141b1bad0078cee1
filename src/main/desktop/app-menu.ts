import { app, Menu, shell, type MenuItemConstructorOptions } from 'electron'

export interface MenuActions {
  openStore(): void
  attachToUrl(): void
  startDemo(): void
  /** The Reviews menu (review alerts' actions); without it the menu has no Reviews entry. */
  reviews?: ReviewMenuActions
}

export interface ReviewMenuActions {
  reviewNext(): void
  openInbox(): void
  setDoNotDisturb(enabled: boolean): void
}

const REVIEW_NEXT_ID = 'reviews-next'
const REVIEW_DND_ID = 'reviews-do-not-disturb'

/** The application menu; File actions go through the same API the window uses. */
export function setAppMenu(actions: MenuActions): void {
  const isMac = process.platform === 'darwin'
  const reviews = actions.reviews
  const reviewsMenu: MenuItemConstructorOptions[] = reviews
    ? [
        {
          label: 'Reviews',
          submenu: [
            { id: REVIEW_NEXT_ID, label: 'Review Next Gate…', accelerator: 'CmdOrCtrl+Shift+R', enabled: false, click: () => reviews.reviewNext() },
            { label: 'Open Review Inbox', accelerator: 'CmdOrCtrl+Shift+E', click: () => reviews.openInbox() },
            { type: 'separator' },
            { id: REVIEW_DND_ID, label: 'Do Not Disturb', type: 'checkbox', checked: false, click: (item) => reviews.setDoNotDisturb(item.checked) }
          ]
        }
      ]
    : []
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
    ...reviewsMenu,
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'Perspt store format', click: () => void shell.openExternal('https://github.com/eonseed/perspt') }]
    }
  ]
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}

/** Keeps the Reviews menu in step with the coordinator: "Review Next Gate…" only with gates waiting, the checkbox as set anywhere. */
export function updateReviewMenu(state: { pending: number; doNotDisturb: boolean }): void {
  const menu = Menu.getApplicationMenu()
  const next = menu?.getMenuItemById(REVIEW_NEXT_ID)
  const dnd = menu?.getMenuItemById(REVIEW_DND_ID)
  if (next) next.enabled = state.pending > 0
  if (dnd) dnd.checked = state.doNotDisturb
}
