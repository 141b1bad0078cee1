// The Now page (the landing page once anything is configured) against the real `vigil serve --demo`:
// running sessions and runs, recent finishes with reasons, totals, sources; live updates without a
// reload; gates that wait show first with one-key actions and a banner on every page.
import { expect, test, type Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
test.beforeAll(async () => {
  vigil = await startVigil(['--demo'])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
})

const root = resolve(__dirname, '../..')

/** The Now page at a width, light and dark, for review by eye; the 1440 px pair refreshes the README's on request. */
async function shootNow(page: Page, width: number, height: number): Promise<void> {
  const dir = resolve(root, 'test-results/screenshots')
  mkdirSync(dir, { recursive: true })
  await page.setViewportSize({ width, height })
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await page.waitForTimeout(200)
    await page.screenshot({ path: resolve(dir, `now-${width}-${scheme}.png`) })
    if (process.env.VIGIL_DOCS_SCREENSHOTS === '1' && width === 1440) await page.screenshot({ path: resolve(root, `docs/screenshot-${scheme}.png`) })
  }
  await page.emulateMedia({ colorScheme: 'light' })
}

test('the Now page answers what runs, what failed and what it cost, and updates live without a reload', async ({ page }) => {
  await page.goto(vigil.url)
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()

  const running = page.getByTestId('now-running')
  // The demo's Perspt agent and its AgentEnsemble run are both running (or waiting for review).
  await expect(running.locator('[role=row][data-kind=session]').first()).toBeVisible({ timeout: 20_000 })
  await expect(running.locator('[role=row][data-kind=run]').first()).toBeVisible({ timeout: 20_000 })
  const sessionRow = running.locator('[role=row][data-kind=session]').first()
  await expect(sessionRow.locator('[data-status]')).toHaveAttribute('data-status', /running|waiting/)
  await expect(sessionRow).toContainText(/\d+\/\d+ nodes/)

  // Recently finished: failures first, each with a one-line reason linking to its evidence.
  const recent = page.getByTestId('now-recent').locator('li')
  await expect(recent.first()).toBeVisible()
  const statuses = await recent.evaluateAll((els) => els.map((el) => el.getAttribute('data-status')))
  const firstOk = statuses.findIndex((s) => !['failed', 'aborted', 'partial'].includes(s ?? ''))
  if (firstOk >= 0) expect(statuses.slice(firstOk).some((s) => ['failed', 'aborted', 'partial'].includes(s ?? ''))).toBe(false)
  const failed = page.getByTestId('now-recent').locator('li[data-status=failed]')
  if ((await failed.count()) > 0) await expect(failed.first().getByTestId('failure-reason')).not.toBeEmpty()

  // Totals and sources.
  await expect(page.getByTestId('now-totals')).toContainText('Today')
  await expect(page.getByTestId('trend').locator('rect.base')).toHaveCount(7)
  const sources = page.getByTestId('now-sources')
  await expect(sources.getByText('Demo · Perspt store')).toBeVisible()
  await expect(sources.getByText('Demo · AgentEnsemble')).toBeVisible()

  // Live: the session's LLM activity and the run's progress move; the page is never reloaded.
  await page.evaluate(() => ((window as unknown as { __marker: number }).__marker = 7))
  const spend = sessionRow.locator('[role=cell]').nth(4)
  const title = async () => (await spend.getAttribute('title')) ?? ''
  const before = await title()
  await expect.poll(title, { timeout: 20_000 }).not.toBe(before)
  expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(7)

  // The totals click through too: sessions to the store's table, live runs to the run.
  await page.getByTestId('now-totals').getByTestId('today-sessions').click()
  await expect(page).toHaveURL(/#\/store\/[^/]+$/)
  await page.goBack()
  await page.getByTestId('now-totals').getByTestId('today-runs').click()
  await expect(page).toHaveURL(/#\/run\//)
  await page.goBack()

  // Every row clicks through to its rows.
  await sessionRow.locator('a.title').click()
  await expect(page).toHaveURL(/#\/store\/[^/]+\/session\/[^/]+\/summary/)
  await page.goBack()
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()

  // A gate waits: first on the page, by deadline, with its countdown; one key approves it.
  const res = await fetch(`${vigil.url}/api/reviews`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ taskDescription: 'Publish the release notes for v2.4?', taskOutput: 'Draft notes.', timeoutMs: 900_000, onTimeout: 'CONTINUE', source: 'release-bot' })
  })
  expect(res.status).toBe(201)
  const gateId = ((await res.json()) as { reviewId: string }).reviewId
  const gate = page.getByTestId('now-needs').locator(`[data-gate="${gateId}"]`)
  await expect(gate).toContainText('Publish the release notes for v2.4?')
  await expect(gate.getByTestId('countdown')).toHaveText(/1[45]:\d\d/)

  // The demo's "what is where" panel is someone else's; folded away for the pictures.
  const hide = page.getByRole('button', { name: 'Hide', exact: true })
  if (await hide.isVisible()) await hide.click()
  await page.mouse.move(0, 0)
  // Coming back to the page shows the last overview at once (kept by the app), then refreshes it.
  await expect(running.locator('[role=row][data-kind=session]').first()).toBeVisible()
  await expect(page.getByTestId('now-recent').locator('li').first()).toBeVisible()
  await shootNow(page, 1440, 900)
  await shootNow(page, 1024, 700)

  await page.setViewportSize({ width: 1440, height: 900 })
  await gate.focus()
  await page.keyboard.press('a')
  await expect(gate).toHaveCount(0)
  const decided = await (await fetch(`${vigil.url}/api/reviews/${gateId}`)).json() as { status: string; outcome?: { decision: string; surface: string } }
  expect(decided).toMatchObject({ status: 'DECIDED', outcome: { decision: 'CONTINUE', surface: 'browser-inbox' } })
})
