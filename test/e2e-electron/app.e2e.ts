// The real desktop app under Playwright's Electron driver. Runs only where an Electron binary is
// installed (`npm install` with internet); on machines without one every test reports "skipped".
import { _electron as electron, expect, test } from '@playwright/test'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(__dirname, '../..')

function electronBinary(): string | null {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const bin = join(process.env.ELECTRON_OVERRIDE_DIST_PATH, process.platform === 'win32' ? 'electron.exe' : 'electron')
    return existsSync(bin) ? bin : null
  }
  const pathFile = join(root, 'node_modules/electron/path.txt')
  if (!existsSync(pathFile)) return null
  const bin = join(root, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(bin) ? bin : null
}

const binary = electronBinary()
test.skip(binary === null, 'No Electron binary on this machine (it is downloaded by `npm install` with internet)')

test('the desktop window opens hardened on app:// and shows the welcome screen', async () => {
  const userData = mkdtempSync(join(tmpdir(), 'vigil-e2e-'))
  const app = await electron.launch({
    executablePath: binary!,
    args: [root, `--user-data-dir=${userData}`],
    env: { ...process.env, XDG_DATA_HOME: userData }
  })
  const window = await app.firstWindow()
  expect(window.url()).toMatch(/^app:\/\/renderer\//)
  await expect(window.getByRole('heading', { name: 'Welcome to Vigil' })).toBeVisible()
  const prefs = await app.evaluate(({ BrowserWindow }) => {
    const wc = BrowserWindow.getAllWindows()[0]!.webContents
    return { isolated: typeof (wc as unknown as { getLastWebPreferences?: unknown }).getLastWebPreferences }
  })
  expect(prefs).toBeTruthy()
  // The page has the API, and no Node.
  expect(await window.evaluate(() => typeof (window as unknown as { vigil?: unknown }).vigil)).toBe('object')
  expect(await window.evaluate(() => typeof (globalThis as unknown as { require?: unknown }).require)).toBe('undefined')
  await app.close()
})

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      srv.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))))
    })
  })
}

test('review gates reach the desktop: Reviews menu, inbox navigation, do-not-disturb, the approval dialog', async () => {
  const userData = mkdtempSync(join(tmpdir(), 'vigil-e2e-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const app = await electron.launch({
    executablePath: binary!,
    args: [root, `--user-data-dir=${userData}`],
    env: { ...process.env, XDG_DATA_HOME: userData, VIGIL_PORT: String(port) }
  })
  const window = await app.firstWindow()
  await expect.poll(async () => (await fetch(`${base}/api/reviews`).catch(() => null))?.status, { timeout: 15_000 }).toBe(200)

  // Native message boxes cannot be clicked from here: answer them in the main process, and keep what they showed.
  await app.evaluate(({ dialog }) => {
    const shown: Electron.MessageBoxOptions[] = []
    ;(globalThis as unknown as { shownBoxes: Electron.MessageBoxOptions[] }).shownBoxes = shown
    dialog.showMessageBox = (async (a: unknown, b?: Electron.MessageBoxOptions) => {
      const options = (b ?? a) as Electron.MessageBoxOptions
      shown.push({ ...options, signal: undefined })
      return { response: 0, checkboxChecked: false } // the first button: Approve
    }) as typeof dialog.showMessageBox
  })
  const reviewsItem = (label: string) =>
    app.evaluate(({ Menu }, wanted) => {
      const item = Menu.getApplicationMenu()?.items.find((i) => i.label === 'Reviews')?.submenu?.items.find((i) => i.label === wanted)
      return item ? { enabled: item.enabled, checked: item.checked } : null
    }, label)
  const clickReviewsItem = (label: string) =>
    app.evaluate(({ Menu }, wanted) => {
      Menu.getApplicationMenu()?.items.find((i) => i.label === 'Reviews')?.submenu?.items.find((i) => i.label === wanted)?.click()
    }, label)

  expect(await reviewsItem('Review Next Gate…')).toEqual({ enabled: false, checked: false })

  // A gate through the review API: the menu offers it.
  const created = await fetch(`${base}/api/reviews`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ taskDescription: 'Ship the release', taskOutput: 'All checks green', timeoutMs: 0, onTimeout: 'CONTINUE', source: 'e2e' })
  })
  expect(created.status).toBe(201)
  const { reviewId } = (await created.json()) as { reviewId: string }
  await expect.poll(async () => (await reviewsItem('Review Next Gate…'))?.enabled).toBe(true)
  if (process.platform === 'darwin') expect(await app.evaluate(({ app }) => app.getBadgeCount())).toBe(1)

  // "Open Review Inbox" brings the window to #/reviews (the inbox then selects the only gate).
  await clickReviewsItem('Open Review Inbox')
  await expect.poll(() => window.evaluate(() => location.hash)).toMatch(/^#\/reviews(\/|$)/)

  // Do not disturb from the menu reaches the coordinator; set from the window, the menu follows.
  await clickReviewsItem('Do Not Disturb')
  type Bridge = { listReviews(): Promise<{ doNotDisturb: boolean }>; setDoNotDisturb(on: boolean): Promise<unknown> }
  await expect.poll(() => window.evaluate(() => (window as unknown as { vigil: Bridge }).vigil.listReviews().then((s) => s.doNotDisturb))).toBe(true)
  await window.evaluate(() => (window as unknown as { vigil: Bridge }).vigil.setDoNotDisturb(false))
  await expect.poll(async () => (await reviewsItem('Do Not Disturb'))?.checked).toBe(false)

  // "Review Next Gate…" opens the approval dialog; its first button approves with surface "dialog".
  await clickReviewsItem('Review Next Gate…')
  await expect
    .poll(async () => ((await (await fetch(`${base}/api/reviews/${reviewId}`)).json()) as { outcome?: { decision: string; surface: string } }).outcome)
    .toMatchObject({ decision: 'CONTINUE', surface: 'dialog' })
  const boxes = await app.evaluate(() => (globalThis as unknown as { shownBoxes: Electron.MessageBoxOptions[] }).shownBoxes)
  expect(boxes[0]).toMatchObject({ message: 'Ship the release', buttons: ['Approve', 'Edit…', 'Exit Early', 'Cancel'], cancelId: 3 })
  expect(boxes[0]!.detail).toContain('All checks green')
  await expect.poll(async () => (await reviewsItem('Review Next Gate…'))?.enabled).toBe(false)
  await app.close()
})
