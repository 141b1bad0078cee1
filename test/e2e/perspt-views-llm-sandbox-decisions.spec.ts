import { expect, test, type Page } from '@playwright/test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { VIEWS_MAIN, VIEWS_NEEDLE, buildViewsStore } from '../fixtures/perspt-fixtures'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

const REQUESTS = 3000
const ROW_HEIGHT = 34
const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-views-'))
const full = join(dir, 'perspt-23.db')
const old = join(dir, 'perspt-4.db')
let vigil: VigilProcess
let ids: { full: string; old: string }
let expected: { n: number; tIn: number; tOut: number; lat: number; nodeTask2: number; idAt2000: number }

async function sql(path: string, q: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    return (await con.runAndReadAll(q)).getRowObjectsJS()
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

test.beforeAll(async () => {
  await buildViewsStore(full, { generation: 23, llmRequests: REQUESTS })
  await buildViewsStore(old, { generation: 4, llmRequests: 20 })
  const [totals] = await sql(
    full,
    `SELECT count(*)::INTEGER AS n, sum(tokens_in)::INTEGER AS t_in, sum(tokens_out)::INTEGER AS t_out, sum(latency_ms)::INTEGER AS lat,
       (SELECT count(*)::INTEGER FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND node_id = 'task_2') AS node2,
       (SELECT id FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' ORDER BY timestamp DESC, id DESC LIMIT 1 OFFSET 2000) AS id2000
     FROM llm_requests WHERE session_id = '${VIEWS_MAIN}'`
  )
  expected = {
    n: totals!.n as number,
    tIn: totals!.t_in as number,
    tOut: totals!.t_out as number,
    lat: totals!.lat as number,
    nodeTask2: totals!.node2 as number,
    idAt2000: totals!.id2000 as number
  }
  vigil = await startVigil(['--db', full, '--db', old])
})

test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  rmSync(dir, { recursive: true, force: true })
})

async function storeIds(page: Page): Promise<{ full: string; old: string }> {
  if (ids) return ids
  const res = await page.request.post(`${vigil.url}/api/rpc/listSources`, { data: { args: [] } })
  const body = (await res.json()) as { ok: boolean; value: Array<{ id: string; kind: string; path?: string; state?: string }> }
  expect(body.ok).toBe(true)
  const find = (path: string) => body.value.find((s) => s.kind === 'store' && s.path === path)?.id
  ids = { full: find(full)!, old: find(old)! }
  expect(ids.full).toBeTruthy()
  expect(ids.old).toBeTruthy()
  return ids
}

async function open(page: Page, view: 'llm' | 'sandbox' | 'decisions', store: 'full' | 'old' = 'full', query = '') {
  const id = (await storeIds(page))[store]
  await page.goto(`${vigil.url}/#/store/${encodeURIComponent(id)}/session/${VIEWS_MAIN}/${view}${query}`)
}

const int = (n: number) => n.toLocaleString('en')

test('LLM telemetry: totals match SQL, rows arrive in windows as the table scrolls, full text on click', async ({ page }) => {
  await open(page, 'llm')
  await expect(page.getByTestId('llm-requests')).toHaveText(int(expected.n))
  await expect(page.getByTestId('llm-tokens-in')).toHaveAttribute('title', int(expected.tIn))
  await expect(page.getByTestId('llm-tokens-out')).toHaveAttribute('title', int(expected.tOut))
  await expect(page.getByTestId('llm-latency-total')).toHaveAttribute('title', `${int(expected.lat)} ms`)
  await expect(page.getByRole('table', { name: 'Per model' }).locator('tbody tr')).toHaveCount(3)
  await expect(page.getByTestId('llm-count')).toHaveText(`${int(REQUESTS)} requests`)
  // A per-model row (a click anywhere on it) filters the requests to that model; its button toggles it back.
  const modelRow = page.getByRole('table', { name: 'Per model' }).locator('tbody tr').first()
  const modelRequests = (await modelRow.locator('td').nth(1).textContent())!.trim()
  await modelRow.locator('td').nth(2).click()
  await expect(page.getByTestId('llm-count')).toHaveText(`${modelRequests} of ${int(REQUESTS)} requests`)
  await expect(modelRow).toHaveAttribute('aria-selected', 'true')
  await modelRow.getByRole('button').click()
  await expect(page.getByTestId('llm-count')).toHaveText(`${int(REQUESTS)} requests`)

  // Only a window of rows is in the DOM, never all 3,000.
  const rows = page.locator('[data-testid=llm-rows] [data-request]')
  await expect(rows.first()).toBeVisible()
  const inDom = await rows.count()
  expect(inDom).toBeGreaterThan(5)
  expect(inDom).toBeLessThan(80)

  // Scrolling far down fetches that window (newest first: row 2000 is the SQL row at OFFSET 2000).
  const body = page.getByRole('region', { name: 'LLM requests' })
  await body.evaluate((el, top) => (el.scrollTop = top), 2000 * ROW_HEIGHT)
  await expect(page.locator(`[data-request="${expected.idAt2000}"]`)).toBeVisible()
  expect(await rows.count()).toBeLessThan(80)
  expect(await page.locator(`[data-request="${expected.idAt2000}"]`).getAttribute('aria-rowindex')).toBe(String(2000 + 2))

  // Sorting is done by the server: latency, slowest first.
  const latency = page.getByRole('columnheader', { name: /Latency/ })
  await latency.getByRole('button').click()
  await expect(latency).toHaveAttribute('aria-sort', 'descending')
  await expect(page.getByText(int(REQUESTS) + ' requests')).toBeVisible()
  await expect(rows.first()).toBeVisible()
  const lat = await rows.evaluateAll((els) => els.slice(0, 10).map((el) => el.querySelectorAll('[role=cell]')[6]?.textContent?.trim() ?? ''))
  const ms = lat.map((t) => (t.endsWith(' ms') ? Number(t.slice(0, -3)) : Number(t.slice(0, -2)) * 1000))
  expect(ms).toEqual([...ms].sort((a, b) => b - a))

  // Search, then open the full prompt and response (rendered as text).
  await page.getByRole('searchbox', { name: 'Search LLM requests' }).fill(VIEWS_NEEDLE.toLowerCase())
  await expect(page.getByTestId('llm-count')).toHaveText(`1 of ${int(REQUESTS)} requests`)
  await rows.first().click()
  const detail = page.getByTestId('llm-detail')
  await expect(detail.getByTestId('llm-prompt')).toHaveText(`Find the ${VIEWS_NEEDLE} here`)
  await expect(detail.getByTestId('llm-response')).toHaveText(/^Response 11 — café ✓$/)
  await expect(detail.getByRole('button', { name: 'Copy' })).toHaveCount(2)
  await page.getByRole('searchbox', { name: 'Search LLM requests' }).fill('')
  await expect(page.getByTestId('llm-count')).toHaveText(`${int(REQUESTS)} requests`)
  await shootBothSchemes(page, 'session-llm')

  await detail.getByRole('button', { name: 'Close the request' }).click()
  await expect(detail).toHaveCount(0)

  // The keyboard: Home opens the first request (its details from the fetched row), Escape closes it.
  await body.focus()
  await page.keyboard.press('Home')
  const firstId = await rows.first().getAttribute('data-request')
  await expect(detail).toHaveAttribute('aria-label', `Request ${firstId}`)
  await expect(detail.locator('.meta')).toBeVisible()
  await page.keyboard.press('Escape')
  await expect(detail).toHaveCount(0)
})

test('LLM: a node link preselects the node filter; node cells link to the DAG', async ({ page }) => {
  await open(page, 'llm', 'full', '?node=task_2')
  await expect(page.getByRole('textbox', { name: 'Filter by node' })).toHaveValue('task_2')
  await expect(page.getByTestId('llm-count')).toHaveText(`${int(expected.nodeTask2)} of ${int(REQUESTS)} requests`)
  const link = page.locator('[data-testid=llm-rows] [data-request] a').first()
  await expect(link).toHaveAttribute('href', /\/dag\?node=task_2$/)
})

test('Sandbox: branches, lineage scoped to the session, flushes and seals; search and sort', async ({ page }) => {
  await open(page, 'sandbox')
  const branches = page.getByRole('table', { name: 'Provisional branches' }).locator('tbody tr')
  await expect(branches).toHaveCount(4)
  await expect(page.getByTestId('count-active')).toHaveText('1')
  await expect(page.getByTestId('count-flushed')).toHaveText('1')
  await expect(branches.first()).toContainText(`/work/app/.perspt/sandboxes/${VIEWS_MAIN}/branch_task_1_aaaa/`)
  await expect(page.getByRole('table', { name: 'Branch lineage' }).locator('tbody tr')).toHaveCount(2)
  await expect(page.getByRole('table', { name: 'Branch flushes' }).locator('tbody tr')).toHaveCount(2)
  await expect(page.getByRole('table', { name: 'Interface seals' }).locator('tbody tr')).toHaveCount(2)
  await expect(page.getByText('branch_task_1_zzzz')).toHaveCount(0)

  const state = page.getByRole('columnheader', { name: /State/ })
  // Text columns sort A→Z first (the shared table), a second click Z→A.
  await state.getByRole('button').click()
  await expect(state).toHaveAttribute('aria-sort', 'ascending')
  await expect(branches.first().locator('[data-status]')).toHaveAttribute('data-status', 'active')
  await state.getByRole('button').click()
  await expect(state).toHaveAttribute('aria-sort', 'descending')
  await expect(branches.first().locator('[data-status]')).toHaveAttribute('data-status', 'sealed')
  await page.getByRole('searchbox', { name: 'Search the sandbox' }).fill('task_3')
  await expect(branches).toHaveCount(1)
  await page.getByRole('searchbox', { name: 'Search the sandbox' }).fill('')
  await shootBothSchemes(page, 'session-sandbox')
})

test('Decision trace: sections in order, counts, collapse, search; old stores say what is missing', async ({ page }) => {
  // The grouped view is the second tab of the decisions (the timeline is the first).
  await open(page, 'decisions', 'full', '?tab=grouped')
  const sections = page.locator('section[data-section]')
  await expect(sections).toHaveCount(9)
  expect(await sections.evaluateAll((els) => els.map((el) => el.getAttribute('data-section')))).toEqual([
    'escalations', 'sheaf', 'rewrites', 'plans', 'repairs', 'verifications', 'reviews', 'steps', 'corrections'
  ])
  const esc = page.locator('section[data-section=escalations]')
  const escHead = esc.getByRole('button', { name: /Escalations/ })
  await expect(escHead).toHaveAttribute('aria-expanded', 'true')
  await expect(esc.locator('li.item')).toHaveCount(2)
  await expect(esc.locator('li.item').first()).toContainText('Implementation error → retry with the evidence')

  await escHead.click()
  await expect(escHead).toHaveAttribute('aria-expanded', 'false')
  await expect(esc.locator('li.item')).toHaveCount(0)

  const sheaf = page.locator('section[data-section=sheaf]')
  await sheaf.getByRole('button', { name: /Sheaf validations/ }).click()
  await expect(sheaf.locator('li.item')).toHaveCount(2)
  await expect(sheaf.locator('[data-status=failed]')).toHaveCount(1)

  await expect(page.getByTestId('count-steps')).toHaveText('523')
  await expect(page.locator('section[data-section=steps]')).toContainText('newest 500 shown')

  // The title says it in words; the stored JSON opens as a tree of text inside the "Raw record" disclosure.
  const rewrites = page.locator('section[data-section=rewrites]')
  await rewrites.getByRole('button', { name: /Graph rewrites/ }).click()
  await expect(rewrites.locator('li.item').first()).toContainText('Split the node')
  await expect(rewrites.getByRole('button', { name: /^action/ })).toBeHidden()
  await rewrites.locator('li.item').first().getByText('Raw record').click()
  const action = rewrites.getByRole('button', { name: /^action/ })
  await action.click()
  await expect(rewrites.getByRole('button', { name: /node_split/ })).toBeVisible()

  await page.getByRole('searchbox', { name: 'Search decisions' }).fill('wrong module')
  const reviews = page.locator('section[data-section=reviews]')
  await expect(reviews.getByRole('button', { name: /Reviews/ })).toHaveAttribute('aria-expanded', 'true')
  await expect(reviews.locator('li.item')).toHaveCount(1)
  await page.getByRole('searchbox', { name: 'Search decisions' }).fill('')
  await escHead.click()
  await shootBothSchemes(page, 'session-decisions')

  await open(page, 'decisions', 'old', '?tab=grouped')
  await expect(page.locator('section[data-section=escalations]')).toContainText("not in this store's schema")
  await expect(page.locator('section.unavailable')).toHaveCount(9)
})

test('LLM view of a live session refetches on new snapshots, keeping the selection and the open request', async ({ page }) => {
  const demo = await startVigil(['--demo'])
  try {
    await page.goto(demo.url)
    await page.getByRole('link', { name: /Demo · Perspt store/ }).first().click()
    const running = page.locator('[role=row][data-session]:has([data-status=running])')
    await expect(running).toHaveCount(1)
    const sessionId = await running.getAttribute('data-session')
    const storeId = decodeURIComponent(/#\/store\/([^/?]+)/.exec(page.url())![1]!)
    await page.goto(`${demo.url}/#/store/${encodeURIComponent(storeId)}/session/${sessionId}/llm`)
    await page.evaluate(() => ((window as unknown as { __vigilMarker: number }).__vigilMarker = 7))

    const requests = page.getByTestId('llm-requests')
    await expect(requests).not.toHaveText('')
    const before = Number((await requests.textContent())!.replace(/,/g, ''))
    const rows = page.locator('[data-testid=llm-rows] [data-request]')
    await expect(rows.first()).toBeVisible()
    // Oldest first, so new requests arrive below and the selected row stays where it is.
    await page.getByRole('columnheader', { name: /Time/ }).getByRole('button').click()
    await expect(page.getByRole('columnheader', { name: /Time/ })).toHaveAttribute('aria-sort', 'ascending')
    const first = rows.first()
    const id = await first.getAttribute('data-request')
    await first.click()
    await expect(page.getByTestId('llm-detail')).toBeVisible()

    await expect.poll(async () => Number((await requests.textContent())!.replace(/,/g, '')), { timeout: 30_000 }).toBeGreaterThan(before)
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThan(0)
    await expect(page.locator(`[data-request="${id}"]`)).toHaveAttribute('aria-selected', 'true')
    await expect(page.getByTestId('llm-detail')).toBeVisible()
    expect(await page.evaluate(() => (window as unknown as { __vigilMarker?: number }).__vigilMarker)).toBe(7)
  } finally {
    expect(await demo.stop()).toBe(0)
  }
})
