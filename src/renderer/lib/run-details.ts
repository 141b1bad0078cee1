// Pure helpers for the live run views (timeline, flow, tools): no DOM, easy to reason about.
import { headGraphemes } from '../../shared/graphemes'
import type { DelegationView, RunDetail, TaskView, ToolCallView } from '../../shared/model/live'

/** Pretty-prints a JSON string (2-space indent); anything that is not JSON comes back as is. */
export function prettyJson(text: string | null | undefined): string {
  if (text === null || text === undefined) return ''
  const trimmed = text.trim()
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return text
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2)
  } catch {
    return text
  }
}

/** SUCCESS is fine, null is unknown, every other word is a failure (FAILURE, ERROR, …). */
export function isToolFailure(outcome: string | null): boolean {
  return outcome !== null && outcome !== 'SUCCESS'
}

export function toolOutcomeLabel(outcome: string | null): string {
  return outcome ?? 'UNKNOWN'
}

export function toolOutcomeStatus(outcome: string | null): string {
  return outcome === null ? 'unknown' : outcome === 'SUCCESS' ? 'completed' : 'failed'
}

export function ms(iso: string | null | undefined): number | null {
  if (!iso) return null
  // A live run's page reads the same times every frame (each of up to 1,000 tool calls, each task):
  // parsed once. Bounded: past PARSED_MAX distinct strings the cache starts over, and a string longer
  // than an ISO time (an agent's odd task time) is parsed but not kept.
  const kept = parsed.get(iso)
  if (kept !== undefined) return kept
  const t = Date.parse(iso)
  const value = Number.isNaN(t) ? null : t
  if (iso.length > PARSED_MAX_CHARS) return value
  if (parsed.size >= PARSED_MAX) parsed.clear()
  parsed.set(iso, value)
  return value
}
const PARSED_MAX = 8192
const PARSED_MAX_CHARS = 64
const parsed = new Map<string, number | null>()

export interface Span {
  start: number
  end: number
  open: boolean
}

/** Where a task sits in time; a running task ends "now" (it grows live). */
export function taskSpan(task: TaskView, now: number): Span | null {
  const start = ms(task.startedAt)
  if (start === null) return null
  const end = ms(task.endedAt)
  if (end !== null) return { start, end: Math.max(start, end), open: false }
  return { start, end: Math.max(start, now), open: task.status === 'running' }
}

/** A task's duration as the timeline draws it, for every table, bar and card: one definition. */
export function taskDurationMs(task: TaskView, now: number): number | null {
  const span = taskSpan(task, now)
  return span ? span.end - span.start : task.durationMs
}

/** Delegation frames carry no timestamps: trust the duration over replay-time receive stamps. */
export function delegationSpan(d: DelegationView, now: number): Span | null {
  const received = ms(d.startedAt)
  const ended = ms(d.endedAt)
  if (received === null) return null
  if (ended !== null) {
    const start = d.durationMs !== null && d.durationMs > 0 ? Math.min(received, ended - d.durationMs) : received
    return { start, end: Math.max(start, ended), open: false }
  }
  return { start: received, end: Math.max(received, now), open: true }
}

export interface PlacedTool {
  call: ToolCallView
  at: number
  /** True when the receive time fell outside the task (late-join replay): the position is a guess. */
  approximate: boolean
}

/**
 * Places tool calls on the time axis. tool_called has no timestamp, so a call received outside
 * its task's span (e.g. replayed at late join) is spread evenly over the task instead.
 */
export function placeTools(calls: ToolCallView[], tasks: TaskView[], now: number): PlacedTool[] {
  const byTask = new Map<number | null, ToolCallView[]>()
  for (const c of calls) {
    const list = byTask.get(c.taskIndex) ?? []
    list.push(c)
    byTask.set(c.taskIndex, list)
  }
  // The last task of each index (a retried index keeps its latest attempt), found once, not per call group.
  const lastTask = new Map<number, TaskView>()
  for (const t of tasks) lastTask.set(t.taskIndex, t)
  const placed: PlacedTool[] = []
  for (const [taskIndex, list] of byTask) {
    const task = taskIndex === null ? undefined : lastTask.get(taskIndex)
    const span = task ? taskSpan(task, now) : null
    // A task not ended yet has no end to be outside of: a call received after `now` (a clock that ticks
    // once a second) is its latest, not a replayed one to spread over the task (which moved every
    // marker of a busy running task on each update).
    const openEnded = task !== undefined && ms(task.endedAt) === null
    list.forEach((call, i) => {
      const received = ms(call.at) ?? now
      const inside = span === null || (received >= span.start && (openEnded || received <= span.end + 1))
      if (inside || span === null) {
        placed.push({ call, at: received, approximate: false })
      } else {
        const width = span.end - span.start
        placed.push({ call, at: span.start + (width * (i + 1)) / (list.length + 1), approximate: true })
      }
    })
  }
  return placed.sort((a, b) => a.at - b.at)
}

/** The time window a run's timeline shows. */
export function runWindow(run: RunDetail, now: number): { start: number; end: number } {
  const starts: number[] = []
  const ends: number[] = []
  const rs = ms(run.startedAt)
  if (rs !== null) starts.push(rs)
  for (const t of run.tasks) {
    const s = taskSpan(t, now)
    if (s) {
      starts.push(s.start)
      ends.push(s.end)
    }
  }
  for (const d of run.delegations ?? []) {
    const s = delegationSpan(d, now)
    if (s) {
      starts.push(s.start)
      ends.push(s.end)
    }
  }
  const re = ms(run.endedAt)
  if (re !== null) ends.push(re)
  else if (run.status === 'running') ends.push(now)
  const start = starts.length ? Math.min(...starts) : now
  const end = Math.max(start + 1000, ...ends)
  return { start, end }
}

/** Placed tool calls grouped by task index (each list keeps the time order of `placed`). */
export function toolsByTask(placed: PlacedTool[]): Map<number, PlacedTool[]> {
  const out = new Map<number, PlacedTool[]>()
  for (const p of placed) {
    if (p.call.taskIndex === null) continue
    const list = out.get(p.call.taskIndex)
    if (list) list.push(p)
    else out.set(p.call.taskIndex, [p])
  }
  return out
}

/**
 * The end of a live axis, rounded up so that it moves in steps of 5–10 % of the elapsed span (a 1-2-5
 * unit): a growing run rescales its timeline a few times a minute instead of on every update.
 */
export function steppedEnd(start: number, end: number): number {
  const span = Math.max(1, end - start)
  const target = span / 10
  const pow = 10 ** Math.floor(Math.log10(target))
  const unit = [5, 2, 1].map((m) => m * pow).find((u) => u <= target) ?? pow
  return start + Math.ceil(span / unit) * unit
}

/** Round tick steps for a time axis (ms). */
const STEPS = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000]

export function axisTicks(start: number, end: number, pxWidth: number, minGapPx = 90): number[] {
  const span = Math.max(1, end - start)
  const step = STEPS.find((s) => (s / span) * pxWidth >= minGapPx) ?? STEPS[STEPS.length - 1]!
  const ticks: number[] = []
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t)
  return ticks
}

/**
 * Columns of the flow graph: tasks in start order; a task joins the current column when it
 * started before every task in that column ended (they ran side by side), else opens the next.
 */
export function flowColumns(tasks: TaskView[], workflow: string | null, now: number): TaskView[][] {
  const ordered = [...tasks].sort((a, b) => (ms(a.startedAt) ?? Infinity) - (ms(b.startedAt) ?? Infinity) || a.taskIndex - b.taskIndex)
  if ((workflow ?? '').toUpperCase() === 'SEQUENTIAL') return ordered.map((t) => [t])
  const columns: TaskView[][] = []
  let columnEnd = -Infinity
  for (const t of ordered) {
    const span = taskSpan(t, now)
    const current = columns.at(-1)
    if (current && span && span.start < columnEnd) {
      current.push(t)
      columnEnd = Math.max(columnEnd, span.end)
    } else {
      columns.push([t])
      columnEnd = span ? span.end : Infinity
    }
  }
  return columns
}

export function formatClock(t: number, withMs = false): string {
  const d = new Date(t)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  return withMs ? `${base}.${pad(d.getMilliseconds(), 3)}` : base
}

/** At most `max` graphemes, "…" when cut: never inside an emoji, a flag or a letter's accents. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  return headGraphemes(text, max).length === text.length ? text : `${headGraphemes(text, max - 1)}…`
}
