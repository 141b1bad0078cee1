// Every state shown is true: a run imported from a trace that stops before its end says "Ended without
// completion" (never Running, no bar growing with the wall clock); when the page loses Vigil, every
// live badge says Disconnected with the time of the last update and its zone. Real `vigil serve`
// processes and a real simulated AgentEnsemble dashboard.
import { expect, test } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { EnsembleSimulator } from '../../src/main/demo/ensemble-simulator'
import type { ServerMessage } from '../../src/shared/protocol/agentensemble'
import { startVigil, type VigilProcess } from './support/vigil-process'

let sim: EnsembleSimulator
let vigil: VigilProcess
test.beforeAll(async () => {
  const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString()
  const unfinished: ServerMessage[] = [
    { type: 'ensemble_started', ensembleId: 'e-partial-0123456789', startedAt: at(0), totalTasks: 3, workflow: 'SEQUENTIAL' },
    { type: 'task_started', taskIndex: 1, totalTasks: 3, taskDescription: 'Collect the figures', agentRole: 'Analyst', startedAt: at(1) },
    { type: 'task_completed', taskIndex: 1, totalTasks: 3, taskDescription: 'Collect the figures', agentRole: 'Analyst', completedAt: at(5), durationMs: 4000, tokenCount: 10, toolCallCount: 0 },
    { type: 'task_started', taskIndex: 2, totalTasks: 3, taskDescription: 'Write the summary', agentRole: 'Writer', startedAt: at(6) }
  ] as ServerMessage[]
  sim = new EnsembleSimulator({ script: unfinished, heartbeatMs: 60_000 })
  await sim.start()
  vigil = await startVigil(['--attach', sim.url])
})
test.afterAll(async () => {
  await vigil.stop()
  await sim.stop()
})

test('a trace of a run that never finished imports as "Ended without completion", not Running', async ({ page }) => {
  await page.goto(vigil.url)
  await page.getByRole('navigation').locator('a[href^="#/run/"]').first().click()
  await expect(page.getByTestId('run-progress')).toHaveText('1 / 3 tasks')
  await expect(page.getByTestId('run-status')).toHaveText('Running')
  const downloaded = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Export trace' }).click()
  const download = await downloaded
  const file = await download.path()

  const other = await startVigil([])
  try {
    await page.goto(`${other.url}/#/`)
    await page.getByLabel('Import a trace file').setInputFiles({ name: 'partial.trace.json', mimeType: 'application/json', buffer: readFileSync(file) })
    await expect(page).toHaveURL(/#\/run\//)
    await expect(page.getByTestId('run-status')).toHaveText('Ended without completion')
    const nav = page.getByRole('navigation', { name: 'Sources' })
    await expect(nav.locator('a[href^="#/run/"] [data-status]')).toHaveText('Ended without completion')

    // The Now page lists it among finished runs with why, and nothing as running.
    await page.goto(`${other.url}/#/`)
    const recent = page.getByTestId('now-recent').locator('li[data-status=incomplete]')
    await expect(recent).toHaveCount(1)
    await expect(recent.getByTestId('failure-reason')).toContainText('stops before the run ended')
    await expect(page.getByTestId('now-running')).toContainText('Nothing is running.')
  } finally {
    expect(await other.stop()).toBe(0)
  }
})

test('when Vigil dies, every live badge says Disconnected with the last update time and zone', async ({ page }) => {
  await page.goto(vigil.url)
  const nav = page.getByRole('navigation', { name: 'Sources' })
  const runBadge = nav.locator('a[href^="#/run/"] [data-status]').first()
  await expect(runBadge).toHaveText('Running')
  await expect(page.getByTestId('now-running').locator('[role=row][data-kind=run] [data-status]')).toHaveText('Running')
  await expect(page.getByTestId('app-connection')).toHaveText('Connected')

  vigil.proc.kill('SIGKILL')
  const killedAt = Date.now()
  const text = /^Disconnected — last update \d\d:\d\d:\d\d \([^)]+\)/
  // Well within the bridge's watchdog (20 s + 5 s probe): a killed server closes the socket at once.
  await expect(page.getByTestId('app-connection')).toHaveText(text, { timeout: 25_000 })
  expect(Date.now() - killedAt).toBeLessThan(25_000)
  await expect(runBadge).toHaveText('Disconnected')
  await expect(runBadge).toHaveAttribute('title', text)
  await expect(nav.locator('[data-status=connected]')).toHaveCount(0)
  await expect(page.getByTestId('now-running').locator('[role=row][data-kind=run] [data-status]')).toHaveText('Disconnected')
  await expect(page.getByTestId('now-disconnected')).toHaveText(text)
  await expect(page.getByTestId('now-sources').locator('[data-status=connected]')).toHaveCount(0)
})
