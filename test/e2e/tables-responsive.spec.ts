// The one table component (src/renderer/components/DataTable.svelte) through real views, and the layout at
// laptop sizes. A protocol-faithful AgentEnsemble server plays a finished run with 600 file changes and 40
// tool calls (the run page's Files and Tools tables), gates are raised and decided through Vigil's review
// API (the review history table), and a closed store written by the Perspt simulator gives the sessions
// table and the DAG.
import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Locator, type Page } from '@playwright/test'
import { EnsembleSimulator, finishedSequentialRunScript } from '../../src/main/demo/ensemble-simulator'
import type { ServerMessage } from '../../src/shared/protocol/agentensemble'
import { startVigil, type VigilProcess } from './support/vigil-process'
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { PersptSimulator } from '../../src/main/demo/perspt-simulator'

const ENSEMBLE = 'tab1e5e2-0a4e-4f5a-9b8c-7d6e5f4a3b2c'
const FILES = 600
const TOOLS = 40
const CHANGES = ['CREATED', 'MODIFIED', 'DELETED'] as const

const filePath = (i: number) => `src/module-${String(i).padStart(4, '0')}/file-${String(i).padStart(4, '0')}.ts`
// Deterministic but not in order: lines and durations that a sort has to reorder.
const linesAdded = (i: number) => (i * 37) % 101
const duration = (i: number) => ((i * 53) % 97) * 10 + 5

function script(): ServerMessage[] {
  const frames: ServerMessage[] = []
  for (const m of finishedSequentialRunScript(ENSEMBLE)) {
    if (m.type === 'task_completed' && m.taskIndex === 1) {
      for (let i = 0; i < TOOLS; i++) {
        frames.push({
          type: 'tool_called',
          agentRole: 'Researcher',
          taskIndex: 1,
          toolName: `tool_${i % 5}`,
          durationMs: duration(i),
          outcome: i % 7 === 3 ? 'FAILURE' : 'SUCCESS',
          toolArguments: `{"n":${i}}`,
          toolResult: `result ${i}`,
          structuredResult: null
        })
      }
    }
    if (m.type === 'task_completed' && m.taskIndex === 2) {
      for (let i = 0; i < FILES; i++) {
        frames.push({
          type: 'file_changed',
          agentRole: i % 2 ? 'Writer' : 'Researcher',
          filePath: filePath(i),
          changeType: CHANGES[i % 3],
          linesAdded: linesAdded(i),
          linesRemoved: i % 5,
          timestamp: `2026-03-05T14:00:${String(10 + Math.floor(i / 100)).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z`
        })
      }
    }
    frames.push(m)
  }
  return frames
}

let sim: EnsembleSimulator
let vigil: VigilProcess
let dbPath: string
test.beforeAll(async () => {
  dbPath = join(mkdtempSync(join(tmpdir(), 'vigil-e2e-tables-')), 'perspt.db')
  const store = new PersptSimulator({ path: dbPath, tickMs: 0, seed: 5, now: () => Date.parse('2026-06-15T12:00:00Z'), rotate: false })
  await store.start()
  for (let i = 0; i < 10; i++) await store.tick()
  await store.stop()
  sim = new EnsembleSimulator({ script: script(), heartbeatMs: 60_000 })
  await sim.start()
  vigil = await startVigil(['--db', dbPath, '--attach', sim.url])
})

/** The store's session with the most edges: the largest graph. */
async function biggestSession(): Promise<string> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    const rows = (
      await con.runAndReadAll(
        'SELECT s.session_id AS sid FROM sessions s ORDER BY (SELECT count(*) FROM task_graph_edges e WHERE e.session_id = s.session_id) DESC, s.session_id LIMIT 1'
      )
    ).getRowObjectsJS() as Array<{ sid: string }>
    return rows[0]!.sid
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  await sim.stop()
})

async function openRun(page: Page, tab: 'tools' | 'files' | 'timeline') {
  await page.goto(vigil.url)
  const link = page.getByRole('navigation').locator('a[href^="#/run/"]', { hasText: ENSEMBLE.slice(0, 8) })
  await expect(link).toBeVisible({ timeout: 20_000 })
  await link.click()
  await page.getByTestId(`run-tab-${tab}`).click()
}

const region = (page: Page, name: string) => page.getByRole('region', { name, exact: true })
const cellTexts = (rows: Locator, column: number) => rows.evaluateAll((els, c) => els.map((el) => el.querySelectorAll('td')[c]?.textContent?.trim() ?? ''), column)

test('a long table renders only the rows in view, and filters, sorts and scrolls them all', async ({ page }) => {
  await openRun(page, 'files')
  const files = region(page, 'File changes')
  const rows = files.locator('[data-testid=file-row]')
  await expect(page.getByText(`${FILES} file changes`, { exact: true })).toBeVisible()
  // Virtual rows: a screenful and the overscan, not 600.
  const rendered = await rows.count()
  expect(rendered).toBeGreaterThan(5)
  expect(rendered).toBeLessThan(80)
  await expect(files.locator('table')).toHaveAttribute('aria-rowcount', String(FILES + 1))

  // Scrolled to the bottom, the last change is there (and the first is not in the DOM any more).
  await files.evaluate((el) => (el.scrollTop = el.scrollHeight))
  await expect(rows.filter({ hasText: filePath(FILES - 1) })).toHaveCount(1)
  await expect(rows.filter({ hasText: filePath(0) })).toHaveCount(0)
  // The header stays in view while the rows scroll under it.
  const headTop = await files.locator('thead th').first().evaluate((th) => th.getBoundingClientRect().top)
  const regionTop = await files.evaluate((el) => el.getBoundingClientRect().top)
  expect(Math.abs(headTop - regionTop)).toBeLessThanOrEqual(2)

  // Text filter: every word must match.
  await page.getByRole('searchbox', { name: 'Search files' }).fill('module-0042 file-0042')
  await expect(rows).toHaveCount(1)
  await expect(page.getByText(`1 of ${FILES} file changes`)).toBeVisible()
  await page.getByRole('searchbox', { name: 'Search files' }).fill('no-such-file')
  await expect(rows).toHaveCount(0)
  await expect(page.getByText('No file change matches the search.')).toBeVisible()
  await page.getByRole('button', { name: 'Clear the search and filters' }).click()
  await expect(page.getByText(`${FILES} file changes`, { exact: true })).toBeVisible()

  // Per-column choice filter, with counts.
  const change = page.getByRole('combobox', { name: 'Filter by change' })
  await expect(change.locator('option', { hasText: 'DELETED (200)' })).toHaveCount(1)
  await change.selectOption('DELETED')
  await expect(page.getByText(`200 of ${FILES} file changes`)).toBeVisible()
  expect(new Set(await cellTexts(rows, 1))).toEqual(new Set(['DELETED']))
  await change.selectOption({ index: 0 })

  // Sorting by a numeric column: largest first, then flipped; aria-sort follows.
  const header = files.getByRole('columnheader', { name: /Lines added/ })
  await expect(header).toHaveAttribute('aria-sort', 'none')
  await header.getByRole('button').click()
  await expect(header).toHaveAttribute('aria-sort', 'descending')
  await files.evaluate((el) => (el.scrollTop = 0))
  const total = (s: string) => Number(/\+(\d+)/.exec(s)?.[1]) + Number(/−(\d+)/.exec(s)?.[1])
  const desc = (await cellTexts(rows, 5)).map(total)
  expect(desc.length).toBeGreaterThan(5)
  expect(desc).toEqual([...desc].sort((a, b) => b - a))
  const max = Math.max(...Array.from({ length: FILES }, (_, i) => linesAdded(i) + (i % 5)))
  expect(desc[0]).toBe(max)
  await header.getByRole('button').press('Enter')
  await expect(header).toHaveAttribute('aria-sort', 'ascending')
  const asc = (await cellTexts(rows, 5)).map(total)
  expect(asc).toEqual([...asc].sort((a, b) => a - b))
  expect(asc[0]).toBe(0)
})

test('the keyboard reaches the table, moves through the rows and resizes a column', async ({ page }) => {
  await openRun(page, 'files')
  const files = region(page, 'File changes')
  await expect(files.locator('[data-testid=file-row]').first()).toBeVisible()
  await page.getByRole('searchbox', { name: 'Search files' }).focus()
  // Tab from the toolbar's last control reaches the scroll region (a labelled, focusable region).
  await page.getByRole('combobox', { name: 'Filter by agent' }).focus()
  await page.keyboard.press('Tab')
  await expect(files).toBeFocused()

  await page.keyboard.press('ArrowDown')
  const focused = page.locator('tr:focus')
  await expect(focused).toHaveAttribute('aria-selected', 'true')
  await expect(focused).toContainText(filePath(0))
  await page.keyboard.press('ArrowDown')
  await expect(page.locator('tr:focus')).toContainText(filePath(1))
  // End goes to the last of 600 rows, scrolling the virtual window there.
  await page.keyboard.press('End')
  await expect(page.locator('tr:focus')).toContainText(filePath(FILES - 1))
  await expect(page.locator('tr:focus')).toBeInViewport()
  await page.keyboard.press('PageUp')
  const afterPageUp = await page.locator('tr:focus').getAttribute('data-index')
  expect(Number(afterPageUp)).toBeLessThan(FILES - 1)
  expect(Number(afterPageUp)).toBeGreaterThan(FILES - 40)
  await page.keyboard.press('Home')
  await expect(page.locator('tr:focus')).toContainText(filePath(0))

  // Column resize from the keyboard: the handle is a separator that → widens and Home resets.
  const th = files.getByRole('columnheader', { name: /Agent/ })
  const before = await th.evaluate((el) => el.getBoundingClientRect().width)
  const handle = files.getByRole('separator', { name: 'Resize Agent' })
  await handle.focus()
  await page.keyboard.press('ArrowRight')
  await page.keyboard.press('ArrowRight')
  await expect.poll(() => th.evaluate((el) => el.getBoundingClientRect().width)).toBeGreaterThan(before + 20)
  await page.keyboard.press('Home')
  await expect.poll(() => th.evaluate((el) => Math.round(el.getBoundingClientRect().width))).toBe(Math.round(before))
  // …and with the mouse.
  const box = (await handle.boundingBox())!
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  await page.mouse.down()
  await page.mouse.move(box.x + 80, box.y + box.height / 2, { steps: 4 })
  await page.mouse.up()
  await expect.poll(() => th.evaluate((el) => el.getBoundingClientRect().width)).toBeGreaterThan(before + 50)
})

test('tool calls sort by duration and keep their filters; failed rows are marked', async ({ page }) => {
  await openRun(page, 'tools')
  const tools = region(page, 'Tool calls')
  const rows = tools.locator('[data-testid=tool-row]')
  await expect(rows).toHaveCount(TOOLS)
  const header = tools.getByRole('columnheader', { name: 'Duration' })
  await header.getByRole('button').click()
  await expect(header).toHaveAttribute('aria-sort', 'descending')
  const ms = (await cellTexts(rows, 5)).map((s) => (s.endsWith(' ms') ? Number(s.slice(0, -3)) : Number(s.replace('s', '')) * 1000))
  expect(ms).toEqual(Array.from({ length: TOOLS }, (_, i) => duration(i)).sort((a, b) => b - a))
  // The owner's filter (outcome) and the table's sort work together.
  await page.getByRole('combobox', { name: 'Filter tool calls by outcome' }).selectOption('FAILURE')
  const failures = Array.from({ length: TOOLS }, (_, i) => i).filter((i) => i % 7 === 3)
  await expect(rows).toHaveCount(failures.length)
  await expect(rows.and(page.locator('.failed'))).toHaveCount(failures.length)
  await expect(header).toHaveAttribute('aria-sort', 'descending')
})

test('the tables have no serious or critical axe violation, light or dark', async ({ page }) => {
  const found: string[] = []
  for (const tab of ['files', 'tools'] as const) {
    await openRun(page, tab)
    await expect(page.locator('[data-table-scroll] tbody tr').first()).toBeVisible()
    // A selected row and a focused resize handle are part of what is checked.
    await page.locator('[data-table-scroll]').first().focus()
    await page.keyboard.press('ArrowDown')
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      await page.waitForTimeout(200)
      const results = await new AxeBuilder({ page }).include('.data-table').analyze()
      for (const v of results.violations) {
        if (v.impact === 'serious' || v.impact === 'critical') found.push(`${tab} (${scheme}): ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
      }
    }
    await page.emulateMedia({ colorScheme: 'light' })
  }
  expect(found).toEqual([])
})

test('a row of the review history opens its gate on click and on Enter', async ({ page }) => {
  const ids: string[] = []
  for (const n of [1, 2, 3]) {
    const res = await fetch(`${vigil.url}/api/reviews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ taskDescription: `Table gate ${n}`, taskOutput: 'x', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    })
    expect(res.status).toBe(201)
    const id = ((await res.json()) as { reviewId: string }).reviewId
    ids.push(id)
    const done = await fetch(`${vigil.url}/api/reviews/${encodeURIComponent(id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'CONTINUE' })
    })
    expect(done.status).toBe(200)
  }
  await page.goto(`${vigil.url}/#/reviews/history`)
  const history = region(page, 'Decided gates')
  await expect(history.locator('tr[data-gate-id]')).toHaveCount(3)
  // Newest first: the second row is gate 2.
  await history.focus()
  await page.keyboard.press('ArrowDown')
  await page.keyboard.press('ArrowDown')
  await expect(page.locator('tr:focus')).toHaveAttribute('data-gate-id', ids[1]!)
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(new RegExp(`#/reviews/${ids[1]}$`))
  await page.goBack()
  // A click anywhere on the row (not only on the link) opens it too.
  await history.locator(`tr[data-gate-id="${ids[2]}"] td`).last().click()
  await expect(page).toHaveURL(new RegExp(`#/reviews/${ids[2]}$`))
})

// ---- laptop sizes ------------------------------------------------------------------------------------

const shots = resolve(__dirname, '../../test-results/screenshots')

/** Light and dark screenshots of the view as it is, for looking at (test-results/screenshots/responsive-*). */
async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true })
  const width = page.viewportSize()!.width
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await page.waitForTimeout(120)
    await page.screenshot({ path: resolve(shots, `responsive-${name}-${width}-${scheme}.png`) })
  }
  await page.emulateMedia({ colorScheme: 'light' })
}

/**
 * Every DataTable on the page: its region scrolls sideways (never clips), every header label fits its
 * column, and scrolled to the end the last column is fully inside the region.
 */
async function expectNoClippedColumns(page: Page, where: string): Promise<void> {
  const regions = page.locator('[data-table-scroll]')
  expect(await regions.count(), `${where}: a table on the page`).toBeGreaterThan(0)
  const problems = await regions.evaluateAll((els) => {
    const out: string[] = []
    for (const el of els as HTMLElement[]) {
      const name = el.getAttribute('aria-label')
      const style = getComputedStyle(el)
      if (!['auto', 'scroll'].includes(style.overflowX)) out.push(`${name}: overflow-x is ${style.overflowX}`)
      for (const th of el.querySelectorAll('th')) {
        if (th.scrollWidth > th.clientWidth + 1) out.push(`${name}: header "${th.textContent?.trim()}" is clipped (${th.scrollWidth} > ${th.clientWidth})`)
      }
      el.scrollLeft = el.scrollWidth
      const last = el.querySelector('thead th:last-child')
      if (last && last.getBoundingClientRect().right > el.getBoundingClientRect().right + 1) out.push(`${name}: the last column cannot be scrolled into view`)
      el.scrollLeft = 0
    }
    return out
  })
  expect(problems, where).toEqual([])
}

/** The smallest text on screen in the DAG, px (Infinity when no text is drawn); 10.99 allows for float rounding of 11. */
const smallestDagText = (page: Page) =>
  page.getByTestId('dag-viewport').evaluate((el) => {
    let min = Infinity
    for (const t of el.querySelectorAll('svg text')) {
      const m = (t as SVGTextElement).getScreenCTM()
      if (!m) continue
      min = Math.min(min, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b))
    }
    return min
  })

for (const size of [
  { width: 1024, height: 700 },
  { width: 1280, height: 800 },
  { width: 1440, height: 900 }
]) {
  test(`at ${size.width}×${size.height} no table column is clipped and DAG text stays at least 11 px`, async ({ page }) => {
    await page.setViewportSize(size)

    await openRun(page, 'timeline')
    if (size.width !== 1280) await shoot(page, 'run-timeline')
    await page.getByTestId('run-tab-tools').click()
    await expect(page.locator('[data-testid=tool-row]')).toHaveCount(TOOLS)
    await expectNoClippedColumns(page, 'run tools')
    if (size.width !== 1280) await shoot(page, 'run-tools')
    await page.getByTestId('run-tab-files').click()
    await expect(page.locator('[data-testid=file-row]').first()).toBeVisible()
    await expectNoClippedColumns(page, 'run files')
    if (size.width !== 1280) await shoot(page, 'run-files')

    await page.goto(`${vigil.url}/#/reviews/history`)
    await expect(page.getByRole('region', { name: 'Decided gates' })).toBeVisible()
    await expectNoClippedColumns(page, 'review history')
    if (size.width !== 1280) await shoot(page, 'review-history')

    // The store's sessions, then the DAG of its largest graph.
    await page.goto(vigil.url)
    await page.getByRole('navigation').locator('a[href^="#/store/"]').first().click()
    await expect(page.locator('[data-session]').first()).toBeVisible()
    if (await page.locator('[data-table-scroll]').count()) await expectNoClippedColumns(page, 'sessions')
    if (size.width !== 1280) await shoot(page, 'sessions')
    const sid = await biggestSession()
    const hash = await page.evaluate(() => window.location.hash)
    await page.goto(`${vigil.url}/${hash}/session/${encodeURIComponent(sid)}/dag`)
    const nodes = page.locator('[data-testid=dag-viewport] g[data-node]')
    await expect(nodes.first()).toBeVisible()
    await expect(page.locator('[data-testid=dag-viewport] svg text').first()).toBeVisible()
    expect(await smallestDagText(page)).toBeGreaterThanOrEqual(10.99)
    if (size.width !== 1280) await shoot(page, 'dag')
    // Zooming out keeps the text's size and drops what does not fit, down to no text at all.
    const viewport = page.getByTestId('dag-viewport')
    await viewport.focus()
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('-')
      expect(await smallestDagText(page)).toBeGreaterThanOrEqual(10.99)
    }
    await expect(page.locator('[data-testid=dag-viewport] svg text')).toHaveCount(0)
    await expect(page.locator('[data-testid=dag-viewport] .stats')).toContainText('zoom in to read the names')

    // The Sandbox's four tables: every column reachable (sideways scroll), no header clipped.
    await page.goto(`${vigil.url}/${hash}/session/${encodeURIComponent(sid)}/sandbox`)
    await expect(page.getByTestId('session-sandbox').locator('[data-table-scroll]').first()).toBeVisible()
    await expectNoClippedColumns(page, 'sandbox')
    if (size.width !== 1280) await shoot(page, 'sandbox')
  })
}

// ---- the run page's events panel ---------------------------------------------------------------------

test('the run page\'s events fold to one line, stay folded after a reload, and open no taller than their limit', async ({ page }) => {
  await openRun(page, 'files')
  const toggle = page.getByRole('button', { name: /^Events \(\d+\)/ })
  const list = page.getByRole('list', { name: 'Recent events' })
  // 1440×900: open at first.
  await expect(toggle).toHaveAttribute('aria-expanded', 'true')
  await expect(list).toBeVisible()
  const panel = page.getByTestId('run-events')
  expect((await panel.boundingBox())!.height).toBeLessThanOrEqual(190 + 40)
  const files = region(page, 'File changes')
  const before = (await files.boundingBox())!.height

  await toggle.click()
  await expect(toggle).toHaveAttribute('aria-expanded', 'false')
  await expect(list).toBeHidden()
  // Folded, it still says what is newest, and the tab below takes the room.
  await expect(toggle).toContainText('· Writer: LLM call 1 → FINAL_ANSWER')
  await expect.poll(async () => (await files.boundingBox())!.height).toBeGreaterThan(before + 100)

  await page.reload()
  await expect(page.getByRole('button', { name: /^Events \(\d+\)/ })).toHaveAttribute('aria-expanded', 'false')
  await page.getByRole('button', { name: /^Events \(\d+\)/ }).press('Enter')
  await expect(list).toBeVisible()
})

test('on a short window the run page starts with its events folded', async ({ page }) => {
  await page.setViewportSize({ width: 1024, height: 700 })
  await openRun(page, 'timeline')
  await expect(page.getByRole('button', { name: /^Events \(\d+\)/ })).toHaveAttribute('aria-expanded', 'false')
  await expect(page.getByRole('list', { name: 'Recent events' })).toBeHidden()
  // The tasks table (DataTable) sits under the timeline with room to show its rows.
  await expect(page.locator('tr[data-task-status=completed]')).toHaveCount(2)
  await expect(page.locator('tr[data-task-status=completed]').first()).toBeInViewport()
  await shoot(page, 'run-timeline-folded')
})
