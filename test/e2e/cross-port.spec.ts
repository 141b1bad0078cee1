// Issue 11: a page on ANOTHER LOCAL PORT, in a real Chromium that is signed in to Vigil, used to take over
// the session: the browser sends Vigil's cookie to every port of 127.0.0.1 (cookies ignore ports, and
// the two pages are same-site), so the page read /ws and /api/events, decided and created gates.
// Now every one of those is refused for its origin, although the cookie does arrive (the WebSockets are
// upgraded — a request without the cookie would be refused 401 before that — and then closed 1008).
// A second page, on a port Vigil was told to allow (--allow-origin, e.g. AgentEnsemble's viz), opens /ws
// and nothing else.
import { expect, test, type Page } from '@playwright/test'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startVigil, type VigilProcess } from './support/vigil-process'

const PASSWORD = 'e2e-CrossPort-Password-5'
let vigil: VigilProcess
let attacker: Server
let viz: Server
let attackerUrl: string
let vizUrl: string

function pageServer(title: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(`<!doctype html><title>${title}</title><p>${title}</p>`)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })))
}

test.beforeAll(async () => {
  ;({ server: attacker, url: attackerUrl } = await pageServer('Another local app'))
  ;({ server: viz, url: vizUrl } = await pageServer('AgentEnsemble viz'))
  vigil = await startVigil(['--allow-origin', vizUrl], 30_000, { VIGIL_PASSWORD: PASSWORD })
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  await new Promise((r) => attacker.close(r))
  await new Promise((r) => viz.close(r))
})

/** A call from Node (no Origin: a script), with the browser's session cookie. */
function nodeCall(method: string, path: string, cookie: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${vigil.url}${path}`, { method, headers: { cookie, 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function signIn(page: Page): Promise<string> {
  await page.goto(`${vigil.url}/login`)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page).toHaveURL(`${vigil.url}/`)
  const cookies = await page.context().cookies(vigil.url)
  expect(cookies).toHaveLength(1)
  return `${cookies[0]!.name}=${cookies[0]!.value}`
}

interface SocketSeen {
  opened: boolean
  closeCode: number | null
  messages: string[]
}

/** Opens a WebSocket from the page's own origin and reports what happened within a second. */
function socketFromPage(page: Page, url: string): Promise<SocketSeen> {
  return page.evaluate(
    (target) =>
      new Promise<SocketSeen>((resolve) => {
        const seen: SocketSeen = { opened: false, closeCode: null, messages: [] }
        const ws = new WebSocket(target)
        ws.onopen = () => (seen.opened = true)
        ws.onmessage = (e) => seen.messages.push(String(e.data).slice(0, 40))
        ws.onclose = (e) => {
          seen.closeCode = e.code
          resolve(seen)
        }
        setTimeout(() => resolve(seen), 1000)
      }),
    url
  )
}

/** Sends a request from the page the way a hostile page can (no preflight), and returns the status Vigil answered. */
async function fetchFromPage(page: Page, method: string, path: string, body?: string): Promise<number> {
  const url = `${vigil.url}${path}`
  const response = page.waitForResponse((r) => r.url() === url && r.request().method() === method)
  await page.evaluate(
    ({ url, method, body }) => {
      // Cross-origin and credentialed; text/plain needs no preflight. The page cannot read the reply (no CORS),
      // but the request is sent: what matters is whether Vigil acted on it.
      void fetch(url, { method, body, credentials: 'include', mode: 'no-cors', headers: body === undefined ? {} : { 'content-type': 'text/plain' } }).catch(() => undefined)
    },
    { url, method, body }
  )
  return (await response).status()
}

test('a page on another local port, with the signed-in browser’s cookie, is refused on /api/rpc, /api/events, /ws and the review API', async ({ page }) => {
  const cookie = await signIn(page)
  const created = await nodeCall('POST', '/api/reviews', cookie, JSON.stringify({ taskDescription: 'Deploy 2.4?', taskOutput: 'changelog', timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' }))
  expect(created.status).toBe(201)
  const gateId = (JSON.parse(created.body) as { reviewId: string }).reviewId

  // Control, from Vigil's own page in the same browser: every endpoint works with this cookie.
  const ownWs = await socketFromPage(page, `${vigil.url.replace('http', 'ws')}/ws`)
  expect(ownWs).toMatchObject({ opened: true, closeCode: null })
  expect(ownWs.messages[0]).toMatch(/^\{"type":"hub_hello"/)
  expect(await socketFromPage(page, `${vigil.url.replace('http', 'ws')}/api/events`)).toMatchObject({ opened: true, closeCode: null })

  await page.goto(attackerUrl)
  await expect(page).toHaveTitle('Another local app')
  // The cookie goes to that page's port too: the browser shares it across ports.
  expect((await page.context().cookies(attackerUrl)).map((c) => c.name)).toEqual([cookie.split('=')[0]])

  for (const path of ['/api/events', '/ws']) {
    const seen = await socketFromPage(page, `${vigil.url.replace('http', 'ws')}${path}`)
    // Upgraded (so the cookie was accepted), then closed "Origin not allowed" before any frame.
    expect(seen, path).toEqual({ opened: true, closeCode: 1008, messages: [] })
  }

  expect(await fetchFromPage(page, 'POST', '/api/rpc/startDemo', '{"args":[]}')).toBe(403)
  expect(await fetchFromPage(page, 'GET', '/api/reviews')).toBe(403)
  expect(await fetchFromPage(page, 'GET', `/api/reviews/${gateId}`)).toBe(403)
  expect(await fetchFromPage(page, 'POST', `/api/reviews/${gateId}`, '{"decision":"CONTINUE"}')).toBe(403)
  expect(await fetchFromPage(page, 'POST', '/api/reviews', '{"taskDescription":"Injected","taskOutput":"x","timeoutMs":600000,"onTimeout":"CONTINUE"}')).toBe(403)
  expect(await fetchFromPage(page, 'POST', '/api/hub/ingress', '{"type":"event","producer":{"producerId":"injected"},"sequence":1,"receivedAt":"2026-03-05T14:00:00Z","message":{"type":"pong"}}')).toBe(403)

  // Nothing happened: the gate is still pending and alone, the demo did not start, no producer appeared.
  const list = JSON.parse((await nodeCall('GET', '/api/reviews', cookie)).body) as { reviews: Array<{ reviewId: string }> }
  expect(list.reviews.map((r) => r.reviewId)).toEqual([gateId])
  const info = JSON.parse((await nodeCall('POST', '/api/rpc/getAppInfo', cookie, '{"args":[]}')).body) as { value: { demoRunning: boolean } }
  expect(info.value.demoRunning).toBe(false)
  const producers = await nodeCall('GET', '/api/hub/producers', cookie)
  expect(producers.status).toBe(200)
  expect(producers.body).not.toContain('injected')
})

test('a page on a port allowed with --allow-origin opens /ws, and nothing else', async ({ page }) => {
  await signIn(page)
  await page.goto(vizUrl)
  await expect(page).toHaveTitle('AgentEnsemble viz')
  const ws = await socketFromPage(page, `${vigil.url.replace('http', 'ws')}/ws`)
  expect(ws).toMatchObject({ opened: true, closeCode: null })
  expect(ws.messages[0]).toMatch(/^\{"type":"hub_hello"/)
  expect(await socketFromPage(page, `${vigil.url.replace('http', 'ws')}/api/events`)).toEqual({ opened: true, closeCode: 1008, messages: [] })
  expect(await fetchFromPage(page, 'POST', '/api/rpc/listSources', '{"args":[]}')).toBe(403)
  expect(await fetchFromPage(page, 'GET', '/api/reviews')).toBe(403)
})
