// Hash routes, so the same build works on app:// and on any HTTP path.
import { decodeIdSegment, encodeIdSegment } from './route-ids'

export const SESSION_VIEWS = ['summary', 'dag', 'nodes', 'energy', 'passes', 'llm', 'sandbox', 'decisions'] as const
export type SessionViewName = (typeof SESSION_VIEWS)[number]

export type Route =
  | { name: 'home' }
  | { name: 'session'; storeId: string; sessionId: string; view: SessionViewName; params: Record<string, string> }
  | { name: 'welcome' }
  | { name: 'open' }
  | { name: 'attach' }
  | { name: 'store'; id: string }
  | { name: 'run'; id: string }
  | { name: 'reviews' }
  /** One gate; `edit` opens its editor (the desktop dialog's "Edit…" lands here). */
  | { name: 'review'; id: string; edit: boolean }
  | { name: 'review-history' }
  | { name: 'settings' }
  | { name: 'not-found'; path: string }

export function parseRoute(hash: string): Route {
  const full = hash.replace(/^#/, '') || '/'
  const [path = '/', search = ''] = full.split('?', 2)
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- parsed once into a plain object, never kept as state
  const params = Object.fromEntries(new URLSearchParams(search))
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p)
    } catch {
      return p
    }
  })
  if (parts.length === 0) return { name: 'home' }
  const [head, id] = parts
  if (parts.length === 1 && (head === 'welcome' || head === 'open' || head === 'attach')) return { name: head }
  if (parts.length === 2 && head === 'store' && id) return { name: 'store', id }
  if ((parts.length === 4 || parts.length === 5) && head === 'store' && id && parts[2] === 'session' && parts[3]) {
    const view = (parts[4] ?? 'summary') as SessionViewName
    if (SESSION_VIEWS.includes(view)) return { name: 'session', storeId: id, sessionId: decodeIdSegment(parts[3]), view, params }
  }
  if (parts.length === 2 && head === 'run' && id) return { name: 'run', id }
  if (parts.length === 1 && head === 'settings') return { name: 'settings' }
  if (head === 'reviews' && parts.length === 1) return { name: 'reviews' }
  if (head === 'reviews' && parts.length === 2 && id === 'history') return { name: 'review-history' }
  if (head === 'reviews' && parts.length === 2 && id) return { name: 'review', id, edit: params.edit === '1' }
  return { name: 'not-found', path }
}

export function href(route: Route): string {
  switch (route.name) {
    case 'session': {
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- only serialised, never kept as state
      const query = new URLSearchParams(route.params).toString()
      return `#/store/${encodeURIComponent(route.storeId)}/session/${encodeIdSegment(route.sessionId)}/${route.view}${query ? `?${query}` : ''}`
    }
    case 'store':
    case 'run':
      return `#/${route.name}/${encodeURIComponent(route.id)}`
    case 'reviews':
      return '#/reviews'
    case 'review':
      return `#/reviews/${encodeURIComponent(route.id)}${route.edit ? '?edit=1' : ''}`
    case 'review-history':
      return '#/reviews/history'
    case 'home':
      return '#/'
    case 'settings':
      return '#/settings'
    case 'not-found':
      return `#${route.path}`
    case 'welcome':
    case 'open':
    case 'attach':
      return `#/${route.name}`
  }
}

export class Router {
  route = $state<Route>(parseRoute(window.location.hash))

  constructor() {
    window.addEventListener('hashchange', () => {
      this.route = parseRoute(window.location.hash)
    })
  }

  go(target: string): void {
    window.location.hash = target.replace(/^#/, '')
  }

  /** Like go(), without a new history entry (moving through a queue, opening an editor). */
  replace(target: string): void {
    window.location.replace(`#${target.replace(/^#/, '')}`)
  }
}
