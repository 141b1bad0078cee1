// The Summary view: one session's key numbers, each computed in DuckDB for this session only.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { SessionRow } from '../../../shared/model/perspt'
import type { LlmTotals, SessionSummary } from '../../../shared/model/perspt-views'
import { ALL_PERSPT_TABLES } from '../schema'
import type { PersptTable } from '../schema'
import { text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { col, has, rows, timeOrder } from './dag-sql'
import type { Row } from './dag-sql'

/** Tables whose rows the summary counts (sessions itself is the one row we already have). */
export const COUNTED_TABLES: readonly PersptTable[] = ALL_PERSPT_TABLES.filter((t) => t !== 'sessions')

export function missingTables(probe: SchemaProbe): string[] {
  return ALL_PERSPT_TABLES.filter((t) => !probe.tables.has(t))
}

/** Row counts per table for one session, in one round trip; branch_lineage is scoped through its branch. */
async function countRows(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(COUNTED_TABLES.map((t) => [t, 0]))
  const parts: string[] = []
  for (const t of COUNTED_TABLES) {
    if (t === 'branch_lineage') {
      if (has(probe, 'branch_lineage', 'child_branch_id') && has(probe, 'provisional_branches', 'branch_id', 'session_id')) {
        parts.push(
          `SELECT 'branch_lineage' AS t, count(*) AS n FROM branch_lineage
           WHERE child_branch_id IN (SELECT branch_id FROM provisional_branches WHERE session_id = $sid)`
        )
      }
    } else if (has(probe, t, 'session_id')) {
      parts.push(`SELECT '${t}' AS t, count(*) AS n FROM ${t} WHERE session_id = $sid`)
    }
  }
  if (parts.length === 0) return counts
  for (const r of await rows(con, parts.join(' UNION ALL '), { sid: sessionId })) counts[String(r.t)] = toNumber(r.n) ?? 0
  return counts
}

/** Totals and latency percentiles over the session's LLM requests; raw 0 token counts become Perspt's estimate. */
export async function readLlmTotals(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<LlmTotals> {
  const empty: LlmTotals = { requests: 0, tokensIn: 0, tokensOut: 0, latencyMsTotal: 0, latencyP50: null, latencyP95: null, tokensEstimated: false }
  if (!has(probe, 'llm_requests', 'session_id')) return empty
  const tokens = (c: string, textCol: string) =>
    has(probe, 'llm_requests', c, textCol)
      ? `CASE WHEN coalesce(${c}, 0) > 0 THEN ${c} ELSE (coalesce(strlen(${textCol}), 0) + 3) // 4 END`
      : has(probe, 'llm_requests', c)
        ? `coalesce(${c}, 0)`
        : '0'
  const raw = (c: string) => (has(probe, 'llm_requests', c) ? `coalesce(${c}, 0)` : '0')
  const latency = has(probe, 'llm_requests', 'latency_ms') ? 'latency_ms' : 'NULL::INTEGER'
  const [r] = await rows(
    con,
    `SELECT count(*) AS n,
       sum(${tokens('tokens_in', 'prompt')}) AS t_in, sum(${tokens('tokens_out', 'response')}) AS t_out,
       sum(${raw('tokens_in')}) + sum(${raw('tokens_out')}) AS raw_total,
       sum(${latency}) AS lat_total,
       quantile_cont(${latency}, 0.5) AS p50, quantile_cont(${latency}, 0.95) AS p95
     FROM llm_requests WHERE session_id = $sid`,
    { sid: sessionId }
  )
  if (!r) return empty
  const n = toNumber(r.n) ?? 0
  const pct = (v: Row[string] | undefined) => {
    const x = toNumber(v)
    return x === null ? null : Math.round(x * 10) / 10
  }
  return {
    requests: n,
    tokensIn: toNumber(r.t_in) ?? 0,
    tokensOut: toNumber(r.t_out) ?? 0,
    latencyMsTotal: toNumber(r.lat_total) ?? 0,
    latencyP50: pct(r.p50),
    latencyP95: pct(r.p95),
    tokensEstimated: n > 0 && (toNumber(r.raw_total) ?? 0) === 0
  }
}

export async function readSessionSummary(con: DuckDBConnection, probe: SchemaProbe, session: SessionRow): Promise<SessionSummary> {
  const sid = session.sessionId
  const [counts, llm] = [await countRows(con, probe, sid), await readLlmTotals(con, probe, sid)]

  let charter: SessionSummary['charter'] = null
  if (has(probe, 'feature_charters', 'session_id')) {
    const c = (name: string) => col(probe, 'feature_charters', name)
    const [r] = await rows(
      con,
      `SELECT ${c('scope_description')}, ${c('max_modules')}, ${c('max_files')}, ${c('max_revisions')}, ${c('language_constraint')}
       FROM feature_charters WHERE session_id = $sid ORDER BY ${timeOrder(probe, 'feature_charters', 'created_at', 'DESC')} LIMIT 1`,
      { sid }
    )
    if (r) {
      charter = {
        scope: text(r.scope_description) ?? '',
        maxModules: toNumber(r.max_modules),
        maxFiles: toNumber(r.max_files),
        maxRevisions: toNumber(r.max_revisions),
        language: text(r.language_constraint)
      }
    }
  }

  let avgEnergy: number | null = null
  if (has(probe, 'energy_history', 'session_id', 'v_total')) {
    const [r] = await rows(con, 'SELECT avg(v_total) AS a FROM energy_history WHERE session_id = $sid', { sid })
    const a = r ? toNumber(r.a) : null
    avgEnergy = a === null ? null : Number(a.toPrecision(6))
  }

  return {
    session,
    charter,
    planRevisions: counts.plan_revisions ?? 0,
    counts,
    missingTables: missingTables(probe),
    llm,
    avgEnergy
  }
}
