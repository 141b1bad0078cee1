// The Electron side of review alerts: notifications, the approval dialog, tray, badge and window focus.
// Every rule lives in src/main/reviews/review-alerts.ts (tested with a fake of this adapter); this file
// only translates calls into Electron's API and is checked against Electron's typings.
import {
  app,
  dialog,
  Menu,
  nativeImage,
  Notification,
  Tray,
  type BrowserWindow,
  type MenuItemConstructorOptions,
  type MessageBoxOptions,
  type NativeImage
} from 'electron'
import { join } from 'node:path'
import type { ReviewGate } from '../../shared/model/reviews'
import {
  decisionDialogText,
  excerpt,
  exitConfirmText,
  trayTooltip,
  type DecisionChoice,
  type NotificationHandle,
  type NotifyExtras,
  type ReviewActions,
  type ReviewDesktop,
  type TrayState
} from '../reviews/review-alerts'
import { updateReviewMenu } from './app-menu'

export interface ElectronReviewDesktopOptions {
  /** Folder with the tray icons (resources/tray). */
  trayIconsDir: string
  /** The app icon, shown in notifications on Linux and Windows. */
  appIconPath?: string
  /** The main window if it exists (not destroyed). */
  getWindow(): BrowserWindow | null
  /** Shows and focuses the main window, creating it if needed. */
  showWindow(): BrowserWindow
  /** Asks the desktop window's renderer to go to a route (its 'navigate' push event). */
  navigate(route: string): void
}

const DECISION_BUTTONS: readonly DecisionChoice[] = ['approve', 'edit', 'exit', 'cancel']

export class ElectronReviewDesktop implements ReviewDesktop {
  private tray: Tray | null = null
  private trayKey = ''
  private badgeCount = 0
  private overlay: NativeImage | null = null
  /** Shown notifications, referenced until they go: a collected Notification loses its click handler. */
  private readonly live = new Set<Notification>()

  constructor(private readonly opts: ElectronReviewDesktopOptions) {}

  notify(title: string, body: string, onClick: () => void, extras: NotifyExtras = {}): NotificationHandle {
    if (!Notification.isSupported()) {
      // No notification service (e.g. a bare Linux session): at least make the taskbar entry ask for attention.
      const win = this.window()
      if (win && !win.isFocused()) win.flashFrame(true)
      return { close: () => win?.flashFrame(false) }
    }
    const isMac = process.platform === 'darwin'
    const n = new Notification({
      title,
      body,
      silent: extras.silent ?? false,
      icon: isMac ? undefined : this.opts.appIconPath,
      // Buttons on notifications exist on macOS only (Windows needs toastXml for them).
      actions: isMac && extras.action ? [{ type: 'button', text: extras.action.label }] : []
    })
    let gone = false
    const forget = () => {
      gone = true
      this.live.delete(n)
    }
    n.on('click', () => {
      forget()
      onClick()
    })
    n.on('action', () => {
      forget()
      extras.action?.run()
    })
    n.on('close', () => {
      forget()
      extras.onDismissed?.()
    })
    n.on('failed', (_event, error) => {
      forget()
      console.warn(`vigil: a review notification failed: ${error}`)
    })
    this.live.add(n)
    n.show()
    return {
      close: () => {
        if (gone) return
        forget()
        n.close()
      }
    }
  }

  async showDecisionDialog(gate: ReviewGate, signal?: AbortSignal): Promise<DecisionChoice> {
    const text = decisionDialogText(gate, Date.now())
    const response = await this.messageBox(
      {
        type: 'question',
        title: text.title,
        message: text.message,
        detail: text.detail,
        buttons: ['Approve', 'Edit…', 'Exit Early', 'Cancel'],
        defaultId: 0,
        cancelId: 3,
        noLink: true,
        signal
      },
      signal
    )
    return DECISION_BUTTONS[response] ?? 'cancel'
  }

  async confirmExit(gate: ReviewGate, signal?: AbortSignal): Promise<boolean> {
    const text = exitConfirmText(gate)
    const response = await this.messageBox(
      { type: 'warning', title: 'Exit early', message: text.message, detail: text.detail, buttons: ['Exit Early', 'Cancel'], defaultId: 1, cancelId: 1, noLink: true, signal },
      signal
    )
    return response === 0 && !signal?.aborted
  }

  async showInfo(message: string): Promise<void> {
    await this.messageBox({ type: 'info', title: 'Vigil', message: excerpt(message, 600), buttons: ['OK'], defaultId: 0, noLink: true })
  }

  setBadgeCount(count: number): void {
    this.badgeCount = count
    // Dock (macOS) and Unity-style launchers (Linux); a no-op elsewhere.
    app.setBadgeCount(count)
    this.applyOverlay()
  }

  setTray(state: TrayState, actions: ReviewActions): void {
    updateReviewMenu({ pending: state.pending, doNotDisturb: state.doNotDisturb })
    const key = JSON.stringify([state.pending, state.doNotDisturb, state.nextGate?.id ?? null, state.nextGate?.connected ?? null])
    if (this.tray && key === this.trayKey) return
    this.trayKey = key
    const isMac = process.platform === 'darwin'
    const image = this.trayImage(state.pending > 0)
    if (!this.tray) {
      this.tray = new Tray(image)
      // Windows: a left click opens the inbox (the menu is on right click). macOS and Linux show the menu.
      if (process.platform === 'win32') this.tray.on('click', () => actions.openInbox())
    } else {
      this.tray.setImage(image)
    }
    this.tray.setToolTip(trayTooltip(state))
    if (isMac) this.tray.setTitle(state.pending > 0 ? String(state.pending) : '', { fontType: 'monospacedDigit' })

    const next = state.nextGate
    const template: MenuItemConstructorOptions[] = [
      { label: trayTooltip(state).replace(/^Vigil — /, '').replace(/^./, (c) => c.toUpperCase()), enabled: false },
      ...(next ? [{ label: `Next: ${excerpt(next.taskDescription.replace(/\s+/g, ' '), 60) || next.source.label}`, enabled: false }] : []),
      { type: 'separator' },
      { label: 'Review next gate…', enabled: state.pending > 0, click: () => actions.reviewNext() },
      { label: 'Open review inbox', click: () => actions.openInbox() },
      { type: 'separator' },
      { label: 'Do not disturb', type: 'checkbox', checked: state.doNotDisturb, click: (item) => actions.setDoNotDisturb(item.checked) },
      { type: 'separator' },
      { label: 'Show Vigil', click: () => this.focusWindow() },
      { label: 'Quit Vigil', role: 'quit' }
    ]
    this.tray.setContextMenu(Menu.buildFromTemplate(template))
  }

  focusWindow(route?: string): void {
    const win = this.opts.showWindow()
    this.applyOverlay()
    if (route === undefined) return
    // A window created just now has no renderer listening yet: navigate once it has loaded.
    if (win.webContents.isLoadingMainFrame()) win.webContents.once('did-finish-load', () => this.opts.navigate(route))
    else this.opts.navigate(route)
  }

  isWindowFocused(): boolean {
    return this.window()?.isFocused() ?? false
  }

  dispose(): void {
    for (const n of this.live) n.close()
    this.live.clear()
    this.tray?.destroy()
    this.tray = null
  }

  // -------------------------------------------------------------------------------------------

  private window(): BrowserWindow | null {
    const win = this.opts.getWindow()
    return win && !win.isDestroyed() ? win : null
  }

  /**
   * A message box attached to the main window. On macOS a box without a parent runs synchronously and
   * would block the main process (and the hub and review API with it), so there Vigil is brought forward
   * first and the box is a sheet. Elsewhere a hidden or minimised window is not used as parent.
   */
  private async messageBox(options: MessageBoxOptions, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return options.cancelId ?? 0
    let parent = this.window()
    if (process.platform === 'darwin') parent = this.opts.showWindow()
    else if (parent && (!parent.isVisible() || parent.isMinimized())) parent = null
    const result = parent ? await dialog.showMessageBox(parent, options) : await dialog.showMessageBox(options)
    return signal?.aborted ? (options.cancelId ?? 0) : result.response
  }

  private trayImage(pending: boolean): NativeImage {
    // macOS: black template images the menu bar tints; the @2x file is picked up automatically.
    const name = process.platform === 'darwin' ? (pending ? 'tray-pendingTemplate.png' : 'trayTemplate.png') : pending ? 'tray-pending.png' : 'tray.png'
    const image = nativeImage.createFromPath(join(this.opts.trayIconsDir, name))
    if (process.platform === 'darwin') image.setTemplateImage(true)
    return image
  }

  /** Windows has no badge count: an overlay icon on the taskbar button, its description read by screen readers. */
  private applyOverlay(): void {
    if (process.platform !== 'win32') return
    const win = this.window()
    if (!win) return
    if (this.badgeCount === 0) return win.setOverlayIcon(null, '')
    this.overlay ??= nativeImage.createFromPath(join(this.opts.trayIconsDir, 'overlay.png'))
    win.setOverlayIcon(this.overlay, this.badgeCount === 1 ? '1 review gate waiting' : `${this.badgeCount} review gates waiting`)
  }
}
