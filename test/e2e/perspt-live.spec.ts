// Live while the agent holds the file: a separate process keeps perspt.db open read-write and inserts;
// the open view shows each commit within 1 s, without a reload, keeping scroll position and selection.
import { expect, test } from '@playwright/test'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { buildStore, type FixtureSession } from '../fixtures/perspt-fixtures'
import { startVigil, type VigilProcess } from './support/vigil-process'

const root = resolve(__dirname, '../..')
let dir: string
let dbPath: string
let agent: ChildProcessWithoutNullStreams
const lines: string[] = []
let vigil: VigilProcess

async function agentSays(expected: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!lines.includes(expected)) {
    if (Date.now() > end) throw new Error(`agent did not say "${expected}"; said ${JSON.stringify(lines)}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-live-e2e-'))
  dbPath = join(dir, 'perspt.db')
  const sessions: FixtureSession[] = Array.from({ length: 40 }, (_, i) => ({
    id: `old-${String(i).padStart(2, '0')}`,
    task: `Earlier task ${i}`,
    status: 'COMPLETED',
    createdAt: `2026-05-01 ${String(10 + Math.floor(i / 10)).padStart(2, '0')}:${String((i % 10) * 5).padStart(2, '0')}:00`
  }))
  await buildStore(dbPath, { generation: 23, sessions })
  agent = spawn(process.execPath, [join(root, 'test/fixtures/perspt-agent.mjs'), 'hold', dbPath])
  createInterface({ input: agent.stdout }).on('line', (l) => lines.push(l))
  await agentSays('ready')
  vigil = await startVigil(['--db', dbPath])
})

test.afterAll(async () => {
  if (agent.exitCode === null) agent.kill()
  await vigil?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('each commit of a running agent appears within 1 s, with scroll and selection kept', async ({ page }) => {
  await page.goto(vigil.url)
  await page.getByRole('navigation', { name: 'Sources' }).getByRole('link').filter({ hasText: 'perspt.db' }).click()
  const rows = page.locator('[role=row][data-session]')
  await expect(page.getByText('40 of 40 sessions')).toBeVisible()
  await expect(page.getByRole('navigation', { name: 'Sources' }).locator('[data-status=live]')).toBeVisible()

  const body = page.getByRole('region', { name: 'Sessions', exact: true })
  await rows.filter({ hasText: 'Earlier task 30' }).click()
  await body.evaluate((el) => (el.scrollTop = 180))
  await page.evaluate(() => ((window as unknown as { __marker: number }).__marker = 7))

  for (let i = 1; i <= 3; i++) {
    const committedAt = Date.now()
    agent.stdin.write(`session live-${i}\n`)
    await agentSays(`ok live-${i}`)
    await expect(rows.and(page.locator(`[data-session="live-${i}"]`))).toHaveCount(1, { timeout: 1000 })
    const latency = Date.now() - committedAt
    test.info().annotations.push({ type: 'commit-to-DOM', description: `${latency} ms` })
    await expect(page.getByText(`${40 + i} of ${40 + i} sessions`)).toBeVisible()
  }

  // Same page (no reload), same selected session, same scroll position.
  expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(7)
  await expect(page.locator('[role=row][aria-selected=true]')).toContainText('Earlier task 30')
  expect(await body.evaluate((el) => el.scrollTop)).toBe(180)
  // The agent's session is running while the agent holds the store.
  await expect(page.locator('[data-session="live-3"] [data-status]').first()).toHaveAttribute('data-status', 'running')

  // The agent goes away without finishing: its RUNNING session becomes stale, the store idle.
  agent.stdin.write('quit\n')
  agent.stdin.end()
  await agentSays('closed')
  await expect(page.locator('[data-session="live-3"] [data-status]').first()).toHaveAttribute('data-status', 'stale', { timeout: 5000 })
  await expect(page.getByRole('navigation', { name: 'Sources' }).locator('[data-status=idle]')).toBeVisible()
})

test("an open session refetches when a snapshot changed it, not when another session's rows grew", async ({ page }) => {
  // A writer that runs SQL lines and never checkpoints (as Perspt between its checkpoints).
  const writer = spawn(process.execPath, [join(root, 'test/fixtures/perspt-agent.mjs'), 'sql', dbPath])
  const said: string[] = []
  createInterface({ input: writer.stdout }).on('line', (l) => said.push(l))
  const sql = async (line: string) => {
    const before = said.length
    writer.stdin.write(`${line}\n`)
    await expect.poll(() => said.slice(before)).toContain('ok')
  }
  try {
    await expect.poll(() => said).toContain('ready')
    const pushes: string[] = []
    page.on('websocket', (ws) => ws.on('framereceived', (f) => pushes.push(String(f.payload))))
    const calls: string[] = []
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname
      if (r.method() === 'POST' && path.startsWith('/api/rpc/')) calls.push(path.slice('/api/rpc/'.length))
    })
    await page.goto(vigil.url)
    const storeHref = await page.getByRole('navigation', { name: 'Sources' }).getByRole('link').filter({ hasText: 'perspt.db' }).getAttribute('href')
    await page.goto(`${vigil.url}/${storeHref}/session/old-05/summary`)
    await expect(page).toHaveURL(/\/session\/old-05\/summary/)
    await expect(page.getByRole('heading', { level: 1, name: 'Earlier task 5' })).toBeVisible()
    const sessionCalls = () => calls.filter((c) => ['listSessions', 'getSessionFailure', 'getSessionSummary'].includes(c))
    await expect.poll(() => sessionCalls().length).toBeGreaterThanOrEqual(3)

    // Rows of another session: the push names it, and this page asks for nothing.
    const seen = sessionCalls().length
    const pushed = pushes.length
    await sql("INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('old-07', 'n', 'm', 'p', 'r', 3, 3)")
    await expect.poll(() => pushes.slice(pushed).find((p) => p.includes('store-updated') && p.includes('"old-07"')), { timeout: 5000 }).toBeTruthy()
    await page.waitForTimeout(1000)
    expect(sessionCalls().slice(seen), pushes.slice(pushed).join('\n')).toEqual([])

    // Rows of this session: the push names it, and the summary and header are read again.
    await sql("INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('old-05', 'n', 'm', 'p', 'r', 3, 3)")
    await expect.poll(() => sessionCalls().slice(seen), { timeout: 5000 }).toEqual(expect.arrayContaining(['listSessions', 'getSessionSummary']))
  } finally {
    writer.stdin.write('quit\n')
    await new Promise((r) => (writer.exitCode === null ? writer.once('exit', r) : r(null)))
  }
})
