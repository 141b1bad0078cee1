// Connection caps of Vigil's server (SECURITY.md, "Limits"): how many WebSockets each route may hold,
// how many all routes together, and how many TCP sockets of any kind. Every upgrade passes
// admitUpgrade() in vigil-server.ts after the Host and auth checks, so one local process cannot use up
// the file descriptors (at a 1,024 limit, 1,100 idle sockets used to lock every client out).
//
//  * Per route (/ingress, /ws, /api/events) and overall (all WebSockets): beyond, the upgrade is
//    answered HTTP 503 with a plain-text reason and `Retry-After`, counted per route.
//  * TCP sockets (requests in progress, keep-alive, half-sent handshakes, WebSockets): beyond
//    `sockets`, the oldest socket that has not yet sent a complete request head is destroyed to make
//    room (a slowloris client loses its place, a new client gets in); if there is none, the new socket
//    is. Half-sent heads are also cut by the server's headersTimeout.
import type { Duplex } from 'node:stream'
import { BODY_TIMEOUT_MS } from './json-http'

export type UpgradeRoute = 'ingress' | 'ws' | 'events' | 'other'

export interface ConnectionLimits {
  /** Open WebSockets on /ingress (publishers). */
  ingress: number
  /** Open WebSockets on /ws (hub browsers). */
  ws: number
  /** Open WebSockets on /api/events (Vigil's own renderers). */
  events: number
  /** Open WebSockets on every route together. */
  websockets: number
  /** TCP sockets of any kind (HTTP, handshakes, WebSockets). */
  sockets: number
  /** A request head (request line and headers) must arrive within this (Node's headersTimeout). */
  headersTimeoutMs: number
  /** A whole request, head and body, must arrive within this (Node's requestTimeout). */
  requestTimeoutMs: number
  /** An API call's body must arrive within this from its first read (readBody's deadline; 408). */
  bodyTimeoutMs: number
}

/** Stays well under a 1,024 file-descriptor limit (DuckDB files, the listener and stdio need some too). */
export const CONNECTION_LIMITS: ConnectionLimits = {
  ingress: 256,
  ws: 256,
  events: 256,
  websockets: 700,
  sockets: 900,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  bodyTimeoutMs: BODY_TIMEOUT_MS
}

const ROUTES: Record<string, UpgradeRoute> = { '/ingress': 'ingress', '/ws': 'ws', '/api/events': 'events' }

export function upgradeRoute(path: string): UpgradeRoute {
  return ROUTES[path] ?? 'other'
}

export interface ConnectionStats {
  /** Open WebSockets per route and in all. */
  open: Record<UpgradeRoute | 'total', number>
  /** TCP sockets open now. */
  sockets: number
  /** Upgrades answered 503 per route, and sockets destroyed by the socket cap. */
  refused: Record<UpgradeRoute, number> & { sockets: number }
  /** /api/events sockets terminated after EVENTS_IDLE.timeoutMs of silence (hub sockets: hub counters). */
  idleClosed: { events: number }
  limits: { ingress: number; ws: number; events: number; websockets: number; sockets: number }
}

interface Tracked {
  destroy(): void
  once(event: 'close', listener: () => void): unknown
}

export class ConnectionGate {
  private readonly open: Record<UpgradeRoute, number> = { ingress: 0, ws: 0, events: 0, other: 0 }
  private total = 0
  private readonly refused: Record<UpgradeRoute, number> & { sockets: number } = { ingress: 0, ws: 0, events: 0, other: 0, sockets: 0 }
  /** Sockets that have not sent a complete request head yet, oldest first. */
  private readonly pending = new Set<Tracked>()
  private sockets = 0
  private eventsIdleClosed = 0

  constructor(readonly limits: ConnectionLimits) {}

  /** A new TCP socket. Over the socket cap, the oldest one still sending its head goes (or this one). */
  onConnection(socket: Tracked): void {
    this.sockets++
    this.pending.add(socket)
    socket.once('close', () => {
      this.sockets--
      this.pending.delete(socket)
    })
    if (this.sockets <= this.limits.sockets) return
    let victim: Tracked = socket
    for (const s of this.pending) {
      if (s !== socket) victim = s
      break
    }
    this.refused.sockets++
    this.pending.delete(victim)
    victim.destroy()
  }

  /** The socket sent a complete request head (a request or an upgrade). */
  onHead(socket: Tracked): void {
    this.pending.delete(socket)
  }

  /**
   * Admits a WebSocket upgrade on `route` and counts it until its socket closes, or returns why not
   * (the caller answers 503 with it).
   */
  admitUpgrade(route: UpgradeRoute, socket: Duplex): string | null {
    const routeLimit = route === 'other' ? Infinity : this.limits[route]
    let reason: string | null = null
    if (this.open[route] >= routeLimit) reason = `Too many ${route === 'events' ? '/api/events' : `/${route}`} connections (limit ${routeLimit}).`
    else if (this.total >= this.limits.websockets) reason = `Too many WebSocket connections (limit ${this.limits.websockets}).`
    if (reason) {
      this.refused[route]++
      return reason
    }
    this.open[route]++
    this.total++
    socket.once('close', () => {
      this.open[route]--
      this.total--
    })
    return null
  }

  /** An /api/events socket was cut for silence. */
  countIdleEvents(): void {
    this.eventsIdleClosed++
  }

  stats(): ConnectionStats {
    const { ingress, ws, events, websockets, sockets } = this.limits
    return {
      open: { ...this.open, total: this.total },
      sockets: this.sockets,
      refused: { ...this.refused },
      idleClosed: { events: this.eventsIdleClosed },
      limits: { ingress, ws, events, websockets, sockets }
    }
  }
}

/** The 503 for a refused upgrade: a plain-text reason, then the socket is closed. */
export function refuseUpgrade(socket: Duplex, reason: string): void {
  const body = Buffer.from(reason)
  socket.end(
    `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 10\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${reason}`
  )
  // A peer that never reads must not keep the socket: end() waits for the write to drain.
  setTimeout(() => socket.destroy(), 2000).unref()
}
