// The store page's trends: sessions per day (or per hour, for a store that spans under two days) in
// the local zone, with failures, estimated cost and durations. Computed from the session list the page
// already holds.
import type { SessionRow } from '../../shared/model/perspt'
import { sessionDurationMs } from '../../shared/model/duration'
import { formatTime } from './format'

export interface TrendBucket {
  /** Local start of the day (or hour), seconds since the epoch. */
  t: number
  sessions: number
  /** Failed or aborted. */
  failed: number
  /** Sum of Perspt's cost estimate over the sessions that have a budget row. */
  costUsd: number
  /** Sessions with a cost recorded. */
  costed: number
  /** Median and longest duration of the bucket's sessions, in minutes (null when none is known). */
  medianMin: number | null
  longestMin: number | null
}

export interface SessionTrends {
  unit: 'day' | 'hour'
  buckets: TrendBucket[]
  /** Sessions without a start time (not in any bucket). */
  undated: number
}

const FAILED = new Set(['failed', 'aborted'])

/** Local midnight (or the local hour) of an ISO time, in seconds. */
function localStart(iso: string, unit: 'day' | 'hour'): number | null {
  const s = formatTime(iso) // "YYYY-MM-DD HH:MM:SS" in the local zone
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2})/.exec(s)
  if (!m) return null
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), unit === 'hour' ? Number(m[4]) : 0)
  return Math.floor(d.getTime() / 1000)
}

function median(sorted: number[]): number | null {
  if (sorted.length === 0) return null
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function sessionTrends(rows: readonly SessionRow[], now: number = Date.now()): SessionTrends {
  const times = rows.map((r) => (r.createdAt ? Date.parse(r.createdAt) : NaN))
  const dated = times.filter((t) => Number.isFinite(t))
  const span = dated.length > 1 ? Math.max(...dated) - Math.min(...dated) : 0
  const unit: 'day' | 'hour' = span < 2 * 86_400_000 ? 'hour' : 'day'
  const by = new Map<number, { b: TrendBucket; durations: number[] }>()
  let undated = 0
  rows.forEach((r, i) => {
    const t = Number.isFinite(times[i]) && r.createdAt ? localStart(r.createdAt, unit) : null
    if (t === null) {
      undated++
      return
    }
    let slot = by.get(t)
    if (!slot) by.set(t, (slot = { b: { t, sessions: 0, failed: 0, costUsd: 0, costed: 0, medianMin: null, longestMin: null }, durations: [] }))
    slot.b.sessions++
    if (FAILED.has(r.status)) slot.b.failed++
    if (r.budget && Number.isFinite(r.budget.costUsedUsd)) {
      slot.b.costUsd += r.budget.costUsedUsd
      slot.b.costed++
    }
    const ms = sessionDurationMs(r, now)
    if (ms !== null) slot.durations.push(ms / 60_000)
  })
  const buckets = [...by.values()]
    .sort((a, b) => a.b.t - b.b.t)
    .map(({ b, durations }) => {
      durations.sort((x, y) => x - y)
      return { ...b, medianMin: median(durations), longestMin: durations.length > 0 ? (durations[durations.length - 1] as number) : null }
    })
  return { unit, buckets, undated }
}
