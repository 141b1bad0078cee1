// Settings → "Forward runs to an OpenTelemetry collector" in real Chromium: the desktop window's form (its
// IPC bridge stood in for by a test-only server with the real VigilService and AppSettings, as in
// settings-desktop-form.spec.ts) checks the URL as you type, saves it, and then shows the exporter's state
// and counts as a run is forwarded to a collector stub (a plain node http server): connected with the
// spans sent, then failing with what to do when the collector refuses.
import { expect, test } from '@playwright/test'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { VigilService } from '../../src/main/core/vigil-service'
import { startVigilServer, type RunningServer } from '../../src/main/server/vigil-server'
import { AppSettings, type ServerControl, type ServerState } from '../../src/main/settings/app-settings'
import { chooseSecretStore } from '../../src/main/settings/secret-store'
import { envelope, realisticRun, SVC_A } from '../unit/hub/frames'
import { shootBothSchemes } from './support/screenshots'

const root = resolve(__dirname, '../..')
let dir: string
let service: VigilService
let windowServer: RunningServer
let collector: Server
let collectorUrl: string
let refuse = false
let received = 0

const off: ServerState = { running: false, url: null, problem: 'not needed here' }
const embedded: ServerControl = { apply: async () => off, stop: async () => off, state: () => off }

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-otel-export-'))
  collector = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (refuse) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('missing API key')
      received++
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r))
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`
  const settings = new AppSettings({ dataDir: dir, env: {}, secrets: chooseSecretStore(dir, null), loginItem: { supported: false, get: () => false, set: () => undefined }, server: embedded })
  service = new VigilService({ mode: 'desktop', version: '0.0.0-e2e', tmpRoot: join(dir, 'tmp'), pollMs: 60_000, settings })
  service.applyOtlpSettings()
  windowServer = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: join(root, 'out/renderer'), version: '0.0.0-e2e', extensions: service.serverExtensions() })
})

test.afterAll(async () => {
  await windowServer?.close()
  await service?.close()
  collector?.closeAllConnections()
  await new Promise<void>((r) => collector?.close(() => r()))
  rmSync(dir, { recursive: true, force: true })
})

function pushRun(ensembleId: string): void {
  let seq = 0
  for (const m of realisticRun(ensembleId)) service.hub.ingestEnvelope(envelope(SVC_A, ++seq, '2026-03-05T14:00:00Z', m))
}

test('the collector setting is checked, saved, and shows what was forwarded and what went wrong', async ({ page }) => {
  await page.goto(`${windowServer.url}/#/settings`)
  const card = page.getByTestId('otlp-export')
  await expect(card.getByRole('heading', { name: 'Forward runs to an OpenTelemetry collector' })).toBeVisible()
  await expect(card.getByTestId('otlp-state')).toContainText('Off: runs stay in Vigil.')

  const url = card.getByRole('textbox', { name: 'Collector URL' })
  const save = card.getByRole('button', { name: 'Save' })
  await url.fill('localhost:4318')
  await expect(card.getByText(/Use an http:\/\/ or https:\/\/ URL/)).toBeVisible()
  await expect(save).toBeDisabled()
  await url.fill(collectorUrl)
  await save.click()
  await expect(card.getByRole('status')).toContainText(`Runs are forwarded to ${collectorUrl}/v1/traces from now on`)
  await expect(card.getByTestId('otlp-state')).toContainText('On: nothing sent yet')

  // A run ends: the card follows the counts by itself.
  pushRun('e-e2e-1')
  await expect(card.getByTestId('otlp-state')).toContainText('Connected', { timeout: 15_000 })
  await expect(card.locator('[data-count="sent"]')).toHaveText('16')
  await expect(card.getByTestId('otlp-counts')).toContainText('16 spans from 1 run,')
  await expect(card.locator('[data-count="dropped"]')).toHaveText('0')
  expect(received).toBe(1)
  await shootBothSchemes(page, 'settings-otlp-export')

  // The collector refuses (401): failing, with what to check; the batch is not retried.
  refuse = true
  pushRun('e-e2e-2')
  await expect(card.getByTestId('otlp-state')).toContainText('Failing', { timeout: 15_000 })
  await expect(card.getByTestId('otlp-error')).toContainText('401')
  await expect(card.getByTestId('otlp-error')).toContainText('Check the credentials')
  await expect(card.getByTestId('otlp-counts')).toContainText('16 refused by the collector')

  // Turned off: the state says so and nothing more is sent.
  refuse = false
  await card.getByRole('button', { name: 'Turn off' }).click()
  await expect(card.getByTestId('otlp-state')).toContainText('Off: runs stay in Vigil.')
  await expect(url).toHaveValue('')
})
