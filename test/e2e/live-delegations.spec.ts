// A HIERARCHICAL run with delegations (one failed, one still running) and a PARALLEL run, pushed by a
// producer into Vigil's /ingress: the flow graph shows the workers with their delegation counts, and the
// timeline a lane per delegation with its outcome.
import { expect, test } from '@playwright/test'
import { WebSocket } from 'ws'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
let publisher: WebSocket
let seq = 0
test.beforeAll(async () => {
  vigil = await startVigil([])
  publisher = new WebSocket(`${vigil.url.replace('http', 'ws')}/ingress`)
  await new Promise((resolve, reject) => {
    publisher.once('open', resolve)
    publisher.once('error', reject)
  })
})
test.afterAll(async () => {
  publisher.close()
  expect(await vigil.stop()).toBe(0)
})

function push(producerId: string, message: Record<string, unknown>): void {
  seq++
  publisher.send(JSON.stringify({ type: 'event', producer: { producerId }, sequence: seq, receivedAt: new Date(Date.UTC(2026, 10, 22, 14, 0, 0, seq * 10)).toISOString(), message }))
}

test('hierarchical delegations in the flow graph and the timeline', async ({ page }) => {
  const task = { taskDescription: 'Plan the launch', agentRole: 'Manager' }
  push('mgr', { type: 'ensemble_started', ensembleId: 'h1', startedAt: '2026-11-22T14:00:00Z', totalTasks: 1, workflow: 'HIERARCHICAL' })
  push('mgr', { type: 'task_started', taskIndex: 1, totalTasks: 1, ...task, startedAt: '2026-11-22T14:00:01Z' })
  push('mgr', { type: 'delegation_started', delegationId: 'd1', delegatingAgentRole: 'Manager', workerRole: 'Writer', taskDescription: 'Write the announcement' })
  push('mgr', { type: 'delegation_completed', delegationId: 'd1', delegatingAgentRole: 'Manager', workerRole: 'Writer', durationMs: 3200 })
  push('mgr', { type: 'delegation_started', delegationId: 'd2', delegatingAgentRole: 'Manager', workerRole: 'Reviewer', taskDescription: 'Check the claims' })
  push('mgr', { type: 'delegation_failed', delegationId: 'd2', delegatingAgentRole: 'Manager', workerRole: 'Reviewer', reason: 'Guard rejected' })
  push('mgr', { type: 'delegation_started', delegationId: 'd3', delegatingAgentRole: 'Manager', workerRole: 'Writer', taskDescription: 'Write the FAQ' })

  await page.goto(vigil.url)
  await page.getByRole('navigation', { name: 'Sources' }).getByRole('link', { name: /HIERARCHICAL/ }).click()
  await expect(page.getByTestId('run-workflow')).toHaveText('HIERARCHICAL')

  const bars = page.locator('[data-testid=delegation-bar]')
  await expect(bars).toHaveCount(3)
  await expect(page.locator('[data-testid=delegation-bar][data-status=completed]')).toHaveCount(1)
  await expect(page.locator('[data-testid=delegation-bar][data-status=failed]')).toHaveCount(1)
  await expect(page.locator('[data-testid=delegation-bar][data-status=running]')).toHaveCount(1)
  await expect(page.getByText('Manager → Reviewer', { exact: true })).toBeVisible()
  await shootBothSchemes(page, 'run-delegations-timeline')

  await page.getByTestId('run-tab-flow').click()
  await expect(page.getByTestId('flow-status-bar')).toContainText('HIERARCHICAL')
  await expect(page.getByTestId('flow-status-bar')).toContainText('3 delegations')
  const workers = page.locator('[data-testid=flow-worker]')
  await expect(workers).toHaveCount(2)
  await expect(workers.filter({ hasText: 'Writer' })).toContainText('2 delegated · 1 running')
  await expect(workers.filter({ hasText: 'Reviewer' })).toContainText('1 delegated · 1 failed')
  await shootBothSchemes(page, 'run-delegations-flow')

  // The run goes on live: the running delegation completes without a reload.
  push('mgr', { type: 'delegation_completed', delegationId: 'd3', delegatingAgentRole: 'Manager', workerRole: 'Writer', durationMs: 900 })
  await expect(workers.filter({ hasText: 'Writer' })).toContainText('2 delegated')
  await expect(workers.filter({ hasText: 'Writer' })).not.toContainText('running')
})

test('a parallel run shows every task running at once, then each outcome', async ({ page }) => {
  const t = (i: number) => ({ taskIndex: i, totalTasks: 3, taskDescription: `Shard ${i}`, agentRole: `Worker ${i}` })
  push('par', { type: 'ensemble_started', ensembleId: 'p1', startedAt: '2026-11-22T15:00:00Z', totalTasks: 3, workflow: 'PARALLEL' })
  for (const i of [1, 2, 3]) push('par', { type: 'task_started', ...t(i), startedAt: '2026-11-22T15:00:01Z' })

  await page.goto(vigil.url)
  await page.getByRole('navigation', { name: 'Sources' }).getByRole('link', { name: /PARALLEL/ }).click()
  await expect(page.locator('[data-testid=task-bar][data-status=running]')).toHaveCount(3)
  await expect(page.getByTestId('run-progress')).toHaveText('0 / 3 tasks')

  push('par', { type: 'task_completed', ...t(2), completedAt: '2026-11-22T15:00:04Z', durationMs: 3000, tokenCount: -1, toolCallCount: 0 })
  push('par', { type: 'task_failed', ...t(3), failedAt: '2026-11-22T15:00:05Z', durationMs: 4000, reason: 'Out of memory' })
  await expect(page.locator('[data-testid=task-bar][data-status=completed]')).toHaveCount(1)
  await expect(page.locator('[data-testid=task-bar][data-status=failed]')).toHaveCount(1)
  await expect(page.locator('[data-testid=task-bar][data-status=running]')).toHaveCount(1)

  await page.getByTestId('run-tab-flow').click()
  await expect(page.getByTestId('flow-status-bar')).toContainText('PARALLEL')
  await expect(page.locator('[data-testid=flow-node]')).toHaveCount(3)
  await expect(page.locator('[data-testid=flow-node][data-status=failed]')).toHaveCount(1)
})
