// The desktop app's setting for its own server (the hub and browser port, 127.0.0.1:7400): where the
// login password and the agents' ingress token live. Files, not values, so no secret sits in a
// settings JSON; VIGIL_PASSWORD / VIGIL_INGRESS_TOKEN work as for `vigil serve`.
import { join } from 'node:path'
import { resolveSecrets, type Secrets } from '../cli/secrets'
import { SettingsFile } from './settings-file'

export interface ServerSettings {
  /** A file holding the password browsers must sign in with; null = no login (loopback only). */
  passwordFile: string | null
  /** A file holding the bearer token agents on other machines send; null = none. */
  ingressTokenFile: string | null
}

const DEFAULTS: ServerSettings = { passwordFile: null, ingressTokenFile: null }

function sanitize(raw: unknown): ServerSettings {
  const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const path = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : null)
  return { passwordFile: path(obj.passwordFile), ingressTokenFile: path(obj.ingressTokenFile) }
}

export function serverSettingsFile(dataDir: string): SettingsFile<ServerSettings> {
  return new SettingsFile(join(dataDir, 'server.json'), DEFAULTS, sanitize)
}

/**
 * The secrets the desktop's server starts with. A setting that cannot be used (missing or empty file,
 * empty variable) is an error: the caller keeps the server off rather than serve it unprotected.
 */
export function desktopServerSecrets(settings: ServerSettings, env: NodeJS.ProcessEnv): Secrets {
  return resolveSecrets(settings, env)
}
