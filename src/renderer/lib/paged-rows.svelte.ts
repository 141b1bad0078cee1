/**
 * Rows of a large server-side list, fetched in fixed-size pages as a virtualised table scrolls.
 * Pages are cached by index; a new query (sort/filter) starts over, a new snapshot of the same
 * query refetches what is in view while the old rows stay on screen (no flash, scroll kept).
 */
import { pageKeys, pageSpan, pagesToFetch, type PageState } from './page-plan'

export interface RowsPage<T> {
  total: number
  rows: T[]
}

type Pages<T> = Readonly<Record<number, readonly T[]>>

export class PagedRows<T> {
  /** Rows in the filtered list (known after the first page arrives). */
  total = $state(0)
  /** True once the current query has an answer. */
  ready = $state(false)
  error = $state<string | null>(null)
  /** page index → rows; replaced (never mutated) so the view updates. */
  pages = $state.raw<Pages<T>>({})

  private key: string | null = null
  private gen = 0
  /** Bookkeeping only (not shown): pages being fetched, and pages from an older snapshot. */
  private inflight: Record<number, true> = {}
  private stale: Record<number, true> = {}
  private lastRange: [number, number] = [0, 0]

  constructor(
    readonly pageSize: number,
    private readonly fetchPage: (offset: number, limit: number) => Promise<RowsPage<T>>,
    /** Extra pages fetched before and after the ones in view. */
    private readonly prefetch = 1
  ) {}

  /** Switches to a query; a different key forgets every page. Returns whether it changed. */
  setQuery(key: string): boolean {
    if (key === this.key) return false
    this.key = key
    this.gen++
    this.inflight = {}
    this.stale = {}
    this.pages = {}
    this.total = 0
    this.ready = false
    this.error = null
    return true
  }

  /**
   * The data changed (a new snapshot): keep showing the pages, refetch those in view now and the
   * neighbours kept around them once the view reaches them (see pagesToFetch).
   */
  refresh(): void {
    this.gen++
    this.inflight = {}
    // Pages far from the view are dropped rather than kept stale forever.
    const [first, last] = pageSpan(this.planState(), ...this.lastRange)
    const kept: Record<number, readonly T[]> = {}
    for (const [i, rows] of Object.entries(this.pages)) {
      const p = Number(i)
      if (p >= first && p <= last) kept[p] = rows
    }
    this.pages = kept
    this.stale = Object.fromEntries(Object.keys(kept).map((k) => [k, true]))
    this.fill(false)
  }

  row(index: number): T | undefined {
    return this.pages[Math.floor(index / this.pageSize)]?.[index % this.pageSize]
  }

  /** Makes sure rows [start, end) and their neighbours are loaded or loading (the view moved there). */
  ensure(start: number, end: number): void {
    this.lastRange = [start, end]
    this.fill(true)
  }

  retry = (): void => {
    this.error = null
    this.stale = Object.fromEntries(Object.keys(this.pages).map((k) => [k, true]))
    this.fill(true)
  }

  private fill(scrolled: boolean): void {
    for (const p of pagesToFetch(this.planState(), ...this.lastRange, scrolled)) this.load(p)
  }

  private planState(): PageState {
    return {
      pageSize: this.pageSize,
      prefetch: this.prefetch,
      total: this.total,
      ready: this.ready,
      loaded: pageKeys(this.pages),
      stale: pageKeys(this.stale),
      inflight: pageKeys(this.inflight)
    }
  }

  private load(page: number): void {
    const gen = this.gen
    this.inflight[page] = true
    this.fetchPage(page * this.pageSize, this.pageSize).then(
      (result) => {
        if (gen !== this.gen) return
        delete this.inflight[page]
        delete this.stale[page]
        // The list may have shrunk under us: pages past the end are gone.
        const pageCount = Math.ceil(result.total / this.pageSize)
        const next: Record<number, readonly T[]> = {}
        for (const [i, rows] of Object.entries(this.pages)) if (Number(i) < pageCount) next[Number(i)] = rows
        if (page < pageCount) next[page] = result.rows
        this.pages = next
        const changed = result.total !== this.total
        this.total = result.total
        this.error = null
        const wasReady = this.ready
        this.ready = true
        // The first answer (or a new total) can reveal pages in view that were not fetched yet.
        if (!wasReady || changed) this.fill(false)
      },
      (err: unknown) => {
        if (gen !== this.gen) return
        delete this.inflight[page]
        this.error = err instanceof Error ? err.message : String(err)
      }
    )
  }
}
