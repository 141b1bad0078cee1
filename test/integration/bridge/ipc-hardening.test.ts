// Every IPC handler, not a sample: refuses other senders and malformed arguments, logs each refusal,
// and changes nothing. The handlers are the real ones (registerIpcApi) over the real VigilService.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ARG_PARSERS, invokeChannel, METHOD_NAMES, type MethodName } from '../../../src/shared/api/contract'
import type { ApiResult } from '../../../src/shared/api/errors'
import { VigilService } from '../../../src/main/core/vigil-service'
import { registerIpcApi } from '../../../src/main/ipc/ipc-api'
import { APP_ORIGIN, createSenderCheck } from '../../../src/main/ipc/trusted-sender'
import { AppSettings, type ServerState } from '../../../src/main/settings/app-settings'
import { chooseSecretStore } from '../../../src/main/settings/secret-store'
import { createFakeIpc, type FakeIpc } from '../../support/fake-ipc'

let dir: string
let service: VigilService
let ipc: FakeIpc
let logged: string[]
let unregister: () => void
/** Every (re)start the settings asked of the embedded server (a recording stand-in: no port is opened here). */
let serverStarts: number

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-ipc-hardening-'))
  serverStarts = 0
  const running: ServerState = { running: true, url: 'http://127.0.0.1:7400', problem: null }
  // The desktop's real settings logic and files (server.json, the secret store), so a refused call that
  // changed anything would show in unchanged().
  const settings = new AppSettings({
    dataDir: join(dir, 'data'),
    env: {},
    secrets: chooseSecretStore(join(dir, 'data'), null),
    loginItem: { supported: false, get: () => false, set: () => undefined },
    server: { apply: async () => (serverStarts++, running), stop: async (problem) => ({ running: false, url: null, problem }), state: () => running },
    scrypt: { N: 16384, r: 8, p: 1 }
  })
  service = new VigilService({ mode: 'desktop', version: '1', tmpRoot: join(dir, 'tmp'), pollMs: 60_000, settings })
  ipc = createFakeIpc()
  logged = []
  unregister = registerIpcApi({ ipcMain: ipc.ipcMain, api: service, isTrustedSender: createSenderCheck([APP_ORIGIN]), log: (m) => logged.push(m) })
})
afterEach(async () => {
  unregister()
  await service.close()
  rmSync(dir, { recursive: true, force: true })
})

const invoke = (method: MethodName, ...args: unknown[]) => ipc.ipcRenderer.invoke(invokeChannel(method), ...args) as Promise<ApiResult<unknown>>

/** How many arguments a method takes, read from its parser (extra ones are refused). */
function arity(method: MethodName): number {
  for (let n = 0; n < 8; n++) {
    try {
      ARG_PARSERS[method](new Array(n + 1).fill(undefined))
    } catch (err) {
      if (String((err as Error).message).includes('at most')) return n
    }
  }
  return 8
}

const UNTRUSTED = [
  { url: 'https://evil.example/', parent: null },
  { url: 'app://renderer.evil/index.html', parent: null },
  { url: 'file:///tmp/page.html', parent: null },
  { url: 'app://renderer/index.html', parent: {} },
  null
]

async function unchanged(): Promise<void> {
  expect(await service.listSources()).toEqual([])
  expect(service.reviews.pending()).toEqual([])
  expect((await service.getAppInfo()).demoRunning).toBe(false)
  const settings = await service.getSettings()
  expect(settings.server).toMatchObject({ host: '127.0.0.1', port: 7400, password: { set: false }, ingressToken: { set: false } })
  expect(settings).toMatchObject({ notifications: true, startAtLogin: false })
  expect(serverStarts).toBe(0)
}

describe('IPC handlers', () => {
  it.each(METHOD_NAMES)('%s refuses every untrusted sender, logs it, and does nothing', async (method) => {
    for (const frame of UNTRUSTED) {
      ipc.senderFrame = frame
      const result = await invoke(method, '/tmp/x.db', 'a', 'b')
      expect(result).toEqual({ ok: false, error: { code: 'forbidden', message: 'Untrusted sender.' } })
    }
    expect(logged.filter((l) => l.includes(`refused IPC ${method} from untrusted sender`))).toHaveLength(UNTRUSTED.length)
    await unchanged()
  })

  it.each(METHOD_NAMES)('%s refuses malformed arguments with bad-request, logs it, and does nothing', async (method) => {
    const n = arity(method)
    const cases: unknown[][] = [new Array(n + 1).fill('x')]
    if (n > 0) cases.push([{ toString: 'evil' }], [['nested']], [Symbol.for('x').description, 10 ** 400])
    for (const args of cases) {
      const result = await invoke(method, ...args)
      expect(result.ok, `${method}(${JSON.stringify(args)})`).toBe(false)
      if (!result.ok) expect(result.error.code).toBe('bad-request')
    }
    expect(logged.filter((l) => l.startsWith(`vigil: refused IPC ${method}:`)).length).toBe(cases.length)
    await unchanged()
  })

  it('getOverview answers a trusted sender with the empty Now page', async () => {
    const result = await invoke('getOverview')
    expect(result).toMatchObject({ ok: true, value: { running: [], recent: [], sources: [], today: { sessions: 0, runs: 0 } } })
    expect(logged).toEqual([])
  })

  it('the window (a trusted sender) changes settings: password, token, port; no secret comes back but the new token', async () => {
    const pw = await invoke('setPassword', 'a window password')
    expect(pw).toMatchObject({ ok: true, value: { editable: true, server: { password: { set: true, source: 'settings' } } } })
    expect(JSON.stringify(pw)).not.toContain('a window password')
    const created = await invoke('createIngressToken')
    expect(created).toMatchObject({ ok: true, value: { token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } })
    const token = (created as { ok: true; value: { token: string } }).value.token
    expect(JSON.stringify(await invoke('getSettings'))).not.toContain(token)
    expect(await invoke('updateSettings', { port: 7411, notifications: false })).toMatchObject({ ok: true, value: { server: { port: 7411 }, notifications: false } })
    expect(await invoke('updateSettings', { port: 7411, extra: 1 })).toMatchObject({ ok: false, error: { code: 'bad-request' } })
    expect(await invoke('setPassword', 'short')).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.not.stringContaining('short') } })
    expect(await invoke('removeIngressToken')).toMatchObject({ ok: true, value: { server: { ingressToken: { set: false } } } })
    expect(await invoke('clearPassword')).toMatchObject({ ok: true, value: { server: { password: { set: false } } } })
    expect(serverStarts).toBe(5)
  })

  it('a trusted sender with good arguments still gets its answer', async () => {
    const result = await invoke('listReviews')
    expect(result).toMatchObject({ ok: true, value: { pending: [], recent: [], doNotDisturb: false } })
    expect(logged).toEqual([])
  })
})
