import { describe, it, expect, afterAll, afterEach } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { DuckDBInstance } from '@duckdb/node-api'
import { PersptSimulator } from '../../../src/main/demo/perspt-simulator'
import { PersptStore } from '../../../src/main/perspt/perspt-store'
import { ALL_PERSPT_TABLES } from '../../../src/main/perspt/schema'
import { copyStore } from '../../fixtures/perspt-fixtures'

const root = mkdtempSync(join(tmpdir(), 'vigil-sim-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const running: { stop(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})

const execFileP = promisify(execFile)
const AGENT = fileURLToPath(new URL('../../fixtures/perspt-agent.mjs', import.meta.url))
const FIXED_NOW = Date.parse('2026-06-15T12:00:00Z')

async function startSim(opts: Partial<ConstructorParameters<typeof PersptSimulator>[0]> = {}) {
  const dir = mkdtempSync(join(root, 'case-'))
  const path = join(dir, 'perspt.db')
  const sim = new PersptSimulator({ path, tickMs: 0, seed: 11, ...opts })
  await sim.start()
  running.push(sim)
  return { sim, path, dir }
}

/** Reads a copy of the simulator's store (it holds the lock, so copying is the only way in). */
async function query<T = Record<string, unknown>>(path: string, sql: string): Promise<T[]> {
  const dir = mkdtempSync(join(root, 'q-'))
  const copy = join(dir, 'copy.db')
  copyStore(path, copy)
  const instance = await DuckDBInstance.create(copy, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as T[]
  } finally {
    con.closeSync()
    instance.closeSync()
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('PersptSimulator', () => {
  it('writes all 23 tables with data, six sessions, exactly one RUNNING', async () => {
    const { path } = await startSim()
    const counts = await query<{ t: string; n: number }>(
      path,
      ALL_PERSPT_TABLES.map((t) => `SELECT '${t}' AS t, count(*)::INTEGER AS n FROM ${t}`).join(' UNION ALL ')
    )
    expect(counts).toHaveLength(23)
    for (const { t, n } of counts) expect(n, t).toBeGreaterThan(0)
    const statuses = await query<{ status: string }>(path, 'SELECT status FROM sessions ORDER BY created_at')
    expect(statuses.map((s) => s.status)).toEqual(['COMPLETED', 'FAILED', 'PARTIAL', 'COMPLETED', 'ABORTED', 'RUNNING'])
  })

  it('holds the store like an agent: another process cannot open it, even read-only', async () => {
    const { path } = await startSim()
    // POSIX locks never conflict within one process, so ask a separate one.
    const { stdout } = await execFileP(process.execPath, [AGENT, 'probe', path])
    expect(stdout).toMatch(/Could not set lock on file/)
  })

  it("uses Perspt's encodings: '' optionals, hex-text BLOBs, JSON text, epoch-second BIGINTs, multi-byte text", async () => {
    const { path } = await startSim()
    const [row] = await query<Record<string, unknown>>(
      path,
      `SELECT
         (SELECT count(*) FROM llm_requests WHERE node_id = '')::INTEGER AS blank_nodes,
         (SELECT count(*) FROM llm_requests WHERE prompt LIKE '%naïve café 日本語 🚀%')::INTEGER AS multibyte,
         (SELECT count(*) FROM llm_requests WHERE prompt = '' AND response = '')::INTEGER AS usage_only,
         (SELECT bool_and(regexp_full_match(decode(merkle_hash), '[0-9a-f]{64}')) FROM node_states) AS hex_hashes,
         (SELECT count(*) FROM sessions WHERE octet_length(merkle_root) = 0)::INTEGER AS empty_roots,
         (SELECT bool_and(detected_toolchain = '') FROM sessions) AS toolchain_blank,
         (SELECT bool_and(json_valid(plan_json)) FROM plan_revisions) AS plans_json,
         (SELECT min(created_at) FROM correction_attempts) AS first_attempt,
         (SELECT bool_and(regexp_full_match(committed_at, '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ')) FROM node_states) AS committed_iso,
         (SELECT bool_and(sandbox_dir = '') FROM provisional_branches) AS sandbox_blank,
         (SELECT count(DISTINCT state)::INTEGER FROM provisional_branches) AS branch_states`
    )
    expect(row).toMatchObject({ hex_hashes: true, toolchain_blank: true, plans_json: true, committed_iso: true, sandbox_blank: true })
    expect(row?.blank_nodes).toBeGreaterThan(0)
    expect(row?.multibyte).toBeGreaterThan(0)
    expect(row?.usage_only).toBeGreaterThan(0)
    expect(row?.empty_roots).toBeGreaterThan(0)
    expect(row?.branch_states).toBe(3)
    // Epoch seconds, within the simulated days.
    expect(typeof row?.first_attempt).toBe('bigint')
    expect(Number(row?.first_attempt)).toBeGreaterThan(Date.parse('2020-01-01') / 1000)
  })

  it('is deterministic for a seed and clock', async () => {
    const dump = async (seed: number) => {
      const { sim, path } = await startSim({ seed, now: () => FIXED_NOW })
      for (let i = 0; i < 5; i++) await sim.tick()
      const rows = await query(path, "SELECT session_id, status, task, created_at FROM sessions ORDER BY created_at")
      const llm = await query(path, 'SELECT id, session_id, node_id, tokens_in, prompt, timestamp FROM llm_requests ORDER BY id')
      return JSON.stringify([rows, llm], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
    }
    const a = await dump(5)
    expect(await dump(5)).toBe(a)
    expect(await dump(6)).not.toBe(a)
  })

  it('advances the running session on every tick, as Vigil sees through snapshots', async () => {
    const { sim, path, dir } = await startSim({ rotate: false })
    const store = new PersptStore({ path, tmpRoot: join(dir, 'vigil') })
    running.push({ stop: () => store.close() })
    expect(await store.refresh()).toBe(true)
    expect(store.status()).toMatchObject({ state: 'ready', liveness: 'live', tableCount: 23 })
    const before = (await store.listSessions())[0]
    expect(before?.status).toBe('running')
    expect(before?.sessionId).toBe(sim.runningSessionId)
    for (let i = 0; i < 30; i++) await sim.tick()
    expect(await store.refresh()).toBe(true)
    const after = (await store.listSessions())[0]
    expect(after?.sessionId).toBe(before?.sessionId)
    expect(after?.status).toBe('running')
    expect(after?.llmRequests).toBeGreaterThan(before?.llmRequests ?? 0)
    expect(after?.nodes.committed).toBeGreaterThan(before?.nodes.committed ?? 0)
    expect(after?.budget?.stepsUsed).toBeGreaterThan(before?.budget?.stepsUsed ?? 0)
    const [steps] = await query<{ n: number }>(path, `SELECT count(*)::INTEGER AS n FROM srbn_step_records WHERE session_id = '${sim.runningSessionId}'`)
    expect(steps?.n).toBeGreaterThan(20)
  })

  it('finishes the running session and starts a new one when rotating', async () => {
    const { sim, path } = await startSim({ rotate: { afterTicks: 3 } })
    const first = sim.runningSessionId
    for (let i = 0; i < 4; i++) await sim.tick()
    expect(sim.runningSessionId).not.toBe(first)
    const rows = await query<{ session_id: string; status: string }>(path, 'SELECT session_id, status FROM sessions')
    expect(rows.find((r) => r.session_id === first)?.status).toBe('COMPLETED')
    expect(rows.filter((r) => r.status === 'RUNNING')).toHaveLength(1)
    expect(rows).toHaveLength(7)
  })

  it('ticks on its own timer, and stop() releases the file', async () => {
    const { sim, path } = await startSim({ tickMs: 20 })
    const count = async () => (await query<{ n: number }>(path, 'SELECT count(*)::INTEGER AS n FROM srbn_step_records'))[0]?.n ?? 0
    const before = await count()
    await new Promise((r) => setTimeout(r, 300))
    expect(await count()).toBeGreaterThan(before)
    await sim.stop()
    const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
    instance.closeSync()
    expect(sim.lastError).toBeNull()
  })

  it('replaces its own previous store but refuses to overwrite anything else', async () => {
    const { sim, path, dir } = await startSim()
    await sim.stop()
    const again = new PersptSimulator({ path, tickMs: 0, seed: 2 })
    await again.start()
    running.push(again)
    await again.stop()
    const foreign = join(dir, 'user.db')
    writeFileSync(foreign, 'precious')
    await expect(new PersptSimulator({ path: foreign, tickMs: 0 }).start()).rejects.toThrow(/Refusing to replace/)
  })
})
