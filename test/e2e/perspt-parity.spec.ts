// Parity with Perspt's dashboard, in a real browser against a real `vigil serve` and real DuckDB
// stores: the store page's totals across sessions and detected toolchain, the Nodes tab (all nodes and
// edge rows), energy statistics in the Energy tab and the flat Passes table — every number checked
// against SQL on the store, including hostile rows (NaN/±inf/NULL energy, NULL latency, aborted node).
import { expect, test, type Page } from '@playwright/test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { PersptSimulator } from '../../src/main/demo/perspt-simulator'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
let dir: string
let dbPath: string
let oldPath: string
const storeIds = new Map<string, string>()
const HOSTILE = 'px-hostile'

async function sql<T = Record<string, unknown>>(q: string, params: Record<string, string> = {}, path = dbPath): Promise<T[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    return (await con.runAndReadAll(q, params)).getRowObjectsJS() as T[]
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}
const one = async (q: string, params: Record<string, string> = {}) => Number(Object.values((await sql(q, params))[0]!)[0])
const fmt3 = (v: number) => (Number(v.toPrecision(7)) === 0 ? '0' : Number(v.toPrecision(7)).toFixed(3))

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-parity-'))
  dbPath = join(dir, 'perspt.db')
  const sim = new PersptSimulator({ path: dbPath, tickMs: 0, seed: 5, now: () => Date.parse('2026-06-15T12:00:00Z'), rotate: false })
  await sim.start()
  for (let i = 0; i < 10; i++) await sim.tick()
  await sim.stop()
  const instance = await DuckDBInstance.create(dbPath)
  const con = await instance.connect()
  try {
    await con.run(`INSERT INTO sessions VALUES ('${HOSTILE}', 'Hostile rows', '/w', ''::BLOB, 'rust', TIMESTAMP '2026-06-15 09:00:00', TIMESTAMP '2026-06-15 09:30:00', 'FAILED')`)
    for (const [node, total, syn, at] of [
      ['h_1', "'NaN'::REAL", '0.5', '09:01'],
      ['h_1', '0.25', "'Infinity'::REAL", '09:02'],
      ['h_1', '0.05', 'NULL', '09:03'],
      ['h_2', "'-Infinity'::REAL", '0.04', '09:04'],
      ['h_2', '0.07', '2.0', '09:05']
    ]) {
      await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
        VALUES ('${node}', '${HOSTILE}', TIMESTAMP '2026-06-15 ${at}:00', ${syn}, 0.1, 0, 0, 0, ${total})`)
    }
    for (const [node, state, v] of [['h_1', 'Completed', "'NaN'::REAL"], ['h_2', 'Completed', '0.07'], ['h_3', 'Aborted', '0']]) {
      await con.run(`INSERT INTO node_states (node_id, session_id, state, v_total, merkle_hash, attempt_count, created_at, node_class, owner_plugin, goal, parent_id, children, last_error_type, committed_at)
        VALUES ('${node}', '${HOSTILE}', '${state}', ${v}, ''::BLOB, 2, TIMESTAMP '2026-06-15 09:10:00', 'implementation', '', 'Goal of ${node}', '', '[]', '', '2026-06-15T09:10:00Z')`)
    }
    for (const [a, b, t] of [['h_1', 'h_2', 'depends_on'], ['h_2', 'h_3', 'interface_boundary']]) {
      await con.run(`INSERT INTO task_graph_edges (session_id, parent_node_id, child_node_id, edge_type) VALUES ('${HOSTILE}', '${a}', '${b}', '${t}')`)
    }
    for (const lat of ['NULL', '100', 'NULL']) {
      await con.run(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('${HOSTILE}', 'h_1', 'm', 'p', 'r', 5, 6, ${lat})`)
    }
  } finally {
    con.closeSync()
    instance.closeSync()
  }
  // A store written by something that never had the toolchain column.
  oldPath = join(dir, 'old.db')
  const old = await DuckDBInstance.create(oldPath)
  const oc = await old.connect()
  await oc.run(`CREATE TABLE sessions (session_id VARCHAR PRIMARY KEY, task TEXT, working_dir TEXT, created_at TIMESTAMP, updated_at TIMESTAMP, status VARCHAR)`)
  await oc.run(`INSERT INTO sessions VALUES ('old-1', 'An old session', '/w', TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 00:10:00', 'COMPLETED')`)
  oc.closeSync()
  old.closeSync()
  vigil = await startVigil(['--db', dbPath, '--db', oldPath])
})

test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  rmSync(dir, { recursive: true, force: true })
})

async function storeId(page: Page, path: string): Promise<string> {
  if (!storeIds.has(path)) {
    const res = await page.request.post(`${vigil.url}/api/rpc/listSources`, { data: { args: [] } })
    const body = (await res.json()) as { value: Array<{ id: string; kind: string; path?: string }> }
    for (const s of body.value) if (s.kind === 'store' && s.path) storeIds.set(s.path, s.id)
  }
  return storeIds.get(path)!
}

async function openSession(page: Page, sid: string, view: string, query = ''): Promise<void> {
  await page.goto(`${vigil.url}/#/store/${encodeURIComponent(await storeId(page, dbPath))}/session/${encodeURIComponent(sid)}/${view}${query}`)
}

test('the store page shows totals across all sessions and the detected toolchain, each from the store', async ({ page }) => {
  await page.goto(`${vigil.url}/#/store/${encodeURIComponent(await storeId(page, dbPath))}`)
  const totals = page.getByTestId('store-totals')
  const sessions = await one('SELECT count(*) FROM sessions')
  await expect(totals.getByRole('heading')).toHaveText(`Across all ${sessions} sessions`)

  const calls = await one('SELECT count(*) FROM llm_requests')
  await expect(page.getByTestId('totals-llm')).toHaveAttribute('data-value', String(calls))
  await expect(page.getByTestId('totals-llm')).toHaveText(String(calls))
  const tokens = page.getByTestId('totals-tokens')
  // A call without a count is estimated from its text as (UTF-8 bytes + 3) div 4, as Perspt's session pages do.
  const estimate = (c: string, t: string) => `SELECT sum(CASE WHEN ${c} > 0 THEN ${c} ELSE (octet_length(encode(${t})) + 3) // 4 END) FROM llm_requests`
  await expect(tokens).toHaveAttribute('data-in', String(await one(estimate('tokens_in', 'prompt'))))
  await expect(tokens).toHaveAttribute('data-out', String(await one(estimate('tokens_out', 'response'))))

  // Perspt's MEDIAN(latency_ms): NULL latency is excluded, and the page says how many calls that left out.
  const median = await one('SELECT median(latency_ms) FROM llm_requests')
  const mean = await one('SELECT avg(latency_ms) FROM llm_requests')
  expect(mean).not.toBeCloseTo(await one('SELECT avg(coalesce(latency_ms, 0)) FROM llm_requests'), 0)
  await expect(page.getByTestId('totals-median')).toHaveAttribute('data-value', String(Math.round(median * 10) / 10))
  await expect(page.getByTestId('totals-mean')).toHaveAttribute('data-value', String(Math.round(mean * 10) / 10))
  await expect(page.getByTestId('totals-latency-basis')).toHaveText(`of ${calls - 2} calls with a latency; 2 without one left out`)

  // Nodes: committed as Vigil reconstructs them (every Completed commit of this store), failed including the aborted node.
  const nodes = page.getByTestId('totals-nodes')
  await expect(nodes).toHaveAttribute('data-committed', String(await one("SELECT count(DISTINCT (session_id, node_id)) FROM node_states WHERE state = 'Completed'")))
  const listed = (await (await page.request.post(`${vigil.url}/api/rpc/listSessions`, { data: { args: [await storeId(page, dbPath)] } })).json()) as {
    value: Array<{ nodes: { failed: number } }>
  }
  const failed = listed.value.reduce((a, s) => a + s.nodes.failed, 0)
  expect(failed).toBeGreaterThanOrEqual(1)
  await expect(nodes).toHaveAttribute('data-failed', String(failed))
  const persptTotal = await one(`SELECT count(*) FROM (SELECT DISTINCT session_id, node_id FROM node_states)`)
  await expect(page.getByTestId('totals-perspt-nodes')).toContainText(`Perspt's own dashboard counts ${persptTotal - 1} completed of ${persptTotal}, 0 failed`)

  // Toolchain: 'rust' for the one session that has it; the simulator's sessions left it empty.
  await expect(page.getByTestId('totals-toolchain').locator('[data-toolchain=rust]')).toHaveText('rust · 1 session')
  await expect(page.getByTestId('totals-toolchain')).toContainText(`none for ${sessions - 1} sessions`)

  // A total leads to its sessions: LLM calls sorts the list by them, most first.
  await page.getByTestId('totals-llm').click()
  const most = await one('SELECT max(n) FROM (SELECT count(*) AS n FROM llm_requests GROUP BY session_id)')
  const first = await page.locator('[data-session]').first().getAttribute('data-session')
  expect(await one('SELECT count(*) FROM llm_requests WHERE session_id = $sid', { sid: first! })).toBe(most)
  await expect(page.getByRole('columnheader', { name: /LLM calls/ })).toHaveAttribute('aria-sort', 'descending')
  await shootBothSchemes(page, 'store-totals')

  // New calls in the store (a new snapshot): the totals follow without a reload.
  await page.locator('[data-session]').first().waitFor()
  const writer = await DuckDBInstance.create(dbPath)
  const wc = await writer.connect()
  await wc.run(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms)
    SELECT '${HOSTILE}', 'h_2', 'm', 'p', 'r', 10, 20, CASE WHEN i = 0 THEN NULL ELSE 50 END FROM range(3) t(i)`)
  wc.closeSync()
  writer.closeSync()
  await expect(page.getByTestId('totals-llm')).toHaveAttribute('data-value', String(calls + 3), { timeout: 20_000 })
  await expect(page.getByTestId('totals-latency-basis')).toHaveText(`of ${calls - 2 + 2} calls with a latency; 3 without one left out`)

  // A store without the column says so, in plain words.
  await page.goto(`${vigil.url}/#/store/${encodeURIComponent(await storeId(page, oldPath))}`)
  await expect(page.getByTestId('totals-toolchain')).toHaveText('Not recorded by this Perspt version (its sessions table has no toolchain column).')
  await expect(page.getByTestId('totals-llm')).toHaveText('0')
  await expect(page.getByTestId('totals-median')).toHaveText('—')
})

test('the Nodes tab lists every node with V_total at commit and attempts, sortable, and the edges as stored', async ({ page }) => {
  const [pick] = await sql<{ sid: string }>(
    `SELECT session_id AS sid FROM task_graph_edges WHERE session_id <> '${HOSTILE}' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`
  )
  const sid = pick!.sid
  await openSession(page, sid, 'summary')
  const planned = Number(await page.getByTestId('sum-planned').textContent())
  await page.getByRole('link', { name: 'Nodes', exact: true }).click()
  await expect(page).toHaveURL(/\/nodes$/)

  const table = page.getByTestId('nodes-table')
  const rows = table.locator('tbody tr[data-node]')
  await expect(rows).toHaveCount(planned)
  // Committed nodes carry the V_total Perspt recorded at commit; the others say they have not committed.
  const commits = await sql<{ nid: string; v: number; a: number }>(
    `SELECT node_id AS nid, v_total AS v, attempt_count AS a FROM node_states WHERE session_id = $sid
     QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY created_at DESC, id DESC) = 1`,
    { sid }
  )
  for (const c of commits) {
    const row = table.locator(`tr[data-node="${c.nid}"]`)
    await expect(row).toHaveAttribute('data-state', 'committed')
    await expect(row.locator('[data-commit-energy]')).toHaveText(fmt3(c.v))
  }
  await expect(table.getByText('— not committed')).toHaveCount(planned - commits.length)

  // Sorting by V_total at commit: numbers in order, the uncommitted ones last.
  await table.getByRole('columnheader', { name: 'V_total at commit' }).getByRole('button').click()
  const shown = await rows.evaluateAll((els) => els.map((el) => el.querySelector('[data-commit-energy]')?.textContent ?? null))
  const numbers = shown.filter((v): v is string => v !== null).map(Number)
  expect(numbers).toEqual([...numbers].sort((a, b) => b - a))
  expect(shown.slice(numbers.length).every((v) => v === null)).toBe(true)
  await expect(table.getByRole('columnheader', { name: 'V_total at commit' })).toHaveAttribute('aria-sort', 'descending')

  // Passes click through to the node's passes.
  const [busy] = await sql<{ nid: string; n: bigint }>('SELECT node_id AS nid, count(*) AS n FROM energy_history WHERE session_id = $sid GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1', { sid })
  const passLink = table.locator(`tr[data-node="${busy!.nid}"] td`).nth(8).getByRole('link')
  await expect(passLink).toHaveText(String(Number(busy!.n)))
  await passLink.click()
  await expect(page).toHaveURL(new RegExp(`/passes\\?node=${busy!.nid}$`))
  await expect(page.getByTestId('passes-table').locator('tbody tr[data-pass]')).toHaveCount(Number(busy!.n))
  await page.goBack()

  // Edges: every row of the store, with its type in plain words.
  const edges = await sql<{ a: string; b: string; t: string }>(
    'SELECT parent_node_id AS a, child_node_id AS b, edge_type AS t FROM task_graph_edges WHERE session_id = $sid ORDER BY created_at, id',
    { sid }
  )
  const edgeRows = page.getByTestId('edges-table').locator('tbody tr[data-edge]')
  await expect(edgeRows).toHaveCount(edges.length)
  expect(await edgeRows.evaluateAll((els) => els.map((el) => el.getAttribute('data-edge')))).toEqual(edges.map((e) => `${e.a}>${e.b}`))
  await expect(edgeRows.first().locator('td').nth(2)).toHaveText('Depends on')
  // Plain words outside the raw records disclosure: no table names in headings, columns or notes.
  const outside = (await page.locator('[data-testid=session-nodes] > :not([data-testid=nodes-raw])').allInnerTexts()).join('\n')
  expect(outside).toContain('Edges')
  for (const raw of ['node_states', 'task_graph_edges', 'energy_history', 'plan_revisions', 'edge_type']) expect(outside).not.toContain(raw)
  await expect(page.getByTestId('nodes-raw')).toContainText('task_graph_edges')
})

test('hostile rows in the Nodes tab: NaN at commit is "—" with a warning, aborted is failed with its stored word', async ({ page }) => {
  await openSession(page, HOSTILE, 'nodes')
  const table = page.getByTestId('nodes-table')
  await expect(table.locator('tbody tr[data-node]')).toHaveCount(3)
  const h1 = table.locator('tr[data-node=h_1]')
  await expect(h1.locator('[data-commit-energy]')).toHaveText('⚠ — NaN')
  await expect(h1).not.toContainText('0.000')
  await expect(table.locator('tr[data-node=h_2] [data-commit-energy]')).toHaveText('0.070')
  const h3 = table.locator('tr[data-node=h_3]')
  await expect(h3).toHaveAttribute('data-state', 'failed')
  await expect(h3).toContainText('Aborted')
  await expect(page.getByTestId('nodes-toolchain')).toHaveText(/Detected toolchain:\s+rust/)
  await expect(page.getByTestId('edges-table').locator('tr[data-type=interface_boundary] td').nth(2)).toHaveText('Interface boundary')
  // Raw names only inside the raw records disclosure, for the node selected.
  await h1.locator('td').nth(1).click()
  await page.getByTestId('nodes-raw').locator('summary').click()
  await expect(page.getByTestId('nodes-raw-record')).toContainText('v_total')
  await expect(page.getByTestId('nodes-raw-record')).toContainText('nan')
  await expect(page.getByTestId('nodes-raw-record')).toContainText('"Completed"')
  await shootBothSchemes(page, 'session-nodes')
})

test('energy statistics per component equal SQL; the flat passes table shows non-finite values as —', async ({ page }) => {
  const [pick] = await sql<{ sid: string }>(`SELECT session_id AS sid FROM energy_history WHERE session_id <> '${HOSTILE}' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`)
  const sid = pick!.sid
  await openSession(page, sid, 'energy')
  const stats = page.getByTestId('energy-stats')
  const passes = await one('SELECT count(*) FROM energy_history WHERE session_id = $sid', { sid })
  await expect(stats.getByTestId('energy-stats-passes')).toHaveText(`${passes} verification passes`)
  for (const [key, c] of [['vSyn', 'v_syn'], ['vLog', 'v_log'], ['vTotal', 'v_total']] as const) {
    const [t] = await sql<{ mn: number; mx: number; av: number }>(`SELECT min(${c}) AS mn, max(${c}) AS mx, avg(${c}) AS av FROM energy_history WHERE session_id = $sid`, { sid })
    const row = stats.locator(`tr[data-component=${key}]`)
    await expect(row.getByTestId('stat-min')).toHaveText(fmt3(t!.mn))
    await expect(row.getByTestId('stat-max')).toHaveText(fmt3(t!.mx))
    await expect(row.getByTestId('stat-mean')).toHaveText(fmt3(t!.av))
    await expect(row.getByTestId('stat-counted')).toHaveText(String(passes))
  }
  await expect(stats.getByTestId('energy-stats-warning')).toHaveCount(0)

  // The highest V_total leads to its pass in the flat table.
  const [hi] = await sql<{ id: number }>('SELECT id FROM energy_history WHERE session_id = $sid ORDER BY v_total DESC, id LIMIT 1', { sid })
  await stats.locator('tr[data-component=vTotal]').getByTestId('stat-max').click()
  await expect(page).toHaveURL(new RegExp(`/passes\\?pass=${hi!.id}$`))
  const table = page.getByTestId('passes-table')
  await expect(table.locator(`tr[data-pass="${hi!.id}"]`)).toHaveAttribute('aria-selected', 'true')
  await expect(page.getByRole('region', { name: 'Verification passes' })).toBeVisible()

  // Hostile session: statistics leave NaN/±inf/NULL out (and say so); passes show them as —.
  await openSession(page, HOSTILE, 'energy')
  const total = page.getByTestId('energy-stats').locator('tr[data-component=vTotal]')
  await expect(total.getByTestId('stat-min')).toHaveText('0.050')
  await expect(total.getByTestId('stat-max')).toHaveText('0.250')
  await expect(total.getByTestId('stat-mean')).toHaveText(fmt3((0.25 + 0.05 + 0.07) / 3))
  await expect(total.getByTestId('stat-counted')).toHaveText('3')
  await expect(total.getByTestId('stat-left-out')).toHaveText('⚠ 2')
  await expect(page.getByTestId('energy-stats-warning')).toBeVisible()
  await page.getByTestId('energy-stats').scrollIntoViewIfNeeded()
  await shootBothSchemes(page, 'session-energy-stats')
  await total.getByTestId('stat-left-out').getByRole('link').click()
  await expect(page).toHaveURL(/\/passes\?invalid=1$/)
  const gaps = page.getByTestId('passes-table').locator('tbody tr[data-pass]')
  await expect(gaps).toHaveCount(4)
  await expect(page.getByTestId('passes-table').locator('[data-invalid]')).toHaveCount(4)
  await expect(page.getByTestId('passes-table')).not.toContainText('NaN')
  await page.getByTestId('passes-invalid-only').uncheck()
  await expect(gaps).toHaveCount(5)
  await shootBothSchemes(page, 'session-passes')
  // Pass numbers restart per node, oldest first.
  expect(await gaps.evaluateAll((els) => els.map((el) => `${el.getAttribute('data-node')}#${el.querySelectorAll('td')[1]!.textContent}`))).toEqual([
    'h_1#1',
    'h_1#2',
    'h_1#3',
    'h_2#1',
    'h_2#2'
  ])
})
