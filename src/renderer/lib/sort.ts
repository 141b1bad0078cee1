export type SortDir = 'asc' | 'desc'

export interface SortState<K extends string> {
  key: K
  dir: SortDir
}

/** Sorts a copy; nulls last whatever the direction, strings by locale, numbers numerically. */
export function sortBy<T, K extends string>(rows: readonly T[], sort: SortState<K>, value: (row: T, key: K) => unknown): T[] {
  const sign = sort.dir === 'asc' ? 1 : -1
  return rows.toSorted((a, b) => {
    const va = value(a, sort.key)
    const vb = value(b, sort.key)
    if (va === vb) return 0
    if (va === null || va === undefined) return 1
    if (vb === null || vb === undefined) return -1
    if (typeof va === 'number' && typeof vb === 'number') return (va - vb) * sign
    return String(va).localeCompare(String(vb)) * sign
  })
}

/** Clicking a header: the same column flips its direction, a new one starts at `first` (newest/largest first by default). */
export function nextSort<K extends string>(current: SortState<K>, key: K, first: SortDir = 'desc'): SortState<K> {
  if (current.key !== key) return { key, dir: first }
  return { key, dir: current.dir === 'desc' ? 'asc' : 'desc' }
}
