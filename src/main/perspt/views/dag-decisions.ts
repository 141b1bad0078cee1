// The decisions that touch one node, for the DAG's side panel: escalations, sheaf validations,
// rewrites, repairs, verifications, reviews, steps and corrections (each its own table; absent tables skipped).
import type { DuckDBConnection } from '@duckdb/node-api'
import type { DecisionItem, DecisionSectionKey } from '../../../shared/model/perspt-views'
import { headGraphemes } from '../../../shared/graphemes'
import { escalationCategoryWords, escalationPhrase, rewriteActionWords } from '../../../shared/model/escalation-words'
import type { PersptTable } from '../schema'
import { isoFromMs, roundReal, text, toNumber } from '../store-reader'
import type { SchemaProbe } from '../store-reader'
import { has, msOf, rows } from './dag-sql'
import type { Row } from './dag-sql'
import { decisionCap, wireDetail } from './decision-trace'
import { preview } from './text-preview'

/** Newest rows kept per section for one node. */
export const NODE_DECISIONS_PER_SECTION = 100

type Field = { label: string; value: string }
type V = Row[string] | undefined

interface Source {
  table: PersptTable
  section: DecisionSectionKey
  /** Extra match besides node_id = $nid: JSON array columns that may name the node. */
  mentions?: string[]
  /** Columns never fetched (full bundles). */
  exclude?: string[]
  /** SQL for the row's time in epoch ms. */
  at?: (probe: SchemaProbe) => string
  map: (r: Row) => { title: string; status: string | null; fields: Field[]; json: Record<string, unknown> }
}

const s = (v: V): string => text(v) ?? ''
const yes = (v: V): string => (v === true ? 'yes' : v === false ? 'no' : '—')
const num = (v: V): string => {
  const n = roundReal(toNumber(v))
  return n === null ? '—' : String(n)
}

/** JSON text parsed, or the raw text when it is not valid JSON; '' / NULL are left out. */
function json(out: Record<string, unknown>, key: string, v: V): void {
  const raw = text(v)
  if (raw === null) return
  try {
    out[key] = JSON.parse(raw) as unknown
  } catch {
    out[key] = raw
  }
}

function fields(...pairs: Array<[string, string | null]>): Field[] {
  // Capped like the decision trace's fields: a multi-MB evidence text never lands in the node panel whole.
  return pairs.filter((p): p is [string, string] => p[1] !== null && p[1] !== '').map(([label, value]) => ({ label, value: decisionCap(value) }))
}

/** The tag of an externally tagged RewriteAction (`{"grounded_retry":{…}}` → grounded_retry). */
function actionKey(v: V): string | null {
  const raw = text(v)
  if (raw === null) return null
  try {
    const parsed = JSON.parse(raw) as unknown
    if (typeof parsed === 'string') return parsed
    if (typeof parsed === 'object' && parsed !== null) return Object.keys(parsed)[0] ?? null
  } catch {
    // Not JSON: show the text itself.
  }
  return preview(raw, 60)
}

function listText(v: V): string | null {
  const raw = text(v)
  if (raw === null) return null
  try {
    const parsed = JSON.parse(raw) as unknown
    if (Array.isArray(parsed)) return parsed.length === 0 ? null : parsed.map(String).join(', ')
  } catch {
    // Fall through to the raw text.
  }
  return raw
}

const SOURCES: Source[] = [
  {
    table: 'escalation_reports',
    section: 'escalations',
    mentions: ['affected_node_ids'],
    map: (r) => {
      const j: Record<string, unknown> = {}
      for (const k of ['action', 'energy_snapshot', 'stage_outcomes', 'affected_node_ids']) json(j, k, r[k])
      return {
        title: `Escalated: ${escalationPhrase(s(r.category) || null, actionKey(r.action), false) ?? 'no category recorded'}`,
        status: actionKey(r.action),
        fields: fields(['Category', wireDetail(escalationCategoryWords(text(r.category)), text(r.category))], ['Action', wireDetail(rewriteActionWords(actionKey(r.action)), actionKey(r.action))], ['Evidence', text(r.evidence)], ['Affected nodes', listText(r.affected_node_ids)]),
        json: j
      }
    }
  },
  {
    table: 'sheaf_validations',
    section: 'sheaf',
    mentions: ['requeue_targets'],
    map: (r) => {
      const j: Record<string, unknown> = {}
      for (const k of ['affected_files', 'requeue_targets']) json(j, k, r[k])
      return {
        title: `Sheaf check: ${s(r.validator_class) || 'validator'}`,
        status: r.passed === true ? 'passed' : r.passed === false ? 'failed' : null,
        fields: fields(
          ['Validator', text(r.validator_class)],
          ['Plugin', text(r.plugin_source)],
          ['V_sheaf', num(r.v_sheaf_contribution)],
          ['Evidence', text(r.evidence_summary)],
          ['Affected files', listText(r.affected_files)],
          ['Requeue', listText(r.requeue_targets)]
        ),
        json: j
      }
    }
  },
  {
    table: 'rewrite_records',
    section: 'rewrites',
    mentions: ['requeued_nodes', 'inserted_nodes'],
    map: (r) => {
      const j: Record<string, unknown> = {}
      for (const k of ['action', 'requeued_nodes', 'inserted_nodes']) json(j, k, r[k])
      return {
        title: `Rewrite: ${rewriteActionWords(actionKey(r.action)) ?? 'action'}`,
        status: text(r.category),
        fields: fields(['Action', wireDetail(rewriteActionWords(actionKey(r.action)), actionKey(r.action))], ['Category', wireDetail(escalationCategoryWords(text(r.category)), text(r.category))], ['Requeued', listText(r.requeued_nodes)], ['Inserted', listText(r.inserted_nodes)]),
        json: j
      }
    }
  },
  {
    table: 'repair_footprints',
    section: 'repairs',
    exclude: ['bundle_json'],
    map: (r) => {
      const j: Record<string, unknown> = {}
      json(j, 'affected_files', r.affected_files)
      return {
        title: `Repair attempt ${s(r.attempt) || '?'}`,
        status: r.resolved === true ? 'resolved' : 'open',
        fields: fields(['Attempt', text(r.attempt)], ['Affected files', listText(r.affected_files)], ['Diagnosis', text(r.diagnosis) && preview(s(r.diagnosis), 400)]),
        json: j
      }
    }
  },
  {
    table: 'verification_results',
    section: 'verifications',
    map: (r) => {
      const j: Record<string, unknown> = {}
      json(j, 'result_json', r.result_json)
      const result = j.result_json
      if (typeof result === 'object' && result !== null && typeof (result as { raw_output?: unknown }).raw_output === 'string') {
        const raw = (result as { raw_output: string }).raw_output
        if (raw.length > 2000) j.result_json = { ...result, raw_output: `${headGraphemes(raw, 2000)}…` }
      }
      const ok = [r.syntax_ok, r.build_ok, r.tests_ok, r.lint_ok].every((v) => v === true)
      return {
        title: 'Verification',
        status: r.degraded === true ? 'degraded' : ok ? 'passed' : 'failed',
        fields: fields(
          ['Syntax', yes(r.syntax_ok)],
          ['Build', yes(r.build_ok)],
          ['Tests', yes(r.tests_ok)],
          ['Lint', yes(r.lint_ok)],
          ['Tests passed/failed', `${s(r.tests_passed) || '0'}/${s(r.tests_failed) || '0'}`],
          ['Diagnostics', text(r.diagnostics_count)],
          ['Degraded', text(r.degraded_reason)]
        ),
        json: j
      }
    }
  },
  {
    table: 'review_outcomes',
    section: 'reviews',
    map: (r) => ({
      title: `Review: ${s(r.outcome) || 'outcome'}`,
      status: text(r.outcome),
      fields: fields(['Outcome', text(r.outcome)], ['Note', text(r.reviewer_note)], ['Degraded', r.degraded === undefined ? null : yes(r.degraded)], ['Escalation', text(r.escalation_category)]),
      json: {}
    })
  },
  {
    table: 'srbn_step_records',
    section: 'steps',
    map: (r) => {
      const j: Record<string, unknown> = {}
      json(j, 'energy_json', r.energy_json)
      const duration = toNumber(r.duration_ms)
      return {
        title: `Step: ${s(r.step) || 'step'}`,
        status: text(r.outcome),
        fields: fields(
          ['Step', text(r.step)],
          ['Outcome', text(r.outcome)],
          ['Attempt', text(r.attempt_count)],
          ['Duration', duration === null ? null : `${duration} ms`],
          ['Parse state', text(r.parse_state)],
          ['Retry', text(r.retry_classification)]
        ),
        json: j
      }
    }
  },
  {
    table: 'correction_attempts',
    section: 'corrections',
    // The only epoch-seconds timestamp in the schema (spec §1.2).
    at: (probe) => (has(probe, 'correction_attempts', 'created_at') ? 'TRY_CAST(created_at AS BIGINT) * 1000' : 'NULL'),
    map: (r) => {
      const j: Record<string, unknown> = {}
      json(j, 'energy_json', r.energy_json)
      return {
        title: `Correction attempt ${s(r.attempt) || '?'}`,
        status: r.accepted === true ? 'accepted' : r.accepted === false ? 'rejected' : null,
        fields: fields(
          ['Attempt', text(r.attempt)],
          ['Parse state', text(r.parse_state)],
          ['Retry', text(r.retry_classification)],
          ['Response length', text(r.response_length)],
          ['Rejection', text(r.rejection_reason)]
        ),
        json: j
      }
    }
  }
]

/** JSON of a row (for the UNION across tables); BLOBs become their hex text first. */
function rowJson(probe: SchemaProbe, src: Source): string {
  const cols = [...(probe.columns.get(src.table) ?? [])].filter((c) => !(src.exclude ?? []).includes(c))
  return `to_json(struct_pack(${cols.map((c) => `"${c}" := "${c}"`).join(', ')}))::VARCHAR`
}

/** Every decision touching the node, from every table the store has, in one round trip. */
export async function readNodeDecisions(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, nodeId: string): Promise<DecisionItem[]> {
  const parts: string[] = []
  const used: Source[] = []
  for (const src of SOURCES) {
    if (!has(probe, src.table, 'session_id', 'node_id')) continue
    const mentions = (src.mentions ?? []).filter((c) => has(probe, src.table, c)).map((c) => `contains(coalesce(${c}, ''), to_json($nid::VARCHAR)::VARCHAR)`)
    const at = src.at ? src.at(probe) : msOf(probe, src.table, 'created_at')
    const id = has(probe, src.table, 'id') ? 'id' : 'NULL::BIGINT'
    parts.push(
      `(SELECT ${used.length} AS src, (${at})::BIGINT AS __ms, (${id})::BIGINT AS __id, ${rowJson(probe, src)} AS j
        FROM ${src.table} WHERE session_id = $sid AND (node_id = $nid${mentions.map((m) => ` OR ${m}`).join('')})
        ORDER BY __ms DESC NULLS LAST, __id DESC LIMIT ${NODE_DECISIONS_PER_SECTION})`
    )
    used.push(src)
  }
  if (parts.length === 0) return []
  const found = await rows(con, `SELECT * FROM (${parts.join(' UNION ALL ')}) ORDER BY __ms ASC NULLS FIRST, __id ASC`, { sid: sessionId, nid: nodeId })
  const items: DecisionItem[] = []
  for (const r of found) {
    const src = used[toNumber(r.src) ?? -1]
    if (!src) continue
    let row: Row
    try {
      row = JSON.parse(String(r.j)) as Row
    } catch {
      continue
    }
    const rid = toNumber(r.__id) ?? 0
    items.push({ id: `${src.table}:${rid}`, section: src.section, at: isoFromMs(toNumber(r.__ms)), nodeId: text(row.node_id), ...src.map(row) })
  }
  return items
}
