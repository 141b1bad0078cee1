// Issue 16 item 1 in a real Chromium against a real `vigil serve`: a page on http://localhost:<port>/live
// (a loopback page, as AgentEnsemble's viz on 7328 or 5173 is) opens `?server=<Vigil's run endpoint>` with the
// browser's own WebSocket and applies the viz's /live reducer rules (spec §5.3), rendering the test ids the
// viz's e2e specs check (§6.2). By default a stand-in page does this (AgentEnsemble's viz is not part of our
// dependencies and its repository is not reachable from every machine). With VIGIL_AE_VIZ_DIST set to a built
// viz (`agentensemble-viz/dist`), the same tests run against AgentEnsemble's real viz (docs/agentensemble.md).
import { readFileSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, relative, resolve } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { WebSocket } from 'ws'
import { startVigil, type VigilProcess } from './support/vigil-process'

const PAGE = `<!doctype html><meta charset="utf-8"><title>viz stand-in</title>
<div data-testid="connection-status-bar" role="status"><span data-testid="connection-status-label">Connecting...</span> <span data-testid="connection-status-url"></span></div>
<header><span data-testid="live-header-ensemble-id"></span> <span data-testid="live-header-workflow"></span> <span data-testid="live-header-task-progress"></span>
<button data-testid="live-view-tab-flow">Flow</button></header>
<div id="bars"></div>
<div data-testid="live-flow-view" hidden><div data-testid="live-flow-status-bar"></div></div>
<div data-testid="review-panel" role="dialog" hidden><h2>Review Required</h2><p data-testid="task-description"></p><pre data-testid="task-output"></pre>
<span data-testid="countdown-label"></span><button data-testid="approve-button">Approve</button><button data-testid="edit-button">Edit</button><button data-testid="exit-early-button">Exit Early</button></div>
<script>
const server = new URLSearchParams(location.search).get('server')
const $ = (id) => document.querySelector('[data-testid="' + id + '"]')
let s = fresh()
function fresh() { return { ensembleId: null, workflow: null, totalTasks: 0, tasks: [], reviews: [] } }
function reduce(m) {
  switch (m.type) {
    case 'hello': if ((m.snapshotTrace || []).length) { s = fresh(); m.snapshotTrace.forEach(reduce) } if (m.ensembleId) s.ensembleId = m.ensembleId; break
    case 'ensemble_started': s.tasks = []; s.reviews = []; s.ensembleId = m.ensembleId; s.workflow = m.workflow; s.totalTasks = m.totalTasks; break
    case 'task_started': s.totalTasks = Math.max(s.totalTasks, m.totalTasks); if (!s.tasks.some(t => t.i === m.taskIndex && t.status === 'running')) s.tasks.push({ i: m.taskIndex, status: 'running' }); break
    case 'task_completed': case 'task_failed': { const t = s.tasks.filter(x => x.i === m.taskIndex).pop(); if (t) t.status = m.type === 'task_completed' ? 'completed' : 'failed'; break }
    case 'review_requested': s.reviews.push({ ...m, receivedAt: Date.now() }); break
    case 'review_timed_out': s.reviews = s.reviews.filter(r => r.reviewId !== m.reviewId); break
  }
}
function render() {
  $('live-header-ensemble-id').textContent = (s.ensembleId || '').slice(0, 8)
  $('live-header-workflow').textContent = s.workflow || ''
  const done = s.tasks.filter(t => t.status !== 'running').length
  $('live-header-task-progress').textContent = done + ' / ' + s.totalTasks + ' tasks'
  document.getElementById('bars').innerHTML = s.tasks.map(t => '<div data-testid="live-task-bar" data-task-status="' + t.status + '"></div>').join('')
  $('live-flow-status-bar').textContent = (s.workflow || 'SEQUENTIAL') + ' · ' + done + ' / ' + s.totalTasks + ' tasks · ' + s.tasks.filter(t => t.status === 'running').length + ' running'
  const r = s.reviews[0]
  $('review-panel').hidden = !r
  if (r) {
    $('task-description').textContent = r.taskDescription
    $('task-output').textContent = r.taskOutput
    const left = Math.max(0, r.timeoutMs - (Date.now() - r.receivedAt))
    $('countdown-label').textContent = 'Auto-exit in ' + Math.floor(left / 60000) + ':' + String(Math.floor(left / 1000) % 60).padStart(2, '0')
  }
}
$('connection-status-url').textContent = server
const ws = new WebSocket(server)
ws.onopen = () => { $('connection-status-label').textContent = 'Connected' }
ws.onclose = () => { $('connection-status-label').textContent = 'Disconnected' }
ws.onmessage = (e) => { let m; try { m = JSON.parse(e.data) } catch { return } reduce(m); render() }
$('live-view-tab-flow').onclick = () => { $('live-flow-view').hidden = false }
$('approve-button').onclick = () => { const r = s.reviews[0]; ws.send(JSON.stringify({ type: 'review_decision', reviewId: r.reviewId, decision: 'CONTINUE' })); s.reviews.shift(); render() }
</script>`

/** A built AgentEnsemble viz to test against instead of the stand-in page. */
const VIZ_DIST = process.env.VIGIL_AE_VIZ_DIST ? resolve(process.env.VIGIL_AE_VIZ_DIST) : null
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.map': 'application/json' }

/** The built viz's files; any other path (its routes, e.g. /live) gets its index.html, as the viz CLI serves it. */
function serveViz(dist: string, req: IncomingMessage, res: ServerResponse): void {
  let file = join(dist, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
  const inside = !relative(dist, file).startsWith('..')
  if (!inside || !statSync(file, { throwIfNoEntry: false })?.isFile()) file = join(dist, 'index.html')
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
  res.end(readFileSync(file))
}

let vigil: VigilProcess
let pageServer: Server
let pageBase: string

test.beforeAll(async () => {
  vigil = await startVigil([])
  pageServer = createServer((req, res) => {
    if (VIZ_DIST) return serveViz(VIZ_DIST, req, res)
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(PAGE)
  })
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve))
  pageBase = `http://localhost:${(pageServer.address() as AddressInfo).port}`
})
test.afterAll(async () => {
  await new Promise((resolve) => pageServer.close(resolve))
  expect(await vigil.stop()).toBe(0)
})

function publisher(producerId: string): Promise<{ ws: WebSocket; send: (m: Record<string, unknown>) => void; frames: string[] }> {
  const ws = new WebSocket(`${vigil.url.replace('http', 'ws')}/ingress?producerId=${producerId}`)
  const frames: string[] = []
  ws.on('message', (d) => frames.push(d.toString()))
  let seq = 0
  const send = (message: Record<string, unknown>) => {
    seq++
    ws.send(JSON.stringify({ type: 'event', producer: { producerId }, sequence: seq, receivedAt: new Date(Date.UTC(2026, 2, 5, 14, 0, seq)).toISOString(), message }))
  }
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, send, frames }))
    ws.once('error', reject)
  })
}

const liveUrl = (path: string) => `${pageBase}/live?server=${encodeURIComponent(`${vigil.url.replace('http', 'ws')}${path}`)}`

/** A producer, and the /live page open on its endpoint (before its run), connected. */
async function liveOnProducer(page: Page, producerId: string): Promise<Awaited<ReturnType<typeof publisher>>> {
  const p = await publisher(producerId)
  await page.goto(liveUrl(`/ws?producer=${producerId}`))
  await expect(page.getByTestId('connection-status-label')).toHaveText('Connected')
  return p
}


/** Sends a two-task SEQUENTIAL run (spec §6.1's "sequential" example), finished. */
function sendSequentialRun(p: { send: (m: Record<string, unknown>) => void }, ensembleId: string): void {
  p.send({ type: 'ensemble_started', ensembleId, startedAt: '2026-03-05T14:00:00Z', totalTasks: 2, workflow: 'SEQUENTIAL' })
  for (const i of [1, 2]) {
    p.send({ type: 'task_started', taskIndex: i, totalTasks: 2, taskDescription: `Task ${i}`, agentRole: `Role${i}`, startedAt: '2026-03-05T14:00:01Z' })
    p.send({ type: 'task_completed', taskIndex: i, totalTasks: 2, taskDescription: `Task ${i}`, agentRole: `Role${i}`, completedAt: '2026-03-05T14:00:02Z', durationMs: 1000, tokenCount: -1, toolCallCount: 0 })
  }
  p.send({ type: 'ensemble_completed', ensembleId, completedAt: '2026-03-05T14:00:03Z', durationMs: 3000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 0 })
}

/** §6.2 1–6 on an open /live page of that run. */
async function expectFinishedRun(page: Page): Promise<void> {
  await expect(page.getByTestId('connection-status-bar')).toBeVisible()
  await expect(page.getByTestId('connection-status-label')).toHaveText('Connected')
  await expect(page.getByTestId('connection-status-url')).toContainText(vigil.url.replace('http://', ''))
  await expect(page.getByTestId('live-header-ensemble-id')).toHaveText('e2e-seq-')
  await expect(page.getByTestId('live-header-workflow')).toHaveText('SEQUENTIAL')
  await expect(page.getByTestId('live-header-task-progress')).toHaveText('2 / 2 tasks')
  await expect(page.getByTestId('live-task-bar')).toHaveCount(2)
  for (const bar of await page.getByTestId('live-task-bar').all()) await expect(bar).toHaveAttribute('data-task-status', 'completed')
  await page.getByTestId('live-view-tab-flow').click()
  await expect(page.getByTestId('live-flow-view')).toBeVisible()
  await expect(page.getByTestId('live-flow-status-bar')).toContainText('SEQUENTIAL')
}

test('the viz /live page on a finished run: Connected, header, 2 / 2 tasks, two completed bars, Flow (§6.2 1–6)', async ({ page }) => {
  const p = await publisher('seq-1')
  sendSequentialRun(p, 'e2e-seq-run')
  // The run page's data: the run's own endpoint.
  type Runs = { value: Array<{ ensembleId: string; embeddedPath: string; status: string }> }
  const listRuns = async () => (await (await fetch(`${vigil.url}/api/rpc/listRuns`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"args":[]}' })).json()) as Runs
  await expect.poll(async () => (await listRuns()).value.find((x) => x.ensembleId === 'e2e-seq-run')?.status).toBe('completed')
  const listed = await listRuns()
  const run = listed.value.find((x) => x.ensembleId === 'e2e-seq-run')
  expect(run?.embeddedPath).toMatch(/^\/ws\?run=/)
  await page.goto(liveUrl(run?.embeddedPath as string))
  await expectFinishedRun(page)
  p.ws.close()
})

test("the viz /live page open on a producer's endpoint before its run: the same, live (§6.2 1–6)", async ({ page }) => {
  const p = await liveOnProducer(page, 'seq-live')
  sendSequentialRun(p, 'e2e-seq-live')
  await expectFinishedRun(page)
  p.ws.close()
})

test('the review panel round trip through Vigil (§6.2 7)', async ({ page }) => {
  const p = await liveOnProducer(page, 'rev-e2e')
  const desc = 'Draft a press release for the AgentEnsemble v3.0 product launch'
  p.send({ type: 'ensemble_started', ensembleId: 'e2e-review', startedAt: '2026-03-05T14:00:00Z', totalTasks: 1, workflow: 'SEQUENTIAL' })
  p.send({ type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: desc, agentRole: 'Writer', startedAt: '2026-03-05T14:00:01Z' })
  p.send({
    type: 'review_requested',
    reviewId: 'e2e-r1',
    taskDescription: desc,
    taskOutput: 'FOR IMMEDIATE RELEASE: AgentEnsemble announces v3.0, the fastest multi-agent framework available for Java developers.',
    timing: 'AFTER_EXECUTION',
    timeoutMs: 300000,
    onTimeout: 'EXIT_EARLY'
  })
  await expect(page.getByTestId('review-panel')).toBeVisible()
  await expect(page.getByRole('heading', { name: 'Review Required' })).toBeVisible()
  await expect(page.getByTestId('task-description')).toContainText('press release')
  await expect(page.getByTestId('task-output')).toContainText('AgentEnsemble announces v3.0')
  await expect(page.getByTestId('countdown-label')).toBeVisible()
  for (const id of ['approve-button', 'edit-button', 'exit-early-button']) await expect(page.getByTestId(id)).toBeVisible()
  await page.getByTestId('approve-button').click()
  await expect(page.getByTestId('review-panel')).toBeHidden()
  // The agent got the decision through Vigil's review coordinator and goes on.
  await expect.poll(() => p.frames.find((f) => f.includes('e2e-r1'))).toBeTruthy()
  expect(JSON.parse(JSON.parse(p.frames.find((f) => f.includes('e2e-r1')) as string).decisionJson as string)).toMatchObject({ decision: 'CONTINUE' })
  p.send({ type: 'task_completed', taskIndex: 1, totalTasks: 1, taskDescription: desc, agentRole: 'Writer', completedAt: '2026-03-05T14:00:02Z', durationMs: 1000, tokenCount: -1, toolCallCount: 0 })
  p.send({ type: 'ensemble_completed', ensembleId: 'e2e-review', completedAt: '2026-03-05T14:00:03Z', durationMs: 3000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 0 })
  await expect(page.getByTestId('live-header-task-progress')).toHaveText('1 / 1 tasks')
  p.ws.close()
})
