import { describe, it, expect, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { SessionRow } from '../../../src/shared/model/perspt'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import type { SchemaGeneration } from '../../../src/main/perspt/schema'
import { probeSchema, readSessions } from '../../../src/main/perspt/store-reader'
import { readSandbox, sandboxDirOf, sandboxIdList } from '../../../src/main/perspt/views/sandbox'
import { VIEWS_EMPTY, VIEWS_MAIN, VIEWS_OTHER, buildViewsStore, copyStore } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-views-sandbox-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function withStore<T>(path: string, fn: (read: (sessionId: string) => ReturnType<typeof readSandbox>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    const probe = await probeSchema(con)
    const sessions = await readSessions(con, probe, { agentLive: false, now: Date.now() })
    return await fn((id) => readSandbox(con, probe, sessions.find((s) => s.sessionId === id) as SessionRow))
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

let built = 0
async function viewsStore(generation: SchemaGeneration): Promise<string> {
  const path = join(dir, `views-${generation}-${++built}.db`)
  await buildViewsStore(path, { generation, llmRequests: 10 })
  return path
}

describe('readSandbox', () => {
  it('lists branches with state, parent, derived sandbox dir and UTC times', async () => {
    await withStore(await viewsStore(23), async (read) => {
      const v = await read(VIEWS_MAIN)
      expect(v.missingTables).toEqual([])
      expect(v.branches.map((b) => [b.branchId, b.nodeId, b.parentNodeId, b.state])).toEqual([
        ['branch_task_1_aaaa', 'task_1', 'root', 'merged'],
        ['branch_task_2_bbbb', 'task_2', 'task_1', 'active'],
        ['branch_task_3_cccc', 'task_3', 'task_1', 'flushed'],
        ['branch_task_4_dddd', 'task_4', 'task_2', 'sealed']
      ])
      expect(v.branches[0]!.sandboxDir).toBe(`/work/app/.perspt/sandboxes/${VIEWS_MAIN}/branch_task_1_aaaa/`)
      expect(v.branches[0]!.createdAt).toBe('2026-05-03T10:00:10.000Z')
      expect(v.branches[0]!.updatedAt).toBe('2026-05-03T10:00:15.000Z')
    })
  })

  it('scopes lineage (which has no session_id) to the session through its branches', async () => {
    await withStore(await viewsStore(17), async (read) => {
      const main = await read(VIEWS_MAIN)
      expect(main.lineage.map((l) => [l.childBranchId, l.parentNodeId, l.dependsOnSeal])).toEqual([
        ['branch_task_2_bbbb', 'task_1', true],
        ['branch_task_3_cccc', 'task_1', false]
      ])
      const other = await read(VIEWS_OTHER)
      expect(other.lineage.map((l) => l.childBranchId)).toEqual(['branch_task_1_zzzz'])
      expect(other.branches.map((b) => b.branchId)).toEqual(['branch_task_1_zzzz'])
      // A trailing slash on the working dir does not double up.
      expect(other.branches[0]!.sandboxDir).toBe(`/work/other/.perspt/sandboxes/${VIEWS_OTHER}/branch_task_1_zzzz/`)
      expect(other.flushes.map((f) => f.flushId)).toEqual(['flush-other'])
      expect(other.seals.map((s) => s.sealId)).toEqual(['seal-other'])
    })
  })

  it('parses flush id lists defensively and decodes seal hashes from hex text', async () => {
    await withStore(await viewsStore(21), async (read) => {
      const v = await read(VIEWS_MAIN)
      expect(v.flushes).toEqual([
        { flushId: 'flush-1', parentNodeId: 'task_1', flushedBranchIds: ['branch_task_3_cccc'], requeueNodeIds: ['task_3', 'task_4'], reason: 'Parent interface changed', createdAt: '2026-05-03T10:00:35.000Z' },
        { flushId: 'flush-2', parentNodeId: 'task_2', flushedBranchIds: [], requeueNodeIds: [], reason: 'escalation', createdAt: '2026-05-03T10:00:36.000Z' }
      ])
      expect(v.seals.map((s) => [s.sealId, s.nodeId, s.sealHash, s.sealedPath, s.artifactKind, s.version])).toEqual([
        ['seal-1', 'task_1', 'a1b2c3d4e5f6', 'src/task_1.rs', 'signature', 1],
        ['seal-2', 'task_2', null, 'src/task_2.rs', 'signature', 1]
      ])
    })
  })

  it('degrades on a 4-table store: every sandbox table is reported missing', async () => {
    await withStore(await viewsStore(4), async (read) => {
      expect(await read(VIEWS_MAIN)).toEqual({
        branches: [],
        lineage: [],
        flushes: [],
        seals: [],
        missingTables: ['provisional_branches', 'branch_lineage', 'branch_flushes', 'interface_seals']
      })
    })
  })

  it('is empty for a session without branches', async () => {
    await withStore(await viewsStore(23), async (read) => {
      expect(await read(VIEWS_EMPTY)).toEqual({ branches: [], lineage: [], flushes: [], seals: [], missingTables: [] })
    })
  })

  it('matches the simulator store row for row', async () => {
    const sdir = mkdtempSync(join(dir, 'sim-'))
    const path = join(sdir, 'perspt.db')
    const sim = new PersptSimulator({ path, tickMs: 0, seed: 3, now: () => Date.parse('2026-06-15T12:00:00Z') })
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
      const sessions = await readSessions(con, probe, { agentLive: false, now: Date.now() })
      let sawLineage = false
      for (const s of sessions) {
        const v = await readSandbox(con, probe, s)
        const q = async (sql: string) => (await con.runAndReadAll(sql, [s.sessionId])).getRowObjectsJS()
        const branches = await q('SELECT branch_id, state FROM provisional_branches WHERE session_id = $1 ORDER BY created_at, id')
        expect(v.branches.map((b) => [b.branchId, b.state])).toEqual(branches.map((b) => [b.branch_id, b.state]))
        for (const b of v.branches) expect(b.sandboxDir).toBe(sandboxDirOf(s.workingDir, s.sessionId, b.branchId))
        const lineage = await q(
          'SELECT count(*)::INTEGER AS n FROM branch_lineage WHERE child_branch_id IN (SELECT branch_id FROM provisional_branches WHERE session_id = $1)'
        )
        expect(v.lineage).toHaveLength(lineage[0]!.n as number)
        sawLineage ||= v.lineage.length > 0
        for (const l of v.lineage) expect(v.branches.some((b) => b.branchId === l.childBranchId)).toBe(true)
        const [flushes] = await q('SELECT count(*)::INTEGER AS n FROM branch_flushes WHERE session_id = $1')
        expect(v.flushes).toHaveLength(flushes!.n as number)
        for (const seal of v.seals) expect(seal.sealHash ?? '').toMatch(/^([0-9a-f]+)?$/)
      }
      expect(sawLineage).toBe(true)
    } finally {
      con.closeSync()
      instance.closeSync()
    }
  })
})

describe('sandbox helpers', () => {
  it('reads id lists like Perspt (unwrap_or_default)', () => {
    expect(sandboxIdList('["a","b"]')).toEqual(['a', 'b'])
    expect(sandboxIdList('')).toEqual([])
    expect(sandboxIdList('nope')).toEqual([])
    expect(sandboxIdList('{"a":1}')).toEqual([])
    expect(sandboxIdList('[1,null,"x"]')).toEqual(['1', 'x'])
  })

  it('derives the sandbox dir', () => {
    expect(sandboxDirOf('/w/', 's', 'b')).toBe('/w/.perspt/sandboxes/s/b/')
    expect(sandboxDirOf('', 's', 'b')).toBe('./.perspt/sandboxes/s/b/')
  })
})
