// Issue 17 item 3, on a real DuckDB store holding hostile but real rows: every view shows them
// truthfully (checked against independent SQL on the same file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { ARG_PARSERS } from '../../../src/shared/api/contract'
import { VigilService } from '../../../src/main/core/vigil-service'
import { graphemeCount } from '../../../src/shared/graphemes'
import { probeSchema, readSessions } from '../../../src/main/perspt/store-reader'
import type { SchemaProbe } from '../../../src/main/perspt/store-reader'
import { readDag, readNodeDetail } from '../../../src/main/perspt/views/dag'
import { readEnergy } from '../../../src/main/perspt/views/energy'
import { LLM_TEXT_HEAD_CHARS, readLlmRequest, readLlmRows, readLlmSummary, readLlmText } from '../../../src/main/perspt/views/llm'
import { readSandbox } from '../../../src/main/perspt/views/sandbox'
import { readSessionSummary } from '../../../src/main/perspt/views/session-summary'
import {
  COMMIT_V_TOTAL,
  GRAPHEME_PROMPTS,
  HOSTILE,
  HOSTILE_ENERGY,
  HOSTILE_LATENCIES,
  LONG_ID,
  ODD_SESSION_IDS,
  PROMPT_1MB,
  PROMPT_3MB,
  EVIDENCE_1MB,
  buildHostileStore
} from '../../fixtures/perspt-hostile'
import { buildStore } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-hostile-'))
let instance: DuckDBInstance
let con: DuckDBConnection
let probe: SchemaProbe

async function sql<T = Record<string, unknown>>(q: string, params: string[] = []): Promise<T[]> {
  return (await con.runAndReadAll(q, params)).getRowObjectsJS() as T[]
}

beforeAll(async () => {
  const path = join(dir, 'perspt.db')
  await buildHostileStore(path)
  instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  con = await instance.connect()
  probe = await probeSchema(con)
}, 60_000)

afterAll(() => {
  con?.closeSync()
  instance?.closeSync()
  rmSync(dir, { recursive: true, force: true })
})

const lengths = new Map<string, number>()
/** Code points (DuckDB's length()), counted once per text. */
function cp(s: string): number {
  let n = lengths.get(s)
  if (n === undefined) {
    n = 0
    for (let i = 0; i < s.length; i++) if ((s.charCodeAt(i) & 0xfc00) !== 0xdc00) n++
    lengths.set(s, n)
  }
  return n
}

async function session() {
  const rows = await readSessions(con, probe, { agentLive: false, now: 0 })
  return rows.find((r) => r.sessionId === HOSTILE)!
}

describe('non-finite and NULL energy', () => {
  it('the store really holds NaN, ±infinity and NULL (the fixture is what it claims)', async () => {
    const r = await sql<{ node_id: string; v: string | null }>(
      `SELECT node_id, CAST(v_total AS VARCHAR) AS v FROM energy_history WHERE session_id = $1
       QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY id DESC) = 1`,
      [HOSTILE]
    )
    expect(r.map((x) => x.v?.toLowerCase() ?? null).sort()).toEqual(['-inf', '0.05', 'inf', 'nan', null].sort((a, b) => String(a).localeCompare(String(b))))
  })

  it('the Energy view gives null and what is stored (never 0), and the DAG agrees for every node', async () => {
    const energy = await readEnergy(con, probe, HOSTILE)
    const dag = await readDag(con, probe, HOSTILE, { status: 'completed' })
    const expected: Record<string, string | null> = { task_nan: 'NaN', task_inf: 'Infinity', task_ninf: '-Infinity', task_null: 'NULL', task_ok: null }
    for (const [node, stored] of Object.entries(expected)) {
      const latest = energy.latest.find((l) => l.nodeId === node)!
      const dagNode = dag.nodes.find((n) => n.nodeId === node)!
      const last = HOSTILE_ENERGY[node]!.at(-1)!
      if (stored === null) {
        expect(latest.vTotal).toBeCloseTo(last as number, 6)
        expect(latest.invalid).toEqual([])
        expect(dagNode.energy).toBe(latest.vTotal)
        expect(dagNode.energyInvalid).toBeNull()
      } else {
        expect(latest.vTotal, node).toBeNull()
        expect(latest.invalid).toContainEqual({ component: 'vTotal', stored })
        // The DAG does not fall back to the commit snapshot's 0.05: it says what the latest pass holds.
        expect(dagNode.energy, node).toBeNull()
        expect(dagNode.energyInvalid, node).toBe(stored)
      }
      // Earlier passes are intact numbers.
      expect(energy.series[node]![0]!.vTotal).toBeCloseTo(HOSTILE_ENERGY[node]![0] as number, 6)
    }
    // And the commit snapshot really says 0.05 (what the old DAG showed for a NaN pass).
    const [ns] = await sql<{ v: number }>(`SELECT v_total AS v FROM node_states WHERE session_id = $1 AND node_id = 'task_nan'`, [HOSTILE])
    expect(ns!.v).toBeCloseTo(COMMIT_V_TOTAL, 6)
  })

  it('components are checked too, and the node panel carries the same values', async () => {
    const detail = await readNodeDetail(con, probe, HOSTILE, 'task_null', { status: 'completed' })
    const last = detail.energyHistory.at(-1)!
    expect(last.vSyn).toBeNull()
    expect(last.invalid.map((i) => i.component).sort()).toEqual(['vSyn', 'vTotal'])
    expect(last.vStr).toBe(0)
    expect(detail.node.energyInvalid).toBe('NULL')
    const json = JSON.parse(JSON.stringify(await readEnergy(con, probe, HOSTILE))) as Awaited<ReturnType<typeof readEnergy>>
    // What crosses the wire: null, not 0 and not a string.
    expect(json.latest.find((l) => l.nodeId === 'task_inf')!.vTotal).toBeNull()
  })
})

describe('one definition of latency percentiles', () => {
  it('Summary and LLM view give the same p50/p95, over the calls with a latency only, and say how many', async () => {
    const summary = await readSessionSummary(con, probe, await session())
    const llm = await readLlmSummary(con, probe, HOSTILE)
    const [truth] = await sql<{ p50: number; p95: number; n: bigint; with_zero_p50: number }>(
      `SELECT quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95, count(latency_ms) AS n,
         quantile_cont(coalesce(latency_ms, 0), 0.5) AS with_zero_p50
       FROM llm_requests WHERE session_id = $1`,
      [HOSTILE]
    )
    expect(summary.llm.latencyP95).toBe(llm.latencyP95)
    expect(summary.llm.latencyP50).toBe(llm.latencyP50)
    expect(llm.latencyP95).toBeCloseTo(truth!.p95, 6)
    expect(llm.latencyP50).toBeCloseTo(truth!.p50, 6)
    // NULL as 0 ms would give another number: the fixture makes the difference visible.
    expect(llm.latencyP50).not.toBeCloseTo(truth!.with_zero_p50, 0)
    const withLatency = HOSTILE_LATENCIES.filter((l) => l !== null).length + 2
    expect(llm.latencyCounted).toBe(withLatency)
    expect(summary.llm.latencyCounted).toBe(withLatency)
    expect(llm.requests - llm.latencyCounted).toBe(HOSTILE_LATENCIES.filter((l) => l === null).length)
    expect(llm.perModel[0]!.latencyCounted).toBe(withLatency)
  })

  it('a call without a latency has latencyMs null (shown "—"), not 0, and sorts last', async () => {
    const page = await readLlmRows(con, probe, HOSTILE, { offset: 0, limit: 100, sort: 'latency', dir: 'asc' })
    const nulls = page.rows.filter((r) => r.latencyMs === null)
    expect(nulls).toHaveLength(HOSTILE_LATENCIES.filter((l) => l === null).length)
    expect(page.rows.slice(-nulls.length).every((r) => r.latencyMs === null)).toBe(true)
    expect(page.rows.some((r) => r.latencyMs === 0)).toBe(false)
  })
})

describe('previews cut on grapheme boundaries', () => {
  it('never splits a ZWJ family, combining marks or a flag, and stays within 160 graphemes', async () => {
    const page = await readLlmRows(con, probe, HOSTILE, { offset: 0, limit: 100, sort: 'time', dir: 'asc' })
    const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
    for (const [i, prompt] of GRAPHEME_PROMPTS.entries()) {
      const row = page.rows[i]!
      const p = row.promptPreview
      expect(p.endsWith('…'), p).toBe(true)
      expect(graphemeCount(p)).toBeLessThanOrEqual(160)
      const body = p.slice(0, -1)
      // Every grapheme of the preview is a grapheme of the prompt at the same place.
      const got = Array.from(segmenter.segment(body), (s) => s.segment)
      const want = Array.from(segmenter.segment(prompt), (s) => s.segment).slice(0, got.length)
      expect(got).toEqual(want)
    }
  })

  it('the node panel previews (dag.ts) use the same cut', async () => {
    const detail = await readNodeDetail(con, probe, HOSTILE, 'task_ok', { status: 'completed' })
    const page = await readLlmRows(con, probe, HOSTILE, { offset: 0, limit: 100, sort: 'time', dir: 'asc' })
    for (const r of detail.llmRequests) expect(r.promptPreview).toBe(page.rows.find((x) => x.id === r.id)!.promptPreview)
    const family = detail.llmRequests.find((r) => r.promptPreview.startsWith('👨‍👩‍👧‍👦'))!
    // Whole families only: the SQL prefix (400 code points) ends inside the 58th, which is dropped.
    expect(family.promptPreview).toBe(`${'👨‍👩‍👧‍👦'.repeat(Math.floor(400 / 7))}…`)
  })
})

describe('huge single-line texts', () => {
  it('the request detail carries a bounded head and the true lengths, never megabytes', async () => {
    const page = await readLlmRows(con, probe, HOSTILE, { offset: 0, limit: 100, sort: 'time', dir: 'asc' })
    for (const full of [PROMPT_1MB, PROMPT_3MB]) {
      const row = page.rows.find((r) => r.promptChars === cp(full))!
      expect(row).toBeDefined()
      expect(graphemeCount(row.promptPreview)).toBeLessThanOrEqual(160)
      const detail = await readLlmRequest(con, probe, HOSTILE, row.id)
      expect(detail.promptChars).toBe(cp(full))
      expect(Array.from(detail.prompt)).toHaveLength(LLM_TEXT_HEAD_CHARS)
      expect(full.startsWith(detail.prompt)).toBe(true)
      expect(JSON.stringify(detail).length).toBeLessThan(300_000)
    }
  })

  it('a 1 MB evidence text reaches the node panel capped at 4,000 graphemes, cut on a boundary', async () => {
    const detail = await readNodeDetail(con, probe, HOSTILE, 'task_inf', { status: 'completed' })
    const evidence = detail.decisions.find((d) => d.section === 'escalations')!.fields.find((f) => f.label === 'Evidence')!.value
    expect(graphemeCount(evidence)).toBe(4000)
    expect(evidence.endsWith('…')).toBe(true)
    expect(EVIDENCE_1MB.startsWith(evidence.slice(0, -1))).toBe(true)
  })

  it('parts fetched on demand put the full text back together exactly (3 MB)', async () => {
    const page = await readLlmRows(con, probe, HOSTILE, { offset: 0, limit: 100, sort: 'time', dir: 'asc' })
    const row = page.rows.find((r) => r.promptChars === cp(PROMPT_3MB))!
    let text = ''
    let offset = 0
    let parts = 0
    for (;;) {
      const part = await readLlmText(con, probe, HOSTILE, row.id, 'prompt', offset, 1_048_576)
      expect(part.totalChars).toBe(row.promptChars)
      if (part.text === '') break
      text += part.text
      offset += cp(part.text)
      parts++
    }
    expect(parts).toBe(Math.ceil(row.promptChars / 1_048_576))
    expect(text).toBe(PROMPT_3MB)
    // A part is never more than asked for, and another session's id is not found.
    expect(Array.from((await readLlmText(con, probe, HOSTILE, row.id, 'response', 0, 1)).text)).toHaveLength(1)
    await expect(readLlmText(con, probe, ODD_SESSION_IDS[2], row.id, 'prompt', 0, 10)).rejects.toThrow(/No LLM request/)
  })
})

describe('repeated ids and empty states in the Sandbox', () => {
  it('lists both rows of a repeated branch id and keeps an empty state empty (not active)', async () => {
    const view = await readSandbox(con, probe, await session())
    const dup = view.branches.filter((b) => b.branchId === 'branch_task_ok_dup')
    expect(dup.map((b) => b.state).sort()).toEqual(['active', 'merged'])
    const empty = view.branches.find((b) => b.branchId === 'branch_task_ok_empty')!
    expect(empty.state).toBe('')
    const [truth] = await sql<{ n: bigint }>(`SELECT count(*) AS n FROM provisional_branches WHERE session_id = $1 AND state = 'active'`, [HOSTILE])
    expect(view.branches.filter((b) => b.state === 'active')).toHaveLength(Number(truth!.n))
  })
})

describe('every listed session is openable', () => {
  it("lists '' and a 240-character id as stored, and the API accepts every listed id", async () => {
    const rows = await readSessions(con, probe, { agentLive: false, now: 0 })
    for (const id of ODD_SESSION_IDS) expect(rows.map((r) => r.sessionId)).toContain(id)
    expect(LONG_ID).toHaveLength(240)
    expect(rows.find((r) => r.sessionId === LONG_ID)!.sessionId).toHaveLength(240)
    for (const r of rows) {
      expect(ARG_PARSERS.getSessionSummary(['store-1', r.sessionId])).toEqual(['store-1', r.sessionId])
      expect(ARG_PARSERS.getLlmText(['store-1', r.sessionId, 1, 'prompt', 0, 10])[1]).toBe(r.sessionId)
      const summary = await readSessionSummary(con, probe, r)
      expect(summary.session.sessionId).toBe(r.sessionId)
      if (r.sessionId !== HOSTILE) expect(summary.llm.requests).toBe(1)
    }
  })
})

describe('through VigilService (the API both transports call)', () => {
  it("ids with ':' never share a cached answer, and '' and 240-character ids open", async () => {
    const path = join(dir, 'colon.db')
    await buildStore(path, {
      generation: 23,
      sessions: [
        { id: 'k:b', status: 'COMPLETED', createdAt: '2026-05-01 10:00:00', committed: ['c'] },
        { id: 'k', status: 'COMPLETED', createdAt: '2026-05-01 11:00:00', committed: ['b:c'] },
        { id: '', status: 'COMPLETED', createdAt: '2026-05-01 12:00:00', committed: ['n'] },
        { id: LONG_ID, status: 'COMPLETED', createdAt: '2026-05-01 13:00:00', committed: ['m'] }
      ]
    })
    const service = new VigilService({ mode: 'desktop', version: '0.0.0', tmpRoot: mkdtempSync(join(dir, 'tmp-')), pollMs: 100 })
    try {
      const store = await service.addStore(path)
      const end = Date.now() + 15_000
      while ((await service.listSources()).find((x) => x.id === store.id && x.kind === 'store' && x.state === 'ready') === undefined) {
        if (Date.now() > end) throw new Error('the store did not become ready')
        await new Promise((r) => setTimeout(r, 50))
      }
      expect((await service.getNodeDetail(store.id, 'k:b', 'c')).node.nodeId).toBe('c')
      expect((await service.getNodeDetail(store.id, 'k', 'b:c')).node.nodeId).toBe('b:c')
      expect((await service.getSessionSummary(store.id, '')).session.sessionId).toBe('')
      expect((await service.getDag(store.id, '')).nodes.map((n) => n.nodeId)).toEqual(['n'])
      expect((await service.getDag(store.id, LONG_ID)).nodes.map((n) => n.nodeId)).toEqual(['m'])
    } finally {
      await service.close()
    }
  })
})
