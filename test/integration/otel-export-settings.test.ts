// The desktop setting "Forward runs to an OpenTelemetry collector": AppSettings (real files; the embedded
// server is a fake) behind a real VigilService — validated, kept in preferences.json, applied at once
// (a run then reaches the collector stub), shown with the exporter's state; refused from a browser;
// read-only in vigil serve.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { VigilService } from '../../src/main/core/vigil-service'
import { AppSettings, ServeSettings, withoutSettingsWrites, type ServerControl, type ServerState } from '../../src/main/settings/app-settings'
import { chooseSecretStore } from '../../src/main/settings/secret-store'
import { DuckDBInstance } from '@duckdb/node-api'
import { buildStore } from '../fixtures/perspt-fixtures'
import { envelope, realisticRun, SVC_A } from '../unit/hub/frames'
import { CollectorStub } from './otel-export-collector'

const off: ServerState = { running: false, url: null, problem: 'not started' }
const server: ServerControl = { apply: async () => off, stop: async () => off, state: () => off }

const collector = new CollectorStub()
let collectorUrl: string
let dir: string
let service: VigilService | null = null

beforeAll(async () => {
  collectorUrl = (await collector.start()).url
})
afterAll(() => collector.stop())
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-otel-settings-'))
})
afterEach(async () => {
  await service?.close()
  service = null
  rmSync(dir, { recursive: true, force: true })
})

function desktop(): { settings: AppSettings; vigil: VigilService } {
  const settings = new AppSettings({ dataDir: dir, env: {}, secrets: chooseSecretStore(dir, null), loginItem: { supported: false, get: () => false, set: () => undefined }, server })
  // No polling: a store is read when added and when its files change, so no push comes unasked.
  const vigil = new VigilService({ mode: 'desktop', version: '0.0.0-test', tmpRoot: join(dir, 'tmp'), settings, pollMs: 60_000 })
  vigil.applyOtlpSettings()
  service = vigil
  return { settings, vigil }
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  return p.then(
    () => {
      throw new Error('expected a refusal')
    },
    (err: { code: string; message: string }) => err
  )
}

describe('desktop setting: forward runs to an OpenTelemetry collector', () => {
  it('is off by default; a URL is checked, saved, applied at once, and a run then reaches the collector', async () => {
    const { vigil } = desktop()
    expect((await vigil.getSettings()).otlpExport).toMatchObject({ endpoint: null, lockedBy: null, status: { state: 'off', url: null } })

    const bad = await refusal(vigil.updateSettings({ otlpEndpoint: 'localhost:4318' }))
    expect(bad.code).toBe('bad-request')
    expect(bad.message).toMatch(/http:\/\/ or https:\/\//)
    expect((await vigil.getSettings()).otlpExport?.endpoint).toBeNull()

    const view = await vigil.updateSettings({ otlpEndpoint: ` ${collectorUrl} `, otlpProtocol: 'http/protobuf' })
    expect(view.otlpExport).toMatchObject({ endpoint: collectorUrl, protocol: 'http/protobuf', status: { state: 'idle', url: `${collectorUrl}/v1/traces` } })
    expect(JSON.parse(readFileSync(join(dir, 'preferences.json'), 'utf8'))).toMatchObject({ otlpEndpoint: collectorUrl, otlpProtocol: 'http/protobuf' })

    const before = collector.spans().length
    let seq = 0
    for (const m of realisticRun('e-settings')) expect(vigil.hub.ingestEnvelope(envelope(SVC_A, ++seq, '2026-03-05T14:00:00Z', m))).toBe(true)
    const end = Date.now() + 10_000
    while ((await vigil.getSettings()).otlpExport?.status.sent !== 16) {
      if (Date.now() > end) throw new Error('the run never reached the collector')
      await new Promise((r) => setTimeout(r, 50))
    }
    const spans = collector.spans().slice(before)
    expect(spans.filter((s) => s.parentSpanId === '').map((s) => s.attributes.find((a) => a.key === 'agentensemble.ensemble.id')?.value.stringValue)).toEqual(['e-settings'])
    expect((await vigil.getSettings()).otlpExport?.status).toMatchObject({ state: 'connected', runsExported: 1, dropped: 0 })

    // Turned off: state off, and what is saved says so.
    const offView = await vigil.updateSettings({ otlpEndpoint: '' })
    expect(offView.otlpExport).toMatchObject({ endpoint: null, status: { state: 'off' } })
    expect(JSON.parse(readFileSync(join(dir, 'preferences.json'), 'utf8')).otlpEndpoint).toBe('')
  })

  it('turned on while a store is watched: what had ended is not sent, a session that ends afterwards is', async () => {
    const path = join(dir, 'perspt.db')
    await buildStore(path, {
      generation: 23,
      sessions: [
        { id: 'ended-before', status: 'COMPLETED', createdAt: '2026-05-01 09:00:00', committed: ['task_1'], started: ['task_1'] },
        { id: 'ends-after', status: 'RUNNING', createdAt: '2026-05-01 10:00:00', committed: ['task_1'], started: ['task_1'], llm: [{ nodeId: 'task_1', tokensIn: 10, tokensOut: 5 }] }
      ]
    })
    const { vigil } = desktop()
    const source = vigil.registry.addStore(path, 'ui')
    const end = Date.now() + 10_000
    while ((await vigil.listSessions(source.id).catch(() => [])).length < 2) {
      if (Date.now() > end) throw new Error('the store was never read')
      await new Promise((r) => setTimeout(r, 50))
    }
    // Read and counted: the store says nothing more until it changes.
    await vigil.registry.store(source.id).listCountedSessions()
    await new Promise((r) => setTimeout(r, 500))
    // Forwarding on, with no change to the store in between.
    await vigil.updateSettings({ otlpEndpoint: collectorUrl })
    await new Promise((r) => setTimeout(r, 300))
    const before = collector.spans().length
    const db = await DuckDBInstance.create(path)
    const con = await db.connect()
    await con.run("UPDATE sessions SET status = 'COMPLETED', updated_at = TIMESTAMP '2026-05-01 10:30:00' WHERE session_id = 'ends-after'")
    con.closeSync()
    db.closeSync()
    const session = (id: string) => collector.spans().slice(before).filter((s) => s.attributes.some((a) => a.key === 'perspt.session.id' && a.value.stringValue === id))
    const sentBy = Date.now() + 8000
    while (session('ends-after').length === 0) {
      if (Date.now() > sentBy) throw new Error('the session that ended was never sent')
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(session('ended-before')).toEqual([])
  })

  it('is remembered: a new start forwards to the saved endpoint', async () => {
    const first = desktop()
    await first.vigil.updateSettings({ otlpEndpoint: collectorUrl, otlpProtocol: 'http/json' })
    await first.vigil.close()
    service = null
    const { vigil } = desktop()
    expect((await vigil.getSettings()).otlpExport).toMatchObject({ endpoint: collectorUrl, protocol: 'http/json', status: { state: 'idle' } })
  })

  it('cannot be changed from a browser on the desktop’s server', async () => {
    const { vigil } = desktop()
    const browser = withoutSettingsWrites(vigil)
    expect((await refusal(browser.updateSettings({ otlpEndpoint: collectorUrl }))).code).toBe('forbidden')
    expect((await browser.getSettings()).otlpExport?.endpoint).toBeNull()
  })

  it('in vigil serve it is the --otlp-endpoint flag, read-only, headers by name only', async () => {
    const settings = new ServeSettings({ mode: 'web', host: '127.0.0.1', port: 0, passwordSource: null, ingressTokenSource: null, dataDir: dir, otlpExport: { endpoint: collectorUrl, protocol: 'http/protobuf', headers: { authorization: 'Bearer hidden-value' } } })
    const vigil = new VigilService({ mode: 'web', version: '0.0.0-test', tmpRoot: join(dir, 'tmp'), settings })
    service = vigil
    vigil.applyOtlpSettings()
    const view = await vigil.getSettings()
    expect(view.otlpExport).toMatchObject({ endpoint: collectorUrl, headerNames: ['authorization'], lockedBy: expect.stringContaining('--otlp-endpoint') })
    expect(JSON.stringify(view)).not.toContain('hidden-value')
    expect((await refusal(vigil.updateSettings({ otlpEndpoint: '' }))).code).toBe('forbidden')
  })
})
