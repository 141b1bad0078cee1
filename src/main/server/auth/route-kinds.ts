// Which rule guards a path. "agent" routes are those machines call (publishers, review-API clients):
// a loopback caller needs nothing, others a bearer token or a login. Everything else is for browsers.

export type RouteKind = 'public' | 'agent' | 'browser'

export const AUTH_PATHS = { loginPage: '/login', logoutPage: '/logout', login: '/api/login', logout: '/api/logout' } as const

/** Answers name and version only, unless the caller could see the rest. */
export const STATUS_PATH = '/api/status'

const PUBLIC = new Set<string>([...Object.values(AUTH_PATHS), STATUS_PATH])
const AGENT = new Set(['/ingress', '/api/hub/ingress'])

export function routeKind(path: string): RouteKind {
  if (PUBLIC.has(path)) return 'public'
  if (AGENT.has(path) || path === '/api/reviews' || path.startsWith('/api/reviews/')) return 'agent'
  return 'browser'
}
