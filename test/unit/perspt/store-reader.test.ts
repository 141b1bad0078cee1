import { describe, it, expect, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import type { SessionRow } from '../../../src/shared/model/perspt'
import type { SchemaGeneration } from '../../../src/main/perspt/schema'
import {
  blobText,
  friendlyName,
  isoFromMs,
  mapSessionStatus,
  normalizeNodeState,
  parseJson,
  probeSchema,
  readSessions,
  roundReal,
  text,
  toNumber
} from '../../../src/main/perspt/store-reader'
import { buildStore } from '../../fixtures/perspt-fixtures'
import type { BuildStoreOptions } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-reader-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

/** Builds a fixture and reads it (our own test file, so opening it directly is fine here). */
async function read(opts: BuildStoreOptions, agentLive = true) {
  const path = join(dir, `store-${++n}.db`)
  await buildStore(path, opts)
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con: DuckDBConnection = await instance.connect()
  try {
    const probe = await probeSchema(con)
    const rows = await readSessions(con, probe, { agentLive, now: Date.parse('2026-05-02T09:10:00Z') })
    return { probe, rows, byId: (id: string) => rows.find((r) => r.sessionId === id) as SessionRow }
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

describe('value helpers', () => {
  it('turns BIGINT/HUGEINT bigints into numbers, clamping what does not fit', () => {
    expect(toNumber(42n)).toBe(42)
    expect(toNumber(2n ** 70n)).toBe(Number.MAX_SAFE_INTEGER)
    expect(toNumber(-(2n ** 70n))).toBe(Number.MIN_SAFE_INTEGER)
    expect(toNumber(null)).toBeNull()
    expect(toNumber('12')).toBe(12)
    expect(toNumber('')).toBeNull()
  })

  it('removes float32 noise from REAL values', () => {
    expect(roundReal(0.10000000149011612)).toBe(0.1)
    expect(roundReal(1.2345678806304932)).toBe(1.234568)
  })

  it('rounds every value as toPrecision(7) does, cached or not, past the cache bound too', () => {
    const values = [0, -0, 1, -1, 9_999_999, 10_000_000, 123_456_789, 0.5, 1e-40, -3.4e38, NaN, Infinity, -Infinity]
    let seed = 7
    for (let i = 0; i < 10_000; i++) {
      seed = (seed * 48271) % 2147483647
      values.push(Math.fround((seed / 2147483647 - 0.5) * 10 ** ((seed % 20) - 10)))
    }
    // Twice: the second pass answers from the cache (or after it started over).
    for (const pass of [1, 2]) for (const v of values) expect(roundReal(v), `${pass} ${v}`).toBe(Number(v.toPrecision(7)))
  })

  it('writes times exactly as Date.toISOString, across days, years and the fast path\'s edges', () => {
    const edges = [0, 1, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000, 4_102_444_800_000, 253_402_300_799_999, 253_402_300_800_000, -1, -86_400_001, 8.64e15]
    let seed = 11
    const values = [...edges]
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 48271) % 2147483647
      values.push(Math.floor((seed / 2147483647) * 4e12 * (i % 7 === 0 ? 60 : 1)) - (i % 5 === 0 ? 1e12 : 0))
    }
    for (const ms of values) expect(isoFromMs(ms), String(ms)).toBe(new Date(ms).toISOString())
    expect(isoFromMs(1.5)).toBe(new Date(1.5).toISOString())
    expect(isoFromMs(8.64e15 + 1)).toBeNull()
    expect(isoFromMs(NaN)).toBeNull()
  })

  it("treats '' like NULL and decodes hex-text BLOBs", () => {
    expect(text('')).toBeNull()
    expect(text('  ')).toBeNull()
    expect(text('x')).toBe('x')
    expect(blobText(new TextEncoder().encode('ab12'))).toBe('ab12')
    expect(blobText(new Uint8Array())).toBeNull()
    expect(isoFromMs(0)).toBe('1970-01-01T00:00:00.000Z')
    expect(isoFromMs(null)).toBeNull()
  })

  it('parses JSON text defensively', () => {
    expect(parseJson('{"a":1}')).toEqual({ a: 1 })
    expect(parseJson('')).toBeNull()
    expect(parseJson('{broken')).toBeNull()
  })

  it('maps session statuses, RUNNING without a lock holder being stale', () => {
    const cases: [string, boolean, string][] = [
      ['RUNNING', true, 'running'],
      ['RUNNING', false, 'stale'],
      ['running', false, 'stale'],
      ['COMPLETED', false, 'completed'],
      ['PARTIAL', true, 'partial'],
      ['FAILED', true, 'failed'],
      ['ABORTED', true, 'aborted'],
      ['PAUSED', true, 'paused'],
      ['active', true, 'pending'],
      ['', true, 'unknown'],
      ['weird', true, 'unknown']
    ]
    for (const [raw, live, expected] of cases) expect(mapSessionStatus(raw, live)).toBe(expected)
  })

  it('normalises node states like Perspt, except committed', () => {
    expect(normalizeNodeState('Completed')).toBe('completed')
    expect(normalizeNodeState('STABLE')).toBe('completed')
    expect(normalizeNodeState('committed')).toBe('completed')
    expect(normalizeNodeState('Failed')).toBe('failed')
    expect(normalizeNodeState('ABORTED')).toBe('failed')
    expect(normalizeNodeState('ESCALATED')).toBe('escalated')
    expect(normalizeNodeState('Verifying')).toBe('running')
    expect(normalizeNodeState('garbage')).toBe('queued')
  })

  it("computes Perspt's friendly names (spec test vectors)", () => {
    expect(friendlyName('test-session')).toBe('lean-hare')
    expect(friendlyName('00000000-0000-0000-0000-000000000000')).toBe('swift-hawk')
  })
})

// Exact node counts per generation (see DEFAULT_SESSIONS for the rows behind them).
const RUNNING_NODES: Record<SchemaGeneration, object> = {
  // plan (6) ∪ edges; task_3 escalated by report, task_4 by its converge step (srbn, gen 23 only).
  23: { planned: 6, committed: 1, running: 1, failed: 0, escalated: 2, queued: 2 },
  21: { planned: 6, committed: 1, running: 1, failed: 0, escalated: 1, queued: 3 },
  // No plan_revisions: task_6 exists only in the plan, so only the 5 edge nodes are known.
  17: { planned: 5, committed: 1, running: 1, failed: 0, escalated: 1, queued: 2 },
  // Only node_states and energy_history: task_1 committed, task_2 and task_3 started.
  4: { planned: 3, committed: 1, running: 2, failed: 0, escalated: 0, queued: 0 }
}

describe.each([23, 21, 17, 4] as SchemaGeneration[])('reading generation %i', (gen) => {
  it('probes the tables and node_states columns', async () => {
    const { probe } = await read({ generation: gen })
    expect(probe.tables.size).toBe(gen)
    expect(probe.hasSessions).toBe(true)
    expect(probe.nodeStatesExtended).toBe(gen !== 4)
  })

  it('returns every session, newest first, with exact node counts', async () => {
    const { rows, byId } = await read({ generation: gen })
    expect(rows.map((r) => r.sessionId)).toEqual(['fx-running', 'fx-completed', 'fx-failed', 'fx-odd'])
    expect(byId('fx-running').nodes).toEqual(RUNNING_NODES[gen])
    expect(byId('fx-completed').nodes).toEqual({ planned: 3, committed: 3, running: 0, failed: 0, escalated: 0, queued: 0 })
    // task_2 started but never committed in a FAILED session: it failed.
    expect(byId('fx-failed').nodes).toEqual({ planned: 2, committed: 1, running: 0, failed: 1, escalated: 0, queued: 0 })
    // Legacy states: Coding then STABLE at the same time (the higher id wins), FAILED; '' node ids ignored.
    expect(byId('fx-odd').nodes).toEqual({ planned: 2, committed: 1, running: 0, failed: 1, escalated: 0, queued: 0 })
  })

  it('reads statuses, times (naive = UTC), durations, LLM totals and the merkle root', async () => {
    const { byId } = await read({ generation: gen })
    const done = byId('fx-completed')
    expect(done).toMatchObject({
      status: 'completed',
      rawStatus: 'COMPLETED',
      task: 'Add rate limiting',
      workingDir: '/work/api',
      createdAt: '2026-05-01T10:00:00.000Z',
      updatedAt: '2026-05-01T10:30:00.000Z',
      durationMs: 30 * 60_000,
      llmRequests: 3,
      tokensIn: 600,
      tokensOut: 250,
      tokensEstimated: false,
      merkleRoot: 'ab12cd34',
      avgEnergy: 0.1
    })
    const running = byId('fx-running')
    expect(running.status).toBe('running')
    expect(running.task).toBe('Translate settings: naïve café 日本語 🚀')
    expect(running.durationMs).toBe(10 * 60_000)
    expect(running).toMatchObject({ llmRequests: 2, tokensIn: 1500, tokensOut: 500, merkleRoot: null })
    // Zero raw counts: (UTF-8 bytes + 3) div 4 — 27 bytes of "naïve café 日本語 🚀" → 7, "ok" → 1.
    expect(byId('fx-failed')).toMatchObject({ tokensIn: 7, tokensOut: 1, tokensEstimated: true, durationMs: 1_200_250 })
    const odd = byId('fx-odd')
    expect(odd).toMatchObject({ status: 'pending', rawStatus: 'active', workingDir: '', createdAt: '2026-04-29T12:00:00.500Z', updatedAt: null, durationMs: null, llmRequests: 0, budget: null, avgEnergy: null })
  })

  it('reads budgets where the generation has them', async () => {
    const { byId } = await read({ generation: gen })
    if (gen < 21) {
      expect(byId('fx-completed').budget).toBeNull()
      return
    }
    expect(byId('fx-completed').budget).toEqual({ stepsUsed: 3, maxSteps: 10, revisionsUsed: 0, maxRevisions: null, costUsedUsd: 0.0135, maxCostUsd: null })
    expect(byId('fx-running').budget).toEqual({ stepsUsed: 2, maxSteps: null, revisionsUsed: 1, maxRevisions: null, costUsedUsd: 0.5, maxCostUsd: 5 })
  })
})

describe('reading odd stores', () => {
  it('marks a RUNNING session stale without a live agent, its started nodes failed', async () => {
    const { byId } = await read({ generation: 23 }, false)
    const s = byId('fx-running')
    expect(s.status).toBe('stale')
    expect(s.nodes).toEqual({ planned: 6, committed: 1, running: 0, failed: 1, escalated: 2, queued: 2 })
    // Stale sessions last until their newest row, not until now.
    expect(s.durationMs).toBe(0)
  })

  it('ignores unknown extra tables and columns', async () => {
    const plain = await read({ generation: 23 })
    const extra = await read({ generation: 23, extraTable: true, extraColumn: true })
    expect(extra.probe.tables.size).toBe(23)
    expect(extra.rows).toEqual(plain.rows)
  })

  it('reads a newer-generation store whose node_states never got the ALTER columns', async () => {
    const { probe, byId } = await read({ generation: 21, nodeStatesExtended: false })
    expect(probe.nodeStatesExtended).toBe(false)
    expect(byId('fx-running').nodes).toEqual(RUNNING_NODES[21])
  })

  it('reads generation 4 even when it was extended', async () => {
    const { probe, byId } = await read({ generation: 4, nodeStatesExtended: true })
    expect(probe.nodeStatesExtended).toBe(true)
    expect(byId('fx-running').nodes).toEqual(RUNNING_NODES[4])
  })

  it('counts committed nodes that are missing from an empty plan', async () => {
    const { byId } = await read({
      generation: 23,
      sessions: [{ id: 'only', status: 'COMPLETED', createdAt: '2026-01-01 00:00:00', plan: [], committed: ['a'] }]
    })
    expect(byId('only').nodes).toEqual({ planned: 1, committed: 1, running: 0, failed: 0, escalated: 0, queued: 0 })
  })

  it('tolerates malformed plan JSON', async () => {
    const path = join(dir, 'malformed.db')
    await buildStore(path, { generation: 23, sessions: [{ id: 'm', status: 'RUNNING', createdAt: '2026-01-01 00:00:00', committed: ['a'] }] })
    const rw = await DuckDBInstance.create(path)
    const w = await rw.connect()
    await w.run("INSERT INTO plan_revisions (revision_id, session_id, sequence, plan_json, reason) VALUES ('r1', 'm', 1, '{broken', 'initial'), ('r0', 'm', 0, '', 'initial')")
    w.closeSync()
    rw.closeSync()
    const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
    const con = await instance.connect()
    const rows = await readSessions(con, await probeSchema(con), { agentLive: true, now: 0 })
    con.closeSync()
    instance.closeSync()
    expect(rows[0]?.nodes).toEqual({ planned: 1, committed: 1, running: 0, failed: 0, escalated: 0, queued: 0 })
  })

  it('returns an empty list for a store with no sessions', async () => {
    const { rows } = await read({ generation: 23, sessions: [] })
    expect(rows).toEqual([])
  })
})
