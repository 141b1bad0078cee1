// Issue 17 item 5 on real DuckDB files: a store's first read shows its session list before counting
// it (a version of its own, every row saying countsPending), and views skip tables that are empty in
// the copy — but never a table whose rows exist only in the WAL.
import { afterAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { PersptStore } from '../../../src/main/perspt/perspt-store'
import { emptyTables, probeSchema } from '../../../src/main/perspt/store-reader'
import { readDecisionTrace } from '../../../src/main/perspt/views/decision-trace'
import { readLlmSummary, readLlmTotals } from '../../../src/main/perspt/views/llm'
import { readSandbox } from '../../../src/main/perspt/views/sandbox'
import { readSessionSummary } from '../../../src/main/perspt/views/session-summary'
import type { SessionRow } from '../../../src/shared/model/perspt'
import { DEFAULT_SESSIONS, MULTIBYTE, VIEWS_MAIN, buildStore, buildViewsStore } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-first-read-'))
const stores: PersptStore[] = []
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  rmSync(dir, { recursive: true, force: true })
})

let n = 0
const fresh = (name: string) => join(mkdtempSync(join(dir, `${name}-${++n}-`)), 'perspt.db')

describe('the first read of a store', () => {
  it('publishes the list before the counts, then the counted list as the next version', async () => {
    const path = fresh('list')
    await buildStore(path, { generation: 23 })
    const seen: Array<{ version: number; rows: SessionRow[]; state: string }> = []
    let countedForViews: Promise<SessionRow[]> | null = null
    const store: PersptStore = new PersptStore({
      path,
      tmpRoot: join(dir, `tmp-${n}`),
      onListed: () => {
        void store.listSessions().then((rows) => seen.push({ version: store.status().version, rows, state: store.status().state }))
        // What a session view asks for meanwhile waits for the counts.
        countedForViews = store.listCountedSessions()
      }
    })
    stores.push(store)
    expect(await store.refresh()).toBe(true)
    await new Promise((r) => setImmediate(r))
    expect(countedForViews).not.toBeNull()
    expect((await countedForViews!).some((r) => r.countsPending)).toBe(false)

    expect(seen).toHaveLength(1)
    const listed = seen[0]!
    const counted = await store.listSessions()
    // Still reading ('ready' means read in full), but the list is there.
    expect(listed.state).toBe('loading')
    expect(store.status().state).toBe('ready')
    expect(store.status().version).toBe(listed.version + 1)
    // The same sessions in the same order; only the counts differ.
    expect(listed.rows.map((r) => r.sessionId)).toEqual(counted.map((r) => r.sessionId))
    expect(listed.rows.map((r) => r.sessionId).sort()).toEqual(DEFAULT_SESSIONS.map((s) => s.id).sort())
    for (const row of listed.rows) {
      expect(row.countsPending).toBe(true)
      expect(row).toMatchObject({ llmRequests: 0, tokensIn: 0, budget: null, avgEnergy: null })
      const full = counted.find((r) => r.sessionId === row.sessionId)!
      expect(full.countsPending).toBeUndefined()
      expect({ ...row, countsPending: undefined, nodes: full.nodes, budget: full.budget, llmRequests: full.llmRequests, tokensIn: full.tokensIn, tokensOut: full.tokensOut, tokensEstimated: full.tokensEstimated, avgEnergy: full.avgEnergy, lastActivityAt: full.lastActivityAt, durationMs: full.durationMs }).toEqual({ ...full, countsPending: undefined })
    }
    // The counted list really has counts the pending one did not.
    expect(counted.some((r) => r.llmRequests > 0 && r.nodes.planned > 0)).toBe(true)

    // Later reads (the list is already shown) publish once, counted.
    const writer = await DuckDBInstance.create(path)
    const con = await writer.connect()
    await con.run(`UPDATE sessions SET status = 'FAILED' WHERE session_id = '${DEFAULT_SESSIONS[0]!.id}'`)
    con.closeSync()
    writer.closeSync()
    expect(await store.refresh()).toBe(true)
    expect(seen).toHaveLength(1)
    expect((await store.listSessions()).every((r) => r.countsPending === undefined)).toBe(true)
  })

  it('without a listener reads the counted list at once (one version)', async () => {
    const path = fresh('plain')
    await buildStore(path, { generation: 23 })
    const store = new PersptStore({ path, tmpRoot: join(dir, `tmp-${n}`) })
    stores.push(store)
    expect(await store.refresh()).toBe(true)
    expect(store.status().version).toBe(1)
    expect((await store.listSessions()).some((r) => r.countsPending)).toBe(false)
  })
})

describe('empty tables', () => {
  it('are read per snapshot: a table that was empty and gains rows is read in the next one', async () => {
    const path = fresh('gains')
    await buildViewsStore(path, { generation: 23, llmRequests: 5 })
    const store = new PersptStore({ path, tmpRoot: join(dir, `tmp-${n}`) })
    stores.push(store)
    expect(await store.refresh()).toBe(true)
    const session = (await store.listSessions()).find((r) => r.sessionId === VIEWS_MAIN)!
    const digests = async () => (await store.query(`summary:${store.status().version}`, (con, probe) => readSessionSummary(con, probe, session))).counts.structural_digests
    expect(await digests()).toBe(0)
    const writer = await DuckDBInstance.create(path)
    const w = await writer.connect()
    await w.run(`INSERT INTO structural_digests (digest_id, session_id, node_id, source_path, artifact_kind, hash)
      VALUES ('sd-new', '${VIEWS_MAIN}', 'task_1', 'src/new.rs', 'source', 'abcd'::BLOB)`)
    w.closeSync()
    writer.closeSync()
    expect(await store.refresh()).toBe(true)
    expect(await digests()).toBe(1)
  })

  async function open(path: string) {
    const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
    const con = await instance.connect()
    return { con, probe: await probeSchema(con), close: () => (con.closeSync(), instance.closeSync()) }
  }

  it('are the tables without rows, rows in the WAL count, and views read the same with or without the skip', async () => {
    const path = fresh('empty')
    await buildViewsStore(path, { generation: 23, llmRequests: 5 })
    const before = await open(path).then(async (o) => {
      const e = await emptyTables(o.con)
      o.close()
      return e
    })
    // The fixture writes no structural digests: the table is empty in the checkpointed file.
    expect(before.has('structural_digests')).toBe(true)
    // Rows that exist only in the WAL (no checkpoint): a digest in that empty table, a seal in a
    // table with rows, and a table whose rows are all deleted.
    const writer = await DuckDBInstance.create(path)
    const w = await writer.connect()
    await w.run("SET checkpoint_threshold = '1GB'")
    await w.run(`DELETE FROM branch_flushes`)
    await w.run(`INSERT INTO structural_digests (digest_id, session_id, node_id, source_path, artifact_kind, hash)
      VALUES ('sd-wal', '${VIEWS_MAIN}', 'task_1', 'src/wal.rs', 'source', 'abcd'::BLOB)`)
    await w.run(`INSERT INTO interface_seals (seal_id, session_id, node_id, sealed_path, artifact_kind, seal_hash)
      VALUES ('seal-wal', '${VIEWS_MAIN}', 'task_1', 'src/wal.rs', 'interface', 'abcd'::BLOB)`)
    const walCopy = join(dir, `wal-copy-${n}.db`)
    copyFileSync(path, walCopy)
    copyFileSync(`${path}.wal`, `${walCopy}.wal`)
    w.closeSync()
    writer.closeSync()

    const { con, probe, close } = await open(walCopy)
    try {
      const empty = await emptyTables(con)
      // What the tables hold, counted directly.
      const counts = new Map<string, number>()
      for (const t of probe.tables) {
        const [r] = (await con.runAndReadAll(`SELECT count(*) AS n FROM ${t}`)).getRowObjectsJS()
        counts.set(t, Number(r!.n))
      }
      for (const t of probe.tables) if (empty.has(t)) expect(counts.get(t), t).toBe(0)
      expect(empty.has('interface_seals')).toBe(false)
      expect(empty.has('structural_digests')).toBe(false)
      expect(empty.size).toBeGreaterThan(0)
      // Deleted rows still count as rows (never skipped wrongly, at worst queried for nothing).
      if (!before.has('branch_flushes')) expect(empty.has('branch_flushes')).toBe(false)

      const session = { sessionId: VIEWS_MAIN, workingDir: '/w' } as SessionRow
      const sandbox = await readSandbox(con, probe, session)
      expect(sandbox.seals.map((s) => s.sealId)).toContain('seal-wal')
      // Skipped tables or not, every count equals a direct count.
      const summary = await readSessionSummary(con, probe, session)
      expect(summary.counts.structural_digests).toBe(1)
      for (const [t, c] of Object.entries(summary.counts)) {
        if (t === 'branch_lineage') continue
        const [r] = (await con.runAndReadAll(`SELECT count(*) AS n FROM ${t} WHERE session_id = $1`, [VIEWS_MAIN])).getRowObjectsJS()
        expect(c, t).toBe(Number(r!.n))
      }
      const trace = await readDecisionTrace(con, probe, VIEWS_MAIN)
      for (const s of trace.sections) {
        const table = { escalations: 'escalation_reports', sheaf: 'sheaf_validations', rewrites: 'rewrite_records', plans: 'plan_revisions', repairs: 'repair_footprints', verifications: 'verification_results', reviews: 'review_outcomes', steps: 'srbn_step_records', corrections: 'correction_attempts' }[s.key]
        if (s.key === 'verifications') continue
        const [r] = (await con.runAndReadAll(`SELECT count(*) AS n FROM ${table} WHERE session_id = $1`, [VIEWS_MAIN])).getRowObjectsJS()
        expect(s.total, s.key).toBe(Number(r!.n))
      }
    } finally {
      close()
    }
  })
})

describe('LLM totals (texts measured only for rows needing the estimate)', () => {
  it('equal Perspt\'s rule computed over every row, in total and per model, with raw counts of 0 mixed in', async () => {
    const path = fresh('tokens')
    await buildStore(path, { generation: 23 })
    const instance = await DuckDBInstance.create(path)
    const con = await instance.connect()
    try {
      const rowsSql = [
        ['m-a', 10, 5, 'abc', 'de'],
        ['m-a', 0, 7, MULTIBYTE, 'x'],
        ['m-a', 3, 0, 'p', MULTIBYTE + MULTIBYTE],
        ['m-b', 0, 0, '', ''],
        ['m-b', 0, 0, 'twelve chars', 'four']
      ]
      await con.run(`INSERT INTO sessions (session_id, task, working_dir, status) VALUES ('tok', 'tokens', '/w', 'COMPLETED')`)
      for (const [model, tin, tout, prompt, response] of rowsSql) {
        await con.run(
          `INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms) VALUES ('tok', 'n1', $1, $2, $3, $4, $5, 100)`,
          [model as string, prompt as string, response as string, tin as number, tout as number]
        )
      }
      const probe = await probeSchema(con)
      const truth = (await con.runAndReadAll(`SELECT model, sum(CASE WHEN tokens_in > 0 THEN tokens_in ELSE (strlen(prompt) + 3) // 4 END) AS t_in,
          sum(CASE WHEN tokens_out > 0 THEN tokens_out ELSE (strlen(response) + 3) // 4 END) AS t_out
        FROM llm_requests WHERE session_id = 'tok' GROUP BY ROLLUP (model)`)).getRowObjectsJS()
      const summary = await readLlmSummary(con, probe, 'tok')
      const total = truth.find((r) => r.model === null)!
      expect([summary.tokensIn, summary.tokensOut]).toEqual([Number(total.t_in), Number(total.t_out)])
      for (const m of summary.perModel) {
        const t = truth.find((r) => r.model === m.model)!
        expect([m.tokensIn, m.tokensOut], m.model).toEqual([Number(t.t_in), Number(t.t_out)])
      }
      expect(summary.perModel.find((m) => m.model === 'm-b')!.tokensEstimated).toBe(true)
      expect(summary.tokensEstimated).toBe(false)
      const totals = await readLlmTotals(con, probe, 'tok')
      expect([totals.tokensIn, totals.tokensOut, totals.requests]).toEqual([Number(total.t_in), Number(total.t_out), 5])
    } finally {
      con.closeSync()
      instance.closeSync()
    }
  })
})
