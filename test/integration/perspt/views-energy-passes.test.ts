// Energy statistics and the flat table of passes come from one scan of the session's rows; the SQL
// aggregate they replaced is kept for sessions over MAX_PASS_ROWS. Both must give the same numbers.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { schemaStatements } from '../../../src/main/perspt/schema'
import { probeSchema } from '../../../src/main/perspt/store-reader'
import type { SchemaProbe } from '../../../src/main/perspt/store-reader'
import { readEnergy } from '../../../src/main/perspt/views/energy'
import { MAX_PASS_ROWS, readEnergyPasses, readEnergyStats, statsBySql } from '../../../src/main/perspt/views/energy-passes'
import { readSessionNodes } from '../../../src/main/perspt/views/nodes-table'

const dir = mkdtempSync(join(tmpdir(), 'vigil-passes-'))
let instance: DuckDBInstance
let con: DuckDBConnection
let probe: SchemaProbe

// Node ids a driver could confuse ('\ufeffn1' reads as 'n1' in JS), blank ones, and every kind of value.
const IDS = ['n1', '\ufeffn1', '', ' ', '\u3000', 'n3', '\t', 'n2', '\ufeff', 'é😀']
const VALUES = ['0.1', "'NaN'::REAL", "'Infinity'::REAL", "'-Infinity'::REAL", 'NULL', '-0.0', '0.0', '0.2', '0.1', '3e38']

beforeAll(async () => {
  instance = await DuckDBInstance.create(join(dir, 'store.db'))
  con = await instance.connect()
  for (const stmt of schemaStatements(23)) await con.run(stmt)
  for (const sid of ['mixed', 'big', 'plain', 'order', 'inf']) {
    await con.run(`INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, created_at, updated_at, status)
      VALUES ('${sid}', 't', '/w', ''::BLOB, '', TIMESTAMP '2026-06-15 09:00:00', TIMESTAMP '2026-06-15 09:00:00', 'FAILED')`)
  }
  for (let i = 0; i < 60; i++) {
    const v = VALUES[(i * 3) % VALUES.length]
    const w = VALUES[(i * 5 + 1) % VALUES.length]
    // Some passes share a time, some have none: the order falls back to the id.
    const ts = i % 9 === 0 ? 'NULL' : `TIMESTAMP '2026-06-15 09:00:00' + to_seconds(${i % 13})`
    await con.run(
      `INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total) VALUES ($1, 'mixed', ${ts}, ${v}, ${w}, 0, 0, ${v}, ${w})`,
      [IDS[(i * 7) % IDS.length]!]
    )
  }
  await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
    SELECT 'n' || (i % 37), 'big', TIMESTAMP '2026-06-15 09:00:00' + to_milliseconds(i), (i % 101) / 7.0, 0.5, 0, 0, 0, (i % 89) / 3.0
    FROM range(${MAX_PASS_ROWS + 25}) r(i)`)
  await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
    SELECT 'p' || (i % 5), 'plain', TIMESTAMP '2026-06-15 09:00:00' + to_seconds(i), random(), random(), random(), random(), random(), random()
    FROM range(500) r(i)`)
  // The nodes table lists the nodes node_states knows; two passes of p3 share the newest time (the id decides).
  await con.run(`INSERT INTO node_states (node_id, session_id, state, v_total, merkle_hash, attempt_count, created_at)
    SELECT 'p' || i, 'plain', 'Completed', 0.05, ''::BLOB, 1, TIMESTAMP '2026-06-15 10:00:00' FROM range(5) r(i)`)
  await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
    VALUES ('p3', 'plain', TIMESTAMP '2026-06-15 09:00:00' + to_seconds(499), 0, 0, 0, 0, 0, 0.75),
           ('p3', 'plain', TIMESTAMP '2026-06-15 09:00:00' + to_seconds(499), 0, 0, 0, 0, 0, 0.5)`)
  // Passes written out of time order, times a microsecond apart (one millisecond holds several), some
  // sharing a time (the id decides); and one session with an infinite time (DuckDB sorts that one).
  await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
    SELECT 'o' || (i % 4), 'order', TIMESTAMP '2026-06-15 09:00:00' + to_microseconds((i * 37) % 23), 0, 0, 0, 0, 0, i / 100.0
    FROM range(60) r(i)`)
  await con.run(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total)
    VALUES ('q', 'inf', TIMESTAMP 'infinity', 0, 0, 0, 0, 0, 1), ('q', 'inf', TIMESTAMP '2026-06-15 09:00:00', 0, 0, 0, 0, 0, 2),
           ('q', 'inf', TIMESTAMP '-infinity', 0, 0, 0, 0, 0, 3)`)
  probe = await probeSchema(con)
})

afterAll(() => {
  con?.closeSync()
  instance?.closeSync()
  rmSync(dir, { recursive: true, force: true })
})

describe('energy statistics from one scan', () => {
  it('equal the SQL aggregate, NaN/±inf/NULL/-0, ties and byte-order-mark node ids included', async () => {
    for (const sid of ['mixed', 'plain', 'none', 'big']) {
      const fromRows = await readEnergyStats(con, probe, sid)
      expect(fromRows, sid).toEqual(await statsBySql(con, probe, sid))
    }
    const mixed = await readEnergyStats(con, probe, 'mixed')
    // '\ufeffn1' and 'n1', '\ufeff' and '' are four node ids, as count(DISTINCT node_id) says.
    const [{ n }] = (await con.runAndReadAll(`SELECT count(DISTINCT node_id) AS n FROM energy_history WHERE session_id = 'mixed'`)).getRowObjectsJS() as [{ n: bigint }]
    expect(mixed.nodes).toBe(Number(n))
    expect(mixed.nodes).toBe(IDS.length)
    expect(mixed.components.vSyn.nonFinite).toBeGreaterThan(0)
    expect(mixed.components.vSyn.missing).toBeGreaterThan(0)
  })

  it('a session over MAX_PASS_ROWS lists the first passes and counts them all', async () => {
    const p = await readEnergyPasses(con, probe, 'big')
    expect(p.passes).toHaveLength(MAX_PASS_ROWS)
    expect(p.total).toBe(MAX_PASS_ROWS + 25)
    expect(p.stats).toEqual(await statsBySql(con, probe, 'big'))
    expect(await readEnergyStats(con, probe, 'big')).toEqual(p.stats)
  })

  it("the nodes table's pass counts and latest V_total equal the window functions over the store", async () => {
    const view = await readSessionNodes(con, probe, 'plain', { status: 'failed' })
    const truth = (
      await con.runAndReadAll(
        `SELECT node_id AS nid, count(*) OVER (PARTITION BY node_id) AS n, v_total AS v FROM energy_history WHERE session_id = 'plain'
         QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY TRY_CAST(timestamp AS TIMESTAMP) DESC NULLS LAST, id DESC) = 1 ORDER BY nid`
      )
    ).getRowObjectsJS()
    expect(truth).toHaveLength(5)
    const shown = [...view.nodes].sort((a, b) => a.nodeId.localeCompare(b.nodeId)).map((n) => [n.nodeId, n.passes, n.lastPassEnergy])
    expect(shown).toEqual(truth.map((t) => [t.nid, Number(t.n), Number((t.v as number).toPrecision(7))]))
    expect(view.nodes.find((n) => n.nodeId === 'p3')!.lastPassEnergy).toBe(0.5)
  })

  it('pass numbers are row_number() per stored node id in the table order', async () => {
    const p = await readEnergyPasses(con, probe, 'mixed')
    const truth = (
      await con.runAndReadAll(
        `SELECT id, row_number() OVER (PARTITION BY node_id ORDER BY TRY_CAST(timestamp AS TIMESTAMP) ASC NULLS FIRST, id ASC) AS pass
         FROM energy_history WHERE session_id = 'mixed' ORDER BY TRY_CAST(timestamp AS TIMESTAMP) ASC NULLS FIRST, id ASC`
      )
    ).getRowObjectsJS()
    expect(p.passes.map((x) => [x.id, x.pass])).toEqual(truth.map((t) => [Number(t.id), Number(t.pass)]))
    expect(p.total).toBe(60)
  })

  it('passes and energy series are in the store\'s time order (to the microsecond, then id), sorted here or by DuckDB', async () => {
    for (const sid of ['order', 'plain', 'inf', 'mixed']) {
      const truth = (
        await con.runAndReadAll(
          `SELECT id, node_id FROM energy_history WHERE session_id = $1 ORDER BY TRY_CAST(timestamp AS TIMESTAMP) ASC NULLS FIRST, id ASC`,
          [sid]
        )
      ).getRowObjectsJS()
      const passes = await readEnergyPasses(con, probe, sid)
      expect(passes.passes.map((x) => x.id), sid).toEqual(truth.map((t) => Number(t.id)))
      // (The energy view folds blank node ids, which 'mixed' has, into one; its order is checked on the others.)
      if (sid === 'mixed') continue
      const energy = await readEnergy(con, probe, sid)
      for (const [node, points] of Object.entries(energy.series)) {
        const ids = truth.filter((t) => t.node_id === node).map((t) => Number(t.id))
        expect(points.map((p) => p.id), `${sid} ${node}`).toEqual(ids)
      }
    }
    // The scrambled session really is out of order as written, and its times share milliseconds.
    const written = (await readEnergyPasses(con, probe, 'order')).passes.map((x) => x.id)
    expect(written).not.toEqual([...written].sort((a, b) => a - b))
  })
})
