import { Resource } from '../../lib/resource.svelte'

/**
 * One session view's data: refetched when a snapshot changed the session (`version`; one request in
 * flight, latest wins), and cleared when the session changes so a view never shows another session's
 * numbers while loading. Call during component initialisation (it registers an effect).
 */
export function sessionResource<T>(
  source: () => { storeId: string; sessionId: string; version: number },
  fetch: (storeId: string, sessionId: string) => Promise<T>,
  onSessionChange?: () => void
): Resource<T> {
  const resource = new Resource<T>()
  let shownFor = ''
  $effect(() => {
    const { storeId, sessionId, version } = source()
    void version
    const key = `${storeId}/${sessionId}`
    if (shownFor !== key) {
      resource.clear()
      onSessionChange?.()
      shownFor = key
      resource.load(() => fetch(storeId, sessionId))
      return
    }
    // A new snapshot of the same session: at most one request in flight (latest wins).
    resource.refetch(() => fetch(storeId, sessionId))
  })
  return resource
}
