// Entry of the desktop app (Electron main process). Everything Electron-specific lives in this folder;
// the service, IPC dispatch and settings it wires up are plain Node, shared with `vigil serve`.
import { app, BrowserWindow, dialog, ipcMain } from 'electron'
import { join, resolve } from 'node:path'
import { ownerOnlyFiles, processTmpRoot } from '../app-paths'
import { addDefaultStoreIfPresent } from '../core/default-store'
import { VigilService } from '../core/vigil-service'
import { eventChannel } from '../../shared/api/contract'
import { forwardEventsOverIpc, forwardRunDeltasOverIpc, registerIpcApi } from '../ipc/ipc-api'
import { APP_ORIGIN, createSenderCheck, type TrustedOrigin } from '../ipc/trusted-sender'
import { ReviewAlerts } from '../reviews/review-alerts'
import { AppSettings, withoutSettingsWrites } from '../settings/app-settings'
import { EmbeddedServer } from '../settings/embedded-server'
import { withNotificationSwitch } from '../settings/notification-switch'
import { rememberedSourcesFile } from '../settings/remembered-sources'
import { chooseSecretStore } from '../settings/secret-store'
import { handleAppProtocol, registerAppScheme } from './app-protocol'
import { setAppMenu } from './app-menu'
import { applyDeepLink, DEEP_LINK_SCHEME, deepLinksIn, describeDeepLink, parseDeepLink } from './deep-links'
import { createMainWindow, defaultPreloadPath } from './main-window'
import { ElectronReviewDesktop } from './review-desktop'
import { hardenApp } from './security'
import { electronLoginItem, safeStorageCipher } from './settings-adapters'

const devServerUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL
let mainWindow: BrowserWindow | null = null
let service: VigilService | null = null
let server: EmbeddedServer | null = null
let reviewAlerts: ReviewAlerts | null = null
let reviewDesktop: ElectronReviewDesktop | null = null
// Packaged: extraResources; from a checkout: the repo's resources folder.
const resourcesDir = app.isPackaged ? join(process.resourcesPath, 'resources') : join(__dirname, '../../resources')

// The npm package is "vigil-agent-tower" (plain "vigil" is someone else's on npm), and Electron would name the
// app and its data folder after it. Keep both fixed: "Vigil" in menus and notifications, and the data folder
// (remembered sources, recordings, server.json, the single-instance lock) at <appData>/vigil, where
// `npm start`'s browser fallback also looks (scripts/launcher/lib.mjs, desktopDataDir). An explicit
// --user-data-dir (the Electron e2e tests use one per test) still wins.
app.setName('Vigil')
if (!app.commandLine.hasSwitch('user-data-dir')) app.setPath('userData', join(app.getPath('appData'), 'vigil'))

app.enableSandbox()
registerAppScheme()
// Windows shows notifications only for the Application User Model ID of the installed shortcut (electron-builder's appId).
if (process.platform === 'win32') app.setAppUserModelId('org.vigil.desktop')

// vigil:// links (deep-links.ts). Windows and Linux pass them as a launch argument, and a second launch
// forwards its arguments here (second-instance); macOS sends open-url, which must be listened to before ready.
// Links that arrive before the service is up wait in pendingLinks.
const pendingLinks: string[] = deepLinksIn(process.argv)
app.on('open-url', (event, url) => {
  event.preventDefault()
  handleDeepLink(url)
})
// Installed builds claim the scheme (electron-builder.yml protocols does it at install time; this covers the
// AppImage). A development Electron never takes it over from an installed Vigil.
if (app.isPackaged) app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME)
else if (process.env.VIGIL_DEV_PROTOCOL === '1' && process.argv[1]) {
  app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME, process.execPath, [resolve(process.argv[1])])
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', (_event, argv) => {
    showMainWindow()
    for (const link of deepLinksIn(argv)) handleDeepLink(link)
  })
  app.whenReady().then(start, (err: unknown) => {
    console.error('vigil: could not start:', err)
    app.exit(1)
  })
}

function trustedOrigins(): TrustedOrigin[] {
  const origins = [APP_ORIGIN]
  if (devServerUrl) {
    const dev = new URL(devServerUrl)
    origins.push({ protocol: dev.protocol, host: dev.host })
  }
  return origins
}

async function chooseStoreFile(): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: 'Open a Perspt session store',
    properties: ['openFile'],
    filters: [
      { name: 'Perspt store', extensions: ['db', 'duckdb'] },
      { name: 'All files', extensions: ['*'] }
    ]
  }
  const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options)
  return result.canceled ? null : (result.filePaths[0] ?? null)
}

function showMainWindow(): BrowserWindow {
  if (!mainWindow || mainWindow.isDestroyed()) {
    mainWindow = createMainWindow({
      dataDir: app.getPath('userData'),
      preloadPath: defaultPreloadPath(__dirname),
      devServerUrl,
      iconPath: join(resourcesDir, 'icon.png')
    })
  }
  if (mainWindow.isMinimized()) mainWindow.restore()
  mainWindow.show()
  mainWindow.focus()
  return mainWindow
}

function handleDeepLink(raw: string): void {
  if (!service || !app.isReady()) {
    pendingLinks.push(raw)
    return
  }
  void runDeepLink(raw, service).catch((err: unknown) => console.error('vigil: link failed:', err))
}

/** Any web page can fire a vigil:// link: nothing happens until the user says yes in a native dialog. */
async function runDeepLink(raw: string, vigil: VigilService): Promise<void> {
  const win = showMainWindow()
  const parsed = parseDeepLink(raw)
  if (!parsed.ok) {
    await dialog.showMessageBox(win, { type: 'warning', message: 'Vigil cannot open this link', detail: `${parsed.error}.` })
    return
  }
  const { response } = await dialog.showMessageBox(win, {
    type: 'question',
    buttons: ['Open', 'Cancel'],
    defaultId: 0,
    cancelId: 1,
    message: describeDeepLink(parsed.link),
    detail: 'A vigil:// link asked for this. Open it only if you started it.'
  })
  if (response !== 0) return
  const result = await applyDeepLink(parsed.link, vigil)
  if (!result.ok) await dialog.showMessageBox(win, { type: 'warning', message: 'Vigil could not open this link', detail: result.error })
}

async function start(): Promise<void> {
  ownerOnlyFiles()
  hardenApp()
  handleAppProtocol(join(__dirname, '../renderer'))

  // The Settings page: server.json + preferences.json, the ingress token in safeStorage (or a 0600 file),
  // and the embedded server it restarts on a change of host, port, password or token.
  const dataDir = app.getPath('userData')
  const embedded = new EmbeddedServer({ staticDir: join(__dirname, '../renderer'), version: app.getVersion(), log: (m) => console.warn(m) })
  server = embedded
  const settings = new AppSettings({
    dataDir,
    env: process.env,
    secrets: chooseSecretStore(dataDir, safeStorageCipher()),
    loginItem: electronLoginItem(),
    server: embedded
  })
  const vigil = new VigilService({
    mode: 'desktop',
    version: app.getVersion(),
    tmpRoot: processTmpRoot(),
    chooseStoreFile,
    remembered: rememberedSourcesFile(dataDir),
    settings
  })
  service = vigil
  // Stores first: their first read goes on while the recording opens and replays (as in vigil serve).
  const restoreAttachments = vigil.restoreRemembered()
  await vigil.startRecording(join(app.getPath('userData'), 'recordings.duckdb'))
  // Forwarding to an OpenTelemetry collector (Settings), after the replay so recorded runs are not sent again.
  vigil.applyOtlpSettings()
  restoreAttachments()
  if ((await vigil.listSources()).length === 0) addDefaultStoreIfPresent(vigil.registry)

  // Menu, tray and notification clicks move this window only, not browsers on Vigil's port.
  const navigateWindow = (route: string) => {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(eventChannel('navigate'), { route })
  }
  registerIpcApi({ ipcMain, api: vigil, isTrustedSender: createSenderCheck(trustedOrigins()) })
  forwardRunDeltasOverIpc({ ipcMain, events: vigil.events, isTrustedSender: createSenderCheck(trustedOrigins()) })
  forwardEventsOverIpc(vigil.events, (channel, payload) => {
    for (const win of BrowserWindow.getAllWindows()) {
      if (!win.isDestroyed()) win.webContents.send(channel, payload)
    }
  })

  // Review gates on the desktop: notifications, approval dialog, tray, badge, do-not-disturb.
  reviewDesktop = new ElectronReviewDesktop({
    trayIconsDir: join(resourcesDir, 'tray'),
    appIconPath: join(resourcesDir, 'icon.png'),
    getWindow: () => mainWindow,
    showWindow: () => showMainWindow(),
    navigate: (route) => navigateWindow(route)
  })
  const alerts = new ReviewAlerts({ coordinator: vigil.reviews, desktop: withNotificationSwitch(reviewDesktop, () => settings.notificationsEnabled()) })
  reviewAlerts = alerts

  setAppMenu({
    reviews: alerts.actions,
    openStore: () => {
      showMainWindow()
      void chooseStoreFile().then((path) => (path ? vigil.addStore(path) : null))
    },
    attachToUrl: () => {
      showMainWindow()
      navigateWindow('#/attach')
    },
    startDemo: () => {
      showMainWindow()
      void vigil.startDemo().catch((err: unknown) => console.error('vigil: demo failed:', err))
    }
  })

  alerts.start()
  showMainWindow()
  app.on('activate', () => showMainWindow())
  for (const link of pendingLinks.splice(0)) handleDeepLink(link)

  // The hub port AgentEnsemble publishers already point at (ws://localhost:7400/ingress; host and port from
  // Settings). Browsers on it reach the same API without settings changes: only this window changes them.
  // Another Vigil (or AgentEnsemble's own hub) with the port, or an unusable password setting, keeps the
  // server off (never unprotected); the window works without it and the Settings page says why.
  embedded.serve({ api: withoutSettingsWrites(vigil), events: vigil.events, extensions: vigil.serverExtensions() })
  await settings.startServer()
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})

let quitting = false
app.on('before-quit', (event) => {
  if (quitting || !service) return
  // Close sources (temp snapshots, sockets) before the process goes.
  event.preventDefault()
  quitting = true
  reviewAlerts?.stop()
  reviewDesktop?.dispose()
  void Promise.resolve(server?.close())
    .then(() => service?.close())
    .finally(() => app.quit())
})
