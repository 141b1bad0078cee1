// The two review API additions `vigil gate` relies on, against a real server on 127.0.0.1:0:
//  * `Idempotency-Key` on POST /api/reviews: a retried create answers the same gate and secret;
//  * DELETE /api/reviews/{id} with the gate's secret: its creator withdraws a pending gate.
// With a password set too, since a loopback agent that is not signed in must still withdraw its own gate
// and nothing else.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VigilService } from '../../../src/main/core/vigil-service'
import { createAuth } from '../../../src/main/server/auth/auth-gate'
import type { RunningServer } from '../../../src/main/server/vigil-server'
import { serveOnLoopback } from '../../support/loopback-vigil'
import { startReviewVigil } from './review-helpers'

const REVIEWER = 'reviewer-token-withdraw-41'
const GATE = { taskDescription: 'Push to main?', taskOutput: 'git push origin main', timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' }

interface V {
  base: string
  close(): Promise<void>
}

async function start(password: boolean): Promise<V> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-withdraw-'))
  const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(dir, 'tmp'), pollMs: 60_000 })
  const server: RunningServer = await serveOnLoopback(service, password ? { auth: createAuth({ password: 'pw-withdraw-9', reviewerToken: REVIEWER }) } : {})
  return {
    base: server.url,
    close: async () => {
      await server.close()
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

async function call(v: V, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${v.base}${path}`, { method, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> }
}

const reviewer = { authorization: `Bearer ${REVIEWER}` }

describe.each([
  ['no password', false],
  ['a password (the agent is not signed in)', true]
])('review API with %s', (_name, password) => {
  let v: V
  beforeAll(async () => {
    v = await start(password)
  })
  afterAll(() => v.close())

  const pendingIds = async () => ((await call(v, 'GET', '/api/reviews', undefined, reviewer)).body.reviews as Array<{ reviewId: string }>).map((g) => g.reviewId)

  it('Idempotency-Key: the same key and request answer the same gate and secret; one gate pending', async () => {
    const key = `key-${Date.now()}-abcdefghij`
    const body = { ...GATE, taskDescription: `Once only ${key}` }
    const first = await call(v, 'POST', '/api/reviews', body, { 'idempotency-key': key })
    const again = await call(v, 'POST', '/api/reviews', body, { 'idempotency-key': key })
    expect(first.status).toBe(201)
    expect(again.status).toBe(201)
    expect(again.body).toMatchObject({ reviewId: first.body.reviewId, gateSecret: first.body.gateSecret, status: 'PENDING', replayed: true })
    expect(first.body.replayed).toBeUndefined()
    expect((await pendingIds()).filter((id) => id === first.body.reviewId)).toHaveLength(1)
    // The replayed secret is a working one: it reads the gate.
    const own = await call(v, 'GET', `/api/reviews/${String(first.body.reviewId)}`, undefined, { authorization: `Gate ${String(again.body.gateSecret)}` })
    expect(own).toMatchObject({ status: 200, body: { reviewId: first.body.reviewId, status: 'PENDING' } })
    // The same key with another request is refused; a fresh key raises another gate.
    const other = await call(v, 'POST', '/api/reviews', { ...body, taskOutput: 'something else' }, { 'idempotency-key': key })
    expect(other.status).toBe(409)
    expect(String((other.body.error as { message: string }).message)).toMatch(/already used for a different gate/)
    const fresh = await call(v, 'POST', '/api/reviews', body, { 'idempotency-key': `${key}-2` })
    expect(fresh.status).toBe(201)
    expect(fresh.body.reviewId).not.toBe(first.body.reviewId)
  })

  it.each(['short', 'has spaces in it, sixteen+', 'x'.repeat(201)])('a malformed Idempotency-Key (%s) is a 400, not ignored', async (key) => {
    const before = (await pendingIds()).length
    const res = await call(v, 'POST', '/api/reviews', GATE, { 'idempotency-key': key })
    expect(res.status).toBe(400)
    expect((await pendingIds()).length).toBe(before)
  })

  it("DELETE with the gate's secret withdraws it: cancelled with a note, gone from the inbox, a later decision is a conflict", async () => {
    const created = await call(v, 'POST', '/api/reviews', { ...GATE, taskDescription: 'Withdraw me' })
    const id = String(created.body.reviewId)
    const res = await call(v, 'DELETE', `/api/reviews/${id}`, undefined, { authorization: `Gate ${String(created.body.gateSecret)}` })
    expect(res).toMatchObject({ status: 200, body: { reviewId: id, status: 'CANCELLED', outcome: { decision: null, surface: 'agent' } } })
    expect(await pendingIds()).not.toContain(id)
    const seen = await call(v, 'GET', `/api/reviews/${id}`, undefined, reviewer)
    expect(seen.body).toMatchObject({ status: 'CANCELLED', outcome: { note: expect.stringMatching(/Withdrawn by the agent that raised it/) } })
    expect((await call(v, 'POST', `/api/reviews/${id}`, { decision: 'CONTINUE' }, reviewer)).status).toBe(409)
    // Twice: the second is a conflict naming how it ended.
    const twice = await call(v, 'DELETE', `/api/reviews/${id}`, undefined, { authorization: `Gate ${String(created.body.gateSecret)}` })
    expect(twice.status).toBe(409)
  })

  it("refuses to withdraw without the gate's own secret (wrong secret, another gate's secret, a reviewer without it)", async () => {
    const a = await call(v, 'POST', '/api/reviews', { ...GATE, taskDescription: 'Keep me A' })
    const b = await call(v, 'POST', '/api/reviews', { ...GATE, taskDescription: 'Keep me B' })
    const idA = String(a.body.reviewId)
    for (const headers of [{ authorization: 'Gate not-the-secret' }, { authorization: `Gate ${String(b.body.gateSecret)}` }, reviewer, {}]) {
      const res = await call(v, 'DELETE', `/api/reviews/${idA}`, undefined, headers)
      expect(res.status).toBe(401)
    }
    expect(await pendingIds()).toContain(idA)
  })
})

describe('Idempotency-Key across a restart of Vigil', () => {
  it('a retry whose first answer was lost when Vigil stopped finds the restored gate (same id and secret), not a second one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-idem-restart-'))
    try {
      const key = `restart-key-${Date.now()}-0123456789`
      const body = { ...GATE, taskDescription: 'Raised once across a restart' }
      const first = await startReviewVigil({ dataDir, record: true })
      const created = await callIn(first.base, 'POST', '/api/reviews', body, { 'idempotency-key': key })
      expect(created.status).toBe(201)
      // A second gate whose retry comes only after a reviewer decided it (after the restart).
      const decidedBody = { ...GATE, taskDescription: 'Decided before the retry' }
      const decidedFirst = await callIn(first.base, 'POST', '/api/reviews', decidedBody, { 'idempotency-key': `${key}-decided` })
      await first.server.close()
      await first.service.close()

      const second = await startReviewVigil({ dataDir, record: true })
      try {
        const retried = await callIn(second.base, 'POST', '/api/reviews', body, { 'idempotency-key': key })
        expect(retried).toMatchObject({ status: 201, body: { reviewId: created.body.reviewId, gateSecret: created.body.gateSecret, replayed: true } })
        const pending = (await callIn(second.base, 'GET', '/api/reviews')).body.reviews as Array<{ reviewId: string; taskDescription: string }>
        expect(pending.filter((g) => g.taskDescription === body.taskDescription).map((g) => g.reviewId)).toEqual([created.body.reviewId])
        // The same key with another text is still refused after the restart.
        expect((await callIn(second.base, 'POST', '/api/reviews', { ...body, taskOutput: 'other' }, { 'idempotency-key': key })).status).toBe(409)
        // Decided after the restart, then retried: the same gate (its outcome), not a new pending one.
        const decidedId = String(decidedFirst.body.reviewId)
        expect((await callIn(second.base, 'POST', `/api/reviews/${decidedId}`, { decision: 'EXIT_EARLY' })).status).toBe(200)
        const late = await callIn(second.base, 'POST', '/api/reviews', decidedBody, { 'idempotency-key': `${key}-decided` })
        expect(late).toMatchObject({ status: 201, body: { reviewId: decidedId, status: 'DECIDED', replayed: true } })
        const own = await callIn(second.base, 'GET', `/api/reviews/${decidedId}?wait=true`, undefined, { authorization: `Gate ${String(late.body.gateSecret)}` })
        expect(own.body).toMatchObject({ status: 'DECIDED', outcome: { decision: 'EXIT_EARLY' } })
        const stillPending = (await callIn(second.base, 'GET', '/api/reviews')).body.reviews as Array<{ taskDescription: string }>
        expect(stillPending.filter((g) => g.taskDescription === decidedBody.taskDescription)).toEqual([])
      } finally {
        await second.close()
      }
      await first.close().catch(() => undefined)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

async function callIn(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { method, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> }
}
