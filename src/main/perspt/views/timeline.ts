// The decision timeline of one session: every record of why Perspt did something (steps,
// verifications, escalations, rewrites, plan revisions, corrections, reviews, branch merges and
// flushes, consistency checks, repairs) as one chronological list, read in windows from DuckDB.
//
// Order: time ascending (rows without a time last), then the kind's place in TIMELINE_KINDS, then the
// row's own order (id, or sequence for plan revisions), then its id text: a total order, so windows
// never overlap or skip. A window is read in two steps: the keys of its rows from one UNION ALL over
// the kinds asked for (nothing but keys sorted), then the columns of just those rows, per table.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { TimelineEntry, TimelineFacets, TimelineKind, TimelinePage, TimelineQuery } from '../../../shared/model/perspt-timeline'
import { TIMELINE_KINDS, TIMELINE_MAX_NODES } from '../../../shared/model/perspt-timeline'
import { escalationCategoryWords, rewriteActionWords } from '../../../shared/model/escalation-words'
import type { Tone } from '../../../shared/model/status-vocabulary'
import type { PersptTable } from '../schema'
import type { SchemaProbe } from '../store-reader'
import { isoFromMs, roundReal, text, toNumber } from '../store-reader'
import { DECISION_JSON_MAX_CHARS, decisionActionTag, decisionCap, decisionJson } from './decision-trace'
import type { Row } from './dag-sql'
import { rows } from './dag-sql'

/** The contract allows at most this many entries per window. */
export const TIMELINE_MAX_LIMIT = 500
const LINE_MAX = 240

interface KindSpec {
  table: PersptTable
  /** The node the entry is about (flushes: the parent whose branches were flushed). */
  node: string | null
  time: { column: string; epochSeconds?: boolean }
  /** The id text and the numeric order within the table. */
  id: string
  order: string
  /** Extra WHERE terms (merges: branches in the merged state). */
  where?: string
  columns: string[]
  json: string[]
  build(r: Row, json: Record<string, unknown>): { line: string; tone: Tone | null; fields: Array<[string, string | null]> }
}

// ---- plain words -----------------------------------------------------------------------------

const str = (v: Row[string] | undefined): string | null => text(v)
const num = (v: Row[string] | undefined): number | null => toNumber(v)
const words = (s: string | null): string | null => (s === null ? null : s.replace(/_/g, ' ').trim())
/** "retry with evidence (grounded_retry)": what a person reads, with the stored word as detail. */
const withWire = (plain: string | null, wire: string | null): string | null =>
  plain === null ? wire : wire === null || plain.toLowerCase() === wire.toLowerCase() ? plain : `${plain} (${wire})`
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [])
const joinList = (items: string[], max = 6): string | null =>
  items.length === 0 ? null : items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`
const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`
const ms = (v: Row[string] | undefined): string | null => {
  const n = num(v)
  // 0 is the column's default: the step's time was not recorded.
  return n === null || n <= 0 ? null : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)} s`
}
const energyOf = (v: unknown): number | null => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null
  const o = v as Record<string, unknown>
  if (typeof o.v_total === 'number' && Number.isFinite(o.v_total)) return roundReal(o.v_total)
  const parts = ['v_syn', 'v_str', 'v_log', 'v_boot', 'v_sheaf'].map((k) => o[k]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
  return parts.length === 0 ? null : roundReal(parts.reduce((a, b) => a + b, 0))
}
const firstLine = (s: string | null, max = 120): string | null => {
  if (s === null) return null
  const line = s.split('\n').find((l) => l.trim() !== '')?.trim() ?? ''
  return line === '' ? null : decisionCap(line, max)
}

const STEP_WORDS: Record<string, string> = {
  speculate: 'Drafted a change',
  verify: 'Verified',
  converge: 'Converged',
  sheaf_validate: 'Checked consistency with other nodes',
  commit: 'Committed'
}

const VALIDATOR_WORDS: Record<string, string> = {
  export_import: 'exports and imports',
  dependency_graph: 'dependency graph',
  schema_contract: 'schema contract',
  build_graph: 'build graph',
  test_ownership: 'test ownership',
  cross_language: 'cross-language',
  policy_invariant: 'policy invariant'
}

const REVIEW_WORDS: Record<string, { words: string; tone: Tone | null }> = {
  auto_approved: { words: 'Approved automatically', tone: 'done' },
  approved: { words: 'Approved', tone: 'done' },
  approved_with_edit: { words: 'Approved with an edit', tone: 'done' },
  rejected: { words: 'Rejected', tone: 'failed' },
  aborted: { words: 'Aborted by the reviewer', tone: 'stopped' },
  correction_requested: { words: 'Correction requested', tone: 'attention' },
  edit_requested: { words: 'Edit requested', tone: 'attention' },
  skipped: { words: 'Skipped', tone: 'idle' }
}

const PARSE_WORDS: Record<string, string> = {
  strict_json_ok: 'valid JSON',
  tolerant_recovery_ok: 'recovered from loose JSON',
  no_structured_payload: 'no structured answer',
  schema_invalid: 'answer did not match the schema',
  semantically_rejected: 'answer rejected on its meaning',
  empty_bundle: 'no changes in the answer'
}

const plainOf = (table: Record<string, string>, wire: string | null): string | null => (wire === null ? null : (table[wire] ?? words(wire)))
const actionWords = (action: unknown): { plain: string | null; wire: string | null } => {
  const wire = decisionActionTag(action)
  return { plain: rewriteActionWords(wire), wire }
}
const check = (v: Row[string] | undefined): string => (v === true ? 'passed' : v === false ? 'failed' : 'not run')

const SPECS: Record<TimelineKind, KindSpec> = {
  plan: {
    table: 'plan_revisions',
    node: null,
    time: { column: 'created_at' },
    id: 'revision_id',
    order: 'sequence',
    columns: ['revision_id', 'sequence', 'reason', 'supersedes', 'status'],
    json: ['plan_json'],
    build: (r, j) => {
      const tasks = (j.plan_json as { tasks?: unknown } | undefined)?.tasks
      const n = Array.isArray(tasks) ? tasks.length : null
      const seq = num(r.sequence)
      const reason = str(r.reason)
      const initial = reason === null || reason.toLowerCase() === 'initial'
      const head = initial ? 'Planned the work' : `Revised the plan: ${firstLine(reason, 160)}`
      return {
        line: `${head}${n === null ? '' : ` (${plural(n, 'task')})`}${seq === null ? '' : ` · revision ${seq}`}`,
        tone: 'info',
        fields: [
          ['Revision', seq === null ? null : String(seq)],
          ['Reason', reason],
          ['Tasks', n === null ? null : String(n)],
          ['Replaces revision', str(r.supersedes)],
          ['State', words(str(r.status))],
          ['Revision id', str(r.revision_id)]
        ]
      }
    }
  },
  step: {
    table: 'srbn_step_records',
    node: 'node_id',
    time: { column: 'created_at' },
    id: 'id',
    order: 'id',
    columns: ['step', 'outcome', 'attempt_count', 'duration_ms', 'parse_state', 'retry_classification'],
    json: ['energy_json'],
    build: (r, j) => {
      const step = str(r.step)
      const outcome = str(r.outcome)?.toLowerCase() ?? null
      const doing = plainOf(STEP_WORDS, step) ?? 'Step'
      const energy = energyOf(j.energy_json)
      const attempt = num(r.attempt_count)
      let head = doing
      let tone: Tone | null = step === 'commit' && (outcome === 'ok' || outcome === null) ? 'done' : null
      if (outcome === 'escalated') {
        head = step === 'converge' ? 'Did not converge: escalated' : `${doing}: escalated`
        tone = 'attention'
      } else if (outcome === 'failed') {
        head = `${doing}: failed`
        tone = 'failed'
      } else if (outcome === 'retry') {
        head = `${doing}: will retry`
        tone = 'waiting'
      } else if (outcome !== null && outcome !== 'ok') head = `${doing}: ${words(outcome)}`
      const extras = [energy === null ? null : `energy ${energy}`, attempt !== null && attempt > 1 ? `attempt ${attempt}` : null, ms(r.duration_ms)].filter(Boolean)
      return {
        line: extras.length > 0 ? `${head} · ${extras.join(' · ')}` : head,
        tone,
        fields: [
          ['Step', withWire(plainOf(STEP_WORDS, step), step)],
          ['Outcome', withWire(words(outcome), str(r.outcome))],
          ['Energy', energy === null ? null : String(energy)],
          ['Attempt', attempt === null ? null : String(attempt)],
          ['Took', ms(r.duration_ms)],
          ['Answer parsed as', withWire(plainOf(PARSE_WORDS, str(r.parse_state)), str(r.parse_state))],
          ['Retry reason', withWire(words(str(r.retry_classification)), str(r.retry_classification))]
        ]
      }
    }
  },
  verification: {
    table: 'verification_results',
    node: 'node_id',
    time: { column: 'created_at' },
    id: 'id',
    order: 'id',
    columns: ['syntax_ok', 'build_ok', 'tests_ok', 'lint_ok', 'diagnostics_count', 'tests_passed', 'tests_failed', 'degraded', 'degraded_reason'],
    json: ['result_json'],
    build: (r, j) => {
      const summary = firstLine(typeof (j.result_json as { summary?: unknown } | undefined)?.summary === 'string' ? ((j.result_json as { summary: string }).summary) : null)
      const checks = { syntax: r.syntax_ok, build: r.build_ok, tests: r.tests_ok, lint: r.lint_ok }
      const failed = Object.entries(checks).filter(([, v]) => v === false).map(([k]) => k)
      const degraded = r.degraded === true
      const passed = failed.length === 0
      const head = degraded ? 'Verification degraded' : passed ? 'Verification passed' : 'Verification failed'
      const why = degraded ? (str(r.degraded_reason) ?? summary) : (summary ?? (passed ? null : `${failed.join(', ')} failed`))
      const tp = num(r.tests_passed)
      const tf = num(r.tests_failed)
      return {
        line: why ? `${head}: ${why}` : head,
        tone: degraded ? 'waiting' : passed ? 'done' : 'failed',
        fields: [
          ['Syntax', check(r.syntax_ok)],
          ['Build', check(r.build_ok)],
          ['Tests', tp === null && tf === null ? check(r.tests_ok) : `${check(r.tests_ok)}: ${tp ?? 0} passed, ${tf ?? 0} failed`],
          ['Lint', check(r.lint_ok)],
          ['Problems reported', num(r.diagnostics_count) === null ? null : String(num(r.diagnostics_count))],
          ['Degraded because', degraded ? (str(r.degraded_reason) ?? 'not said') : null],
          ['Summary', summary]
        ]
      }
    }
  },
  sheaf: {
    table: 'sheaf_validations',
    node: 'node_id',
    time: { column: 'created_at' },
    id: 'id',
    order: 'id',
    columns: ['validator_class', 'plugin_source', 'passed', 'evidence_summary', 'v_sheaf_contribution'],
    json: ['affected_files', 'requeue_targets'],
    build: (r, j) => {
      const validator = str(r.validator_class)
      const what = plainOf(VALIDATOR_WORDS, validator) ?? 'consistency'
      const evidence = firstLine(str(r.evidence_summary))
      const ok = r.passed === true
      const bad = r.passed === false
      return {
        line: `Consistency check of ${what} ${ok ? 'passed' : bad ? 'failed' : 'ran'}${evidence && !ok ? `: ${evidence}` : ''}`,
        tone: ok ? 'done' : bad ? 'failed' : null,
        fields: [
          ['Check', withWire(plainOf(VALIDATOR_WORDS, validator), validator)],
          ['Result', ok ? 'passed' : bad ? 'failed' : null],
          ['Energy added', num(r.v_sheaf_contribution) === null ? null : String(roundReal(num(r.v_sheaf_contribution)))],
          ['Files', joinList(list(j.affected_files), 20)],
          ['Nodes to redo', joinList(list(j.requeue_targets), 20)],
          ['From plugin', str(r.plugin_source)],
          ['Evidence', str(r.evidence_summary)]
        ]
      }
    }
  },
  escalation: {
    table: 'escalation_reports',
    node: 'node_id',
    time: { column: 'created_at' },
    id: 'id',
    order: 'id',
    columns: ['category', 'evidence'],
    json: ['action', 'energy_snapshot', 'stage_outcomes', 'affected_node_ids'],
    build: (r, j) => {
      const category = str(r.category)
      const action = actionWords(j.action)
      const evidence = firstLine(str(r.evidence))
      const energy = energyOf(j.energy_snapshot)
      return {
        line: `Escalated${category ? ` (${escalationCategoryWords(category)})` : ''}${action.plain ? `: ${action.plain}` : ''}${evidence ? ` · ${evidence}` : ''}`,
        tone: 'attention',
        fields: [
          ['Why', withWire(escalationCategoryWords(category), category)],
          ['Next action', withWire(action.plain, action.wire)],
          ['Nodes affected', joinList(list(j.affected_node_ids), 20)],
          ['Energy', energy === null ? null : String(energy)],
          ['Evidence', str(r.evidence)]
        ]
      }
    }
  },
  rewrite: {
    table: 'rewrite_records',
    node: 'node_id',
    time: { column: 'created_at' },
    id: 'id',
    order: 'id',
    columns: ['category'],
    json: ['action', 'requeued_nodes', 'inserted_nodes'],
    build: (r, j) => {
      const action = actionWords(j.action)
      const inserted = list(j.inserted_nodes)
      const requeued = list(j.requeued_nodes)
      const category = str(r.category)
      const extra = inserted.length > 0 ? `, added ${joinList(inserted, 4)}` : requeued.length > 0 ? `, redo ${joinList(requeued, 4)}` : ''
      return {
        line: `Changed the task graph: ${action.plain ?? 'rewrite'}${category ? ` (${escalationCategoryWords(category)})` : ''}${extra}`,
        tone: 'info',
        fields: [
          ['Change', withWire(action.plain, action.wire)],
          ['Why', withWire(escalationCategoryWords(category), category)],
          ['Nodes added', joinList(inserted, 20)],
          ['Nodes to redo', joinList(requeued, 20)]
        ]
      }
    }
  },
  correction: {
    table: 'correction_attempts',
    node: 'node_id',
    time: { column: 'created_at', epochSeconds: true },
    id: 'id',
    order: 'id',
    columns: ['attempt', 'parse_state', 'retry_classification', 'response_fingerprint', 'response_length', 'accepted', 'rejection_reason'],
    json: ['energy_json'],
    build: (r, j) => {
      const n = num(r.attempt)
      const parse = str(r.parse_state)
      const reason = firstLine(str(r.rejection_reason)) ?? plainOf(PARSE_WORDS, parse)
      const accepted = r.accepted === true
      const rejected = r.accepted === false
      const energy = energyOf(j.energy_json)
      return {
        line: `Correction attempt ${n ?? '?'} ${accepted ? 'accepted' : rejected ? 'rejected' : 'made'}${rejected && reason ? `: ${reason}` : ''}${accepted && energy !== null ? ` · energy ${energy}` : ''}`,
        tone: accepted ? 'done' : rejected ? 'failed' : null,
        fields: [
          ['Attempt', n === null ? null : String(n)],
          ['Result', accepted ? 'accepted' : rejected ? 'rejected' : null],
          ['Why rejected', str(r.rejection_reason)],
          ['Answer parsed as', withWire(plainOf(PARSE_WORDS, parse), parse)],
          ['Retry reason', withWire(words(str(r.retry_classification)), str(r.retry_classification))],
          ['Answer', num(r.response_length) === null ? null : `${plural(num(r.response_length) as number, 'character')}${str(r.response_fingerprint) ? ` · fingerprint ${str(r.response_fingerprint)}` : ''}`],
          ['Energy', energy === null ? null : String(energy)]
        ]
      }
    }
  },
  repair: {
    table: 'repair_footprints',
    node: 'node_id',
    time: { column: 'created_at' },
    id: 'id',
    order: 'id',
    columns: ['attempt', 'diagnosis', 'resolved'],
    json: ['affected_files', 'bundle_json'],
    build: (r, j) => {
      const files = list(j.affected_files)
      const n = num(r.attempt)
      return {
        line: `Repair attempt ${n ?? '?'}${files.length > 0 ? ` on ${joinList(files, 3)}` : ''}${r.resolved === true ? ' · resolved' : ''}`,
        tone: r.resolved === true ? 'done' : null,
        fields: [
          ['Attempt', n === null ? null : String(n)],
          ['Files', joinList(files, 20)],
          ['Resolved', r.resolved === true ? 'yes' : r.resolved === false ? 'not marked resolved' : null],
          ['Diagnosis', str(r.diagnosis)]
        ]
      }
    }
  },
  review: {
    table: 'review_outcomes',
    node: 'node_id',
    time: { column: 'created_at' },
    id: 'id',
    order: 'id',
    columns: ['outcome', 'reviewer_note', 'degraded', 'escalation_category'],
    json: [],
    build: (r) => {
      const outcome = str(r.outcome)
      const known = outcome === null ? undefined : REVIEW_WORDS[outcome.toLowerCase()]
      const plain = known?.words ?? (outcome === null ? 'Reviewed' : (words(outcome) as string))
      const note = firstLine(str(r.reviewer_note))
      return {
        line: `Review: ${plain}${note ? ` · “${note}”` : ''}`,
        tone: known?.tone ?? null,
        fields: [
          ['Decision', withWire(plain, outcome)],
          ['Note', str(r.reviewer_note)],
          ['Checks were degraded', r.degraded === true ? 'yes' : null],
          ['Escalation', withWire(escalationCategoryWords(str(r.escalation_category)), str(r.escalation_category))]
        ]
      }
    }
  },
  merge: {
    table: 'provisional_branches',
    node: 'node_id',
    time: { column: 'updated_at' },
    id: 'id',
    order: 'id',
    where: `lower(state) = 'merged'`,
    columns: ['branch_id', 'parent_node_id', 'created_at'],
    json: [],
    build: (r) => {
      const parent = str(r.parent_node_id)
      return {
        line: `Merged the node's work${parent && parent !== 'root' ? ` (built on ${parent})` : ''}`,
        tone: 'done',
        fields: [
          ['Branch', str(r.branch_id)],
          ['Built on', parent === 'root' ? 'nothing (a root node)' : parent],
          ['Branch started', str(r.created_at)]
        ]
      }
    }
  },
  flush: {
    table: 'branch_flushes',
    node: 'parent_node_id',
    time: { column: 'created_at' },
    id: 'id',
    order: 'id',
    columns: ['flush_id', 'reason'],
    json: ['flushed_branch_ids', 'requeue_node_ids'],
    build: (r, j) => {
      const flushed = list(j.flushed_branch_ids)
      const requeued = list(j.requeue_node_ids)
      const reason = firstLine(str(r.reason))
      return {
        line: `Threw away ${flushed.length > 0 ? plural(flushed.length, 'branch', 'branches') : 'branches'}${requeued.length > 0 ? `, redo ${joinList(requeued, 4)}` : ''}${reason ? ` · ${reason}` : ''}`,
        tone: 'info',
        fields: [
          ['Reason', str(r.reason)],
          ['Branches thrown away', joinList(flushed, 20)],
          ['Nodes to redo', joinList(requeued, 20)],
          ['Flush id', str(r.flush_id)]
        ]
      }
    }
  }
}

// ---- SQL ---------------------------------------------------------------------------------------

function columnsOf(probe: SchemaProbe, spec: KindSpec): ReadonlySet<string> | null {
  const c = probe.columns.get(spec.table)
  return c && c.has('session_id') && c.has(spec.id) ? c : null
}

function timeSql(c: ReadonlySet<string>, spec: KindSpec): string {
  if (!c.has(spec.time.column)) return 'NULL::BIGINT'
  return spec.time.epochSeconds ? `TRY_CAST(${spec.time.column} AS BIGINT) * 1000` : `epoch_ms(TRY_CAST(${spec.time.column} AS TIMESTAMP))`
}

function nodeSql(c: ReadonlySet<string>, spec: KindSpec): string {
  return spec.node !== null && c.has(spec.node) ? `NULLIF(trim(${spec.node}), '')` : 'NULL::VARCHAR'
}

/** One SELECT per available kind: keys only, in the shared shape. */
function keysSql(probe: SchemaProbe, kinds: readonly TimelineKind[]): string | null {
  const parts: string[] = []
  for (const kind of kinds) {
    const spec = SPECS[kind]
    const c = columnsOf(probe, spec)
    if (!c) continue
    if (spec.where && !c.has('state')) continue
    const order = c.has(spec.order) ? `TRY_CAST(${spec.order} AS BIGINT)` : 'NULL::BIGINT'
    parts.push(
      `SELECT '${kind}' AS _kind, ${TIMELINE_KINDS.indexOf(kind)} AS _k, ${timeSql(c, spec)} AS _t, ${nodeSql(c, spec)} AS _node,
         ${order} AS _o, ${spec.id === 'id' ? 'NULL::VARCHAR' : `CAST(${spec.id} AS VARCHAR)`} AS _s
       FROM ${spec.table} WHERE session_id = $sid${spec.where ? ` AND ${spec.where}` : ''}`
    )
  }
  return parts.length === 0 ? null : parts.join('\nUNION ALL\n')
}

function clampInt(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min
  return Math.min(max, Math.max(min, Math.floor(value)))
}

function kindsOf(query: Pick<TimelineQuery, 'kinds'>): TimelineKind[] {
  const asked = new Set(query.kinds ?? [])
  return asked.size === 0 ? [...TIMELINE_KINDS] : TIMELINE_KINDS.filter((k) => asked.has(k))
}

/** A key row's id: the integer id (in `_o`), or the text id of tables keyed by text (plan revisions). */
const keyOf = (k: Row): string => (k._s === null || k._s === undefined ? String(k._o) : String(k._s))

/** The columns of the page's rows of one kind, by id text. */
async function details(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, kind: TimelineKind, ids: string[]): Promise<Map<string, Row>> {
  const spec = SPECS[kind]
  // Integer ids go in as integers (DuckDB just returned them), so the lookup uses the column as it is.
  const numeric = spec.id === 'id'
  const ints = numeric ? ids.map(Number).filter((n) => Number.isSafeInteger(n)) : []
  const c = columnsOf(probe, spec) as ReadonlySet<string>
  const pick = (column: string) => (c.has(column) ? `${column} AS "${column}"` : `NULL AS "${column}"`)
  const jsonCols = spec.json.flatMap((j) =>
    c.has(j)
      ? [`CASE WHEN length(${j}) > ${DECISION_JSON_MAX_CHARS} THEN NULL ELSE ${j} END AS "j_${j}"`, `length(${j}) AS "n_${j}"`]
      : [`NULL AS "j_${j}"`, `NULL AS "n_${j}"`]
  )
  if (numeric && ints.length === 0) return new Map()
  const params: Record<string, string> = { sid: sessionId }
  if (!numeric) ids.forEach((id, i) => (params[`i${i}`] = id))
  const match = numeric
    ? `${spec.id} BETWEEN ${Math.min(...ints)} AND ${Math.max(...ints)} AND ${spec.id} IN (${ints.join(', ')})`
    : `${spec.id} IN (${ids.map((_, i) => `$i${i}`).join(', ')})`
  const found = await rows(
    con,
    `SELECT CAST(${spec.id} AS VARCHAR) AS _id, ${[...spec.columns.map(pick), ...jsonCols].join(', ')}
     FROM ${spec.table} WHERE session_id = $sid AND ${match}`,
    params
  )
  return new Map(found.map((r) => [String(r._id), r]))
}

function entry(kind: TimelineKind, key: Row, r: Row | undefined): TimelineEntry {
  const spec = SPECS[kind]
  const json: Record<string, unknown> = {}
  for (const j of spec.json) {
    const value = r ? decisionJson(r[`j_${j}`], toNumber(r[`n_${j}`])) : undefined
    if (value !== undefined) json[j] = value
  }
  const built = r ? spec.build(r, json) : { line: 'This record changed while it was read; refresh to see it.', tone: null, fields: [] }
  return {
    id: `${spec.table}:${keyOf(key)}`,
    kind,
    at: isoFromMs(toNumber(key._t)),
    nodeId: text(key._node),
    line: decisionCap(built.line, LINE_MAX),
    tone: built.tone,
    fields: built.fields.flatMap(([label, value]) => (value === null || value.trim() === '' ? [] : [{ label, value: decisionCap(value) }])),
    json
  }
}

/** One window of the session's timeline, oldest first, with the number of entries matching the filters. */
export async function readTimeline(con: DuckDBConnection, probe: SchemaProbe, sessionId: string, query: TimelineQuery): Promise<TimelinePage> {
  const offset = clampInt(query.offset, 0, Number.MAX_SAFE_INTEGER)
  const limit = clampInt(query.limit, 1, TIMELINE_MAX_LIMIT)
  const union = keysSql(probe, kindsOf(query))
  if (union === null) return { total: 0, offset, rows: [] }
  const params: Record<string, string> = { sid: sessionId }
  let where = ''
  if (query.nodeId !== undefined && query.nodeId.trim() !== '') {
    params.node = query.nodeId.trim()
    where = 'WHERE _node = $node'
  }
  // The window by a top-N sort over the keys alone; the total by a plain count (no window function,
  // which would hold every row).
  const keys = await rows(
    con,
    `SELECT _kind, _o, _s, _t, _node FROM (${union}) ${where}
     ORDER BY _t ASC NULLS LAST, _k ASC, _o ASC NULLS LAST, _s ASC NULLS FIRST
     LIMIT ${limit} OFFSET ${offset}`,
    params
  )
  const [count] = await rows(con, `SELECT count(*) AS n FROM (${union}) ${where}`, params)
  const total = toNumber(count?.n) ?? 0
  if (keys.length === 0) return { total, offset, rows: [] }
  const byKind = new Map<TimelineKind, string[]>()
  for (const k of keys) {
    const kind = k._kind as TimelineKind
    const list = byKind.get(kind)
    if (list) list.push(keyOf(k))
    else byKind.set(kind, [keyOf(k)])
  }
  const found = new Map<TimelineKind, Map<string, Row>>()
  for (const [kind, ids] of byKind) found.set(kind, await details(con, probe, sessionId, kind, ids))
  return {
    total,
    offset,
    rows: keys.map((k) => entry(k._kind as TimelineKind, k, found.get(k._kind as TimelineKind)?.get(keyOf(k))))
  }
}

/** Counts per kind (every kind, available or not) and the nodes with entries, for the filters. */
export async function readTimelineFacets(con: DuckDBConnection, probe: SchemaProbe, sessionId: string): Promise<TimelineFacets> {
  const union = keysSql(probe, TIMELINE_KINDS)
  const counts = new Map<string, number>()
  let nodes: TimelineFacets['nodes'] = []
  let nodeCount = 0
  if (union !== null) {
    // One pass over the records: counts per kind and per node (GROUPING SETS), then the nodes bounded.
    const grouped = await rows(
      con,
      `SELECT _kind, _node, GROUPING(_kind) AS by_node, count(*) AS n FROM (${union}) GROUP BY GROUPING SETS ((_kind), (_node))`,
      { sid: sessionId }
    )
    const found: Row[] = []
    for (const r of grouped) {
      if (toNumber(r.by_node) === 0) counts.set(String(r._kind), toNumber(r.n) ?? 0)
      else if (r._node !== null && r._node !== undefined) found.push(r)
    }
    nodeCount = found.length
    found.sort((x, y) => (String(x._node) < String(y._node) ? -1 : String(x._node) > String(y._node) ? 1 : 0))
    found.length = Math.min(found.length, TIMELINE_MAX_NODES)
    nodes = found.map((r) => ({ nodeId: String(r._node), count: toNumber(r.n) ?? 0 }))
  }
  const kinds = TIMELINE_KINDS.map((kind) => {
    const spec = SPECS[kind]
    const c = columnsOf(probe, spec)
    return { kind, count: counts.get(kind) ?? 0, available: c !== null && (!spec.where || c.has('state')) }
  })
  return { kinds, nodes, nodesLeftOut: Math.max(0, nodeCount - nodes.length), total: kinds.reduce((n, k) => n + k.count, 0) }
}
