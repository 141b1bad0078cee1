// The routes that sign in and out: GET /login, POST /api/login, POST /api/logout, GET /logout.
// A form POST (the login page) is answered with a page or a redirect, anything else with JSON.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BodyTooLargeError, readBody, sendError, sendJson } from '../json-http'
import { SECURITY_HEADERS } from '../security-headers'
import { renderLoginPage, type LoginPageState } from './login-page'
import type { LoginRateLimiter } from './login-rate-limit'
import { AUTH_PATHS } from './route-kinds'
import type { SessionStore } from './session-store'
import { buildClearedCookie, buildSessionCookie, type CookieSettings } from './session-cookie'

const MAX_LOGIN_BODY = 4096

export interface LoginRouteDeps {
  /** null when no password is set: there is nothing to sign in to. */
  checkPassword: ((candidate: string) => boolean) | null
  sessions: SessionStore
  limiter: LoginRateLimiter
  cookie: CookieSettings
  /** The caller's live session token, if any. */
  token: string | null
  clientAddress: string
}

export function sendPage(res: ServerResponse, status: number, state: LoginPageState, headers: Record<string, string> = {}): void {
  const html = renderLoginPage(state)
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    // Under no-referrer a browser sends "Origin: null" with a form POST, which the CSRF rule refuses;
    // same-origin keeps the real Origin on this page's own forms and still tells other sites nothing.
    'referrer-policy': 'same-origin',
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    ...headers
  })
  res.end(html)
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { location, 'content-length': 0, 'cache-control': 'no-store', ...headers })
  res.end()
}

function isFormPost(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')
}

/** The password field of a form or JSON body; null when absent or not understood. */
function passwordFrom(req: IncomingMessage, body: string): string | null {
  if (isFormPost(req)) return new URLSearchParams(body).get('password')
  try {
    const parsed: unknown = JSON.parse(body)
    const value = typeof parsed === 'object' && parsed !== null ? (parsed as { password?: unknown }).password : undefined
    return typeof value === 'string' ? value : null
  } catch {
    return null
  }
}

/** Handles the sign-in and sign-out routes; false for any other path. */
export async function handleLoginRoute(req: IncomingMessage, res: ServerResponse, path: string, deps: LoginRouteDeps): Promise<boolean> {
  const method = req.method ?? 'GET'
  switch (path) {
    case AUTH_PATHS.loginPage:
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET')
      if (!deps.checkPassword) redirect(res, '/')
      else sendPage(res, 200, deps.token ? { kind: 'signed-in' } : { kind: 'form' })
      return true
    case AUTH_PATHS.logoutPage:
      // Signing out is a POST (the page behind this link has the button); a GET must change nothing.
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET')
      redirect(res, AUTH_PATHS.loginPage)
      return true
    case AUTH_PATHS.login:
      if (method !== 'POST') return methodNotAllowed(res, 'POST')
      await login(req, res, deps)
      return true
    case AUTH_PATHS.logout:
      if (method !== 'POST') return methodNotAllowed(res, 'POST')
      if (deps.token) deps.sessions.revoke(deps.token)
      if (isFormPost(req)) redirect(res, AUTH_PATHS.loginPage, { 'set-cookie': buildClearedCookie(deps.cookie) })
      else {
        res.setHeader('set-cookie', buildClearedCookie(deps.cookie))
        sendJson(res, 200, { ok: true, value: null })
      }
      return true
    default:
      return false
  }
}

async function login(req: IncomingMessage, res: ServerResponse, deps: LoginRouteDeps): Promise<void> {
  const asPage = isFormPost(req)
  if (!deps.checkPassword) return sendError(res, 404, 'not-found', 'This Vigil has no password: there is nothing to sign in to.')

  // Counted now, as the request arrives and before its body is read (login-rate-limit.ts): sending every
  // head first and every body later gets no more passwords checked than sending them one by one.
  const admission = deps.limiter.begin(deps.clientAddress)
  if (!admission.ok) {
    const wait = admission.retryAfterSeconds
    const message = `Too many attempts, try again in ${wait} s.`
    const headers = { 'retry-after': String(wait) }
    if (asPage) return sendPage(res, 429, { kind: 'form', error: message }, headers)
    res.setHeader('retry-after', String(wait))
    return sendError(res, 429, 'rate-limited', message)
  }

  let body: string
  try {
    body = (await readBody(req, MAX_LOGIN_BODY)).toString('utf8')
  } catch (err) {
    if (err instanceof BodyTooLargeError) return sendError(res, 413, 'bad-request', `Body over ${MAX_LOGIN_BODY} bytes.`)
    throw err
  }
  const password = passwordFrom(req, body)
  if (password === null || !deps.checkPassword(password)) {
    // The attempt stays counted: it is a failure now.
    const message = password === null ? 'Enter the password.' : 'Wrong password.'
    if (asPage) return sendPage(res, 401, { kind: 'form', error: message })
    return sendError(res, 401, 'unauthorized', password === null ? 'Send {"password": "…"} as JSON or a form.' : message)
  }

  admission.attempt.succeeded()
  // A fresh token for every login; the one this browser held before (if any) ends here.
  if (deps.token) deps.sessions.revoke(deps.token)
  const cookie = buildSessionCookie(deps.sessions.create(), deps.sessions.maxAgeSeconds, deps.cookie)
  if (asPage) return redirect(res, '/', { 'set-cookie': cookie })
  res.setHeader('set-cookie', cookie)
  sendJson(res, 200, { ok: true, value: null })
}

function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('allow', allow)
  sendError(res, 405, 'bad-request', `Use ${allow}.`)
  return true
}
