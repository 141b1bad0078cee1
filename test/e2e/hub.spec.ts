// Vigil as an AgentEnsemble hub: a publisher pushes envelopes into /ingress (as AgentEnsemble's
// WebSocketLiveEventPublisher does) and the run shows in the browser, grouped under its producer.
import { expect, test } from '@playwright/test'
import { WebSocket } from 'ws'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
test.beforeAll(async () => {
  vigil = await startVigil([])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
})

function envelope(seq: number, message: Record<string, unknown>): string {
  return JSON.stringify({
    type: 'event',
    producer: { producerId: 'svc-a-pod-1', serviceName: 'svc-a', instanceId: 'pod-1' },
    sequence: seq,
    receivedAt: new Date(Date.UTC(2026, 10, 22, 14, 0, seq)).toISOString(),
    message
  })
}

test('a publisher on /ingress shows up as a producer with its run', async ({ page }) => {
  const publisher = new WebSocket(`${vigil.url.replace('http', 'ws')}/ingress?producerId=svc-a-pod-1`)
  await new Promise((resolve, reject) => {
    publisher.once('open', resolve)
    publisher.once('error', reject)
  })
  const frames = [
    { type: 'ensemble_started', ensembleId: 'e1', startedAt: '2026-11-22T14:00:00Z', totalTasks: 2, workflow: 'SEQUENTIAL' },
    { type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Research', agentRole: 'Researcher', startedAt: '2026-11-22T14:00:01Z' },
    { type: 'task_completed', taskIndex: 1, totalTasks: 2, taskDescription: 'Research', agentRole: 'Researcher', completedAt: '2026-11-22T14:00:05Z', durationMs: 4000, tokenCount: -1, toolCallCount: 0 },
    { type: 'task_started', taskIndex: 2, totalTasks: 2, taskDescription: 'Write', agentRole: 'Writer', startedAt: '2026-11-22T14:00:06Z' },
    { type: 'task_completed', taskIndex: 2, totalTasks: 2, taskDescription: 'Write', agentRole: 'Writer', completedAt: '2026-11-22T14:00:09Z', durationMs: 3000, tokenCount: -1, toolCallCount: 0 },
    { type: 'ensemble_completed', ensembleId: 'e1', completedAt: '2026-11-22T14:00:10Z', durationMs: 10000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 0 }
  ]
  frames.forEach((f, i) => publisher.send(envelope(i + 1, f)))

  await page.goto(vigil.url)
  const nav = page.getByRole('navigation', { name: 'Sources' })
  await expect(nav.getByText('Hub producers')).toBeVisible()
  await expect(nav.getByText('svc-a-pod-1')).toBeVisible()
  await nav.getByRole('link', { name: /SEQUENTIAL · 2\/2/ }).click()
  await expect(page.getByTestId('run-progress')).toHaveText('2 / 2 tasks')
  await expect(page.locator('tr[data-task-status=completed]')).toHaveCount(2)

  const producers = (await (await fetch(`${vigil.url}/api/hub/producers`)).json()) as { total: number }
  expect(producers.total).toBe(1)
  publisher.close()
})
