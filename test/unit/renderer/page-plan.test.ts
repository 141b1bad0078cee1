import { describe, expect, it } from 'vitest'
import { pageSpan, pagesToFetch, type PageState } from '../../../src/renderer/lib/page-plan'

const state = (over: Partial<PageState> = {}): PageState => ({
  pageSize: 100,
  prefetch: 1,
  total: 1000,
  ready: true,
  loaded: new Set(),
  stale: new Set(),
  inflight: new Set(),
  ...over
})

describe('page plan', () => {
  it('before the first answer fetches only the page at the top of the view', () => {
    expect(pagesToFetch(state({ ready: false, total: 0 }), 250, 280, true)).toEqual([2])
  })

  it('a view fetches its pages and a neighbour either side, within the list', () => {
    expect(pagesToFetch(state(), 0, 26, true)).toEqual([0, 1])
    expect(pagesToFetch(state(), 250, 280, true)).toEqual([1, 2, 3])
    expect(pagesToFetch(state({ total: 260 }), 250, 260, true)).toEqual([1, 2])
    expect(pageSpan(state(), 90, 116, 0)).toEqual([0, 1])
  })

  it('after a new snapshot only the stale pages in view are refetched, not the neighbours kept around them', () => {
    const s = state({ loaded: new Set([0, 1]), stale: new Set([0, 1]) })
    expect(pagesToFetch(s, 0, 26, false)).toEqual([0])
    // A view across a page boundary has both pages in view (and page 2, never loaded, is fetched).
    expect(pagesToFetch(s, 90, 116, false)).toEqual([0, 1, 2])
  })

  it('a stale neighbour is refetched once the view moves (scrolled), and a missing one at once', () => {
    const s = state({ loaded: new Set([0, 1]), stale: new Set([1]) })
    expect(pagesToFetch(s, 0, 26, false)).toEqual([])
    expect(pagesToFetch(s, 10, 36, true)).toEqual([1])
    expect(pagesToFetch(state({ loaded: new Set([0]) }), 0, 26, false)).toEqual([1])
  })

  it('never fetches a page already in flight, nor a current one', () => {
    const s = state({ loaded: new Set([1, 2]), inflight: new Set([3]) })
    expect(pagesToFetch(s, 250, 280, true)).toEqual([])
  })
})
