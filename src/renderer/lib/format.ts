// How Vigil writes numbers, times and durations. Every time carries its zone.
import { headGraphemes, previewGraphemes } from '../../shared/graphemes'
import type { EnergyInvalid } from '../../shared/model/perspt-views'

export const localTimeZone: string = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'

const dateTime = new Intl.DateTimeFormat('en-CA', {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
  timeZone: localTimeZone
})

const zoneName = new Intl.DateTimeFormat('en-US', { timeZone: localTimeZone, timeZoneName: 'short' })

/** A short zone label for column headers, e.g. "UTC" or "CET". */
export function zoneLabel(at: Date = new Date()): string {
  // Tooltips of live rows ask for it hundreds of times a second; a zone's label changes only when its
  // offset does, on a quarter hour at the finest: one formatToParts (~30 µs) per quarter hour asked for.
  const slot = Math.floor(at.getTime() / ZONE_SLOT_MS)
  let label = zoneLabels.get(slot)
  if (label === undefined) {
    label = Number.isNaN(slot) ? localTimeZone : (zoneName.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? localTimeZone)
    if (zoneLabels.size >= MAX_ZONE_LABELS) zoneLabels.clear()
    zoneLabels.set(slot, label)
  }
  return label
}
const ZONE_SLOT_MS = 15 * 60_000
const MAX_ZONE_LABELS = 256
const zoneLabels = new Map<number, string>()

/** "2026-11-22 15:04:05" in the local zone (label the zone in the header), or "—". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return '—'
  // A live run's rows mostly fall in the same second: Intl formatting (~20 µs) is done once per second
  // shown, not once per row (hundreds of rows a second at 1,000 events/s).
  const second = Math.floor(t / 1000)
  if (second !== lastSecond) {
    lastSecond = second
    lastText = dateTime.format(second * 1000).replace(',', '')
  }
  return lastText
}
let lastSecond = NaN
let lastText = ''

/** The same time with its zone, for tooltips and places without a header. */
export function formatTimeWithZone(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? '—' : `${formatTime(iso)} ${zoneLabel(d)}`
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = Math.floor(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${sec}s`
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`
}

export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—'
  const t = new Date(iso).getTime()
  if (Number.isNaN(t)) return '—'
  const diff = Math.max(0, now - t)
  if (diff < 5_000) return 'just now'
  if (diff < 60_000) return `${Math.floor(diff / 1000)}s ago`
  if (diff < 3_600_000) return `${Math.floor(diff / 60_000)}m ago`
  if (diff < 86_400_000) return `${Math.floor(diff / 3_600_000)}h ago`
  return `${Math.floor(diff / 86_400_000)}d ago`
}

/** 1234 → "1.2K", 3_400_000 → "3.4M" (Perspt's style). */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  if (Math.abs(n) >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`
  if (Math.abs(n) >= 1_000) return `${(n / 1_000).toFixed(1)}K`
  return String(Math.round(n))
}

export function formatUsd(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return n < 1 ? `$${n.toFixed(3)}` : `$${n.toFixed(2)}`
}

// ---- Previews and hostile values (issue 17: shown truthfully) ------------------------------------

/** At most `max` graphemes of `text` on one line, "…" when cut: never splits an emoji, flag or accent. */
export function previewText(text: string | null | undefined, max: number): string {
  return text ? previewGraphemes(text, max) : ''
}

/** `text` cut to at most `max` graphemes (layout kept), "…" when cut. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text
  const head = headGraphemes(text, max)
  return head.length === text.length ? text : `${headGraphemes(text, max - 1)}…`
}

const COMPONENT_LABELS: Record<EnergyInvalid['component'], string> = {
  vSyn: 'V_syn',
  vStr: 'V_str',
  vLog: 'V_log',
  vBoot: 'V_boot',
  vSheaf: 'V_sheaf',
  vTotal: 'V_total'
}

/** An energy value, or "—" when the store holds none or not a finite number (never 0: 0 reads as converged). */
export function formatEnergy(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—'
  return v === 0 ? '0' : v.toFixed(digits)
}

/** "NaN", "+∞", "−∞" or "empty (NULL)": what the store holds instead of a number. */
export function storedValueText(stored: EnergyInvalid['stored']): string {
  return stored === 'NULL' ? 'empty (NULL)' : stored === 'NaN' ? 'NaN' : stored === 'Infinity' ? '+∞' : '−∞'
}

/** "V_total is NaN, V_syn is empty (NULL) in the store", or '' when every value is a number. */
export function energyInvalidText(invalid: readonly EnergyInvalid[] | null | undefined): string {
  if (!invalid || invalid.length === 0) return ''
  return `${invalid.map((i) => `${COMPONENT_LABELS[i.component]} is ${storedValueText(i.stored)}`).join(', ')} in the store`
}

/** The invalid entry for one component, if any. */
export function invalidOf(invalid: readonly EnergyInvalid[] | null | undefined, component: EnergyInvalid['component']): EnergyInvalid | null {
  return invalid?.find((i) => i.component === component) ?? null
}

/** What latency percentiles are "of": "p50/p95 of 12 calls with a latency (3 without one left out)". */
export function latencyBasisText(t: { requests: number; latencyCounted: number }): string {
  const missing = t.requests - t.latencyCounted
  const calls = `${t.latencyCounted.toLocaleString('en')} call${t.latencyCounted === 1 ? '' : 's'} with a latency`
  return `p50/p95 of ${calls}${missing > 0 ? ` (${missing.toLocaleString('en')} without one left out)` : ''}`
}
