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

test('envelopes the hub refuses are counted next to their producer and the hub, never dropped silently', async ({ page }) => {
  const publisher = new WebSocket(`${vigil.url.replace('http', 'ws')}/ingress`)
  await new Promise((resolve, reject) => {
    publisher.once('open', resolve)
    publisher.once('error', reject)
  })
  const producer = { producerId: 'svc-b-pod-1', serviceName: 'svc-b' }
  const send = (seq: number, message: unknown) => publisher.send(JSON.stringify({ type: 'event', producer, sequence: seq, receivedAt: new Date().toISOString(), message }))
  send(1, { type: 'ensemble_started', ensembleId: 'e2', startedAt: '2026-11-22T15:00:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' })
  // A known type with the wrong shape: refused and counted for this producer.
  send(2, { type: 'task_started', taskIndex: 'one' })
  send(3, { type: 'task_started', taskIndex: 'two' })
  // Claiming a producer id this connection does not hold: refused (ownership) and counted for the hub.
  const other = await fetch(`${vigil.url}/api/hub/ingress`, { method: 'POST', body: JSON.stringify({ type: 'event', producer, sequence: 4, receivedAt: new Date().toISOString(), message: { type: 'review_timed_out', reviewId: 'x', action: 'CONTINUE' } }) })
  expect(other.status).toBe(409)

  await page.goto(vigil.url)
  const nav = page.getByRole('navigation', { name: 'Sources' })
  await expect(nav.getByText('svc-b-pod-1')).toBeVisible()
  await expect(nav.getByTestId('producer-refused')).toHaveText('2 envelopes refused', { timeout: 5000 })
  await expect(nav.getByTestId('hub-refused')).toHaveText('1 envelope refused')
  const status = (await (await fetch(`${vigil.url}/api/status`)).json()) as { recording: { refused: Record<string, number> } }
  expect(status.recording.refused['hub:svc-b-pod-1']).toBe(2)
  expect(status.recording.refused.hub).toBe(1)
  publisher.close()
})
