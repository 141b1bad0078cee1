import { describe, it, expect, afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import {
  ALL_PERSPT_TABLES,
  SCHEMA_GENERATIONS,
  TABLES_BY_GENERATION,
  indexNames,
  schemaStatements,
  sequenceNames
} from '../../../src/main/perspt/schema'

const dir = mkdtempSync(join(tmpdir(), 'vigil-schema-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function create(file: string, statements: string[]) {
  const instance = await DuckDBInstance.create(join(dir, file))
  const con = await instance.connect()
  for (const sql of statements) await con.run(sql)
  return { instance, con }
}

describe('schema', () => {
  it('has 4, 17, 21 and 23 tables, 19 sequences and 31 indexes at the newest generation', () => {
    expect(SCHEMA_GENERATIONS.map((g) => TABLES_BY_GENERATION[g].length)).toEqual([4, 17, 21, 23])
    expect(ALL_PERSPT_TABLES).toHaveLength(23)
    expect(sequenceNames(23)).toHaveLength(19)
    expect(indexNames(23)).toHaveLength(31)
    expect(sequenceNames(4)).toEqual(['seq_node_states_id', 'seq_energy_history_id', 'seq_llm_requests_id'])
  })

  for (const gen of SCHEMA_GENERATIONS) {
    it(`creates generation ${gen} in DuckDB, idempotently`, async () => {
      const statements = schemaStatements(gen)
      const { instance, con } = await create(`gen${gen}.db`, [...statements, ...statements])
      const tables = (await con.runAndReadAll("SELECT table_name FROM duckdb_tables() ORDER BY table_name"))
        .getRowObjectsJS()
        .map((r) => r.table_name)
      expect(tables).toEqual([...TABLES_BY_GENERATION[gen]].sort())
      const seqs = (await con.runAndReadAll('SELECT count(*)::INTEGER AS n FROM duckdb_sequences()')).getRowObjectsJS()
      expect(seqs[0]?.n).toBe(sequenceNames(gen).length)
      const idx = (await con.runAndReadAll("SELECT index_name FROM duckdb_indexes() ORDER BY index_name"))
        .getRowObjectsJS()
        .map((r) => r.index_name)
      expect(idx).toEqual([...indexNames(gen)].sort())
      const cols = (
        await con.runAndReadAll(
          "SELECT column_name FROM duckdb_columns() WHERE table_name = 'node_states' ORDER BY column_index"
        )
      )
        .getRowObjectsJS()
        .map((r) => r.column_name)
      expect(cols.slice(0, 8)).toEqual([
        'id', 'node_id', 'session_id', 'state', 'v_total', 'merkle_hash', 'attempt_count', 'created_at'
      ])
      // gen 4 has only the base columns; later generations append the 7 ALTER columns at the end.
      expect(cols.length).toBe(gen === 4 ? 8 : 15)
      con.closeSync()
      instance.closeSync()
    })
  }

  it('can leave node_states unextended, or extend generation 4', () => {
    expect(schemaStatements(23, { nodeStatesExtended: false }).some((s) => s.startsWith('ALTER'))).toBe(false)
    expect(schemaStatements(4, { nodeStatesExtended: true }).filter((s) => s.startsWith('ALTER'))).toHaveLength(7)
  })

  it('lets a writer update a session that has child rows, and upsert budgets, as Perspt does', async () => {
    const { instance, con } = await create('writes.db', schemaStatements(23))
    await con.run("INSERT INTO sessions (session_id, task, working_dir, merkle_root, detected_toolchain, status) VALUES ('s1', 't', '/w', ''::BLOB, '', 'RUNNING')")
    await con.run("INSERT INTO node_states (node_id, session_id, state, merkle_hash) VALUES ('n1', 's1', 'Completed', 'abcd'::BLOB)")
    await con.run("INSERT INTO budget_envelopes (session_id, steps_used) VALUES ('s1', 1)")
    await con.run("INSERT INTO budget_envelopes (session_id, steps_used) VALUES ('s1', 2) ON CONFLICT (session_id) DO UPDATE SET steps_used = excluded.steps_used")
    await con.run("UPDATE sessions SET status = 'COMPLETED', merkle_root = 'ff00'::BLOB, updated_at = CURRENT_TIMESTAMP WHERE session_id = 's1'")
    const row = (await con.runAndReadAll("SELECT s.status, b.steps_used, (SELECT id FROM node_states) AS nid FROM sessions s JOIN budget_envelopes b USING (session_id)")).getRowObjectsJS()
    expect(row).toEqual([{ status: 'COMPLETED', steps_used: 2, nid: 1 }])
    con.closeSync()
    instance.closeSync()
  })
})
