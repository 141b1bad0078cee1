// The page Vigil serves defends itself: the CSP blocks inline script and remote content, and text that
// agents wrote (task descriptions, tool results, review outputs) is shown as text, never run as HTML.
import { expect, test, type Page } from '@playwright/test'
import { WebSocket } from 'ws'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
test.beforeAll(async () => {
  vigil = await startVigil([])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
})

/** Collects CSP violations the page reports (and anything that managed to set window.__pwned). */
async function watchViolations(page: Page): Promise<() => Promise<{ directives: string[]; pwned: unknown }>> {
  await page.evaluate(() => {
    const w = window as unknown as { __violations: string[] }
    w.__violations = []
    document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`))
  })
  return () =>
    page.evaluate(() => {
      const w = window as unknown as { __violations: string[]; __pwned?: unknown }
      return { directives: w.__violations, pwned: w.__pwned }
    })
}

test('the CSP blocks inline script, inline handlers, remote script, images and connections', async ({ page }) => {
  const response = await page.goto(vigil.url)
  const csp = response?.headers()['content-security-policy'] ?? ''
  expect(csp).toContain("script-src 'self'")
  expect(csp).toContain("default-src 'none'")
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
  const violations = await watchViolations(page)

  await page.evaluate(async () => {
    const inline = document.createElement('script')
    inline.textContent = 'window.__pwned = "inline script"'
    document.body.append(inline)
    const handler = document.createElement('img')
    handler.setAttribute('src', 'data:image/gif;base64,R0lGODlhAQABAAAAACw=')
    handler.setAttribute('onload', 'window.__pwned = "inline handler"')
    document.body.append(handler)
    const remote = document.createElement('script')
    remote.src = 'https://cdn.example.invalid/evil.js'
    document.body.append(remote)
    const img = document.createElement('img')
    img.src = 'https://tracker.example.invalid/pixel.png'
    document.body.append(img)
    await fetch('https://api.example.invalid/steal').catch(() => undefined)
    await new Promise((r) => setTimeout(r, 200))
  })
  const seen = await violations()
  expect(seen.pwned).toBeUndefined()
  const joined = seen.directives.join('\n')
  expect(joined).toMatch(/script-src-elem inline/)
  expect(joined).toMatch(/script-src-attr inline/)
  expect(joined).toContain('script-src-elem https://cdn.example.invalid/evil.js')
  expect(joined).toContain('img-src https://tracker.example.invalid/pixel.png')
  expect(joined).toContain('connect-src https://api.example.invalid/steal')
})

test('agent text is rendered as text in run views', async ({ page }) => {
  const publisher = new WebSocket(`${vigil.url.replace('http', 'ws')}/ingress`)
  await new Promise((resolve, reject) => {
    publisher.once('open', resolve)
    publisher.once('error', reject)
  })
  const hostile = '<img src=x onerror="window.__pwned=1">Research <b>now</b>'
  const frames = [
    { type: 'ensemble_started', ensembleId: 'xss', startedAt: '2026-11-22T14:00:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' },
    { type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: hostile, agentRole: '<script>window.__pwned=2</script>Agent', startedAt: '2026-11-22T14:00:01Z' },
    { type: 'tool_called', agentRole: 'Agent', taskIndex: 1, toolName: '<svg onload="window.__pwned=3">', durationMs: 5, outcome: 'FAILURE', toolArguments: '{"html":"<iframe src=javascript:window.__pwned=4>"}', toolResult: '<a href="javascript:window.__pwned=5">click</a>', structuredResult: null }
  ]
  frames.forEach((message, i) =>
    publisher.send(JSON.stringify({ type: 'event', producer: { producerId: 'xss-producer' }, sequence: i + 1, receivedAt: '2026-11-22T14:00:0' + i + 'Z', message }))
  )

  await page.goto(vigil.url)
  const violations = await watchViolations(page)
  await page.getByRole('navigation', { name: 'Sources' }).getByRole('link', { name: /SEQUENTIAL/ }).click()
  await expect(page.getByText(hostile).first()).toBeVisible()
  await page.getByTestId('run-tab-tools').click()
  await expect(page.getByText('<a href="javascript:window.__pwned=5">click</a>').first()).toBeVisible()
  await page.getByTestId('run-tab-flow').click()
  await page.getByTestId('run-tab-timeline').click()
  for (const selector of ['img[src=x]', 'main b', 'svg[onload]', 'iframe', 'a[href^="javascript:"]', 'main script']) {
    await expect(page.locator(selector)).toHaveCount(0)
  }
  expect((await violations()).pwned).toBeUndefined()
  publisher.close()
})
