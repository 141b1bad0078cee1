import { expect, test } from '@playwright/test'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
test.beforeAll(async () => {
  vigil = await startVigil([])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
})

test('first run with nothing configured shows the welcome choices, never an empty window', async ({ page }) => {
  await page.goto(vigil.url)
  await expect(page.getByRole('heading', { name: 'Welcome to Vigil' })).toBeVisible()
  await expect(page.getByRole('link', { name: /Open a store/ })).toBeVisible()
  await expect(page.getByRole('link', { name: /Attach to a URL/ })).toBeVisible()
  await expect(page.getByRole('button', { name: /Try the demo/ })).toBeVisible()
  await expect(page.getByRole('status').filter({ hasText: 'Connected' })).toBeVisible()
  await shootBothSchemes(page, 'welcome')
})

test('a store that cannot be read gets a clear message and a next step', async ({ page }) => {
  await page.goto(`${vigil.url}/#/open`)
  await page.getByRole('textbox', { name: 'Store file' }).fill('/nonexistent/perspt.db')
  await page.getByRole('button', { name: 'Open store' }).click()
  const alert = page.getByRole('alert')
  await expect(alert).toHaveCount(1)
  await expect(alert).toContainText('No Perspt store at /nonexistent/perspt.db')
  await expect(alert).toContainText(/Run `perspt agent`|choose the right/)
  await shootBothSchemes(page, 'store-problem')
})

test('attaching to a URL where nothing listens shows the state and keeps retrying', async ({ page }) => {
  await page.goto(`${vigil.url}/#/attach`)
  await page.getByRole('textbox', { name: 'URL' }).fill('ws://127.0.0.1:9/ws')
  await page.getByRole('textbox', { name: /Name/ }).fill('nothing here')
  await page.getByRole('button', { name: 'Attach' }).click()
  const tile = page.locator('[data-source-kind=attachment]', { hasText: 'nothing here' })
  await expect(tile).toBeVisible()
  await expect(tile.locator('[data-status]')).toHaveAttribute('data-status', /reconnecting|connecting/)
})

test('the demo starts from the welcome screen and opens the store', async ({ page }) => {
  // A fresh Vigil: the tests above added sources, so this one would skip the welcome screen.
  const fresh = await startVigil([])
  await page.goto(fresh.url)
  await page.getByRole('button', { name: /Try the demo/ }).click()
  await expect(page).toHaveURL(/#\/store\//)
  await expect(page.locator('[role=row][data-session]').first()).toBeVisible()
  expect(await fresh.stop()).toBe(0)
})

test('sources are renamed and removed at runtime, from the sidebar', async ({ page }) => {
  const fresh = await startVigil([])
  try {
    await page.goto(`${fresh.url}/#/attach`)
    await page.getByRole('textbox', { name: 'URL' }).fill('ws://127.0.0.1:9/ws')
    await page.getByRole('textbox', { name: /Name/ }).fill('first name')
    await page.getByRole('button', { name: 'Attach' }).click()
    const nav = page.getByRole('navigation', { name: 'Sources' })
    await expect(nav.getByText('first name')).toBeVisible()

    await nav.getByRole('button', { name: 'Rename first name' }).click()
    const input = nav.getByRole('textbox', { name: 'New name for first name' })
    await input.fill('crew on the lab box')
    await input.press('Enter')
    await expect(nav.getByText('crew on the lab box')).toBeVisible()

    await nav.getByRole('button', { name: 'Remove crew on the lab box' }).click()
    await nav.getByRole('button', { name: 'Remove', exact: true }).click()
    await expect(nav.getByText('crew on the lab box')).toHaveCount(0)
    const res = await fetch(`${fresh.url}/api/rpc/listSources`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"args":[]}' })
    expect(((await res.json()) as { value: unknown[] }).value).toEqual([])
  } finally {
    expect(await fresh.stop()).toBe(0)
  }
})
