// The overview classifies nodes inside DuckDB (readNodeTallies); the DAG classifies them in JS
// (readNodeFacts + classifyNode). Both must give the same buckets for every session of every store.
import { DuckDBInstance } from '@duckdb/node-api'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import { classifyNode, probeSchema, readNodeFacts, readNodeTallies, sessionEnded } from '../../../src/main/perspt/store-reader'
import { buildStore, DEFAULT_SESSIONS, type FixtureSession } from '../../fixtures/perspt-fixtures'

const dir = mkdtempSync(join(tmpdir(), 'vigil-tallies-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Awkward nodes: superseded, legacy running states, numeric plan ids, blank ids, escalation without a step. */
const EDGY: FixtureSession[] = [
  {
    id: 'edgy',
    status: 'RUNNING',
    createdAt: '2026-05-02 10:00:00',
    plan: ['p1', 'p2', 'p3', ' ', 'p4'],
    edges: [['p1', 'e-only']],
    committed: ['p1'],
    nodeStates: [
      { node: 'p2', state: 'Superseded' },
      { node: 'p3', state: 'coding' },
      { node: 'legacy', state: 'Verified' }
    ],
    started: ['p4', 'started-only'],
    escalated: ['p3']
  }
]

async function compare(path: string): Promise<number> {
  const db = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await db.connect()
  try {
    const probe = await probeSchema(con)
    const tallies = await readNodeTallies(con, probe)
    expect(tallies, 'the SQL path must run, not fall back').not.toBeNull()
    const facts = await readNodeFacts(con, probe, null)
    expect([...tallies!.keys()].sort()).toEqual([...facts.keys()].sort())
    for (const [sid, { nodes }] of facts) {
      for (const status of ['running', 'stale'] as const) {
        const expected = { committed: 0, failed: 0, escalated: 0, running: 0, queued: 0 }
        for (const node of nodes.known) {
          const state = classifyNode(nodes, node, status)
          if (state) expected[state]++
        }
        const t = tallies!.get(sid)!
        const ended = sessionEnded(status)
        expect({
          committed: t.committed,
          failed: t.failed + (ended ? t.started : 0),
          escalated: t.escalated,
          running: ended ? 0 : t.started,
          queued: t.queued
        }, `${sid} as ${status}`).toEqual(expected)
      }
    }
    return facts.size
  } finally {
    con.closeSync()
    db.closeSync()
  }
}

describe('node tallies in SQL agree with the JS classification', () => {
  it.each([4, 17, 21, 23] as const)('generation %i fixture', async (generation) => {
    const path = join(dir, `g${generation}.db`)
    await buildStore(path, { generation, sessions: [...DEFAULT_SESSIONS, ...EDGY] })
    expect(await compare(path)).toBeGreaterThan(0)
  })

  it('generation 4 without the later node_states columns', async () => {
    const path = join(dir, 'g4-base.db')
    await buildStore(path, { generation: 4, nodeStatesExtended: false })
    await compare(path)
  })

  it('the simulator store', async () => {
    const path = join(dir, 'sim.db')
    const sim = new PersptSimulator({ path, seed: 11 })
    await sim.start()
    for (let i = 0; i < 5; i++) await sim.tick()
    await sim.stop()
    expect(await compare(path)).toBeGreaterThanOrEqual(5)
  })
})
