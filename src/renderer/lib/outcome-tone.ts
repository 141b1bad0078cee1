// Tones for the outcome words of Perspt's decision, sandbox and LLM data: the "outcome" part of the one
// status vocabulary (src/shared/model/status-vocabulary.ts).
import { describeState } from '../../shared/model/status-vocabulary'
import type { StatusTone } from './status'

export function outcomeTone(word: string | null | undefined): StatusTone {
  return describeState(word, 'outcome').tone
}

/** "Merged", "Correction requested": the outcome word as a person reads it. */
export function outcomeWord(word: string | null | undefined): string {
  return describeState(word, 'outcome').label
}

/** Latency colour bands (ms): fast, normal, slow, very slow. */
export type LatencyBand = 'fast' | 'normal' | 'slow' | 'very-slow'

export const LATENCY_BANDS = { fast: 1_000, normal: 5_000, slow: 15_000 } as const

export function latencyBand(ms: number): LatencyBand {
  if (ms < LATENCY_BANDS.fast) return 'fast'
  if (ms < LATENCY_BANDS.normal) return 'normal'
  if (ms < LATENCY_BANDS.slow) return 'slow'
  return 'very-slow'
}

/** "840 ms", "4.2 s", "1m 05s": compact latencies for dense tables. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const m = Math.floor(ms / 60_000)
  const s = Math.round((ms % 60_000) / 1000)
  return `${m}m ${String(s).padStart(2, '0')}s`
}
