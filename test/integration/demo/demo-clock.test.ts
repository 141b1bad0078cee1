// The demo's simulated Perspt agent never writes a time ahead of the real clock, however many rows a
// tick writes (it used to drift ~16 minutes ahead in 30 minutes).
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import { copyStore } from '../../fixtures/perspt-fixtures'

const root = mkdtempSync(join(tmpdir(), 'vigil-demo-clock-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const TABLES_WITH_TIME: Array<[string, string]> = [
  ['sessions', 'updated_at'],
  ['node_states', 'created_at'],
  ['energy_history', 'timestamp'],
  ['llm_requests', 'timestamp'],
  ['escalation_reports', 'created_at'],
  ['srbn_step_records', 'created_at']
]

async function newestTime(path: string): Promise<number> {
  const copy = join(mkdtempSync(join(root, 'q-')), 'copy.db')
  copyStore(path, copy)
  const instance = await DuckDBInstance.create(copy, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    const sql = TABLES_WITH_TIME.map(([t, c]) => `SELECT max(epoch_ms(${c}::TIMESTAMP)) AS m FROM ${t}`).join(' UNION ALL ')
    const rows = (await con.runAndReadAll(`SELECT max(m) AS m FROM (${sql})`)).getRowObjectsJS()
    return Number(rows[0]!.m)
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

describe('the demo Perspt agent’s clock', () => {
  it('stays at or behind real time over 600 ticks of one simulated second each', async () => {
    let now = Date.parse('2026-06-15T12:00:00Z')
    const path = join(mkdtempSync(join(root, 'case-')), 'perspt.db')
    const sim = new PersptSimulator({ path, tickMs: 0, seed: 7, now: () => now })
    await sim.start()
    try {
      expect(await newestTime(path)).toBeLessThanOrEqual(now)
      for (let i = 0; i < 600; i++) {
        now += 1000
        await sim.tick()
      }
      const newest = await newestTime(path)
      expect(newest).toBeLessThanOrEqual(now)
      // …and keeps up: the newest row is from the last few seconds, not stuck in the past.
      expect(now - newest).toBeLessThan(5_000)
    } finally {
      await sim.stop()
    }
  }, 120_000)
})
