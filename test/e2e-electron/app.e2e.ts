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
