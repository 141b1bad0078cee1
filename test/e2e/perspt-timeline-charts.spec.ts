// The decision timeline and the charts in real Chromium against a real `vigil serve` reading a real
// DuckDB Perspt store: a session with 20,000+ decision records (the list stays virtual and is read in
// windows), NULL latencies and non-finite energies (left out and counted), checked against SQL.
import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Page, type Request } from '@playwright/test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { queryStore } from './support/store-sql'
import { VIEWS_ESTIMATED, VIEWS_MAIN, VIEWS_OTHER, buildViewsStore } from '../fixtures/perspt-fixtures'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

const EXTRA_STEPS = 20_000
const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-timeline-'))
const full = join(dir, 'perspt-23.db')
const old = join(dir, 'perspt-4.db')
let vigil: VigilProcess
let ids: { full: string; old: string } | undefined

const sql = (q: string) => queryStore(full, q)

/** Every decision table of the main session, counted independently of the reader. */
const COUNT_ALL = `SELECT (SELECT count(*) FROM plan_revisions WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM srbn_step_records WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM verification_results WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM sheaf_validations WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM escalation_reports WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM rewrite_records WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM correction_attempts WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM repair_footprints WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM review_outcomes WHERE session_id = '${VIEWS_MAIN}')
  + (SELECT count(*) FROM provisional_branches WHERE session_id = '${VIEWS_MAIN}' AND state = 'merged')
  + (SELECT count(*) FROM branch_flushes WHERE session_id = '${VIEWS_MAIN}') AS n`

test.beforeAll(async () => {
  await buildViewsStore(full, { generation: 23, llmRequests: 1200 })
  await buildViewsStore(old, { generation: 4, llmRequests: 10 })
  const instance = await DuckDBInstance.create(full)
  const con = await instance.connect()
  try {
    // A long session: 20,000 more steps, the last of them a commit of task_4 at the very end.
    await con.run(`INSERT INTO srbn_step_records (session_id, node_id, step, outcome, attempt_count, duration_ms, created_at)
      SELECT '${VIEWS_MAIN}', 'task_' || (i % 4 + 1), ['speculate', 'verify', 'converge', 'sheaf_validate', 'commit'][i % 5 + 1], 'ok', 1, 50 + i % 900,
        TIMESTAMP '2026-05-03 11:00:00' + to_seconds(i) FROM range(${EXTRA_STEPS}) t(i)`)
    await con.run(`UPDATE llm_requests SET latency_ms = NULL WHERE session_id = '${VIEWS_MAIN}' AND id % 9 = 0`)
    // Non-finite energies (a hostile store): never drawn, counted.
    await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total) VALUES
      ('task_1', '${VIEWS_MAIN}', '2026-05-03 10:20:00', 0, 0, 0, 0, 0, 'NaN'::REAL),
      ('task_2', '${VIEWS_MAIN}', '2026-05-03 10:21:00', 0, 0, 0, 0, 0, 'Infinity'::REAL),
      ('task_2', '${VIEWS_MAIN}', '2026-05-03 10:22:00', 0.02, 0, 0, 0, 0, 0.02),
      ('task_3', '${VIEWS_MAIN}', '2026-05-03 10:23:00', 0.9, 0.3, 0, 0, 0, 1.2),
      ('task_3', '${VIEWS_MAIN}', '2026-05-03 10:24:00', 0.3, 0.1, 0, 0, 0, 0.4)`)
    // Costs for the store page's trends.
    await con.run(`INSERT INTO budget_envelopes (session_id, steps_used, revisions_used, cost_used_usd) VALUES
      ('${VIEWS_MAIN}', 10, 0, 1.25), ('${VIEWS_OTHER}', 3, 0, 0.5), ('${VIEWS_ESTIMATED}', 2, 0, 0.125)`)
  } finally {
    con.closeSync()
    instance.closeSync()
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
  const body = (await res.json()) as { ok: boolean; value: Array<{ id: string; kind: string; path?: string }> }
  const find = (path: string) => body.value.find((s) => s.kind === 'store' && s.path === path)?.id as string
  ids = { full: find(full), old: find(old) }
  expect(ids.full).toBeTruthy()
  return ids
}

async function open(page: Page, view: string, store: 'full' | 'old' = 'full', query = '') {
  const id = (await storeIds(page))[store]
  await page.goto(`${vigil.url}/#/store/${encodeURIComponent(id)}/session/${VIEWS_MAIN}/${view}${query}`)
}

/** axe on one part of the page, in both colour schemes: serious and critical violations. */
async function axe(page: Page, selector: string): Promise<string[]> {
  const found: string[] = []
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await page.waitForTimeout(150)
    const result = await new AxeBuilder({ page }).include(selector).analyze()
    for (const v of result.violations) if (v.impact === 'serious' || v.impact === 'critical') found.push(`${scheme}: ${v.id} ${v.nodes[0]?.target.join(' ')}`)
  }
  await page.emulateMedia({ colorScheme: 'light' })
  return found
}

const int = (n: number) => n.toLocaleString('en')

test('Decision timeline: chronological, virtual, fetched in windows, filterable; details on demand; the grouped view is a tab', async ({ page }) => {
  const total = Number((await sql(COUNT_ALL))[0]!.n)
  expect(total).toBeGreaterThan(EXTRA_STEPS)
  const windows: Array<{ offset: number; limit: number }> = []
  page.on('request', (r: Request) => {
    if (r.url().endsWith('/api/rpc/getDecisionTimeline')) windows.push((r.postDataJSON() as { args: [string, string, { offset: number; limit: number }] }).args[2])
  })
  await open(page, 'decisions')
  await expect(page.getByRole('tab', { name: 'Timeline' })).toHaveAttribute('aria-selected', 'true')
  await expect(page.getByTestId('timeline-count')).toContainText(`${int(total)} entries, oldest first`)
  const rows = page.getByTestId('timeline-rows')
  // Oldest first: the plan comes before anything else.
  await expect(rows.locator('[role=listitem]').first()).toContainText('Planned the work (4 tasks)')
  // Only the rows in view are in the page, and only windows were fetched.
  expect(await rows.locator('[role=listitem]').count()).toBeLessThan(80)
  expect(windows.every((w) => w.limit <= 500)).toBe(true)
  const fetched = windows.length

  // The end: the newest entry, as SQL orders it (time, then id).
  await rows.focus()
  await page.keyboard.press('End')
  const [last] = await sql(`SELECT id, node_id FROM srbn_step_records WHERE session_id = '${VIEWS_MAIN}' ORDER BY created_at DESC, id DESC LIMIT 1`)
  const lastRow = rows.locator(`[data-entry="srbn_step_records:${String(last!.id)}"]`)
  await expect(lastRow).toBeVisible()
  await expect(lastRow).toHaveAttribute('data-index', String(total - 1))
  await expect(lastRow).toContainText('Committed')
  expect(await rows.locator('[role=listitem]').count()).toBeLessThan(80)
  // Jumping to the end read the windows there (and at the start), nothing between.
  expect(windows.length).toBeGreaterThan(fetched)
  expect(windows.filter((w) => w.offset > 1000 && w.offset + w.limit < total - 1000)).toEqual([])
  expect(windows.reduce((n, w) => n + w.limit, 0)).toBeLessThan(total / 4)
  const detail = page.getByTestId('timeline-detail')
  await expect(detail).toContainText(String(last!.node_id))
  await page.keyboard.press('Escape')
  await expect(detail).toHaveCount(0)

  // Filters: by kind (chips), then by node; counts as SQL says.
  await page.getByRole('button', { name: /^Review outcomes/ }).click()
  await expect(page.getByRole('button', { name: /^Review outcomes/ })).toHaveAttribute('aria-pressed', 'true')
  const reviews = Number((await sql(`SELECT count(*) AS n FROM review_outcomes WHERE session_id = '${VIEWS_MAIN}'`))[0]!.n)
  await expect(page.getByTestId('timeline-count')).toContainText(`${int(reviews)} of ${int(total)} entries`)
  await page.getByTestId('timeline-node').selectOption('task_2')
  await expect(page.getByTestId('timeline-count')).toContainText(`1 of ${int(total)} entries`)
  const rejected = rows.locator('[role=listitem]').first()
  await expect(rejected).toContainText('Review: Rejected · “wrong module”')
  await rejected.getByRole('button').click()
  await expect(detail.locator('dt', { hasText: 'Decision' })).toBeVisible()
  await expect(detail.locator('dd').first()).toHaveText('Rejected')
  await expect(detail.locator('details.raw')).not.toHaveAttribute('open', '')

  // JSON only as an expandable tree.
  await page.getByRole('button', { name: 'Show everything' }).click()
  await page.getByRole('button', { name: /^Escalations/ }).click()
  await expect(page.getByTestId('timeline-count')).toContainText(`2 of ${int(total)} entries`)
  await rows.locator('[role=listitem]').first().getByRole('button').click()
  await expect(detail).toContainText('Escalated (implementation error): retry with the evidence')
  const tree = detail.getByTestId('timeline-json')
  await expect(tree.getByRole('button', { name: /^action/ })).toHaveAttribute('aria-expanded', 'false')
  await tree.getByRole('button', { name: /^action/ }).click()
  await expect(tree.getByRole('button', { name: /grounded_retry/ })).toBeVisible()
  expect(await axe(page, '[data-testid=session-decisions]')).toEqual([])
  await shootBothSchemes(page, 'session-decision-timeline')
  await page.setViewportSize({ width: 1024, height: 700 })
  await expect(detail).toBeVisible()
  await shootBothSchemes(page, 'session-decision-timeline-1024')
  await page.setViewportSize({ width: 1440, height: 900 })

  // The grouped view stays, as the second tab (and in the link).
  await page.getByRole('tab', { name: 'Grouped by kind' }).click()
  await expect(page).toHaveURL(/tab=grouped/)
  await expect(page.locator('section[data-section]')).toHaveCount(9)
  await page.reload()
  // A cold page on a busy machine: give the first paint time.
  await expect(page.getByRole('tab', { name: 'Grouped by kind' })).toHaveAttribute('aria-selected', 'true', { timeout: 30_000 })
  await page.getByRole('tab', { name: 'Grouped by kind' }).press('ArrowLeft')
  await expect(page.getByRole('tab', { name: 'Timeline' })).toBeFocused()
  await expect(page.getByTestId('decision-timeline')).toBeVisible()

  // Links from elsewhere name a section and a node: the timeline opens filtered to them.
  await open(page, 'decisions', 'full', '?section=escalations&node=task_3')
  await expect(page.getByRole('button', { name: /^Escalations/ })).toHaveAttribute('aria-pressed', 'true')
  await expect(page.getByTestId('timeline-count')).toContainText(`1 of ${int(total)} entries`)

  // An older store says what it does not record.
  await open(page, 'decisions', 'old')
  await expect(page.getByTestId('decision-timeline')).toContainText('older Perspt that does not record')
  await expect(page.getByTestId('timeline-count')).toContainText('0 entries')
})

test('LLM charts: latency p50/p95 as SQL computes them (NULL latency left out), tokens and cost per model, both themes, table fallback', async ({ page }) => {
  await open(page, 'llm')
  const charts = page.getByTestId('llm-charts')
  const latency = charts.getByTestId('llm-latency-chart')
  await expect(latency.locator('canvas')).toHaveCount(1)
  const missing = Number((await sql(`SELECT count(*) AS n FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' AND latency_ms IS NULL`))[0]!.n)
  expect(missing).toBeGreaterThan(0)
  await expect(charts.getByTestId('llm-charts-note')).toContainText(`${int(missing)} without one are left out`)
  await expect(latency.locator('.u-axis')).toHaveCount(2)
  await expect(latency).toContainText('Latency (ms)')

  // The table fallback carries the numbers: the first bucket's p50 is SQL's median over rows with a latency.
  const series = (await (await page.request.post(`${vigil.url}/api/rpc/getLlmSeries`, { data: { args: [(await storeIds(page)).full, VIEWS_MAIN] } })).json()) as {
    value: { bucketMs: number; fromMs: number }
  }
  const { bucketMs, fromMs } = series.value
  const [q] = await sql(`SELECT quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95 FROM llm_requests
    WHERE session_id = '${VIEWS_MAIN}' AND latency_ms IS NOT NULL AND epoch_ms(timestamp) >= ${fromMs} AND epoch_ms(timestamp) < ${fromMs + bucketMs}`)
  const table = latency.getByTestId('llm-latency-chart-table')
  await expect(table).toHaveCount(1)
  await expect(latency.locator('.table-wrap')).toHaveClass(/sr-only/)
  await latency.getByTestId('llm-latency-chart-table-toggle').click()
  await expect(table).toBeVisible()
  const first = table.locator('tbody tr').first()
  const cells = await first.locator('td').allTextContents()
  const asMs = (s: string) => (s.endsWith(' s') ? Number(s.replace(/[^\d.]/g, '')) * 1000 : Number(s.replace(/[^\d.]/g, '')))
  expect(Math.abs(asMs(cells[0]!) - (q!.p95 as number))).toBeLessThanOrEqual(Math.max(1, (q!.p95 as number) * 0.01))
  expect(Math.abs(asMs(cells[1]!) - (q!.p50 as number))).toBeLessThanOrEqual(Math.max(1, (q!.p50 as number) * 0.01))
  await expect(table.locator('thead th').first()).toHaveText(/^Period start \(.+\)$/)
  await latency.getByTestId('llm-latency-chart-table-toggle').click()

  // Tokens per model add up to the session's tokens (per bucket, per model in the table).
  const tokens = charts.getByTestId('llm-tokens-chart')
  const models = (await sql(`SELECT model, count(*) AS n FROM llm_requests WHERE session_id = '${VIEWS_MAIN}' GROUP BY model ORDER BY n DESC, model`)).map((r) => String(r.model))
  expect(models).toHaveLength(3)
  await expect(tokens.locator('thead th')).toHaveText([/^Period start/, ...models])
  const [t] = await sql(`SELECT sum(tokens_in + tokens_out)::BIGINT AS n FROM llm_requests WHERE session_id = '${VIEWS_MAIN}'`)
  const sum = await tokens.locator('tbody td').evaluateAll((tds) => tds.reduce((n, td) => n + Number((td.textContent ?? '').replace(/[^\d]/g, '') || 0), 0))
  expect(sum).toBe(Number(t!.n))
  await expect(charts.getByTestId('llm-cost-chart')).toContainText('Cost (USD)')

  // Hover values: the legend says the value under the cursor.
  const over = latency.locator('.u-over')
  await expect(over).toBeVisible()
  const box = (await over.boundingBox())!
  await page.mouse.move(box.x + box.width / 3, box.y + box.height / 2)
  await expect(latency.locator('.u-legend .u-series').nth(2).locator('.u-value')).toHaveText(/\d.* (ms|s)$/)

  // Colours come from the theme and follow it.
  const marker = () => latency.locator('.u-legend .u-series').nth(2).locator('.u-marker').evaluate((el) => getComputedStyle(el).borderColor)
  await page.emulateMedia({ colorScheme: 'light' })
  const light = await marker()
  await page.emulateMedia({ colorScheme: 'dark' })
  await expect.poll(marker).not.toBe(light)
  await page.emulateMedia({ colorScheme: 'light' })
  await charts.getByTestId('llm-charts-model').selectOption('llama-3')
  await expect(latency).toContainText('llama-3')
  // Folded, the request table gets the room; unfolded, the charts come back.
  await charts.getByRole('button', { name: 'Over time' }).click()
  await expect(latency).toHaveCount(0)
  await charts.getByRole('button', { name: 'Over time' }).click()
  await expect(latency.locator('canvas')).toHaveCount(1)
  expect(await axe(page, '[data-testid=llm-charts]')).toEqual([])
  await charts.scrollIntoViewIfNeeded()
  await shootBothSchemes(page, 'session-llm-charts')
  await page.setViewportSize({ width: 1024, height: 700 })
  await charts.scrollIntoViewIfNeeded()
  await shootBothSchemes(page, 'session-llm-charts-1024')
})

test('Energy convergence: every node at once, log scale, converged zone, non-finite values counted, small multiples', async ({ page }) => {
  await open(page, 'energy')
  const conv = page.getByTestId('energy-convergence')
  const [facts] = await sql(`SELECT count(DISTINCT node_id)::INTEGER AS nodes,
      count(*) FILTER (WHERE v_total IS NULL OR isnan(v_total) OR isinf(v_total))::INTEGER AS bad
    FROM energy_history WHERE session_id = '${VIEWS_MAIN}'`)
  await expect(conv.getByTestId('convergence-nonfinite')).toHaveText(`${facts!.bad} passes have no finite V_total (NaN, infinite or empty) and are not drawn.`)
  const chart = conv.getByTestId('convergence-chart')
  await expect(chart.locator('thead th')).toHaveCount(1 + (facts!.nodes as number))
  await expect(chart).toContainText('Converged: V_total at most ε = 0.1')
  const [conv2] = await sql(`SELECT count(*)::INTEGER AS n FROM (
      SELECT node_id, arg_max(v_total, (timestamp, id)) FILTER (WHERE isfinite(v_total)) AS last FROM energy_history WHERE session_id = '${VIEWS_MAIN}' GROUP BY node_id
    ) WHERE last <= 0.1`)
  await expect(conv.getByTestId('convergence-summary')).toHaveText(`${conv2!.n} of ${facts!.nodes} nodes converged (latest V_total ≤ ε)`)
  await expect(chart.locator('.unit')).toHaveText('Values in V_total (energy, log scale).')
  await conv.getByTestId('convergence-log').uncheck()
  await expect(chart.locator('.unit')).toHaveText('Values in V_total (energy, linear).')
  // task_3's passes in the table, in order (the new ones last).
  const col = await chart.locator('thead th').allTextContents()
  const i3 = col.indexOf('task_3')
  const task3 = await chart.locator('tbody tr').evaluateAll((trs, i) => trs.map((tr) => tr.children[i]?.textContent ?? '').filter((t) => t !== '—'), i3)
  expect(task3.slice(-2)).toEqual(['1.2', '0.4'])

  await conv.getByRole('button', { name: 'One chart per node' }).click()
  await expect(conv.getByTestId('convergence-node-chart')).toHaveCount(facts!.nodes as number)
  await conv.getByRole('button', { name: 'Overlaid' }).click()
  expect(await axe(page, '[data-testid=energy-convergence]')).toEqual([])
  await shootBothSchemes(page, 'session-energy-convergence')
})

test('Session trends on the store page: sessions, failures, cost and duration per day, as the list says', async ({ page }) => {
  const id = (await storeIds(page)).full
  await page.goto(`${vigil.url}/#/store/${encodeURIComponent(id)}`)
  const trends = page.getByTestId('session-trends')
  await expect(trends).toContainText('Trends per day')
  const [s] = await sql(`SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE upper(status) IN ('FAILED', 'ABORTED'))::INTEGER AS failed,
    count(DISTINCT CAST(created_at AS DATE))::INTEGER AS days FROM sessions`)
  const sessions = trends.getByTestId('trend-sessions-chart-table')
  await expect(sessions.locator('tbody tr')).toHaveCount(s!.days as number)
  const col = (i: number) => sessions.locator('tbody tr').evaluateAll((trs, k) => trs.reduce((n, tr) => n + Number(tr.children[k]?.textContent ?? 0), 0), i)
  expect(await col(1)).toBe(s!.n)
  expect(await col(2)).toBe(s!.failed)
  const [c] = await sql(`SELECT sum(cost_used_usd) AS usd FROM budget_envelopes`)
  const cost = await trends.getByTestId('trend-cost-chart-table').locator('tbody td').evaluateAll((tds) => tds.reduce((n, td) => n + Number((td.textContent ?? '').replace(/[^\d.]/g, '') || 0), 0))
  expect(cost).toBeCloseTo(c!.usd as number, 2)
  await expect(trends).toContainText('known for 3 of 4 sessions')
  await expect(trends.getByTestId('trend-duration-chart')).toContainText('Duration (minutes)')
  expect(await axe(page, '[data-testid=session-trends]')).toEqual([])
  await shootBothSchemes(page, 'store-session-trends')
  await page.setViewportSize({ width: 1024, height: 700 })
  await trends.scrollIntoViewIfNeeded()
  await shootBothSchemes(page, 'store-session-trends-1024')
})

test('a live session: the timeline and the LLM charts grow as the agent writes, the open entry stays open', async ({ page }) => {
  const demo = await startVigil(['--demo'])
  try {
    await page.goto(demo.url)
    await page.getByRole('link', { name: /Demo · Perspt store/ }).first().click()
    const running = page.locator('[role=row][data-session]:has([data-status=running])')
    await expect(running).toHaveCount(1)
    const sessionId = await running.getAttribute('data-session')
    const storeId = decodeURIComponent(/#\/store\/([^/?]+)/.exec(page.url())![1]!)
    await page.goto(`${demo.url}/#/store/${encodeURIComponent(storeId)}/session/${sessionId}/decisions`)
    await page.evaluate(() => ((window as unknown as { __vigilMarker: number }).__vigilMarker = 7))
    const count = page.getByTestId('timeline-count')
    await expect(count).toContainText('entries, oldest first')
    const entries = async () => Number(/^([\d,]+) entries/.exec((await count.textContent()) ?? '')?.[1]?.replace(/,/g, '') ?? NaN)
    const before = await entries()
    const first = page.getByTestId('timeline-rows').locator('[role=listitem]').first()
    const id = await first.getAttribute('data-entry')
    await first.getByRole('button').click()
    await expect(page.getByTestId('timeline-detail')).toBeVisible()
    await expect.poll(entries, { timeout: 30_000 }).toBeGreaterThan(before)
    // Refetched in place: the page was not reloaded, the first entry is still first and still open.
    await expect(page.locator(`[data-entry="${id}"]`)).toHaveClass(/selected/)
    await expect(page.getByTestId('timeline-detail')).toBeVisible()
    expect(await page.evaluate(() => (window as unknown as { __vigilMarker?: number }).__vigilMarker)).toBe(7)

    await page.getByRole('navigation', { name: 'Session views' }).getByRole('link', { name: 'LLM' }).click()
    const table = page.getByTestId('llm-tokens-chart-table')
    await expect(table).toHaveCount(1)
    const tokens = () => table.locator('tbody td').evaluateAll((tds) => tds.reduce((n, td) => n + Number((td.textContent ?? '').replace(/[^\d]/g, '') || 0), 0))
    const tokensBefore = await tokens()
    await expect.poll(tokens, { timeout: 30_000 }).toBeGreaterThan(tokensBefore)
  } finally {
    expect(await demo.stop()).toBe(0)
  }
})
