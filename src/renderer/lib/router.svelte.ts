// Hash routes, so the same build works on app:// and on any HTTP path.

export type Route =
  | { name: 'home' }
  | { name: 'welcome' }
  | { name: 'open' }
  | { name: 'attach' }
  | { name: 'store'; id: string }
  | { name: 'run'; id: string }
  | { name: 'not-found'; path: string }

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/'
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
  if (parts.length === 2 && head === 'run' && id) return { name: 'run', id }
  return { name: 'not-found', path }
}

export function href(route: Route): string {
  switch (route.name) {
    case 'store':
    case 'run':
      return `#/${route.name}/${encodeURIComponent(route.id)}`
    case 'home':
      return '#/'
    case 'not-found':
      return `#${route.path}`
    default:
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
}
