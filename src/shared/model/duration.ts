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

/**
 * A Perspt session's duration, the same in the table, the summary and the Now page: a running session
 * is measured to now; one that stopped moving (stale, paused) to its last activity; a finished one to
 * its last update.
 */
export function sessionDurationMs(
  row: { status: string; createdAt: string | null; updatedAt: string | null; lastActivityAt?: string | null; durationMs: number | null },
  now: number = Date.now()
): number | null {
  if (row.status === 'running') return durationOf(row.createdAt, null, now)
  if (row.status === 'stale' || row.status === 'paused') return durationOf(row.createdAt, row.lastActivityAt ?? row.updatedAt, now)
  return durationOf(row.createdAt, row.updatedAt, now) ?? row.durationMs
}
