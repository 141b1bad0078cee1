// `vigil gate` and the SDK's example agent seen from a reviewer's browser against the real `vigil serve`:
// their gates appear in the inbox without a reload, approving there with one key reaches the waiting CLI
// (exit 0) or agent (its decision), and the SDK's run shows its tasks, tool calls and LLM call.
import { expect, test } from '@playwright/test'
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { startVigil, type VigilProcess } from './support/vigil-process'

const root = resolve(__dirname, '../..')

let vigil: VigilProcess

test.beforeAll(async () => {
  vigil = await startVigil([])
})
test.afterAll(async () => {
  await vigil?.stop()
})

/** Runs node with ARGS; resolves with its exit code and output. */
function run(args: string[], env: Record<string, string>): { done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const clean = { ...process.env }
  for (const key of Object.keys(clean)) if (key.startsWith('VIGIL_')) delete clean[key]
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  return { done: new Promise((r) => proc.once('close', (code) => r({ code, stdout, stderr }))) }
}

test('a `vigil gate` from a script shows in the inbox; approving it there lets the script go on (exit 0)', async ({ page }) => {
  await page.goto(`${vigil.url}/#/reviews`)
  const cli = run([join(root, 'bin/vigil.js'), 'gate', 'Deploy 2.4 to prod?', '--output', 'Changelog:\n- fix login', '--timeout', '5m', '--on-timeout', 'exit-early', '--url', vigil.url], {})
  await expect(page.getByTestId('gate-task')).toHaveText('Deploy 2.4 to prod?')
  await expect(page.getByTestId('gate-output')).toHaveText('Changelog:\n- fix login')
  await expect(page.getByTestId('review-detail').getByTestId('countdown')).toHaveText(/^Auto-exit in (5:00|4:5\d)$/)
  await page.keyboard.press('a')
  const done = await cli.done
  expect(done.code).toBe(0)
  expect(done.stderr).toMatch(/approved by local \(no password\) via browser-inbox/)
})

test('the SDK example agent: its run shows tasks, tool and LLM calls; its review approved in the inbox reaches the agent', async ({ page }) => {
  const agent = run([join(root, 'examples/sdk-agent.mjs')], { VIGIL_URL: vigil.url.replace('http://', 'ws://'), VIGIL_PRODUCER_ID: 'e2e-sdk-agent' })
  await page.goto(`${vigil.url}/#/reviews`)
  await expect(page.getByTestId('gate-task')).toHaveText('Publish these release notes?')
  await expect(page.getByTestId('gate-output')).toContainText('* faster search')

  // The run, while it waits for review.
  const runs = (await (await fetch(`${vigil.url}/api/rpc/listRuns`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"args":[]}' })).json()) as { value: Array<{ runId: string; producerId: string | null }> }
  const runId = runs.value.find((r) => r.producerId === 'e2e-sdk-agent')!.runId
  await page.goto(`${vigil.url}/#/run/${encodeURIComponent(runId)}`)
  await expect(page.getByTestId('run-progress')).toHaveText('2 / 3 tasks')
  await expect(page.getByTestId('run-tab-tools')).toContainText('1')
  await expect(page.getByTestId('run-tab-conversation')).toContainText('1')

  await page.goto(`${vigil.url}/#/reviews`)
  await expect(page.getByTestId('gate-task')).toHaveText('Publish these release notes?')
  await page.keyboard.press('a')
  const done = await agent.done
  expect(done.code, done.stderr).toBe(0)
  expect(JSON.parse(done.stdout.trim())).toMatchObject({ review: { decision: 'CONTINUE', timedOut: false }, published: { url: 'https://example.org/changelog#2.4' } })

  await page.goto(`${vigil.url}/#/run/${encodeURIComponent(runId)}`)
  await expect(page.getByTestId('run-progress')).toHaveText('3 / 3 tasks')
  await expect(page.getByTestId('run-tab-tools')).toContainText('2')
})
