// The Settings page in `vigil serve --demo`: the demo's facts (what runs where) on the overview and in
// Settings, the same as the banner prints; the server's settings read-only (they are command-line flags
// here), and the API refusing every settings change from the page.
import { expect, test } from '@playwright/test'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
/** The banner's lines, e.g. "Data folder" → "/tmp/…". */
let banner: Record<string, string>

test.beforeAll(async () => {
  vigil = await startVigil(['--demo'])
  await expect.poll(() => /Stop\s{2,}/.test(vigil.output())).toBe(true)
  banner = {}
  for (const line of vigil.output().split('\n')) {
    const m = /^ {2}(\S.*?)\s{2,}(\S+)/.exec(line)
    if (m) banner[m[1]!] = m[2]!
  }
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
})

test('the overview says the demo is running and what is where, as the banner does', async ({ page }) => {
  await page.goto(vigil.url)
  const panel = page.getByTestId('demo-places')
  await expect(panel.getByRole('heading', { name: 'Demo running — what is where' })).toBeVisible()
  const ws = vigil.url.replace(/^http/, 'ws')
  await expect(panel.locator('[data-place="Interface"] .value')).toHaveText(`${vigil.url}/`)
  await expect(panel.locator('[data-place="Hub ingress"] .value')).toHaveText(`${ws}/ingress`)
  await expect(panel.locator('[data-place="Hub dashboard"] .value')).toHaveText(`${ws}/ws`)
  await expect(panel.locator('[data-place="Review API"] .value')).toHaveText(`${vigil.url}/api/reviews`)
  await expect(panel.locator('[data-place="Data folder"] .value')).toHaveText(banner['Data folder']!)
  await expect(panel.locator('[data-place="Demo store"] .value')).toHaveText(banner['Demo store']!)
  await expect(panel.locator('[data-place="Demo store"] .value')).toHaveText(/perspt\.db$/)
  await expect(panel.locator('[data-place="Demo ensemble"] .value')).toHaveText(banner['Demo ensemble']!)
  // The banner printed the same URLs.
  expect(banner['Hub ingress']).toBe(`${ws}/ingress`)
  await shootBothSchemes(page, 'overview-demo-places')

  await panel.getByRole('button', { name: 'Hide' }).click()
  await expect(panel.locator('[data-place]')).toHaveCount(0)
})

test('Settings opens from the sidebar, the top bar and Ctrl+,', async ({ page }) => {
  await page.goto(vigil.url)
  await expect(page.getByTestId('demo-places')).toBeVisible()
  await page.keyboard.press('Control+Comma')
  await expect(page).toHaveURL(/#\/settings$/)
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible()
  await page.goto(`${vigil.url}/#/`)
  await page.getByTestId('sidebar-settings').click()
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible()
  await expect(page.getByTestId('sidebar-settings')).toHaveClass(/active/)
  await page.goto(`${vigil.url}/#/`)
  await page.getByTestId('topbar-settings').click()
  await expect(page).toHaveURL(/#\/settings$/)
})

test('in vigil serve the settings are read-only facts, and the API refuses every change', async ({ page }) => {
  await page.goto(`${vigil.url}/#/settings`)
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible()
  await expect(page.getByTestId('settings-read-only')).toContainText('command-line flags')
  await expect(page.getByTestId('settings-read-only')).toContainText('--password-file')

  // The facts: where it runs, the demo's store, the data folder, no password, no token.
  const places = page.getByTestId('places')
  await expect(places.locator('[data-place="Interface"] .value')).toHaveText(`${vigil.url}/`)
  await expect(places.locator('[data-place="Demo store"] .value')).toHaveText(banner['Demo store']!)
  await expect(places.locator('[data-place="Data folder"] .value')).toHaveText(banner['Data folder']!)
  await expect(page.getByText('Demo mode: simulated agents are running')).toBeVisible()
  const facts = page.getByTestId('server-facts')
  await expect(facts).toContainText('127.0.0.1')
  await expect(facts).toContainText(new URL(vigil.url).port)
  await expect(page.getByTestId('server-status')).toContainText(`Running at ${vigil.url}`)
  await expect(page.getByTestId('password-status')).toContainText('No password')
  await expect(page.getByTestId('token-status')).toContainText('No token')

  // Nothing to change: no host, port or password fields, no token buttons, no desktop switches.
  await expect(page.getByLabel('Host', { exact: true })).toHaveCount(0)
  await expect(page.getByLabel('Port', { exact: true })).toHaveCount(0)
  await expect(page.locator('main input[type=text]')).toHaveCount(0)
  await expect(page.locator('input[type=password]')).toHaveCount(0)
  for (const name of ['Save and restart server', 'Set password', 'Create token', 'Rotate token']) {
    await expect(page.getByRole('button', { name })).toHaveCount(0)
  }
  await expect(page.getByLabel('Start Vigil when I log in')).toHaveCount(0)
  // What makes sense for a browser: its own notifications.
  await expect(page.getByRole('heading', { name: 'This browser' })).toBeVisible()
  await expect(page.getByTestId('browser-notifications')).toBeVisible()
  await shootBothSchemes(page, 'settings-serve')

  // The page's own origin, no login needed here (loopback, no password), and still every change is refused.
  const answers = await page.evaluate(async () => {
    const call = async (method: string, args: unknown[]) => {
      const res = await fetch(`/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args }) })
      return { status: res.status, body: (await res.json()) as { ok: boolean; error?: { code: string } } }
    }
    return [
      await call('setPassword', ['a-long-enough-password']),
      await call('clearPassword', []),
      await call('updateSettings', [{ port: 7999 }]),
      await call('createIngressToken', []),
      await call('removeIngressToken', []),
      await call('getSettings', [])
    ]
  })
  for (const answer of answers.slice(0, 5)) expect(answer).toMatchObject({ status: 403, body: { ok: false, error: { code: 'forbidden' } } })
  expect(answers[5]).toMatchObject({ status: 200, body: { ok: true, value: { editable: false, mode: 'web' } } })
  // Still the same server, still no password.
  await page.reload()
  await expect(page.getByTestId('password-status')).toContainText('No password')
})

test('“Notify me in this browser” off: a new review gate raises no Web Notification; on again: it does', async ({ page, context }) => {
  await context.grantPermissions(['notifications'], { origin: vigil.url })
  // Records what the page would show instead of showing it.
  await page.addInitScript(() => {
    const shown: string[] = []
    ;(window as unknown as { __shown: string[] }).__shown = shown
    class RecordingNotification {
      static permission = 'granted'
      static requestPermission = async () => 'granted'
      onclick: (() => void) | null = null
      constructor(title: string, options?: { body?: string }) {
        shown.push(`${title}: ${options?.body ?? ''}`)
      }
      close() {}
    }
    ;(window as unknown as { Notification: unknown }).Notification = RecordingNotification
  })
  const shown = () => page.evaluate(() => (window as unknown as { __shown: string[] }).__shown.join('\n'))
  const raise = async (task: string) => {
    const res = await fetch(`${vigil.url}/api/reviews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ taskDescription: task, taskOutput: 'out', timeoutMs: 300_000, onTimeout: 'CONTINUE' })
    })
    expect(res.status).toBe(201)
    await expect(page.getByTestId('sidebar-review-count')).toContainText(/[1-9]/)
  }

  await page.goto(`${vigil.url}/#/settings`)
  const toggle = page.getByTestId('browser-notifications')
  await expect(toggle).toBeChecked()
  await toggle.uncheck()
  await expect(toggle).not.toBeChecked()
  await raise('Gate while notifications are off')
  await page.waitForTimeout(500)
  expect(await shown()).not.toContain('Gate while notifications are off')

  await toggle.check()
  await expect(toggle).toBeChecked()
  // The choice is kept in this browser.
  await page.reload()
  await expect(page.getByTestId('browser-notifications')).toBeChecked()
  await raise('Gate while notifications are on')
  await expect.poll(shown).toContain('Gate while notifications are on')
})
