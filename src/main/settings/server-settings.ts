// The desktop app's own server (the hub and browser port, 127.0.0.1:7400 by default): where it listens,
// and how browsers and remote agents prove who they are. Kept in server.json in the data folder.
// No secret sits in it as such: the password set in the Settings page is a salted scrypt hash
// (server/auth/password-hash.ts), the ingress token lives in the secret store (secret-store.ts). The
// older way still works: passwordFile / ingressTokenFile name files, VIGIL_PASSWORD / VIGIL_INGRESS_TOKEN
// come from the environment, as for `vigil serve`.
import { isIP } from 'node:net'
import { join } from 'node:path'
import { DEFAULT_PORT } from '../cli/args'
import { resolveSecrets, type Secrets } from '../cli/secrets'
import { SettingsFile } from './settings-file'

export const DEFAULT_SERVER_HOST = '127.0.0.1'

export interface ServerSettings {
  /** A file holding the password browsers must sign in with; null = none named (see passwordHash). */
  passwordFile: string | null
  /** A file holding the bearer token agents on other machines send; null = none named. */
  ingressTokenFile: string | null
  /** Where the server listens (127.0.0.1: this machine only). */
  host: string
  port: number
  /** The password set in the Settings page, as `scrypt$N$r$p$salt$hash`; null = none. */
  passwordHash: string | null
}

export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  passwordFile: null,
  ingressTokenFile: null,
  host: DEFAULT_SERVER_HOST,
  port: DEFAULT_PORT,
  passwordHash: null
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** An IP address or a host name Vigil can listen on; anything else (spaces, a URL, a port) is not. */
export function isValidListenHost(host: string): boolean {
  return isIP(host) !== 0 || HOSTNAME.test(host)
}

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535
}

function sanitize(raw: unknown): ServerSettings {
  const obj = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>
  const path = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : null)
  const host = typeof obj.host === 'string' && isValidListenHost(obj.host.trim()) ? obj.host.trim() : DEFAULT_SERVER_HOST
  return {
    passwordFile: path(obj.passwordFile),
    ingressTokenFile: path(obj.ingressTokenFile),
    host,
    port: isValidPort(obj.port) ? obj.port : DEFAULT_PORT,
    // A damaged hash is kept as it is: starting the server with it fails, so the server stays off
    // rather than open (a hand edit must never turn a password off by accident).
    passwordHash: typeof obj.passwordHash === 'string' && obj.passwordHash.trim() !== '' ? obj.passwordHash.trim() : null
  }
}

export function serverSettingsFile(dataDir: string): SettingsFile<ServerSettings> {
  return new SettingsFile(join(dataDir, 'server.json'), DEFAULT_SERVER_SETTINGS, sanitize)
}

/**
 * The secrets named by files or the environment (not the Settings page's own). A setting that cannot be
 * used (missing or empty file, empty variable) is an error: the caller keeps the server off rather than
 * serve it unprotected.
 */
export function desktopServerSecrets(settings: Pick<ServerSettings, 'passwordFile' | 'ingressTokenFile'>, env: NodeJS.ProcessEnv): Secrets {
  return resolveSecrets(settings, env)
}
