// The Settings page's data. No secret ever travels in these: the password only as "set or not", the
// ingress token only once, in IngressTokenCreated, right after it was made.
import type { OtlpExportFacts, OtlpProtocol } from './otlp-export'

/** Where a secret in effect comes from. */
export type SecretSource =
  /** Set in the Settings page (the password as a salted scrypt hash, the token in the secret store). */
  | 'settings'
  /** A file named in server.json (passwordFile / ingressTokenFile) or a --…-file flag. */
  | 'file'
  /** VIGIL_PASSWORD / VIGIL_INGRESS_TOKEN in Vigil's environment. */
  | 'env'

export interface SecretFact {
  set: boolean
  /** null when not set. */
  source: SecretSource | null
  /** A hint that identifies a token without revealing it ("…3f9a"); null for passwords and when unset. */
  hint: string | null
  /** Why the form cannot change it here (it comes from a file or the environment), or null. */
  lockedBy: string | null
}

export interface ServerFacts {
  /** True while the server answers on url. */
  running: boolean
  /** The server's base URL (http://127.0.0.1:7400), null when it is off. */
  url: string | null
  /** The host and port set (what it listens on once running). */
  host: string
  port: number
  /** Why the server is off (port taken, unusable password setting), or null. */
  problem: string | null
  /** An environment variable (VIGIL_PORT) that overrides the port set here, or null. */
  portLockedBy: string | null
  password: SecretFact
  ingressToken: SecretFact
}

/** How secrets set here are kept on this machine. */
export interface SecretStorageFacts {
  /** 'os-encryption': Electron safeStorage (Keychain, DPAPI, libsecret/kwallet); 'file': a 0600 file. */
  kind: 'os-encryption' | 'file'
  /** One sentence for the form. */
  note: string
}

export interface SettingsView {
  mode: 'desktop' | 'web'
  /** Whether this window may change the settings (only the desktop window; never a browser). */
  editable: boolean
  /** Why not, for the form; null when editable. */
  readOnlyReason: string | null
  server: ServerFacts
  /** Vigil's data folder (recordings, review history, settings), or null when unknown. */
  dataDir: string | null
  /** Desktop only: open Vigil when the user logs in. null where it does not apply (a browser). */
  startAtLogin: boolean | null
  /** Desktop only: OS notifications for new review gates. null in a browser (a per-browser choice there). */
  notifications: boolean | null
  secretStorage: SecretStorageFacts | null
  /** The minimum password length the form must check too. */
  minPasswordLength: number
  /** "Forward runs to an OpenTelemetry collector": the setting and the exporter's state (sent, queued, dropped…). */
  otlpExport?: OtlpExportFacts
}

/** What updateSettings may change; absent fields stay as they are. */
export interface SettingsChanges {
  host?: string
  port?: number
  startAtLogin?: boolean
  notifications?: boolean
  /** The collector's OTLP/HTTP endpoint (e.g. http://localhost:4318); '' turns forwarding off. Desktop only. */
  otlpEndpoint?: string
  otlpProtocol?: OtlpProtocol
}

/** The one time a token leaves Vigil: right after it was created (or rotated). */
export interface IngressTokenCreated {
  token: string
  settings: SettingsView
}

/** What is running and where: the same facts `vigil serve` prints at start. */
export interface PlacesFacts {
  /** The interface's URL, null when the server is off. */
  url: string | null
  /** ws://…/ingress: AgentEnsemble publishers push here. */
  hubIngress: string | null
  /** ws://…/ws: AgentEnsemble dashboard clients watch here. */
  hubDashboard: string | null
  /** http://…/api/reviews: POST a gate. */
  reviewApi: string | null
  dataDir: string | null
  /** Set while the built-in demo runs. */
  demo: { storePath: string; ensembleUrl: string } | null
}

export const MIN_PASSWORD_LENGTH = 10
export const MAX_PASSWORD_LENGTH = 1024
