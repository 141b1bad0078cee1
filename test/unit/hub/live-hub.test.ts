// LiveHub without sockets: envelopes through ingestEnvelope (the POST path), hub_hello, roster, tracker.
import { afterEach, describe, expect, it } from 'vitest'
import { LiveHub } from '../../../src/main/hub/live-hub'
import type { LiveHubOptions } from '../../../src/main/hub/live-hub'
import { RunTracker } from '../../../src/main/live/run-tracker'
import { serializeHubHello, serializeProducerInfo, serializeServerMessage } from '../../../src/shared/protocol/agentensemble'
import type { IterationSnapshot } from '../../../src/shared/protocol/agentensemble'
import { SPEC_SERVER_FRAMES } from '../live/spec-frames'
import { SVC_A, SVC_B, envelope, iterationStarted, realisticRun, review, started, taskStarted, token } from './frames'

const SPEC_HUB_HELLO = SPEC_SERVER_FRAMES.find((f) => f.startsWith('{"type":"hub_hello","producers"')) as string
const T0 = Date.UTC(2026, 2, 5, 14, 0, 0)

const hubs: LiveHub[] = []
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close()
})

function makeHub(opts: Partial<LiveHubOptions> = {}) {
  const tracker = new RunTracker({ onRunUpdated: () => undefined, now: () => T0 })
  const hub = new LiveHub({ tracker, now: () => T0, heartbeatMs: 0, ...opts })
  hubs.push(hub)
  return { hub, tracker }
}

const ENV1 = envelope(SVC_A, 1, '2026-03-05T14:00:00.010Z', started('e1'))
const ENV2 = envelope(SVC_A, 2, '2026-03-05T14:00:00.020Z', iterationStarted)
const ENV5 = envelope(SVC_A, 5, '2026-03-05T14:00:03.500Z', review('r1'))

describe('hub_hello', () => {
  it('is {"type":"hub_hello"} on an empty hub', () => {
    expect(makeHub().hub.helloFrame()).toBe('{"type":"hub_hello"}')
  })

  it('serializeHubHello reproduces the spec example byte for byte from stored envelope texts', () => {
    const iterations: Record<string, IterationSnapshot[]> = { 'svc-a-pod-1': [{ started: iterationStarted as IterationSnapshot['started'] }] }
    expect(serializeHubHello({ producers: [SVC_A], snapshotTrace: [ENV1, ENV5], iterationsByProducer: iterations })).toBe(SPEC_HUB_HELLO)
    expect(serializeHubHello({ producers: [], snapshotTrace: [], iterationsByProducer: {} })).toBe('{"type":"hub_hello"}')
  })

  it('after ingest: producers, snapshotTrace (llm iterations and reviews included, as the hub does) and iterationsByProducer', () => {
    const { hub } = makeHub()
    for (const e of [ENV1, ENV2, ENV5]) expect(hub.ingestEnvelope(e)).toBe(true)
    const expected =
      `{"type":"hub_hello","producers":[${serializeProducerInfo(SVC_A)}],"snapshotTrace":[${ENV1},${ENV2},${ENV5}],` +
      `"iterationsByProducer":{"svc-a-pod-1":[{"started":${serializeServerMessage(iterationStarted)}}]}}`
    expect(hub.helloFrame()).toBe(expected)
  })

  it('never snapshots token or heartbeat envelopes', () => {
    const { hub } = makeHub()
    hub.ingestEnvelope(ENV1)
    hub.ingestEnvelope(envelope(SVC_A, 2, '2026-03-05T14:00:00.030Z', token('Hel')))
    hub.ingestEnvelope(envelope(SVC_A, 3, '2026-03-05T14:00:00.040Z', { type: 'heartbeat', serverTimeMs: 1 }))
    expect(hub.helloFrame()).toBe(`{"type":"hub_hello","producers":[${serializeProducerInfo(SVC_A)}],"snapshotTrace":[${ENV1}]}`)
  })

  it('keeps stored envelopes verbatim (whitespace and unknown fields included)', () => {
    const { hub } = makeHub()
    const odd = ' { "type" : "event", "producer":{"producerId":"svc-a-pod-1","zz":1}, "sequence":1, "receivedAt":"2026-03-05T14:00:00Z", "message":{"type":"task_failed","taskIndex":1} } '
    expect(hub.ingestEnvelope(odd)).toBe(true)
    expect(hub.helloFrame()).toContain(`"snapshotTrace":[${odd}]`)
    expect(JSON.parse(hub.helloFrame())).toMatchObject({ type: 'hub_hello' })
  })

  it('is bounded per producer (maxSnapshotPerProducer) and merged across producers by receivedAt', () => {
    const { hub } = makeHub({ maxSnapshotPerProducer: 3 })
    const at = (ms: number) => new Date(T0 + ms).toISOString()
    const a = [1, 3, 5, 7].map((ms, i) => envelope(SVC_A, i + 1, at(ms), taskStarted(i + 1, 'a', 'A')))
    const b = [2, 4, 6].map((ms, i) => envelope(SVC_B, i + 1, at(ms), taskStarted(i + 1, 'b', 'B')))
    for (const e of [...a, ...b]) hub.ingestEnvelope(e)
    const trace = JSON.parse(hub.helloFrame()).snapshotTrace as { receivedAt: string }[]
    expect(trace.map((e) => e.receivedAt)).toEqual([2, 3, 4, 5, 6, 7].map(at))
    expect(hub.producers().map((p) => p.snapshotSize)).toEqual([3, 3])
  })

  it('caps the whole snapshot by bytes, keeping the newest', () => {
    const { hub } = makeHub({ maxHelloSnapshotBytes: ENV5.length + 1 })
    hub.ingestEnvelope(ENV1)
    hub.ingestEnvelope(ENV5)
    expect(JSON.parse(hub.helloFrame()).snapshotTrace).toEqual([JSON.parse(ENV5)])
  })

  it('builds a bounded hub_hello in well under a second after 100,000 ingested events (50 producers)', () => {
    // The tracker is not under test here (bench/hub-ingest.mts measures ingest with it).
    const hub = new LiveHub({ tracker: { ingest: () => undefined } as unknown as RunTracker, heartbeatMs: 0 })
    hubs.push(hub)
    const inner = [...realisticRun('e')].map((m) => serializeServerMessage(m))
    for (let sequence = 1; sequence <= 100_000; sequence++) {
      const k = Math.floor((sequence - 1) / 50)
      const producer = `{"producerId":"p-${(sequence - 1) % 50}","serviceName":"bench"}`
      const receivedAt = new Date(T0 + sequence).toISOString()
      hub.ingestEnvelope(`{"type":"event","producer":${producer},"sequence":${k + 1},"receivedAt":"${receivedAt}","message":${inner[k % inner.length]}}`)
    }
    const t0 = performance.now()
    const hello = hub.helloFrame()
    expect(performance.now() - t0).toBeLessThan(1000)
    const parsed = JSON.parse(hello) as { snapshotTrace: { message: { type: string } }[]; producers: unknown[] }
    expect(parsed.producers).toHaveLength(50)
    const retained = hub.producers().reduce((n, p) => n + p.snapshotSize, 0)
    expect(parsed.snapshotTrace).toHaveLength(retained)
    expect(retained).toBeGreaterThan(40_000) // tokens (30 of each 56 events) are never retained
    expect(retained).toBeLessThanOrEqual(50 * 2000)
    expect(parsed.snapshotTrace.some((e) => e.message.type === 'token')).toBe(false)
  }, 15_000)
})

describe('roster, tracker and diagnostics', () => {
  it('keeps interleaved runs of two producers apart in the tracker (source "hub", per producer)', () => {
    const { hub, tracker } = makeHub()
    hub.ingestEnvelope(envelope(SVC_A, 1, '2026-03-05T14:00:00.001Z', started('ea', 2)))
    hub.ingestEnvelope(envelope(SVC_B, 1, '2026-03-05T14:00:00.002Z', started('eb', 2)))
    hub.ingestEnvelope(envelope(SVC_A, 2, '2026-03-05T14:00:00.003Z', taskStarted(1, 'Research', 'Researcher')))
    hub.ingestEnvelope(envelope(SVC_B, 2, '2026-03-05T14:00:00.004Z', taskStarted(1, 'Cook', 'Chef')))
    hub.ingestEnvelope(envelope(SVC_B, 3, '2026-03-05T14:00:00.005Z', {
      type: 'ensemble_completed', ensembleId: 'eb', completedAt: '2026-03-05T14:00:01Z', durationMs: 1000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 0
    }))
    const runs = tracker.listRuns()
    expect(runs.map((r) => [r.sourceId, r.producerId, r.ensembleId, r.status]).sort()).toEqual([
      ['hub', 'svc-a-pod-1', 'ea', 'running'],
      ['hub', 'svc-b-pod-1', 'eb', 'completed']
    ])
    const a = runs.find((r) => r.producerId === 'svc-a-pod-1')!
    expect(tracker.getRun(a.runId)!.tasks.map((t) => t.agentRole)).toEqual(['Researcher'])
    expect(tracker.listRuns().find((r) => r.producerId === 'svc-a-pod-1')!.startedAt).toBe('2026-03-05T14:00:00Z')
  })

  it('lists producers sorted by serviceName then producerId, with state and counters', () => {
    const { hub } = makeHub()
    hub.ingestEnvelope(envelope({ producerId: 'z', serviceName: 'b' }, 1, '2026-03-05T14:00:00Z', started('1')))
    hub.ingestEnvelope(envelope({ producerId: 'y', serviceName: 'a' }, 1, '2026-03-05T14:00:00Z', started('2')))
    hub.ingestEnvelope(envelope({ producerId: 'x' }, 1, '2026-03-05T14:00:00Z', started('3')))
    hub.ingestEnvelope(envelope({ producerId: 'x' }, 5, '2026-03-05T14:00:00Z', token('t')))
    expect(hub.producers().map((p) => p.producer.producerId)).toEqual(['x', 'y', 'z'])
    expect(hub.producers()[0]).toEqual({
      producer: { producerId: 'x' },
      transport: 'http',
      connected: false,
      active: true,
      joinedAt: '2026-03-05T14:00:00Z',
      firstSeenAt: '2026-03-05T14:00:00Z',
      lastSeenAt: '2026-03-05T14:00:00Z',
      leftAt: null,
      lastSequence: 5,
      sequenceGaps: 1,
      snapshotSize: 1,
      pendingReviews: 0,
      diagnostics: { frames: 2, malformed: 0, unknown: 0, oversize: 0 }
    })
  })

  it('counts rejected envelopes on the producer they name when it is known, otherwise as unattributed', () => {
    const { hub } = makeHub()
    hub.ingestEnvelope(ENV1)
    expect(hub.ingestEnvelope('{"type":"event","producer":{"producerId":"svc-a-pod-1"},"message":{"type":"review_requested"}}')).toBe(false)
    expect(hub.ingestEnvelope('{"type":"EVENT","producer":{"producerId":"svc-a-pod-1"}}')).toBe(false)
    expect(hub.ingestEnvelope('{"type":"event","producer":{"producerId":"svc-a-pod-1"},"message":{"type":"not_yet_invented"}}')).toBe(true)
    expect(hub.ingestEnvelope('garbage')).toBe(false)
    expect(hub.ingestEnvelope('{"type":"event","producer":{"producerId":"stranger"}}')).toBe(false)
    expect(hub.producers()).toHaveLength(1)
    expect(hub.producers()[0]!.diagnostics).toEqual({ frames: 4, malformed: 1, unknown: 2, oversize: 0 })
    expect(hub.counters().unattributed).toEqual({ frames: 2, malformed: 2, unknown: 0, oversize: 0 })
  })

  it('evicts producers beyond maxProducers, least recently seen unconnected first', () => {
    let now = T0
    const { hub } = makeHub({ maxProducers: 2, now: () => now })
    for (const id of ['p1', 'p2', 'p3']) {
      now += 1000
      hub.ingestEnvelope(envelope({ producerId: id }, 1, '2026-03-05T14:00:00Z', started(id)))
    }
    expect(hub.producers().map((p) => p.producer.producerId)).toEqual(['p2', 'p3'])
    expect(hub.counters().producersEvicted).toBe(1)
  })

  it('forwardDecision refuses unknown ids, invalid decisions and producers without a socket (kept pending)', () => {
    const { hub } = makeHub()
    hub.ingestEnvelope(ENV5)
    const decision = '{"type":"review_decision","reviewId":"r1","decision":"CONTINUE"}'
    expect(hub.forwardDecision('nope', decision.replace('r1', 'nope'))).toBe(false)
    expect(hub.forwardDecision('r1', '{"reviewId":"r1","decision":"CONTINUE"}')).toBe(false)
    expect(hub.forwardDecision('r1', decision.replace('"r1"', '"r2"'))).toBe(false)
    expect(hub.forwardDecision('r1', decision)).toBe(false) // POSTing producers have no channel back
    expect(hub.producers()[0]!.pendingReviews).toBe(1)
  })

  it('review_timed_out from the producer clears its pending id', () => {
    const { hub } = makeHub()
    hub.ingestEnvelope(ENV5)
    hub.ingestEnvelope(envelope(SVC_A, 6, '2026-03-05T14:00:04Z', { type: 'review_timed_out', reviewId: 'r1', action: 'CONTINUE' }))
    expect(hub.producers()[0]!.pendingReviews).toBe(0)
  })

  it('onChange: one coalesced call for a burst of roster changes; unsubscribe works', async () => {
    const { hub } = makeHub({ changeThrottleMs: 20 })
    let calls = 0
    const off = hub.onChange(() => calls++)
    hub.ingestEnvelope(envelope(SVC_A, 1, '2026-03-05T14:00:00Z', started('a')))
    hub.ingestEnvelope(envelope(SVC_B, 1, '2026-03-05T14:00:00Z', started('b')))
    hub.ingestEnvelope('garbage')
    await new Promise((r) => setImmediate(r))
    expect(calls).toBe(1)
    hub.ingestEnvelope('garbage')
    hub.ingestEnvelope('garbage')
    await new Promise((r) => setTimeout(r, 60))
    expect(calls).toBe(2)
    off()
    hub.ingestEnvelope(envelope({ producerId: 'c' }, 1, '2026-03-05T14:00:00Z', started('c')))
    await new Promise((r) => setTimeout(r, 40))
    expect(calls).toBe(2)
  })
})

describe('odd producer ids', () => {
  it('a producer called "__proto__" is an ordinary producer everywhere', () => {
    const { hub, tracker } = makeHub()
    const p = { producerId: '__proto__' }
    hub.ingestEnvelope(envelope(p, 1, '2026-03-05T14:00:00Z', started('e')))
    hub.ingestEnvelope(envelope(p, 2, '2026-03-05T14:00:01Z', iterationStarted))
    const hello = JSON.parse(hub.helloFrame()) as { iterationsByProducer: Record<string, unknown[]> }
    expect(Object.prototype.hasOwnProperty.call(hello.iterationsByProducer, '__proto__')).toBe(true)
    expect(hub.producers().map((s) => s.producer.producerId)).toEqual(['__proto__'])
    expect(tracker.listRuns().map((r) => r.producerId)).toEqual(['__proto__'])
  })
})

describe('idle eviction', () => {
  it('evicts producers silent for evictIdleAfterMs with no socket, announcing producer_left "evicted", and forgets their snapshot', async () => {
    let now = T0
    const tracker = new RunTracker({ onRunUpdated: () => undefined, now: () => now })
    const hub = new LiveHub({ tracker, now: () => now, heartbeatMs: 0, evictIdleAfterMs: 1000, idleSweepMs: 20 })
    hubs.push(hub)
    const left: string[] = []
    tracker.tap((_s, _p, m) => {
      if (m.type === 'producer_left') left.push(`${m.producerId}:${m.reason}`)
    })
    hub.ingestEnvelope(ENV1)
    hub.ingestEnvelope(envelope(SVC_B, 1, '2026-03-05T14:00:00.500Z', started('e2')))
    expect(hub.producers()).toHaveLength(2)
    now = T0 + 900
    expect(hub.ingestEnvelope(envelope(SVC_B, 2, '2026-03-05T14:00:00.900Z', taskStarted(1, 'T', 'A')))).toBe(true)
    now = T0 + 1500
    await new Promise((r) => setTimeout(r, 60))
    expect(hub.producers().map((p) => p.producer.producerId)).toEqual([SVC_B.producerId])
    expect(left).toEqual([`${SVC_A.producerId}:evicted`])
    expect(hub.counters().producersEvicted).toBe(1)
    expect(hub.helloFrame()).not.toContain(SVC_A.producerId)
  })

  it('0 turns it off', async () => {
    let now = T0
    const { hub } = makeHub({ now: () => now, evictIdleAfterMs: 0, idleSweepMs: 10 })
    hub.ingestEnvelope(ENV1)
    now = T0 + 10 * 3600_000
    await new Promise((r) => setTimeout(r, 40))
    expect(hub.producers()).toHaveLength(1)
  })
})
