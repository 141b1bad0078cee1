// The chart helpers: colours readable in both themes, ticks, the table fallback, LLM points on one
// axis, and the store page's trends.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { SessionRow } from '../../../src/shared/model/perspt'
import type { LlmSeriesPoint } from '../../../src/shared/model/perspt-timeline'
import { TICK_CHAR_PX, chartColor, chartTableRows, llmGrid, plainNumber, thinTickLabels, tickSpace, timeTicks, withAlpha } from '../../../src/renderer/lib/chart'
import { sessionTrends } from '../../../src/renderer/lib/session-trends'

const chartCss = readFileSync(resolve(__dirname, '../../../src/renderer/components/Chart.svelte'), 'utf8')

function luminance(hex: string): number {
  const m = /^#([0-9a-f]{6})$/i.exec(hex)
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`)
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(m[1]!.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
}
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x)
  return (hi! + 0.05) / (lo! + 0.05)
}

/** The fallback of each --chart-N in the block that starts at `from`. */
function fallbacks(from: number): Record<string, string> {
  const block = chartCss.slice(from, chartCss.indexOf('}', from))
  return Object.fromEntries([...block.matchAll(/(--chart-\d): var\([^,]+, (#[0-9a-f]{6})\)/gi)].map((m) => [m[1]!, m[2]!]))
}

describe('chart colours', () => {
  const light = fallbacks(chartCss.indexOf('  .chart {'))
  const dark = fallbacks(chartCss.indexOf('@media (prefers-color-scheme: dark)', chartCss.indexOf('<style>')))
  // Vigil's surfaces (bg, surface, surface-2) in each theme.
  const SURFACES = { light: ['#f6f7f9', '#ffffff', '#f0f2f5'], dark: ['#111318', '#181b21', '#1f232b'] }

  it('has eight series colours per theme, each at least 3:1 on every surface', () => {
    for (const [theme, colours] of [['light', light], ['dark', dark]] as const) {
      expect(Object.keys(colours), theme).toHaveLength(8)
      for (const [name, hex] of Object.entries(colours)) {
        for (const bg of SURFACES[theme]) expect(contrast(hex, bg), `${theme} ${name} ${hex} on ${bg}`).toBeGreaterThanOrEqual(3)
      }
    }
  })

  it('cycles through the colours and makes translucent fills', () => {
    expect([0, 7, 8, -1].map(chartColor)).toEqual(['--chart-1', '--chart-8', '--chart-1', '--chart-8'])
    expect(withAlpha('#0b6b78', 0.5)).toBe('rgba(11, 107, 120, 0.5)')
    expect(withAlpha('#fff', 0.2)).toBe('rgba(255, 255, 255, 0.2)')
    expect(withAlpha('rgb(1, 2, 3)', 0.1)).toBe('rgba(1, 2, 3, 0.1)')
    expect(withAlpha('oklch(0.5 0.1 200)', 0.1)).toBe('oklch(0.5 0.1 200)')
  })
})

describe('ticks and numbers', () => {
  it('say times within a day, dates and times across days, dates across weeks', () => {
    const t = Date.parse('2026-05-03T10:15:30Z') / 1000
    expect(timeTicks([t], 120)[0]).toMatch(/^\d{2}:\d{2}:\d{2}$/)
    expect(timeTicks([t], 7200)[0]).toMatch(/^\d{2}:\d{2}$/)
    expect(timeTicks([t], 2 * 86_400)[0]).toMatch(/^\d{2}-\d{2} \d{2}:\d{2}$/)
    expect(timeTicks([t], 10 * 86_400)[0]).toMatch(/^\d{2}-\d{2}$/)
    // Across a new year the dates keep their years.
    expect(timeTicks([t, t + 300 * 86_400], 300 * 86_400)).toEqual([expect.stringMatching(/^2026-\d{2}-\d{2}$/), expect.stringMatching(/^2027-\d{2}-\d{2}$/)])
  })

  it('writes plain numbers', () => {
    expect([0, 0.012345, 1.234, 12_345.6, Number.NaN].map(plainNumber)).toEqual(['0', '0.0123', '1.23', '12,346', '—'])
  })
})

describe('time axis tick spacing', () => {
  // uPlot's choice of step: the first of its increments whose distance in px is at least the axis `space`.
  const HOUR = 3600
  const INCRS = [1, 2, 3, 4, 6, 8, 12, 24].map((h) => h * HOUR).concat([2, 3, 7, 14].map((d) => d * 24 * HOUR))
  const ticksFor = (min: number, max: number, plotPx: number, space: number) => {
    const pxPer = plotPx / (max - min)
    const incr = INCRS.find((i) => i * pxPer >= space) ?? INCRS.at(-1)!
    const ticks: number[] = []
    for (let t = Math.ceil(min / incr) * incr; t <= max; t += incr) ticks.push(t)
    return { ticks, pos: ticks.map((t) => (t - min) * pxPer) }
  }
  const overlaps = (labels: string[], pos: number[]) =>
    labels.some((l, i) => i > 0 && l !== '' && labels[i - 1] !== '' && pos[i]! - pos[i - 1]! < ((l.length + labels[i - 1]!.length) / 2) * TICK_CHAR_PX)

  it('spaces ticks of a narrow chart (three per row at 1440 px) so their labels never touch', () => {
    const min = Date.UTC(2026, 5, 12) / 1000
    const max = min + 2.5 * 86_400
    const span = max - min
    const plotPx = 330
    // uPlot's default 50 px space puts 8-hour ticks 44 px apart: "06-14 00:00" is ~73 px wide, so they overlap.
    const naive = ticksFor(min, max, plotPx, 50)
    expect(overlaps(timeTicks(naive.ticks, span), naive.pos)).toBe(true)
    const space = tickSpace(timeTicks([min, max], span))
    expect(space).toBeGreaterThanOrEqual(11 * TICK_CHAR_PX)
    const spaced = ticksFor(min, max, plotPx, space)
    const labels = timeTicks(spaced.ticks, span)
    expect(spaced.ticks.length).toBeGreaterThanOrEqual(2)
    expect(overlaps(labels, spaced.pos)).toBe(false)
    // A wide chart keeps more ticks than a narrow one.
    expect(ticksFor(min, max, 1200, space).ticks.length).toBeGreaterThan(spaced.ticks.length)
  })

  it('blanks labels that would still touch, keeping the first and any that clear the last one kept', () => {
    const labels = ['06-14 00:00', '06-14 08:00', '06-14 16:00', '06-15 00:00']
    expect(thinTickLabels(labels, [0, 44, 88, 132])).toEqual(['06-14 00:00', '', '06-14 16:00', ''])
    expect(thinTickLabels(labels, [0, 100, 200, 300])).toEqual(labels)
    expect(tickSpace(['1', '2'])).toBe(50)
  })
})

describe('chartTableRows', () => {
  it('lists the rows that have a value, bounded, and counts the rest', () => {
    const x = [1, 2, 3, 4, 5]
    const series = [
      { values: [1, null, 3, Number.NaN, 5] },
      { values: [null, null, 30, null, 50], format: (v: number) => `${v} ms` }
    ]
    const all = chartTableRows(x, series, String, String, 100)
    expect(all).toEqual({ rows: [['1', '1', '—'], ['3', '3', '30 ms'], ['5', '5', '50 ms']], leftOut: 0 })
    expect(chartTableRows(x, series, String, String, 2)).toEqual({ rows: [['1', '1', '—'], ['3', '3', '30 ms']], leftOut: 1 })
  })
})

describe('llmGrid', () => {
  it('puts every model on one time axis, with gaps where a model made no request', () => {
    const p = (t: number, model: string | null, requests: number): LlmSeriesPoint => ({ t, model, requests, timed: requests, p50: 1, p95: 2, tokensIn: 1, tokensOut: 1, costUsd: 0 })
    const g = llmGrid([p(1000, null, 2), p(1000, 'a', 2), p(2000, null, 1), p(2000, 'b', 1)])
    expect(g.x).toEqual([1, 2])
    expect(g.get(null).map((q) => q?.requests ?? null)).toEqual([2, 1])
    expect(g.get('a').map((q) => q?.requests ?? null)).toEqual([2, null])
    expect(g.get('b').map((q) => q?.requests ?? null)).toEqual([null, 1])
    expect(g.get('none')).toEqual([null, null])
  })
})

describe('sessionTrends', () => {
  const row = (id: string, createdAt: string | null, status: SessionRow['status'], cost: number | null, minutes: number | null): SessionRow => ({
    sessionId: id,
    task: id,
    workingDir: '/w',
    rawStatus: status,
    status,
    createdAt,
    updatedAt: createdAt && minutes !== null ? new Date(Date.parse(createdAt) + minutes * 60_000).toISOString() : null,
    durationMs: null,
    nodes: { planned: 0, committed: 0, running: 0, failed: 0, escalated: 0, queued: 0 },
    budget: cost === null ? null : { stepsUsed: 1, maxSteps: null, revisionsUsed: 0, maxRevisions: null, costUsedUsd: cost, maxCostUsd: null },
    llmRequests: 0,
    tokensIn: 0,
    tokensOut: 0
  })

  it('buckets per day across days: sessions, failures, cost where known, median and longest duration', () => {
    const t = sessionTrends([
      row('a', '2026-05-01T10:00:00Z', 'completed', 0.5, 10),
      row('b', '2026-05-01T12:00:00Z', 'failed', null, 30),
      row('c', '2026-05-01T13:00:00Z', 'aborted', 0.25, 20),
      row('d', '2026-05-04T09:00:00Z', 'completed', 1, 60),
      row('e', null, 'failed', 9, 1)
    ])
    expect(t.unit).toBe('day')
    expect(t.undated).toBe(1)
    expect(t.buckets.map((b) => [b.sessions, b.failed, b.costUsd, b.costed, b.medianMin, b.longestMin])).toEqual([
      [3, 2, 0.75, 2, 20, 30],
      [1, 0, 1, 1, 60, 60]
    ])
    expect(t.buckets[1]!.t - t.buckets[0]!.t).toBe(3 * 86_400)
  })

  it('buckets per hour when the sessions span less than two days', () => {
    const t = sessionTrends([row('a', '2026-05-01T10:05:00Z', 'completed', 1, 5), row('b', '2026-05-01T10:55:00Z', 'completed', 1, 7), row('c', '2026-05-01T13:00:00Z', 'completed', 1, 9)])
    expect(t.unit).toBe('hour')
    expect(t.buckets.map((b) => b.sessions)).toEqual([2, 1])
    expect(t.buckets[1]!.t - t.buckets[0]!.t).toBe(3 * 3600)
    expect(t.buckets[0]!.medianMin).toBe(6)
  })
})
