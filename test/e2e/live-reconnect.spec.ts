// Reconnect and watchdog as a user sees them: `vigil serve --attach` to an embedded AgentEnsemble
// dashboard (spec §1, §4) that (a) goes down and comes back on the same port, and (b) accepts, says
// hello and then stays silent — no frames, no pong — so only Vigil's watchdog can notice.
//
// The watchdog period is fixed at 45 s in a spawned `vigil serve` (no flag or env shortens it), so (b)
// really waits 45 s. The same logic with a 150 ms watchdog is covered in
// test/integration/live/attachment.test.ts; this test proves the shipped default and what the UI shows.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { expect, test, type Page } from '@playwright/test'
import { WebSocketServer, type WebSocket } from 'ws'
import { EnsembleSimulator } from '../../src/main/demo/ensemble-simulator'
import { serializeServerMessage } from '../../src/shared/protocol/agentensemble'
import type { DashboardMessage } from '../../src/shared/protocol/agentensemble'
import type { AttachmentSourceInfo, SourceInfo } from '../../src/shared/model/sources'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

const iso = (ms: number) => new Date(ms).toISOString()
const T0 = Date.now() - 60_000
const DESCRIPTIONS = ['Research AI trends', 'Write the report', 'Review the draft'] as const
const ROLES = ['Researcher', 'Writer', 'Editor'] as const

function started(ensembleId: string): DashboardMessage {
  return { type: 'ensemble_started', ensembleId, startedAt: iso(T0), totalTasks: 3, workflow: 'SEQUENTIAL' }
}
function taskStarted(i: 1 | 2 | 3): DashboardMessage {
  return { type: 'task_started', taskIndex: i, totalTasks: 3, taskDescription: DESCRIPTIONS[i - 1]!, agentRole: ROLES[i - 1]!, startedAt: iso(T0 + i * 10_000) }
}
function taskCompleted(i: 1 | 2 | 3): DashboardMessage {
  return { type: 'task_completed', taskIndex: i, totalTasks: 3, taskDescription: DESCRIPTIONS[i - 1]!, agentRole: ROLES[i - 1]!, completedAt: iso(T0 + i * 10_000 + 8000), durationMs: 8000, tokenCount: -1, toolCallCount: 1 }
}
function toolCalled(i: 1 | 2 | 3, toolName: string): DashboardMessage {
  return { type: 'tool_called', agentRole: ROLES[i - 1]!, taskIndex: i, toolName, durationMs: 120, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'ok', structuredResult: null }
}

async function rpc<T>(vigil: VigilProcess, method: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`${vigil.url}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args }) })
  const body = (await res.json()) as { ok: boolean; value: T }
  expect(body.ok).toBe(true)
  return body.value
}

async function attachment(vigil: VigilProcess): Promise<AttachmentSourceInfo> {
  const sources = await rpc<SourceInfo[]>(vigil, 'listSources')
  const a = sources.find((s): s is AttachmentSourceInfo => s.kind === 'attachment')
  expect(a).toBeDefined()
  return a!
}

/** When the attachment will try next (ms), or now when it is already connected. */
async function nextAttempt(vigil: VigilProcess): Promise<number> {
  for (;;) {
    const a = await attachment(vigil)
    if (a.state === 'connected') return Date.now()
    if (a.nextRetryAt) return Date.parse(a.nextRetryAt)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function openTheRun(page: Page, vigil: VigilProcess): Promise<string> {
  await page.goto(vigil.url)
  const runLink = page.getByRole('navigation', { name: 'Sources' }).locator('a[href^="#/run/"]').first()
  await expect(runLink).toBeVisible({ timeout: 20_000 })
  await runLink.click()
  await expect(page.getByTestId('connection-status')).toHaveText('Connected')
  return decodeURIComponent(new URL(page.url()).hash.replace('#/run/', ''))
}

/** Records every text the run's connection badge shows, so a short-lived state cannot be missed. */
async function watchConnectionBadge(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __badge: string[] }
    w.__badge = []
    const note = () => {
      const text = document.querySelector('[data-testid=connection-status]')?.textContent?.trim() ?? ''
      if (text && w.__badge.at(-1) !== text) w.__badge.push(text)
    }
    note()
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true })
  })
}

test.describe('a dashboard that goes down and comes back', () => {
  let sim: EnsembleSimulator | null = null
  let vigil: VigilProcess
  test.afterEach(async () => {
    expect(await vigil.stop()).toBe(0)
    await sim?.stop()
  })

  test('the source shows Reconnecting, the run keeps its data and is stale; back on the same port it reconnects within the backoff and goes on live', async ({ page }) => {
    const before: DashboardMessage[] = [started('e-reconnect'), taskStarted(1), toolCalled(1, 'web_search'), taskCompleted(1), taskStarted(2)]
    sim = new EnsembleSimulator({ script: before, heartbeatMs: 60_000 })
    const { url, port } = await sim.start()
    vigil = await startVigil(['--attach', url])
    const runId = await openTheRun(page, vigil)
    await expect(page.getByTestId('run-progress')).toHaveText('1 / 3 tasks')
    await expect(page.locator('tr[data-task-status]')).toHaveCount(2)
    const nav = page.getByRole('navigation', { name: 'Sources' })
    const sourceBadge = nav.getByTitle(url).locator('[data-status]')
    await expect(sourceBadge).toHaveText('Connected')
    // Anything that reloads the page would drop this.
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true))

    // Down: the server process is gone (sockets terminated, port closed).
    await sim.stop()
    sim = null
    await expect(page.getByTestId('connection-status')).toHaveText('Reconnecting')
    await expect(sourceBadge).toHaveText('Reconnecting')
    // Nothing the run showed is lost.
    await expect(page.getByTestId('run-progress')).toHaveText('1 / 3 tasks')
    await expect(page.locator('tr[data-task-status]')).toHaveCount(2)
    await expect(page.getByTestId('tool-markers')).toHaveAttribute('data-drawn', '1')
    // The run is still "running" but marked stale; the source says why and when it tries again.
    const stale = await rpc<{ status: string; stale?: boolean; completedTasks: number }>(vigil, 'getRun', runId, 0)
    expect(stale).toMatchObject({ status: 'running', stale: true, completedTasks: 1 })
    await expect.poll(async () => (await attachment(vigil)).nextRetryAt).not.toBeNull()
    const down = await attachment(vigil)
    expect(down.state).toBe('reconnecting')
    expect(['connection-closed', 'connection-reset', 'connection-refused']).toContain(down.problem?.code)
    // Shown, not only in the API: the run's badge turns stale and the next attempt's time is on screen.
    await expect(page.locator('header.head [data-status=stale]')).toHaveText('Stale')
    await expect(nav.locator('a.run [data-status=stale]')).toHaveCount(1)
    await expect(page.getByTestId('run-next-retry')).toContainText(/next try (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d/)
    await expect(nav.getByTestId('next-retry')).toBeVisible()
    await shootBothSchemes(page, 'live-reconnecting-run')

    // The overview tile explains the problem in words.
    await page.goto(`${vigil.url}/#/`)
    const tile = page.locator('[data-source-kind=attachment]')
    await expect(tile.locator('[data-status]')).toHaveText('Reconnecting')
    await expect(tile).toContainText(/Connection refused at|closed the connection|was reset/)
    await shootBothSchemes(page, 'live-reconnecting-overview')
    await page.goBack()
    await expect(page.getByTestId('run-progress')).toHaveText('1 / 3 tasks')
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true)

    // Back on the same port, with what happened while Vigil was away in its late-join snapshot.
    sim = new EnsembleSimulator({ script: [...before, toolCalled(2, 'write_file'), taskCompleted(2), taskStarted(3)], heartbeatMs: 60_000, port })
    await sim.start()
    const restartedAt = Date.now()
    // The next scheduled attempt reaches the new server (an attempt in flight right now may still
    // have been refused, so wait until the next one is scheduled, or already connected).
    const pending = await nextAttempt(vigil)
    const deadline = Math.max(pending, restartedAt) + 2000
    await expect(page.getByTestId('connection-status')).toHaveText('Connected', { timeout: Math.max(1000, deadline - Date.now()) })
    await expect(sourceBadge).toHaveText('Connected')
    await expect(page.getByTestId('run-progress')).toHaveText('2 / 3 tasks')
    const back = await rpc<{ stale?: boolean }>(vigil, 'getRun', runId, 0)
    expect(back.stale).toBe(false)
    expect(await attachment(vigil)).toMatchObject({ state: 'connected', problem: null, nextRetryAt: null })

    // New live events appear without a reload, on the same run page.
    sim.broadcast(toolCalled(3, 'spell_check'))
    sim.broadcast(taskCompleted(3))
    sim.broadcast({ type: 'ensemble_completed', ensembleId: 'e-reconnect', completedAt: iso(Date.now()), durationMs: 60_000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 3 })
    await expect(page.getByTestId('run-progress')).toHaveText('3 / 3 tasks')
    await expect(page.locator('tr[data-task-status=completed]')).toHaveCount(3)
    await expect(page.getByTestId('tool-markers')).toHaveAttribute('data-drawn', '3')
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/run/${runId}`)
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true)
  })
})

/**
 * An embedded dashboard that stalls: the first connection gets a hello and then nothing, not even a
 * pong. The next upgrade is held until the test releases it, so the "Reconnecting" state can be looked
 * at; later connections behave (hello with one more finished task, pongs).
 */
async function stallingDashboard() {
  const history: DashboardMessage[] = [started('e-stall'), taskStarted(1), taskCompleted(1), taskStarted(2)]
  const wss = new WebSocketServer({ noServer: true, autoPong: false })
  const http = createServer((_req, res) => res.writeHead(404).end())
  const upgrades: number[] = []
  const helloAt: number[] = []
  const sockets: WebSocket[] = []
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(Date.now())
    const n = upgrades.length
    const accept = () =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.push(ws)
        ws.on('error', () => undefined)
        const snapshot = n === 1 ? history : [...history, taskCompleted(2), taskStarted(3)]
        ws.send(serializeServerMessage({ type: 'hello', ensembleId: 'e-stall', startedAt: iso(T0), snapshotTrace: snapshot }))
        helloAt.push(Date.now())
        if (n > 1) ws.on('ping', (data) => ws.pong(data))
      })
    if (n === 2) void released.then(accept)
    else accept()
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  const port = (http.address() as AddressInfo).port
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    upgrades,
    helloAt,
    release,
    async close() {
      release()
      for (const ws of sockets) ws.terminate()
      await new Promise<void>((r) => wss.close(() => r()))
      http.closeAllConnections()
      await new Promise<void>((r) => http.close(() => r()))
    }
  }
}

test.describe('a dashboard that goes silent', () => {
  test('after the 45 s watchdog Vigil drops the silent connection, says so, and reconnects', async ({ page }) => {
    test.setTimeout(120_000)
    const server = await stallingDashboard()
    const vigil = await startVigil(['--attach', server.url])
    try {
      const runId = await openTheRun(page, vigil)
      await expect(page.getByTestId('run-progress')).toHaveText('1 / 3 tasks')
      await watchConnectionBadge(page)
      expect(server.upgrades).toHaveLength(1)

      // Nothing arrives and pings go unanswered; 45 s after the hello Vigil gives up on the socket.
      await expect.poll(() => server.upgrades.length, { timeout: 60_000, intervals: [500] }).toBe(2)
      const silentFor = server.upgrades[1]! - server.helloAt[0]!
      expect(silentFor).toBeGreaterThanOrEqual(45_000)
      // Watchdog 45 s + first backoff step 1 s, with slack for a loaded machine.
      expect(silentFor).toBeLessThan(45_000 + 1000 + 4000)

      // While the reconnect is held: the run page and the overview say what happened.
      await expect(page.getByTestId('connection-status')).toHaveText('Reconnecting')
      await expect(page.getByTestId('run-progress')).toHaveText('1 / 3 tasks')
      expect(await rpc<{ stale?: boolean }>(vigil, 'getRun', runId, 0)).toMatchObject({ stale: true })
      const source = await attachment(vigil)
      expect(source.state).toBe('reconnecting')
      expect(source.problem?.code).toBe('stalled')
      expect(source.problem?.message).toBe(`No data from ${server.url} for 45 s; reconnecting.`)
      await page.goto(`${vigil.url}/#/`)
      const tile = page.locator('[data-source-kind=attachment]')
      await expect(tile.locator('[data-status]')).toHaveText('Reconnecting')
      await expect(tile).toContainText(`No data from ${server.url} for 45 s; reconnecting.`)
      await expect(tile).toContainText('The agent may be paused or the network dropped the connection.')
      await shootBothSchemes(page, 'live-watchdog-overview')
      await page.goBack()
      await expect(page.getByTestId('connection-status')).toHaveText('Reconnecting')

      // The dashboard answers again: connected, and the task finished meanwhile shows up.
      server.release()
      await expect(page.getByTestId('connection-status')).toHaveText('Connected')
      await expect(page.getByTestId('run-progress')).toHaveText('2 / 3 tasks')
      expect(await attachment(vigil)).toMatchObject({ state: 'connected', problem: null })
      expect(server.upgrades).toHaveLength(2)
      // Everything the run's badge showed, in order: no flapping in between.
      expect(await page.evaluate(() => (window as unknown as { __badge: string[] }).__badge)).toEqual(['Connected', 'Reconnecting', 'Connected'])
    } finally {
      expect(await vigil.stop()).toBe(0)
      await server.close()
    }
  })
})
