// Vigil's auth gate. vigil-server.ts runs it on every request and upgrade BEFORE any route or
// extension, so the hub, the review API and whatever comes next are covered without knowing of it.
//
// Rules (README "Login and remote agents"):
//  * OPTIONS is never granted (no CORS, ever); a request that carries an Origin must come from Vigil's own
//    origin (exact scheme, host and port), or carry a valid bearer token (CSRF, cross-port pages).
//  * WebSocket upgrades: the Origin rule of origin-policy.ts upgradeOriginAllowed (own origin; on /ws also
//    --allow-origin origins, and loopback pages while there is no password); the verdict is recorded for
//    the handler, which refuses with close 1008 (spec §3).
//  * public: /login, /logout, POST /api/login, POST /api/logout, GET /api/status (name + version only
//    unless the caller may see the rest).
//  * agent routes (/ingress, /api/hub/ingress, POST /api/reviews: publishing, raising a gate): a loopback
//    caller needs nothing; others need `Authorization: Bearer <ingress token>`, the reviewer token or a login.
//  * reviewer routes (every other /api/reviews… request: reading and deciding gates): a login or
//    `Authorization: Bearer <reviewer token>`, also from loopback; without a password, like browser routes.
//    A request carrying a gate secret (`Authorization: Gate …`) is let through for the review API to check
//    against that one gate (SECURITY.md "Who may raise, see and decide a gate").
//  * everything else (pages, assets, /api/rpc, /api/events, /ws): with a password, a login; without
//    one, loopback callers only, unless the server was started --insecure.
// Each request let through carries the identity that was proved (caller.ts): the history's decidedBy.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { sendError } from '../json-http'
import { isOwnOrigin, parseAllowedOrigin, recordUpgradeOrigin, upgradeOriginAllowed, type OriginRules } from '../origin-policy'
import { LoginRateLimiter } from './login-rate-limit'
import { handleLoginRoute, redirect } from './login-routes'
import { CALLER_LABELS, gateSecretOf, recordCaller, type Caller, type CallerKind } from './caller'
import { bearerToken, clientAddress, isLoopbackRequest, isOnLoopbackHost } from './request-facts'
import { AUTH_PATHS, routeKind, type RouteKind } from './route-kinds'
import { createPasswordHashMatcher } from './password-hash'
import { createSecretMatcher } from './secret-match'
import { readCookie, sessionCookieName, type CookieSettings } from './session-cookie'
import { SessionStore } from './session-store'

export interface AuthOptions {
  /** Browsers must sign in with it. null/undefined: no login. */
  password?: string | null
  /** Instead of `password`: a stored salted scrypt hash of it (password-hash.ts; the desktop's Settings page). */
  passwordHash?: string | null
  /** Agents off loopback send it as `Authorization: Bearer <token>`. */
  ingressToken?: string | null
  /** Reviewers' scripts send it as `Authorization: Bearer <token>`: opens the review API (read, decide), nothing else. */
  reviewerToken?: string | null
  /** Allow a non-loopback bind with no password or token, and let any browser in when there is no password. */
  insecure?: boolean
  /**
   * Origins (http(s)://host[:port]) whose pages may open /ws besides Vigil's own (`--allow-origin`); their
   * hosts are also accepted in the Host header (a reverse proxy's name).
   */
  allowOrigins?: readonly string[]
  /** Clock for session expiry and rate limits (tests). */
  now?: () => number
  /** Whether a request comes from this machine (tests simulate remote callers with it). */
  isLoopback?: (req: IncomingMessage) => boolean
  sessionIdleMs?: number
  sessionAbsoluteMs?: number
}

export interface AuthGate {
  readonly requiresLogin: boolean
  readonly hasIngressToken: boolean
  readonly hasReviewerToken: boolean
  readonly insecure: boolean
  /** Host names the Host header may carry besides loopback ones (from allowOrigins). */
  readonly allowedHostnames: readonly string[]
  /** Answers (and returns true for) auth routes and refused requests; false lets the request through. */
  handleHttp(req: IncomingMessage, res: ServerResponse, path: string, bindHost: string): Promise<boolean>
  /** Refuses an upgrade the caller may not make (HTTP 401/403, before any WebSocket frame): true. */
  refuseUpgrade(req: IncomingMessage, socket: Duplex, path: string): boolean
  /** Whether the caller may see more than name and version in /api/status. */
  canSeeDetails(req: IncomingMessage): boolean
  /** Ends expired sessions and closes their sockets (every minute on its own). */
  sweep(): void
  close(): void
}

const SWEEP_MS = 60_000

/** An Origin header that is not Vigil's own origin. */
function foreignOrigin(req: IncomingMessage): boolean {
  return req.headers.origin !== undefined && !isOwnOrigin(req)
}

/** A browser request made by another origin's page, other than a top-level navigation (Sec-Fetch-*). */
function foreignFetch(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site']
  if (typeof site !== 'string' || site === 'same-origin' || site === 'none') return false
  return req.headers['sec-fetch-mode'] !== 'navigate'
}

type Access = { ok: true; token: string | null; caller: Caller } | { ok: false; status: 401 | 403; message: string }

const REVIEWER_REFUSED =
  'Reading or deciding review gates needs a login (open /login, or POST {"password": …} to /api/login) or the reviewer token ' +
  '(Authorization: Bearer <reviewer token>). The agent that raised a gate reads its own with Authorization: Gate <secret>.'

export function createAuth(opts: AuthOptions = {}): AuthGate {
  const checkPassword = opts.password ? createSecretMatcher(opts.password) : opts.passwordHash ? createPasswordHashMatcher(opts.passwordHash) : null
  const checkToken = opts.ingressToken ? createSecretMatcher(opts.ingressToken) : null
  const checkReviewer = opts.reviewerToken ? createSecretMatcher(opts.reviewerToken) : null
  const insecure = opts.insecure ?? false
  const isLoopback = opts.isLoopback ?? isLoopbackRequest
  const sessions = new SessionStore({ now: opts.now, idleMs: opts.sessionIdleMs, absoluteMs: opts.sessionAbsoluteMs })
  const limiter = new LoginRateLimiter({ now: opts.now })
  const allowedOrigins = new Set((opts.allowOrigins ?? []).map(parseAllowedOrigin))
  const originRules: OriginRules = { allowedOrigins, loopbackPagesOnWs: !checkPassword }
  const allowedHostnames = [...allowedOrigins].map((o) => new URL(o).hostname)
  const sweeper = checkPassword ? setInterval(() => sessions.sweep(), SWEEP_MS) : null
  sweeper?.unref()

  const cookieFor = (req: IncomingMessage): CookieSettings => ({
    name: sessionCookieName(req.socket.localPort),
    secure: !isOnLoopbackHost(req)
  })
  /** The caller's token when it names a live session. */
  const sessionOf = (req: IncomingMessage): string | null => {
    if (!checkPassword) return null
    const token = readCookie(req.headers.cookie, cookieFor(req).name)
    return token && sessions.touch(token) ? token : null
  }
  const hasIngressBearer = (req: IncomingMessage): boolean => {
    const token = checkToken ? bearerToken(req) : null
    return token !== null && checkToken!(token)
  }
  const hasReviewerBearer = (req: IncomingMessage): boolean => {
    const token = checkReviewer ? bearerToken(req) : null
    return token !== null && checkReviewer!(token)
  }
  const hasBearer = (req: IncomingMessage): boolean => hasIngressBearer(req) || hasReviewerBearer(req)
  const caller = (req: IncomingMessage, kind: CallerKind): Caller => ({
    kind,
    label: CALLER_LABELS[kind],
    reviewer: kind !== 'agent',
    gateSecret: gateSecretOf(req)
  })
  /** Without a password, whoever may use the interface may also review: this machine, or anyone with --insecure. */
  const openReviewer = (req: IncomingMessage): Caller | null =>
    checkPassword ? null : isLoopback(req) ? caller(req, 'local-no-password') : insecure ? caller(req, 'insecure-no-password') : null

  function access(req: IncomingMessage, kind: RouteKind): Access {
    if (kind === 'public') return { ok: true, token: null, caller: caller(req, 'agent') }
    const token = sessionOf(req)
    if (token) return { ok: true, token, caller: caller(req, 'session') }
    if (kind === 'agent') {
      if (hasReviewerBearer(req)) return { ok: true, token: null, caller: caller(req, 'reviewer-token') }
      if (isLoopback(req) || hasIngressBearer(req) || (insecure && !checkToken && !checkPassword)) return { ok: true, token: null, caller: caller(req, 'agent') }
      return { ok: false, status: 401, message: 'Send Authorization: Bearer <ingress token>, or sign in at /login.' }
    }
    if (kind === 'reviewer') {
      if (hasReviewerBearer(req)) return { ok: true, token: null, caller: caller(req, 'reviewer-token') }
      const open = openReviewer(req)
      if (open) return { ok: true, token: null, caller: open }
      // The review API checks the secret against the one gate it names (and refuses it anywhere else).
      if (gateSecretOf(req) !== null) return { ok: true, token: null, caller: caller(req, 'agent') }
      return { ok: false, status: 401, message: REVIEWER_REFUSED }
    }
    if (checkPassword) return { ok: false, status: 401, message: 'Sign in first: open /login, or POST {"password": …} to /api/login.' }
    const open = openReviewer(req)
    if (open) return { ok: true, token: null, caller: open }
    return {
      ok: false,
      status: 403,
      message: 'This Vigil has no password, so it serves only this machine. Start it with --password-file to use it from elsewhere.'
    }
  }

  function refuseHttp(req: IncomingMessage, res: ServerResponse, path: string, kind: RouteKind, refusal: Extract<Access, { ok: false }>): void {
    const method = req.method ?? 'GET'
    // A browser opening a page (or asset) is sent to sign in; API callers get JSON they can act on.
    if (refusal.status === 401 && checkPassword && kind === 'browser' && !path.startsWith('/api/') && (method === 'GET' || method === 'HEAD')) {
      return redirect(res, AUTH_PATHS.loginPage)
    }
    if (kind === 'agent' || kind === 'reviewer') res.setHeader('www-authenticate', 'Bearer realm="vigil"')
    sendError(res, refusal.status, refusal.status === 401 ? 'unauthorized' : 'forbidden', refusal.message)
  }

  return {
    requiresLogin: checkPassword !== null,
    hasIngressToken: checkToken !== null,
    hasReviewerToken: checkReviewer !== null,
    insecure,
    allowedHostnames,

    async handleHttp(req, res, path, _bindHost) {
      const method = req.method ?? 'GET'
      if (method === 'OPTIONS') {
        res.setHeader('allow', 'GET, HEAD, POST')
        sendError(res, 405, 'bad-request', 'Cross-origin requests are not allowed.')
        return true
      }
      // Any method: a page on another port (or site) gets nothing, even with the user's cookie. Browsers send
      // no Origin on a no-cors GET (an <img>, a no-cors fetch), but do send Fetch Metadata: anything but
      // Vigil's own pages, the user's own navigation (typed, bookmarked) and links followed is refused.
      if ((foreignOrigin(req) || foreignFetch(req)) && !hasBearer(req)) {
        sendError(res, 403, 'forbidden', 'Cross-origin requests are not allowed.')
        return true
      }
      const kind = routeKind(path, method)
      if (kind === 'public') {
        const deps = { checkPassword, sessions, limiter, cookie: cookieFor(req), token: sessionOf(req), clientAddress: clientAddress(req) }
        if (await handleLoginRoute(req, res, path, deps)) return true
      }
      const verdict = access(req, kind)
      if (verdict.ok) {
        recordCaller(req, verdict.caller)
        return false
      }
      refuseHttp(req, res, path, kind, verdict)
      return true
    },

    refuseUpgrade(req, socket, path) {
      recordUpgradeOrigin(req, upgradeOriginAllowed(req, path, originRules, isLoopback(req)))
      const verdict = access(req, routeKind(path))
      if (verdict.ok) {
        if (verdict.token) sessions.bind(verdict.token, socket)
        return false
      }
      const text = verdict.status === 401 ? 'Unauthorized' : 'Forbidden'
      const body = `${verdict.message}\n`
      socket.end(
        `HTTP/1.1 ${verdict.status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      )
      return true
    },

    canSeeDetails(req) {
      return access(req, 'browser').ok
    },

    sweep: () => sessions.sweep(),

    close() {
      if (sweeper) clearInterval(sweeper)
      sessions.clear()
    }
  }
}
