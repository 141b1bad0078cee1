// The store page's totals (Perspt's overview banner, spec §3.1), over every session of the store:
// LLM calls, tokens, median and mean latency (NULL latency excluded), what Perspt would count as
// nodes, and detected_toolchain where the schema has it. Vigil's own node counts are summed from the
// session list by the caller, so the totals add up to the rows the page shows.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { SessionRow } from '../../../shared/model/perspt'
import type { StoreTotals } from '../../../shared/model/perspt-views'
import { text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { has, rows } from './dag-sql'

/** At most this many distinct toolchain values are named; sessions with other values are counted as unlisted. */
export const MAX_TOOLCHAINS = 20

/** Perspt's node labels (its `normalize_state`, spec §3): only these two are counted in its banner. */
const PERSPT_LABEL = (c: string) => `CASE
  WHEN lower(${c}) IN ('completed', 'stable', 'verified') THEN 'completed'
  WHEN lower(${c}) IN ('failed', 'error') THEN 'failed'
  ELSE 'other' END`

export async function readStoreTotals(con: DuckDBConnection, probe: SchemaProbe, sessions: readonly SessionRow[]): Promise<StoreTotals> {
  const totals: StoreTotals = {
    sessions: sessions.length,
    llmCalls: 0,
    tokensIn: 0,
    tokensOut: 0,
    estimatedCalls: 0,
    latencyCounted: 0,
    latencyMissing: 0,
    latencyMedianMs: null,
    latencyMeanMs: null,
    nodes: { planned: 0, committed: 0, running: 0, failed: 0, escalated: 0, queued: 0 },
    persptNodes: { total: 0, completed: 0, failed: 0 },
    toolchains: null
  }
  for (const s of sessions) for (const k of Object.keys(totals.nodes) as Array<keyof StoreTotals['nodes']>) totals.nodes[k] += s.nodes[k]

  if (has(probe, 'llm_requests', 'session_id')) {
    // The same estimate as each session's row (readLlmAggregates), so the totals equal the column sums.
    const tokens = (c: string, textCol: string) =>
      has(probe, 'llm_requests', c, textCol)
        ? `CASE WHEN coalesce(${c}, 0) > 0 THEN ${c} ELSE (coalesce(strlen(${textCol}), 0) + 3) // 4 END`
        : has(probe, 'llm_requests', c)
          ? `coalesce(${c}, 0)`
          : '0'
    const noCount = (c: string) => (has(probe, 'llm_requests', c) ? `coalesce(${c}, 0) <= 0` : 'true')
    // NULL (and, in a hostile store, non-numeric or non-finite) latency is left out and counted as missing.
    const latency = has(probe, 'llm_requests', 'latency_ms')
      ? 'CASE WHEN isfinite(TRY_CAST(latency_ms AS DOUBLE)) THEN TRY_CAST(latency_ms AS DOUBLE) END'
      : 'NULL::DOUBLE'
    const [r] = await rows(
      con,
      `SELECT count(*) AS n,
         sum(${tokens('tokens_in', 'prompt')}) AS t_in, sum(${tokens('tokens_out', 'response')}) AS t_out,
         count(*) FILTER (WHERE ${noCount('tokens_in')} OR ${noCount('tokens_out')}) AS estimated,
         count(${latency}) AS lat_n, quantile_cont(${latency}, 0.5) AS p50, avg(${latency}) AS mean
       FROM llm_requests`
    )
    if (r) {
      totals.llmCalls = toNumber(r.n) ?? 0
      totals.tokensIn = toNumber(r.t_in) ?? 0
      totals.tokensOut = toNumber(r.t_out) ?? 0
      totals.estimatedCalls = toNumber(r.estimated) ?? 0
      totals.latencyCounted = toNumber(r.lat_n) ?? 0
      totals.latencyMissing = totals.llmCalls - totals.latencyCounted
      const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10)
      totals.latencyMedianMs = round(toNumber(r.p50))
      totals.latencyMeanMs = round(toNumber(r.mean))
    }
  }

  if (has(probe, 'node_states', 'session_id', 'node_id', 'state')) {
    // Perspt's query: latest row per node (created_at DESC; Vigil breaks its ties with id), no trimming.
    const order = [has(probe, 'node_states', 'created_at') ? 'TRY_CAST(created_at AS TIMESTAMP) DESC NULLS LAST' : null, has(probe, 'node_states', 'id') ? 'id DESC' : null]
      .filter(Boolean)
      .join(', ')
    const [r] = await rows(
      con,
      `SELECT count(*) AS total, count(*) FILTER (WHERE label = 'completed') AS completed, count(*) FILTER (WHERE label = 'failed') AS failed
       FROM (SELECT ${PERSPT_LABEL('state')} AS label FROM node_states
         QUALIFY row_number() OVER (PARTITION BY session_id, node_id${order ? ` ORDER BY ${order}` : ''}) = 1)`
    )
    if (r) totals.persptNodes = { total: toNumber(r.total) ?? 0, completed: toNumber(r.completed) ?? 0, failed: toNumber(r.failed) ?? 0 }
  }

  if (has(probe, 'sessions', 'detected_toolchain')) {
    const found = await rows(
      con,
      `SELECT NULLIF(trim(CAST(detected_toolchain AS VARCHAR)), '') AS t, count(*) AS n FROM sessions GROUP BY 1 ORDER BY n DESC, t`
    )
    const values: Array<{ toolchain: string; sessions: number }> = []
    let unset = 0
    let unlisted = 0
    for (const r of found) {
      const t = text(r.t)
      const n = toNumber(r.n) ?? 0
      if (t === null) unset += n
      else if (values.length < MAX_TOOLCHAINS) values.push({ toolchain: t, sessions: n })
      else unlisted += n
    }
    totals.toolchains = { values, unset, unlisted }
  }
  return totals
}
