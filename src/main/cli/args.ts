// `vigil` command-line parsing. Every mistake becomes a one-line reason, never a stack trace.
import { parseAllowedOrigin } from '../server/origin-policy'
import { OTLP_PROTOCOLS, otlpEndpointProblem, type OtlpProtocol } from '../../shared/model/otlp-export'

export interface ServeOptions {
  command: 'serve'
  dbPaths: string[]
  attachUrls: string[]
  host: string
  port: number
  demo: boolean
  /** Skip looking for Perspt's default store (tests, or when only --db should count). */
  defaultStore: boolean
  dataDir: string | null
  /** File holding the login password (else VIGIL_PASSWORD). */
  passwordFile: string | null
  /** File holding the bearer token remote agents send (else VIGIL_INGRESS_TOKEN). */
  ingressTokenFile: string | null
  /** File holding the bearer token reviewers' scripts send to read and decide gates (else VIGIL_REVIEWER_TOKEN). */
  reviewerTokenFile: string | null
  /** Allow a non-loopback --host with nothing guarding it. */
  insecure: boolean
  /** Origins (normalised) whose pages may open /ws besides Vigil's own; also accepted as Host names. */
  allowOrigins: string[]
  /** Forward every run to this OTLP/HTTP collector (base URL; spans go to <URL>/v1/traces), or null. */
  otlpEndpoint: string | null
  otlpProtocol: OtlpProtocol
  /** Extra headers for the collector (--otlp-header name=value, repeatable). */
  otlpHeaders: Record<string, string>
}

export type CliCommand = ServeOptions | { command: 'help' } | { command: 'version' }

export class UsageError extends Error {}

export const DEFAULT_PORT = 7400

export const USAGE = `Usage: vigil serve [options]
       vigil gate QUESTION [options]   raise a review gate and wait for the decision (vigil gate --help)

Serve Vigil's interface to any browser (headless mode).

Options:
  --db PATH            watch a Perspt session store (repeatable)
  --attach URL         attach to an AgentEnsemble dashboard or hub, e.g. ws://localhost:7329/ws (repeatable)
  --host HOST          address to listen on (default 127.0.0.1)
  --port PORT          port to listen on (default ${DEFAULT_PORT}; 0 picks a free port)
  --demo               run simulated agents so every view has live data
  --no-default-store   do not open Perspt's default store when no --db is given
  --data-dir DIR       Vigil's own data folder (default: the platform's app data folder)
  --password-file FILE require a login; the password is the file's content (else env VIGIL_PASSWORD)
  --ingress-token-file FILE
                       bearer token agents on other machines must send to /ingress, /api/hub/ingress
                       and POST /api/reviews (else env VIGIL_INGRESS_TOKEN); loopback agents need none.
                       It publishes and raises gates only: it never reads or decides one
  --reviewer-token-file FILE
                       bearer token that opens the review API (list, read, decide gates) to scripts, from
                       anywhere, also with a password set (else env VIGIL_REVIEWER_TOKEN); nothing else
  --insecure           allow a non-loopback --host with no password and no token (everyone gets in);
                       the Host check (DNS rebinding) and the Origin rules stay on
  --allow-origin URL   let pages from this origin (e.g. AgentEnsemble's viz, http://localhost:7329) open
                       /ws when a password is set; its host is also accepted in the Host header, e.g. a
                       reverse proxy's https://vigil.example (repeatable)
  --otlp-endpoint URL  forward every run (Perspt sessions, AgentEnsemble runs) to an OpenTelemetry
                       collector over OTLP/HTTP when it ends, e.g. http://localhost:4318 (spans are
                       posted to URL/v1/traces); state and counts in GET /api/status "otlpExport"
  --otlp-protocol P    http/protobuf (default) or http/json
  --otlp-header K=V    extra header for the collector, e.g. "authorization=Bearer TOKEN" (repeatable;
                       OTEL_EXPORTER_OTLP_HEADERS=k=v,k2=v2 in the environment keeps it out of ps)
  -h, --help           show this help
  -v, --version        show Vigil's version

Access:
  By default Vigil listens on 127.0.0.1 and serves only this machine. With a password, every page, API
  and WebSocket needs a login at /login (a session ends after 12 h idle or 24 h). Public, with or
  without a password: /login, /logout, POST /api/login and /api/logout, /api/status (name and version
  only), and, from this machine, hub ingest (/ingress, POST /api/hub/ingress) and raising a review gate
  (POST /api/reviews); from elsewhere those need the ingress token.
  Review gates: with a password, reading and deciding them (GET /api/reviews…, POST /api/reviews/ID,
  the inbox) needs a login or the reviewer token, also from this machine; the agent that raised a gate
  reads its outcome with the gateSecret from the 201 (Authorization: Gate SECRET). WITHOUT a password,
  anyone who can reach the port can read and decide every gate: every user and process on this
  machine. A --host other machines can reach needs --password-file, --ingress-token-file or
  --insecure. Logins: 5 failed attempts a minute per client (all of loopback is one client, IPv6 per
  /64) and 20 a minute overall, then 429.
  Browsers: Vigil's own endpoints (/api/rpc, /api/events, /api/reviews, the hub's HTTP routes, /ingress)
  accept only Vigil's own origin (scheme, host and port); /ws also accepts --allow-origin origins, and,
  when no password is set, any page on localhost/127.0.0.1/[::1] (AgentEnsemble's rule). A Host header
  naming another host (DNS rebinding) is refused in every mode. Behind an HTTPS proxy, pass the Host
  header and X-Forwarded-Proto, and --allow-origin the proxy's URL.
`

const VALUE_FLAGS = new Set([
  '--db',
  '--attach',
  '--host',
  '--port',
  '--data-dir',
  '--password-file',
  '--ingress-token-file',
  '--reviewer-token-file',
  '--allow-origin',
  '--otlp-endpoint',
  '--otlp-protocol',
  '--otlp-header'
])
const BOOLEAN_FLAGS = new Set(['--demo', '--no-default-store', '--insecure'])

function parsePort(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`--port must be a number from 0 to 65535, got "${raw}"`)
  const port = Number(raw)
  if (port > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${raw}"`)
  return port
}

function parseAttachUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UsageError(`--attach needs a ws:// URL such as ws://localhost:7329/ws, got "${raw}"`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new UsageError(`--attach needs a ws:// or wss:// URL, got "${raw}"`)
  }
  return raw
}

/** `name=value` (or `name: value`); header names are tokens, values one line. */
export function parseOtlpHeader(raw: string, flag = '--otlp-header'): [string, string] {
  const at = raw.search(/[=:]/)
  const name = at > 0 ? raw.slice(0, at).trim() : ''
  const value = at > 0 ? raw.slice(at + 1).trim() : ''
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || value === '' || /[\r\n]/.test(value)) {
    throw new UsageError(`${flag} needs name=value, e.g. "authorization=Bearer TOKEN"`)
  }
  return [name.toLowerCase(), value]
}

function parseOrigin(raw: string): string {
  try {
    return parseAllowedOrigin(raw)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export function parseArgs(argv: readonly string[]): CliCommand {
  if (argv.length === 0) throw new UsageError('missing command: try "vigil serve" or "vigil --help"')
  const [first, ...rest] = argv
  if (first === '-h' || first === '--help' || first === 'help') return { command: 'help' }
  if (first === '-v' || first === '--version' || first === 'version') return { command: 'version' }
  if (first !== 'serve') throw new UsageError(`unknown command "${first}": try "vigil serve", "vigil gate" or "vigil --help"`)

  const opts: ServeOptions = {
    command: 'serve',
    dbPaths: [],
    attachUrls: [],
    host: '127.0.0.1',
    port: DEFAULT_PORT,
    demo: false,
    defaultStore: true,
    dataDir: null,
    passwordFile: null,
    ingressTokenFile: null,
    reviewerTokenFile: null,
    insecure: false,
    allowOrigins: [],
    otlpEndpoint: null,
    otlpProtocol: 'http/protobuf',
    otlpHeaders: {}
  }
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (arg === '-h' || arg === '--help') return { command: 'help' }
    if (arg === '-v' || arg === '--version') return { command: 'version' }
    const eq = arg.indexOf('=')
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    if (BOOLEAN_FLAGS.has(flag)) {
      if (eq > 0) throw new UsageError(`${flag} takes no value`)
      if (flag === '--demo') opts.demo = true
      else if (flag === '--insecure') opts.insecure = true
      else opts.defaultStore = false
      continue
    }
    if (!VALUE_FLAGS.has(flag)) throw new UsageError(`unknown option "${arg}" (see vigil --help)`)
    const value = eq > 0 ? arg.slice(eq + 1) : rest[++i]
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
      throw new UsageError(`${flag} needs a value`)
    }
    switch (flag) {
      case '--db':
        opts.dbPaths.push(value)
        break
      case '--attach':
        opts.attachUrls.push(parseAttachUrl(value))
        break
      case '--host':
        opts.host = value
        break
      case '--port':
        opts.port = parsePort(value)
        break
      case '--data-dir':
        opts.dataDir = value
        break
      case '--password-file':
        opts.passwordFile = value
        break
      case '--ingress-token-file':
        opts.ingressTokenFile = value
        break
      case '--reviewer-token-file':
        opts.reviewerTokenFile = value
        break
      case '--allow-origin':
        opts.allowOrigins.push(parseOrigin(value))
        break
      case '--otlp-endpoint': {
        const problem = otlpEndpointProblem(value)
        if (problem) throw new UsageError(`--otlp-endpoint: ${problem}`)
        opts.otlpEndpoint = value.trim()
        break
      }
      case '--otlp-protocol':
        if (!OTLP_PROTOCOLS.includes(value as OtlpProtocol)) throw new UsageError(`--otlp-protocol must be ${OTLP_PROTOCOLS.join(' or ')}, got "${value}"`)
        opts.otlpProtocol = value as OtlpProtocol
        break
      case '--otlp-header': {
        const [name, headerValue] = parseOtlpHeader(value)
        opts.otlpHeaders[name] = headerValue
        break
      }
    }
  }
  if (opts.otlpEndpoint === null && (Object.keys(opts.otlpHeaders).length > 0 || argv.some((a) => a === '--otlp-protocol' || a.startsWith('--otlp-protocol=')))) {
    throw new UsageError('--otlp-header and --otlp-protocol need --otlp-endpoint URL')
  }
  return opts
}
