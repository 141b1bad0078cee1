// Gates find the user in any browser: a banner on every page while gates wait (count and nearest
// deadline), the tab title and favicon badge, Web Notifications asked for on the first gate
// interaction (never on load) whose click focuses the gate; a run waiting on a gate says "Waiting for
// review" in the sidebar, the run header, the Now page and the timeline. Real `vigil serve`, a real
// simulated AgentEnsemble dashboard, gates raised through Vigil's review API.
import { expect, test, type Page } from '@playwright/test'
import type { EnsembleSimulator } from '../../src/main/demo/ensemble-simulator'
import { startAttachedRun, type AttachedRun } from './support/attached-run'
import type { VigilProcess } from './support/vigil-process'

let sim: EnsembleSimulator
let vigil: VigilProcess
let attached: AttachedRun

test.beforeAll(async () => {
  attached = await startAttachedRun({ ensembleId: 'e-wait-0123456789', totalTasks: 2, taskDescription: 'Draft the release notes', agentRole: 'Writer' })
  ;({ sim, vigil } = attached)
})
test.afterAll(async () => {
  expect(await attached.stop()).toBe(0)
})

async function raise(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${vigil.url}/api/reviews`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(res.status).toBe(201)
  return ((await res.json()) as { reviewId: string }).reviewId
}

async function decide(id: string): Promise<void> {
  const res = await fetch(`${vigil.url}/api/rpc/decideReview`, { method: 'POST', headers: { 'content-type': 'application/json', origin: vigil.url }, body: JSON.stringify({ args: [id, 'CONTINUE'] }) })
  expect(res.status).toBe(200)
}

/** Records Notification.requestPermission calls and notifications shown, keeping the browser's own behaviour. */
async function spyOnNotifications(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __asked: number; __shown: Array<{ title: string; body: string; n: Notification }> }
    w.__asked = 0
    w.__shown = []
    const Real = window.Notification
    const ask = Real.requestPermission.bind(Real)
    class Spy extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options)
        w.__shown.push({ title, body: options?.body ?? '', n: this })
      }
      static override requestPermission(...a: Parameters<typeof Notification.requestPermission>) {
        w.__asked++
        return ask(...a)
      }
    }
    Object.defineProperty(window, 'Notification', { value: Spy, configurable: true, writable: true })
  })
}

test('a pending gate shows a banner on every page, the count in the title and favicon; notification permission is asked only on the first gate interaction', async ({ page }) => {
  await spyOnNotifications(page)
  const id = await raise({ taskDescription: 'Publish the weekly summary?', taskOutput: 'Draft.', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
  await page.goto(vigil.url)

  const banner = page.getByTestId('gate-banner')
  await expect(banner).toContainText('1 review waits for you')
  await expect(page.getByTestId('gate-banner-deadline')).toContainText(/Publish the weekly summary\? — .*(9:5\d|10:00)/)
  await expect(page).toHaveTitle(/^\(1\) Review waiting · Vigil$/)
  const icon = page.locator('link[rel=icon]')
  await expect(icon).toHaveAttribute('data-count', '1')
  await expect(icon).toHaveAttribute('href', /^data:image\/svg\+xml,/)

  // Needs you on the Now page: the gate with its countdown and one-key actions.
  const needs = page.getByTestId('now-needs')
  await expect(needs.locator(`[data-gate="${id}"]`)).toContainText('Publish the weekly summary?')

  // The banner is on every page, not only the Now page.
  await page.goto(`${vigil.url}/#/reviews/history`)
  await expect(banner).toBeVisible()

  // Never asked on load.
  expect(await page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(0)
  // First interaction with a gate: asked, once.
  await banner.getByRole('link', { name: /Open it/ }).click()
  await expect(page).toHaveURL(new RegExp(`#/reviews/${id}$`))
  await expect.poll(() => page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(1)
  await page.goto(`${vigil.url}/#/`)
  await page.getByTestId('gate-banner').getByRole('link', { name: /Open it/ }).click()
  expect(await page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBeLessThanOrEqual(1)

  await decide(id)
  await expect(banner).toHaveCount(0)
  await expect(page).toHaveTitle('Vigil')
  await expect(icon).toHaveAttribute('data-count', '0')
})

test('with notifications allowed, a new gate raises a notification whose click focuses that gate', async ({ page, context }) => {
  await context.grantPermissions(['notifications'], { origin: vigil.url })
  await spyOnNotifications(page)
  await page.goto(vigil.url)
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()
  expect(await page.evaluate(() => Notification.permission)).toBe('granted')

  const id = await raise({ taskDescription: 'Ship the hotfix?', taskOutput: 'Patch.', timeoutMs: 0, onTimeout: 'CONTINUE', source: 'ci' })
  await expect.poll(() => page.evaluate(() => (window as unknown as { __shown: Array<{ title: string }> }).__shown.length)).toBe(1)
  const shown = await page.evaluate(() => (window as unknown as { __shown: Array<{ title: string; body: string }> }).__shown.map(({ title, body }) => ({ title, body })))
  expect(shown[0]).toEqual({ title: 'Review needed', body: expect.stringContaining('Ship the hotfix?') })
  await page.evaluate(() => {
    const n = (window as unknown as { __shown: Array<{ n: Notification }> }).__shown[0]!.n
    n.onclick?.(new Event('click'))
  })
  await expect(page).toHaveURL(new RegExp(`#/reviews/${id}$`))
  await expect(page.getByTestId('gate-task')).toHaveText('Ship the hotfix?')
  await decide(id)
})

test('a run waiting on a gate says "Waiting for review" in the sidebar, the run header, the Now page and the timeline', async ({ page }) => {
  await page.goto(vigil.url)
  const runLink = page.getByRole('navigation').locator('a[href^="#/run/"]').first()
  await expect(runLink).toBeVisible({ timeout: 20_000 })
  await expect(runLink.locator('[data-status]')).toHaveAttribute('data-status', 'running')

  sim.broadcast({
    type: 'review_requested',
    reviewId: 'rv-wait-1',
    taskDescription: 'Draft the release notes',
    taskOutput: 'Notes: …',
    timing: 'AFTER_EXECUTION',
    timeoutMs: 300_000,
    onTimeout: 'CONTINUE'
  })

  await expect(runLink.locator('[data-status]')).toHaveText('Waiting for review')
  const nowRun = page.getByTestId('now-running').locator('[role=row][data-kind=run]')
  await expect(nowRun.locator('[data-status]')).toHaveText('Waiting for review')
  await expect(nowRun).toContainText('Waiting for review: Draft the release notes')

  await runLink.click()
  await expect(page.getByTestId('run-status')).toHaveText('Waiting for review')
  await expect(page.getByTestId('timeline-waiting')).toContainText('Waiting for review')

  // Decided: running again everywhere.
  await decide('rv-wait-1')
  await expect(page.getByTestId('run-status')).toHaveText('Running')
  await expect(runLink.locator('[data-status]')).toHaveText('Running')
})
