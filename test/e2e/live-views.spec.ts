// The live run views (timeline, flow, conversation, tools, files) against a protocol-faithful
// AgentEnsemble server: the e2e "sequential" scenario (§6.1), joined after the run finished, with
// tool calls (one FAILURE) and a file change added. Makes AgentEnsemble's own e2e checks (§6.2).
import { expect, test } from '@playwright/test'
import { EnsembleSimulator, finishedSequentialRunScript } from '../../src/main/demo/ensemble-simulator'
import type { ServerMessage } from '../../src/shared/protocol/agentensemble'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

function scriptWithTools(): ServerMessage[] {
  const frames: ServerMessage[] = []
  for (const m of finishedSequentialRunScript()) {
    if (m.type === 'task_completed' && m.taskIndex === 1) {
      frames.push(
        {
          type: 'tool_called',
          agentRole: 'Researcher',
          taskIndex: 1,
          toolName: 'web_search',
          durationMs: 840,
          outcome: 'SUCCESS',
          toolArguments: '{"query":"enterprise AI adoption 2025","limit":3}',
          toolResult: '3 results: McKinsey State of AI 2025; Stanford AI Index 2025; Gartner',
          structuredResult: { hits: 3 }
        },
        {
          type: 'tool_called',
          agentRole: 'Researcher',
          taskIndex: 1,
          toolName: 'fetch_url',
          durationMs: 310,
          outcome: 'FAILURE',
          toolArguments: '{"url":"https://example.org/paywalled-report"}',
          toolResult: 'HTTP 403 Forbidden',
          structuredResult: null
        }
      )
    }
    if (m.type === 'task_completed' && m.taskIndex === 2) {
      frames.push(
        { type: 'file_changed', agentRole: 'Writer', filePath: 'drafts/ai-2025.md', changeType: 'CREATED', linesAdded: 48, linesRemoved: 0, timestamp: '2026-03-05T14:00:16.200Z' },
        {
          type: 'tool_called',
          agentRole: 'Writer',
          taskIndex: 0,
          toolName: 'write_file',
          durationMs: 25,
          outcome: 'SUCCESS',
          toolArguments: '{"path":"drafts/ai-2025.md"}',
          toolResult: 'Wrote 48 lines',
          structuredResult: null
        }
      )
    }
    frames.push(m)
  }
  return frames
}

let sim: EnsembleSimulator
let vigil: VigilProcess
test.beforeAll(async () => {
  sim = new EnsembleSimulator({ script: scriptWithTools(), heartbeatMs: 60_000 })
  await sim.start()
  vigil = await startVigil(['--attach', sim.url])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  await sim.stop()
})

test('a finished sequential run: progress, bars, flow, tools and conversation', async ({ page }) => {
  await page.goto(vigil.url)
  const runLink = page.getByRole('navigation').locator('a[href^="#/run/"]').first()
  await expect(runLink).toBeVisible({ timeout: 20_000 })
  await runLink.click()

  // AgentEnsemble's live-dashboard.spec checks, on Vigil's run page.
  await expect(page.getByTestId('connection-status')).toHaveText('Connected')
  await expect(page.getByTestId('run-workflow')).toHaveText('SEQUENTIAL')
  await expect(page.getByTestId('run-progress')).toHaveText('2 / 2 tasks')
  const bars = page.locator('[data-testid=task-bar]')
  await expect(bars.first()).toBeVisible()
  await expect(bars).toHaveCount(2)
  await expect(page.locator('[data-testid=task-bar][data-status=completed]')).toHaveCount(2)
  // The failed tool call is marked on the timeline, and counted on the Tools tab.
  const markers = page.getByTestId('tool-markers')
  await expect(markers).toHaveAttribute('data-drawn', '3')
  await expect(markers).toHaveAttribute('data-failed', '1')
  // A lane's markers are one path: the pointer over one shows what it was. Lanes of 30 px start under
  // the chart's 26 px axis.
  const box = (await page.getByRole('img', { name: /^Run timeline/ }).boundingBox())!
  const tip = page.getByTestId('tool-marker-tip')
  for (let lane = 0; lane < 2 && !(await tip.isVisible()); lane++) {
    for (let x = box.x + 1; x < box.x + box.width && !(await tip.isVisible()); x += 3) await page.mouse.move(x, box.y + 26 + 15 + lane * 30)
  }
  await expect(tip).toContainText(/SUCCESS|FAILURE/)
  // Whole, not cut off by the chart (two lanes tall here): no ancestor that clips its overflow cuts it.
  const clippedBy = await tip.evaluate((el) => {
    const r = el.getBoundingClientRect()
    for (let a = el.parentElement; a; a = a.parentElement) {
      const style = getComputedStyle(a)
      if (style.overflowX === 'visible' && style.overflowY === 'visible') continue
      const b = a.getBoundingClientRect()
      if (r.top < b.top || r.bottom > b.bottom || r.left < b.left || r.right > b.right) return a.className || a.tagName
    }
    return null
  })
  expect(clippedBy).toBeNull()
  await page.mouse.move(box.x - 40, box.y - 40)
  await expect(tip).toHaveCount(0)
  await expect(page.getByTestId('run-tab-tools')).toContainText('1 failed')
  await shootBothSchemes(page, 'run-timeline')

  // By agent: one lane per agent, the same two bars.
  await page.getByRole('button', { name: 'By agent' }).click()
  await expect(page.locator('[data-testid=task-bar][data-status=completed]')).toHaveCount(2)
  await page.getByRole('button', { name: 'By task' }).click()

  await page.getByTestId('run-tab-flow').click()
  await expect(page.getByTestId('flow-view')).toBeVisible()
  await expect(page.getByTestId('flow-status-bar')).toContainText('SEQUENTIAL')
  await expect(page.locator('[data-testid=flow-node][data-status=completed]')).toHaveCount(2)
  await shootBothSchemes(page, 'run-flow')

  await page.getByTestId('run-tab-tools').click()
  const rows = page.locator('[data-testid=tool-row]')
  await expect(rows).toHaveCount(3)
  const failure = page.locator('[data-testid=tool-row][data-outcome=FAILURE]')
  await expect(failure).toHaveCount(1)
  await expect(failure).toContainText('fetch_url')
  await expect(failure).toContainText('FAILURE')
  await expect(failure).toContainText('HTTP 403 Forbidden')
  // Arguments are pretty-printed JSON, as text.
  await expect(rows.first().locator('pre').first()).toHaveText('{\n  "query": "enterprise AI adoption 2025",\n  "limit": 3\n}')
  // taskIndex 0 was attributed to the Writer's task by role.
  await expect(page.locator('[data-testid=tool-row]', { hasText: 'write_file' }).locator('td').nth(1)).toHaveText('2')
  await page.getByRole('combobox', { name: 'Filter tool calls by outcome' }).selectOption('FAILURE')
  await expect(rows).toHaveCount(1)
  await page.getByRole('combobox', { name: 'Filter tool calls by outcome' }).selectOption('all')
  await page.getByRole('combobox', { name: 'Filter tool calls by task' }).selectOption('2')
  await expect(rows).toHaveCount(1)
  await page.getByRole('combobox', { name: 'Filter tool calls by task' }).selectOption('all')
  await shootBothSchemes(page, 'run-tools')

  // Iterations replayed from hello.recentIterations, one per task.
  await page.getByTestId('run-tab-conversation').click()
  const iterations = page.locator('[data-testid=llm-iteration]')
  await expect(iterations).toHaveCount(2)
  await expect(iterations.first()).toContainText('FINAL_ANSWER')
  await expect(iterations.first()).toContainText('AI adoption grew 42%.')
  await expect(iterations.first()).toContainText('You are a Researcher.')
  await shootBothSchemes(page, 'run-conversation')

  await page.getByTestId('run-tab-files').click()
  await expect(page.locator('[data-testid=file-row]')).toHaveCount(1)
  await expect(page.locator('[data-testid=file-row]')).toContainText('drafts/ai-2025.md')
})

test('live updates keep the selected tab; running bars grow; a superseded run shows its task aborted', async ({ page }) => {
  await page.goto(vigil.url)
  await page.getByRole('navigation').locator('a[href^="#/run/"]').first().click()
  await expect(page.getByTestId('run-progress')).toHaveText('2 / 2 tasks')
  await page.getByTestId('run-tab-tools').click()
  const rows = page.locator('[data-testid=tool-row]')
  await expect(rows).toHaveCount(3)
  // A late tool call of this run arrives live: the page refetches and stays on Tools.
  sim.broadcast({ type: 'tool_called', agentRole: 'Writer', taskIndex: 2, toolName: 'spell_check', durationMs: 40, outcome: 'FAILURE', toolArguments: '{}', toolResult: 'dictionary missing', structuredResult: null })
  await expect(rows).toHaveCount(4)
  await expect(page.getByTestId('run-tab-tools')).toHaveAttribute('aria-selected', 'true')
  await expect(page.getByTestId('run-tab-tools')).toContainText('2 failed')
  await expect(page.getByRole('list', { name: 'Recent events' }).locator('li').first()).toContainText('spell_check')

  // A new run starts live; its running bar grows with the clock.
  const iso = (ms: number) => new Date(ms).toISOString()
  sim.broadcast({ type: 'ensemble_started', ensembleId: 'live-1', startedAt: iso(Date.now()), totalTasks: 2, workflow: 'SEQUENTIAL' })
  sim.broadcast({ type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Draft the outline', agentRole: 'Writer', startedAt: iso(Date.now()) })
  await page.getByRole('navigation').locator('a[href^="#/run/"][href*="live-1"]').first().click()
  await page.getByTestId('run-tab-timeline').click()
  const running = page.locator('[data-testid=task-bar][data-status=running]')
  await expect(running).toHaveCount(1)
  sim.broadcast({ type: 'tool_called', agentRole: 'Writer', taskIndex: 1, toolName: 'outline', durationMs: 5, outcome: 'SUCCESS', toolArguments: '{"depth":2}', toolResult: 'ok', structuredResult: null })
  await expect(page.getByTestId('tool-markers')).toHaveAttribute('data-drawn', '1')
  // With the axis fitted the bar always reaches "now"; its duration label shows it growing.
  const label = running.locator('text')
  const before = await label.textContent()
  await expect.poll(() => label.textContent(), { timeout: 5000 }).not.toBe(before)

  // The server moves on without closing it: the run ends aborted and so does its task.
  sim.broadcast({ type: 'ensemble_started', ensembleId: 'live-2', startedAt: iso(Date.now()), totalTasks: 1, workflow: 'PARALLEL' })
  await expect(page.locator('[data-testid=task-bar][data-status=aborted]')).toHaveCount(1)
  await expect(page.getByTestId('run-progress')).toHaveText('0 / 2 tasks')
  await expect(page.locator('.view')).toContainText('Task 1 aborted')
})
