// Issue 17 item 5: opening a big store (2,000 sessions, 1M LLM rows, 154 MB) shows the session list
// before its counts, with progress said, never zeros; the counts replace the placeholders when ready.
import { expect, test } from '@playwright/test'
import { bigStorePath } from '../../bench/perspt-big-store'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
let storePath: string

test.beforeAll(async () => {
  test.setTimeout(240_000)
  // Built once per machine (about 10 s on 2 idle cores), shared with `npm run bench perspt-views`.
  storePath = await bigStorePath()
  vigil = await startVigil([])
})

test.afterAll(async () => {
  await vigil?.stop()
})

interface Seen {
  /** ms from adding the store to the first session row in the DOM. */
  firstRowMs: number | null
  /** Rows were on screen while the counting status showed, with "…" (not 0) in their count cells. */
  rowsWhileCounting: boolean
  placeholdersWhileCounting: boolean
  zeroWhileCounting: boolean
  countedMs: number | null
}

test('a 2,000-session store lists its sessions first, then their counts, with progress shown', async ({ page }) => {
  test.setTimeout(120_000)
  await page.goto(vigil.url)
  // No source yet: the welcome page, connected.
  await expect(page.getByRole('heading', { name: 'Welcome to Vigil' })).toBeVisible()
  await expect(page.getByRole('status').filter({ hasText: 'Connected' })).toBeVisible()

  // Watch the DOM from before the store is added, so no moment is missed between Playwright polls.
  await page.evaluate(() => {
    const seen = { firstRowMs: null, rowsWhileCounting: false, placeholdersWhileCounting: false, zeroWhileCounting: false, countedMs: null } as Record<string, unknown>
    const w = window as unknown as { __seen: typeof seen; __t0: number }
    w.__seen = seen
    const look = () => {
      const row = document.querySelector('[role=row][data-session]')
      const counting = document.querySelector('[data-testid=counting]')
      if (row && seen.firstRowMs === null) seen.firstRowMs = performance.now() - w.__t0
      if (row && counting) {
        seen.rowsWhileCounting = true
        const cells = [...row.querySelectorAll('[role=cell]')].map((c) => c.textContent?.trim() ?? '')
        if (cells.includes('…')) seen.placeholdersWhileCounting = true
        if (row.querySelector('.nodes')) seen.zeroWhileCounting = true
      }
      if (row && !counting && row.querySelector('.nodes') && seen.countedMs === null) seen.countedMs = performance.now() - w.__t0
    }
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true })
  })

  const storeId = await page.evaluate(async (path) => {
    ;(window as unknown as { __t0: number }).__t0 = performance.now()
    const res = await fetch('/api/rpc/addStore', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args: [path] }) })
    const body = (await res.json()) as { ok: boolean; value: { id: string } }
    return body.value.id
  }, storePath)
  await page.evaluate((id) => (window.location.hash = `#/store/${encodeURIComponent(id)}`), storeId)

  const rows = page.locator('[role=row][data-session]')
  await expect(rows.first()).toBeVisible({ timeout: 30_000 })
  await expect(page.getByText('2000 of 2000 sessions', { exact: true })).toBeVisible()
  // Counted: the status goes away and the newest session shows its node counts.
  await expect(page.getByTestId('counting')).toHaveCount(0, { timeout: 60_000 })
  await expect(rows.first().locator('.nodes .n.c')).toBeVisible()

  const seen = await page.evaluate(() => (window as unknown as { __seen: Seen }).__seen)
  test.info().annotations.push({ type: 'first rows', description: JSON.stringify(seen) })
  expect(seen.rowsWhileCounting).toBe(true)
  expect(seen.placeholdersWhileCounting).toBe(true)
  expect(seen.zeroWhileCounting).toBe(false)
  expect(seen.firstRowMs).not.toBeNull()
  expect(seen.countedMs).toBeGreaterThan(seen.firstRowMs!)
})
