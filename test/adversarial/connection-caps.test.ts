// Connection caps (issue 10 §4): at most 256 WebSockets on each of /ingress, /ws and /api/events and
// 700 in all (well under a 1,024 file limit); beyond, the upgrade is answered HTTP 503 with the
// reason, counted per route in GET /api/status ("connections") and, for hub routes, in the hub
// counters. A closed socket frees its place. The server keeps serving throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { CONNECTION_LIMITS } from '../../src/main/server/connection-limits'
import { freshHello, heapMiB, loopProbe, openMany, startBounded, status, tryOpen } from './bounds-support'
import type { Bounded } from './bounds-support'
import { LOOPBACK_ORIGIN, waitFor } from './support'

let v: Bounded
beforeAll(async () => {
  v = await startBounded()
})
afterAll(async () => {
  await v.close()
})

async function mustOpen(path: string, origin?: string): Promise<WebSocket> {
  const r = await tryOpen(`${v.wsUrl}${path}`, origin)
  if (!('ws' in r)) throw new Error(`${path} refused: ${r.status} ${r.body}`)
  return r.ws
}

describe('connection caps (defaults)', () => {
  it('256 per route and 700 in all; the next upgrade gets 503 with the reason; counted; a freed place is reusable; the server stays responsive', async () => {
    expect(CONNECTION_LIMITS).toMatchObject({ ingress: 256, ws: 256, events: 256, websockets: 700 })
    const heap0 = heapMiB()
    const probe = loopProbe()
    const publishers = await openMany(256, () => mustOpen('/ingress'))
    const browsers = await openMany(256, () => mustOpen('/ws', LOOPBACK_ORIGIN))
    const renderers = await openMany(188, () => mustOpen('/api/events', v.url))

    // Per route: the 257th publisher.
    const extraPublisher = await tryOpen(`${v.wsUrl}/ingress`)
    expect(extraPublisher.status).toBe(503)
    expect('body' in extraPublisher && extraPublisher.body).toBe('Too many /ingress connections (limit 256).')
    // Overall: /api/events has room (188 of 256) but 700 WebSockets are open.
    const extraRenderer = await tryOpen(`${v.wsUrl}/api/events`, v.url)
    expect(extraRenderer.status).toBe(503)
    expect('body' in extraRenderer && extraRenderer.body).toBe('Too many WebSocket connections (limit 700).')
    const extraBrowser = await tryOpen(`${v.wsUrl}/ws`, LOOPBACK_ORIGIN)
    expect(extraBrowser.status).toBe(503)

    // Plain HTTP still answers, with the counts.
    const s = await status(v)
    expect(s.connections.open).toEqual({ ingress: 256, ws: 256, events: 188, other: 0, total: 700 })
    expect(s.connections.refused).toMatchObject({ ingress: 1, ws: 1, events: 1 })
    expect(s.hub.connectionsRefused).toBe(2)
    expect(s.hub.ingressConnections).toBe(256)
    expect(s.clients).toBe(256 + 188)

    // A closed socket frees its place: a fresh browser gets its hub_hello.
    browsers.pop()!.close()
    await waitFor(() => v.server.connections().open.total === 699, 'a place freed')
    const { ms: helloMs } = await freshHello(v)
    expect(helloMs).toBeLessThan(2000)
    const { stall, max } = probe.stopBoth()
    const heap1 = heapMiB()
    expect(stall).toBeLessThan(100)
    // 700 sockets on both ends live in this process: a bound on the whole, not a per-socket figure.
    expect(heap1 - heap0).toBeLessThan(32)
    console.log('connection-caps:', JSON.stringify({ open: 700, stallMs: Math.round(stall), wallMaxMs: Math.round(max), heapGrowthMiB: Math.round(heap1 - heap0), helloMs: Math.round(helloMs) }))

    for (const ws of [...publishers, ...browsers, ...renderers]) ws.terminate()
    await waitFor(() => v.server.connections().open.total === 0, 'all closed', 10_000)
    expect((await status(v)).connections.open.total).toBe(0)
    // Everything is admitted again once the sockets are gone.
    const again = await mustOpen('/ingress')
    again.close()
  })
})

describe('connection caps (small, per route)', () => {
  it('refusals on one route leave the others open; a refused upgrade never reaches the hub', async () => {
    const small = await startBounded({ limits: { ingress: 3, ws: 2, events: 2, websockets: 6 } })
    try {
      const pubs = await Promise.all([0, 1, 2].map(() => tryOpen(`${small.wsUrl}/ingress`)))
      expect(pubs.map((r) => r.status)).toEqual([101, 101, 101])
      const fourth = await tryOpen(`${small.wsUrl}/ingress`)
      expect(fourth.status).toBe(503)
      expect(small.hub.counters().ingressConnections).toBe(3)
      // /ws has its own cap.
      await freshHello(small)
      const s = await status(small)
      expect(s.connections.refused.ingress).toBe(1)
      expect(s.connections.limits).toEqual({ ingress: 3, ws: 2, events: 2, websockets: 6, sockets: CONNECTION_LIMITS.sockets })
      for (const r of pubs) if ('ws' in r) r.ws.close()
    } finally {
      await small.close()
    }
  })
})
