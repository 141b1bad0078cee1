import { expect, test } from '@playwright/test'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
test.beforeAll(async () => {
  vigil = await startVigil(['--demo'])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
})

test('the demo store shows every session and its data updates live, without a reload', async ({ page }) => {
  await page.goto(vigil.url)
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()
  await page.getByRole('link', { name: /Demo · Perspt store/ }).first().click()

  const rows = page.locator('[role=row][data-session]')
  await expect(rows.first()).toBeVisible()
  expect(await rows.count()).toBeGreaterThanOrEqual(5)
  const running = page.locator('[role=row][data-session]:has([data-status=running])')
  await expect(running).toHaveCount(1)
  await expect(page.getByRole('navigation').locator('[data-status=live]')).toBeVisible()

  // Marks this page instance: a reload would drop the marker.
  await page.evaluate(() => ((window as unknown as { __vigilMarker: number }).__vigilMarker = 42))
  const llmCalls = running.locator('[role=cell]').nth(5)
  const before = Number(await llmCalls.textContent())
  await expect.poll(async () => Number(await llmCalls.textContent()), { timeout: 20_000 }).toBeGreaterThan(before)
  expect(await page.evaluate(() => (window as unknown as { __vigilMarker?: number }).__vigilMarker)).toBe(42)
  // How Vigil follows the agent's writes is shown: once its own copy is ready, it applies each write.
  await expect(page.getByTestId('store-reading')).toHaveText(/^follows each write/, { timeout: 20_000 })

  await shootBothSchemes(page, 'demo-store')
})

test('the sessions table searches, filters and sorts', async ({ page }) => {
  await page.goto(vigil.url)
  await page.getByRole('link', { name: /Demo · Perspt store/ }).first().click()
  const rows = page.locator('[role=row][data-session]')
  await expect(rows.first()).toBeVisible()
  const total = await rows.count()

  await page.getByRole('combobox', { name: 'Filter by status' }).selectOption('running')
  await expect(rows).toHaveCount(1)
  await page.getByRole('combobox', { name: 'Filter by status' }).selectOption('all')
  await expect(rows).toHaveCount(total)

  await page.getByRole('searchbox', { name: 'Search sessions' }).fill('zzzz-no-such-task')
  await expect(rows).toHaveCount(0)
  await expect(page.getByText('No session matches the search.')).toBeVisible()
  await page.getByRole('searchbox', { name: 'Search sessions' }).fill('')

  const header = page.getByRole('columnheader', { name: /LLM calls/ })
  await header.getByRole('button').click()
  await expect(header).toHaveAttribute('aria-sort', 'descending')
  const counts = await rows.evaluateAll((els) => els.map((el) => Number(el.querySelectorAll('[role=cell]')[5]?.textContent)))
  expect(counts).toEqual([...counts].sort((a, b) => b - a))
})

test('the live run shows its tasks and progress as the simulated ensemble plays', async ({ page }) => {
  await page.goto(vigil.url)
  const runLink = page.getByRole('navigation').locator('a[href^="#/run/"]').first()
  await expect(runLink).toBeVisible({ timeout: 20_000 })
  await runLink.click()
  await expect(page.getByTestId('run-progress')).toHaveText(/\d+ \/ \d+ tasks/)
  await expect(page.getByRole('heading', { name: /SEQUENTIAL/ })).toBeVisible()
  // New events arrive: the count grows and the list's newest row changes.
  const toggle = page.getByRole('button', { name: /^Events \(\d+\)/ })
  const count = async () => Number(/Events\s*\((\d+)\)/.exec((await toggle.textContent()) ?? '')?.[1])
  const newest = page.getByRole('list', { name: 'Recent events' }).locator('li').first()
  const first = await count()
  const firstRow = await newest.textContent()
  await expect.poll(count, { timeout: 20_000 }).toBeGreaterThan(first)
  await expect.poll(() => newest.textContent(), { timeout: 20_000 }).not.toBe(firstRow)
  await shootBothSchemes(page, 'demo-run')
})
