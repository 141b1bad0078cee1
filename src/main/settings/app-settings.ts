// The Settings page's logic, plain Node (the desktop adapters hand in safeStorage, the login item and the
// embedded server; tests hand in fakes):
//  * AppSettings (desktop window): host and port, password (salted scrypt hash), ingress token (secret
//    store), start at login, notifications. Changes to the server restart it and the answer says how it went.
//  * ServeSettings (`vigil serve`): the same page read-only, from the command line's facts.
//  * withoutSettingsWrites: what a browser reaches over HTTP. Only the desktop window (IPC, sender checked)
//    changes settings; a page served by the desktop's own server can read them, never change them.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { VigilApi } from '../../shared/api/contract'
import { ApiError } from '../../shared/api/errors'
import {
  MIN_PASSWORD_LENGTH,
  type IngressTokenCreated,
  type PlacesFacts,
  type SecretFact,
  type SecretSource,
  type SettingsChanges,
  type SettingsView
} from '../../shared/model/settings'
import { isLoopbackHost } from '../server/origin-policy'
import { OTLP_PROTOCOLS, otlpEndpointProblem, type OtlpProtocol } from '../../shared/model/otlp-export'
import type { OtlpExportConfig } from '../otel/export/export-service'
import { hashPassword, isPasswordHash, SCRYPT_PARAMS, type ScryptParams } from '../server/auth/password-hash'
import type { SecretStore } from './secret-store'
import { desktopServerSecrets, isValidListenHost, isValidPort, serverSettingsFile, type ServerSettings } from './server-settings'
import { SettingsFile } from './settings-file'

export const INGRESS_TOKEN_SECRET = 'ingress-token'

/** What VigilService asks of whichever settings back it (desktop, serve, none). */
export interface SettingsProvider {
  view(): SettingsView
  update(changes: SettingsChanges): Promise<SettingsView>
  setPassword(password: string): Promise<SettingsView>
  clearPassword(): Promise<SettingsView>
  createIngressToken(): Promise<IngressTokenCreated>
  removeIngressToken(): Promise<SettingsView>
  /** The server's URL and the data folder, for getPlaces. */
  places(): { url: string | null; dataDir: string | null }
  /** Forwarding runs to an OpenTelemetry collector: what is set (null config: off) and why it is locked, if it is. */
  otlpExport?(): { config: OtlpExportConfig | null; lockedBy: string | null }
}

// ---------------------------------------------------------------------------------------------------
// The embedded server, as the settings see it.

export interface ServerConfig {
  host: string
  port: number
  /** From a file or the environment (compared as is). */
  password: string | null
  /** From the Settings page (scrypt). Used only when `password` is null. */
  passwordHash: string | null
  ingressToken: string | null
}

export interface ServerState {
  running: boolean
  url: string | null
  problem: string | null
}

export interface ServerControl {
  /** Stops the server if it runs, then starts it with `config`; never throws (a failure is in problem). */
  apply(config: ServerConfig): Promise<ServerState>
  /** Stops it (if running) and records why it is off. */
  stop(problem: string): Promise<ServerState>
  state(): ServerState
}

/** Start at login: app.setLoginItemSettings on macOS and Windows (src/main/desktop/settings-adapters.ts). */
export interface LoginItem {
  /** False where the OS offers nothing Electron can set (Linux): the choice is then only remembered. */
  readonly supported: boolean
  get(): boolean
  set(enabled: boolean): void
}

interface Preferences {
  startAtLogin: boolean
  notifications: boolean
  /** "Forward runs to an OpenTelemetry collector": the OTLP/HTTP endpoint, '' when off. */
  otlpEndpoint: string
  otlpProtocol: OtlpProtocol
}

const DEFAULT_PREFERENCES: Preferences = { startAtLogin: false, notifications: true, otlpEndpoint: '', otlpProtocol: 'http/protobuf' }

function sanitizePreferences(raw: unknown): Preferences {
  const o = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>
  return {
    startAtLogin: o.startAtLogin === true,
    // Only an explicit false turns notifications off: a damaged file must not silence review gates.
    notifications: o.notifications !== false,
    // A damaged endpoint turns forwarding off rather than sending somewhere unexpected.
    otlpEndpoint: typeof o.otlpEndpoint === 'string' && otlpEndpointProblem(o.otlpEndpoint) === null ? o.otlpEndpoint.trim() : '',
    otlpProtocol: OTLP_PROTOCOLS.includes(o.otlpProtocol as OtlpProtocol) ? (o.otlpProtocol as OtlpProtocol) : 'http/protobuf'
  }
}

export function preferencesFile(dataDir: string): SettingsFile<Preferences> {
  return new SettingsFile(join(dataDir, 'preferences.json'), DEFAULT_PREFERENCES, sanitizePreferences)
}

/** "…3f9a": enough to tell tokens apart, nothing to use. */
export function tokenHint(token: string): string {
  return `…${token.slice(-4)}`
}

export function newIngressToken(): string {
  return randomBytes(32).toString('base64url')
}

function secretFact(set: boolean, source: SecretSource | null, hint: string | null, lockedBy: string | null): SecretFact {
  return { set, source: set ? source : null, hint: set ? hint : null, lockedBy }
}

export interface AppSettingsOptions {
  dataDir: string
  env: NodeJS.ProcessEnv
  secrets: SecretStore
  loginItem: LoginItem
  server: ServerControl
  /** Hash cost; tests pass a cheaper one. */
  scrypt?: ScryptParams
  newToken?: () => string
}

interface Resolved {
  config: ServerConfig
  passwordSource: SecretSource | null
  tokenSource: SecretSource | null
}

/** The desktop window's settings. Every change runs after the previous one (one server restart at a time). */
export class AppSettings implements SettingsProvider {
  readonly file: SettingsFile<ServerSettings>
  readonly preferences: SettingsFile<Preferences>
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly opts: AppSettingsOptions) {
    this.file = serverSettingsFile(opts.dataDir)
    this.preferences = preferencesFile(opts.dataDir)
  }

  /** Starts the server from what is saved (at launch); an unusable setting keeps it off, with the reason. */
  async startServer(): Promise<ServerState> {
    return this.serially(() => this.applyServer())
  }

  notificationsEnabled(): boolean {
    return this.preferences.read().notifications
  }

  places(): { url: string | null; dataDir: string | null } {
    return { url: this.opts.server.state().url, dataDir: this.opts.dataDir }
  }

  otlpExport(): { config: OtlpExportConfig | null; lockedBy: string | null } {
    const prefs = this.preferences.read()
    return { config: prefs.otlpEndpoint ? { endpoint: prefs.otlpEndpoint, protocol: prefs.otlpProtocol, headers: {} } : null, lockedBy: null }
  }

  view(): SettingsView {
    const saved = this.file.read()
    const state = this.opts.server.state()
    let resolved: Resolved | null = null
    try {
      resolved = this.resolve(saved)
    } catch {
      // The problem is in state.problem (the server did not start with it).
    }
    const env = this.opts.env
    const token = resolved?.config.ingressToken ?? null
    const prefs = this.preferences.read()
    return {
      mode: 'desktop',
      editable: true,
      readOnlyReason: null,
      server: {
        running: state.running,
        url: state.url,
        host: saved.host,
        port: this.effectivePort(saved),
        problem: state.problem,
        portLockedBy: env.VIGIL_PORT !== undefined ? 'VIGIL_PORT' : null,
        password: secretFact(
          resolved ? resolved.config.password !== null || resolved.config.passwordHash !== null : saved.passwordHash !== null || saved.passwordFile !== null,
          resolved?.passwordSource ?? (saved.passwordFile ? 'file' : saved.passwordHash ? 'settings' : null),
          null,
          env.VIGIL_PASSWORD !== undefined ? 'VIGIL_PASSWORD is set in Vigil’s environment, so it is the password; unset it to manage the password here.' : null
        ),
        ingressToken: secretFact(
          token !== null,
          resolved?.tokenSource ?? null,
          token ? tokenHint(token) : null,
          env.VIGIL_INGRESS_TOKEN !== undefined ? 'VIGIL_INGRESS_TOKEN is set in Vigil’s environment, so it is the token; unset it to manage the token here.' : null
        )
      },
      dataDir: this.opts.dataDir,
      startAtLogin: this.opts.loginItem.supported ? this.opts.loginItem.get() : prefs.startAtLogin,
      notifications: prefs.notifications,
      secretStorage: this.opts.secrets.facts,
      minPasswordLength: MIN_PASSWORD_LENGTH
    }
  }

  update(changes: SettingsChanges): Promise<SettingsView> {
    return this.serially(async () => {
      const saved = this.file.read()
      const next: ServerSettings = { ...saved }
      if (changes.host !== undefined) {
        const host = changes.host.trim()
        if (!isValidListenHost(host)) throw new ApiError('bad-request', `"${host.slice(0, 80)}" is not a host Vigil can listen on: use an IP address such as 127.0.0.1 or 0.0.0.0, or a host name.`)
        next.host = host
      }
      if (changes.port !== undefined) {
        if (!isValidPort(changes.port)) throw new ApiError('bad-request', 'The port must be a whole number from 1 to 65535.')
        next.port = changes.port
      }
      const serverChanged = next.host !== saved.host || next.port !== saved.port
      if (serverChanged) this.checkExposure(next)

      const prefs = this.preferences.read()
      if (changes.otlpEndpoint !== undefined) {
        const problem = otlpEndpointProblem(changes.otlpEndpoint)
        if (problem) throw new ApiError('bad-request', problem)
        prefs.otlpEndpoint = changes.otlpEndpoint.trim()
      }
      if (changes.otlpProtocol !== undefined) prefs.otlpProtocol = changes.otlpProtocol
      if (changes.notifications !== undefined) prefs.notifications = changes.notifications
      if (changes.startAtLogin !== undefined) {
        if (this.opts.loginItem.supported) this.opts.loginItem.set(changes.startAtLogin)
        prefs.startAtLogin = changes.startAtLogin
      }
      this.preferences.write(prefs)
      if (serverChanged) {
        this.file.write(next)
        await this.applyServer()
      }
      return this.view()
    })
  }

  setPassword(password: string): Promise<SettingsView> {
    return this.serially(async () => {
      if (this.opts.env.VIGIL_PASSWORD !== undefined) throw new ApiError('conflict', 'VIGIL_PASSWORD is set in Vigil’s environment, so the password cannot be changed here.')
      if (password.length < MIN_PASSWORD_LENGTH) throw new ApiError('bad-request', `The password needs at least ${MIN_PASSWORD_LENGTH} characters.`)
      if (password.trim() === '') throw new ApiError('bad-request', 'The password cannot be only spaces.')
      // The form's password replaces a password file named in server.json.
      this.file.write({ ...this.file.read(), passwordHash: hashPassword(password, this.opts.scrypt ?? SCRYPT_PARAMS), passwordFile: null })
      await this.applyServer()
      return this.view()
    })
  }

  clearPassword(): Promise<SettingsView> {
    return this.serially(async () => {
      if (this.opts.env.VIGIL_PASSWORD !== undefined) throw new ApiError('conflict', 'VIGIL_PASSWORD is set in Vigil’s environment, so the password cannot be turned off here.')
      const next = { ...this.file.read(), passwordHash: null, passwordFile: null }
      this.checkExposure(next)
      this.file.write(next)
      await this.applyServer()
      return this.view()
    })
  }

  createIngressToken(): Promise<IngressTokenCreated> {
    return this.serially(async () => {
      if (this.opts.env.VIGIL_INGRESS_TOKEN !== undefined) throw new ApiError('conflict', 'VIGIL_INGRESS_TOKEN is set in Vigil’s environment, so the token cannot be changed here.')
      const token = (this.opts.newToken ?? newIngressToken)()
      this.opts.secrets.set(INGRESS_TOKEN_SECRET, token)
      const saved = this.file.read()
      if (saved.ingressTokenFile !== null) this.file.write({ ...saved, ingressTokenFile: null })
      await this.applyServer()
      return { token, settings: this.view() }
    })
  }

  removeIngressToken(): Promise<SettingsView> {
    return this.serially(async () => {
      if (this.opts.env.VIGIL_INGRESS_TOKEN !== undefined) throw new ApiError('conflict', 'VIGIL_INGRESS_TOKEN is set in Vigil’s environment, so the token cannot be removed here.')
      const next = { ...this.file.read(), ingressTokenFile: null }
      this.checkExposure(next, { withoutStoredToken: true })
      this.opts.secrets.delete(INGRESS_TOKEN_SECRET)
      this.file.write(next)
      await this.applyServer()
      return this.view()
    })
  }

  /** What the server starts with: files and the environment first (as before), then the page's own. Throws when unusable. */
  resolve(saved: ServerSettings = this.file.read()): Resolved {
    const fromFiles = desktopServerSecrets(saved, this.opts.env)
    const passwordSource: SecretSource | null = saved.passwordFile ? 'file' : fromFiles.password !== null ? 'env' : saved.passwordHash ? 'settings' : null
    if (fromFiles.password === null && saved.passwordHash !== null && !isPasswordHash(saved.passwordHash)) {
      throw new Error('the password saved in server.json is damaged: set a new one in Settings')
    }
    const stored = fromFiles.ingressToken === null ? this.opts.secrets.get(INGRESS_TOKEN_SECRET) : null
    const tokenSource: SecretSource | null = saved.ingressTokenFile ? 'file' : fromFiles.ingressToken !== null ? 'env' : stored !== null ? 'settings' : null
    return {
      config: {
        host: saved.host,
        port: this.effectivePort(saved),
        password: fromFiles.password,
        passwordHash: fromFiles.password === null ? saved.passwordHash : null,
        ingressToken: fromFiles.ingressToken ?? stored
      },
      passwordSource,
      tokenSource
    }
  }

  private effectivePort(saved: ServerSettings): number {
    // VIGIL_PORT=0 (a free port, as before the Settings page) is allowed here, not in server.json.
    const raw = this.opts.env.VIGIL_PORT
    const fromEnv = Number(raw)
    return raw !== undefined && raw.trim() !== '' && (fromEnv === 0 || isValidPort(fromEnv)) ? fromEnv : saved.port
  }

  /** The desktop never serves a network unguarded (no --insecure here): a password or a token first. */
  private checkExposure(next: ServerSettings, opts: { withoutStoredToken?: boolean } = {}): void {
    if (isLoopbackHost(next.host)) return
    let resolved: Resolved
    try {
      resolved = this.resolve(next)
    } catch (err) {
      throw new ApiError('bad-request', `Cannot listen on ${next.host}: ${err instanceof Error ? err.message : String(err)}.`)
    }
    const hasPassword = resolved.config.password !== null || resolved.config.passwordHash !== null
    const hasToken = resolved.config.ingressToken !== null && !(opts.withoutStoredToken && resolved.tokenSource === 'settings')
    if (!hasPassword && !hasToken) {
      throw new ApiError(
        'bad-request',
        `Listening on ${next.host} makes Vigil reachable from other machines: set a password (and an ingress token for remote agents) first, or keep the host 127.0.0.1.`
      )
    }
  }

  private async applyServer(): Promise<ServerState> {
    let resolved: Resolved
    try {
      resolved = this.resolve()
    } catch (err) {
      return this.opts.server.stop(err instanceof Error ? err.message : String(err))
    }
    return this.opts.server.apply(resolved.config)
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task)
    this.queue = run.catch(() => undefined)
    return run
  }
}

// ---------------------------------------------------------------------------------------------------
// `vigil serve`: read-only.

export interface ServeFacts {
  mode: 'desktop' | 'web'
  host: string | null
  port: number | null
  passwordSource: SecretSource | null
  ingressTokenSource: SecretSource | null
  dataDir: string | null
  /** --otlp-endpoint (with --otlp-protocol and --otlp-header), or null. */
  otlpExport?: OtlpExportConfig | null
}

export const SERVE_READ_ONLY_REASON =
  'This is vigil serve: its host, port, password and ingress token are command-line flags (--host, --port, ' +
  '--password-file or VIGIL_PASSWORD, --ingress-token-file or VIGIL_INGRESS_TOKEN). Restart it with other flags to change them.'

/** The Settings page of `vigil serve` (and of a service with no settings): facts only, every change refused. */
export class ServeSettings implements SettingsProvider {
  private url: string | null = null
  private port: number | null

  constructor(private readonly facts: ServeFacts) {
    this.port = facts.port
  }

  /** Once the server listens: its URL and real port (--port 0 picks one). */
  listening(url: string, port: number): void {
    this.url = url
    this.port = port
  }

  view(): SettingsView {
    const f = this.facts
    return {
      mode: f.mode,
      editable: false,
      readOnlyReason: SERVE_READ_ONLY_REASON,
      server: {
        running: this.url !== null,
        url: this.url,
        host: f.host ?? '',
        port: this.port ?? 0,
        problem: null,
        portLockedBy: null,
        password: secretFact(f.passwordSource !== null, f.passwordSource, null, 'a command-line flag'),
        ingressToken: secretFact(f.ingressTokenSource !== null, f.ingressTokenSource, null, 'a command-line flag')
      },
      dataDir: f.dataDir,
      startAtLogin: null,
      notifications: null,
      secretStorage: null,
      minPasswordLength: MIN_PASSWORD_LENGTH
    }
  }

  places(): { url: string | null; dataDir: string | null } {
    return { url: this.url, dataDir: this.facts.dataDir }
  }

  otlpExport(): { config: OtlpExportConfig | null; lockedBy: string | null } {
    return { config: this.facts.otlpExport ?? null, lockedBy: 'a command-line flag (--otlp-endpoint)' }
  }

  update(): Promise<SettingsView> {
    return refuse(SERVE_READ_ONLY_REASON)
  }
  setPassword(): Promise<SettingsView> {
    return refuse(SERVE_READ_ONLY_REASON)
  }
  clearPassword(): Promise<SettingsView> {
    return refuse(SERVE_READ_ONLY_REASON)
  }
  createIngressToken(): Promise<IngressTokenCreated> {
    return refuse(SERVE_READ_ONLY_REASON)
  }
  removeIngressToken(): Promise<SettingsView> {
    return refuse(SERVE_READ_ONLY_REASON)
  }
}

function refuse(reason: string): Promise<never> {
  return Promise.reject(new ApiError('forbidden', reason))
}

// ---------------------------------------------------------------------------------------------------
// The desktop's HTTP side.

const SETTINGS_WRITES = new Set<keyof VigilApi>(['updateSettings', 'setPassword', 'clearPassword', 'createIngressToken', 'removeIngressToken'])

export const BROWSER_READ_ONLY_REASON = 'Settings are changed in the Vigil desktop window, never from a browser.'

/**
 * The API as browsers reach it on the desktop's own server: the same service, but every settings change
 * refused (forbidden) and getSettings marked read-only. A browser page, signed in or not, never changes
 * the desktop's password, token, host or port.
 */
export function withoutSettingsWrites(api: VigilApi): VigilApi {
  return new Proxy(api, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && SETTINGS_WRITES.has(prop as keyof VigilApi)) {
        return () => refuse(BROWSER_READ_ONLY_REASON)
      }
      if (prop === 'getSettings') {
        return async (): Promise<SettingsView> => ({ ...(await target.getSettings()), editable: false, readOnlyReason: BROWSER_READ_ONLY_REASON, secretStorage: null })
      }
      const value: unknown = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    }
  })
}

// ---------------------------------------------------------------------------------------------------

/** The places a running server offers (the same lines `vigil serve`'s banner prints). */
export function placesFacts(where: { url: string | null; dataDir: string | null }, demo: PlacesFacts['demo']): PlacesFacts {
  const base = where.url?.replace(/\/+$/, '') ?? null
  const ws = base?.replace(/^http/, 'ws') ?? null
  return {
    url: base ? `${base}/` : null,
    hubIngress: ws ? `${ws}/ingress` : null,
    hubDashboard: ws ? `${ws}/ws` : null,
    reviewApi: base ? `${base}/api/reviews` : null,
    dataDir: where.dataDir,
    demo
  }
}

