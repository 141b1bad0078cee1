// Which rule guards a path. "agent" routes are those machines call to publish or raise a review gate:
// a loopback caller needs nothing, others a bearer token or a login. "reviewer" routes read or decide
// review gates (SECURITY.md "Who may raise, see and decide a gate"): with a password they need a login
// or the reviewer token, also from loopback. Everything else is for browsers.

export type RouteKind = 'public' | 'agent' | 'reviewer' | 'browser'

export const AUTH_PATHS = { loginPage: '/login', logoutPage: '/logout', login: '/api/login', logout: '/api/logout' } as const

/** Answers name and version only, unless the caller could see the rest. */
export const STATUS_PATH = '/api/status'

const PUBLIC = new Set<string>([...Object.values(AUTH_PATHS), STATUS_PATH])
const AGENT = new Set(['/ingress', '/api/hub/ingress', '/v1/traces'])
const REVIEWS = '/api/reviews'

/** The kind of `method path`: raising a gate (POST /api/reviews) is an agent's; every other review route a reviewer's. */
export function routeKind(path: string, method = 'GET'): RouteKind {
  if (PUBLIC.has(path)) return 'public'
  if (AGENT.has(path)) return 'agent'
  if (path === REVIEWS) return method === 'POST' ? 'agent' : 'reviewer'
  if (path.startsWith(`${REVIEWS}/`)) return 'reviewer'
  return 'browser'
}
