/**
 * The pure part of DataTable (components/DataTable.svelte): column definitions, the text and
 * per-column filters, sorting and the virtual window maths. No Svelte state here, so it is unit-tested
 * as plain functions (test/unit/renderer/table.test.ts).
 */
import type { Snippet } from 'svelte'
import { sortBy, type SortState } from './sort'

export interface Column<T> {
  /** Stable id: the sort key, and the key of this column's width and filter. */
  id: string
  /** Header text, in plain words (units and time zone included, e.g. "Started (UTC+1)"). */
  label: string
  /** Header tooltip: what the column means, where the label alone is not enough. */
  title?: string
  /** The row's value: sorted and searched on, and shown (through `format`) when there is no `cell`. */
  value?: (row: T) => unknown
  /** Display text; defaults to the value as text, "—" when null. Also what the text filter searches. */
  format?: (row: T) => string
  /** Sort on this instead of `value` (e.g. a lower-cased name, a total of two counts). */
  sortValue?: (row: T) => unknown
  /** Whether the header sorts. Default: when the column has a value or sortValue. */
  sortable?: boolean
  /** Right-aligned tabular figures. */
  numeric?: boolean
  /** Initial width in px; the user can resize it. Columns without one share the space left. */
  width?: number
  /** Narrowest the column gets, in px (default 64; 140 for a column without `width`). Past that the table scrolls sideways. */
  minWidth?: number
  /** Let the text wrap onto more lines (rows grow; do not combine with a fixed rowHeight). Default: one line, ellipsis. */
  wrap?: boolean
  /** Part of the text filter (default true when the column has a value or format). */
  searchable?: boolean
  /** A per-column choice filter in the toolbar: every distinct value with its count; a function labels the values. */
  choices?: boolean | ((value: string) => string)
  /** Custom cell content; gets the row and its index in the shown rows. */
  cell?: Snippet<[T, number]>
  /** Extra class on every cell of this column (styles passed with :global from the owner). */
  class?: string
}

/** Value of a column's choice filter for "no filter". */
export const ANY = '\u0000any'

export function cellText<T>(col: Column<T>, row: T): string {
  if (col.format) return col.format(row)
  const v = col.value?.(row)
  if (v === null || v === undefined || v === '') return '—'
  return String(v)
}

export function isSortable<T>(col: Column<T>): boolean {
  return col.sortable ?? (col.value !== undefined || col.sortValue !== undefined)
}

function isSearchable<T>(col: Column<T>): boolean {
  return col.searchable ?? (col.value !== undefined || col.format !== undefined)
}

function choiceKey<T>(col: Column<T>, row: T): string {
  const v = col.value?.(row)
  return v === null || v === undefined ? '' : String(v)
}

export interface TableQuery<T> {
  /** Free text; every word must appear (case-insensitive) in the row's searchable text. */
  search?: string
  /** What the text filter looks at; default the searchable columns' text. */
  searchText?: (row: T) => string
  /** Column id → chosen value (ANY or absent for no filter). */
  choices?: Readonly<Record<string, string>>
  /** The owner's own filter (its toolbar controls). */
  where?: (row: T) => boolean
  sort?: SortState<string> | null
}

/** The rows to show: filtered by the owner's predicate, the column choices and the text, then sorted (a copy). */
export function queryRows<T>(rows: readonly T[], columns: readonly Column<T>[], q: TableQuery<T>): T[] {
  const words = (q.search ?? '').trim().toLowerCase().split(/\s+/).filter(Boolean)
  const searchCols = columns.filter(isSearchable)
  const text = q.searchText ?? ((row: T) => searchCols.map((c) => cellText(c, row)).join('\u0001'))
  const chosen = columns.filter((c) => c.choices && q.choices?.[c.id] !== undefined && q.choices[c.id] !== ANY)
  const out = rows.filter((row) => {
    if (q.where && !q.where(row)) return false
    for (const c of chosen) if (choiceKey(c, row) !== q.choices![c.id]) return false
    if (words.length) {
      const t = text(row).toLowerCase()
      for (const w of words) if (!t.includes(w)) return false
    }
    return true
  })
  const col = q.sort ? columns.find((c) => c.id === q.sort!.key) : undefined
  if (!q.sort || !col || !isSortable(col)) return out
  const get = col.sortValue ?? col.value
  if (!get) return out
  return sortBy(out, q.sort, (row) => get(row))
}

export interface Choice {
  value: string
  label: string
  count: number
}

/** The options of a column's choice filter: its distinct values (sorted by label) with how many rows have each. */
export function choiceOptions<T>(rows: readonly T[], col: Column<T>): Choice[] {
  const counts = new Map<string, number>()
  for (const row of rows) {
    const k = choiceKey(col, row)
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  const label = typeof col.choices === 'function' ? col.choices : (v: string) => (v === '' ? '(none)' : v)
  return [...counts].map(([value, count]) => ({ value, label: label(value), count })).sort((a, b) => a.label.localeCompare(b.label))
}

export interface WindowRange {
  /** First row rendered. */
  start: number
  /** One past the last row rendered. */
  end: number
  /** Height above the first rendered row, px. */
  offset: number
  /** Height of every row together, px. */
  total: number
}

/** Which fixed-height rows to render for a scroll position: the ones in view plus `overscan` either side. */
export function windowRange(count: number, scrollTop: number, viewportHeight: number, rowHeight: number, overscan: number): WindowRange {
  const start = Math.min(Math.max(0, Math.floor(scrollTop / rowHeight) - overscan), Math.max(0, count - 1))
  const visible = Math.ceil(viewportHeight / rowHeight) + overscan * 2
  const end = Math.min(count, start + visible)
  return { start: count === 0 ? 0 : start, end, offset: (count === 0 ? 0 : start) * rowHeight, total: count * rowHeight }
}

/** The scrollTop that brings row `index` into view (unchanged when it is already fully visible); `top` is space taken by a sticky header. */
export function scrollToShow(index: number, rowHeight: number, scrollTop: number, viewportHeight: number, top = 0): number {
  const rowTop = index * rowHeight
  const rowBottom = rowTop + rowHeight
  if (rowTop < scrollTop) return rowTop
  if (rowBottom > scrollTop + viewportHeight - top) return rowBottom - viewportHeight + top
  return scrollTop
}

/** Where a keyboard move lands in a list of `count` rows: arrows by one, Page keys by `page`, Home/End to the ends; null for other keys. */
export function moveIndex(key: string, current: number, count: number, page: number): number | null {
  if (count === 0) return null
  const last = count - 1
  const from = current < 0 ? -1 : current
  switch (key) {
    case 'ArrowDown':
      return Math.min(last, from + 1)
    case 'ArrowUp':
      return from < 0 ? 0 : Math.max(0, from - 1)
    case 'PageDown':
      return Math.min(last, Math.max(0, from) + page)
    case 'PageUp':
      return Math.max(0, from - page)
    case 'Home':
      return 0
    case 'End':
      return last
    default:
      return null
  }
}

/**
 * The table's narrowest width: sized columns at their width (never under their minimum), and every
 * flexible column at the largest flexible minimum (a fixed-layout table shares the rest equally).
 */
export function minTableWidth<T>(columns: readonly Column<T>[], widths: Readonly<Record<string, number>>): number {
  let fixed = 0
  let flex = 0
  let flexMin = 0
  for (const c of columns) {
    const w = widths[c.id] ?? c.width
    if (w !== undefined) fixed += Math.max(w, minWidthOf(c))
    else {
      flex++
      flexMin = Math.max(flexMin, minWidthOf(c))
    }
  }
  return fixed + flex * flexMin
}

/** Narrowest a column gets: its minWidth (default 64, or 140 without a width), and never so narrow that a word of its header breaks. */
export function minWidthOf<T>(col: Column<T>): number {
  return Math.max(col.minWidth ?? (col.width === undefined ? 140 : 64), labelWidth(col))
}

/** Room for the header's longest word: 12 px semi-bold ≈ 7.4 px a character, the cell padding and the sort arrow. */
function labelWidth<T>(col: Column<T>): number {
  const longest = Math.max(0, ...col.label.split(/\s+/).map((w) => w.length))
  return Math.ceil(longest * 7.4) + 22 + (isSortable(col) ? 14 : 0)
}
