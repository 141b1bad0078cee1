// Who may talk to Vigil's server. The loopback rule follows AgentEnsemble's (spec §3) so their tools
// behave the same against Vigil: exact hostnames only, no "localhost.evil.com", no missing Origin.

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

/** Origin check for WebSocket upgrades (spec §3): while bound to loopback only loopback pages may connect. */
export function isAllowedWebSocketOrigin(origin: string | undefined, bindHost: string, requestHost?: string): boolean {
  if (!isLoopbackHost(bindHost)) {
    // Bound to a LAN address: a browser must come from this server's own origin.
    return originHostname(origin) !== null && sameHost(origin, requestHost)
  }
  const host = originHostname(origin)
  return host !== null && LOOPBACK_HOSTNAMES.has(host)
}

/**
 * CSRF rule for state-changing HTTP requests: non-browser clients send no Origin and are allowed;
 * a browser must come from a loopback page (when bound to loopback) or from this very server.
 */
export function isAllowedRequestOrigin(origin: string | undefined, bindHost: string, requestHost?: string): boolean {
  if (origin === undefined) return true
  return isAllowedWebSocketOrigin(origin, bindHost, requestHost)
}

function sameHost(origin: string | undefined, requestHost: string | undefined): boolean {
  if (!origin || !requestHost) return false
  try {
    return new URL(origin).host.toLowerCase() === requestHost.toLowerCase()
  } catch {
    return false
  }
}

/** DNS-rebinding guard: on loopback, the Host header must name a loopback host. */
export function isAllowedHostHeader(hostHeader: string | undefined, bindHost: string): boolean {
  if (!isLoopbackHost(bindHost)) return true
  if (!hostHeader) return false
  try {
    return isLoopbackHost(new URL(`http://${hostHeader}`).hostname)
  } catch {
    return false
  }
}
