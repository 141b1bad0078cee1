// Keys for keyed {#each} blocks over store rows. Perspt's schema does not make every id unique
// (e.g. provisional_branches.branch_id), and a repeated key makes Svelte throw each_key_duplicate
// and blank the whole view: every row gets a unique key and repeats are listed, not hidden.

/** One key per item, in order: an id's first row keeps it, later rows get "<id>\u0000<n>" (never colliding). */
export function uniqueKeys<T>(items: readonly T[], keyOf: (item: T) => string): string[] {
  const seen = new Set<string>()
  const next = new Map<string, number>()
  return items.map((item) => {
    const base = keyOf(item)
    let key = base
    let n = next.get(base) ?? 1
    while (seen.has(key)) key = `${base}\u0000${++n}`
    next.set(base, n)
    seen.add(key)
    return key
  })
}

/** How many items share each id that occurs more than once. */
export function repeatedIds<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) {
    const k = keyOf(item)
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  for (const [k, n] of counts) if (n < 2) counts.delete(k)
  return counts
}
