import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { EVENTS_PATH, MAX_TRACE_TEXT, RPC_PATH_PREFIX, type VigilApi } from '../../shared/api/contract'
import { dispatch } from '../core/dispatch'
import type { EventHub } from '../core/event-hub'
import { createAuth, type AuthGate } from './auth/auth-gate'
import { runAsCallerOf } from './auth/caller'
import { ExposureError, exposureProblem } from './auth/exposure'
import { STATUS_PATH } from './auth/route-kinds'
import { CONNECTION_LIMITS, ConnectionGate, refuseUpgrade, upgradeRoute } from './connection-limits'
import type { ConnectionLimits, ConnectionStats } from './connection-limits'
import { attachEventSocket, EVENTS_IDLE } from './event-socket'
import { BodyTimeoutError, BodyTooLargeError, readBody, sendBodyTimeout, sendError, sendJson, STATUS_BY_CODE } from './json-http'
import { forbidCors } from './no-cors'
import { isAllowedHostHeader, isAllowedRequestOrigin, isAllowedUpgradeOrigin } from './origin-policy'
import { SECURITY_HEADERS } from './security-headers'
import { readStaticFile } from './static-files'

/** Where the server is bound; extensions apply the origin rule with it. */
export interface ServerContext {
  bindHost: string
}

/**
 * A part of Vigil that serves more routes on the same port (the AgentEnsemble hub, the review API).
 * Each handler returns true when it took the request.
 */
export interface ServerExtension {
  handleHttp?(req: IncomingMessage, res: ServerResponse, path: string, ctx: ServerContext): Promise<boolean> | boolean
  handleUpgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, path: string, ctx: ServerContext): boolean
  /** Browser clients it holds, added to `GET /api/status` "clients". */
  clientCount?(): number
  /** An upgrade on `path` was refused by a connection cap (503), before any extension saw it. */
  connectionRefused?(path: string): void
  /** Fields merged into `GET /api/status` for a signed-in caller (e.g. `{hub: counters}`). */
  statusDetails?(): Record<string, unknown>
  close?(): Promise<void>
}

export interface VigilServerOptions {
  host: string
  port: number
  api: VigilApi
  events: EventHub
  /** The built renderer (out/renderer); null serves the API only. */
  staticDir: string | null
  version: string
  maxBodyBytes?: number
  extensions?: ServerExtension[]
  /** Connection caps and HTTP timeouts (default CONNECTION_LIMITS). */
  limits?: Partial<ConnectionLimits>
  /** Liveness of /api/events sockets (default EVENTS_IDLE: ping after 30 s quiet, cut after 120 s silent). */
  eventsIdle?: { pingMs: number; timeoutMs: number }
  /**
   * Login, agent tokens and CSRF rules (createAuth). Without it: no login, loopback callers only, and
   * a non-loopback host is refused (ExposureError).
   */
  auth?: AuthGate
}

export interface RunningServer {
  host: string
  port: number
  url: string
  /** Browsers connected to the event socket. */
  clientCount(): number
  /** Open WebSockets and sockets, refusals and caps (also in `GET /api/status` "connections"). */
  connections(): ConnectionStats
  close(): Promise<void>
}

/** The origin rule refuses a WebSocket by accepting the upgrade and closing 1008 (spec §3), never with a hello. */
const ORIGIN_REFUSED = { code: 1008, reason: 'Origin not allowed' }

export class ListenError extends Error {}

/** Vigil's HTTP + WebSocket server: the web bridge (RPC + events), status, and the renderer's files. */
export async function startVigilServer(opts: VigilServerOptions): Promise<RunningServer> {
  // Room for a trace file (MAX_TRACE_TEXT characters, up to 4 bytes each in UTF-8, plus JSON escaping).
  const maxBody = opts.maxBodyBytes ?? 4 * MAX_TRACE_TEXT + 64 * 1024
  const extensions = opts.extensions ?? []
  const auth = opts.auth ?? createAuth()
  const problem = exposureProblem({ host: opts.host, hasPassword: auth.requiresLogin, hasIngressToken: auth.hasIngressToken, insecure: auth.insecure })
  if (problem) throw new ExposureError(problem)
  const ctx: ServerContext = { bindHost: opts.host }
  const clientCount = () => eventSockets.clients.size + extensions.reduce((n, e) => n + (e.clientCount?.() ?? 0), 0)
  const eventSockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  const limits: ConnectionLimits = { ...CONNECTION_LIMITS, ...opts.limits }
  const gate = new ConnectionGate(limits)

  async function handleRpc(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (req.method !== 'POST') return sendError(res, 405, 'bad-request', 'Use POST for API calls.')
    if (!isAllowedRequestOrigin(req.headers.origin, opts.host, req.headers.host)) {
      return sendError(res, 403, 'forbidden', 'Cross-origin requests are not allowed.')
    }
    // A JSON content type forces a CORS preflight for cross-site pages, which this server never grants.
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      return sendError(res, 415, 'bad-request', 'Send the body as application/json: {"args": [...]}.')
    }
    let body: unknown
    try {
      body = JSON.parse((await readBody(req, maxBody, limits.bodyTimeoutMs)).toString('utf8') || '{}')
    } catch (err) {
      if (err instanceof BodyTooLargeError) return sendError(res, 413, 'bad-request', `Body over ${maxBody} bytes.`)
      if (err instanceof BodyTimeoutError) return sendBodyTimeout(res)
      return sendError(res, 400, 'bad-request', 'The body is not valid JSON.')
    }
    const args = typeof body === 'object' && body !== null && 'args' in body ? (body as { args: unknown }).args : []
    // As the caller the auth gate proved (auth/caller.ts): decideReview records who decided from it.
    const result = await runAsCallerOf(req, () => dispatch(opts.api, method, args))
    sendJson(res, result.ok ? 200 : STATUS_BY_CODE[result.error.code], result)
  }

  async function handleStatic(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'bad-request', 'Method not allowed.')
    const file = opts.staticDir ? await readStaticFile(opts.staticDir, path) : null
    if (!file) {
      res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' })
      res.end('Not found')
      return
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': file.contentType,
      'content-length': file.body.length,
      'cache-control': path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
    })
    res.end(req.method === 'HEAD' ? undefined : file.body)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isAllowedHostHeader(req.headers.host, opts.host, auth.allowedHostnames)) {
      return sendError(res, 403, 'forbidden', 'Unexpected Host header.')
    }
    forbidCors(res)
    const path = new URL(req.url ?? '/', 'http://vigil.invalid').pathname
    // Before any route or extension: whatever is mounted on this server is covered.
    if (await auth.handleHttp(req, res, path, opts.host)) return
    if (path === STATUS_PATH) {
      // Public, so a signed-out caller learns nothing beyond what answers here.
      const details = auth.canSeeDetails(req) ? statusDetails() : {}
      return sendJson(res, 200, { name: 'vigil', version: opts.version, ...details })
    }
    if (path.startsWith(RPC_PATH_PREFIX)) return handleRpc(req, res, path.slice(RPC_PATH_PREFIX.length))
    for (const ext of extensions) {
      if (ext.handleHttp && (await ext.handleHttp(req, res, path, ctx))) return
    }
    if (path.startsWith('/api/')) return sendError(res, 404, 'not-found', `No API at ${path}.`)
    return handleStatic(req, res, path)
  }

  function statusDetails(): Record<string, unknown> {
    // runDeltas: windows watching runs, and run-page ops dropped at a full window queue (each drop told to its window).
    const details: Record<string, unknown> = { clients: clientCount(), connections: gate.stats(), runDeltas: opts.events.runFeed.stats() }
    for (const ext of extensions) Object.assign(details, ext.statusDetails?.())
    return details
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    gate.onHead(socket)
    const path = new URL(req.url ?? '/', 'http://vigil.invalid').pathname
    if (!isAllowedHostHeader(req.headers.host, opts.host, auth.allowedHostnames)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n')
      return
    }
    if (auth.refuseUpgrade(req, socket, path)) return
    const refused = gate.admitUpgrade(upgradeRoute(path), socket)
    if (refused) {
      refuseUpgrade(socket, refused)
      for (const ext of extensions) ext.connectionRefused?.(path)
      return
    }
    if (path !== EVENTS_PATH) {
      for (const ext of extensions) {
        if (ext.handleUpgrade?.(req, socket, head, path, ctx)) return
      }
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    eventSockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (!isAllowedUpgradeOrigin(req)) {
        ws.close(ORIGIN_REFUSED.code, ORIGIN_REFUSED.reason)
        return
      }
      attachEventSocket(ws, opts.events, { ...EVENTS_IDLE, ...opts.eventsIdle, onIdleClose: () => gate.countIdleEvents() })
    })
  }

  // Slowloris: a request head must arrive within headersTimeoutMs and the whole request within
  // requestTimeoutMs (Node answers 408 and closes), checked every second; bodies also have
  // readBody's own deadline (BODY_TIMEOUT_MS).
  const server = createServer(
    { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: 1000 },
    (req, res) => {
      gate.onHead(req.socket)
      handle(req, res).catch((err: unknown) => {
        if (err instanceof BodyTimeoutError) return sendBodyTimeout(res)
        // The client went away or was cut (requestTimeout, a shed socket): nothing to answer or log.
        if (req.socket.destroyed) return void res.destroy()
        console.error('vigil: request failed:', err)
        if (!res.headersSent) sendError(res, 500, 'internal', 'Internal error.')
        else res.destroy()
      })
    }
  )
  server.on('connection', (socket: Duplex) => gate.onConnection(socket))
  server.on('upgrade', handleUpgrade)
  server.on('clientError', (_err, socket) => socket.destroy())

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const reason =
        err.code === 'EADDRINUSE'
          ? `port ${opts.port} on ${opts.host} is already in use (try --port 0 for a free one)`
          : err.code === 'EACCES'
            ? `no permission to listen on ${opts.host}:${opts.port}`
            : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
              ? `cannot listen on host ${opts.host}: no such local address`
              : err.message
      reject(new ListenError(reason))
    })
    server.listen(opts.port, opts.host, () => resolve())
  })

  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  const urlHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return {
    host: opts.host,
    port,
    url: `http://${urlHost}:${port}`,
    clientCount,
    connections: () => gate.stats(),
    close: async () => {
      auth.close()
      await Promise.all(extensions.map((e) => e.close?.()))
      await new Promise<void>((resolve) => {
        for (const ws of eventSockets.clients) ws.terminate()
        eventSockets.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
}
