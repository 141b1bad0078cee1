// The Summary view: one session's key numbers, each computed in DuckDB for this session only.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { SessionRow } from '../../../shared/model/perspt'
import type { SessionSummary } from '../../../shared/model/perspt-views'
import { ALL_PERSPT_TABLES } from '../schema'
import type { PersptTable } from '../schema'
import { text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { col, has, rows, timeOrder } from './dag-sql'
import { readLlmTotals } from './llm'

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

/** Totals and latency percentiles: the LLM view's own query (one definition; NULL latency excluded). */
export { readLlmTotals }

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
