import { describe, it, expect, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DecisionSection, DecisionSectionKey, DecisionTrace } from '../../../src/shared/model/perspt-views'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import type { SchemaGeneration } from '../../../src/main/perspt/schema'
import { probeSchema } from '../../../src/main/perspt/store-reader'
import {
  DECISION_SECTION_LIMIT,
  decisionActionTag,
  decisionJson,
  decisionReviewStatus,
  readDecisionTrace
} from '../../../src/main/perspt/views/decision-trace'
import { VIEWS_EMPTY, VIEWS_MAIN, VIEWS_OTHER, buildViewsStore, copyStore } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-views-decisions-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ORDER: DecisionSectionKey[] = ['escalations', 'sheaf', 'rewrites', 'plans', 'repairs', 'verifications', 'reviews', 'steps', 'corrections']

let built = 0
async function trace(generation: SchemaGeneration, sessionId: string): Promise<DecisionTrace> {
  const path = join(dir, `views-${generation}-${sessionId}-${++built}.db`)
  await buildViewsStore(path, { generation, llmRequests: 5 })
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    return await readDecisionTrace(con, await probeSchema(con), sessionId)
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

const section = (t: DecisionTrace, key: DecisionSectionKey) => t.sections.find((s) => s.key === key) as DecisionSection

describe('readDecisionTrace', () => {
  it('has every section in order, each item traceable to its row, with parsed JSON', async () => {
    const t = await trace(23, VIEWS_MAIN)
    expect(t.sections.map((s) => s.key)).toEqual(ORDER)
    expect(t.sections.every((s) => s.available)).toBe(true)

    const esc = section(t, 'escalations')
    expect(esc.total).toBe(2)
    expect(esc.items.map((i) => [i.nodeId, i.title, i.status])).toEqual([
      ['task_3', 'Implementation error → retry with the evidence', 'escalated'],
      ['task_4', 'Implementation error', 'escalated']
    ])
    expect(esc.items[0]!.id).toMatch(/^escalation_reports:\d+$/)
    expect(esc.items[0]!.at).toBe('2026-05-03T10:00:50.000Z')
    expect(esc.items[0]!.json.action).toEqual({ grounded_retry: { evidence_summary: 'stalled' } })
    expect(esc.items[0]!.json.affected_node_ids).toEqual(['task_3'])
    expect(esc.items[0]!.fields).toContainEqual({ label: 'Evidence', value: 'tests fail in task_3' })
    // Malformed JSON is kept as its raw text.
    expect(esc.items[1]!.json.action).toBe('{"node_split":')

    // Perspt's page never shows these (Boolean read as String); Vigil does.
    const sheaf = section(t, 'sheaf')
    expect(sheaf.items.map((i) => [i.nodeId, i.status])).toEqual([
      ['task_2', 'passed'],
      ['task_3', 'failed']
    ])
    expect(sheaf.items[1]!.fields).toContainEqual({ label: 'V_sheaf', value: '0.25' })
    expect(sheaf.items[1]!.fields.find((f) => f.label === 'Plugin')).toBeUndefined()

    const rw = section(t, 'rewrites')
    expect(rw.items.map((i) => i.title)).toEqual(['Split the node'])
    expect(rw.items[0]!.json.inserted_nodes).toEqual(['task_3a', 'task_3b'])

    const plans = section(t, 'plans')
    expect(plans.items.map((i) => [i.id, i.title, i.status, i.nodeId])).toEqual([
      [`plan_revisions:${VIEWS_MAIN}-r1`, 'Revision 1 · initial', 'active', null],
      [`plan_revisions:${VIEWS_MAIN}-r2`, 'Revision 2 · replan', 'superseded', null]
    ])
    expect((plans.items[0]!.json.plan_json as { tasks: unknown[] }).tasks).toHaveLength(4)

    const repairs = section(t, 'repairs')
    expect(repairs.items.map((i) => [i.title, i.status])).toEqual([
      ['Repair attempt 1', 'unresolved'],
      ['Repair attempt 2', 'unresolved']
    ])

    // Latest per node: task_1's failing first pass is superseded by its passing one.
    const ver = section(t, 'verifications')
    expect(ver.total).toBe(2)
    expect(ver.items.map((i) => [i.nodeId, i.status, i.title])).toEqual([
      ['task_1', 'passed', 'all green'],
      ['task_2', 'degraded', 'all green']
    ])
    expect(ver.items[1]!.fields).toContainEqual({ label: 'Degraded', value: 'no linter' })

    expect(section(t, 'reviews').items.map((i) => [i.title, i.status])).toEqual([
      ['Auto-approved', 'approved'],
      ['Rejected', 'rejected']
    ])

    const corr = section(t, 'corrections')
    expect(corr.items.map((i) => [i.title, i.status, i.at])).toEqual([
      ['Attempt 1 · schema invalid', 'rejected', '2026-05-03T10:01:10.000Z'],
      ['Attempt 2 · strict json ok', 'accepted', '2026-05-03T10:01:11.000Z']
    ])
    expect(corr.items[1]!.json.energy_json).toEqual({ v_syn: 0.05 })
    expect('energy_json' in corr.items[0]!.json).toBe(false)
  })

  it('bounds a section to the newest items but reports the true total', async () => {
    const t = await trace(23, VIEWS_MAIN)
    const steps = section(t, 'steps')
    expect(steps.total).toBe(523)
    expect(steps.items).toHaveLength(DECISION_SECTION_LIMIT)
    // The newest 500, oldest first.
    const times = steps.items.map((i) => Date.parse(i.at!))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(steps.items.at(-1)!.at).toBe('2026-05-03T10:10:19.000Z')
    expect(new Set(steps.items.map((i) => i.id)).size).toBe(DECISION_SECTION_LIMIT)
  })

  it('never shows another session’s rows', async () => {
    const t = await trace(23, VIEWS_OTHER)
    for (const s of t.sections) {
      for (const i of s.items) expect(i.nodeId === null || i.nodeId === 'task_1', `${s.key} ${i.id}`).toBe(true)
    }
    expect(section(t, 'escalations').items.map((i) => i.title)).toEqual(['Implementation error → ask the user'])
    expect(section(t, 'steps').total).toBe(1)
    expect(section(t, 'plans').total).toBe(1)
  })

  it.each([
    [4, []],
    [17, ['escalations', 'sheaf', 'rewrites', 'verifications', 'reviews']],
    [21, ['escalations', 'sheaf', 'rewrites', 'plans', 'repairs', 'verifications', 'reviews']],
    [23, ORDER]
  ] as const)('generation %i: sections of absent tables are unavailable, the rest read', async (generation, available) => {
    const t = await trace(generation, VIEWS_MAIN)
    expect(t.sections.map((s) => s.key)).toEqual(ORDER)
    expect(t.sections.filter((s) => s.available).map((s) => s.key)).toEqual(available)
    for (const s of t.sections.filter((x) => !x.available)) expect(s).toMatchObject({ total: 0, items: [] })
    for (const s of t.sections.filter((x) => x.available && x.key !== 'steps')) expect(s.total, s.key).toBeGreaterThan(0)
  })

  it('is empty (but available) for a session without decisions', async () => {
    const t = await trace(23, VIEWS_EMPTY)
    expect(t.sections.every((s) => s.available && s.total === 0 && s.items.length === 0)).toBe(true)
  })

  it('agrees with SQL counts on the simulator store', async () => {
    const sdir = mkdtempSync(join(dir, 'sim-'))
    const path = join(sdir, 'perspt.db')
    const sim = new PersptSimulator({ path, tickMs: 0, seed: 9, now: () => Date.parse('2026-06-15T12:00:00Z') })
    await sim.start()
    const copy = join(sdir, 'copy.db')
    try {
      copyStore(path, copy)
    } finally {
      await sim.stop()
    }
    const instance = await DuckDBInstance.create(copy, { access_mode: 'READ_ONLY' })
    const con = await instance.connect()
    try {
      const probe = await probeSchema(con)
      const sessions = (await con.runAndReadAll('SELECT session_id FROM sessions')).getRowObjectsJS().map((r) => String(r.session_id))
      const tables: Record<DecisionSectionKey, string> = {
        escalations: 'SELECT count(*) FROM escalation_reports WHERE session_id = $1',
        sheaf: 'SELECT count(*) FROM sheaf_validations WHERE session_id = $1',
        rewrites: 'SELECT count(*) FROM rewrite_records WHERE session_id = $1',
        plans: 'SELECT count(*) FROM plan_revisions WHERE session_id = $1',
        repairs: 'SELECT count(*) FROM repair_footprints WHERE session_id = $1',
        verifications: 'SELECT count(DISTINCT node_id) FROM verification_results WHERE session_id = $1',
        reviews: 'SELECT count(*) FROM review_outcomes WHERE session_id = $1',
        steps: 'SELECT count(*) FROM srbn_step_records WHERE session_id = $1',
        corrections: 'SELECT count(*) FROM correction_attempts WHERE session_id = $1'
      }
      let items = 0
      for (const sid of sessions) {
        const t = await readDecisionTrace(con, probe, sid)
        for (const s of t.sections) {
          const [row] = (await con.runAndReadAll(`SELECT (${tables[s.key]})::INTEGER AS n`, [sid])).getRowObjectsJS()
          expect(s.total, `${sid} ${s.key}`).toBe(row!.n)
          expect(s.items).toHaveLength(Math.min(s.total, DECISION_SECTION_LIMIT))
          items += s.items.length
          for (const i of s.items) {
            expect(i.section).toBe(s.key)
            expect(i.at === null || i.at.endsWith('Z')).toBe(true)
            if (s.key === 'corrections') expect(Date.parse(i.at!)).toBeGreaterThan(Date.parse('2026-01-01'))
          }
        }
      }
      expect(items).toBeGreaterThan(50)
    } finally {
      con.closeSync()
      instance.closeSync()
    }
  })
})

describe('decision helpers', () => {
  it('names RewriteAction tags', () => {
    expect(decisionActionTag({ grounded_retry: { evidence_summary: 'x' } })).toBe('grounded_retry')
    expect(decisionActionTag('user_escalation')).toBe('user_escalation')
    expect(decisionActionTag({})).toBeNull()
    expect(decisionActionTag(null)).toBeNull()
  })

  it('parses JSON text defensively', () => {
    expect(decisionJson('{"a":[1,2]}', 11)).toEqual({ a: [1, 2] })
    expect(decisionJson('', 0)).toBeUndefined()
    expect(decisionJson(null, null)).toBeUndefined()
    expect(decisionJson('{oops', 5)).toBe('{oops')
    expect(decisionJson(null, 10_000_000)).toMatch(/too large/)
  })

  it("counts reviews like Perspt", () => {
    expect(decisionReviewStatus('approved_with_edit')).toBe('approved')
    expect(decisionReviewStatus('auto_approved')).toBe('approved')
    expect(decisionReviewStatus('aborted')).toBe('rejected')
    expect(decisionReviewStatus('correction_requested')).toBe('correction requested')
    expect(decisionReviewStatus('')).toBeNull()
  })
})
