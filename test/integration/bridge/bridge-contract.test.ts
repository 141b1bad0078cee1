// One scenario suite, two transports: the desktop IPC bridge (preload code over a fake ipcMain) and the
// web bridge (HTTP + WebSocket to a real server). Both talk to the real VigilService.
import { DuckDBInstance } from '@duckdb/node-api'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { METHOD_NAMES, type EventName, type VigilBridge, type VigilEvents } from '../../../src/shared/api/contract'
import { ApiError } from '../../../src/shared/api/errors'
import type { StoreSourceInfo } from '../../../src/shared/model/sources'
import { VigilService } from '../../../src/main/core/vigil-service'
import { EnsembleSimulator } from '../../../src/main/demo/ensemble-simulator'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import { forwardEventsOverIpc, registerIpcApi } from '../../../src/main/ipc/ipc-api'
import { APP_ORIGIN, createSenderCheck } from '../../../src/main/ipc/trusted-sender'
import { startVigilServer, type RunningServer } from '../../../src/main/server/vigil-server'
import { createIpcBridge } from '../../../src/preload/ipc-bridge'
import { createWebBridge, type SocketFactory } from '../../../src/renderer/bridge/web-bridge'
import { createFakeIpc, type FakeIpc } from '../../support/fake-ipc'
import { escalationPhrase } from '../../../src/shared/model/escalation-words'

let dir: string
let storePath: string
let storeSessionCount: number

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-bridge-'))
  storePath = join(dir, 'perspt.db')
  const sim = new PersptSimulator({ path: storePath, seed: 3 })
  await sim.start()
  await sim.stop()
  // The truth, read directly (the file is closed now, so a plain read-only open is fine here).
  const db = await DuckDBInstance.create(storePath, { access_mode: 'READ_ONLY' })
  const con = await db.connect()
  const rows = (await con.runAndReadAll('SELECT count(*)::INTEGER AS n FROM sessions')).getRowObjectsJson()
  storeSessionCount = Number(rows[0]!.n)
  con.closeSync()
  db.closeSync()
}, 60_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Harness {
  bridge: VigilBridge
  service: VigilService
  close(): Promise<void>
}

function newService(): VigilService {
  return new VigilService({ mode: 'web', version: '9.9.9', tmpRoot: mkdtempSync(join(dir, 'svc-')), pollMs: 100 })
}

async function ipcHarness(): Promise<Harness & { ipc: FakeIpc }> {
  const service = newService()
  const ipc = createFakeIpc()
  const unregister = registerIpcApi({ ipcMain: ipc.ipcMain, api: service, isTrustedSender: createSenderCheck([APP_ORIGIN]), log: () => undefined })
  const unforward = forwardEventsOverIpc(service.events, (channel, payload) => ipc.send(channel, payload))
  return {
    ipc,
    service,
    bridge: createIpcBridge(ipc.ipcRenderer),
    async close() {
      unforward()
      unregister()
      await service.close()
    }
  }
}

async function webHarness(): Promise<Harness & { server: RunningServer }> {
  const service = newService()
  const server = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: '9.9.9' })
  // Node has no browser WebSocket; `ws` with the Origin a page on this server would send.
  const openSocket: SocketFactory = (url) => new WebSocket(url, { origin: server.url }) as never
  const bridge = createWebBridge({ baseUrl: server.url, openSocket, reconnectMs: [50] })
  return {
    server,
    service,
    bridge,
    async close() {
      bridge.dispose()
      await server.close()
      await service.close()
    }
  }
}

function nextEvent<E extends EventName>(bridge: VigilBridge, event: E, predicate: (p: VigilEvents[E]) => boolean, timeoutMs = 10_000) {
  return new Promise<VigilEvents[E]>((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no ${event} event within ${timeoutMs} ms`))
    }, timeoutMs)
    const off = bridge.on(event, (payload) => {
      if (!predicate(payload)) return
      clearTimeout(timer)
      off()
      resolve(payload)
    })
  })
}

async function expectApiError(promise: Promise<unknown>, code: string, message?: RegExp) {
  const err = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(ApiError)
  expect((err as ApiError).code).toBe(code)
  if (message) expect((err as ApiError).message).toMatch(message)
}

describe.each([
  ['IPC (preload)', ipcHarness],
  ['web (HTTP + WebSocket)', webHarness]
])('the API contract over %s', (_name, makeHarness) => {
  let h: Harness
  beforeEach(async () => {
    h = await makeHarness()
  })
  afterEach(async () => {
    await h.close()
  })

  it('exposes exactly the contract’s methods plus on()', () => {
    for (const m of METHOD_NAMES) expect(typeof h.bridge[m]).toBe('function')
    expect(typeof h.bridge.on).toBe('function')
  })

  it('answers app info and starts empty', async () => {
    expect(await h.bridge.getAppInfo()).toMatchObject({ name: 'Vigil', version: '9.9.9', demoRunning: false })
    expect(await h.bridge.listSources()).toEqual([])
    expect(await h.bridge.listRuns()).toEqual([])
  })

  it('adds a store, pushes the change, and serves every session of it', async () => {
    const ready = nextEvent(h.bridge, 'sources-changed', (sources) =>
      sources.some((s) => s.kind === 'store' && s.state === 'ready')
    )
    const added = await h.bridge.addStore(storePath)
    expect(added).toMatchObject({ kind: 'store', path: storePath, origin: 'ui' })
    const sources = await ready
    const store = sources.find((s) => s.id === added.id) as StoreSourceInfo
    expect(store.tableCount).toBe(23)
    const sessions = await h.bridge.listSessions(added.id)
    expect(sessions).toHaveLength(storeSessionCount)
    expect(sessions.filter((s) => s.rawStatus === 'RUNNING')).toHaveLength(1)
    // Adding the same file again gives the same source, not a second one.
    expect((await h.bridge.addStore(storePath)).id).toBe(added.id)
    expect(await h.bridge.listSources()).toHaveLength(1)
  })

  it('serves the Now page’s overview: the store’s running session, its sources, bounded lists', async () => {
    const empty = await h.bridge.getOverview()
    expect(empty).toMatchObject({ running: [], recent: [], sources: [], more: { running: 0, recent: 0 } })
    expect(empty.days).toHaveLength(7)
    const ready = nextEvent(h.bridge, 'sources-changed', (sources) => sources.some((s) => s.kind === 'store' && s.state === 'ready'))
    const added = await h.bridge.addStore(storePath)
    await ready
    const overview = await h.bridge.getOverview()
    // The simulator stopped, so its RUNNING session has no agent: listed as running, flagged stale with why.
    const open = overview.running.filter((i) => i.kind === 'session')
    expect(open).toHaveLength(1)
    expect(open[0]).toMatchObject({ sourceId: added.id, status: 'stale', progress: { unit: 'nodes' } })
    expect(open[0]!.staleReason).toMatch(/no agent is writing/)
    expect(open[0]!.activity).toHaveLength(12)
    expect(overview.sources).toEqual([expect.objectContaining({ id: added.id, kind: 'store', running: 1 })])
    const sessions = await h.bridge.listSessions(added.id)
    for (const item of overview.recent) expect(sessions.map((s) => s.sessionId)).toContain(item.id)
  })

  it('settings: read-only facts without a desktop window behind them, every change refused the same way', async () => {
    const view = await h.bridge.getSettings()
    expect(view).toMatchObject({ mode: 'web', editable: false, readOnlyReason: expect.stringMatching(/command-line flags/), minPasswordLength: 10 })
    await expectApiError(h.bridge.setPassword('long enough, but no'), 'forbidden', /command-line flags/)
    await expectApiError(h.bridge.clearPassword(), 'forbidden')
    await expectApiError(h.bridge.updateSettings({ port: 8080 }), 'forbidden')
    await expectApiError(h.bridge.createIngressToken(), 'forbidden')
    await expectApiError(h.bridge.removeIngressToken(), 'forbidden')
    // Arguments are checked first, on both transports.
    await expectApiError(h.bridge.setPassword('short'), 'bad-request', /at least 10 characters/)
    await expectApiError(h.bridge.updateSettings({ port: 0 }), 'bad-request')
    await expectApiError(h.bridge.updateSettings({ colour: 'red' } as never), 'bad-request', /unknown field/)
    expect(await h.bridge.getPlaces()).toEqual({ url: null, hubIngress: null, hubDashboard: null, reviewApi: null, dataDir: null, demo: null })
  })

  it('explains a failed session (newest escalation, the node to open) and says nothing for a clean one', async () => {
    const ready = nextEvent(h.bridge, 'sources-changed', (sources) => sources.some((s) => s.kind === 'store' && s.state === 'ready'))
    const added = await h.bridge.addStore(storePath)
    await ready
    const sessions = await h.bridge.listSessions(added.id)
    const failed = sessions.find((s) => s.rawStatus === 'FAILED')!
    const f = await h.bridge.getSessionFailure(added.id, failed.sessionId)
    expect(f.escalation).not.toBeNull()
    // In words ("Escalated at task_3: implementation error → retry with the evidence"), not stored words.
    expect(f.reason?.startsWith(`Escalated at ${f.escalation!.nodeId}: ${escalationPhrase(f.escalation!.category, f.escalation!.action, false)}`)).toBe(true)
    expect(f.reason).not.toMatch(/[a-z]+_[a-z]+ →|→ [a-z]+_[a-z]+/)
    expect(f).toMatchObject({ focusNodeId: f.escalation!.nodeId, focusKind: 'escalated' })
    const clean = sessions.find((s) => s.rawStatus === 'COMPLETED' && s.nodes.failed + s.nodes.escalated === 0)
    if (clean) expect((await h.bridge.getSessionFailure(added.id, clean.sessionId)).reason).toBeNull()
    await expectApiError(h.bridge.getSessionFailure(added.id, 'no-such-session'), 'not-found')
  })

  it('renames and removes sources', async () => {
    const added = await h.bridge.addStore(storePath)
    expect((await h.bridge.renameSource(added.id, 'My store')).label).toBe('My store')
    await h.bridge.removeSource(added.id)
    expect(await h.bridge.listSources()).toEqual([])
    await expectApiError(h.bridge.listSessions(added.id), 'not-found', /No source with id/)
  })

  it('refuses bad arguments with a clear error and keeps serving', async () => {
    await expectApiError((h.bridge.addStore as (p: unknown) => Promise<unknown>)(42), 'bad-request', /path.*string/)
    await expectApiError(h.bridge.addAttachment('http://localhost/ws'), 'bad-request', /ws:\/\//)
    await expectApiError((h.bridge.getRun as (...a: unknown[]) => Promise<unknown>)('r', -1), 'bad-request')
    await expectApiError(h.bridge.listSessions('store-nope'), 'not-found')
    await expectApiError(h.bridge.getRun('no-such-run'), 'not-found')
    expect((await h.bridge.getAppInfo()).name).toBe('Vigil')
  })

  it('attaches to a live ensemble and pushes its run', async () => {
    const sim = new EnsembleSimulator({ paceMs: 30, loop: false })
    const { url } = await sim.start()
    try {
      const runSeen = nextEvent(h.bridge, 'run-updated', (run) => run.totalTasks > 0)
      const source = await h.bridge.addAttachment(url, 'sim')
      expect(source).toMatchObject({ kind: 'attachment', label: 'sim', url })
      const run = await runSeen
      expect(run.sourceId).toBe(source.id)
      expect(run.workflow).toBe('SEQUENTIAL')
      const detail = await h.bridge.getRun(run.runId, 10)
      expect(detail.runId).toBe(run.runId)
      expect(detail.recentEvents.length).toBeLessThanOrEqual(10)
      expect((await h.bridge.listRuns()).map((r) => r.runId)).toContain(run.runId)
    } finally {
      await sim.stop()
    }
  })

  it('stops delivering an event after unsubscribe', async () => {
    let count = 0
    const off = h.bridge.on('sources-changed', () => count++)
    const first = nextEvent(h.bridge, 'sources-changed', () => true)
    await h.bridge.addStore(storePath)
    await first
    off()
    const seen = count
    const again = nextEvent(h.bridge, 'sources-changed', () => true)
    await h.bridge.renameSource((await h.bridge.listSources())[0]!.id, 'x')
    await again
    expect(count).toBe(seen)
  })
})

describe('IPC transport specifics', () => {
  it('refuses calls from an untrusted sender and from subframes', async () => {
    const h = await ipcHarness()
    try {
      h.ipc.senderFrame = { url: 'https://evil.example/', parent: null }
      await expectApiError(h.bridge.listSources(), 'forbidden')
      h.ipc.senderFrame = { url: 'app://renderer/index.html', parent: {} }
      await expectApiError(h.bridge.addStore(storePath), 'forbidden')
      h.ipc.senderFrame = null
      await expectApiError(h.bridge.getAppInfo(), 'forbidden')
      expect(await h.service.listSources()).toEqual([])
    } finally {
      await h.close()
    }
  })

  it('never hands the page the IPC event object', async () => {
    const h = await ipcHarness()
    try {
      const received: unknown[][] = []
      h.bridge.on('navigate', (...args: unknown[]) => received.push(args))
      h.service.events.emit('navigate', { route: '#/attach' })
      expect(received).toEqual([[{ route: '#/attach' }]])
    } finally {
      await h.close()
    }
  })

  it('registers one handler per method and removes them all', async () => {
    const h = await ipcHarness()
    expect(h.ipc.handlerCount()).toBe(METHOD_NAMES.length)
    await h.close()
    expect(h.ipc.handlerCount()).toBe(0)
  })
})
