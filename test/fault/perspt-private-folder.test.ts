// A real `vigil serve --db` whose private folder (TMPDIR, where it copies Perspt stores to read them
// without a lock) sits on a small tmpfs that is too small for the store, then grows; and one whose
// TMPDIR is read-only. Vigil stays up, says what is wrong with *its* folder (never "cannot read the
// store"), never writes the store, leaves no partial copy behind, and recovers by itself.
// Needs `mount` (root in a sandbox, as here and in CI); skipped elsewhere.
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildStore } from '../fixtures/perspt-fixtures'
import { canMountTmpfs, killAll, mountTmpfs, requireBuild, startVigil, unmountAll, waitUntil, type VigilProcess } from './vigil-process'

let dir: string

beforeAll(() => {
  requireBuild()
  dir = mkdtempSync(join(tmpdir(), 'vigil-fault-private-'))
})
afterEach(() => killAll())
afterAll(() => {
  unmountAll()
  rmSync(dir, { recursive: true, force: true })
})

interface SourceLite {
  kind: string
  state?: string
  problem?: { code: string; message: string; hint: string } | null
}

async function rpc<T>(v: VigilProcess, method: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`${v.url}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args }) })
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } }
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`)
  return body.value as T
}

const storeSource = async (v: VigilProcess) => (await rpc<SourceLite[]>(v, 'listSources')).find((s) => s.kind === 'store')

/** A checkpointed store of about 6 MB (incompressible prompts), bigger than the small private disk. */
async function bigStore(): Promise<string> {
  const db = join(mkdtempSync(join(dir, 'store-')), 'perspt.db')
  await buildStore(db, { generation: 23, sessions: [{ id: 'big', status: 'COMPLETED', createdAt: '2026-12-04 10:00:00' }] })
  const inst = await DuckDBInstance.create(db)
  const con = await inst.connect()
  for (let i = 0; i < 60; i++) {
    await con.run(
      "INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out) VALUES ('big', 'n1', 'm', $p, 'ok', 1, 1)",
      { p: randomBytes(75_000).toString('base64') }
    )
  }
  await con.run('CHECKPOINT')
  con.closeSync()
  inst.closeSync()
  return db
}

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

describe.skipIf(!canMountTmpfs)('the private folder of Perspt copies', () => {
  it('full: says the private disk is full (not that the store is unreadable), leaves no partial copy, recovers when space is back', async () => {
    const db = await bigStore()
    const before = digest(db)
    const small = join(dir, 'small-tmp')
    mountTmpfs(small, '2m')
    const v = await startVigil(join(dir, 'data-full'), { env: { TMPDIR: small }, args: ['--db', db] })
    await waitUntil(async () => (await storeSource(v))?.problem?.code === 'no-space', 'the no-space problem')
    const src = (await storeSource(v))!
    expect(src.state).toBe('error')
    expect(src.problem!.message).toMatch(/full/)
    expect(src.problem!.message).toContain(small)
    expect(src.problem!.hint).toMatch(/Free space/)
    // Vigil is up and answers; the half-made copy was removed (only empty folders may remain).
    const files = (spawnSync('find', [small, '-type', 'f'], { encoding: 'utf8' }).stdout ?? '').trim()
    expect(files).toBe('')

    // The user frees space: the next poll reads the store.
    expect(spawnSync('mount', ['-o', 'remount,size=64m', small]).status).toBe(0)
    await waitUntil(async () => (await storeSource(v))?.state === 'ready', 'the store read once space is back', 15_000)
    const src2 = (await storeSource(v))!
    const storeId = (await rpc<{ id: string; kind: string }[]>(v, 'listSources')).find((s) => s.kind === 'store')!.id
    const sessions = await rpc<{ sessionId: string; llmRequests: number }[]>(v, 'listSessions', storeId)
    expect(src2.problem ?? null).toBeNull()
    expect(sessions.find((s) => s.sessionId === 'big')?.llmRequests).toBe(60)
    expect(digest(db)).toBe(before)
  }, 90_000)

  it('read-only: Vigil starts, says its private folder is not writable, and never touches the store', async () => {
    const db = await bigStore()
    const before = digest(db)
    const ro = join(dir, 'ro-tmp')
    mkdirSync(ro, { recursive: true })
    mountTmpfs(ro, '8m', true)
    const v = await startVigil(join(dir, 'data-ro'), { env: { TMPDIR: ro }, args: ['--db', db] })
    await waitUntil(async () => (await storeSource(v))?.problem?.code === 'private-folder', 'the private-folder problem')
    const src = (await storeSource(v))!
    expect(src.problem!.message).toMatch(/not writable/)
    expect(src.problem!.hint).toMatch(/TMPDIR/)
    expect(readdirSync(ro)).toEqual([])
    expect(digest(db)).toBe(before)
  }, 90_000)
})
