// One duration definition for every table, timeline bar, flow and header in Vigil: end minus start,
// where a thing that has not ended is measured to `now`. Unknown or reversed times give null.

/** Milliseconds from `start` to `end` (or to `now` when there is no end yet); null when unknown. */
export function durationOf(start: string | null | undefined, end: string | null | undefined, now: number = Date.now()): number | null {
  if (!start) return null
  const s = Date.parse(start)
  if (!Number.isFinite(s)) return null
  const e = end ? Date.parse(end) : now
  if (!Number.isFinite(e) || e < s) return null
  return e - s
}
