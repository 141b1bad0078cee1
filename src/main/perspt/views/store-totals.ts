// The store page's totals (Perspt's overview banner, spec §3.1), over every session of the store:
// LLM calls, tokens, median and mean latency (NULL latency excluded), what Perspt would count as
// nodes, and detected_toolchain where the schema has it. Calls, tokens and Vigil's node counts are
// summed from the session list, so the totals add up to the rows the page shows.
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
    toolchains: null,
    countsPending: false
  }
  // Calls, tokens and nodes are the sums of the session rows (tokens with the same estimate, already
  // computed per session, so no prompt text is read again); llm_requests' foreign key means no call
  // belongs to no session. Latency needs every call's value: that is read below.
  for (const s of sessions) {
    totals.llmCalls += s.llmRequests
    totals.tokensIn += s.tokensIn
    totals.tokensOut += s.tokensOut
    for (const k of Object.keys(totals.nodes) as Array<keyof StoreTotals['nodes']>) totals.nodes[k] += s.nodes[k]
  }
  // A first, progressive read lists sessions before their counts: the sums are not totals yet.
  totals.countsPending = sessions.some((s) => (s as { countsPending?: boolean }).countsPending === true)

  if (has(probe, 'llm_requests', 'session_id')) {
    const noCount = (c: string) => (has(probe, 'llm_requests', c) ? `coalesce(${c}, 0) <= 0` : 'true')
    // quantile_cont, avg and count skip NULL: a call without a latency is left out (and counted as missing).
    const latency = has(probe, 'llm_requests', 'latency_ms') ? 'latency_ms' : 'NULL::INTEGER'
    const [r] = await rows(
      con,
      `SELECT count(*) AS n, count(*) FILTER (WHERE ${noCount('tokens_in')} OR ${noCount('tokens_out')}) AS estimated,
         count(${latency}) AS lat_n, quantile_cont(${latency}, 0.5) AS p50, avg(${latency}) AS mean
       FROM llm_requests`
    )
    if (r) {
      totals.estimatedCalls = toNumber(r.estimated) ?? 0
      totals.latencyCounted = toNumber(r.lat_n) ?? 0
      totals.latencyMissing = (toNumber(r.n) ?? 0) - totals.latencyCounted
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
