import type { AppState } from '../../lib/app-state.svelte'
import type { SessionViewName } from '../../lib/router.svelte'

/** Builds a link to another view of the same session, e.g. link('llm', { node: 'n3' }). */
export type SessionLink = (view: SessionViewName, params?: Record<string, string>) => string

/** What SessionShell gives every session view. */
export interface SessionViewProps {
  app: AppState
  storeId: string
  sessionId: string
  /** The store's snapshot version: views refetch when it changes. */
  version: number
  link: SessionLink
  /** The route's query parameters, e.g. { node: 'n3' } to preselect a node. */
  params: Record<string, string>
}
