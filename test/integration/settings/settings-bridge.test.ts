// The Settings page end to end in plain Node, with real parts: the real VigilService, AppSettings with the
// real EmbeddedServer (a real HTTP server on 127.0.0.1), the real IPC handlers behind the preload's bridge
// (the desktop window), and the real web bridge over HTTP (a browser on the desktop's server, and `vigil serve`).
// Only Electron's safeStorage is a stand-in (a reversible fake cipher): the Electron binary is not here.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { VigilBridge } from '../../../src/shared/api/contract'
import { ApiError } from '../../../src/shared/api/errors'
import { startServe, type RunningVigil } from '../../../src/main/cli/serve'
import { parseArgs } from '../../../src/main/cli/args'
import { VigilService } from '../../../src/main/core/vigil-service'
import { registerIpcApi } from '../../../src/main/ipc/ipc-api'
import { APP_ORIGIN, createSenderCheck } from '../../../src/main/ipc/trusted-sender'
import { AppSettings, withoutSettingsWrites, type LoginItem } from '../../../src/main/settings/app-settings'
import { EmbeddedServer } from '../../../src/main/settings/embedded-server'
import { chooseSecretStore, type SecretCipher } from '../../../src/main/settings/secret-store'
import { createIpcBridge } from '../../../src/preload/ipc-bridge'
import { createWebBridge, type SocketFactory, type WebBridge } from '../../../src/renderer/bridge/web-bridge'
import { createFakeIpc } from '../../support/fake-ipc'

const fakeSafeStorage: SecretCipher = {
  encrypt: (plain) => Buffer.concat([Buffer.from('v10'), Buffer.from(plain).map((b) => b ^ 0x33)]),
  decrypt: (data) => Buffer.from(data.subarray(3).map((b) => b ^ 0x33)).toString()
}

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

async function expectApiError(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(ApiError)
  expect((err as ApiError).code).toBe(code)
  if (message) expect((err as ApiError).message).toMatch(message)
}

/**
 * fetch over a new connection each time: the server restarts under the tests, and a pooled keep-alive
 * connection it closed would fail the next call (a browser retries those; Node's fetch does not).
 */
const freshFetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = new URL(String(input))
  const headers = Object.fromEntries(new Headers(init?.headers).entries())
  return new Promise<Response>((resolve, reject) => {
    const req = request(url, { method: init?.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const h = new Headers()
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v)
        resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: h }))
      })
    })
    req.on('error', reject)
    req.end(typeof init?.body === 'string' ? init.body : undefined)
  })
}) as typeof fetch

/** A browser on `url`: the web bridge with that page's Origin, and its cookie if signed in. */
function browser(url: string, cookie: () => string | null = () => null): WebBridge {
  const openSocket: SocketFactory = (u) => new WebSocket(u, { origin: url, headers: cookie() ? { cookie: cookie()! } : {} }) as never
  const withCookie: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers)
    const c = cookie()
    if (c) headers.set('cookie', c)
    return freshFetch(input, { ...init, headers })
  }
  return createWebBridge({ baseUrl: url, fetch: withCookie, openSocket, reconnectMs: [60_000] })
}

async function login(url: string, password: string): Promise<{ status: number; cookie: string | null }> {
  const res = await freshFetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) })
  const set = res.headers.get('set-cookie')
  return { status: res.status, cookie: set ? set.split(';')[0]! : null }
}

describe('desktop settings through the window (IPC) and a browser (web bridge)', () => {
  let dir: string
  let service: VigilService
  let embedded: EmbeddedServer
  let settings: AppSettings
  let window: VigilBridge
  let browsers: WebBridge[]
  let port: number

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-settings-it-'))
    port = await freePort()
    embedded = new EmbeddedServer({ staticDir: null, version: '1.0.0' })
    const loginItem: LoginItem = { supported: false, get: () => false, set: () => undefined }
    settings = new AppSettings({
      dataDir: dir,
      env: { VIGIL_PORT: String(port) },
      secrets: chooseSecretStore(dir, fakeSafeStorage),
      loginItem,
      server: embedded,
      scrypt: { N: 16384, r: 8, p: 1 }
    })
    service = new VigilService({ mode: 'desktop', version: '1.0.0', tmpRoot: join(dir, 'tmp'), pollMs: 60_000, settings })
    embedded.serve({ api: withoutSettingsWrites(service), events: service.events, extensions: service.serverExtensions() })
    await settings.startServer()
    const ipc = createFakeIpc()
    registerIpcApi({ ipcMain: ipc.ipcMain, api: service, isTrustedSender: createSenderCheck([APP_ORIGIN]), log: () => undefined })
    window = createIpcBridge(ipc.ipcRenderer)
    browsers = []
  })

  afterEach(async () => {
    for (const b of browsers) b.dispose()
    await embedded.close()
    await service.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const open = (url: string, cookie?: () => string | null) => {
    const b = browser(url, cookie)
    browsers.push(b)
    return b
  }

  it('a browser on the desktop’s server reads the settings (no secret) but can change nothing', async () => {
    const url = `http://127.0.0.1:${port}`
    const web = open(url)
    const view = await web.getSettings()
    expect(view).toMatchObject({ mode: 'desktop', editable: false, readOnlyReason: expect.stringMatching(/desktop window/), secretStorage: null })
    expect(view.server).toMatchObject({ running: true, url, port })
    await expectApiError(web.setPassword('a browser wants this'), 'forbidden')
    await expectApiError(web.clearPassword(), 'forbidden')
    await expectApiError(web.updateSettings({ host: '0.0.0.0' }), 'forbidden')
    await expectApiError(web.createIngressToken(), 'forbidden')
    await expectApiError(web.removeIngressToken(), 'forbidden')
    // Nothing changed: still no password, same server.
    expect((await window.getSettings()).server.password.set).toBe(false)
    expect(await window.getPlaces()).toMatchObject({ url: `${url}/`, hubIngress: `ws://127.0.0.1:${port}/ingress`, dataDir: dir, demo: null })
  })

  it('a password set in the window restarts the server with a login; the right password signs in, a wrong one does not', async () => {
    const url = `http://127.0.0.1:${port}`
    const view = await window.setPassword('window password 1')
    expect(view.server).toMatchObject({ running: true, url, password: { set: true, source: 'settings' } })
    expect(readFileSync(join(dir, 'server.json'), 'utf8')).not.toContain('window password 1')

    await expectApiError(open(url).getSettings(), 'unauthorized')
    expect((await login(url, 'window password 2')).status).toBe(401)
    const ok = await login(url, 'window password 1')
    expect(ok.status).toBe(200)
    const signedIn = open(url, () => ok.cookie)
    expect((await signedIn.getSettings()).server.password.set).toBe(true)
    // Signed in is still not the window: no settings change from a browser.
    await expectApiError(signedIn.clearPassword(), 'forbidden')

    // Off again from the window: no login needed (loopback), the old cookie is simply not needed.
    await window.clearPassword()
    expect((await open(url).getSettings()).server.password.set).toBe(false)
  })

  it('the ingress token: created once in the window, kept encrypted, shown masked after, rotated', async () => {
    await expectApiError(window.setPassword('short'), 'bad-request')
    const created = await window.createIngressToken()
    expect(created.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(created.settings.server.ingressToken).toMatchObject({ set: true, source: 'settings', hint: `…${created.token.slice(-4)}` })
    const files = readdirSync(join(dir, 'secrets'))
    expect(files).toEqual(['ingress-token.enc'])
    const raw = readFileSync(join(dir, 'secrets', files[0]!))
    expect(raw.toString('latin1')).not.toContain(created.token)
    if (process.platform !== 'win32') expect(statSync(join(dir, 'secrets', files[0]!)).mode & 0o777).toBe(0o600)
    // Later reads never carry it, through either bridge.
    const web = open(`http://127.0.0.1:${port}`)
    expect(JSON.stringify(await window.getSettings())).not.toContain(created.token)
    expect(JSON.stringify(await web.getSettings())).not.toContain(created.token)

    // The token opens the agent routes (a bearer passes the cross-origin rule, which nothing else does).
    const pushWith = (token: string) =>
      freshFetch(`http://127.0.0.1:${port}/api/reviews`, { method: 'GET', headers: { origin: 'https://elsewhere.example', authorization: `Bearer ${token}` } })
    expect((await pushWith(created.token)).status).not.toBe(403)
    const rotated = await window.createIngressToken()
    expect(rotated.token).not.toBe(created.token)
    expect((await pushWith(created.token)).status).toBe(403)
    expect((await pushWith(rotated.token)).status).not.toBe(403)
  })

  it('a restart ends the hub sockets let in under the old rules, never hangs on them, and the hub takes new ones', async () => {
    const ws = `ws://127.0.0.1:${port}`
    const producer = new WebSocket(`${ws}/ingress`)
    const viewer = new WebSocket(`${ws}/ws`, { origin: `http://127.0.0.1:${port}` })
    await Promise.all([producer, viewer].map((s) => new Promise((r, j) => (s.once('open', r), s.once('error', j)))))
    const closed = Promise.all([producer, viewer].map((s) => new Promise((r) => s.once('close', r))))
    const started = Date.now()
    await window.setPassword('restart with sockets')
    expect(Date.now() - started).toBeLessThan(3000)
    await closed
    // The same hub, on the new server: a publisher on this machine needs nothing and is let in.
    const again = new WebSocket(`${ws}/ingress`)
    await new Promise((r, j) => (again.once('open', r), again.once('error', j)))
    again.close()
  })

  it('a new port moves the server: the old one stops answering, the new one answers, the places follow', async () => {
    // VIGIL_PORT decides the port in this harness; a second settings object without it moves the server.
    const next = await freePort()
    const movable = new AppSettings({
      dataDir: dir,
      env: {},
      secrets: chooseSecretStore(dir, fakeSafeStorage),
      loginItem: { supported: false, get: () => false, set: () => undefined },
      server: embedded
    })
    const view = await movable.update({ port: next })
    expect(view.server).toMatchObject({ running: true, url: `http://127.0.0.1:${next}`, port: next })
    const status = await freshFetch(`http://127.0.0.1:${next}/api/status`)
    expect(status.status).toBe(200)
    await expect(freshFetch(`http://127.0.0.1:${port}/api/status`)).rejects.toThrow()
    // The hub survived the restart (its extensions are kept): its HTTP route still answers on the new port.
    const hub = await freshFetch(`http://127.0.0.1:${next}/api/hub/ingress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(hub.status).not.toBe(404)
    expect(movable.places()).toEqual({ url: `http://127.0.0.1:${next}`, dataDir: dir })
  })
})

describe('vigil serve settings through the real web bridge', () => {
  let running: RunningVigil
  let dataDir: string

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-serve-settings-'))
    const opts = parseArgs(['serve', '--port', '0', '--no-default-store', '--data-dir', dataDir])
    if (opts.command !== 'serve') throw new Error('not serve')
    running = await startServe(opts, { version: '1.0.0', staticDir: null, env: {} })
  })
  afterEach(async () => {
    await running.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('shows the command line’s facts read-only and refuses every change from a page without a login', async () => {
    const url = running.server.url
    const web = browser(url)
    try {
      const view = await web.getSettings()
      expect(view).toMatchObject({
        mode: 'web',
        editable: false,
        readOnlyReason: expect.stringMatching(/command-line flags/),
        server: { running: true, url, host: '127.0.0.1', port: running.server.port, password: { set: false }, ingressToken: { set: false } },
        dataDir,
        startAtLogin: null,
        notifications: null
      })
      for (const attempt of [web.setPassword('set-from-a-page'), web.clearPassword(), web.updateSettings({ port: 1234 }), web.createIngressToken(), web.removeIngressToken()]) {
        await expectApiError(attempt, 'forbidden', /command-line flags/)
      }
      expect(await web.getPlaces()).toEqual({
        url: `${url}/`,
        hubIngress: `${url.replace('http', 'ws')}/ingress`,
        hubDashboard: `${url.replace('http', 'ws')}/ws`,
        reviewApi: `${url}/api/reviews`,
        dataDir,
        demo: null
      })
    } finally {
      web.dispose()
    }
  })
})
