// The review inbox in a browser against the real `vigil serve`: gates raised through Vigil's review
// API, by an attached (simulated) embedded AgentEnsemble dashboard and by a hub producer on /ingress.
// Deciding in the inbox reaches the waiting caller / the agent with the exact frame the spec requires;
// every other viewer learns the outcome at once; a second decider gets a 409; timeouts apply the
// advertised action; history lists decided gates with where they were decided.
import { expect, test, type Page } from '@playwright/test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import type { EnsembleSimulator } from '../../src/main/demo/ensemble-simulator'
import { shootBothSchemes } from './support/screenshots'
import { startAttachedRun, type AttachedRun } from './support/attached-run'
import { startVigil, type VigilProcess } from './support/vigil-process'

interface GateBody {
  taskDescription: string
  taskOutput: string
  timeoutMs: number
  onTimeout: 'CONTINUE' | 'EXIT_EARLY' | 'FAIL'
  prompt?: string
  timing?: string
  requiredRole?: string
  source?: string
}

interface WaitResult {
  reviewId: string
  status: string
  decision: string | null
  revisedOutput?: string
  surface: string | null
  decidedBy: string | null
  decidedAt: string | null
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

/** Raises a gate and returns its id at once. */
async function raise(vigil: VigilProcess, body: GateBody): Promise<string> {
  const { status, json } = await post(`${vigil.url}/api/reviews`, body)
  expect(status).toBe(201)
  return json.reviewId as string
}

/** Raises a gate with ?wait=true: the promise settles with the decision (started before anyone decides). */
function raiseAndWait(vigil: VigilProcess, body: GateBody): Promise<WaitResult> {
  return post(`${vigil.url}/api/reviews?wait=true`, body).then(({ status, json }) => {
    expect(status).toBe(200)
    return json as unknown as WaitResult
  })
}

/** The id of the pending gate with this task (as the review API lists it). */
async function idOf(vigil: VigilProcess, taskDescription: string): Promise<string> {
  let id: string | undefined
  await expect
    .poll(async () => {
      const list = (await (await fetch(`${vigil.url}/api/reviews`)).json()) as { reviews: { reviewId: string; taskDescription: string }[] }
      id = list.reviews.find((r) => r.taskDescription === taskDescription)?.reviewId
      return id
    })
    .toBeTruthy()
  return id!
}

async function decideByApi(vigil: VigilProcess, id: string, body: Record<string, unknown>) {
  return post(`${vigil.url}/api/reviews/${encodeURIComponent(id)}`, body)
}

/** Leaves no gate pending for the next test. */
async function clearPending(vigil: VigilProcess): Promise<void> {
  const list = (await (await fetch(`${vigil.url}/api/reviews`)).json()) as { reviews: { reviewId: string }[] }
  for (const r of list.reviews) await decideByApi(vigil, r.reviewId, { decision: 'CONTINUE', decidedBy: 'cleanup' })
}

const detail = (page: Page) => page.getByTestId('review-detail')

test.describe('review inbox with the review API', () => {
  let vigil: VigilProcess
  test.beforeAll(async () => {
    vigil = await startVigil([])
  })
  test.afterAll(async () => {
    expect(await vigil.stop()).toBe(0)
  })
  test.afterEach(async () => {
    await clearPending(vigil)
  })

  test('a gate raised through the API appears without reload with its countdown; approving with the keyboard answers the waiting caller', async ({ page }) => {
    await page.goto(`${vigil.url}/#/reviews`)
    const empty = page.getByTestId('inbox-empty')
    await expect(empty).toBeVisible()
    await expect(empty).toContainText('A review gate pauses an agent')
    await expect(empty.locator('pre')).toContainText(`curl -X POST ${vigil.url}/api/reviews`)
    await expect(page.getByTestId('sidebar-review-count')).toHaveText('0 pending')
    await shootBothSchemes(page, 'reviews-empty')

    const waiting = raiseAndWait(vigil, {
      taskDescription: 'Publish the Q3 summary',
      taskOutput: 'Revenue grew 12% quarter on quarter.\nChurn fell to 2.1%.',
      prompt: 'Check the numbers against the finance sheet',
      timeoutMs: 300_000,
      onTimeout: 'CONTINUE',
      source: 'report-bot'
    })

    // No reload: the push opens the most urgent gate.
    await expect(page.getByTestId('gate-task')).toHaveText('Publish the Q3 summary')
    await expect(page).toHaveURL(/#\/reviews\/[0-9a-f-]{36}$/)
    await expect(detail(page).getByTestId('countdown')).toHaveText(/^Auto-continue in 4:5\d$/)
    await expect(detail(page).getByTestId('gate-output')).toHaveText('Revenue grew 12% quarter on quarter.\nChurn fell to 2.1%.')
    await expect(detail(page)).toContainText('Check the numbers against the finance sheet')
    await expect(detail(page)).toContainText('report-bot')
    await expect(detail(page)).toContainText('After the task')
    await expect(page.getByTestId('queue-item')).toHaveCount(1)
    await expect(page.getByTestId('sidebar-review-count')).toHaveText('1 pending')
    await expect(page).toHaveTitle(/^\(1\) Review waiting · Vigil$/)
    await expect(page.getByTestId('shortcut-hint')).toContainText('approve')

    await page.keyboard.press('a')
    const result = await waiting
    expect(result).toMatchObject({ status: 'APPLIED', decision: 'CONTINUE', surface: 'browser-inbox' })
    await expect(page.getByTestId('gate-outcome')).toContainText('Decided via a browser inbox by local (no password): Approved (CONTINUE) at')
    await expect(page.getByTestId('gate-outcome')).toContainText('(from this window)')
    await expect(page.getByTestId('approve')).toHaveCount(0)
    await expect(page.getByTestId('sidebar-review-count')).toHaveText('0 pending')
    await expect(page).toHaveTitle('Vigil')
  })

  test('two browser pages: deciding in one shows the outcome in the other at once', async ({ browser }) => {
    const id = await raise(vigil, { taskDescription: 'Merge the migration', taskOutput: 'ALTER TABLE runs ADD COLUMN cost;', timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' })
    const context = await browser.newContext()
    const a = await context.newPage()
    const b = await context.newPage()
    for (const p of [a, b]) {
      await p.goto(`${vigil.url}/#/reviews/${id}`)
      await expect(p.getByTestId('approve')).toBeVisible()
      await expect(detail(p).getByTestId('countdown')).toHaveText(/^Auto-exit in 9:5\d$/)
    }
    await a.getByTestId('approve').click()
    await expect(a.getByTestId('gate-outcome')).toContainText('CONTINUE')
    // The other page never keeps a stale panel.
    await expect(b.getByTestId('gate-outcome')).toContainText('Decided via a browser inbox by local (no password): Approved (CONTINUE) at', { timeout: 2000 })
    await expect(b.getByTestId('approve')).toHaveCount(0)
    await expect(b.getByTestId('gate-outcome')).not.toContainText('from this window')
    await context.close()
  })

  test('a second decision through the API after the inbox decided gets 409 naming the winner', async ({ page }) => {
    const id = await raise(vigil, { taskDescription: 'Send the invoice', taskOutput: 'Invoice #42: 1,200 EUR', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    await page.goto(`${vigil.url}/#/reviews/${id}`)
    await expect(page.getByTestId('approve')).toBeVisible()
    await page.keyboard.press('a')
    await expect(page.getByTestId('gate-outcome')).toContainText('CONTINUE')

    const second = await decideByApi(vigil, id, { decision: 'EXIT_EARLY' })
    expect(second.status).toBe(409)
    const error = second.json.error as { code: string; message: string; reason: string }
    expect(error.code).toBe('conflict')
    expect(error.reason).toBe('REVIEW_RESOLVED')
    expect(error.message).toContain('CONTINUE via browser-inbox')
    const gate = (await (await fetch(`${vigil.url}/api/reviews/${id}`)).json()) as { status: string; outcome: { decision: string } }
    expect(gate).toMatchObject({ status: 'DECIDED', outcome: { decision: 'CONTINUE' } })
  })

  test('a decision that loses a race shows the winner instead of a stale panel', async ({ page }) => {
    // This page must still show the gate open when it decides: while `stale`, the API decision's push is
    // held back, and any refetch of the gate list (the page refetches on connect and on a gap, at times a
    // loaded machine decides) is answered with the last list the page got before, not the server's news.
    let stale = false
    let lastList: { status: number; body: string } | null = null
    await page.route(/\/api\/rpc\/listReviews$/, async (route) => {
      const answer = stale ? null : await route.fetch()
      // A list fetched before the hold but answered after it may carry the decision: the old one goes instead.
      if (answer && !stale) lastList = { status: answer.status(), body: await answer.text() }
      if (!lastList) return route.abort()
      return route.fulfill({ status: lastList.status, contentType: 'application/json', body: lastList.body })
    })
    await page.routeWebSocket(/\/api\/events$/, (ws) => {
      const server = ws.connectToServer()
      server.onMessage((m) => {
        if (stale && typeof m === 'string' && m.includes('"reviews-changed"')) return
        ws.send(m)
      })
      ws.onMessage((m) => server.send(m))
    })
    const id = await raise(vigil, { taskDescription: 'Rotate the API keys', taskOutput: 'keys: 3 rotated', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    await page.goto(`${vigil.url}/#/reviews/${id}`)
    await expect(page.getByTestId('approve')).toBeVisible()
    expect(lastList).not.toBeNull()
    stale = true
    const api = await decideByApi(vigil, id, { decision: 'EXIT_EARLY', decidedBy: 'alice' })
    expect(api.status).toBe(200)
    await expect(page.getByTestId('approve')).toBeVisible()

    await page.getByTestId('approve').click()
    const outcome = page.getByTestId('gate-outcome')
    await expect(outcome).toContainText('Decided via the review API by local (no password): Exited early (EXIT_EARLY) at')
    await expect(page.getByTestId('gate-lost')).toContainText('Your approval was not applied')
    await expect(page.getByTestId('approve')).toHaveCount(0)
    await shootBothSchemes(page, 'reviews-lost-race')
  })

  test('do-not-disturb is one switch for every window', async ({ browser }) => {
    const context = await browser.newContext()
    const a = await context.newPage()
    const b = await context.newPage()
    for (const p of [a, b]) {
      await p.goto(`${vigil.url}/#/reviews`)
      await expect(p.getByTestId('dnd')).toHaveAttribute('aria-checked', 'false')
    }
    await a.getByTestId('dnd').click()
    await expect(a.getByTestId('dnd')).toHaveAttribute('aria-checked', 'true')
    await expect(b.getByTestId('dnd')).toHaveAttribute('aria-checked', 'true', { timeout: 2000 })
    await b.getByTestId('dnd').press('Space')
    await expect(a.getByTestId('dnd')).toHaveAttribute('aria-checked', 'false', { timeout: 2000 })
    await context.close()
  })

  test('edit with a diff: the waiting caller receives EDIT and the revised output', async ({ page }) => {
    const original = 'Summary\nThe sky is green today.\nTemperatures stay mild.\n'
    const waiting = raiseAndWait(vigil, { taskDescription: 'Weather report', taskOutput: original, timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' })
    const id = await idOf(vigil, 'Weather report')
    await page.goto(`${vigil.url}/#/reviews/${id}`)
    await expect(page.getByTestId('edit')).toBeVisible()
    await page.keyboard.press('e')
    await expect(page).toHaveURL(new RegExp(`#/reviews/${id}\\?edit=1$`))
    const textarea = page.locator('#review-draft')
    await expect(textarea).toBeFocused()
    await expect(textarea).toHaveValue(original)
    await expect(page.getByTestId('diff-summary')).toHaveText('No changes yet')
    await expect(page.getByTestId('submit-edit')).toBeDisabled()

    const revised = original.replace('green', 'blue').replace('Temperatures stay mild.\n', 'Temperatures stay mild.\nRain after 18:00.\n')
    await textarea.fill(revised)
    const diff = page.getByTestId('diff')
    await expect(page.getByTestId('diff-summary')).toContainText('+2')
    await expect(page.getByTestId('diff-summary')).toContainText('−1')
    await expect(diff.locator('mark.delete')).toHaveText('green')
    await expect(diff.locator('mark.insert')).toHaveText('blue')
    await expect(diff.locator('.line.insert').last()).toContainText('Rain after 18:00.')
    await shootBothSchemes(page, 'reviews-editor-diff')

    await textarea.press('ControlOrMeta+Enter')
    const result = await waiting
    expect(result).toMatchObject({ status: 'APPLIED', decision: 'EDIT', revisedOutput: revised, surface: 'browser-inbox' })
    await expect(page.getByTestId('gate-outcome')).toContainText('Decided via a browser inbox by local (no password): Edited (EDIT) at')
    await expect(page).toHaveURL(new RegExp(`#/reviews/${id}$`))
    // The sent edit stays visible as a diff.
    await expect(page.getByTestId('diff').locator('mark.insert')).toHaveText('blue')
  })

  test('a long output arrives cut in the push, but the inbox shows and edits the whole text', async ({ page }) => {
    const lines = Array.from({ length: 2500 }, (_, i) => `line ${i + 1}: ${'x'.repeat(20)}`)
    const original = lines.join('\n')
    expect(original.length).toBeGreaterThan(16 * 1024)
    const waiting = raiseAndWait(vigil, { taskDescription: 'Long report', taskOutput: original, timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' })
    const id = await idOf(vigil, 'Long report')
    await page.goto(`${vigil.url}/#/reviews/${id}`)
    await expect(page.getByTestId('gate-output')).toContainText('line 2500:')
    await page.keyboard.press('e')
    const textarea = page.locator('#review-draft')
    await expect(textarea).toHaveValue(original)
    const revised = original.replace('line 2500:', 'last line:')
    await textarea.fill(revised)
    await textarea.press('ControlOrMeta+Enter')
    expect(await waiting).toMatchObject({ status: 'APPLIED', decision: 'EDIT', revisedOutput: revised })
  })

  test('the desktop dialog\'s "Edit…" route opens the editor; Esc closes it and keeps the draft', async ({ page }) => {
    const id = await raise(vigil, { taskDescription: 'Agent question', taskOutput: '', timing: 'DURING_EXECUTION', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    await page.goto(`${vigil.url}/#/reviews/${id}?edit=1`)
    const textarea = page.locator('#review-draft')
    await expect(textarea).toBeFocused()
    await expect(page.getByText('Your answer')).toBeVisible()
    await textarea.fill('Use the staging database.')
    await textarea.press('Escape')
    await expect(textarea).toHaveCount(0)
    await expect(page).toHaveURL(new RegExp(`#/reviews/${id}$`))
    await expect(page.getByTestId('edit')).toBeFocused()
    await expect(page.getByTestId('edit')).toContainText('Answer…')
    await page.keyboard.press('e')
    await expect(page.locator('#review-draft')).toHaveValue('Use the staging database.')
  })

  test('a 2 s gate times out: the page shows CONTINUE applied and the waiting caller gets TIMED_OUT', async ({ page }) => {
    await page.goto(`${vigil.url}/#/reviews`)
    await expect(page.getByTestId('inbox-empty')).toBeVisible()
    const waiting = raiseAndWait(vigil, { taskDescription: 'Quick check', taskOutput: 'ok', timeoutMs: 2000, onTimeout: 'CONTINUE' })
    const countdown = detail(page).getByTestId('countdown')
    await expect(countdown).toHaveText(/^Auto-continue (in 0:0[12]|now…)$/)
    await expect(countdown).toHaveClass(/urgent/)
    const outcome = page.getByTestId('gate-outcome')
    await expect(outcome).toContainText('Timed out — Approved (CONTINUE) applied at', { timeout: 5000 })
    expect(await waiting).toMatchObject({ status: 'TIMED_OUT', decision: 'CONTINUE', surface: 'timeout' })
    await expect(detail(page).getByText('Timed out · Approved (CONTINUE)')).toBeVisible()
  })

  test('a page opened while a gate waits sees it pending, then the API decision at once', async ({ page }) => {
    const id = await raise(vigil, { taskDescription: 'Deploy to production', taskOutput: 'v1.4.2 → prod', timeoutMs: 0, onTimeout: 'CONTINUE' })
    await page.goto(`${vigil.url}/`)
    await expect(page.getByTestId('sidebar-review-count')).toHaveText('1 pending')
    await page.getByTestId('sidebar-reviews').click()
    await expect(page.getByTestId('gate-task')).toHaveText('Deploy to production')
    await expect(detail(page).getByTestId('countdown')).toHaveText('Waits forever (no timeout)')
    await expect(page.getByTestId('queue-item')).toHaveCount(1)
    expect(await page.getByTestId('queue-item').getAttribute('data-gate-id')).toBe(id)

    const api = await decideByApi(vigil, id, { decision: 'approve', decidedBy: 'ci' })
    expect(api.status).toBe(200)
    await expect(page.getByTestId('gate-outcome')).toContainText('Decided via the review API by local (no password): Approved (CONTINUE) at', { timeout: 2000 })
  })

  test('exit early asks first: Esc keeps the gate, Enter confirms', async ({ page }) => {
    const waiting = raiseAndWait(vigil, { taskDescription: 'Drop the old tables', taskOutput: 'DROP TABLE legacy_runs;', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    const id = await idOf(vigil, 'Drop the old tables')
    await page.goto(`${vigil.url}/#/reviews/${id}`)
    await expect(page.getByTestId('exit-early')).toBeVisible()

    await page.keyboard.press('x')
    const confirm = page.getByTestId('exit-confirm')
    await expect(confirm).toContainText('Stop the pipeline?')
    await expect(confirm.getByRole('button', { name: /Exit early/ })).toBeFocused()
    await page.keyboard.press('Escape')
    await expect(confirm).toHaveCount(0)
    await expect(page.getByTestId('exit-early')).toBeFocused()
    const still = (await (await fetch(`${vigil.url}/api/reviews/${id}`)).json()) as { status: string }
    expect(still.status).toBe('PENDING')

    // The button asks too; Cancel keeps the gate.
    await page.getByTestId('exit-early').click()
    await confirm.getByRole('button', { name: /Cancel/ }).click()
    await expect(confirm).toHaveCount(0)

    await page.keyboard.press('x')
    await expect(confirm).toBeVisible()
    await page.keyboard.press('Enter')
    expect(await waiting).toMatchObject({ status: 'APPLIED', decision: 'EXIT_EARLY', surface: 'browser-inbox' })
    await expect(page.getByTestId('gate-outcome')).toContainText('EXIT_EARLY')
  })

  test('history lists decided gates with outcome, surface and time to decision', async ({ page }) => {
    const viaInbox = await raise(vigil, { taskDescription: 'History: from the inbox', taskOutput: 'a', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    const viaApi = await raise(vigil, { taskDescription: 'History: from the API', taskOutput: 'b', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    await page.goto(`${vigil.url}/#/reviews/${viaInbox}`)
    await expect(page.getByTestId('exit-early')).toBeVisible()
    await page.keyboard.press('x')
    await expect(page.getByTestId('exit-confirm')).toBeVisible()
    await page.keyboard.press('y')
    await expect(page.getByTestId('gate-outcome')).toContainText('EXIT_EARLY')
    expect((await decideByApi(vigil, viaApi, { decision: 'EDIT', revisedOutput: 'b2', decidedBy: 'bob' })).status).toBe(200)

    await page.getByRole('link', { name: 'All decided gates →' }).click()
    await expect(page).toHaveURL(/#\/reviews\/history$/)
    const table = page.getByTestId('history-table')
    const inboxRow = table.locator(`tr[data-gate-id="${viaInbox}"]`)
    const apiRow = table.locator(`tr[data-gate-id="${viaApi}"]`)
    await expect(inboxRow).toContainText('Exited early')
    await expect(inboxRow.getByTestId('history-surface')).toHaveText('Browser inbox')
    await expect(apiRow).toContainText('Edited')
    await expect(apiRow.getByTestId('history-surface')).toHaveText('API')
    // Who decided is the server's record, not the body's "bob".
    await expect(apiRow).toContainText('local (no password)')
    await expect(apiRow).not.toContainText('bob')
    // Newest first.
    const ids = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-gate-id')))
    expect(ids.indexOf(viaApi)).toBeLessThan(ids.indexOf(viaInbox))
    await expect(table.locator('thead')).toContainText(/Decided \(\S+\)/)
    await shootBothSchemes(page, 'reviews-history')
  })

  test('a hub producer on /ingress raises a gate; approving sends it exactly {reviewId, decisionJson}', async ({ page }) => {
    const producer = new WebSocket(`${vigil.url.replace('http', 'ws')}/ingress`)
    const received: string[] = []
    producer.on('message', (data, isBinary) => {
      if (!isBinary) received.push(data.toString())
    })
    await new Promise((resolve, reject) => {
      producer.once('open', resolve)
      producer.once('error', reject)
    })
    let seq = 0
    const send = (message: Record<string, unknown>) =>
      producer.send(
        JSON.stringify({
          type: 'event',
          producer: { producerId: 'svc-review-pod-1', serviceName: 'svc-review', instanceId: 'pod-1' },
          sequence: ++seq,
          receivedAt: new Date().toISOString(),
          message
        })
      )
    send({ type: 'ensemble_started', ensembleId: 'e-hub-review', startedAt: new Date().toISOString(), totalTasks: 1, workflow: 'SEQUENTIAL' })
    send({
      type: 'review_requested',
      reviewId: 'rv-hub-1',
      taskDescription: 'Approve the hub summary',
      taskOutput: 'Three producers healthy.',
      timing: 'AFTER_EXECUTION',
      timeoutMs: 300_000,
      onTimeout: 'EXIT_EARLY'
    })

    await page.goto(`${vigil.url}/#/reviews`)
    await expect(page.getByTestId('gate-task')).toHaveText('Approve the hub summary')
    await expect(detail(page)).toContainText('svc-review-pod-1')
    await expect(detail(page).getByTestId('countdown')).toHaveText(/^Auto-exit in 4:5\d$/)
    await page.keyboard.press('a')
    await expect(page.getByTestId('gate-outcome')).toContainText('CONTINUE')

    await expect.poll(() => received.filter((f) => f.includes('rv-hub-1'))).toHaveLength(1)
    expect(received.find((f) => f.includes('rv-hub-1'))).toBe(
      '{"reviewId":"rv-hub-1","decisionJson":"{\\"type\\":\\"review_decision\\",\\"reviewId\\":\\"rv-hub-1\\",\\"decision\\":\\"CONTINUE\\"}"}'
    )
    producer.close()
  })

  test('a gate whose producer dropped is marked disconnected and a decision says to retry', async ({ page }) => {
    const connectProducer = async () => {
      const ws = new WebSocket(`${vigil.url.replace('http', 'ws')}/ingress`)
      await new Promise((resolve, reject) => {
        ws.once('open', resolve)
        ws.once('error', reject)
      })
      return ws
    }
    const envelope = (seq: number, message: Record<string, unknown>) =>
      JSON.stringify({ type: 'event', producer: { producerId: 'svc-flaky', serviceName: 'svc', instanceId: 'flaky' }, sequence: seq, receivedAt: new Date().toISOString(), message })
    const producer = await connectProducer()
    producer.send(envelope(1, { type: 'ensemble_started', ensembleId: 'e-flaky', startedAt: new Date().toISOString(), totalTasks: 1, workflow: 'SEQUENTIAL' }))
    producer.send(
      envelope(2, { type: 'review_requested', reviewId: 'rv-flaky', taskDescription: 'Flaky producer gate', taskOutput: 'x', timing: 'AFTER_EXECUTION', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    )
    await page.goto(`${vigil.url}/#/reviews`)
    await expect(page.getByTestId('gate-task')).toHaveText('Flaky producer gate')
    await expect(page.getByTestId('gate-disconnected')).toHaveCount(0)

    producer.close()
    await expect(page.getByTestId('gate-disconnected')).toHaveText(/Disconnected — decision cannot be delivered until the agent reconnects\./)
    await expect(page.getByTestId('queue-item').first()).toContainText('Disconnected')
    await page.keyboard.press('a')
    const failure = page.getByTestId('gate-failure')
    await expect(failure).toContainText('Not delivered — the gate stays pending.')
    await expect(failure.getByRole('button', { name: 'Retry' })).toBeVisible()
    await expect(page.getByTestId('approve')).toBeVisible()
    expect(((await (await fetch(`${vigil.url}/api/reviews/rv-flaky`)).json()) as { status: string }).status).toBe('PENDING')

    // The producer comes back: the mark goes away and Retry delivers the decision to it.
    const again = await connectProducer()
    const received: string[] = []
    again.on('message', (data, isBinary) => {
      if (!isBinary) received.push(data.toString())
    })
    again.send(envelope(3, { type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: 'x', agentRole: 'A', startedAt: new Date().toISOString() }))
    await expect(page.getByTestId('gate-disconnected')).toHaveCount(0)
    await failure.getByRole('button', { name: 'Retry' }).click()
    await expect(page.getByTestId('gate-outcome')).toContainText('Decided via a browser inbox by local (no password): Approved (CONTINUE) at')
    await expect.poll(() => received.filter((f) => f.includes('rv-flaky'))).toHaveLength(1)
    again.close()
  })

  test('screenshots: the inbox with three gates', async ({ page }) => {
    await raise(vigil, {
      taskDescription: 'Review the release notes for v2.3 before they are published to the changelog',
      taskOutput: [
        '## v2.3.0',
        '',
        '- Faster session list: only sessions with new rows are recomputed.',
        '- Review gates: one inbox for every source, with history.',
        '- Fixed: the DAG view kept a stale selection after a refresh.',
        '',
        'Thanks to everyone who reported issues.'
      ].join('\n'),
      prompt: 'Check that every item links to its issue',
      requiredRole: 'release-manager',
      timeoutMs: 240_000,
      onTimeout: 'CONTINUE',
      source: 'release-bot'
    })
    await raise(vigil, { taskDescription: 'Approve the schema migration', taskOutput: 'ALTER TABLE runs ADD COLUMN cost DOUBLE;', timing: 'BEFORE_EXECUTION', timeoutMs: 45_000, onTimeout: 'EXIT_EARLY', source: 'db-agent' })
    await raise(vigil, { taskDescription: 'Which branch should I deploy?', taskOutput: '', timing: 'DURING_EXECUTION', timeoutMs: 0, onTimeout: 'FAIL', source: 'deploy-agent' })
    await page.goto(`${vigil.url}/#/reviews`)
    await expect(page.getByTestId('queue-item')).toHaveCount(3)
    // vigil serve here has no password: the inbox says who can decide.
    await expect(page.getByTestId('open-note')).toHaveText('Open to this machine: anyone who can reach this port can decide gates (no password is set).')
    // By deadline: 45 s, then 4 min, then the one that waits forever.
    await expect(page.getByTestId('gate-task')).toHaveText('Approve the schema migration')
    await expect(detail(page).getByTestId('countdown')).toHaveClass(/urgent/)
    await page.keyboard.press('j')
    await expect(page.getByTestId('gate-task')).toHaveText(/Review the release notes/)
    await expect(page.getByTestId('gate-role')).toContainText("Role 'release-manager' requested; Vigil does not check roles")
    await expect(page.getByTestId('approve')).toBeEnabled()
    await shootBothSchemes(page, 'reviews-inbox')
    await page.keyboard.press('j')
    await expect(page.getByTestId('gate-task')).toHaveText('Which branch should I deploy?')
    await expect(detail(page).getByTestId('countdown')).toHaveText('Waits forever (no timeout)')
    await page.keyboard.press('k')
    await expect(page.getByTestId('gate-task')).toHaveText(/Review the release notes/)
    // Arrow keys move through the queue from its links, and the focus follows.
    const items = page.getByTestId('queue-item')
    await items.nth(1).focus()
    await page.keyboard.press('ArrowDown')
    await expect(page.getByTestId('gate-task')).toHaveText('Which branch should I deploy?')
    await expect(items.nth(2)).toBeFocused()
    await expect(items.nth(2)).toHaveAttribute('aria-current', 'true')
    await page.keyboard.press('Home')
    await expect(page.getByTestId('gate-task')).toHaveText('Approve the schema migration')
    await expect(items.nth(0)).toBeFocused()
  })
})

test('history says when decisions are kept in memory only (recording off)', async ({ page }) => {
  // A file that is not Vigil's where its recording should be: Vigil runs, without recording.
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-norec-'))
  writeFileSync(join(dataDir, 'recordings.duckdb'), 'not a DuckDB file\n'.repeat(100))
  const vigil = await startVigil(['--data-dir', dataDir])
  try {
    const id = await raise(vigil, { taskDescription: 'Kept in memory', taskOutput: 'x', timeoutMs: 600_000, onTimeout: 'CONTINUE' })
    expect((await decideByApi(vigil, id, { decision: 'CONTINUE' })).status).toBe(200)
    await page.goto(`${vigil.url}/#/reviews/history`)
    await expect(page.getByTestId('history-memory')).toContainText('Kept in memory only: recording is off')
    await expect(page.getByTestId('history-table').locator(`tr[data-gate-id="${id}"]`)).toContainText('Approved')
  } finally {
    expect(await vigil.stop()).toBe(0)
  }
})

test.describe('review inbox with an attached AgentEnsemble dashboard', () => {
  let sim: EnsembleSimulator
  let vigil: VigilProcess
  let attached: AttachedRun
  test.beforeAll(async () => {
    attached = await startAttachedRun({ ensembleId: 'e-gate', totalTasks: 1, taskDescription: 'Write the brief', agentRole: 'Writer' })
    ;({ sim, vigil } = attached)
  })
  test.afterAll(async () => {
    expect(await attached.stop()).toBe(0)
  })

  test('review_requested from the dashboard shows in the inbox and on the run; approving sends exactly the review_decision frame', async ({ page }) => {
    await expect.poll(() => sim.clientCount).toBe(1)
    // Every text frame Vigil sends to the simulated dashboard, as written on the wire.
    const frames = sim.clientFrames

    await page.goto(`${vigil.url}/`)
    const runLink = page.getByRole('navigation').locator('a[href^="#/run/"]').first()
    await expect(runLink).toBeVisible({ timeout: 20_000 })
    await runLink.click()
    await expect(page.getByTestId('run-workflow')).toHaveText('SEQUENTIAL')

    sim.broadcast({
      type: 'review_requested',
      reviewId: 'rv-attach-1',
      taskDescription: 'Write the brief',
      taskOutput: 'Brief: three paragraphs on AI adoption.',
      timing: 'AFTER_EXECUTION',
      prompt: 'Check tone and facts before publishing',
      timeoutMs: 300_000,
      onTimeout: 'EXIT_EARLY'
    })
    // The run page links to its waiting gate.
    const banner = page.getByTestId('run-review-banner')
    await expect(banner).toContainText('Review waiting: Write the brief')
    await expect(banner.getByTestId('countdown')).toHaveText(/^Auto-exit in 4:5\d$/)
    await shootBothSchemes(page, 'reviews-run-banner')
    await banner.getByRole('link').click()
    await expect(page).toHaveURL(/#\/reviews\/rv-attach-1$/)
    await expect(page.getByTestId('gate-task')).toHaveText('Write the brief')
    await expect(detail(page)).toContainText('Attached dashboard')
    await expect(detail(page)).toContainText('Check tone and facts before publishing')

    await page.keyboard.press('a')
    await expect(page.getByTestId('gate-outcome')).toContainText('Decided via a browser inbox by local (no password): Approved (CONTINUE) at')
    await expect.poll(() => frames.filter((f) => f.includes('review_decision'))).toHaveLength(1)
    expect(frames.find((f) => f.includes('review_decision'))).toBe('{"type":"review_decision","reviewId":"rv-attach-1","decision":"CONTINUE"}')
    expect(sim.decisions).toEqual([{ reviewId: 'rv-attach-1', decision: 'CONTINUE' }])
    await expect(page.getByTestId('run-review-banner')).toHaveCount(0)
  })
})
