// The hub on a real Vigil server: publishers on /ingress, browsers on /ws, reviews, REST, status.
import { afterEach, describe, expect, it } from 'vitest'
import { formatInstant, serializeProducerInfo, serializeServerMessage } from '../../../src/shared/protocol/agentensemble'
import type { TestClient } from '../live/helpers'
import { SVC_A, SVC_B, envelope, review, started, taskStarted, token } from '../../unit/hub/frames'
import { browser, frames, open, publisher, sleep, startHubServer, waitFor } from './hub-helpers'
import type { HubServer } from './hub-helpers'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function hubServer(opts: Parameters<typeof startHubServer>[0] = {}): Promise<HubServer> {
  const h = await startHubServer(opts)
  cleanups.push(() => h.close())
  return h
}

function track(c: TestClient): TestClient {
  cleanups.push(() => c.ws.terminate())
  return c
}

const at = (ms: number) => formatInstant(Date.UTC(2026, 2, 5, 14, 0, 0) + ms)

describe('LiveHub over /ingress and /ws', () => {
  it('relays envelopes verbatim to every browser, announces producers once, and reports them left on close', async () => {
    const h = await hubServer()
    const b1 = track(browser(h))
    const b2 = track(browser(h))
    expect((await frames(b1, 1))[0]).toBe('{"type":"hub_hello"}')
    await frames(b2, 1)

    const pa = await open(track(publisher(h, 'whatever')))
    // Verbatim: whitespace and unknown fields survive the relay.
    const odd = `{ "type":"event","producer":{"producerId":"svc-a-pod-1","serviceName":"svc-a"} ,"sequence":1,"receivedAt":"${at(1)}","message":{"type":"ensemble_started","ensembleId":"ea","totalTasks":1,"extra":[1]} }`
    pa.ws.send(odd)
    const tok = envelope({ producerId: 'svc-a-pod-1', serviceName: 'svc-a' }, 2, at(2), token('Hel'))
    pa.ws.send(tok)
    const got = await frames(b1, 4)
    expect(got[1]).toMatch(/^\{"type":"producer_joined","producer":\{"producerId":"svc-a-pod-1","serviceName":"svc-a"\},"joinedAt":"[^"]+Z"\}$/)
    expect(got.slice(2)).toEqual([odd, tok])
    expect((await frames(b2, 4)).slice(1)).toEqual(got.slice(1))

    pa.ws.close()
    const left = (await frames(b1, 5))[4]!
    expect(left).toMatch(/^\{"type":"producer_left","producerId":"svc-a-pod-1","leftAt":"[^"]+Z","reason":"disconnected"\}$/)
    expect(h.hub.producers()[0]).toMatchObject({ connected: false, active: false, transport: 'websocket' })
  })

  it('two producers: interleaved runs stay apart in the tracker; roster joined/left; a reconnect keeps the snapshot and is re-announced', async () => {
    const h = await hubServer()
    const pa = await open(track(publisher(h)))
    const pb = await open(track(publisher(h)))
    const a1 = envelope(SVC_A, 1, at(10), started('ea', 2))
    const b1 = envelope(SVC_B, 1, at(20), started('eb', 2))
    const a2 = envelope(SVC_A, 2, at(30), taskStarted(1, 'Research', 'Researcher'))
    const b2 = envelope(SVC_B, 2, at(40), taskStarted(1, 'Cook', 'Chef'))
    pa.ws.send(a1)
    pb.ws.send(b1)
    await waitFor(() => h.hub.producers().length === 2, 'two producers')
    pa.ws.send(a2)
    pb.ws.send(b2)
    await waitFor(() => h.tracker.listRuns().every((r) => r.eventCount >= 2) && h.tracker.listRuns().length === 2, 'tracked runs')
    const runs = h.tracker.listRuns()
    const runA = runs.find((r) => r.producerId === SVC_A.producerId)!
    const runB = runs.find((r) => r.producerId === SVC_B.producerId)!
    expect([runA.sourceId, runA.ensembleId, runB.sourceId, runB.ensembleId]).toEqual(['hub', 'ea', 'hub', 'eb'])
    expect(h.tracker.getRun(runA.runId)!.tasks.map((t) => t.agentRole)).toEqual(['Researcher'])
    expect(h.tracker.getRun(runB.runId)!.tasks.map((t) => t.agentRole)).toEqual(['Chef'])
    expect(h.hub.producers().map((p) => [p.producer.producerId, p.connected, p.active])).toEqual([
      ['svc-a-pod-1', true, true],
      ['svc-b-pod-1', true, true]
    ])

    // A late browser gets both producers and both snapshots merged by receivedAt, byte-exact.
    const late = track(browser(h))
    const hello = (await frames(late, 1))[0]
    expect(hello).toBe(`{"type":"hub_hello","producers":[${serializeProducerInfo(SVC_A)},${serializeProducerInfo(SVC_B)}],"snapshotTrace":[${a1},${b1},${a2},${b2}]}`)

    // A leaves: browsers hear it, the tracker marks A's run stale, B is untouched.
    pa.ws.close()
    await waitFor(() => late.frames.some((f) => f.includes('"producer_left"')), 'producer_left')
    await waitFor(() => h.tracker.listRuns().find((r) => r.producerId === SVC_A.producerId)?.stale, 'stale run A')
    expect(h.tracker.listRuns().find((r) => r.producerId === SVC_B.producerId)!.stale).toBeFalsy()

    // A comes back on a new socket: re-announced, its old envelopes still in a new browser's hello.
    const pa2 = await open(track(publisher(h)))
    const a3 = envelope(SVC_A, 3, at(50), taskStarted(2, 'Write', 'Writer'))
    pa2.ws.send(a3)
    await waitFor(() => late.frames.filter((f) => f.startsWith('{"type":"producer_joined"')).length === 1 && late.frames.includes(a3), 're-join')
    const joinIdx = late.frames.findIndex((f) => f.startsWith('{"type":"producer_joined"'))
    expect(late.frames.indexOf(a3)).toBe(joinIdx + 1)
    expect(h.hub.producers()[0]).toMatchObject({ connected: true, active: true, leftAt: null, lastSequence: 3, sequenceGaps: 0 })
    const later = track(browser(h))
    expect(JSON.parse((await frames(later, 1))[0]!).snapshotTrace).toEqual([a1, b1, a2, b2, a3].map((e) => JSON.parse(e)))
    expect(h.tracker.listRuns().find((r) => r.producerId === SVC_A.producerId)!.stale).toBeFalsy()
  })

  it('forwards a browser review_decision to the producer that asked, exactly once, as {reviewId, decisionJson}', async () => {
    const h = await hubServer()
    const pa = await open(track(publisher(h)))
    const pb = await open(track(publisher(h)))
    const b1 = track(browser(h))
    const b2 = track(browser(h))
    await frames(b1, 1)
    await frames(b2, 1)
    pa.ws.send(envelope(SVC_A, 1, at(1), started('ea')))
    pb.ws.send(envelope(SVC_B, 1, at(2), started('eb')))
    pb.ws.send(envelope(SVC_B, 2, at(3), review('r-b')))
    await waitFor(() => h.hub.producers().find((p) => p.producer.producerId === SVC_B.producerId)?.pendingReviews === 1, 'pending review')

    const decision = '{"type":"review_decision","reviewId":"r-b","decision":"EDIT","revisedOutput":"Better \\"quoted\\" ü"}'
    b1.ws.send(decision)
    const forwarded = (await frames(pb, 1, 'forwarded decision'))[0]
    expect(forwarded).toBe(JSON.stringify({ reviewId: 'r-b', decisionJson: decision }))
    expect(forwarded).toBe(`{"reviewId":"r-b","decisionJson":${JSON.stringify(decision)}}`)
    // Second decision (other tab), unknown ids and junk: dropped; nothing reaches either producer.
    b2.ws.send('{"type":"review_decision","reviewId":"r-b","decision":"EXIT_EARLY"}')
    b2.ws.send('{"type":"review_decision","reviewId":"nope","decision":"CONTINUE"}')
    b2.ws.send('{"type":"review_decision"}')
    b2.ws.send('not json')
    b2.ws.send('{"type":"subscribe","events":["*"]}')
    b2.ws.send('{"type":"ping"}')
    await frames(b2, 4, 'pong') // hello, joined a, joined b, …
    await waitFor(() => b2.frames.includes('{"type":"pong"}'), 'pong after junk')
    await sleep(50)
    expect(pb.frames).toHaveLength(1)
    expect(pa.frames).toHaveLength(0)
    expect(h.hub.forwardDecision('r-b', '{"type":"review_decision","reviewId":"r-b","decision":"CONTINUE"}')).toBe(false)
    expect(h.hub.producers().find((p) => p.producer.producerId === SVC_B.producerId)!.pendingReviews).toBe(0)
    expect(b2.ws.readyState).toBe(b2.ws.OPEN)
  })

  it('a decision while the producer is away stays pending and reaches it after it reconnects', async () => {
    const h = await hubServer()
    const pa = await open(track(publisher(h)))
    pa.ws.send(envelope(SVC_A, 1, at(1), review('r1')))
    await waitFor(() => h.hub.producers()[0]?.pendingReviews === 1, 'pending')
    pa.ws.close()
    await waitFor(() => h.hub.producers()[0]?.connected === false, 'disconnected')
    const decision = '{"type":"review_decision","reviewId":"r1","decision":"CONTINUE"}'
    expect(h.hub.forwardDecision('r1', decision)).toBe(false)
    const pa2 = await open(track(publisher(h)))
    pa2.ws.send(envelope(SVC_A, 2, at(2), token('.')))
    await waitFor(() => h.hub.producers()[0]?.connected, 'reconnected')
    expect(h.hub.forwardDecision('r1', decision)).toBe(true)
    expect((await frames(pa2, 1))[0]).toBe(`{"reviewId":"r1","decisionJson":${JSON.stringify(decision)}}`)
  })

  it('ping → pong to the sender only; heartbeat every heartbeatMs to every browser', async () => {
    const h = await hubServer({ heartbeatMs: 60 })
    const b1 = track(browser(h))
    const b2 = track(browser(h))
    await frames(b1, 1)
    await frames(b2, 1)
    b1.ws.send('{"type":"ping"}')
    await waitFor(() => b1.frames.includes('{"type":"pong"}'), 'pong')
    await waitFor(() => b2.frames.filter((f) => f.startsWith('{"type":"heartbeat"')).length >= 2, 'two heartbeats', 2000)
    expect(b2.frames).not.toContain('{"type":"pong"}')
    const beat = JSON.parse(b2.frames.find((f) => f.startsWith('{"type":"heartbeat"'))!)
    expect(Object.keys(beat)).toEqual(['type', 'serverTimeMs'])
    expect(Math.abs(beat.serverTimeMs - Date.now())).toBeLessThan(5000)
  })

  it('GET /api/status "clients" counts /ws browsers (not publishers)', async () => {
    const h = await hubServer()
    const status = async () => ((await (await fetch(`${h.server.url}/api/status`)).json()) as { clients: number }).clients
    expect(await status()).toBe(0)
    await open(track(publisher(h)))
    const b1 = track(browser(h))
    await frames(b1, 1)
    const b2 = track(browser(h))
    await frames(b2, 1)
    expect(await status()).toBe(2)
    expect(h.hub.clientCount()).toBe(2)
    b1.ws.close()
    await waitFor(() => h.hub.clientCount() === 1, 'one browser left')
    expect(await status()).toBe(1)
  })
})

describe('REST: POST /api/hub/ingress and GET /api/hub/producers', () => {
  it('202 for an envelope (relayed to browsers), 400 for blank or malformed, 413 over the limit', async () => {
    const h = await hubServer({ maxFrameBytes: 4096 })
    const b = track(browser(h))
    await frames(b, 1)
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${h.server.url}/api/hub/ingress`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
    const env = envelope(SVC_A, 1, at(1), started('ea'))
    const ok = await post(env)
    expect(ok.status).toBe(202)
    expect(await ok.text()).toBe('')
    await waitFor(() => b.frames.includes(env), 'relayed POST')
    expect(b.frames[1]).toMatch(/^\{"type":"producer_joined"/)
    expect((await post('')).status).toBe(400)
    expect((await post('   ')).status).toBe(400)
    expect((await post('{"type":"event"')).status).toBe(400)
    expect((await post('{"type":"event","producer":{"producerId":""},"message":{"type":"pong"}}')).status).toBe(400)
    expect((await post('{"type":"EVENT","producer":{"producerId":"svc-a-pod-1"},"message":{"type":"pong"}}')).status).toBe(400)
    expect((await post(envelope(SVC_A, 2, at(2), { ...taskStarted(1, 'x'.repeat(5000), 'A') }))).status).toBe(413)
    expect((await fetch(`${h.server.url}/api/hub/ingress`)).status).toBe(405)
    // A web page elsewhere cannot inject events (publishers send no Origin).
    expect((await post(env, { origin: 'http://evil.com' })).status).toBe(403)
    // Nor can a page on another local port; Vigil's own page can.
    expect((await post(env, { origin: 'http://localhost:5173' })).status).toBe(403)
    expect((await post(envelope(SVC_A, 2, at(2), token('x')), { origin: h.server.url })).status).toBe(202)
    expect(h.hub.producers()[0]!.diagnostics).toEqual({ frames: 3, malformed: 0, unknown: 1, oversize: 0 })
    expect(h.hub.counters().unattributed).toEqual({ frames: 5, malformed: 4, unknown: 0, oversize: 1 })
  })

  it('GET /api/hub/producers is {"producers":[…],"total":n} sorted by serviceName then producerId, byte-exact', async () => {
    const h = await hubServer()
    const empty = await fetch(`${h.server.url}/api/hub/producers`)
    expect(empty.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await empty.text()).toBe('{"producers":[],"total":0}')
    const p2 = { producerId: 'b-2', serviceName: 'beta', tags: { env: 'prod', zone: 'x' } }
    const p1 = { producerId: 'a-9', serviceName: 'beta', version: '3.6.1' }
    const p0 = { producerId: 'z-1', serviceName: 'alpha', instanceId: 'i', host: 'h' }
    for (const p of [p2, p1, p0]) h.hub.ingestEnvelope(envelope(p, 1, at(1), started(p.producerId)))
    const text = await (await fetch(`${h.server.url}/api/hub/producers`)).text()
    expect(text).toBe(
      '{"producers":[{"producerId":"z-1","serviceName":"alpha","instanceId":"i","host":"h"},{"producerId":"a-9","serviceName":"beta","version":"3.6.1"},' +
        '{"producerId":"b-2","serviceName":"beta","tags":{"env":"prod","zone":"x"}}],"total":3}'
    )
    expect(serializeServerMessage({ type: 'producer_joined', producer: p0 })).toBe('{"type":"producer_joined","producer":{"producerId":"z-1","serviceName":"alpha","instanceId":"i","host":"h"}}')
  })
})
