// Why a Perspt session failed, or where a running one is stuck: the newest escalation report (its
// evidence), else the newest failed node, else the node with the most attempts that has not committed.
// Three small queries on the snapshot copy, cached per snapshot version by PersptStore.query().
import type { DuckDBConnection } from '@duckdb/node-api'
import { previewGraphemes } from '../../shared/graphemes'
import { escalationReason } from '../../shared/model/escalation-words'
import type { SessionFailure } from '../../shared/model/overview'
import type { SessionRow } from '../../shared/model/perspt'
import type { SchemaProbe } from '../perspt/store-reader'
import { isoFromMs, normalizeNodeState, text, toNumber } from '../perspt/store-reader'
import { has, msOf, rows } from '../perspt/views/dag-sql'
import { decisionActionTag } from '../perspt/views/decision-trace'

function oneLine(s: string | null, max = 240): string | null {
  if (!s) return null
  // Cut on a grapheme boundary: never inside an emoji, a flag or a letter's accents.
  return previewGraphemes(s, max) || null
}

/** The RewriteAction tag ("grounded_retry") of an escalation's stored action (JSON, or a bare word), or null. */
export function actionTagOf(stored: string | null): string | null {
  if (stored === null) return null
  try {
    return decisionActionTag(JSON.parse(stored) as unknown)
  } catch {
    return decisionActionTag(stored)
  }
}

/** The tables readSessionFailure reads (its result stays valid while neither changes). */
export const SESSION_FAILURE_TABLES: readonly string[] = ['escalation_reports', 'node_states']

export async function readSessionFailure(con: DuckDBConnection, probe: SchemaProbe, session: SessionRow): Promise<SessionFailure> {
  const sid = session.sessionId
  let escalation: SessionFailure['escalation'] = null
  if (has(probe, 'escalation_reports', 'session_id', 'node_id')) {
    const c = (name: string) => (has(probe, 'escalation_reports', name) ? name : 'NULL')
    const [r] = await rows(
      con,
      `SELECT ${c('id')} AS id, node_id, ${c('category')} AS category, ${c('action')} AS action, ${c('evidence')} AS evidence,
         ${msOf(probe, 'escalation_reports', 'created_at')} AS t
       FROM escalation_reports WHERE session_id = $sid ORDER BY ${has(probe, 'escalation_reports', 'id') ? 'id' : '1'} DESC LIMIT 1`,
      { sid }
    )
    if (r) {
      escalation = { id: toNumber(r.id), nodeId: text(r.node_id), category: text(r.category), action: actionTagOf(text(r.action)), evidence: text(r.evidence), at: isoFromMs(toNumber(r.t)) }
    }
  }

  // Latest state per node, with its attempts and error type where the store has them.
  const latest: Array<{ nodeId: string; state: ReturnType<typeof normalizeNodeState>; attempts: number; errorType: string | null }> = []
  if (has(probe, 'node_states', 'session_id', 'node_id', 'state')) {
    const attempts = has(probe, 'node_states', 'attempt_count') ? 'attempt_count' : '0'
    const errorType = has(probe, 'node_states', 'last_error_type') ? 'last_error_type' : 'NULL'
    const order = has(probe, 'node_states', 'id') ? 'id' : '1'
    for (const r of await rows(
      con,
      `SELECT node_id, state, ${attempts} AS attempts, ${errorType} AS error_type FROM node_states WHERE session_id = $sid
       QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY ${order} DESC) = 1 ORDER BY ${order} DESC LIMIT 500`,
      { sid }
    )) {
      latest.push({ nodeId: String(r.node_id), state: normalizeNodeState(text(r.state)), attempts: toNumber(r.attempts) ?? 0, errorType: text(r.error_type) })
    }
  }
  const failed = latest.find((n) => n.state === 'failed' || n.state === 'escalated')
  const stuck =
    session.status === 'running' || session.status === 'stale'
      ? latest.filter((n) => n.state === 'running' || n.state === 'queued').sort((a, b) => b.attempts - a.attempts)[0]
      : undefined

  let focusNodeId: string | null = null
  let focusKind: SessionFailure['focusKind'] = null
  if (escalation?.nodeId) {
    focusNodeId = escalation.nodeId
    focusKind = 'escalated'
  } else if (failed) {
    focusNodeId = failed.nodeId
    focusKind = 'failed'
  } else if (stuck && stuck.attempts > 1) {
    focusNodeId = stuck.nodeId
    focusKind = 'stuck'
  }

  const troubled = ['failed', 'aborted', 'partial'].includes(session.status) || escalation !== null || failed !== undefined
  let reason: string | null = null
  if (escalation) {
    reason = oneLine(escalationReason(escalation.category, escalation.action, escalation.nodeId, escalation.evidence))
  } else if (failed) {
    reason = oneLine(`Node ${failed.nodeId} ${failed.state}${failed.errorType ? `: ${failed.errorType}` : ''}`)
  } else if (troubled) {
    reason = `Perspt status: ${session.rawStatus}, with no escalation report or failed node recorded.`
  } else if (focusKind === 'stuck' && stuck) {
    reason = `Node ${stuck.nodeId} is on attempt ${stuck.attempts}.`
  }
  return { reason, escalation, focusNodeId, focusKind }
}
