// Parity with Perspt's dashboard: store totals, the all-nodes table, edge rows, the flat table of
// passes and the session's energy statistics, each checked against SQL written straight on the store
// (a simulator-written store plus hostile rows: NaN/±inf/NULL energy, NULL latency, toolchains).
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import { probeSchema, readSessions } from '../../../src/main/perspt/store-reader'
import type { SchemaProbe } from '../../../src/main/perspt/store-reader'
import { readDag } from '../../../src/main/perspt/views/dag'
import { MAX_PASS_ROWS, readEnergyPasses, readEnergyStats } from '../../../src/main/perspt/views/energy-passes'
import { readSessionNodes } from '../../../src/main/perspt/views/nodes-table'
import { readStoreTotals } from '../../../src/main/perspt/views/store-totals'
import type { EnergyComponentKey } from '../../../src/shared/model/perspt-views'

const dir = mkdtempSync(join(tmpdir(), 'vigil-parity-'))
const HOSTILE = 'px-hostile'

interface Opened {
  con: DuckDBConnection
  probe: SchemaProbe
  close(): void
}

async function open(path: string): Promise<Opened> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  return {
    con,
    probe: await probeSchema(con),
    close() {
      con.closeSync()
      instance.closeSync()
    }
  }
}

async function sql<T = Record<string, unknown>>(con: DuckDBConnection, q: string, params: Record<string, string> = {}): Promise<T[]> {
  return (await con.runAndReadAll(q, params)).getRowObjectsJS() as T[]
}
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
/** float32 noise: both sides keep 7 significant digits. */
const r7 = (v: unknown): number | null => (v === null || v === undefined ? null : Number(Number(v).toPrecision(7)))

/** A simulator store plus a session of hostile rows the simulator never writes. */
async function buildParityStore(path: string): Promise<void> {
  const sim = new PersptSimulator({ path, tickMs: 0, seed: 11, now: () => Date.parse('2026-06-15T12:00:00Z'), rotate: false })
  await sim.start()
  for (let i = 0; i < 8; i++) await sim.tick()
  await sim.stop()
  const instance = await DuckDBInstance.create(path)
  const con = await instance.connect()
  try {
    await con.run(`INSERT INTO sessions VALUES ('${HOSTILE}', 'Hostile rows', '/w', ''::BLOB, 'rust', TIMESTAMP '2026-06-15 09:00:00', TIMESTAMP '2026-06-15 09:30:00', 'FAILED')`)
    await con.run(`UPDATE sessions SET detected_toolchain = 'python' WHERE session_id IN (SELECT session_id FROM sessions WHERE session_id <> '${HOSTILE}' ORDER BY session_id LIMIT 2)`)
    await con.run(`UPDATE sessions SET detected_toolchain = NULL WHERE session_id IN (SELECT session_id FROM sessions WHERE session_id <> '${HOSTILE}' ORDER BY session_id DESC LIMIT 1)`)
    // Energy: NaN, ±inf and NULL components next to finite ones; a tie on the minimum (lowest id wins).
    const passes: Array<[string, string, string, string]> = [
      ['h_1', "'NaN'::REAL", '0.5', "TIMESTAMP '2026-06-15 09:01:00'"],
      ['h_1', '0.25', "'Infinity'::REAL", "TIMESTAMP '2026-06-15 09:02:00'"],
      ['h_1', '0.05', 'NULL', "TIMESTAMP '2026-06-15 09:03:00'"],
      ['h_2', "'-Infinity'::REAL", '0.05', "TIMESTAMP '2026-06-15 09:04:00'"],
      ['h_2', '0.05', '2.0', "TIMESTAMP '2026-06-15 09:04:00'"]
    ]
    for (const [node, total, syn, at] of passes) {
      await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
        VALUES ('${node}', '${HOSTILE}', ${at}, ${syn}, 0.1, 0, 0, 0, ${total})`)
    }
    // node_states: h_1 committed with a NaN V_total, h_2 with a finite one (an older row first), h_3 aborted.
    const ns = (node: string, state: string, v: string, at: string) =>
      con.run(`INSERT INTO node_states (node_id, session_id, state, v_total, merkle_hash, attempt_count, created_at, node_class, owner_plugin, goal, parent_id, children, last_error_type, committed_at)
        VALUES ('${node}', '${HOSTILE}', '${state}', ${v}, ''::BLOB, 3, TIMESTAMP '${at}', 'implementation', '', 'goal of ${node}', '', '[]', '', '2026-06-15T09:10:00Z')`)
    await ns('h_1', 'Completed', "'NaN'::REAL", '2026-06-15 09:10:00')
    await ns('h_2', 'Completed', '0.9', '2026-06-15 09:05:00')
    await ns('h_2', 'Completed', '0.05', '2026-06-15 09:11:00')
    await ns('h_3', 'Aborted', '0.0', '2026-06-15 09:12:00')
    // Duplicate edges are rows of their own; an edge may name a node with no other row.
    for (const [a, b, t] of [['h_1', 'h_2', 'depends_on'], ['h_1', 'h_2', 'depends_on'], ['h_2', 'h_4', 'interface_boundary']]) {
      await con.run(`INSERT INTO task_graph_edges (session_id, parent_node_id, child_node_id, edge_type) VALUES ('${HOSTILE}', '${a}', '${b}', '${t}')`)
    }
    for (const lat of ['NULL', '100', '300', 'NULL']) {
      await con.run(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms)
        VALUES ('${HOSTILE}', 'h_1', 'm', 'héllo wörld', '', 0, 7, ${lat})`)
    }
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

/** A store whose sessions table has no detected_toolchain column (and no other table but llm_requests). */
async function buildNoToolchainStore(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path)
  const con = await instance.connect()
  try {
    await con.run(`CREATE TABLE sessions (session_id VARCHAR PRIMARY KEY, task TEXT, working_dir TEXT, created_at TIMESTAMP, updated_at TIMESTAMP, status VARCHAR)`)
    await con.run(`INSERT INTO sessions VALUES ('old-1', 't', '/w', TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 00:10:00', 'COMPLETED')`)
    await con.run(`CREATE TABLE llm_requests (id INTEGER, session_id VARCHAR NOT NULL, node_id VARCHAR, model VARCHAR NOT NULL, prompt TEXT NOT NULL,
      response TEXT NOT NULL, tokens_in INTEGER DEFAULT 0, tokens_out INTEGER DEFAULT 0, latency_ms INTEGER DEFAULT 0, timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`)
    await con.run(`INSERT INTO llm_requests (id, session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES (1, 'old-1', '', 'm', 'p', 'r', 5, 6, 40)`)
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

let main: Opened
let old: Opened
beforeAll(async () => {
  const path = join(dir, 'parity.db')
  await buildParityStore(path)
  main = await open(path)
  const oldPath = join(dir, 'old.db')
  await buildNoToolchainStore(oldPath)
  old = await open(oldPath)
}, 60_000)
afterAll(() => {
  main?.close()
  old?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('readStoreTotals', () => {
  it('LLM calls, tokens, median and mean latency (NULL excluded) equal SQL on the store', async () => {
    const { con, probe } = main
    const sessions = await readSessions(con, probe, { agentLive: false, now: Date.parse('2026-06-15T12:00:00Z') })
    const t = await readStoreTotals(con, probe, sessions)
    const [truth] = await sql<Record<string, unknown>>(
      con,
      `SELECT count(*) AS n,
         sum(CASE WHEN tokens_in > 0 THEN tokens_in ELSE (octet_length(encode(prompt)) + 3) // 4 END) AS t_in,
         sum(CASE WHEN tokens_out > 0 THEN tokens_out ELSE (octet_length(encode(response)) + 3) // 4 END) AS t_out,
         median(latency_ms) AS p50, avg(latency_ms) AS mean, count(*) FILTER (WHERE latency_ms IS NULL) AS missing,
         count(*) FILTER (WHERE tokens_in <= 0 OR tokens_out <= 0) AS est
       FROM llm_requests`
    )
    expect(t.llmCalls).toBe(num(truth!.n))
    expect(t.llmCalls).toBeGreaterThan(4)
    expect(t.tokensIn).toBe(num(truth!.t_in))
    expect(t.tokensOut).toBe(num(truth!.t_out))
    expect(t.latencyMissing).toBe(2)
    expect(t.latencyMissing).toBe(num(truth!.missing))
    expect(t.latencyCounted).toBe(t.llmCalls - 2)
    expect(t.latencyMedianMs).toBeCloseTo(num(truth!.p50)!, 1)
    expect(t.latencyMeanMs).toBeCloseTo(num(truth!.mean)!, 1)
    expect(t.estimatedCalls).toBe(num(truth!.est))
    expect(t.estimatedCalls).toBeGreaterThanOrEqual(4)
    // NULL read as 0 ms would move the median and the mean: prove the store has such rows and they are out.
    const [withZeros] = await sql<Record<string, unknown>>(con, 'SELECT avg(coalesce(latency_ms, 0)) AS m FROM llm_requests')
    expect(num(withZeros!.m)).not.toBeCloseTo(t.latencyMeanMs!, 1)
    // The totals are the sums of the session rows the list shows.
    expect(t.sessions).toBe(sessions.length)
    expect(t.tokensIn).toBe(sessions.reduce((a, s) => a + s.tokensIn, 0))
    expect(t.llmCalls).toBe(sessions.reduce((a, s) => a + s.llmRequests, 0))
  })

  it("node totals are the list's sums; Perspt's own count is the latest node_states row per node", async () => {
    const { con, probe } = main
    const sessions = await readSessions(con, probe, { agentLive: false, now: Date.parse('2026-06-15T12:00:00Z') })
    const t = await readStoreTotals(con, probe, sessions)
    expect(t.nodes.committed).toBe(sessions.reduce((a, s) => a + s.nodes.committed, 0))
    expect(t.nodes.failed).toBe(sessions.reduce((a, s) => a + s.nodes.failed, 0))
    expect(t.nodes.planned).toBe(sessions.reduce((a, s) => a + s.nodes.planned, 0))
    expect(t.nodes.committed).toBeGreaterThan(0)
    // Perspt's query, per session (spec §3.1): ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY created_at DESC) = 1.
    let total = 0
    let completed = 0
    let failed = 0
    for (const { sid } of await sql<{ sid: string }>(con, 'SELECT session_id AS sid FROM sessions')) {
      for (const r of await sql<{ state: string }>(
        con,
        `SELECT state FROM (SELECT state, ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY created_at DESC, id DESC) AS rn FROM node_states WHERE session_id = $sid) WHERE rn = 1`,
        { sid }
      )) {
        total++
        const s = r.state.toLowerCase()
        if (['completed', 'stable', 'verified'].includes(s)) completed++
        if (['failed', 'error'].includes(s)) failed++
      }
    }
    expect(t.persptNodes).toEqual({ total, completed, failed })
    // Aborted is neither completed nor failed for Perspt; Vigil counts it as failed.
    expect(t.persptNodes.total - t.persptNodes.completed - t.persptNodes.failed).toBeGreaterThanOrEqual(1)
  })

  it('says when the session list is a first read without counts (the sums are not totals yet)', async () => {
    const { con, probe } = main
    const sessions = await readSessions(con, probe, { agentLive: false, now: Date.parse('2026-06-15T12:00:00Z') })
    expect((await readStoreTotals(con, probe, sessions)).countsPending).toBe(false)
    const first = sessions.map((s, i) => (i === 0 ? { ...s, countsPending: true } : s))
    expect((await readStoreTotals(con, probe, first)).countsPending).toBe(true)
  })

  it('lists detected_toolchain values with their session counts, and says when the column is absent', async () => {
    const { con, probe } = main
    const t = await readStoreTotals(con, probe, [])
    const truth = await sql<{ t: string; n: bigint }>(
      con,
      `SELECT detected_toolchain AS t, count(*) AS n FROM sessions WHERE trim(coalesce(detected_toolchain, '')) <> '' GROUP BY 1 ORDER BY n DESC, t`
    )
    expect(t.toolchains!.values).toEqual(truth.map((r) => ({ toolchain: r.t, sessions: Number(r.n) })))
    expect(t.toolchains!.values.map((v) => v.toolchain).sort()).toEqual(['python', 'rust'])
    const [unset] = await sql<{ n: bigint }>(con, `SELECT count(*) AS n FROM sessions WHERE trim(coalesce(detected_toolchain, '')) = ''`)
    expect(t.toolchains!.unset).toBe(Number(unset!.n))
    expect(t.toolchains!.unlisted).toBe(0)

    const o = await readStoreTotals(old.con, old.probe, await readSessions(old.con, old.probe, { agentLive: false, now: Date.now() }))
    expect(o.toolchains).toBeNull()
    expect(o.llmCalls).toBe(1)
    expect(o.latencyMedianMs).toBe(40)
    expect(o.persptNodes).toEqual({ total: 0, completed: 0, failed: 0 })
  })
})

describe('readSessionNodes', () => {
  it('every node of the DAG, with V_total at commit, passes and LLM calls as the store holds them', async () => {
    const { con, probe } = main
    const [pick] = await sql<{ sid: string }>(
      con,
      `SELECT session_id AS sid FROM node_states WHERE session_id <> '${HOSTILE}' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`
    )
    const sid = pick!.sid
    const view = await readSessionNodes(con, probe, sid, { status: 'completed' })
    const dag = await readDag(con, probe, sid, { status: 'completed' })
    expect(view.nodes.map((n) => n.nodeId)).toEqual(dag.nodes.map((n) => n.nodeId))
    expect(view.nodes.map((n) => n.state)).toEqual(dag.nodes.map((n) => n.state))
    const latest = await sql<{ nid: string; v: number; a: number }>(
      con,
      `SELECT node_id AS nid, v_total AS v, attempt_count AS a FROM node_states WHERE session_id = $sid
       QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY created_at DESC, id DESC) = 1`,
      { sid }
    )
    expect(latest.length).toBeGreaterThan(0)
    for (const l of latest) {
      const row = view.nodes.find((n) => n.nodeId === l.nid)!
      expect(row.commitEnergy).toBe(r7(l.v))
      expect(row.record?.attemptCount).toBe(l.a)
    }
    for (const n of view.nodes.filter((x) => !latest.some((l) => l.nid === x.nodeId))) {
      expect(n.commitEnergy).toBeNull()
      expect(n.commitEnergyNote).toBe('not-committed')
    }
    const passes = await sql<{ nid: string; n: bigint }>(con, 'SELECT node_id AS nid, count(*) AS n FROM energy_history WHERE session_id = $sid GROUP BY 1', { sid })
    for (const p of passes) expect(view.nodes.find((n) => n.nodeId === p.nid)?.passes).toBe(Number(p.n))
    const llm = await sql<{ nid: string; n: bigint }>(con, 'SELECT node_id AS nid, count(*) AS n FROM llm_requests WHERE session_id = $sid GROUP BY 1', { sid })
    for (const p of llm) {
      const row = view.nodes.find((n) => n.nodeId === p.nid)
      if (row) expect(row.llmCalls).toBe(Number(p.n))
    }
    const edges = await sql<{ id: number; a: string; b: string; t: string }>(
      con,
      'SELECT id, parent_node_id AS a, child_node_id AS b, edge_type AS t FROM task_graph_edges WHERE session_id = $sid ORDER BY created_at, id',
      { sid }
    )
    expect(view.edges.map((e) => [e.id, e.from, e.to, e.type])).toEqual(edges.map((e) => [e.id, e.a, e.b, e.t]))
    expect(view.edgeTotal).toBe(edges.length)
    expect(view.edgesFromPlan).toBe(false)
    expect(view.toolchain.recorded).toBe(true)
  })

  it('hostile rows: NaN V_total at commit is "not finite", never 0; duplicate edges listed; aborted shows its raw state', async () => {
    const { con, probe } = main
    const view = await readSessionNodes(con, probe, HOSTILE, { status: 'failed' })
    const byId = new Map(view.nodes.map((n) => [n.nodeId, n]))
    expect(byId.get('h_1')!.commitEnergy).toBeNull()
    expect(byId.get('h_1')!.commitEnergyNote).toBe('not-finite')
    expect(byId.get('h_1')!.record!.vTotal).toBe('nan')
    expect(byId.get('h_2')!.commitEnergy).toBe(0.05) // the newest of its two rows
    expect(byId.get('h_2')!.lastPassEnergy).toBe(0.05)
    expect(byId.get('h_1')!.lastPassEnergy).toBe(0.05)
    expect(byId.get('h_1')!.passes).toBe(3)
    expect(byId.get('h_1')!.llmCalls).toBe(4)
    expect(byId.get('h_3')!.rawState).toBe('Aborted')
    expect(byId.get('h_3')!.state).toBe('failed')
    expect(byId.get('h_1')!.attempts).toBe(3)
    expect(view.edges.filter((e) => e.from === 'h_1' && e.to === 'h_2')).toHaveLength(2)
    expect(view.edges.map((e) => e.type)).toContain('interface_boundary')
    expect(view.toolchain).toEqual({ recorded: true, value: 'rust' })
  })

  it('a store without the toolchain column says it is not recorded', async () => {
    const view = await readSessionNodes(old.con, old.probe, 'old-1', { status: 'completed' })
    expect(view.toolchain).toEqual({ recorded: false, value: null })
    expect(view.nodes).toEqual([])
    expect(view.missingTables).toContain('task_graph_edges')
  })
})

describe('readEnergyStats and readEnergyPasses', () => {
  const COLS: Array<[EnergyComponentKey, string]> = [
    ['vSyn', 'v_syn'],
    ['vStr', 'v_str'],
    ['vLog', 'v_log'],
    ['vBoot', 'v_boot'],
    ['vSheaf', 'v_sheaf'],
    ['vTotal', 'v_total']
  ]

  it('min, max and mean per component over finite values equal SQL, for every session', async () => {
    const { con, probe } = main
    const sids = await sql<{ sid: string }>(con, 'SELECT DISTINCT session_id AS sid FROM energy_history ORDER BY 1')
    expect(sids.length).toBeGreaterThan(2)
    for (const { sid } of sids) {
      const s = await readEnergyStats(con, probe, sid)
      for (const [key, c] of COLS) {
        const [t] = await sql<Record<string, unknown>>(
          con,
          `SELECT min(${c}) AS mn, max(${c}) AS mx, avg(${c}) AS mean, count(*) AS n FROM energy_history
           WHERE session_id = $sid AND ${c} IS NOT NULL AND ${c} NOT IN ('NaN'::REAL, 'Infinity'::REAL, '-Infinity'::REAL)`,
          { sid }
        )
        const got = s.components[key]
        expect(got.min, `${sid} ${c} min`).toBe(r7(t!.mn))
        expect(got.max, `${sid} ${c} max`).toBe(r7(t!.mx))
        expect(got.mean, `${sid} ${c} mean`).toBe(r7(t!.mean))
        expect(got.counted).toBe(num(t!.n))
        if (got.min !== null) {
          const [ids] = await sql<{ lo: number; hi: number }>(
            con,
            `SELECT min(id) FILTER (WHERE ${c} = $mn::REAL) AS lo, min(id) FILTER (WHERE ${c} = $mx::REAL) AS hi FROM energy_history WHERE session_id = $sid`,
            { sid, mn: String(t!.mn), mx: String(t!.mx) }
          )
          expect(got.minPassId).toBe(ids!.lo)
          expect(got.maxPassId).toBe(ids!.hi)
        }
      }
    }
  })

  it('hostile passes: NaN/±inf and NULL are excluded and counted, shown as null (never 0)', async () => {
    const { con, probe } = main
    const s = await readEnergyStats(con, probe, HOSTILE)
    expect(s.passes).toBe(5)
    expect(s.nodes).toBe(2)
    expect(s.components.vTotal).toMatchObject({ min: 0.05, max: 0.25, counted: 3, nonFinite: 2, missing: 0 })
    expect(s.components.vTotal.mean).toBe(r7((0.25 + 0.05 + 0.05) / 3 + 0 * 0))
    expect(s.components.vSyn).toMatchObject({ min: 0.05, max: 2, counted: 3, nonFinite: 1, missing: 1 })
    const [tieLow] = await sql<{ id: number }>(con, `SELECT min(id) AS id FROM energy_history WHERE session_id = '${HOSTILE}' AND v_total = 0.05::REAL`)
    expect(s.components.vTotal.minPassId).toBe(tieLow!.id)

    const p = await readEnergyPasses(con, probe, HOSTILE)
    expect(p.total).toBe(5)
    expect(p.passes.map((x) => [x.nodeId, x.pass])).toEqual([
      ['h_1', 1],
      ['h_1', 2],
      ['h_1', 3],
      ['h_2', 1],
      ['h_2', 2]
    ])
    expect(p.passes[0]).toMatchObject({ vTotal: null, vSyn: 0.5, nonFinite: true })
    expect(p.passes[1]).toMatchObject({ vTotal: 0.25, vSyn: null, nonFinite: true })
    expect(p.passes[2]).toMatchObject({ vTotal: 0.05, vSyn: null, nonFinite: false })
    expect(p.passes[3]).toMatchObject({ vTotal: null, vSyn: 0.05, nonFinite: true })
  })

  it('the flat table holds every pass of a session, oldest first, with the ids of the store', async () => {
    const { con, probe } = main
    const [pick] = await sql<{ sid: string }>(con, 'SELECT session_id AS sid FROM energy_history GROUP BY 1 ORDER BY count(*) DESC LIMIT 1')
    const sid = pick!.sid
    const p = await readEnergyPasses(con, probe, sid)
    const truth = await sql<{ id: number; v: number }>(con, 'SELECT id, v_total AS v FROM energy_history WHERE session_id = $sid ORDER BY timestamp, id', { sid })
    expect(truth.length).toBeLessThan(MAX_PASS_ROWS)
    expect(p.passes.map((x) => x.id)).toEqual(truth.map((t) => t.id))
    expect(p.passes.map((x) => x.vTotal)).toEqual(truth.map((t) => r7(t.v)))
    expect(p.total).toBe(truth.length)
  })
})
