// Who may raise, see and decide a review gate (SECURITY.md "Who may raise, see and decide a gate"), tried
// as an attacker would against real servers on 127.0.0.1:0 with real fetch: with a password set, a local
// process that is not signed in can still raise a gate but can neither list, read nor decide one (review
// API, /api/rpc, the push sockets); a login or the reviewer token can; the agent that raised a gate reads
// its own outcome with its gate secret, across a restart, and no other gate with it; who decided is the
// server's record, never the body's. Without a password, this machine is the reviewer, and the history
// says so.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { VigilService } from '../../src/main/core/vigil-service'
import { createAuth, type AuthOptions } from '../../src/main/server/auth/auth-gate'
import type { RunningServer } from '../../src/main/server/vigil-server'
import { serveOnLoopback } from '../support/loopback-vigil'
import type { ReviewGate } from '../../src/shared/model/reviews'
import { formatInstant } from '../../src/shared/protocol/agentensemble'
import { connect, waitFor, type TestClient } from '../integration/live/helpers'
import { openSocket } from '../integration/server/auth-support'

const PASSWORD = 'authority-pw-7d21'
const REVIEWER = 'reviewer-token-5e0b9a'
const INGRESS = 'ingress-token-91c4d2'
const GATE = { taskDescription: 'Deploy 2.4 to production?', taskOutput: 'Changelog: secret internal details', timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' }

interface V {
  service: VigilService
  server: RunningServer
  base: string
  port: number
  stop(): Promise<void>
}

const dirs: string[] = []
const started: V[] = []
const sockets: TestClient[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-authority-'))
  dirs.push(dir)
  return dir
}

async function vigil(auth: AuthOptions, dataDir?: string): Promise<V> {
  const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(tempDir(), 'tmp'), pollMs: 60_000 })
  if (dataDir) await service.startRecording(join(dataDir, 'recordings.duckdb'))
  const server = await serveOnLoopback(service, { auth: createAuth(auth) })
  let stopped = false
  const v: V = {
    service,
    server,
    base: server.url,
    port: server.port,
    async stop() {
      if (stopped) return
      stopped = true
      await server.close()
      await service.close()
    }
  }
  started.push(v)
  return v
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate()
})
afterAll(async () => {
  for (const v of started.splice(0)) await v.stop()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

interface Reply {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

async function http(v: V, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Reply> {
  const res = await fetch(`${v.base}${path}`, {
    method,
    headers: opts.body === undefined ? opts.headers : { 'content-type': 'application/json', ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: opts.signal
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers }
}

async function login(v: V): Promise<string> {
  const res = await fetch(`${v.base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) })
  expect(res.status).toBe(200)
  return res.headers.getSetCookie()[0]!.split(';')[0]!
}

const rpc = (v: V, method: string, args: unknown[], headers: Record<string, string> = {}) =>
  http(v, 'POST', `/api/rpc/${method}`, { body: { args }, headers })

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const gateAuth = (secret: string) => ({ authorization: `Gate ${secret}` })

async function raise(v: V, headers: Record<string, string> = {}): Promise<{ id: string; secret: string }> {
  const res = await http(v, 'POST', '/api/reviews', { body: GATE, headers })
  expect(res.status).toBe(201)
  return { id: String(res.body.reviewId), secret: String(res.body.gateSecret) }
}

async function historyOf(v: V, id: string): Promise<ReviewGate> {
  const page = await v.service.getReviewHistory(0, 100)
  const gate = page.rows.find((g) => g.id === id)
  if (!gate) throw new Error(`${id} is not in the history`)
  return gate
}

describe('with a password set, from loopback', () => {
  let v: V
  beforeAll(async () => {
    v = await vigil({ password: PASSWORD, reviewerToken: REVIEWER, ingressToken: INGRESS })
  })

  it('a local agent raises a gate with nothing to show, and gets a 32-byte gate secret once', async () => {
    const res = await http(v, 'POST', '/api/reviews', { body: GATE })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ status: 'PENDING', persisted: false })
    expect(String(res.body.gateSecret)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(String(res.body.gateSecret), 'base64url')).toHaveLength(32)
    // Shown once: no listing or gate view ever carries it.
    const cookie = await login(v)
    const listed = await http(v, 'GET', '/api/reviews', { headers: { cookie } })
    expect(JSON.stringify(listed.body)).not.toContain(String(res.body.gateSecret))
  })

  it('refuses an anonymous local caller to list, read, wait on or decide gates (401), with or without the ingress token', async () => {
    const { id } = await raise(v)
    for (const headers of [{}, bearer(INGRESS), bearer('nope'), { authorization: 'Gate not-the-secret' }]) {
      const label = JSON.stringify(headers)
      const list = await http(v, 'GET', '/api/reviews', { headers })
      expect(list.status, `list ${label}`).toBe(401)
      expect(JSON.stringify(list.body)).not.toContain('secret internal details')
      expect((await http(v, 'GET', `/api/reviews/${id}`, { headers })).status, `read ${label}`).toBe(401)
      expect((await http(v, 'GET', `/api/reviews/${id}?wait=true`, { headers })).status, `wait ${label}`).toBe(401)
      expect((await http(v, 'HEAD', `/api/reviews/${id}`, { headers })).status, `head ${label}`).toBe(401)
      const decide = await http(v, 'POST', `/api/reviews/${id}`, { body: { decision: 'CONTINUE' }, headers })
      expect(decide.status, `decide ${label}`).toBe(401)
      expect(decide.body).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
    }
    expect(v.service.reviews.pending().find((g) => g.id === id)?.status).toBe('pending')
  })

  it('refuses the same through /api/rpc and the push sockets', async () => {
    const { id } = await raise(v)
    for (const [method, args] of [
      ['listReviews', []],
      ['getReview', [id]],
      ['getReviewHistory', [0, 10]],
      ['decideReview', [id, 'CONTINUE', null, 'desktop-inbox']]
    ] as const) {
      expect((await rpc(v, method, [...args])).status, method).toBe(401)
    }
    const own = { origin: v.base }
    expect(await openSocket({ host: '127.0.0.1', port: v.port }, '/api/events', own)).toMatchObject({ kind: 'refused', status: 401 })
    expect(await openSocket({ host: '127.0.0.1', port: v.port }, '/ws', own)).toMatchObject({ kind: 'refused', status: 401 })
    expect(v.service.reviews.pending().find((g) => g.id === id)?.status).toBe('pending')
  })

  it('lets a login session list, read and decide; decidedBy is "signed-in browser", whatever the body says', async () => {
    const cookie = await login(v)
    const { id } = await raise(v)
    const list = await http(v, 'GET', '/api/reviews', { headers: { cookie } })
    expect(list.status).toBe(200)
    expect((list.body.reviews as { reviewId: string }[]).map((r) => r.reviewId)).toContain(id)
    expect((await http(v, 'GET', `/api/reviews/${id}`, { headers: { cookie } })).body).toMatchObject({ reviewId: id, taskOutput: GATE.taskOutput })
    const decided = await http(v, 'POST', `/api/reviews/${id}`, { body: { decision: 'CONTINUE', decidedBy: 'the CEO' }, headers: { cookie } })
    expect(decided.status).toBe(200)
    expect(decided.body.gate).toMatchObject({ outcome: { surface: 'api', decidedBy: 'signed-in browser' } })
    expect((await historyOf(v, id)).outcome).toMatchObject({ decision: 'CONTINUE', surface: 'api', decidedBy: 'signed-in browser' })
  })

  it('the browser inbox over /api/rpc: the session decides; the surface claimed by the client is not taken', async () => {
    const cookie = await login(v)
    const { id } = await raise(v)
    const listed = await rpc(v, 'listReviews', [], { cookie })
    expect(listed.status).toBe(200)
    const decided = await rpc(v, 'decideReview', [id, 'EXIT_EARLY', null, 'desktop-inbox'], { cookie })
    expect(decided.status).toBe(200)
    expect((await historyOf(v, id)).outcome).toMatchObject({ decision: 'EXIT_EARLY', surface: 'browser-inbox', decidedBy: 'signed-in browser' })
  })

  it('lets the reviewer token list, read and decide (decidedBy "reviewer token"), and nothing else', async () => {
    const { id } = await raise(v)
    expect((await http(v, 'GET', '/api/reviews', { headers: bearer(REVIEWER) })).status).toBe(200)
    expect((await http(v, 'GET', `/api/reviews/${id}`, { headers: bearer(REVIEWER) })).body).toMatchObject({ taskOutput: GATE.taskOutput })
    const decided = await http(v, 'POST', `/api/reviews/${id}`, { body: { decision: 'approve', decidedBy: 'mallory' }, headers: bearer(REVIEWER) })
    expect(decided.status).toBe(200)
    expect((await historyOf(v, id)).outcome).toMatchObject({ decision: 'CONTINUE', surface: 'api', decidedBy: 'reviewer token' })
    // Not the interface: RPC, pages' sockets.
    expect((await rpc(v, 'listReviews', [], bearer(REVIEWER))).status).toBe(401)
    expect(await openSocket({ host: '127.0.0.1', port: v.port }, '/api/events', { origin: v.base, ...bearer(REVIEWER) })).toMatchObject({ kind: 'refused', status: 401 })
  })

  it('the creator waits on its own gate with ?wait=true and needs nothing more', async () => {
    const waiting = http(v, 'POST', '/api/reviews?wait=true', { body: { ...GATE, taskDescription: 'Held on the wire' } })
    const gate = await waitFor(() => v.service.reviews.pending().find((g) => g.taskDescription === 'Held on the wire'), 'the gate')
    // Another gate decided first does not answer this caller; its own decision does.
    const other = await raise(v)
    expect((await http(v, 'POST', `/api/reviews/${other.id}`, { body: { decision: 'CONTINUE' }, headers: bearer(REVIEWER) })).status).toBe(200)
    expect((await http(v, 'POST', `/api/reviews/${gate.id}`, { body: { decision: 'EDIT', revisedOutput: 'fixed' }, headers: bearer(REVIEWER) })).status).toBe(200)
    expect(await waiting).toMatchObject({ status: 200, body: { reviewId: gate.id, status: 'APPLIED', decision: 'EDIT', revisedOutput: 'fixed', decidedBy: 'reviewer token' } })
  })

  it('the creator re-waits with its secret and reads only that gate; a wrong secret or another gate’s secret is refused', async () => {
    const a = await raise(v)
    const b = await raise(v)
    // Refused: wrong secret, B's secret on A, A's secret on the list, on deciding A, on an unknown id.
    expect((await http(v, 'GET', `/api/reviews/${a.id}?wait=true`, { headers: gateAuth(`${a.secret}x`) })).status).toBe(401)
    expect((await http(v, 'GET', `/api/reviews/${a.id}?wait=true`, { headers: gateAuth(b.secret) })).status).toBe(401)
    expect((await http(v, 'GET', `/api/reviews/${a.id}`, { headers: { 'x-vigil-gate-secret': b.secret } })).status).toBe(401)
    expect((await http(v, 'GET', '/api/reviews', { headers: gateAuth(a.secret) })).status).toBe(401)
    expect((await http(v, 'POST', `/api/reviews/${a.id}`, { body: { decision: 'CONTINUE' }, headers: gateAuth(a.secret) })).status).toBe(401)
    expect((await http(v, 'GET', '/api/reviews/no-such-gate', { headers: gateAuth(a.secret) })).status).toBe(401)
    // Its own, pending: status only, no texts.
    const now = await http(v, 'GET', `/api/reviews/${a.id}`, { headers: gateAuth(a.secret) })
    expect(now).toMatchObject({ status: 200, body: { reviewId: a.id, status: 'PENDING' } })
    expect(now.body).not.toHaveProperty('taskOutput')
    expect(now.body).not.toHaveProperty('taskDescription')
    // Waits (header form), and gets the decision.
    const again = http(v, 'GET', `/api/reviews/${a.id}?wait=true`, { headers: { 'x-vigil-gate-secret': a.secret } })
    await new Promise((r) => setTimeout(r, 50))
    expect((await http(v, 'POST', `/api/reviews/${a.id}`, { body: { decision: 'EXIT_EARLY' }, headers: bearer(REVIEWER) })).status).toBe(200)
    const done = await again
    expect(done).toMatchObject({ status: 200, body: { reviewId: a.id, status: 'DECIDED', outcome: { decision: 'EXIT_EARLY', surface: 'api', decidedBy: 'reviewer token' } } })
    expect(JSON.stringify(done.body)).not.toContain('secret internal details')
    // B's secret still does not open A once decided; B's own still pending.
    expect((await http(v, 'GET', `/api/reviews/${a.id}`, { headers: gateAuth(b.secret) })).status).toBe(401)
    expect((await http(v, 'GET', `/api/reviews/${b.id}`, { headers: gateAuth(b.secret) })).body).toMatchObject({ status: 'PENDING' })
  })

  it('a gate secret from another Vigil (or a guessed one of the right shape) opens nothing', async () => {
    const other = await vigil({ password: PASSWORD })
    const foreign = await raise(other)
    const mine = await raise(v)
    expect((await http(v, 'GET', `/api/reviews/${mine.id}`, { headers: gateAuth(foreign.secret) })).status).toBe(401)
    expect((await http(v, 'GET', `/api/reviews/${mine.id}`, { headers: gateAuth(Buffer.alloc(32).toString('base64url')) })).status).toBe(401)
    await other.stop()
  })
})

describe('with a password, off loopback (real non-loopback caller simulated by isLoopback)', () => {
  it('the ingress token raises gates but never lists or decides; the reviewer token does', async () => {
    const v = await vigil({ password: PASSWORD, reviewerToken: REVIEWER, ingressToken: INGRESS, isLoopback: () => false })
    expect((await http(v, 'POST', '/api/reviews', { body: GATE })).status).toBe(401)
    const { id } = await raise(v, bearer(INGRESS))
    expect((await http(v, 'GET', '/api/reviews', { headers: bearer(INGRESS) })).status).toBe(401)
    expect((await http(v, 'POST', `/api/reviews/${id}`, { body: { decision: 'CONTINUE' }, headers: bearer(INGRESS) })).status).toBe(401)
    expect((await http(v, 'POST', `/api/reviews/${id}`, { body: { decision: 'CONTINUE' }, headers: bearer(REVIEWER) })).status).toBe(200)
    await v.stop()
  })
})

describe('gate secrets and decidedBy survive restarts (recording on)', () => {
  it('the creator re-waits after a restart with its secret, and reads the outcome from the history after another', async () => {
    const data = tempDir()
    const first = await vigil({ password: PASSWORD, reviewerToken: REVIEWER }, data)
    const a = await raise(first)
    const b = await raise(first)
    expect((await http(first, 'GET', `/api/reviews/${a.id}`, { headers: gateAuth(a.secret) })).body).toMatchObject({ status: 'PENDING' })
    await first.stop()

    const second = await vigil({ password: PASSWORD, reviewerToken: REVIEWER }, data)
    expect(second.service.reviews.pending().map((g) => g.id).sort()).toEqual([a.id, b.id].sort())
    expect((await http(second, 'GET', `/api/reviews/${a.id}?wait=true`, { headers: gateAuth(b.secret) })).status).toBe(401)
    const again = http(second, 'GET', `/api/reviews/${a.id}?wait=true`, { headers: gateAuth(a.secret) })
    await new Promise((r) => setTimeout(r, 50))
    const decided = await http(second, 'POST', `/api/reviews/${a.id}`, { body: { decision: 'CONTINUE', decidedBy: 'forged-name' }, headers: bearer(REVIEWER) })
    expect(decided.status).toBe(200)
    expect(await again).toMatchObject({ status: 200, body: { status: 'DECIDED', outcome: { decision: 'CONTINUE', decidedBy: 'reviewer token' } } })
    await second.stop()

    // Decided gates are read from the DuckDB history, with the secret hash stored next to them.
    const third = await vigil({ password: PASSWORD, reviewerToken: REVIEWER }, data)
    expect((await http(third, 'GET', `/api/reviews/${a.id}?wait=true`, { headers: gateAuth(a.secret) })).body).toMatchObject({
      status: 'DECIDED',
      outcome: { decision: 'CONTINUE', surface: 'api', decidedBy: 'reviewer token' }
    })
    expect((await http(third, 'GET', `/api/reviews/${a.id}`, { headers: gateAuth(b.secret) })).status).toBe(401)
    expect((await historyOf(third, a.id)).outcome).toMatchObject({ decidedBy: 'reviewer token' })
    expect(JSON.stringify(await historyOf(third, a.id))).not.toContain('forged-name')
    await third.stop()
  })
})

describe('without a password (documented: this machine is the reviewer)', () => {
  let v: V
  beforeAll(async () => {
    v = await vigil({})
  })

  it('a local caller lists, reads and decides; the history says "local (no password)", not the body', async () => {
    const { id } = await raise(v)
    expect((await http(v, 'GET', '/api/reviews')).status).toBe(200)
    expect((await http(v, 'GET', `/api/reviews/${id}`)).body).toMatchObject({ taskOutput: GATE.taskOutput })
    const decided = await http(v, 'POST', `/api/reviews/${id}`, { body: { decision: 'CONTINUE', decidedBy: 'admin' } })
    expect(decided.status).toBe(200)
    expect((await historyOf(v, id)).outcome).toMatchObject({ surface: 'api', decidedBy: 'local (no password)' })
    // requiredRole is carried, and the API says plainly that nobody checks it.
    const role = await http(v, 'POST', '/api/reviews', { body: { ...GATE, requiredRole: 'editor' } })
    expect((await http(v, 'GET', `/api/reviews/${String(role.body.reviewId)}`)).body).toMatchObject({
      requiredRole: 'editor',
      requiredRoleNote: "Role 'editor' requested; Vigil does not check roles."
    })
    const viaRpc = await raise(v)
    expect((await rpc(v, 'decideReview', [viaRpc.id, 'CONTINUE', null, 'desktop-inbox'])).status).toBe(200)
    expect((await historyOf(v, viaRpc.id)).outcome).toMatchObject({ surface: 'browser-inbox', decidedBy: 'local (no password)' })
  })

  it('AgentEnsemble’s viz on /ws decides a hub gate: recorded as "AgentEnsemble viz on /ws"', async () => {
    const producer = connect(`${v.base.replace('http', 'ws')}/ingress`)
    sockets.push(producer)
    await producer.opened
    const message = { type: 'review_requested', reviewId: 'viz-1', taskDescription: 'Ship?', taskOutput: 'diff', timing: 'AFTER_EXECUTION', timeoutMs: 600_000, onTimeout: 'EXIT_EARLY' }
    producer.ws.send(JSON.stringify({ type: 'event', producer: { producerId: 'svc-viz', serviceName: 'svc' }, sequence: 1, receivedAt: formatInstant(Date.now()), message }))
    await waitFor(() => v.service.reviews.pending().find((g) => g.reviewId === 'viz-1'), 'the hub gate')
    const viz = connect(`${v.base.replace('http', 'ws')}/ws`, 'http://localhost:7329')
    sockets.push(viz)
    await viz.opened
    viz.ws.send(JSON.stringify({ type: 'review_decision', reviewId: 'viz-1', decision: 'CONTINUE', decidedBy: 'forged' }))
    await waitFor(() => producer.frames.length > 0, 'the decision at the producer')
    await waitFor(() => v.service.reviews.pending().every((g) => g.reviewId !== 'viz-1'), 'the gate resolved')
    const gate = (await v.service.getReviewHistory(0, 100)).rows.find((g) => g.reviewId === 'viz-1')
    expect(gate?.outcome).toMatchObject({ decision: 'CONTINUE', surface: 'hub-browser', decidedBy: 'AgentEnsemble viz on /ws' })
  })
})
