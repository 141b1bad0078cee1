// Which pages of a paged server-side list to fetch for a view (see PagedRows). Plain functions, so
// the choice is unit-tested without Svelte.

export interface PageState {
  pageSize: number
  /** Extra pages kept loaded before and after the ones in view. */
  prefetch: number
  /** Rows in the list; unknown (0) before the first answer. */
  total: number
  ready: boolean
  loaded: ReadonlySet<number>
  stale: ReadonlySet<number>
  inflight: ReadonlySet<number>
}

/** The pages rows [start, end) fall on, with `extra` pages either side, within the list. */
export function pageSpan(s: PageState, start: number, end: number, extra = s.prefetch): [number, number] {
  // Before the first answer the total is unknown: only the page at the top of the view.
  if (!s.ready) {
    const p = Math.floor(start / s.pageSize)
    return [p, p]
  }
  const first = Math.max(0, Math.floor(start / s.pageSize) - extra)
  const wanted = Math.floor(Math.max(start, end - 1) / s.pageSize) + extra
  const last = Math.min(wanted, Math.max(0, Math.ceil(s.total / s.pageSize) - 1))
  return [first, Math.max(first, last)]
}

/**
 * The pages to fetch for rows [start, end) in view. `scrolled`: the view moved, so every page in
 * view and its neighbours must be current. Otherwise (a new snapshot, an answer that changed the
 * total) only pages in view are refetched when stale: a neighbour is fetched if it is missing, and
 * refetched only once the view reaches it, so a live list costs one request per snapshot, not three.
 */
export function pagesToFetch(s: PageState, start: number, end: number, scrolled: boolean): number[] {
  const [first, last] = pageSpan(s, start, end)
  const [viewFirst, viewLast] = pageSpan(s, start, end, 0)
  const out: number[] = []
  for (let p = first; p <= last; p++) {
    if (s.inflight.has(p)) continue
    const inView = p >= viewFirst && p <= viewLast
    if (!s.loaded.has(p) || (s.stale.has(p) && (scrolled || inView))) out.push(p)
  }
  return out
}

/** The page numbers of a page-indexed record. */
export function pageKeys(pages: Readonly<Record<number, unknown>>): Set<number> {
  return new Set(Object.keys(pages).map(Number))
}
