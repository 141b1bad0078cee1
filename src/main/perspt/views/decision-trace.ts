// The decision trace of one session: every table in which Perspt records why it did something
// (spec §1.2, §3.7), one section each, in a fixed order. Unlike Perspt's page, a missing table is
// reported as such (not an empty section), sheaf validations are actually read, and each section
// holds at most the newest DECISION_SECTION_LIMIT items while reporting its true total.
import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api'
import type { DecisionItem, DecisionSection, DecisionSectionKey, DecisionTrace } from '../../../shared/model/perspt-views'
import { headGraphemes } from '../../../shared/graphemes'
import { escalationCategoryWords, escalationPhrase, plainWords, rewriteActionWords } from '../../../shared/model/escalation-words'
import { stateLabel } from '../../../shared/model/status-vocabulary'
import type { PersptTable } from '../schema'
import type { SchemaProbe } from '../store-reader'
import { emptyTables, isoFromMs, roundReal, text, toNumber } from '../store-reader'

type Row = Record<string, JS>

export const DECISION_SECTION_LIMIT = 500
/** JSON texts longer than this are not parsed or shipped (bundles hold whole files). */
export const DECISION_JSON_MAX_CHARS = 64_000
/** Free-text fields are cut to this many characters. */
export const DECISION_FIELD_MAX_CHARS = 4_000

interface SectionSpec {
  key: DecisionSectionKey
  title: string
  table: PersptTable
  /** Plain columns to read (absent ones read as NULL). */
  columns: string[]
  /** JSON-in-TEXT columns, parsed into `json`. */
  json: string[]
  /** How the item's time is stored. */
  time: 'timestamp' | 'epoch-seconds'
  /** The id column ("<table>:<id>"); plan revisions use their revision id. */
  idColumn: string
  /** Order of the newest-first window; ascending is shown. */
  order: 'time' | 'sequence'
  /** Only the newest row per node (verification results are read that way). */
  latestPerNode?: boolean
  build(r: Row, json: Record<string, unknown>): { title: string; status: string | null; fields: Array<[string, string | null]> }
}

const str = (v: JS | undefined): string | null => text(v)
const mark = (v: JS | undefined): string | null => (v === null || v === undefined ? null : v === true ? '✓' : v === false ? '✗' : String(v))
const num = (v: JS | undefined): string | null => {
  const n = toNumber(v)
  return n === null ? null : String(n)
}
const list = (v: unknown): string | null =>
  Array.isArray(v) ? (v.length === 0 ? null : v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ')) : null

const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

/** "topology mismatch (topology_mismatch)": the plain words with the stored word as detail. */
export const wireDetail = (plain: string | null, wire: string | null): string | null =>
  plain === null || wire === null || plain === wire ? wire : `${plain} (${wire})`

/** The externally tagged RewriteAction key, e.g. `grounded_retry` for `{"grounded_retry":{…}}`. */
export function decisionActionTag(action: unknown): string | null {
  // Unit variants serialise as a bare string; anything else textual is unparsed (malformed) JSON.
  if (typeof action === 'string') return /^[A-Za-z_][A-Za-z0-9_]*$/.test(action.trim()) ? action.trim() : null
  if (typeof action === 'object' && action !== null && !Array.isArray(action)) {
    const keys = Object.keys(action)
    return keys.length === 1 ? (keys[0] as string) : keys.length > 0 ? keys.join('+') : null
  }
  return null
}

/** Perspt's review counting (reader fact 18) as one status word. */
export function decisionReviewStatus(outcome: string | null): string | null {
  const o = (outcome ?? '').toLowerCase()
  if (o === '') return null
  if (o.startsWith('approved') || o === 'auto_approved') return 'approved'
  if (o === 'rejected' || o === 'aborted') return 'rejected'
  if (o === 'correction_requested') return 'correction requested'
  return o
}

const SECTIONS: SectionSpec[] = [
  {
    key: 'escalations',
    title: 'Escalations',
    table: 'escalation_reports',
    columns: ['category', 'evidence'],
    json: ['action', 'energy_snapshot', 'stage_outcomes', 'affected_node_ids'],
    time: 'timestamp',
    idColumn: 'id',
    order: 'time',
    build: (r, j) => {
      const tag = decisionActionTag(j.action)
      const energy = j.energy_snapshot as { v_syn?: unknown } | undefined
      return {
        title: escalationPhrase(str(r.category), tag) ?? 'Escalation',
        status: 'escalated',
        fields: [
          ['Category', wireDetail(escalationCategoryWords(str(r.category)), str(r.category))],
          ['Action', wireDetail(rewriteActionWords(tag), tag)],
          ['Affected nodes', list(j.affected_node_ids)],
          ['Energy', typeof energy?.v_syn === 'number' ? String(roundReal(energy.v_syn)) : null],
          ['Evidence', str(r.evidence)]
        ]
      }
    }
  },
  {
    key: 'sheaf',
    title: 'Sheaf validations',
    table: 'sheaf_validations',
    columns: ['validator_class', 'plugin_source', 'passed', 'evidence_summary', 'v_sheaf_contribution'],
    json: ['affected_files', 'requeue_targets'],
    time: 'timestamp',
    idColumn: 'id',
    order: 'time',
    build: (r, j) => ({
      title: str(r.validator_class) === null ? 'Consistency check' : capitalised(plainWords(str(r.validator_class) as string)),
      status: r.passed === true ? 'passed' : r.passed === false ? 'failed' : null,
      fields: [
        ['Validator', str(r.validator_class)],
        ['Plugin', str(r.plugin_source)],
        ['V_sheaf', num(roundReal(toNumber(r.v_sheaf_contribution)))],
        ['Affected files', list(j.affected_files)],
        ['Requeue', list(j.requeue_targets)],
        ['Evidence', str(r.evidence_summary)]
      ]
    })
  },
  {
    key: 'rewrites',
    title: 'Graph rewrites',
    table: 'rewrite_records',
    columns: ['category'],
    json: ['action', 'requeued_nodes', 'inserted_nodes'],
    time: 'timestamp',
    idColumn: 'id',
    order: 'time',
    build: (r, j) => ({
      title: escalationPhrase(null, decisionActionTag(j.action)) ?? 'Rewrite',
      status: 'rewrite',
      fields: [
        ['Category', wireDetail(escalationCategoryWords(str(r.category)), str(r.category))],
        ['Requeued', list(j.requeued_nodes)],
        ['Inserted', list(j.inserted_nodes)]
      ]
    })
  },
  {
    key: 'plans',
    title: 'Plan revisions',
    table: 'plan_revisions',
    columns: ['revision_id', 'sequence', 'reason', 'supersedes', 'status'],
    json: ['plan_json'],
    time: 'timestamp',
    idColumn: 'revision_id',
    order: 'sequence',
    build: (r, j) => {
      const tasks = (j.plan_json as { tasks?: unknown } | undefined)?.tasks
      return {
        title: `Revision ${num(r.sequence) ?? '?'}${str(r.reason) ? ` · ${str(r.reason)}` : ''}`,
        status: str(r.status)?.toLowerCase() ?? null,
        fields: [
          ['Revision', str(r.revision_id)],
          ['Reason', str(r.reason)],
          ['Supersedes', str(r.supersedes)],
          ['Tasks', Array.isArray(tasks) ? String(tasks.length) : null]
        ]
      }
    }
  },
  {
    key: 'repairs',
    title: 'Repair footprints',
    table: 'repair_footprints',
    columns: ['attempt', 'revision_id', 'diagnosis', 'resolved'],
    json: ['affected_files', 'bundle_json'],
    time: 'timestamp',
    idColumn: 'id',
    order: 'time',
    build: (r, j) => ({
      title: `Repair attempt ${num(r.attempt) ?? '?'}`,
      status: r.resolved === true ? 'resolved' : 'unresolved',
      fields: [
        ['Attempt', num(r.attempt)],
        ['Affected files', list(j.affected_files)],
        ['Diagnosis', str(r.diagnosis)]
      ]
    })
  },
  {
    key: 'verifications',
    title: 'Verifications',
    table: 'verification_results',
    columns: ['syntax_ok', 'build_ok', 'tests_ok', 'lint_ok', 'diagnostics_count', 'tests_passed', 'tests_failed', 'degraded', 'degraded_reason'],
    json: ['result_json'],
    time: 'timestamp',
    idColumn: 'id',
    order: 'time',
    latestPerNode: true,
    build: (r, j) => {
      const result = j.result_json as { summary?: unknown } | undefined
      const ok = [r.syntax_ok, r.build_ok, r.tests_ok, r.lint_ok].every((v) => v === true)
      const checks = `syntax ${mark(r.syntax_ok) ?? '?'} · build ${mark(r.build_ok) ?? '?'} · tests ${mark(r.tests_ok) ?? '?'} · lint ${mark(r.lint_ok) ?? '?'}`
      return {
        title: typeof result?.summary === 'string' && result.summary.trim() !== '' ? result.summary : checks,
        status: r.degraded === true ? 'degraded' : ok ? 'passed' : 'failed',
        fields: [
          ['Checks', checks],
          ['Tests', r.tests_passed === null && r.tests_failed === null ? null : `${num(r.tests_passed) ?? 0} passed, ${num(r.tests_failed) ?? 0} failed`],
          ['Diagnostics', num(r.diagnostics_count)],
          ['Degraded', r.degraded === true ? (str(r.degraded_reason) ?? 'yes') : null]
        ]
      }
    }
  },
  {
    key: 'reviews',
    title: 'Reviews',
    table: 'review_outcomes',
    columns: ['outcome', 'reviewer_note', 'degraded', 'escalation_category'],
    json: [],
    time: 'timestamp',
    idColumn: 'id',
    order: 'time',
    build: (r) => ({
      title: str(r.outcome) === null ? 'Review' : stateLabel(str(r.outcome), 'outcome'),
      status: decisionReviewStatus(str(r.outcome)),
      fields: [
        ['Outcome', str(r.outcome)],
        ['Note', str(r.reviewer_note)],
        ['Degraded', r.degraded === true ? 'yes' : null],
        ['Escalation', wireDetail(escalationCategoryWords(str(r.escalation_category)), str(r.escalation_category))]
      ]
    })
  },
  {
    key: 'steps',
    title: 'SRBN steps',
    table: 'srbn_step_records',
    columns: ['step', 'outcome', 'attempt_count', 'duration_ms', 'parse_state', 'retry_classification'],
    json: ['energy_json'],
    time: 'timestamp',
    idColumn: 'id',
    order: 'time',
    build: (r) => ({
      title: str(r.step) === null ? 'Step' : capitalised(plainWords(str(r.step) as string)),
      status: str(r.outcome)?.toLowerCase() ?? null,
      fields: [
        ['Attempt', num(r.attempt_count)],
        ['Duration', toNumber(r.duration_ms) === null ? null : `${toNumber(r.duration_ms)} ms`],
        ['Parse state', str(r.parse_state)],
        ['Retry', str(r.retry_classification)]
      ]
    })
  },
  {
    key: 'corrections',
    title: 'Correction attempts',
    table: 'correction_attempts',
    columns: ['attempt', 'parse_state', 'retry_classification', 'response_fingerprint', 'response_length', 'accepted', 'rejection_reason'],
    json: ['energy_json'],
    time: 'epoch-seconds',
    idColumn: 'id',
    order: 'time',
    build: (r) => ({
      title: `Attempt ${num(r.attempt) ?? '?'}${str(r.parse_state) ? ` · ${plainWords(str(r.parse_state) as string)}` : ''}`,
      status: r.accepted === true ? 'accepted' : r.accepted === false ? 'rejected' : null,
      fields: [
        ['Parse state', str(r.parse_state)],
        ['Retry', str(r.retry_classification)],
        ['Response', toNumber(r.response_length) === null ? null : `${toNumber(r.response_length)} chars · ${str(r.response_fingerprint) ?? '—'}`],
        ['Rejection', str(r.rejection_reason)]
      ]
    })
  }
]

/** Cuts a long text on a grapheme boundary (never inside an emoji, a flag or accents), keeping its layout. */
export function decisionCap(s: string, max = DECISION_FIELD_MAX_CHARS): string {
  if (s.length <= max) return s
  return headGraphemes(s, max).length === s.length ? s : `${headGraphemes(s, max - 1)}…`
}

/** A JSON-in-TEXT value: parsed when valid, else the raw text; '' (unwrap_or_default) is absent. */
export function decisionJson(raw: JS | undefined, chars: number | null): unknown {
  if (chars !== null && chars > DECISION_JSON_MAX_CHARS) return `(${chars.toLocaleString('en')} characters of JSON, too large to show here)`
  const s = text(raw)
  if (s === null) return undefined
  try {
    return JSON.parse(s) as unknown
  } catch {
    return decisionCap(s)
  }
}

function sectionSql(spec: SectionSpec, probe: SchemaProbe): string {
  const c = probe.columns.get(spec.table) as ReadonlySet<string>
  const pick = (column: string, alias = column) => (c.has(column) ? `${column} AS "${alias}"` : `NULL AS "${alias}"`)
  const jsonCols = spec.json.flatMap((j) =>
    c.has(j)
      ? [`CASE WHEN length(${j}) > ${DECISION_JSON_MAX_CHARS} THEN NULL ELSE ${j} END AS "j_${j}"`, `length(${j}) AS "n_${j}"`]
      : [`NULL AS "j_${j}"`, `NULL AS "n_${j}"`]
  )
  const time = !c.has('created_at')
    ? 'NULL'
    : spec.time === 'epoch-seconds'
      ? 'TRY_CAST(created_at AS BIGINT) * 1000'
      : 'epoch_ms(TRY_CAST(created_at AS TIMESTAMP))'
  const idExpr = c.has(spec.idColumn) ? `CAST(${spec.idColumn} AS VARCHAR)` : `CAST(row_number() OVER () AS VARCHAR)`
  const seq = c.has('sequence') ? 'sequence' : 'NULL'
  const tie = c.has('id') ? 'id' : idExpr
  const latest =
    spec.latestPerNode && c.has('node_id')
      ? `QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY ${time} DESC NULLS LAST, ${tie} DESC) = 1`
      : ''
  const order = spec.order === 'sequence' ? `_seq DESC NULLS LAST, _t DESC NULLS LAST, _id DESC` : `_t DESC NULLS LAST, _tie DESC`
  const inner = `SELECT ${idExpr} AS _id, ${tie} AS _tie, ${time} AS _t, ${seq} AS _seq,
      ${c.has('node_id') ? 'node_id' : 'NULL'} AS _node,
      ${[...spec.columns.map((x) => pick(x)), ...jsonCols].join(', ')}
    FROM ${spec.table} WHERE session_id = $1 ${latest}`
  return `SELECT *, count(*) OVER () AS _total FROM (${inner}) ORDER BY ${order} LIMIT ${DECISION_SECTION_LIMIT}`
}

async function readSection(con: DuckDBConnection, probe: SchemaProbe, spec: SectionSpec, sessionId: string, empty: ReadonlySet<PersptTable>): Promise<DecisionSection> {
  const cols = probe.columns.get(spec.table)
  if (!cols || !cols.has('session_id')) {
    return { key: spec.key, title: spec.title, available: false, total: 0, items: [] }
  }
  // An empty table (often most of them: sheaf validations are never written) costs no query.
  if (empty.has(spec.table)) return { key: spec.key, title: spec.title, available: true, total: 0, items: [] }
  const params: DuckDBValue[] = [sessionId]
  const result = (await con.runAndReadAll(sectionSql(spec, probe), params)).getRowObjectsJS()
  const total = toNumber(result[0]?._total) ?? 0
  // Newest first from SQL; shown oldest first, like Perspt's pages.
  const items = result.reverse().map((r): DecisionItem => {
    const json: Record<string, unknown> = {}
    for (const j of spec.json) {
      const chars = toNumber(r[`n_${j}`])
      const value = decisionJson(r[`j_${j}`], chars)
      if (value !== undefined) json[j] = value
    }
    const built = spec.build(r, json)
    return {
      id: `${spec.table}:${String(r._id)}`,
      section: spec.key,
      at: isoFromMs(toNumber(r._t)),
      nodeId: text(r._node),
      title: decisionCap(built.title, 200),
      status: built.status,
      fields: built.fields.flatMap(([label, value]) => (value === null || value.trim() === '' ? [] : [{ label, value: decisionCap(value) }])),
      json
    }
  })
  return { key: spec.key, title: spec.title, available: true, total, items }
}

export async function readDecisionTrace(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<DecisionTrace> {
  const sections: DecisionSection[] = []
  const empty = await emptyTables(con)
  for (const spec of SECTIONS) sections.push(await readSection(con, probe, spec, sessionId, empty))
  return { sections }
}
