// Issue 3 figures on the big store: time to first data per view, snapshot refresh cost as the WAL grows
// vs as the file grows, and main-process RSS. Issue 17 item 5: each session view's API time next to the
// queries Perspt's own dashboard runs for that page, on the same copy in the same run, as a ratio.
// One JSON line per measurement.
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VigilService } from '../src/main/core/vigil-service'
import { PersptStore } from '../src/main/perspt/perspt-store'
import { StoreSnapshotter } from '../src/main/perspt/snapshot'
import { PersptSimulator } from '../src/main/demo/perspt-simulator'
import { startVigilServer } from '../src/main/server/vigil-server'
import type { SessionRow } from '../src/shared/model/perspt'
import type {
  DagGraph,
  DecisionTrace,
  EnergyPassesView,
  EnergyStats,
  EnergyView,
  LlmRowsPage,
  LlmSummary,
  SandboxView,
  SessionNodesView,
  SessionSummary
} from '../src/shared/model/perspt-views'
import type { SourceInfo } from '../src/shared/model/sources'
import { bigStorePath } from './perspt-big-store'
import { rpc as serveRpc, startServe } from './live-latency.mjs'
import { report } from './stats.mjs'

const log = (m: string) => process.stderr.write(`perspt-views: ${m}\n`)

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now()
  const value = await fn()
  return [performance.now() - t0, value]
}

async function waitReady(store: PersptStore): Promise<void> {
  for (let i = 0; i < 200 && store.status().state !== 'ready'; i++) await store.refresh()
  if (store.status().state !== 'ready') throw new Error(`store not ready: ${JSON.stringify(store.status().problem)}`)
}

async function overview(path: string, work: string): Promise<void> {
  const firstData: number[] = []
  const copy: number[] = []
  for (let i = 0; i < 5; i++) {
    const snap = new StoreSnapshotter({ sourcePath: path, tmpRoot: mkdtempSync(join(work, 'snap-')) })
    copy.push((await time(() => snap.refresh()))[0])
    await snap.dispose()
    const store = new PersptStore({ path, tmpRoot: mkdtempSync(join(work, 'ov-')) })
    const [ms] = await time(async () => {
      await waitReady(store)
      return store.listSessions()
    })
    firstData.push(ms)
    await store.close()
  }
  report('perspt.snapshot.full_copy', 'ms', copy, { bytes: statSync(path).size })
  report('perspt.view.overview.first_data', 'ms', firstData, { note: 'cold: full copy + open + every session' })
}

/**
 * Issue 17 item 5: a cold open of the big store, as the UI sees it: from adding the store to the first
 * session rows (listed, counts pending) and to the counted list (each a 'store-updated' push).
 */
async function firstRows(path: string, work: string): Promise<void> {
  const first: number[] = []
  const counted: number[] = []
  const timings: Record<string, number>[] = []
  for (let i = 0; i < 5; i++) {
    const service = new VigilService({ mode: 'web', version: 'bench', tmpRoot: mkdtempSync(join(work, 'first-')) })
    try {
      const t0 = performance.now()
      let listedAt = 0
      const done = new Promise<void>((resolve) => {
        service.events.subscribe((frame) => {
          if (frame.event !== 'store-updated') return
          const rows = service.registry.store((frame.payload as { storeId: string }).storeId).listSessions()
          void rows.then((r) => {
            if (r.length > 0 && listedAt === 0) listedAt = performance.now() - t0
            if (r.length > 0 && !r[0]!.countsPending) resolve()
          })
        })
      })
      const source = service.registry.addStore(path, 'flag')
      await done
      first.push(listedAt)
      counted.push(performance.now() - t0)
      timings.push(service.registry.store(source.id).lastTimings)
    } finally {
      await service.close()
    }
  }
  report('perspt.store.first_rows', 'ms', first, { goal: 300, met: [...first].sort((a, b) => a - b)[2]! <= 300, bytes: statSync(path).size })
  report('perspt.store.counted_rows', 'ms', counted, { stages: timings[timings.length - 1] })
}

/**
 * Issue 17 item 5 as a user meets it: `vigil serve --db <big store>` started as a real process, and the
 * web API polled (every 5 ms) until listSessions returns rows, then until their counts are in. Times
 * from the spawn and from the moment the server says it listens (the store opens at start).
 */
async function serveFirstRows(path: string, root?: string, label = ''): Promise<void> {
  const listening: number[] = []
  const fromSpawn: number[] = []
  const fromListen: number[] = []
  const counted: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const serve = await startServe({ args: ['--db', path], root })
    const tListen = performance.now()
    try {
      let storeId: string | null = null
      let first = 0
      for (;;) {
        if (performance.now() - t0 > 60_000) throw new Error('no counted session rows within 60 s')
        storeId ??= (await serveRpc<SourceInfo[]>(serve.url, 'listSources')).find((x) => x.kind === 'store')?.id ?? null
        const rows = storeId === null ? [] : await serveRpc<SessionRow[]>(serve.url, 'listSessions', storeId).catch(() => [] as SessionRow[])
        if (rows.length > 0 && first === 0) first = performance.now()
        if (rows.length > 0 && rows[0]!.countsPending !== true) break
        await new Promise((r) => setTimeout(r, 5))
      }
      listening.push(tListen - t0)
      fromSpawn.push(first - t0)
      fromListen.push(first - tListen)
      counted.push(performance.now() - t0)
    } finally {
      await serve.stop()
    }
  }
  report(`perspt.serve${label}.listening`, 'ms', listening, { note: 'spawn of vigil serve --db to "Vigil listening"' })
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!
  report(`perspt.serve${label}.first_rows_from_listening`, 'ms', fromListen, { goal: 300, met: median(fromListen) <= 300, bytes: statSync(path).size })
  report(`perspt.serve${label}.first_rows_from_spawn`, 'ms', fromSpawn, { goal: 300, met: median(fromSpawn) <= 300 })
  report(`perspt.serve${label}.counted_rows_from_spawn`, 'ms', counted)
}

async function views(path: string, work: string): Promise<void> {
  const service = new VigilService({ mode: 'web', version: 'bench', tmpRoot: mkdtempSync(join(work, 'svc-')) })
  try {
    const source = service.registry.addStore(path, 'flag')
    await waitReady(service.registry.store(source.id))
    const sessions = await service.listSessions(source.id)
    // Overview after the store is open: what a refetch on each new snapshot costs (cached per version).
    const sample = sessions.filter((_, i) => i % Math.ceil(sessions.length / 20) === 0).slice(0, 20)
    const calls: Record<string, (sid: string) => Promise<unknown>> = {
      summary: (sid) => service.getSessionSummary(source.id, sid),
      dag: (sid) => service.getDag(source.id, sid),
      energy: (sid) => service.getEnergy(source.id, sid),
      llm_summary: (sid) => service.getLlmSummary(source.id, sid),
      llm_rows_first_window: (sid) => service.getLlmRows(source.id, sid, { offset: 0, limit: 100 }),
      llm_rows_deep_window_by_latency: (sid) =>
        service.getLlmRows(source.id, sid, { offset: 400, limit: 100, sort: 'latency', dir: 'desc' }),
      sandbox: (sid) => service.getSandbox(source.id, sid),
      decisions: (sid) => service.getDecisionTrace(source.id, sid)
    }
    for (const [name, call] of Object.entries(calls)) {
      await call(sessions[sessions.length - 1]!.sessionId) // warm the open copy, not the result cache
      const samples: number[] = []
      for (const s of sample) samples.push((await time(() => call(s.sessionId)))[0])
      report(`perspt.view.${name}.first_data`, 'ms', samples, { sessions: sessions.length })
    }
    report('perspt.main.rss_after_views', 'MiB', [process.memoryUsage().rss / 2 ** 20])
  } finally {
    await service.close()
  }
}

/** Refresh cost when only the WAL grows vs when the base file changes (checkpoint), on a store of `label` size. */
async function refreshCost(path: string, work: string, label: string): Promise<void> {
  const scratch = join(mkdtempSync(join(work, 'rw-')), 'perspt.db')
  copyFileSync(path, scratch)
  const writer = await DuckDBInstance.create(scratch)
  const con = await writer.connect()
  const store = new PersptStore({ path: scratch, tmpRoot: mkdtempSync(join(work, 'rf-')) })
  try {
    await waitReady(store)
    const snap = new StoreSnapshotter({ sourcePath: scratch, tmpRoot: mkdtempSync(join(work, 'rfs-')) })
    await snap.refresh()
    const walCopy: number[] = []
    const walRefresh: number[] = []
    const insert = (n: number) =>
      con.run(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms)
               SELECT (SELECT min(session_id) FROM sessions), 'n1', 'bench', 'p', 'r', 1, 1, 1 FROM range(${n})`)
    for (let i = 0; i < 10; i++) {
      await insert(20)
      walCopy.push((await time(() => snap.refresh()))[0])
      walRefresh.push((await time(() => store.refresh()))[0])
    }
    const fileCopy: number[] = []
    const fileRefresh: number[] = []
    for (let i = 0; i < 5; i++) {
      await insert(20)
      await con.run('CHECKPOINT')
      fileCopy.push((await time(() => snap.refresh()))[0])
      fileRefresh.push((await time(() => store.refresh()))[0])
    }
    await snap.dispose()
    const bytes = statSync(scratch).size
    report(`perspt.refresh.wal_grows.snapshot.${label}`, 'ms', walCopy, { bytes })
    report(`perspt.refresh.wal_grows.total.${label}`, 'ms', walRefresh, { bytes, note: 'snapshot + open + session list (changed sessions recomputed)' })
    report(`perspt.refresh.file_grows.snapshot.${label}`, 'ms', fileCopy, { bytes })
    report(`perspt.refresh.file_grows.total.${label}`, 'ms', fileRefresh, { bytes })
  } finally {
    await store.close()
    con.closeSync()
    writer.closeSync()
  }
}

// ---- Perspt's dashboard, page by page (shared/spec/perspt-store.md §3; crates/perspt-store queries) ----------

/** Perspt's `get_latest_node_states`. */
const PERSPT_LATEST_NODES = `WITH ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY created_at DESC) AS rn FROM node_states WHERE session_id = $1)
  SELECT node_id, session_id, state, v_total, CAST(merkle_hash AS VARCHAR), attempt_count,
    node_class, owner_plugin, goal, parent_id, children, last_error_type, committed_at
  FROM ranked WHERE rn = 1 ORDER BY created_at`
const PERSPT_ENERGY = `SELECT node_id, session_id, v_syn, v_str, v_log, v_boot, v_sheaf, v_total FROM energy_history WHERE session_id = $1 ORDER BY timestamp`
const PERSPT_LLM = `SELECT session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms FROM llm_requests WHERE session_id = $1 ORDER BY timestamp`
const PERSPT_VERIFICATIONS = `WITH ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY created_at DESC) AS rn FROM verification_results WHERE session_id = $1)
  SELECT node_id, result_json, syntax_ok, build_ok, tests_ok, lint_ok, diagnostics_count, tests_passed, tests_failed, degraded, degraded_reason
  FROM ranked WHERE rn = 1 ORDER BY created_at`

/** The queries each Perspt page handler runs, in its order; what a page needs, read into JS rows. */
export const PERSPT_PAGES: Record<string, string[]> = {
  summary: [
    'SELECT session_id, task, working_dir, merkle_root, detected_toolchain, status FROM sessions WHERE session_id = $1',
    PERSPT_LATEST_NODES,
    PERSPT_LLM,
    PERSPT_ENERGY,
    'SELECT session_id, max_steps, steps_used, max_revisions, revisions_used, max_cost_usd, cost_used_usd FROM budget_envelopes WHERE session_id = $1',
    PERSPT_VERIFICATIONS
  ],
  dag: [PERSPT_LATEST_NODES, 'SELECT session_id, parent_node_id, child_node_id, edge_type FROM task_graph_edges WHERE session_id = $1 ORDER BY created_at'],
  energy: [PERSPT_ENERGY],
  // Vigil's energy statistics and flat table of passes: Perspt's energy page computes its average,
  // minimum and maximum and lists its "Detailed Energy Table" from that one query's rows.
  energy_stats: [PERSPT_ENERGY],
  passes: [PERSPT_ENERGY],
  // Vigil's all-nodes table: Perspt's "Node States" table (summary page), its edge list (DAG page) and
  // the session's detected_toolchain (summary header).
  nodes: [
    PERSPT_LATEST_NODES,
    'SELECT session_id, parent_node_id, child_node_id, edge_type FROM task_graph_edges WHERE session_id = $1 ORDER BY created_at',
    'SELECT session_id, task, working_dir, merkle_root, detected_toolchain, status FROM sessions WHERE session_id = $1'
  ],
  llm: [PERSPT_LLM],
  sandbox: [
    'SELECT branch_id, session_id, node_id, parent_node_id, state, parent_seal_hash, sandbox_dir FROM provisional_branches WHERE session_id = $1 ORDER BY created_at'
  ],
  decisions: [
    'SELECT session_id, node_id, category, action, energy_snapshot, stage_outcomes, evidence, affected_node_ids FROM escalation_reports WHERE session_id = $1 ORDER BY created_at',
    'SELECT session_id, node_id, validator_class, plugin_source, passed, evidence_summary, affected_files, v_sheaf_contribution, requeue_targets FROM sheaf_validations WHERE session_id = $1 ORDER BY created_at',
    'SELECT session_id, node_id, action, category, requeued_nodes, inserted_nodes FROM rewrite_records WHERE session_id = $1 ORDER BY created_at',
    'SELECT revision_id, session_id, sequence, plan_json, reason, supersedes, status FROM plan_revisions WHERE session_id = $1 ORDER BY sequence',
    'SELECT footprint_id, session_id, node_id, revision_id, attempt, affected_files, bundle_json, diagnosis, resolved FROM repair_footprints WHERE session_id = $1 ORDER BY attempt',
    PERSPT_VERIFICATIONS,
    'SELECT node_id, attempt, parse_state, retry_classification, response_fingerprint, response_length, energy_json, accepted, rejection_reason, created_at FROM correction_attempts WHERE session_id = $1 ORDER BY node_id, attempt'
  ]
}

/**
 * What Vigil's page shows beyond Perspt's page, as the plain queries that would read it: with Perspt's
 * own queries these are "the equivalent plain DuckDB queries" of issue 17 item 5. Sandbox: Vigil also
 * lists the branches' lineage, flushes and interface seals (Perspt's sandbox page lists branches only).
 */
export const EQUIVALENT_EXTRA: Record<string, string[]> = {
  // The nodes table also shows each node's pass count, last pass V_total and LLM calls.
  nodes: [
    `SELECT node_id, count(*) OVER (PARTITION BY node_id) AS n, v_total FROM energy_history WHERE session_id = $1
     QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY timestamp DESC) = 1`,
    'SELECT node_id, count(*) AS n FROM llm_requests WHERE session_id = $1 GROUP BY node_id'
  ],
  sandbox: [
    'SELECT lineage_id, parent_branch_id, child_branch_id, depends_on_seal, created_at FROM branch_lineage WHERE child_branch_id IN (SELECT branch_id FROM provisional_branches WHERE session_id = $1) ORDER BY created_at',
    'SELECT flush_id, parent_node_id, flushed_branch_ids, requeue_node_ids, reason, created_at FROM branch_flushes WHERE session_id = $1 ORDER BY created_at',
    'SELECT seal_id, node_id, sealed_path, artifact_kind, seal_hash, version, created_at FROM interface_seals WHERE session_id = $1 ORDER BY created_at'
  ]
}

/**
 * One plain query as a plain DuckDB program runs it: parsed, prepared and bound at each call, every row
 * read. (runAndRead + readAll is runAndReadAll; the connection PersptStore.query lends keeps Vigil's
 * prepared statements for runAndReadAll, which the plain side must not use.)
 */
async function plainQuery(con: DuckDBConnection, sql: string, sessionId: string) {
  const reader = await con.runAndRead(sql, [sessionId])
  await reader.readAll()
  return reader
}

/** Runs one Perspt page's queries (prepared, bound, every row read into JS); row counts per query. */
async function persptPage(con: DuckDBConnection, page: string, sessionId: string, extra: readonly string[] = []): Promise<number[]> {
  const counts: number[] = []
  for (const sql of [...PERSPT_PAGES[page]!, ...extra]) counts.push((await plainQuery(con, sql, sessionId)).getRowObjectsJS().length)
  return counts.slice(0, PERSPT_PAGES[page]!.length)
}

/** What Vigil's page shows that Perspt's queries also return, as row counts to compare (an honest raw side). */
function vigilCounts(page: string, value: unknown): number[] {
  switch (page) {
    case 'summary': {
      const [, s] = value as [SessionRow, SessionSummary]
      return [s.llm.requests, s.counts.energy_history ?? 0]
    }
    case 'dag': {
      const d = value as DagGraph
      return [d.nodes.filter((n) => n.rawState !== null).length, d.edges.length]
    }
    case 'energy':
      return [Object.values((value as EnergyView).series).reduce((n, s) => n + s.length, 0)]
    case 'energy_stats':
      return [(value as EnergyStats).passes]
    case 'passes':
      return [(value as EnergyPassesView).passes.length]
    case 'nodes': {
      const v = value as SessionNodesView
      return [v.nodes.filter((n) => n.record !== null).length, v.edgeTotal, 1]
    }
    case 'llm':
      return [(value as [LlmSummary, LlmRowsPage])[0].requests]
    case 'sandbox':
      return [(value as SandboxView).branches.length]
    case 'decisions': {
      const t = value as DecisionTrace
      const total = (k: string) => t.sections.find((x) => x.key === k)?.total ?? 0
      return ['escalations', 'sheaf', 'rewrites', 'plans', 'repairs', 'verifications', 'corrections'].map(total)
    }
  }
  return []
}

function persptCounts(page: string, counts: number[]): number[] {
  if (page === 'summary') return [counts[2]!, counts[3]!]
  if (page === 'dag') return [counts[0]!, counts[1]!]
  if (page === 'nodes') return [counts[0]!, counts[1]!, counts[2]!]
  return counts
}

/**
 * Issue 17 item 5: per session view, Vigil's API over HTTP (what the page waits for) and in-process,
 * next to Perspt's queries for the same page, interleaved sample by sample on the same snapshot copy
 * (same connection, so the same buffer cache; who goes first alternates). Every sample is a session not
 * read before by that side, so no result cache answers.
 */
async function ratios(path: string, work: string): Promise<void> {
  const service = new VigilService({ mode: 'web', version: 'bench', tmpRoot: mkdtempSync(join(work, 'ratio-')) })
  const server = await startVigilServer({
    host: '127.0.0.1',
    port: 0,
    api: service,
    events: service.events,
    staticDir: null,
    version: 'bench',
    extensions: service.serverExtensions()
  })
  let closePlain = async (): Promise<void> => undefined
  try {
    const source = service.registry.addStore(path, 'flag')
    const store = service.registry.store(source.id)
    await waitReady(store)
    const sessions = await service.listSessions(source.id)
    const rpc = async (method: string, ...args: unknown[]): Promise<unknown> => {
      const res = await fetch(`${server.url}/api/rpc/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ args })
      })
      const body = (await res.json()) as { ok: boolean; value?: unknown; error?: unknown }
      if (!body.ok) throw new Error(`${method}: ${JSON.stringify(body.error)}`)
      return body.value
    }
    const id = source.id
    const llmWindow = { offset: 0, limit: 100, sort: 'time', dir: 'desc' } as const
    const pages: Record<string, { http: (sid: string) => Promise<unknown>; direct: (sid: string) => Promise<unknown> }> = {
      summary: {
        // The session page also reads the session list (its header); that is one cached array per version.
        http: async (sid) => [null, await rpc('getSessionSummary', id, sid)],
        direct: async (sid) => [null, await service.getSessionSummary(id, sid)]
      },
      dag: { http: (sid) => rpc('getDag', id, sid), direct: (sid) => service.getDag(id, sid) },
      energy: { http: (sid) => rpc('getEnergy', id, sid), direct: (sid) => service.getEnergy(id, sid) },
      energy_stats: { http: (sid) => rpc('getEnergyStats', id, sid), direct: (sid) => service.getEnergyStats(id, sid) },
      passes: { http: (sid) => rpc('getEnergyPasses', id, sid), direct: (sid) => service.getEnergyPasses(id, sid) },
      nodes: { http: (sid) => rpc('getSessionNodes', id, sid), direct: (sid) => service.getSessionNodes(id, sid) },
      llm: {
        // What the LLM page asks for when it opens: the summary and the newest window of rows, at once
        // (two resources of LlmView.svelte, fetched side by side; sequential calls paid two round trips
        // one after the other, which no page does: 2.34× in the run before this change, 1.67× in process).
        http: (sid) => Promise.all([rpc('getLlmSummary', id, sid), rpc('getLlmRows', id, sid, llmWindow)]),
        direct: (sid) => Promise.all([service.getLlmSummary(id, sid), service.getLlmRows(id, sid, llmWindow)])
      },
      sandbox: { http: (sid) => rpc('getSandbox', id, sid), direct: (sid) => service.getSandbox(id, sid) },
      decisions: { http: (sid) => rpc('getDecisionTrace', id, sid), direct: (sid) => service.getDecisionTrace(id, sid) }
    }
    // Like for like over HTTP: the same plain queries (Perspt's page plus EQUIVALENT_EXTRA) behind a
    // plain Node HTTP endpoint, rows as JSON, fetched the same way. Perspt's own pages go over HTTP too.
    const plain = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const { page, sid } = JSON.parse(Buffer.concat(chunks).toString()) as { page: string; sid: string }
        let text = ''
        void store
          .query(`bench-plain:${page}:${sid}`, async (con) => {
            const out: unknown[] = []
            for (const sql of [...PERSPT_PAGES[page]!, ...(EQUIVALENT_EXTRA[page] ?? [])]) out.push((await plainQuery(con, sql, sid)).getRowObjectsJson())
            text = JSON.stringify(out)
          })
          .then(() => {
            res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
            res.end(text)
          })
      })
    })
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`
    const plainHttp = async (page: string, sid: string): Promise<void> => {
      const res = await fetch(plainUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ page, sid }) })
      await res.json()
    }
    closePlain = () => new Promise<void>((resolve) => plain.close(() => resolve()))

    // The HTTP floor: a call that reads nothing from the store.
    const floor: number[] = []
    for (let i = 0; i < 40; i++) floor.push((await time(() => rpc('listRuns')))[0])
    report('perspt.api.http_floor', 'ms', floor)

    const samples = Number(process.env.VIGIL_RATIO_SAMPLES ?? 30)
    let next = 0
    const fresh = () => sessions[(next++ * 7919) % sessions.length]!.sessionId
    const onlyPages = process.env.VIGIL_VIEWS_PAGES?.split(',')
    for (const [page, call] of Object.entries(pages)) {
      if (onlyPages && !onlyPages.includes(page)) continue
      // Warm both sides once (the first query of a kind plans and loads its columns).
      const warm = fresh()
      await call.http(warm)
      await store.query(`bench-raw:${page}:warm`, (con) => persptPage(con, page, warm))
      await plainHttp(page, fresh())
      const http: number[] = []
      const plainSamples: number[] = []
      const direct: number[] = []
      const raw: number[] = []
      const equivalent: number[] = []
      const extra = EQUIVALENT_EXTRA[page] ?? []
      const mismatches: string[] = []
      for (let i = 0; i < samples; i++) {
        const sid = fresh()
        const runRaw = async () => {
          let counts: number[] = []
          await store.query(`bench-raw:${page}:${sid}`, async (con) => {
            const t0 = performance.now()
            counts = await persptPage(con, page, sid)
            raw.push(performance.now() - t0)
          })
          return counts
        }
        let rawCounts: number[]
        let value: unknown
        if (i % 2 === 0) {
          const [ms, v] = await time(() => call.http(sid))
          http.push(ms)
          value = v
          rawCounts = await runRaw()
        } else {
          rawCounts = await runRaw()
          const [ms, v] = await time(() => call.http(sid))
          http.push(ms)
          value = v
        }
        direct.push((await time(() => call.direct(fresh())))[0])
        const forPlain = fresh()
        plainSamples.push((await time(() => plainHttp(page, forPlain)))[0])
        if (extra.length > 0) {
          const other = fresh()
          await store.query(`bench-eq:${page}:${other}`, async (con) => {
            const t0 = performance.now()
            await persptPage(con, page, other, extra)
            equivalent.push(performance.now() - t0)
          })
        }
        const mine = vigilCounts(page, value)
        const theirs = persptCounts(page, rawCounts)
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) mismatches.push(`${sid}: vigil ${JSON.stringify(mine)} perspt ${JSON.stringify(theirs)}`)
      }
      const h = report(`perspt.view.${page}.vigil_http`, 'ms', http, { sessions: sessions.length })
      const d = report(`perspt.view.${page}.vigil_direct`, 'ms', direct)
      const r = report(`perspt.view.${page}.perspt_raw`, 'ms', raw, { queries: PERSPT_PAGES[page]!.length })
      const e = extra.length > 0 ? report(`perspt.view.${page}.equivalent_raw`, 'ms', equivalent, { queries: PERSPT_PAGES[page]!.length + extra.length }) : r
      const p = report(`perspt.view.${page}.equivalent_plain_http`, 'ms', plainSamples, { note: 'the equivalent queries behind a plain Node HTTP endpoint, rows as JSON' })
      const round = (v: number) => Math.round(v * 100) / 100
      process.stdout.write(
        JSON.stringify({
          name: `perspt.view.${page}.ratio`,
          unit: 'x',
          http_median: round(h.median / r.median),
          http_p95: round(h.p95 / r.p95),
          direct_median: round(d.median / r.median),
          direct_p95: round(d.p95 / r.p95),
          // Against the plain queries of everything the page shows (Perspt's page queries, plus EQUIVALENT_EXTRA).
          equivalent_http_median: round(h.median / e.median),
          equivalent_direct_median: round(d.median / e.median),
          // Both sides over HTTP: Vigil's API against the equivalent queries served plainly (context, not the goal).
          like_for_like_http_median: round(h.median / p.median),
          goal: 2,
          met: h.median / e.median <= 2,
          mismatches: mismatches.length,
          ...(mismatches.length > 0 ? { firstMismatch: mismatches[0] } : {})
        }) + '\n'
      )
    }
  } finally {
    await closePlain()
    await server.close()
    await service.close()
  }
}

export async function run(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-run-'))
  try {
    const big = await bigStorePath(log)
    const only = process.env.VIGIL_VIEWS_PHASES?.split(',')
    const phase = (name: string) => !only || only.includes(name)
    if (phase('first')) await firstRows(big, work)
    if (phase('serve')) {
      // VIGIL_BENCH_BEFORE_ROOT: another built tree first (before vs after in one run); VIGIL_BENCH_ROOT: the build measured.
      const before = process.env.VIGIL_BENCH_BEFORE_ROOT
      if (before) await serveFirstRows(big, before, '.before')
      await serveFirstRows(big, process.env.VIGIL_BENCH_ROOT)
    }
    if (phase('ratio')) await ratios(big, work)
    if (phase('overview')) await overview(big, work)
    if (phase('views')) await views(big, work)
    if (phase('refresh')) {
      const small = join(work, 'small.db')
      const sim = new PersptSimulator({ path: small, seed: 5 })
      await sim.start()
      await sim.stop()
      await refreshCost(small, work, 'small')
      await refreshCost(big, work, 'big')
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
