// What every chart shares: series colours from CSS custom properties, time ticks in the local zone,
// and the numbers behind a chart as table rows (the screen-reader fallback). No uPlot here.
import type { LlmSeriesPoint } from '../../shared/model/perspt-timeline'
import { formatTime } from './format'

/** One line (or bars, or points) of a chart; `color` names a CSS custom property, e.g. '--chart-1'. */
export interface ChartSeriesSpec {
  label: string
  color: string
  values: ReadonlyArray<number | null>
  width?: number
  dash?: number[]
  style?: 'line' | 'bars' | 'points'
  /** Shown in hover values and the table; the chart's yFormat when absent. */
  format?: (v: number) => string
}

/** The eight series colours, in order; each meets 3:1 against the surface in both themes (Chart.svelte). */
export const CHART_COLORS = ['--chart-1', '--chart-2', '--chart-3', '--chart-4', '--chart-5', '--chart-6', '--chart-7', '--chart-8'] as const
export const chartColor = (i: number): string => CHART_COLORS[((i % CHART_COLORS.length) + CHART_COLORS.length) % CHART_COLORS.length] as string

/** A colour from getComputedStyle (hex or rgb()) at some opacity; other forms are returned as they are. */
export function withAlpha(color: string, alpha: number): string {
  const c = color.trim()
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(c)
  if (hex) {
    const h = hex[1] as string
    const full = h.length === 3 ? h.split('').map((x) => x + x).join('') : h
    const n = parseInt(full, 16)
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`
  }
  const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(c)
  if (rgb) return `rgba(${rgb[1]}, ${rgb[2]}, ${rgb[3]}, ${alpha})`
  return c
}

/** Tick labels for a time axis (x in seconds): times within a day, dates with times across days. */
export function timeTicks(ticks: number[], spanSeconds: number): string[] {
  const texts = ticks.map((t) => formatTime(new Date(t * 1000).toISOString()))
  // Dates within one year drop the year (the table and the hover say it in full).
  const oneYear = new Set(texts.map((s) => s.slice(0, 4))).size <= 1
  return texts.map((s) => {
    if (spanSeconds > 3 * 86_400) return oneYear ? s.slice(5, 10) : s.slice(0, 10)
    if (spanSeconds > 86_400) return s.slice(5, 16)
    return spanSeconds > 600 ? s.slice(11, 16) : s.slice(11)
  })
}

/** Width in px of one character of an axis tick label (11px system-ui digits, rounded up). */
export const TICK_CHAR_PX = 6.6
/** Clear space between two tick labels, px. */
export const TICK_GAP_PX = 14

/**
 * The least distance between ticks (uPlot's axis `space`) so that labels of `labels`' longest length never
 * touch: "06-14 00:00" needs about 87 px, where uPlot's default 50 px draws "06-14 00:0006-14 08:00".
 */
export function tickSpace(labels: readonly string[], min = 50): number {
  const longest = labels.reduce((n, l) => Math.max(n, l.length), 0)
  return Math.max(min, Math.ceil(longest * TICK_CHAR_PX + TICK_GAP_PX))
}

/**
 * Tick labels that would still overlap (uPlot may place ticks closer than `space` when its steps are
 * coarse) are blanked: the first label is kept, then each next one only where it clears the last one kept.
 * `positions`: each tick's centre in px along the axis.
 */
export function thinTickLabels(labels: readonly string[], positions: readonly number[]): string[] {
  let lastRight = -Infinity
  return labels.map((label, i) => {
    const half = (label.length * TICK_CHAR_PX) / 2
    const at = positions[i] ?? 0
    if (label === '' || at - half < lastRight + TICK_GAP_PX) return ''
    lastRight = at + half
    return label
  })
}

/** Rows of the table fallback: x and every series' value, formatted; at most `limit` rows. */
export function chartTableRows(
  x: ReadonlyArray<number>,
  series: ReadonlyArray<Pick<ChartSeriesSpec, 'values' | 'format'>>,
  formatX: (x: number) => string,
  formatY: (v: number) => string,
  limit: number
): { rows: string[][]; leftOut: number } {
  const rows: string[][] = []
  let withValues = 0
  for (let i = 0; i < x.length; i++) {
    const cells = series.map((s) => {
      const v = s.values[i]
      return v === null || v === undefined || !Number.isFinite(v) ? '—' : (s.format ?? formatY)(v)
    })
    // Rows where no series has a value carry nothing to read.
    if (cells.every((c) => c === '—')) continue
    withValues++
    if (rows.length < limit) rows.push([formatX(x[i] as number), ...cells])
  }
  return { rows, leftOut: withValues - rows.length }
}

/** Plain numbers for axes and tables: 1234 → "1,234", 0.0123 → "0.0123". */
export function plainNumber(v: number): string {
  if (!Number.isFinite(v)) return '—'
  const a = Math.abs(v)
  if (a === 0) return '0'
  if (a >= 1000) return Math.round(v).toLocaleString('en')
  if (a >= 1) return String(Number(v.toFixed(2)))
  return String(Number(v.toPrecision(3)))
}

/** LLM series points on one time axis: bucket starts (seconds) and each model's point per bucket (null: all models). */
export function llmGrid(points: readonly LlmSeriesPoint[]): { x: number[]; get: (model: string | null) => Array<LlmSeriesPoint | null> } {
  const x: number[] = []
  const at = new Map<number, number>()
  for (const p of points) {
    if (!at.has(p.t)) {
      at.set(p.t, x.length)
      x.push(p.t / 1000)
    }
  }
  const byModel = new Map<string | null, Array<LlmSeriesPoint | null>>()
  for (const p of points) {
    let list = byModel.get(p.model)
    if (!list) byModel.set(p.model, (list = Array<LlmSeriesPoint | null>(x.length).fill(null)))
    list[at.get(p.t) as number] = p
  }
  return { x, get: (model) => byModel.get(model) ?? Array<LlmSeriesPoint | null>(x.length).fill(null) }
}
