import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { ApiError } from '../../../src/shared/api/errors'
import type { SessionRow } from '../../../src/shared/model/perspt'
import type { DagGraph, NodeState } from '../../../src/shared/model/perspt-views'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import { TABLES_BY_GENERATION, ALL_PERSPT_TABLES } from '../../../src/main/perspt/schema'
import type { SchemaGeneration } from '../../../src/main/perspt/schema'
import { probeSchema, readSessions } from '../../../src/main/perspt/store-reader'
import type { SchemaProbe } from '../../../src/main/perspt/store-reader'
import { readDag, readNodeDetail } from '../../../src/main/perspt/views/dag'
import { mayBeBlankId, ENERGY_EPSILON, readEnergy } from '../../../src/main/perspt/views/energy'
import { readSessionSummary } from '../../../src/main/perspt/views/session-summary'
import { preview } from '../../../src/main/perspt/views/text-preview'
import { buildStore, MULTIBYTE } from '../../fixtures/perspt-fixtures'
import type { BuildStoreOptions } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-views-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

interface Opened {
  con: DuckDBConnection
  probe: SchemaProbe
  sessions: SessionRow[]
  sql: <T = Record<string, unknown>>(q: string, params?: Record<string, string>) => Promise<T[]>
  close: () => void
}

async function open(path: string, agentLive = true): Promise<Opened> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  const probe = await probeSchema(con)
  const sessions = await readSessions(con, probe, { agentLive, now: Date.parse('2026-06-20T00:00:00Z') })
  return {
    con,
    probe,
    sessions,
    sql: async (q, params) => (await con.runAndReadAll(q, params)).getRowObjectsJS() as never,
    close: () => {
      con.closeSync()
      instance.closeSync()
    }
  }
}

async function fixture(opts: BuildStoreOptions, agentLive = true): Promise<Opened> {
  const path = join(dir, `store-${++n}.db`)
  await buildStore(path, opts)
  return open(path, agentLive)
}

function stateCounts(dag: DagGraph): Record<NodeState | 'planned', number> {
  const c = { planned: dag.nodes.length, committed: 0, running: 0, failed: 0, escalated: 0, queued: 0 }
  for (const node of dag.nodes) c[node.state]++
  return c
}

/** DAG states must add up to exactly the counts the sessions list shows, for every session. */
async function expectDagAgrees(o: Opened): Promise<void> {
  for (const s of o.sessions) {
    const dag = await readDag(o.con, o.probe, s.sessionId, { status: s.status })
    expect(stateCounts(dag), s.sessionId).toEqual(s.nodes)
    // Node ids are unique and every edge joins two drawn nodes.
    const ids = new Set(dag.nodes.map((x) => x.nodeId))
    expect(ids.size).toBe(dag.nodes.length)
    for (const e of dag.edges) expect(ids.has(e.from) && ids.has(e.to), `${e.from}->${e.to}`).toBe(true)
  }
}

const GENERATIONS: SchemaGeneration[] = [4, 17, 21, 23]

describe('text preview', () => {
  it('cuts on character boundaries and never splits a surrogate pair', () => {
    expect(preview('short')).toBe('short')
    const emoji = '🚀'.repeat(200)
    const p = preview(emoji)
    expect(Array.from(p).length).toBeLessThanOrEqual(160)
    expect(p.endsWith('…')).toBe(true)
    expect(p).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
    expect(Array.from(preview(`a${'é'.repeat(300)}`, 10))).toHaveLength(10)
    expect(preview(MULTIBYTE, 7)).toBe('naïve…')
    expect(preview('x'.repeat(160))).toBe('x'.repeat(160))
  })
})

describe.each(GENERATIONS)('generation %i fixture', (generation) => {
  let o: Opened
  beforeAll(async () => {
    o = await fixture({ generation })
  })
  afterAll(() => o.close())

  it('DAG node states agree with SessionRow.nodes for every session (live and stale agent)', async () => {
    await expectDagAgrees(o)
    const stale = await open(join(dir, `store-${n}.db`), false)
    try {
      await expectDagAgrees(stale)
    } finally {
      stale.close()
    }
  })

  it('the summary numbers match direct SQL', async () => {
    for (const s of o.sessions) {
      const sum = await readSessionSummary(o.con, o.probe, s)
      expect(sum.session).toBe(s)
      expect(sum.missingTables).toEqual(ALL_PERSPT_TABLES.filter((t) => !TABLES_BY_GENERATION[generation].includes(t)))
      for (const t of ALL_PERSPT_TABLES) {
        if (t === 'sessions' || t === 'branch_lineage') continue
        const expected = TABLES_BY_GENERATION[generation].includes(t)
          ? Number((await o.sql<{ n: bigint }>(`SELECT count(*) AS n FROM ${t} WHERE session_id = $sid`, { sid: s.sessionId }))[0]!.n)
          : 0
        expect(sum.counts[t], `${s.sessionId} ${t}`).toBe(expected)
      }
      const [llm] = await o.sql<{ n: bigint; lat: bigint | null; p50: number | null; p95: number | null }>(
        `SELECT count(*) AS n, sum(latency_ms) AS lat, quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95
         FROM llm_requests WHERE session_id = $sid`,
        { sid: s.sessionId }
      )
      expect(sum.llm.requests).toBe(Number(llm!.n))
      expect(sum.llm.requests).toBe(s.llmRequests)
      expect(sum.llm.tokensIn).toBe(s.tokensIn)
      expect(sum.llm.tokensOut).toBe(s.tokensOut)
      expect(sum.llm.tokensEstimated).toBe(s.tokensEstimated)
      expect(sum.llm.latencyMsTotal).toBe(Number(llm!.lat ?? 0))
      expect(sum.llm.latencyP50).toBe(llm!.p50)
      expect(sum.llm.latencyP95).toBe(llm!.p95)
      expect(sum.avgEnergy).toBe(s.avgEnergy ?? null)
      if (generation < 21) {
        expect(sum.charter).toBeNull()
        expect(sum.planRevisions).toBe(0)
      }
    }
  })

  it('the energy view matches direct SQL', async () => {
    for (const s of o.sessions) {
      const view = await readEnergy(o.con, o.probe, s.sessionId)
      expect(view.epsilon).toBe(ENERGY_EPSILON)
      const perNode = await o.sql<{ node_id: string; n: bigint }>(
        `SELECT node_id, count(*) AS n FROM energy_history WHERE session_id = $sid GROUP BY node_id`,
        { sid: s.sessionId }
      )
      expect(view.latest.map((l) => l.nodeId).sort()).toEqual(perNode.map((r) => r.node_id).sort())
      for (const r of perNode) {
        expect(view.series[r.node_id]).toHaveLength(Number(r.n))
        expect(view.latest.find((l) => l.nodeId === r.node_id)!.passes).toBe(Number(r.n))
      }
    }
  })

  it('an unknown node is not-found', async () => {
    const s = o.sessions[0]!
    await expect(readNodeDetail(o.con, o.probe, s.sessionId, 'no-such-node')).rejects.toBeInstanceOf(ApiError)
    await expect(readNodeDetail(o.con, o.probe, s.sessionId, 'no-such-node')).rejects.toMatchObject({ code: 'not-found' })
    // task_1 exists in another session only: ids never leak across sessions.
    await expect(readNodeDetail(o.con, o.probe, 'fx-odd', 'task_1')).rejects.toMatchObject({ code: 'not-found' })
  })
})

describe('fixture details', () => {
  it('generation 23: the running session draws plan-only nodes, escalations, edges and REAL energies rounded', async () => {
    const o = await fixture({ generation: 23 })
    try {
      const dag = await readDag(o.con, o.probe, 'fx-running')
      const state = Object.fromEntries(dag.nodes.map((x) => [x.nodeId, x.state]))
      expect(state).toEqual({ task_1: 'committed', task_2: 'running', task_3: 'escalated', task_4: 'escalated', task_5: 'queued', task_6: 'queued' })
      expect(dag.nodes.map((x) => x.nodeId)).toEqual(['task_1', 'task_2', 'task_3', 'task_4', 'task_5', 'task_6'])
      expect(dag.nodes.find((x) => x.nodeId === 'task_2')!.energy).toBe(0.1)
      expect(dag.nodes.find((x) => x.nodeId === 'task_6')!.goal).toBe('goal task_6')
      expect(dag.nodes.find((x) => x.nodeId === 'task_1')!.committedAt).toBe('2026-05-02T09:00:00.000Z')
      expect(dag.edges).toEqual([
        { from: 'task_1', to: 'task_2', type: 'depends_on' },
        { from: 'task_1', to: 'task_3', type: 'depends_on' },
        { from: 'task_3', to: 'task_4', type: 'depends_on' },
        { from: 'task_4', to: 'task_5', type: 'depends_on' }
      ])
      expect(dag.missingTables).toEqual([])
      // The stale view of the same session: started nodes that never committed have failed.
      const stale = await readDag(o.con, o.probe, 'fx-running', { status: 'stale' })
      expect(stale.nodes.find((x) => x.nodeId === 'task_2')!.state).toBe('failed')

      const detail = await readNodeDetail(o.con, o.probe, 'fx-running', 'task_3')
      expect(detail.node.state).toBe('escalated')
      expect(detail.energyHistory).toHaveLength(1)
      expect(detail.energyHistory[0]).toMatchObject({ vSyn: 0.1, vTotal: 0.1, at: '2026-05-02T09:00:00.000Z' })
      const esc = detail.decisions.filter((d) => d.section === 'escalations')
      expect(esc).toHaveLength(1)
      expect(esc[0]!.id).toMatch(/^escalation_reports:\d+$/)
      expect(esc[0]!.json.action).toEqual({ grounded_retry: { evidence_summary: 'stalled' } })
      expect(esc[0]!.fields).toContainEqual({ label: 'Evidence', value: 'tests fail' })
      expect(detail.decisions.some((d) => d.section === 'steps')).toBe(true)

      const withLlm = await readNodeDetail(o.con, o.probe, 'fx-running', 'task_2')
      expect(withLlm.llmRequestCount).toBe(1)
      expect(withLlm.llmRequests[0]).toMatchObject({ nodeId: 'task_2', tokensIn: 500, promptPreview: MULTIBYTE, promptChars: Array.from(MULTIBYTE).length })

      const sum = await readSessionSummary(o.con, o.probe, o.sessions.find((s) => s.sessionId === 'fx-running')!)
      expect(sum.planRevisions).toBe(2)
      expect(sum.counts.plan_revisions).toBe(2)
      expect(sum.counts.escalation_reports).toBe(1)
      expect(sum.llm.latencyP50).toBe(1000)
    } finally {
      o.close()
    }
  })

  it('generation 4 (no edges, no plan, base node_states columns) degrades without failing', async () => {
    const o = await fixture({ generation: 4, nodeStatesExtended: false })
    try {
      expect(o.probe.nodeStatesExtended).toBe(false)
      const dag = await readDag(o.con, o.probe, 'fx-completed')
      expect(dag.edges).toEqual([])
      expect(dag.missingTables).toEqual(['plan_revisions', 'task_graph_edges', 'srbn_step_records', 'escalation_reports'])
      expect(dag.nodes.every((x) => x.goal === null && x.nodeClass === null)).toBe(true)
      const detail = await readNodeDetail(o.con, o.probe, 'fx-completed', 'task_1')
      expect(detail.decisions).toEqual([])
      expect(detail.llmRequestCount).toBe(1)
      const sum = await readSessionSummary(o.con, o.probe, o.sessions.find((s) => s.sessionId === 'fx-completed')!)
      expect(sum.missingTables).toHaveLength(19)
      expect(sum.charter).toBeNull()
      expect(sum.counts.node_states).toBe(3)
      expect(sum.counts.task_graph_edges).toBe(0)
      // Legacy states: superseded-free STABLE → committed, FAILED → failed.
      const odd = await readDag(o.con, o.probe, 'fx-odd')
      expect(Object.fromEntries(odd.nodes.map((x) => [x.nodeId, [x.state, x.rawState]]))).toEqual({
        task_8: ['committed', 'STABLE'],
        task_9: ['failed', 'FAILED']
      })
    } finally {
      o.close()
    }
  })

  it('uses the plan dependencies when a session has no task_graph_edges rows', async () => {
    const path = join(dir, `store-${++n}.db`)
    await buildStore(path, { generation: 21, sessions: [{ id: 's1', status: 'COMPLETED', createdAt: '2026-05-01 10:00:00' }] })
    const instance = await DuckDBInstance.create(path)
    const con = await instance.connect()
    const plan = { tasks: [{ id: 'a', goal: 'A', dependencies: [] }, { id: 'b', goal: 'B', dependencies: ['a', 'ghost'], node_class: 'integration' }] }
    await con.run(`INSERT INTO plan_revisions VALUES ('r1', 's1', 1, $p, 'initial', NULL, 'active', TIMESTAMP '2026-05-01 10:00:00')`, { p: JSON.stringify(plan) })
    con.closeSync()
    instance.closeSync()
    const o = await open(path)
    try {
      const dag = await readDag(o.con, o.probe, 's1')
      expect(dag.nodes.map((x) => [x.nodeId, x.state, x.nodeClass])).toEqual([
        ['a', 'queued', null],
        ['b', 'queued', 'integration']
      ])
      expect(dag.edges).toEqual([{ from: 'a', to: 'b', type: 'depends_on' }])
    } finally {
      o.close()
    }
  })
})

describe('simulator store (all 23 tables, realistic quirks)', () => {
  let o: Opened
  beforeAll(async () => {
    const path = join(dir, 'sim', 'perspt.db')
    const sim = new PersptSimulator({ path, tickMs: 0, seed: 7, now: () => Date.parse('2026-06-15T12:00:00Z'), rotate: false })
    await sim.start()
    for (let i = 0; i < 12; i++) await sim.tick()
    await sim.stop()
    o = await open(path)
  }, 60_000)
  afterAll(() => o?.close())

  it('DAG states agree with SessionRow.nodes for every session', async () => {
    expect(o.sessions.length).toBeGreaterThanOrEqual(6)
    await expectDagAgrees(o)
  })

  it('typed edges come from task_graph_edges and node energy is the latest V_total', async () => {
    for (const s of o.sessions) {
      const dag = await readDag(o.con, o.probe, s.sessionId)
      const edges = await o.sql<{ a: string; b: string; t: string }>(
        'SELECT DISTINCT parent_node_id AS a, child_node_id AS b, edge_type AS t FROM task_graph_edges WHERE session_id = $sid',
        { sid: s.sessionId }
      )
      expect(dag.edges.length).toBe(edges.length)
      const latest = await o.sql<{ node_id: string; v: number }>(
        `SELECT node_id, v_total AS v FROM energy_history WHERE session_id = $sid
         QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY timestamp DESC, id DESC) = 1`,
        { sid: s.sessionId }
      )
      for (const r of latest) {
        const node = dag.nodes.find((x) => x.nodeId === r.node_id)!
        expect(node.energy).toBeCloseTo(r.v, 5)
        expect(String(node.energy).length).toBeLessThan(12)
      }
      const view = await readEnergy(o.con, o.probe, s.sessionId)
      for (const l of view.latest) {
        expect(l.vTotal).toBe(dag.nodes.find((x) => x.nodeId === l.nodeId)!.energy)
        const series = view.series[l.nodeId]!
        expect(series.at(-1)!.vTotal).toBe(l.vTotal)
        const times = series.map((p) => p.at ?? '')
        expect(times).toEqual([...times].sort())
        expect(l.at).toMatch(/Z$/)
      }
    }
  })

  it('node detail: LLM count and ≤50 newest rows, decisions of several kinds', async () => {
    const [busiest] = await o.sql<{ sid: string; nid: string; n: bigint }>(
      "SELECT session_id AS sid, node_id AS nid, count(*) AS n FROM llm_requests WHERE node_id <> '' GROUP BY ALL ORDER BY n DESC LIMIT 1"
    )
    const detail = await readNodeDetail(o.con, o.probe, busiest!.sid, busiest!.nid)
    expect(detail.llmRequestCount).toBe(Number(busiest!.n))
    expect(detail.llmRequests.length).toBe(Math.min(50, Number(busiest!.n)))
    const times = detail.llmRequests.map((r) => r.at ?? '')
    expect(times).toEqual([...times].sort())
    for (const r of detail.llmRequests) expect(Array.from(r.promptPreview).length).toBeLessThanOrEqual(160)

    const sections = new Set<string>()
    for (const s of o.sessions) {
      const dag = await readDag(o.con, o.probe, s.sessionId)
      for (const node of dag.nodes.slice(0, 6)) {
        const d = await readNodeDetail(o.con, o.probe, s.sessionId, node.nodeId)
        expect(d.node).toEqual(node)
        for (const item of d.decisions) sections.add(item.section)
        const at = d.decisions.map((x) => x.at ?? '')
        expect(at).toEqual([...at].sort())
      }
    }
    for (const key of ['steps', 'verifications', 'reviews', 'escalations']) expect(sections.has(key), key).toBe(true)
  })

  it('summary counts and charter match SQL', async () => {
    for (const s of o.sessions) {
      const sum = await readSessionSummary(o.con, o.probe, s)
      expect(sum.missingTables).toEqual([])
      const [lineage] = await o.sql<{ n: bigint }>(
        `SELECT count(*) AS n FROM branch_lineage WHERE child_branch_id IN (SELECT branch_id FROM provisional_branches WHERE session_id = $sid)`,
        { sid: s.sessionId }
      )
      expect(sum.counts.branch_lineage).toBe(Number(lineage!.n))
      const [charter] = await o.sql<{ scope: string }>(`SELECT scope_description AS scope FROM feature_charters WHERE session_id = $sid`, { sid: s.sessionId })
      expect(sum.charter?.scope ?? null).toBe(charter?.scope ?? null)
      const [plans] = await o.sql<{ n: bigint }>('SELECT count(*) AS n FROM plan_revisions WHERE session_id = $sid', { sid: s.sessionId })
      expect(sum.planRevisions).toBe(Number(plans!.n))
    }
  })
})

describe('energy: blank node ids', () => {
  // Every character DuckDB's trim() could strip or keep: ASCII controls and whitespace, every Unicode
  // space separator (Zs), line and paragraph separators, zero-width and byte-order marks, and plain text.
  const CHARS = [
    ...Array.from({ length: 33 }, (_, i) => String.fromCharCode(i)).filter((c) => c !== '\0'),
    '\u0085', '\u00a0', '\u1680', ...Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)),
    '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\u200b', '\u180e', '\ufeff', 'a', 'é', '😀'
  ]
  const samples = [...CHARS, ...CHARS.map((c) => ` ${c} `), ...CHARS.map((c) => `${c}\u3000${c}`), '', '  ', null]

  it("mayBeBlankId holds for every node id DuckDB's NULLIF(trim(node_id), '') IS NULL calls blank, as the value reaches JS", async () => {
    const instance = await DuckDBInstance.create(':memory:')
    const con = await instance.connect()
    try {
      let blank = 0
      let looks = 0
      for (const s of samples) {
        const [r] = (await con.runAndReadAll(`SELECT $1::VARCHAR AS v, NULLIF(trim($1::VARCHAR), '') IS NULL AS b`, [s])).getRowObjectsJS()
        if (r!.b === true) blank++
        if (mayBeBlankId(r!.v)) looks++
        // Never a blank one missed; the only false alarm is a leading byte-order mark the driver drops.
        if (r!.b === true) expect(mayBeBlankId(r!.v), JSON.stringify(s)).toBe(true)
        else if (s === null || !s.startsWith('\ufeff')) expect(mayBeBlankId(r!.v), JSON.stringify(s)).toBe(false)
      }
      expect(blank).toBeGreaterThan(10)
      expect(looks).toBeGreaterThan(blank)
    } finally {
      con.closeSync()
      instance.closeSync()
    }
  })

  it('readEnergy leaves out the passes whose node id is NULL or only spaces, as a SQL filter would', async () => {
    const instance = await DuckDBInstance.create(':memory:')
    const con = await instance.connect()
    try {
      await con.run(`CREATE TABLE energy_history (id INTEGER, node_id VARCHAR, session_id VARCHAR, timestamp TIMESTAMP,
        v_syn REAL, v_str REAL, v_log REAL, v_boot REAL, v_sheaf REAL, v_total REAL)`)
      let id = 0
      for (const nodeId of samples) {
        id++
        await con.run(`INSERT INTO energy_history VALUES ($1, $2, 's', TIMESTAMP '2026-01-01' + to_seconds($1), 0.1, 0, 0, 0, 0, 0.1)`, [id, nodeId])
      }
      const probe = await probeSchema(con)
      const view = await readEnergy(con, probe, 's')
      const kept = (await con.runAndReadAll(`SELECT id FROM energy_history WHERE NULLIF(trim(node_id), '') IS NOT NULL ORDER BY id`)).getRowsJS().map((r) => Number(r[0]))
      const shown = Object.values(view.series).flatMap((points) => points.map((p) => p.id)).sort((a, b) => a - b)
      expect(shown).toEqual(kept)
      expect(kept.length).toBeGreaterThan(0)
      expect(kept.length).toBeLessThan(samples.length)
      expect(view.latest.reduce((n, l) => n + l.passes, 0)).toBe(kept.length)
    } finally {
      con.closeSync()
      instance.closeSync()
    }
  })
})
