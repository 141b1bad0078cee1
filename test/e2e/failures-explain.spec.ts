// Failures explain themselves: a failed Perspt session's header says why (escalation category and
// evidence) with a link to the evidence, and DAG and Energy open on the node that failed; a failed
// live run's header says which task failed and why. Real `vigil serve --demo` and a real simulated
// AgentEnsemble dashboard.
import { expect, test } from '@playwright/test'
import { EnsembleSimulator } from '../../src/main/demo/ensemble-simulator'
import type { ServerMessage } from '../../src/shared/protocol/agentensemble'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
let sim: EnsembleSimulator
test.beforeAll(async () => {
  const at = (s: number) => new Date(Date.now() - 120_000 + s * 1000).toISOString()
  const failing: ServerMessage[] = [
    { type: 'ensemble_started', ensembleId: 'e-fail-0123456789', startedAt: at(0), totalTasks: 2, workflow: 'SEQUENTIAL' },
    { type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Fetch the dataset', agentRole: 'Researcher', startedAt: at(1) },
    { type: 'task_failed', taskIndex: 1, taskDescription: 'Fetch the dataset', agentRole: 'Researcher', failedAt: at(9), reason: 'HTTP 503 from data.example.org after 3 retries' },
    { type: 'ensemble_completed', ensembleId: 'e-fail-0123456789', completedAt: at(10), durationMs: 10_000, exitReason: 'ERROR', totalTokens: 0, totalToolCalls: 0 }
  ] as ServerMessage[]
  sim = new EnsembleSimulator({ script: failing, heartbeatMs: 60_000 })
  await sim.start()
  vigil = await startVigil(['--demo', '--attach', sim.url])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  await sim.stop()
})

test('a failed session says why on its summary, links the evidence, and DAG and Energy open on the failed node', async ({ page }) => {
  await page.goto(vigil.url)
  // From the Now page: the failure with its one-line reason.
  const failed = page.getByTestId('now-recent').locator('li[data-status=failed]').filter({ hasText: 'Escalated' }).first()
  await expect(failed.getByTestId('failure-reason')).toContainText(/^Escalated at \S+: [a-z ]+( → [a-z ,]+)? · /)
  const reasonText = (await failed.getByTestId('failure-reason').textContent())!
  const node = /at (\S+?):/.exec(reasonText)![1]!
  await failed.locator('a.title').click()
  await expect(page).toHaveURL(/\/summary$/)

  const why = page.getByTestId('session-failure')
  await expect(why).toContainText('Why it failed:')
  await expect(why).toContainText(`at ${node}`)

  // DAG opens on that node, with the escalation evidence at the top of its panel.
  await page.getByRole('navigation', { name: 'Session views' }).getByRole('link', { name: 'DAG' }).click()
  await expect(page).toHaveURL(new RegExp(`/dag\\?node=${node}$`))
  const panel = page.getByTestId('dag-panel')
  await expect(panel.locator('h2')).toHaveText(node)
  await expect(panel.getByTestId('dag-panel-escalation')).toBeVisible()

  // Energy opens on it too.
  await page.getByRole('navigation', { name: 'Session views' }).getByRole('link', { name: 'Energy' }).click()
  await expect(page.locator('#energy-chart-title')).toHaveText(`Convergence of ${node}`)

  // The evidence link lands on the escalation in the decision trace.
  await page.getByTestId('failure-evidence').click()
  await expect(page).toHaveURL(/\/decisions\?section=escalations/)
})

test('a failed run says which task failed and why in its header, with the way to the evidence', async ({ page }) => {
  await page.goto(vigil.url)
  const failedRun = page.getByTestId('now-recent').locator('li[data-status=failed]').filter({ hasText: 'e-fail-0' })
  await expect(failedRun.getByTestId('failure-reason')).toHaveText('Task 1 failed (Researcher): HTTP 503 from data.example.org after 3 retries')
  await failedRun.locator('a.title').click()
  const why = page.getByTestId('run-failure')
  await expect(why).toContainText('Why it failed:')
  await expect(why).toContainText('Task 1 failed (Researcher): HTTP 503 from data.example.org after 3 retries')
  await expect(why).toContainText('Run ended: ERROR')
  await why.getByTestId('failure-evidence').click()
  await expect(page.locator('[data-testid=task-bar][data-status=failed]')).toHaveCount(1)
})
