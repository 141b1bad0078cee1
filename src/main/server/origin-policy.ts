// Who may talk to Vigil's server from a browser, and under which Host name (SECURITY.md (d)).
//
//  * Host (DNS rebinding), in every mode, --insecure included: the Host header must name a loopback host,
//    or — on a non-loopback binding — an IP address or this machine's name, or the host of an origin the
//    user allowed (--allow-origin, e.g. a reverse proxy's https://vigil.example).
//  * Vigil's own endpoints (/api/rpc, /api/events, the review API, the hub's HTTP routes, /ingress): a
//    request that carries an Origin must come from Vigil's OWN origin — the exact scheme, host and port
//    the browser used to reach it (scheme://Host; https only when a proxy says so with X-Forwarded-Proto
//    or Forwarded: proto=https). Clients without an Origin (scripts, publishers) are not browsers.
//  * /ws (AgentEnsemble's browser side): Vigil's own origin, the origins the user allowed, and — only
//    when no password is set, for a request from this machine — AgentEnsemble's loopback rule (spec §3:
//    a page on localhost, 127.0.0.1 or [::1], any port or scheme). A session cookie never stands in for
//    an allowed origin.
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { hostname as machineHostname } from 'node:os'

const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '::1'])

function bareHostname(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[/, '').replace(/\]$/, '')
}

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTNAMES.has(bareHostname(host))
}

/** The hostname of an Origin header, or null when absent, "null" or unparseable. */
function originHostname(origin: string | undefined): string | null {
  if (!origin || origin === 'null') return null
  try {
    return bareHostname(new URL(origin).hostname)
  } catch {
    return null
  }
}

/** AgentEnsemble's rule (spec §3): a page whose host is exactly localhost, 127.0.0.1 or ::1 (any port or scheme). */
export function isLoopbackPageOrigin(origin: string | undefined): boolean {
  const host = originHostname(origin)
  return host !== null && LOOPBACK_HOSTNAMES.has(host)
}

/**
 * The spec §3 rule as AgentEnsemble's own dashboards apply it (kept for reference and its unit tests; the
 * server uses upgradeOriginAllowed): while bound to loopback only loopback pages, on a LAN address only
 * this server's own host.
 */
export function isAllowedWebSocketOrigin(origin: string | undefined, bindHost: string, requestHost?: string): boolean {
  if (!isLoopbackHost(bindHost)) return originHostname(origin) !== null && sameHost(origin, requestHost)
  return isLoopbackPageOrigin(origin)
}

/**
 * CSRF rule with only the header strings at hand (the hub's and the review API's own checks): no Origin
 * (not a browser) passes; otherwise the Origin must be http:// or https:// followed by exactly the Host
 * header. The auth gate has already applied the exact rule (scheme included) to every request.
 */
export function isAllowedRequestOrigin(origin: string | undefined, _bindHost?: string, requestHost?: string): boolean {
  if (origin === undefined) return true
  if (!requestHost) return false
  return ['http', 'https'].some((scheme) => {
    const own = originOf(scheme, requestHost)
    return own !== null && canonicalOrigin(origin) === own
  })
}

function sameHost(origin: string | undefined, requestHost: string | undefined): boolean {
  if (!origin || !requestHost) return false
  try {
    return new URL(origin).host.toLowerCase() === requestHost.toLowerCase()
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------
// Vigil's own origin

/** Characters a Host header may hold: no userinfo, path, query, fragment or space. */
const HOST_HEADER = /^[A-Za-z0-9.\-_~:[\]%]+$/

/** `scheme://host[:port]` as browsers serialise an origin, or null when the host does not parse. */
function originOf(scheme: string, host: string): string | null {
  if (!HOST_HEADER.test(host)) return null
  try {
    const url = new URL(`${scheme}://${host}`)
    return url.host === '' ? null : url.origin
  } catch {
    return null
  }
}

/** An Origin header as browsers send it (lower-case scheme and host, no path), or null. */
function canonicalOrigin(origin: string): string | null {
  try {
    const url = new URL(origin)
    if (url.origin === 'null' || (url.protocol !== 'http:' && url.protocol !== 'https:')) return null
    return url.origin === origin.toLowerCase() ? url.origin : null
  } catch {
    return null
  }
}

/**
 * The scheme the browser used: Vigil speaks plain HTTP, so http, unless a reverse proxy in front says the
 * browser came over https (X-Forwarded-Proto / Forwarded: proto=). A page cannot add those headers to a
 * request it sends cross-origin without a preflight, which Vigil never grants.
 */
function requestScheme(req: IncomingMessage): string {
  const xfp = req.headers['x-forwarded-proto']
  const forwarded = typeof xfp === 'string' ? xfp.split(',')[0]!.trim().toLowerCase() : null
  const proto = /(?:^|[;,\s])proto=("?)(https?)\1/i.exec(req.headers.forwarded ?? '')?.[2]?.toLowerCase() ?? null
  const scheme = forwarded ?? proto
  return scheme === 'https' ? 'https' : 'http'
}

/** Vigil's own origin for this request (scheme://Host, as the browser saw it), or null without a usable Host. */
export function ownOrigin(req: IncomingMessage): string | null {
  const host = req.headers.host
  return host ? originOf(requestScheme(req), host) : null
}

/** The request's Origin is exactly Vigil's own origin (scheme, host and port). */
export function isOwnOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return false
  const own = ownOrigin(req)
  return own !== null && canonicalOrigin(origin) === own
}

/**
 * The normalised form of an origin the user allows (`--allow-origin URL`): scheme, host and port of an
 * http(s) URL with no path, query or credentials. Throws a one-line reason otherwise.
 */
export function parseAllowedOrigin(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new Error(`--allow-origin needs a URL such as http://localhost:7329, got "${raw}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--allow-origin needs an http:// or https:// URL, got "${raw}"`)
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new Error(`--allow-origin takes an origin (scheme, host and port, no path), got "${raw}"`)
  }
  return url.origin
}

export interface OriginRules {
  /** Normalised origins the user allows on /ws (parseAllowedOrigin). */
  allowedOrigins: ReadonlySet<string>
  /** No password is set: /ws keeps AgentEnsemble's loopback-page rule for requests from this machine. */
  loopbackPagesOnWs: boolean
}

/**
 * Whether a WebSocket upgrade on `path` may proceed for its Origin. /ingress with no Origin (publishers)
 * is the caller's business (the hub accepts it); any Origin present is judged here.
 */
export function upgradeOriginAllowed(req: IncomingMessage, path: string, rules: OriginRules, fromThisMachine: boolean): boolean {
  if (isOwnOrigin(req)) return true
  if (path !== '/ws') return false
  const origin = req.headers.origin
  const canonical = origin === undefined ? null : canonicalOrigin(origin)
  if (canonical !== null && rules.allowedOrigins.has(canonical)) return true
  return rules.loopbackPagesOnWs && fromThisMachine && isLoopbackPageOrigin(origin)
}

/** Verdicts of the auth gate (which knows the rules) for the upgrade handlers that close 1008 (spec §3). */
const upgradeVerdicts = new WeakMap<IncomingMessage, boolean>()

export function recordUpgradeOrigin(req: IncomingMessage, allowed: boolean): void {
  upgradeVerdicts.set(req, allowed)
}

/** The auth gate's verdict on this upgrade's Origin; without one, only Vigil's own origin passes. */
export function isAllowedUpgradeOrigin(req: IncomingMessage): boolean {
  return upgradeVerdicts.get(req) ?? isOwnOrigin(req)
}

// ---------------------------------------------------------------------------------------------
// Host header (DNS rebinding)

/** This machine's names, as a browser on the LAN may type them. */
function machineNames(): Set<string> {
  const full = machineHostname().toLowerCase()
  const short = full.split('.')[0]!
  return new Set([full, short, `${short}.local`].filter((n) => n !== ''))
}

/**
 * DNS-rebinding guard, in every mode: a page on evil.example that re-points its name at this machine
 * still sends `Host: evil.example`, which is refused. Accepted: loopback names; the hosts of allowed
 * origins; on a non-loopback binding also IP addresses (they cannot be rebound) and this machine's name.
 */
export function isAllowedHostHeader(hostHeader: string | undefined, bindHost: string, allowedHostnames: Iterable<string> = []): boolean {
  if (!hostHeader) return false
  const origin = originOf('http', hostHeader)
  if (origin === null) return false
  const hostname = bareHostname(new URL(origin).hostname)
  if (LOOPBACK_HOSTNAMES.has(hostname)) return true
  for (const allowed of allowedHostnames) if (bareHostname(allowed) === hostname) return true
  if (isLoopbackHost(bindHost)) return false
  return isIP(hostname) !== 0 || machineNames().has(hostname)
}
