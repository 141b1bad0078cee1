// Pending review gates on a data folder that fills up, and on one that is read-only, with the real
// `vigil serve`: gates keep working in memory, the problem is visible, and once space is back every
// gate (also those raised while the disk was full) is on disk again and survives kill -9.
// Needs `mount` (root in a sandbox, as here and in CI); elsewhere skipped (test/unit/reviews/gate-journal.test.ts
// covers an unwritable folder without it).
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { canMountTmpfs, killAll, mountTmpfs, requireBuild, startVigil, stopWith, unmountAll, type VigilProcess } from './vigil-process'

let dir: string

beforeAll(() => {
  requireBuild()
  dir = mkdtempSync(join(tmpdir(), 'vigil-fault-gates-disk-'))
})
afterEach(() => killAll())
afterAll(() => {
  unmountAll()
  rmSync(dir, { recursive: true, force: true })
})

type Vigil = VigilProcess
const kill9 = async (v: Vigil) => void (await stopWith(v, 'SIGKILL'))

async function call(v: Vigil, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${v.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

/** Writes zeros into `path` until the file system is full. */
function fill(path: string): void {
  const fd = openSync(path, 'w')
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size)
      try {
        for (;;) writeSync(fd, chunk)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      }
    }
  } finally {
    closeSync(fd)
  }
}

const gate = (name: string, size = 10) => ({ taskDescription: name, taskOutput: 'o'.repeat(size), timeoutMs: 0, onTimeout: 'CONTINUE' })
type Persistence = { durable: boolean; problem: string | null }

describe.skipIf(!canMountTmpfs)('pending gates on a data folder that fills up or is read-only', () => {
  it('a full disk: gates keep working in memory and say so; once space is back all are on disk and survive kill -9', async () => {
    const disk = join(dir, 'small')
    mountTmpfs(disk, '24m')
    const data = join(disk, 'data')
    const first = await startVigil(data)
    expect((await call(first, 'POST', '/api/reviews', gate('before'))).body.persisted).toBe(true)

    const filler = join(disk, 'filler')
    fill(filler)
    // The recorder may free a little (a WAL checkpoint): fill that too.
    await new Promise((r) => setTimeout(r, 500))
    fill(`${filler}-2`)
    const during = await call(first, 'POST', '/api/reviews', gate('while full', 2 * 1024 * 1024))
    expect(during).toMatchObject({ status: 201, body: { persisted: false } })
    const problem = (await call(first, 'GET', '/api/reviews')).body.persistence as Persistence
    expect(problem).toMatchObject({ durable: false, problem: expect.stringMatching(/ENOSPC|no space/i) })
    expect((await call(first, 'GET', '/api/status')).body).toMatchObject({ reviews: { persistence: { durable: false } } })
    // It still works: it can be waited on and decided.
    const decided = await call(first, 'POST', '/api/reviews', gate('decided while full'))
    expect(decided.status).toBe(201)
    expect((await call(first, 'POST', `/api/reviews/${String(decided.body.reviewId)}`, { decision: 'CONTINUE' })).status).toBe(200)
    expect(first.output().match(/pending review gates are kept in memory only/g)).toHaveLength(1)

    rmSync(filler)
    rmSync(`${filler}-2`)
    const after = await call(first, 'POST', '/api/reviews', gate('after'))
    expect(after.body.persisted).toBe(true)
    expect((await call(first, 'GET', '/api/reviews')).body.persistence).toMatchObject({ durable: true, problem: null })
    expect(first.output()).toMatch(/pending review gates are saved to .* again/)

    await kill9(first)
    const second = await startVigil(data)
    const listed = (await call(second, 'GET', '/api/reviews')).body.reviews as { taskDescription: string }[]
    expect(listed.map((g) => g.taskDescription).sort()).toEqual(['after', 'before', 'while full'])
  }, 60_000)

  it('a read-only data folder: Vigil runs, gates work in memory, and the problem is shown', async () => {
    const ro = join(dir, 'readonly')
    mountTmpfs(ro, '4m', true)
    const v = await startVigil(join(ro, 'data'))
    const created = await call(v, 'POST', '/api/reviews', gate('in memory'))
    expect(created).toMatchObject({ status: 201, body: { persisted: false } })
    const listed = await call(v, 'GET', '/api/reviews')
    expect(listed.body).toMatchObject({ total: 1, persistence: { durable: false, problem: expect.stringMatching(/memory only/) } })
    expect((await call(v, 'GET', '/api/status')).body).toMatchObject({ reviews: { pending: 1, persistence: { durable: false } } })
    expect((await call(v, 'POST', `/api/reviews/${String(created.body.reviewId)}`, { decision: 'EXIT_EARLY' })).status).toBe(200)
    expect(v.proc.exitCode).toBeNull()
  }, 30_000)
})
