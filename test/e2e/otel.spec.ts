// A run from an OpenTelemetry-instrumented agent in Chromium: the official JS SDK exports GenAI spans
// (protobuf) into `vigil serve`; the run shows under "OpenTelemetry traces", opens on its span waterfall
// (nested, bars on a time axis, keyboard reachable), and its LLM calls and tool call are in their tabs.
// Screenshots light and dark at 1024 and 1440 px wide.
import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Page } from '@playwright/test'
import { sendAgentTrace } from '../integration/otel/otel-sdk-helpers'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess

/** Serious and critical axe violations inside the run's tab panel, in both colour schemes. */
async function axeViolations(page: Page): Promise<string[]> {
  const found: string[] = []
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await page.waitForTimeout(150)
    const results = await new AxeBuilder({ page }).include('#run-panel').withTags(['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']).analyze()
    for (const v of results.violations) if (v.impact === 'serious' || v.impact === 'critical') found.push(`${scheme}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  }
  await page.emulateMedia({ colorScheme: 'light' })
  return found
}
test.beforeAll(async () => {
  vigil = await startVigil([])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
})

test('an OpenTelemetry agent trace shows as a run with its span waterfall and LLM calls', async ({ page }) => {
  const sent = await sendAgentTrace(vigil.url, 'protobuf', { service: 'travel-agent', agent: 'weather-bot' })

  await page.setViewportSize({ width: 1440, height: 900 })
  await page.goto(vigil.url)
  const nav = page.getByRole('navigation', { name: 'Sources' })
  await expect(nav.getByText('OpenTelemetry traces')).toBeVisible()
  await expect(nav.getByText('travel-agent', { exact: true })).toBeVisible()
  await nav.getByRole('link', { name: new RegExp(sent.traceId.slice(0, 8)) }).click()

  await expect(page.getByTestId('run-workflow')).toHaveText('invoke_agent weather-bot')
  // An OpenTelemetry run opens on its spans.
  await expect(page.getByTestId('run-tab-spans')).toHaveAttribute('aria-selected', 'true')
  const rows = page.getByTestId('span-row')
  await expect(rows).toHaveCount(4)
  await expect(rows.first()).toContainText('invoke_agent weather-bot')
  await expect(page.locator('[data-testid=span-row][data-status=ERROR]')).toHaveCount(1)
  await expect(page.locator('[data-testid=span-row][data-category=tool]')).toContainText('execute_tool get_weather')
  // Children are indented under the root.
  const rootPad = await rows.first().locator('.name-col').evaluate((e) => parseFloat(getComputedStyle(e).paddingLeft))
  const childPad = await rows.nth(1).locator('.name-col').evaluate((e) => parseFloat(getComputedStyle(e).paddingLeft))
  expect(childPad).toBeGreaterThan(rootPad)
  await expect(page.getByTestId('run-failure')).toContainText('Rate limit reached for gpt-4o')
  // The run itself completed (its root span is OK): a failed call is a problem of the run, not why it failed.
  await expect(page.getByTestId('run-status')).toContainText('Completed')
  await expect(page.getByTestId('run-failure')).toContainText('Completed, with problems:')
  await expect(page.getByTestId('run-failure')).not.toContainText('Why it failed')

  // Keyboard: focus the list, arrow down to the first chat, its details show.
  await page.getByTestId('span-waterfall').focus()
  await page.keyboard.press('ArrowDown')
  await page.keyboard.press('ArrowDown')
  await expect(page.getByTestId('span-detail')).toContainText('gpt-4o-2024-08-06')
  await expect(page.getByTestId('span-detail')).toContainText('321 in, 45 out')
  expect(await axeViolations(page)).toEqual([])
  await shootBothSchemes(page, 'otel-spans-1440')
  await page.setViewportSize({ width: 1024, height: 768 })
  await shootBothSchemes(page, 'otel-spans-1024')

  await page.getByTestId('run-tab-conversation').click()
  await expect(page.getByText('Iteration 2')).toBeVisible()
  await page.getByText('1 message sent').first().click()
  await expect(page.getByText('What is the weather in Paris?').first()).toBeVisible()
  await expect(page.getByText('Let me check the weather tool.').first()).toBeVisible()
  await shootBothSchemes(page, 'otel-llm-calls-1024')
  await page.setViewportSize({ width: 1440, height: 900 })
  await shootBothSchemes(page, 'otel-llm-calls-1440')

  await page.getByTestId('run-tab-tools').click()
  await expect(page.locator('[data-testid=tool-row][data-outcome=SUCCESS]')).toContainText('get_weather')
})

test('a trace whose root has not arrived is in progress, and completes when it does', async ({ page }) => {
  const sent = await sendAgentTrace(vigil.url, 'json', { service: 'slow-agent', agent: 'planner', withRoot: false })
  await page.goto(vigil.url)
  // The Now page lists it as running, under its service.
  await expect(page.getByTestId('now-running')).toContainText('OpenTelemetry · slow-agent')
  const nav = page.getByRole('navigation', { name: 'Sources' })
  await nav.getByRole('link', { name: new RegExp(sent.traceId.slice(0, 8)) }).click()
  await expect(page.getByTestId('spans-no-root')).toBeVisible()
  await expect(page.getByTestId('run-status')).toContainText('Running')
  await expect(page.getByTestId('span-row')).toHaveCount(3)

  // The root arrives (late, as OTLP/JSON): the page follows without a reload.
  const now = BigInt(Date.now()) * 1_000_000n
  const root = { traceId: sent.traceId, spanId: sent.rootSpanId, name: 'invoke_agent planner', startTimeUnixNano: String(now - 5_000_000_000n), endTimeUnixNano: String(now) }
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'slow-agent' } }] }, scopeSpans: [{ spans: [root] }] }] }
  const res = await fetch(`${vigil.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(res.status).toBe(200)
  await expect(page.getByTestId('span-row')).toHaveCount(4)
  await expect(page.getByTestId('spans-no-root')).toHaveCount(0)
  await expect(page.getByTestId('run-status')).toContainText('Completed')
  await expect(page.getByTestId('run-workflow')).toHaveText('invoke_agent planner')
})
