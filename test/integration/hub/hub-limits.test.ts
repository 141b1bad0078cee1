// The hub's defences: bad ingress frames, frame size, the Origin rule (spec §3) and slow browsers.
import { afterEach, describe, expect, it } from 'vitest'
import type { TestClient } from '../live/helpers'
import { SVC_A, SVC_B, envelope, started, taskStarted } from '../../unit/hub/frames'
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

const AT = '2026-03-05T14:00:00Z'

describe('ingress frames', () => {
  it('drops malformed, unknown and binary frames, counts them (on the connection until it binds), keeps the socket open', async () => {
    const h = await hubServer()
    const b = track(browser(h))
    await frames(b, 1)
    const p = await open(track(publisher(h)))
    p.ws.send('not json')
    p.ws.send('{"type":"hello"}')
    await waitFor(() => h.hub.counters().unattributed.frames === 2, 'unbound counts')
    expect(h.hub.counters().unattributed).toEqual({ frames: 2, malformed: 1, unknown: 1, oversize: 0 })

    p.ws.send(envelope(SVC_A, 1, AT, started('ea'))) // binds: the connection's counts move to the producer
    p.ws.send('{"type":"event","producer":{"producerId":"svc-a-pod-1"},"message":{"type":"task_started","taskIndex":"one"}}')
    p.ws.send('{"type":"event","producer":{"producerId":" "},"message":{"type":"pong"}}')
    p.ws.send('{"type":"event","producer":{"producerId":"svc-a-pod-1"},"sequence":2,"message":{"type":"from_the_future"}}')
    p.ws.send(Buffer.from(envelope(SVC_A, 3, AT, taskStarted(1, 'x', 'A'))), { binary: true })
    p.ws.send(envelope(SVC_A, 4, AT, taskStarted(1, 'Research', 'Researcher')))
    await waitFor(() => h.hub.producers()[0]?.lastSequence === 4, 'valid envelope after junk')
    expect(h.hub.producers()[0]!.diagnostics).toEqual({ frames: 8, malformed: 4, unknown: 2, oversize: 0 })
    expect(h.hub.counters().unattributed).toEqual({ frames: 0, malformed: 0, unknown: 0, oversize: 0 })
    expect(p.ws.readyState).toBe(p.ws.OPEN)
    // Browsers saw only what was accepted: the joined notice and the three valid envelopes (unknown inner type relayed).
    await waitFor(() => b.frames.length === 5, 'relayed frames')
    expect(b.frames.slice(2).map((f) => JSON.parse(f).message.type)).toEqual(['ensemble_started', 'from_the_future', 'task_started'])
  })

  it('closes a publisher sending a frame over maxFrameBytes with 1009 and counts it as oversize', async () => {
    const h = await hubServer({ maxFrameBytes: 2048 })
    const p = await open(track(publisher(h)))
    p.ws.send(envelope(SVC_A, 1, AT, started('ea')))
    await waitFor(() => h.hub.producers().length === 1, 'bound')
    p.ws.send(envelope(SVC_A, 2, AT, taskStarted(1, 'y'.repeat(3000), 'A')))
    expect((await p.closed).code).toBe(1009)
    await waitFor(() => h.hub.producers()[0]?.diagnostics.oversize === 1, 'oversize counted')
    expect(h.hub.producers()[0]).toMatchObject({ connected: false, lastSequence: 1 })
  })

  it('a browser frame over the limit closes only that browser (1009)', async () => {
    const h = await hubServer({ maxFrameBytes: 2048 })
    const b = track(browser(h))
    await frames(b, 1)
    b.ws.send(`{"type":"review_decision","reviewId":"r","decision":"EDIT","revisedOutput":"${'z'.repeat(4000)}"}`)
    expect((await b.closed).code).toBe(1009)
  })
})

describe('Origin (spec §3, loopback binding)', () => {
  it.each([
    ['http://localhost:5173'],
    ['https://127.0.0.1:1'],
    ['http://[::1]:3000'],
    ['http://LOCALHOST']
  ])('/ws accepts %s with a hub_hello first', async (origin) => {
    const h = await hubServer()
    const b = track(browser(h, origin))
    expect((await frames(b, 1))[0]).toBe('{"type":"hub_hello"}')
  })

  it.each([
    ['http://localhost.evil.com'],
    ['http://notlocalhost.com'],
    ['null'],
    [''],
    [null],
    ['http://evil.com/?host=localhost'],
    ['http://evil.com'],
    ['not a url']
  ])('/ws refuses %s: upgrade accepted, then 1008 "Origin not allowed", no hello, not counted', async (origin) => {
    const h = await hubServer()
    const b = track(browser(h, origin))
    await b.opened
    expect(await b.closed).toEqual({ code: 1008, reason: 'Origin not allowed' })
    expect(b.frames).toEqual([])
    expect(h.hub.clientCount()).toBe(0)
  })

  it("/ingress accepts publishers without an Origin (JDK HttpClient) and Vigil's own page, refuses other pages (other local ports too) with 1008", async () => {
    const h = await hubServer()
    const jdk = await open(track(publisher(h, 'svc-a-pod-1')))
    jdk.ws.send(envelope(SVC_A, 1, AT, started('ea')))
    const local = await open(track(publisher(h, 'x', h.server.url)))
    local.ws.send(envelope(SVC_B, 1, AT, started('eb')))
    await waitFor(() => h.hub.producers().length === 2, 'both producers')
    for (const origin of ['http://evil.com', 'http://localhost.evil.com', 'null', 'http://localhost:8080']) {
      const evil = track(publisher(h, 'x', origin))
      await evil.opened
      expect(await evil.closed).toEqual({ code: 1008, reason: 'Origin not allowed' })
    }
    expect(h.hub.producers()).toHaveLength(2)
  })
})

describe('fairness', () => {
  it('a burst bigger than the per-turn budget is paused and resumed, not lost; timers still run meanwhile', async () => {
    const h = await hubServer()
    const b = track(browser(h))
    await frames(b, 1)
    const p = await open(track(publisher(h)))
    const burst = Array.from({ length: 6000 }, (_, i) => envelope(SVC_A, i + 1, AT, taskStarted(1, 'x', 'A')))
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    for (const e of burst) p.ws.send(e)
    await waitFor(() => h.hub.producers()[0]?.lastSequence === 6000, 'whole burst', 4000)
    clearInterval(timer)
    expect(h.hub.producers()[0]).toMatchObject({ sequenceGaps: 0, diagnostics: { frames: 6000, malformed: 0, unknown: 0, oversize: 0 } })
    await waitFor(() => b.frames.length === 6002, 'burst relayed', 4000)
    expect(b.frames.slice(2)).toEqual(burst)
    expect(ticks).toBeGreaterThan(0)
  })
})

describe('slow browsers', () => {
  it('a browser that stops reading is dropped once its queue passes the limit; ingest and the other browser carry on', async () => {
    const h = await hubServer({ maxBrowserQueueBytes: 64 * 1024 })
    const fast = track(browser(h))
    const slow = track(browser(h))
    await frames(fast, 1)
    await frames(slow, 1)
    // Stop reading: the server's socket buffers fill, then its ws send queue grows.
    ;(slow.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const p = await open(track(publisher(h)))
    const big = 'w'.repeat(8 * 1024)
    let sent = 0
    const t0 = Date.now()
    while (h.hub.counters().slowBrowsersDropped === 0 && Date.now() - t0 < 3000) {
      for (let i = 0; i < 100; i++) p.ws.send(envelope(SVC_A, ++sent, AT, taskStarted(sent, big, 'A')))
      await sleep(5)
    }
    expect(h.hub.counters().slowBrowsersDropped).toBe(1)
    expect(h.hub.clientCount()).toBe(1)
    // Everything sent reached the hub and the fast browser, in order.
    await waitFor(() => h.hub.producers()[0]?.lastSequence === sent, 'all ingested', 3000)
    await waitFor(() => fast.frames.length === sent + 2, 'fast browser got everything', 3000)
    expect(JSON.parse(fast.frames.at(-1)!).sequence).toBe(sent)
    expect(fast.ws.readyState).toBe(fast.ws.OPEN)
  })
})
