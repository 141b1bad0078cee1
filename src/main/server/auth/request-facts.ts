// What the auth rules need to know about a request: who sent it, and whether it is local.
import type { IncomingMessage } from 'node:http'
import { isLoopbackHost } from '../origin-policy'

/** The peer's address, IPv4-mapped IPv6 unwrapped (the rate limiter's key). */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown'
  return address.startsWith('::ffff:') ? address.slice(7) : address
}

function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address)
}

/** The Host header's hostname (lower case, IPv6 brackets kept off), or null. */
export function requestHostname(req: IncomingMessage): string | null {
  const host = req.headers.host
  if (!host) return null
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '').toLowerCase()
  } catch {
    return null
  }
}

/** The browser sees a loopback origin: it keeps non-Secure cookies there, and only there. */
export function isOnLoopbackHost(req: IncomingMessage): boolean {
  const hostname = requestHostname(req)
  return hostname !== null && isLoopbackHost(hostname)
}

/**
 * A request from this machine, addressed to a loopback name. The Host test keeps a DNS-rebound page
 * (Host: evil.example, resolved to 127.0.0.1) from passing as local; a forwarding header means a proxy
 * relayed it from elsewhere.
 */
export function isLoopbackRequest(req: IncomingMessage): boolean {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) return false
  return isLoopbackAddress(clientAddress(req)) && isOnLoopbackHost(req)
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(req: IncomingMessage): string | null {
  const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')
  return m ? m[1]! : null
}
