// The LLM page of a live session (issue 17): a new snapshot whose LLM data did not change re-renders
// nothing on the page (no row, no figure, no chart redraw), and a burst of snapshots never holds more
// than one request per kind in flight, while the figures still reach SQL's truth; a snapshot refetches
// the rows in view, not the page prefetched below them.
import { expect, test, type Page } from '@playwright/test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { VIEWS_MAIN, buildViewsStore } from '../fixtures/perspt-fixtures'
import { startVigil, type VigilProcess } from './support/vigil-process'

const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-llm-live-'))
const path = join(dir, 'perspt.db')
let vigil: VigilProcess

test.beforeAll(async () => {
  await buildViewsStore(path, { generation: 23, llmRequests: 400 })
  vigil = await startVigil(['--db', path])
})

test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  rmSync(dir, { recursive: true, force: true })
})

/** Runs statements on the store as an agent would (read-write, then closed). */
async function write(...statements: string[]): Promise<void> {
  const instance = await DuckDBInstance.create(path)
  const con = await instance.connect()
  try {
    for (const s of statements) await con.run(s)
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

async function llmCount(): Promise<number> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    const [r] = (await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM llm_requests WHERE session_id = '${VIEWS_MAIN}'`)).getRowObjectsJS()
    return r!.n as number
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

/** Counts the page's API calls per method: done, and the most in flight at once. */
function watchRequests(page: Page) {
  const inFlight = new Map<string, number>()
  const most = new Map<string, number>()
  const done = new Map<string, number>()
  const method = (url: string) => /\/api\/rpc\/(\w+)/.exec(url)?.[1]
  page.on('request', (r) => {
    const m = method(r.url())
    if (!m) return
    inFlight.set(m, (inFlight.get(m) ?? 0) + 1)
    most.set(m, Math.max(most.get(m) ?? 0, inFlight.get(m)!))
  })
  const end = (r: { url(): string }) => {
    const m = method(r.url())
    if (!m) return
    inFlight.set(m, (inFlight.get(m) ?? 1) - 1)
    done.set(m, (done.get(m) ?? 0) + 1)
  }
  page.on('requestfinished', end)
  page.on('requestfailed', end)
  return { most, done: (m: string) => done.get(m) ?? 0 }
}

test('a snapshot that changes no LLM data re-renders nothing; a burst keeps one request per kind in flight', async ({ page }) => {
  // Canvas drawing counted from the start: a chart redraw clears its canvas.
  await page.addInitScript(() => {
    const w = window as unknown as { __draws: number }
    w.__draws = 0
    const clear = CanvasRenderingContext2D.prototype.clearRect
    CanvasRenderingContext2D.prototype.clearRect = function (...args: Parameters<typeof clear>) {
      w.__draws++
      return clear.apply(this, args)
    }
  })
  const calls = watchRequests(page)
  const res = await page.request.post(`${vigil.url}/api/rpc/listSources`, { data: { args: [] } })
  const storeId = ((await res.json()) as { value: Array<{ id: string; kind: string }> }).value.find((s) => s.kind === 'store')!.id
  await page.goto(`${vigil.url}/#/store/${encodeURIComponent(storeId)}/session/${VIEWS_MAIN}/llm`)
  const requests = page.getByTestId('llm-requests')
  await expect(requests).toHaveText('400')
  await expect(page.locator('[data-testid=llm-rows] [data-request]').first()).toBeVisible()
  await expect(page.getByTestId('session-llm').locator('canvas').first()).toBeVisible()
  // Let the first draws settle, then watch the page.
  await page.waitForTimeout(500)
  await page.evaluate(() => {
    const w = window as unknown as { __mutations: number; __draws: number; __drawsAt: number }
    w.__mutations = 0
    w.__drawsAt = w.__draws
    new MutationObserver((list) => (w.__mutations += list.length)).observe(document.querySelector('[data-testid=session-llm]')!, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true
    })
  })

  // 1. The session changes (its row), its LLM requests do not: the page refetches and shows the same.
  const summariesBefore = calls.done('getLlmSummary')
  const rowsBefore = calls.done('getLlmRows')
  await write(`UPDATE sessions SET updated_at = updated_at + INTERVAL 1 SECOND WHERE session_id = '${VIEWS_MAIN}'`)
  await expect.poll(() => calls.done('getLlmSummary'), { timeout: 15_000 }).toBeGreaterThan(summariesBefore)
  await expect.poll(() => calls.done('getLlmRows'), { timeout: 15_000 }).toBeGreaterThan(rowsBefore)
  await expect.poll(() => calls.done('getLlmSeries'), { timeout: 15_000 }).toBeGreaterThan(0)
  await page.waitForTimeout(300)
  const quiet = await page.evaluate(() => {
    const w = window as unknown as { __mutations: number; __draws: number; __drawsAt: number }
    return { mutations: w.__mutations, draws: w.__draws - w.__drawsAt }
  })
  expect(quiet).toEqual({ mutations: 0, draws: 0 })
  // Per snapshot, the page of rows in view is refetched, not the page kept below it (400 rows: two pages).
  expect(calls.done('getLlmRows') - rowsBefore).toBeLessThanOrEqual(calls.done('getLlmSummary') - summariesBefore)

  // 2. A burst of commits, each a snapshot: figures reach SQL's count, never two requests of a kind at once.
  for (let i = 0; i < 8; i++) {
    await write(
      `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp)
       VALUES ('${VIEWS_MAIN}', 'task_1', 'gpt-4o', '${'burst '.repeat(200)}', 'ok', 10, 5, ${100 + i}, (SELECT max(timestamp) FROM llm_requests) + INTERVAL 1 SECOND)`
    )
  }
  const truth = await llmCount()
  expect(truth).toBe(408)
  await expect(requests).toHaveText(String(truth), { timeout: 15_000 })
  const changed = await page.evaluate(() => (window as unknown as { __mutations: number }).__mutations)
  expect(changed).toBeGreaterThan(0)
  for (const m of ['getLlmSummary', 'getLlmRows', 'getLlmSeries']) expect(calls.most.get(m) ?? 0, m).toBeLessThanOrEqual(1)
})
