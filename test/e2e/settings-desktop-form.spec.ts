// The desktop window's Settings form, driven in real Chromium. No Electron binary can run here, so the
// window's IPC bridge is stood in for by a second, test-only HTTP server that serves the built renderer and
// the real VigilService WITHOUT withoutSettingsWrites (as IPC does); everything behind it is real: the
// desktop's AppSettings (server.json, scrypt hash, 0600 secret file) and its EmbeddedServer, which really
// restarts on 127.0.0.1. Browsers on the embedded server itself stay read-only (settings-bridge.test.ts).
import { expect, test } from '@playwright/test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { VigilService } from '../../src/main/core/vigil-service'
import { startVigilServer, type RunningServer } from '../../src/main/server/vigil-server'
import { AppSettings, withoutSettingsWrites } from '../../src/main/settings/app-settings'
import { EmbeddedServer } from '../../src/main/settings/embedded-server'
import { chooseSecretStore } from '../../src/main/settings/secret-store'
import { shootBothSchemes } from './support/screenshots'

const root = resolve(__dirname, '../..')
let dir: string
let service: VigilService
let embedded: EmbeddedServer
let windowServer: RunningServer
let firstPort: number

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-desktop-settings-'))
  firstPort = await freePort()
  embedded = new EmbeddedServer({ staticDir: join(root, 'out/renderer'), version: '0.0.0-e2e' })
  const settings = new AppSettings({
    dataDir: dir,
    env: {},
    secrets: chooseSecretStore(dir, null),
    loginItem: { supported: false, get: () => false, set: () => undefined },
    server: embedded
  })
  // The port the form starts from.
  settings.file.write({ ...settings.file.read(), port: firstPort })
  service = new VigilService({ mode: 'desktop', version: '0.0.0-e2e', tmpRoot: join(dir, 'tmp'), pollMs: 60_000, settings })
  embedded.serve({ api: withoutSettingsWrites(service), events: service.events, extensions: service.serverExtensions() })
  await settings.startServer()
  windowServer = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: join(root, 'out/renderer'), version: '0.0.0-e2e' })
})

test.afterAll(async () => {
  await windowServer?.close()
  await embedded?.close()
  await service?.close()
  rmSync(dir, { recursive: true, force: true })
})

test('the desktop form sets a password, makes and rotates a token, and moves the server', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: windowServer.url })
  await page.goto(`${windowServer.url}/#/settings`)
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible()
  await expect(page.getByTestId('settings-read-only')).toHaveCount(0)
  await expect(page.getByTestId('server-status')).toContainText(`Running at http://127.0.0.1:${firstPort}`)
  await expect(page.getByRole('textbox', { name: 'Host', exact: true })).toHaveValue('127.0.0.1')
  await expect(page.getByRole('textbox', { name: 'Port', exact: true })).toHaveValue(String(firstPort))
  await expect(page.getByTestId('secret-storage')).toContainText('0600')

  // Password: too short, then different, then right.
  const set = page.getByRole('button', { name: 'Set password' })
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill('short')
  await page.getByRole('textbox', { name: 'Confirm', exact: true }).fill('short')
  await expect(page.getByText('At least 10 characters (5 so far).')).toBeVisible()
  await expect(set).toBeDisabled()
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill('desktop password 1')
  await page.getByRole('textbox', { name: 'Confirm', exact: true }).fill('desktop password 2')
  await expect(page.getByText('The two passwords differ.')).toBeVisible()
  await expect(set).toBeDisabled()
  await page.getByRole('textbox', { name: 'Confirm', exact: true }).fill('desktop password 1')
  await set.click()
  await expect(page.getByRole('status').filter({ hasText: 'Password saved' })).toContainText(`restarted: it answers at http://127.0.0.1:${firstPort}`)
  await expect(page.getByTestId('password-status')).toContainText('Set here')
  await expect(page.getByRole('textbox', { name: 'New password', exact: true })).toHaveValue('')
  expect(readFileSync(join(dir, 'server.json'), 'utf8')).not.toContain('desktop password 1')
  // The embedded server now wants a login; the right password gets one.
  expect((await fetch(`http://127.0.0.1:${firstPort}/api/rpc/getSettings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"args":[]}' })).status).toBe(401)
  const signIn = (password: string) =>
    fetch(`http://127.0.0.1:${firstPort}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) })
  expect((await signIn('desktop password 2')).status).toBe(401)
  expect((await signIn('desktop password 1')).status).toBe(200)

  // Token: shown once with Copy, then masked; rotating gives another.
  await page.getByRole('button', { name: 'Create token' }).click()
  const once = page.getByTestId('new-token')
  await expect(once).toContainText('the only time Vigil shows it')
  const token = await once.getByRole('textbox', { name: 'New ingress token' }).inputValue()
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
  await once.getByRole('button', { name: 'Copy the ingress token' }).click()
  await expect(once.getByRole('button', { name: 'Copy the ingress token' })).toHaveText('Copied')
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token)
  await shootBothSchemes(page, 'settings-desktop-token')
  await once.getByRole('button', { name: 'Done' }).click()
  await expect(page.getByTestId('new-token')).toHaveCount(0)
  await expect(page.getByRole('textbox', { name: 'Ingress token (hidden)' })).toHaveValue(new RegExp(`^•+${token.slice(-4)}$`))
  expect(await page.content()).not.toContain(token)
  await page.getByRole('button', { name: 'Rotate token' }).click()
  const rotated = await page.getByTestId('new-token').getByRole('textbox').inputValue()
  expect(rotated).not.toBe(token)
  await page.getByTestId('new-token').getByRole('button', { name: 'Done' }).click()

  // A bad host is refused with the reason; a new port restarts the server there.
  await page.getByRole('textbox', { name: 'Host', exact: true }).fill('not a host')
  await page.getByRole('button', { name: 'Save and restart server' }).click()
  await expect(page.getByRole('alert')).toContainText('is not a host Vigil can listen on')
  await page.getByRole('textbox', { name: 'Host', exact: true }).fill('127.0.0.1')
  const next = await freePort()
  await page.getByRole('textbox', { name: 'Port', exact: true }).fill(String(next))
  await page.getByRole('button', { name: 'Save and restart server' }).click()
  await expect(page.getByRole('status').filter({ hasText: 'restarted' }).first()).toContainText(`http://127.0.0.1:${next}`)
  await expect(page.getByTestId('places').locator('[data-place="Interface"] .value')).toHaveText(`http://127.0.0.1:${next}/`)
  expect((await fetch(`http://127.0.0.1:${next}/api/status`)).status).toBe(200)
  await expect(fetch(`http://127.0.0.1:${firstPort}/api/status`)).rejects.toThrow()
  await page.getByRole('button', { name: 'Save and restart server' }).scrollIntoViewIfNeeded()
  await shootBothSchemes(page, 'settings-desktop-form')
})
