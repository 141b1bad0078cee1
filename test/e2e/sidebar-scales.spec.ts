// A sidebar that scales: 200 runs (199 finished) of one source stay behind "200 finished", newest first,
// searchable and virtualised; runs are named by their ensemble id and start time with zone; a "Skip to
// content" link is the first Tab stop; the sidebar folds away and the layout works at 1024 px.
import { expect, test } from '@playwright/test'
import { EnsembleSimulator } from '../../src/main/demo/ensemble-simulator'
import type { ServerMessage } from '../../src/shared/protocol/agentensemble'
import { startVigil, type VigilProcess } from './support/vigil-process'

let sim: EnsembleSimulator
let vigil: VigilProcess
const FINISHED = 199 // plus one running: 200 runs, the tracker's bound

test.beforeAll(async () => {
  const t0 = Date.now() - 3 * 3600_000
  const at = (ms: number) => new Date(t0 + ms).toISOString()
  const script: ServerMessage[] = []
  for (let i = 0; i < FINISHED; i++) {
    const id = `e-${String(i).padStart(4, '0')}-${'x'.repeat(8)}`
    script.push(
      { type: 'ensemble_started', ensembleId: id, startedAt: at(i * 50_000), totalTasks: 1, workflow: 'SEQUENTIAL' },
      { type: 'ensemble_completed', ensembleId: id, completedAt: at(i * 50_000 + 20_000), durationMs: 20_000, exitReason: i % 10 === 3 ? 'ERROR' : 'COMPLETED', totalTokens: 0, totalToolCalls: 0 }
    )
  }
  script.push({ type: 'ensemble_started', ensembleId: 'e-live-yyyyyyyy', startedAt: new Date().toISOString(), totalTasks: 2, workflow: 'SEQUENTIAL' })
  sim = new EnsembleSimulator({ script, heartbeatMs: 60_000, maxRetainedRuns: 250 })
  await sim.start()
  vigil = await startVigil(['--attach', sim.url])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  await sim.stop()
})

test('199 finished runs of 200 fold behind one line, newest first, with search; the running one stays in view', async ({ page }) => {
  await page.goto(vigil.url)
  const nav = page.getByRole('navigation', { name: 'Sources' })
  const group = nav.getByTestId('run-group')
  const toggle = group.getByTestId('finished-toggle')
  await expect(toggle).toHaveText(new RegExp(`^\\W*${FINISHED} finished$`), { timeout: 20_000 })
  await expect(toggle).toHaveAttribute('aria-expanded', 'false')
  // Only the running run is listed until asked, named by ensemble id and start time with its zone.
  const visibleRuns = group.locator('a[data-run]')
  await expect(visibleRuns).toHaveCount(1)
  await expect(visibleRuns.first()).toContainText(/e-live-y \d\d:\d\d \S+/)

  await toggle.click()
  await expect(toggle).toHaveAttribute('aria-expanded', 'true')
  const list = group.getByTestId('finished-list')
  const rows = list.locator('a[data-run]')
  await expect(rows.first()).toContainText('e-0198')
  await expect(rows.nth(1)).toContainText('e-0197')
  // Virtualised: a window of rows in the DOM, not 200.
  expect(await rows.count()).toBeLessThan(40)
  await list.evaluate((el) => (el.scrollTop = el.scrollHeight))
  await expect(list.locator('a[data-run]').last()).toContainText('e-0000')

  await group.getByRole('searchbox').fill('e-0150')
  await expect(rows).toHaveCount(1)
  await rows.first().click()
  await expect(page.getByTestId('run-status')).toHaveText('Completed')
  await group.getByRole('searchbox').fill('no such run')
  await expect(group.getByText('No run matches.')).toBeVisible()
})

test('"Skip to content" is the first Tab stop and moves the focus to the page', async ({ page }) => {
  await page.goto(vigil.url)
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()
  await page.keyboard.press('Tab')
  const skip = page.getByTestId('skip-link')
  await expect(skip).toBeFocused()
  await expect(skip).toBeVisible()
  await page.keyboard.press('Enter')
  await expect(page.locator('main#main-content')).toBeFocused()
  await expect(page).toHaveURL(/#?\/?$/)
  // The next Tab lands inside the page, not in the sidebar.
  await page.keyboard.press('Tab')
  expect(await page.evaluate(() => !!document.activeElement?.closest('main'))).toBe(true)
})

test('the sidebar folds away and back (remembered), and the page uses the width at 1024 px', async ({ page }) => {
  await page.setViewportSize({ width: 1024, height: 700 })
  await page.goto(vigil.url)
  const nav = page.getByRole('navigation', { name: 'Sources' })
  await expect(nav).toBeVisible()
  const before = (await page.locator('main').boundingBox())!.width
  await page.getByTestId('sidebar-toggle').click()
  await expect(nav).toHaveCount(0)
  await expect(page.getByTestId('sidebar-toggle')).toHaveAttribute('aria-expanded', 'false')
  expect((await page.locator('main').boundingBox())!.width).toBeGreaterThan(before + 200)
  await page.reload()
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()
  await expect(nav).toHaveCount(0)
  await page.getByTestId('sidebar-toggle').click()
  await expect(nav).toBeVisible()
  // Nothing on the Now page overflows sideways at 1024 px.
  expect(await page.locator('main').evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true)
})
