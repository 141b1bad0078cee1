// Fault injection on the real `vigil serve` (built CLI, own process, real signals): pending review gates
// across kill -9 and SIGTERM, and the pending-gate flood that used to crash Vigil (heap capped at 1 GiB).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { formatInstant, serializeClientMessage } from '../../src/shared/protocol/agentensemble'
import { connect, waitFor } from '../integration/live/helpers'
import { killAll, requireBuild, startVigil, stopWith, type VigilProcess } from './vigil-process'

let dir: string

beforeAll(() => {
  requireBuild()
  dir = mkdtempSync(join(tmpdir(), 'vigil-fault-gates-'))
})
afterEach(() => killAll())
afterAll(() => rmSync(dir, { recursive: true, force: true }))

type Vigil = VigilProcess

async function call(v: Vigil, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${v.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

async function poll(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function envelope(producerId: string, sequence: number, message: unknown): string {
  return JSON.stringify({ type: 'event', producer: { producerId, serviceName: 'svc' }, sequence, receivedAt: formatInstant(Date.now()), message })
}

const GATE = { taskDescription: 'Deploy?', taskOutput: 'Changelog ✓', onTimeout: 'EXIT_EARLY' }
const REQUEST = { type: 'review_requested', reviewId: 'r-hub-1', taskDescription: 'Draft', taskOutput: 'Output', timing: 'AFTER_EXECUTION', timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' }

type Wire = { reviewId: string; createdAt: string; expiresAt: string | null; status: string; connected: boolean }

describe.each(['SIGKILL', 'SIGTERM'] as const)('pending gates across %s of vigil serve', (signal) => {
  it('come back pending with the same deadlines; a waiter waits again; an expired one is applied at start; the producer gets its decision', async () => {
    const data = mkdtempSync(join(dir, `data-${signal}-`))
    const first = await startVigil(data)
    const long = await call(first, 'POST', '/api/reviews', { ...GATE, timeoutMs: 600_000 })
    const forever = await call(first, 'POST', '/api/reviews', { ...GATE, timeoutMs: 0 })
    const short = await call(first, 'POST', '/api/reviews', { ...GATE, timeoutMs: 1500, onTimeout: 'CONTINUE' })
    for (const r of [long, forever, short]) expect(r).toMatchObject({ status: 201, body: { persisted: true } })
    const producer = connect(`${first.url.replace('http', 'ws')}/ingress`)
    await producer.opened
    producer.ws.send(envelope('svc-a-1', 1, REQUEST))
    await poll(async () => (await call(first, 'GET', '/api/reviews')).body.total === 4, 'the hub gate')
    // The hub gate came in over a WebSocket (no acknowledgement): give its group commit a moment.
    await new Promise((r) => setTimeout(r, 100))
    const before = ((await call(first, 'GET', '/api/reviews')).body.reviews as Wire[]).map((g) => [g.reviewId, g.createdAt, g.expiresAt])
    const waiter = fetch(`${first.url}/api/reviews/${String(long.body.reviewId)}?wait=true`).then(
      () => 'answered',
      () => 'dropped'
    )
    await new Promise((r) => setTimeout(r, 50))

    await stopWith(first, signal)
    producer.ws.close()
    expect(await waiter).toBe('dropped')
    // The short gate's deadline passes while Vigil is down.
    await new Promise((r) => setTimeout(r, 1600))

    const second = await startVigil(data)
    const listed = await call(second, 'GET', '/api/reviews')
    const after = (listed.body.reviews as Wire[]).map((g) => [g.reviewId, g.createdAt, g.expiresAt])
    expect(after).toEqual(before.filter(([id]) => id !== short.body.reviewId))
    expect(listed.body).toMatchObject({ persistence: { durable: true, restored: 4, appliedAtRestart: 1 } })
    expect((listed.body.reviews as Wire[]).find((g) => g.reviewId === 'r-hub-1')).toMatchObject({ status: 'PENDING', connected: false })

    // Applied at start with the advertised action, and recorded so.
    const expired = await call(second, 'GET', `/api/reviews/${String(short.body.reviewId)}?wait=true`)
    expect(expired.body).toMatchObject({ status: 'TIMED_OUT', outcome: { decision: 'CONTINUE', surface: 'timeout', note: expect.stringMatching(/^Applied at restart/) } })

    // The caller whose wait dropped waits again on the same id and gets the decision.
    const again = call(second, 'GET', `/api/reviews/${String(long.body.reviewId)}?wait=true`)
    await new Promise((r) => setTimeout(r, 50))
    // The body's decidedBy ("ana") is ignored: the server records who it saw.
    expect((await call(second, 'POST', `/api/reviews/${String(long.body.reviewId)}`, { decision: 'APPROVE', decidedBy: 'ana' })).status).toBe(200)
    expect(await again).toMatchObject({ status: 200, body: { status: 'DECIDED', outcome: { decision: 'CONTINUE', decidedBy: 'local (no password)' } } })

    // The producer reconnects (same id, new socket) and receives the decision for its gate.
    const back = connect(`${second.url.replace('http', 'ws')}/ingress`)
    await back.opened
    back.ws.send(envelope('svc-a-1', 2, { type: 'heartbeat' }))
    await poll(async () => (await call(second, 'GET', '/api/reviews/r-hub-1')).body.connected === true, 'the producer back')
    const hubDecision = await call(second, 'POST', '/api/reviews/r-hub-1', { decision: 'EXIT_EARLY' })
    expect(hubDecision.status).toBe(200)
    await waitFor(() => back.frames.length === 1, 'the decision at the producer', 5000)
    expect(JSON.parse(back.frames[0]!)).toEqual({ reviewId: 'r-hub-1', decisionJson: serializeClientMessage({ type: 'review_decision', reviewId: 'r-hub-1', decision: 'EXIT_EARLY' }) })
    back.ws.close()

    // Once more: only the gate that waits forever is still pending.
    await stopWith(second, signal)
    const third = await startVigil(data)
    const left = (await call(third, 'GET', '/api/reviews')).body.reviews as Wire[]
    expect(left.map((g) => [g.reviewId, g.expiresAt])).toEqual([[String(forever.body.reviewId), null]])
    await stopWith(third, 'SIGTERM')
  }, 60_000)
})

describe('the pending-gate flood that used to crash Vigil', () => {
  it('many POST /api/reviews with 4M-character texts get 413/429 naming the limit; Vigil (heap capped at 1 GiB) stays up', async () => {
    const data = mkdtempSync(join(dir, 'data-flood-'))
    const v = await startVigil(data)
    const text = 'x'.repeat(4 * 1024 * 1024)
    const body = JSON.stringify({ taskDescription: 'flood', taskOutput: text, timeoutMs: 0, onTimeout: 'CONTINUE' })
    const statuses: number[] = []
    const limits = new Set<string>()
    let next = 0
    const worker = async () => {
      while (next < 120) {
        next++
        const res = await fetch(`${v.url}/api/reviews`, { method: 'POST', body })
        statuses.push(res.status)
        const json = (await res.json()) as { error?: { limit?: { name: string } } }
        if (json.error?.limit) limits.add(json.error.limit.name)
      }
    }
    await Promise.all(Array.from({ length: 6 }, worker))
    expect(statuses).toHaveLength(120)
    // 16 MiB of pending text per source: three such gates fit, every later one is refused clearly.
    expect(statuses.filter((s) => s === 201)).toHaveLength(3)
    expect(statuses.filter((s) => s !== 201).every((s) => s === 413)).toBe(true)
    expect([...limits]).toEqual(['maxBytesPerSource'])
    expect(v.proc.exitCode).toBeNull()
    expect((await call(v, 'GET', '/api/status')).status).toBe(200)
    expect((await call(v, 'GET', '/api/reviews')).body).toMatchObject({ total: 3, usage: { gates: 3 } })
    // Count refusals come before the body is read: past 200 small gates, 429.
    const small = await Promise.all(Array.from({ length: 200 }, () => call(v, 'POST', '/api/reviews', { ...GATE, timeoutMs: 0 })))
    expect(small.filter((r) => r.status === 201)).toHaveLength(197)
    expect(small.filter((r) => r.status === 429).map((r) => (r.body.error as { limit: { name: string } }).limit.name)).toEqual(['maxGatesPerSource', 'maxGatesPerSource', 'maxGatesPerSource'])
    expect(v.proc.exitCode).toBeNull()
    await stopWith(v, 'SIGTERM')
    expect(v.proc.exitCode).toBe(0)
  }, 120_000)

  it('96 near-8 MiB bodies at once are read within the in-flight budget: 413/429, never a crash', async () => {
    const data = mkdtempSync(join(dir, 'data-parallel-'))
    const v = await startVigil(data)
    const body = JSON.stringify({ taskDescription: 'd'.repeat(4 * 1024 * 1024 - 1024), taskOutput: 'o'.repeat(4 * 1024 * 1024 - 1024), timeoutMs: 0, onTimeout: 'CONTINUE' })
    expect(Buffer.byteLength(body)).toBeLessThan(8 * 1024 * 1024)
    const results = await Promise.all(
      Array.from({ length: 96 }, async () => {
        try {
          const res = await fetch(`${v.url}/api/reviews`, { method: 'POST', body })
          const json = (await res.json()) as { error?: { limit?: { name: string } } }
          return `${res.status} ${json.error?.limit?.name ?? ''}`.trim()
        } catch {
          return 'closed early' // refused before the client finished sending: the connection is closed
        }
      })
    )
    const kinds = new Set(results)
    for (const kind of kinds) expect(['201', '413 maxBytesPerSource', '429 maxInFlightBodyBytes', 'closed early']).toContain(kind)
    expect(results.filter((r) => r === '201')).toHaveLength(2)
    expect(v.proc.exitCode).toBeNull()
    expect((await call(v, 'GET', '/api/reviews')).body).toMatchObject({ total: 2 })
    await stopWith(v, 'SIGTERM')
    expect(v.proc.exitCode).toBe(0)
  }, 120_000)
})
