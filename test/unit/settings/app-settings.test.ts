// The Settings page's logic in plain Node: the desktop adapters (safeStorage, the login item, the
// embedded server) are fakes here; the files are real, in a temp folder.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { VigilApi } from '../../../src/shared/api/contract'
import { ApiError } from '../../../src/shared/api/errors'
import { verifyPassword } from '../../../src/main/server/auth/password-hash'
import {
  AppSettings,
  BROWSER_READ_ONLY_REASON,
  placesFacts,
  ServeSettings,
  withoutSettingsWrites,
  type LoginItem,
  type ServerConfig,
  type ServerControl,
  type ServerState
} from '../../../src/main/settings/app-settings'
import { withNotificationSwitch } from '../../../src/main/settings/notification-switch'
import { chooseSecretStore } from '../../../src/main/settings/secret-store'
import { autostartEntry, xdgAutostartLoginItem } from '../../../src/main/settings/xdg-autostart'
import type { ReviewDesktop } from '../../../src/main/reviews/review-alerts'

const FAST = { N: 16384, r: 8, p: 1 }

class FakeServer implements ServerControl {
  applied: ServerConfig[] = []
  stops: string[] = []
  current: ServerState = { running: false, url: null, problem: 'not started yet' }
  busyPorts = new Set<number>()
  async apply(config: ServerConfig): Promise<ServerState> {
    this.applied.push(config)
    this.current = this.busyPorts.has(config.port)
      ? { running: false, url: null, problem: `port ${config.port} on ${config.host} is already in use` }
      : { running: true, url: `http://${config.host}:${config.port}`, problem: null }
    return this.current
  }
  async stop(problem: string): Promise<ServerState> {
    this.stops.push(problem)
    this.current = { running: false, url: null, problem }
    return this.current
  }
  state(): ServerState {
    return this.current
  }
  last(): ServerConfig {
    return this.applied.at(-1)!
  }
}

function fakeLoginItem(supported = true): LoginItem & { value: boolean } {
  const item = {
    supported,
    value: false,
    get: () => item.value,
    set: (v: boolean) => {
      item.value = v
    }
  }
  return item
}

let dir: string
let server: FakeServer
let login: ReturnType<typeof fakeLoginItem>
let tokens: string[]

function settings(env: NodeJS.ProcessEnv = {}, loginItem: LoginItem = login): AppSettings {
  let n = 0
  return new AppSettings({
    dataDir: dir,
    env,
    secrets: chooseSecretStore(dir, null),
    loginItem,
    server,
    scrypt: FAST,
    newToken: () => (tokens[n++] ?? `token-${n}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`)
  })
}

async function refused(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(ApiError)
  expect((err as ApiError).code).toBe(code)
  if (message) expect((err as ApiError).message).toMatch(message)
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-app-settings-'))
  server = new FakeServer()
  login = fakeLoginItem()
  tokens = ['first-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaa1111', 'second-token-bbbbbbbbbbbbbbbbbbbbbbbbbbb2222']
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('desktop settings', () => {
  it('start from safe defaults: loopback 7400, no password, no token, notifications on', async () => {
    const s = settings()
    expect(await s.startServer()).toEqual({ running: true, url: 'http://127.0.0.1:7400', problem: null })
    expect(server.last()).toEqual({ host: '127.0.0.1', port: 7400, password: null, passwordHash: null, ingressToken: null })
    const view = s.view()
    expect(view).toMatchObject({
      mode: 'desktop',
      editable: true,
      server: { running: true, url: 'http://127.0.0.1:7400', host: '127.0.0.1', port: 7400, problem: null },
      dataDir: dir,
      startAtLogin: false,
      notifications: true,
      secretStorage: { kind: 'file' },
      minPasswordLength: 10
    })
    expect(view.server.password).toEqual({ set: false, source: null, hint: null, lockedBy: null })
    expect(view.server.ingressToken).toEqual({ set: false, source: null, hint: null, lockedBy: null })
  })

  it('keep the password only as a salted scrypt hash, restart the server with it, and turn it off again', async () => {
    const s = settings()
    await s.startServer()
    await refused(s.setPassword('short'), 'bad-request', /at least 10/)
    await refused(s.setPassword('          '), 'bad-request', /spaces/)
    expect(server.applied).toHaveLength(1)

    const view = await s.setPassword('open sesame 42')
    const file = readFileSync(join(dir, 'server.json'), 'utf8')
    expect(file).not.toContain('open sesame')
    const saved = JSON.parse(file) as { passwordHash: string }
    expect(verifyPassword(saved.passwordHash, 'open sesame 42')).toBe(true)
    expect(verifyPassword(saved.passwordHash, 'open sesame 43')).toBe(false)
    expect(server.applied).toHaveLength(2)
    expect(server.last()).toMatchObject({ password: null, passwordHash: saved.passwordHash })
    expect(view.server.password).toEqual({ set: true, source: 'settings', hint: null, lockedBy: null })
    expect(JSON.stringify(view)).not.toContain(saved.passwordHash)

    // A second password gets a new salt; the first no longer opens anything.
    await s.setPassword('another password!')
    const second = (JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8')) as { passwordHash: string }).passwordHash
    expect(verifyPassword(second, 'open sesame 42')).toBe(false)

    const off = await s.clearPassword()
    expect(off.server.password.set).toBe(false)
    expect(server.last().passwordHash).toBeNull()
  })

  it('a password set here replaces a password file named in server.json; the files and variables still work', async () => {
    writeFileSync(join(dir, 'pw'), 'from-the-file\n')
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ passwordFile: join(dir, 'pw') }))
    const s = settings()
    await s.startServer()
    expect(server.last()).toMatchObject({ password: 'from-the-file', passwordHash: null })
    expect(s.view().server.password).toMatchObject({ set: true, source: 'file' })
    await s.setPassword('now from settings')
    expect(server.last().password).toBeNull()
    expect(JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8'))).toMatchObject({ passwordFile: null })

    // VIGIL_PASSWORD wins and locks the field.
    const locked = settings({ VIGIL_PASSWORD: 'env-pass' })
    await locked.startServer()
    expect(server.last()).toMatchObject({ password: 'env-pass', passwordHash: null })
    expect(locked.view().server.password).toMatchObject({ set: true, source: 'env', lockedBy: expect.stringMatching(/VIGIL_PASSWORD/) })
    await refused(locked.setPassword('whatever-long'), 'conflict', /VIGIL_PASSWORD/)
    await refused(locked.clearPassword(), 'conflict')
  })

  it('create, rotate and remove the ingress token: shown once, then only a hint; the server gets the new one', async () => {
    const s = settings()
    await s.startServer()
    const created = await s.createIngressToken()
    expect(created.token).toBe(tokens[0])
    expect(created.settings.server.ingressToken).toEqual({ set: true, source: 'settings', hint: '…1111', lockedBy: null })
    expect(server.last().ingressToken).toBe(tokens[0])
    // Never in the settings JSON, never in a later view.
    expect(existsSync(join(dir, 'server.json')) ? readFileSync(join(dir, 'server.json'), 'utf8') : '').not.toContain(tokens[0])
    expect(JSON.stringify(s.view())).not.toContain(tokens[0])

    const rotated = await s.createIngressToken()
    expect(rotated.token).toBe(tokens[1])
    expect(server.last().ingressToken).toBe(tokens[1])
    expect(rotated.settings.server.ingressToken.hint).toBe('…2222')
    // A restart of the app reads it back from the secret store.
    await settings().startServer()
    expect(server.last().ingressToken).toBe(tokens[1])

    const removed = await s.removeIngressToken()
    expect(removed.server.ingressToken.set).toBe(false)
    expect(server.last().ingressToken).toBeNull()
    await refused(settings({ VIGIL_INGRESS_TOKEN: 't' }).createIngressToken(), 'conflict', /VIGIL_INGRESS_TOKEN/)
  })

  it('host and port changes restart the server; bad values and an unguarded network host are refused', async () => {
    const s = settings()
    await s.startServer()
    const moved = await s.update({ port: 7411 })
    expect(moved.server).toMatchObject({ running: true, url: 'http://127.0.0.1:7411', port: 7411 })
    expect(server.applied).toHaveLength(2)
    // Preferences alone do not restart it.
    await s.update({ notifications: false })
    expect(server.applied).toHaveLength(2)

    await refused(s.update({ host: 'not a host' }), 'bad-request', /not a host/)
    await refused(s.update({ host: 'http://x:1' }), 'bad-request')
    await refused(s.update({ port: 70000 }), 'bad-request')
    await refused(s.update({ host: '0.0.0.0' }), 'bad-request', /password/)
    expect(server.applied).toHaveLength(2)
    expect(s.view().server.host).toBe('127.0.0.1')

    // With a password, the network is allowed; and then the password cannot simply go away.
    await s.setPassword('long enough password')
    const open = await s.update({ host: '0.0.0.0' })
    expect(open.server).toMatchObject({ host: '0.0.0.0', running: true })
    await refused(s.clearPassword(), 'bad-request', /other machines/)

    // A port someone else holds: the server is off and the page says why.
    server.busyPorts.add(7499)
    const busy = await s.update({ port: 7499 })
    expect(busy.server).toMatchObject({ running: false, url: null, port: 7499, problem: expect.stringMatching(/already in use/) })
  })

  it('VIGIL_PORT overrides the port set here and says so', async () => {
    const s = settings({ VIGIL_PORT: '7777' })
    await s.startServer()
    expect(server.last().port).toBe(7777)
    expect(s.view().server).toMatchObject({ port: 7777, portLockedBy: 'VIGIL_PORT' })
    // 0 still means a free port, as it did before the Settings page; garbage is ignored.
    await settings({ VIGIL_PORT: '0' }).startServer()
    expect(server.last().port).toBe(0)
    await settings({ VIGIL_PORT: 'abc' }).startServer()
    expect(server.last().port).toBe(7400)
  })

  it('sanitize a hand-edited or corrupt server.json; a damaged password hash keeps the server off, never open', async () => {
    writeFileSync(join(dir, 'server.json'), '{ not json')
    await settings().startServer()
    expect(server.last()).toEqual({ host: '127.0.0.1', port: 7400, password: null, passwordHash: null, ingressToken: null })

    writeFileSync(join(dir, 'server.json'), JSON.stringify({ host: 'bad host!', port: 'eighty', passwordFile: 3, extra: { x: 1 } }))
    await settings().startServer()
    expect(server.last()).toMatchObject({ host: '127.0.0.1', port: 7400, password: null })

    writeFileSync(join(dir, 'server.json'), JSON.stringify({ port: 99999 }))
    await settings().startServer()
    expect(server.last().port).toBe(7400)

    const applied = server.applied.length
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ passwordHash: 'scrypt$1$2$3' }))
    const s = settings()
    expect(await s.startServer()).toMatchObject({ running: false, problem: expect.stringMatching(/damaged/) })
    expect(server.applied).toHaveLength(applied)
    expect(s.view().server).toMatchObject({ running: false, problem: expect.stringMatching(/damaged/), password: { set: true } })
    // Setting a new password repairs it.
    expect((await s.setPassword('a fresh password')).server.running).toBe(true)

    // A password file that went missing: off, with the file named.
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ passwordFile: join(dir, 'gone') }))
    expect(await settings().startServer()).toMatchObject({ running: false, problem: expect.stringMatching(/no such file/) })
  })

  it('start at login goes to the OS login item; where there is none it is only remembered; notifications persist', async () => {
    const s = settings()
    expect((await s.update({ startAtLogin: true })).startAtLogin).toBe(true)
    expect(login.value).toBe(true)
    expect((await s.update({ startAtLogin: false })).startAtLogin).toBe(false)
    expect(login.value).toBe(false)

    const none = fakeLoginItem(false)
    const s2 = settings({}, none)
    expect((await s2.update({ startAtLogin: true })).startAtLogin).toBe(true)
    expect(none.value).toBe(false)

    expect(s.notificationsEnabled()).toBe(true)
    await s.update({ notifications: false })
    expect(settings().notificationsEnabled()).toBe(false)
    // A damaged preferences file never silences review gates.
    writeFileSync(join(dir, 'preferences.json'), '[1,2')
    expect(settings().notificationsEnabled()).toBe(true)
  })

  it('changes run one after another, so two quick saves never start two servers at once', async () => {
    const s = settings()
    await s.startServer()
    await Promise.all([s.update({ port: 7401 }), s.update({ port: 7402 }), s.setPassword('password-1234')])
    expect(server.applied.map((c) => c.port)).toEqual([7400, 7401, 7402, 7402])
    expect(s.view().server.port).toBe(7402)
  })
})

describe('vigil serve settings', () => {
  it('are read-only facts: every change is refused and the page says they are command-line flags', async () => {
    const s = new ServeSettings({ mode: 'web', host: '127.0.0.1', port: 0, passwordSource: 'file', ingressTokenSource: null, dataDir: '/data' })
    expect(s.view().server.running).toBe(false)
    s.listening('http://127.0.0.1:45678', 45678)
    const view = s.view()
    expect(view).toMatchObject({
      mode: 'web',
      editable: false,
      readOnlyReason: expect.stringMatching(/command-line flags/),
      server: { running: true, url: 'http://127.0.0.1:45678', port: 45678, password: { set: true, source: 'file' }, ingressToken: { set: false } },
      dataDir: '/data',
      startAtLogin: null,
      notifications: null
    })
    await refused(s.update(), 'forbidden', /--password-file/)
    await refused(s.setPassword(), 'forbidden')
    await refused(s.clearPassword(), 'forbidden')
    await refused(s.createIngressToken(), 'forbidden')
    await refused(s.removeIngressToken(), 'forbidden')
    expect(placesFacts(s.places(), null)).toEqual({
      url: 'http://127.0.0.1:45678/',
      hubIngress: 'ws://127.0.0.1:45678/ingress',
      hubDashboard: 'ws://127.0.0.1:45678/ws',
      reviewApi: 'http://127.0.0.1:45678/api/reviews',
      dataDir: '/data',
      demo: null
    })
  })
})

describe('the desktop server as browsers reach it', () => {
  it('refuses every settings change and marks the page read-only; everything else passes through', async () => {
    const calls: string[] = []
    const api = {
      getSettings: async () => ({ editable: true, readOnlyReason: null, secretStorage: { kind: 'file', note: 'x' } }),
      updateSettings: async () => calls.push('update'),
      setPassword: async () => calls.push('setPassword'),
      clearPassword: async () => calls.push('clearPassword'),
      createIngressToken: async () => calls.push('createIngressToken'),
      removeIngressToken: async () => calls.push('removeIngressToken'),
      listSources: async function (this: { marker?: number }) {
        return this.marker
      },
      marker: 7
    } as unknown as VigilApi
    const web = withoutSettingsWrites(api)
    await refused(web.updateSettings({ port: 1 }), 'forbidden', /desktop window/)
    await refused(web.setPassword('x'.repeat(12)), 'forbidden')
    await refused(web.clearPassword(), 'forbidden')
    await refused(web.createIngressToken(), 'forbidden')
    await refused(web.removeIngressToken(), 'forbidden')
    expect(calls).toEqual([])
    expect(await web.getSettings()).toMatchObject({ editable: false, readOnlyReason: BROWSER_READ_ONLY_REASON, secretStorage: null })
    expect(await web.listSources()).toBe(7)
  })
})

describe('desktop adapters in plain Node', () => {
  it('the notification switch drops OS notifications only', () => {
    const shown: string[] = []
    const desktop = {
      notify: (title: string) => {
        shown.push(title)
        return { close: () => undefined }
      },
      setBadgeCount: (n: number) => shown.push(`badge ${n}`)
    } as unknown as ReviewDesktop
    let on = true
    const switched = withNotificationSwitch(desktop, () => on)
    switched.notify('one', '', () => undefined)
    on = false
    switched.notify('two', '', () => undefined).close()
    switched.setBadgeCount(3)
    expect(shown).toEqual(['one', 'badge 3'])
  })

  it('start at login on Linux writes and removes an XDG autostart entry', () => {
    const item = xdgAutostartLoginItem(join(dir, 'autostart'), ['/opt/Vigil App/vigil', '--hidden'])
    expect(item.get()).toBe(false)
    item.set(true)
    expect(item.get()).toBe(true)
    expect(readFileSync(join(dir, 'autostart', 'vigil.desktop'), 'utf8')).toContain('Exec="/opt/Vigil App/vigil" --hidden')
    item.set(false)
    expect(item.get()).toBe(false)
    expect(autostartEntry(['/a"b'])).toContain('Exec="/a\\"b"')
  })
})
