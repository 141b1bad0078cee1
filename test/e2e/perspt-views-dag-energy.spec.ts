// Summary, DAG and Energy views against a real (closed) store written by the simulator, checked
// against the store itself through DuckDB.
import { expect, test, type Page } from '@playwright/test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { PersptSimulator } from '../../src/main/demo/perspt-simulator'
import { schemaStatements } from '../../src/main/perspt/schema'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
let dir: string
let dbPath: string
let bigPath: string
const storeIds = new Map<string, string>()
const BIG_NODES = 2400

/** Read-only SQL on the fixture (closed by the simulator, so a read-only open is fine here). */
async function sql<T = Record<string, unknown>>(q: string, params: Record<string, string> = {}): Promise<T[]> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    return (await con.runAndReadAll(q, params)).getRowObjectsJS() as T[]
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}
const count = async (q: string, sid: string) => Number((await sql<{ n: bigint }>(q, { sid }))[0]!.n)

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-views-'))
  dbPath = join(dir, 'perspt.db')
  const sim = new PersptSimulator({ path: dbPath, tickMs: 0, seed: 5, now: () => Date.parse('2026-06-15T12:00:00Z'), rotate: false })
  await sim.start()
  for (let i = 0; i < 10; i++) await sim.tick()
  await sim.stop()
  bigPath = join(dir, 'big.db')
  await buildBigStore(bigPath)
  vigil = await startVigil(['--db', dbPath, '--db', bigPath])
})

/** One session with a 2,400-node plan (a binary tree of tasks) in a mix of states. */
async function buildBigStore(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path)
  const con = await instance.connect()
  try {
    for (const stmt of schemaStatements(23)) await con.run(stmt)
    await con.run(`INSERT INTO sessions VALUES ('big', 'A very large plan', '/w', ''::BLOB, '', TIMESTAMP '2026-06-01 10:00:00', TIMESTAMP '2026-06-01 12:00:00', 'COMPLETED')`)
    await con.run(`INSERT INTO plan_revisions SELECT 'r1', 'big', 1,
      (SELECT '{"tasks":[' || string_agg('{"id":"n' || i || '","goal":"goal ' || i || '","dependencies":[]}', ',' ORDER BY i) || ']}' FROM range(${BIG_NODES}) t(i)),
      'initial', NULL, 'active', TIMESTAMP '2026-06-01 10:00:00'`)
    await con.run(`INSERT INTO task_graph_edges (session_id, parent_node_id, child_node_id, edge_type, created_at)
      SELECT 'big', 'n' || ((i - 1) // 2), 'n' || i, CASE WHEN i % 7 = 0 THEN 'split_sequence' ELSE 'depends_on' END, TIMESTAMP '2026-06-01 10:00:00' FROM range(1, ${BIG_NODES}) t(i)`)
    await con.run(`INSERT INTO node_states (node_id, session_id, state, v_total, merkle_hash, attempt_count, created_at, node_class, owner_plugin, goal, parent_id, children, last_error_type, committed_at)
      SELECT 'n' || i, 'big', 'Completed', 0.05, ''::BLOB, 1, TIMESTAMP '2026-06-01 11:00:00', '', '', '', '', '[]', '', '' FROM range(0, ${BIG_NODES}, 2) t(i)`)
    await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
      SELECT 'n' || i, 'big', TIMESTAMP '2026-06-01 10:30:00', 0.2, 0.1, 0, 0, 0, 0.3 FROM range(1, ${BIG_NODES}, 3) t(i)`)
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  rmSync(dir, { recursive: true, force: true })
})

async function openSession(page: Page, sid: string, view: string, query = '', path = dbPath): Promise<void> {
  if (!storeIds.has(path)) {
    const res = await page.request.post(`${vigil.url}/api/rpc/listSources`, { data: { args: [] } })
    const body = (await res.json()) as { ok: boolean; value: Array<{ id: string; kind: string; path?: string }> }
    for (const s of body.value) if (s.kind === 'store' && s.path) storeIds.set(s.path, s.id)
  }
  const storeId = storeIds.get(path)!
  await page.goto(`${vigil.url}/#/store/${encodeURIComponent(storeId)}/session/${encodeURIComponent(sid)}/${view}${query}`)
}

/** A finished session with failures or escalations, so every colour shows. */
async function pickSession(): Promise<string> {
  const [row] = await sql<{ sid: string }>(
    `SELECT s.session_id AS sid FROM sessions s WHERE s.status IN ('FAILED', 'PARTIAL')
     ORDER BY (SELECT count(*) FROM escalation_reports e WHERE e.session_id = s.session_id) DESC, s.created_at LIMIT 1`
  )
  return row!.sid
}

test('the summary shows the numbers the store holds, each linking to its rows', async ({ page }) => {
  const sid = await pickSession()
  await openSession(page, sid, 'summary')
  const llm = page.getByTestId('sum-llm-requests')
  await expect(llm).toHaveText(String(await count('SELECT count(*) AS n FROM llm_requests WHERE session_id = $sid', sid)))
  await expect(llm).toHaveAttribute('href', /\/llm$/)
  await expect(page.getByTestId('sum-energy-rows')).toHaveText(String(await count('SELECT count(*) AS n FROM energy_history WHERE session_id = $sid', sid)))
  await expect(page.getByTestId('sum-plan-revisions')).toHaveText(String(await count('SELECT count(*) AS n FROM plan_revisions WHERE session_id = $sid', sid)))
  await expect(page.getByTestId('sum-headline-committed')).toHaveText(
    String(await count("SELECT count(DISTINCT node_id) AS n FROM node_states WHERE session_id = $sid AND state = 'Completed'", sid))
  )
  for (const table of ['escalation_reports', 'srbn_step_records', 'verification_results', 'task_graph_edges']) {
    await expect(page.getByTestId(`count-${table}`)).toHaveText(String(await count(`SELECT count(*) AS n FROM ${table} WHERE session_id = $sid`, sid)))
  }
  const [lat] = await sql<{ p50: number }>('SELECT quantile_cont(latency_ms, 0.5) AS p50 FROM llm_requests WHERE session_id = $sid', { sid })
  await expect(page.getByTestId('sum-p50')).toHaveText(lat!.p50 < 1000 ? `${Math.round(lat!.p50)} ms` : /s$/)
  await expect(page.getByTestId('sum-failed')).toHaveAttribute('href', /\/dag\?state=failed$/)
  const [charter] = await sql<{ scope: string }>('SELECT scope_description AS scope FROM feature_charters WHERE session_id = $sid', { sid })
  await expect(page.getByTestId('sum-charter')).toHaveText(charter!.scope)
  await expect(page.getByTestId('missing-tables')).toHaveCount(0)
  await shootBothSchemes(page, 'session-summary')
})

test('the DAG draws every node in its state colour; clicking or the keyboard opens its panel', async ({ page }) => {
  const sid = await pickSession()
  await openSession(page, sid, 'summary')
  const planned = Number(await page.getByTestId('sum-planned').textContent())
  const failed = Number(await page.getByTestId('sum-failed').locator('.num').textContent())
  await page.getByRole('link', { name: 'DAG', exact: true }).click()

  const nodes = page.locator('[data-testid=dag-viewport] g[data-node]')
  await expect(nodes.first()).toBeVisible()
  await expect(nodes).toHaveCount(planned)
  await expect(page.getByTestId('dag-count-failed').locator('.num')).toHaveText(String(failed))
  expect(await page.locator('[data-testid=dag-viewport] path.edge').count()).toBe(
    await count('SELECT count(*) AS n FROM (SELECT DISTINCT parent_node_id, child_node_id, edge_type FROM task_graph_edges WHERE session_id = $sid)', sid)
  )

  // Each node's outline is its state's palette colour.
  const colours = await nodes.evaluateAll((els) => {
    const probe = document.createElement('span')
    document.body.append(probe)
    const resolve = (v: string) => {
      probe.style.color = `var(${v})`
      return getComputedStyle(probe).color
    }
    const want: Record<string, string> = {
      committed: resolve('--status-completed'),
      running: resolve('--status-running'),
      failed: resolve('--status-failed'),
      escalated: resolve('--status-stale'),
      queued: resolve('--status-pending')
    }
    const out = els.map((el) => ({ state: el.getAttribute('data-state')!, got: getComputedStyle(el.querySelector('rect.box')!).stroke, want: want[el.getAttribute('data-state')!] }))
    probe.remove()
    return out
  })
  for (const c of colours) expect(c.got, c.state).toBe(c.want)
  expect(new Set(colours.map((c) => c.state)).size).toBeGreaterThanOrEqual(2)

  // Click a node with LLM requests: its panel shows energy history, LLM requests and decisions.
  const [busy] = await sql<{ nid: string; n: bigint }>(
    "SELECT node_id AS nid, count(*) AS n FROM llm_requests WHERE session_id = $sid AND node_id <> '' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    { sid }
  )
  await page.locator(`g[data-node="${busy!.nid}"]`).click()
  const panel = page.getByTestId('dag-panel')
  await expect(panel.getByRole('heading', { name: busy!.nid })).toBeVisible()
  await expect(panel.getByRole('heading', { name: new RegExp(`LLM requests \\(${Number(busy!.n)}\\)`) })).toBeVisible()
  await expect(panel.getByTestId('dag-panel-llm-link')).toHaveAttribute('href', new RegExp(`/llm\\?node=${busy!.nid}$`))
  await expect(panel.getByRole('heading', { name: /Energy history/ })).toBeVisible()
  await expect(panel.getByRole('heading', { name: /Decisions \(\d+\)/ })).toBeVisible()
  expect(page.url()).toContain(`node=${busy!.nid}`)
  await shootBothSchemes(page, 'session-dag')

  // Keyboard: Escape closes, arrows move the selection, Enter opens.
  const viewport = page.getByTestId('dag-viewport')
  await viewport.focus()
  await page.keyboard.press('Escape')
  await expect(panel).toHaveCount(0)
  await page.keyboard.press('ArrowRight')
  await expect(page.locator('g[data-node].sel')).toHaveCount(1)
  await expect(page.locator('g[data-node].cursor rect.ring')).toHaveCount(1)
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('dag-panel')).toBeVisible()

  // Zoom buttons and fit change the scale; the state filter dims the others.
  const pct = page.locator('.zoom .pct')
  const before = await pct.textContent()
  await page.getByRole('button', { name: 'Zoom in' }).click()
  await expect(pct).not.toHaveText(before!)
  await page.getByTestId('dag-count-failed').click()
  await expect(page.locator('g[data-node].dim').first()).toBeVisible()
  await expect(page.locator('g[data-node][data-state=failed].dim')).toHaveCount(0)
})

test('the energy table lists the latest pass per node and charts the selected one with ε', async ({ page }) => {
  const sid = await pickSession()
  const perNode = await sql<{ nid: string; n: bigint }>(
    'SELECT node_id AS nid, count(*) AS n FROM energy_history WHERE session_id = $sid GROUP BY 1 ORDER BY 2 DESC, 1',
    { sid }
  )
  const target = perNode[0]!
  await openSession(page, sid, 'energy', `?node=${encodeURIComponent(target.nid)}`)
  const rows = page.locator('[data-testid=session-energy] tbody tr[data-row-node]')
  await expect(rows).toHaveCount(perNode.length)
  const row = page.locator(`tr[data-row-node="${target.nid}"]`)
  await expect(row).toHaveAttribute('aria-selected', 'true')
  await expect(row.locator('td').nth(1)).toHaveText(String(Number(target.n)))
  await expect(page.getByRole('heading', { name: `Convergence of ${target.nid}` })).toBeVisible()
  await expect(page.getByTestId('energy-chart').locator('canvas')).toHaveCount(1)
  await expect(page.getByTestId('energy-chart')).toContainText('ε = 0.10')
  await expect(page.getByRole('columnheader', { name: /Last pass \(.+\)/ })).toBeVisible()

  // Sort by V_total, then pick another row by keyboard.
  await page.getByRole('columnheader', { name: /V_total/ }).getByRole('button').click()
  const totals = await rows.evaluateAll((els) => els.map((el) => Number(el.querySelectorAll('td')[7]!.textContent)))
  expect(totals).toEqual([...totals].sort((a, b) => b - a))
  await rows.first().focus()
  await page.keyboard.press('ArrowDown')
  const second = await rows.nth(1).getAttribute('data-row-node')
  await expect(page.getByRole('heading', { name: `Convergence of ${second}` })).toBeVisible()
  await shootBothSchemes(page, 'session-energy')

  // A node's pass count opens its passes (and only its passes).
  await page.locator(`tr[data-row-node="${target.nid}"]`).locator('td').nth(1).getByRole('link').click()
  await expect(page.getByTestId('passes-node-filter')).toContainText(target.nid)
  const passRows = page.getByRole('region', { name: 'Verification passes' }).locator('tbody tr[data-pass]')
  await expect(passRows.first()).toBeVisible()
  expect(new Set(await passRows.evaluateAll((els) => els.map((el) => el.getAttribute('data-node'))))).toEqual(new Set([target.nid]))
})

test('a 2,400-node graph is laid out off the page thread and only what is in view is drawn', async ({ page }) => {
  await openSession(page, 'big', 'dag', '', bigPath)
  const stats = page.locator('[data-testid=dag-viewport] .stats')
  await expect(stats).toContainText(`of ${BIG_NODES} nodes in view`, { timeout: 30_000 })
  await expect(page.getByTestId('dag-count-committed').locator('.num')).toHaveText(String(BIG_NODES / 2))
  // The page stays responsive while and after laying out: a frame round trip is quick.
  const frame = await page.evaluate(() => new Promise<number>((r) => { const t = performance.now(); requestAnimationFrame(() => r(performance.now() - t)) }))
  expect(frame).toBeLessThan(500)
  // Zoomed in, far fewer than all nodes are in the DOM; dragging pans.
  for (let i = 0; i < 14; i++) await page.getByRole('button', { name: 'Zoom in' }).click()
  const drawn = await page.locator('[data-testid=dag-viewport] g[data-node]').count()
  expect(drawn).toBeGreaterThan(0)
  expect(drawn).toBeLessThan(BIG_NODES / 4)
  const viewport = page.getByTestId('dag-viewport')
  const box = (await viewport.boundingBox())!
  const first = await page.locator('[data-testid=dag-viewport] g[data-node]').first().getAttribute('data-node')
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width / 2 - 600, box.y + box.height / 2 - 300, { steps: 8 })
  await page.mouse.up()
  await expect.poll(() => page.locator('[data-testid=dag-viewport] g[data-node]').first().getAttribute('data-node')).not.toBe(first)
  await page.getByRole('button', { name: 'Fit' }).click()
  await shootBothSchemes(page, 'session-dag-big')
})

test.describe('live store (demo)', () => {
  let demo: VigilProcess
  test.beforeAll(async () => {
    demo = await startVigil(['--demo'])
  })
  test.afterAll(async () => {
    expect(await demo.stop()).toBe(0)
  })

  test('the running session DAG refreshes in place: zoom and selection survive new snapshots', async ({ page }) => {
    await page.goto(demo.url)
    await page.getByRole('link', { name: /Demo · Perspt store/ }).first().click()
    const running = page.locator('[role=row][data-session]:has([data-status=running])')
    await expect(running).toHaveCount(1)
    const sid = await running.getAttribute('data-session')
    const hash = await page.evaluate(() => window.location.hash)
    await page.goto(`${demo.url}/${hash}/session/${encodeURIComponent(sid!)}/dag`)

    const nodes = page.locator('[data-testid=dag-viewport] g[data-node]')
    await expect(nodes.first()).toBeVisible()
    await nodes.first().click()
    const picked = await nodes.first().getAttribute('data-node')
    await expect(page.getByTestId('dag-panel')).toBeVisible()
    await page.getByRole('button', { name: 'Zoom out' }).click()
    const pct = await page.locator('.zoom .pct').textContent()
    const graphText = () => page.locator('[data-testid=dag-viewport] svg').textContent()
    const before = await graphText()
    // The simulated agent keeps working: wait for the graph to change, without a reload.
    await expect.poll(graphText, { timeout: 30_000 }).not.toBe(before)
    await expect(page.locator('.zoom .pct')).toHaveText(pct!)
    await expect(page.locator(`g[data-node="${picked}"]`)).toHaveClass(/sel/)
    await expect(page.getByTestId('dag-panel')).toBeVisible()
    await page.getByRole('button', { name: 'Fit' }).click()
    await shootBothSchemes(page, 'session-dag-live')
  })
})
