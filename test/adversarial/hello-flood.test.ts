// Browsers that never read their hub_hello (a bounded but large frame: up to 32 MiB): each used to pin
// its own copy, so 64 raw /ws sockets held 1.1 GB of heap and each hello cost the loop up to 170 ms.
// Now browsers that join the same state share one Buffer, and a new browser is refused with 1013
// while the others hold more than maxBrowsersQueueBytes (256 MiB) unsent.
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { HUB_DEFAULTS } from '../../src/main/hub/types'
import { freshHello, heapMiB, loopProbe, openMany, rawUpgrade, startBounded, status } from './bounds-support'
import type { Bounded } from './bounds-support'
import { LOOPBACK_ORIGIN, waitFor } from './support'

let v: Bounded | null = null
let pub: WebSocket | null = null
afterEach(async () => {
  pub?.close()
  pub = null
  await v?.close()
  v = null
})

const blob = (producerId: string, sequence: number, data: string) =>
  JSON.stringify({ type: 'event', producer: { producerId }, sequence, receivedAt: '2026-03-05T14:00:00Z', message: { type: 'custom_blob', data } })

/** Fills the late-join snapshot with `mib` MiB (8 producers, 64 KiB envelopes); returns a function that changes the state. */
async function fill(b: Bounded, mib: number): Promise<(seq: number) => Promise<void>> {
  const ws = new WebSocket(`${b.wsUrl}/ingress`)
  ws.on('error', () => undefined)
  await new Promise((r) => ws.once('open', r))
  pub = ws
  const pad = 'x'.repeat(64 * 1024)
  const perProducer = (mib * 16) / 8
  for (let p = 0; p < 8; p++) {
    for (let i = 1; i <= perProducer; i++) {
      ws.send(blob(`big-${p}`, i, pad))
      if (i % 8 === 0) await new Promise((r) => setImmediate(r))
    }
  }
  await waitFor(() => b.hub.producers().reduce((n, r) => n + r.lastSequence, 0) === 8 * perProducer, 'snapshot filled', 15_000)
  let total = 8 * perProducer
  return async (seq) => {
    ws.send(blob('big-0', perProducer + seq, 'change'))
    total++
    await waitFor(() => b.hub.producers().reduce((n, r) => n + r.lastSequence, 0) === total, 'change ingested')
  }
}

describe('hub_hello to browsers that do not read', () => {
  it('64 raw /ws sockets joining the same state share one hello: the heap barely grows', async () => {
    expect(HUB_DEFAULTS.maxBrowsersQueueBytes).toBe(256 * 1024 * 1024)
    v = await startBounded({ hub: {} })
    await fill(v, 24)
    const heap0 = heapMiB()
    const buffers0 = process.memoryUsage().arrayBuffers
    const probe = loopProbe()
    const raws = await openMany(64, () => rawUpgrade(v!.port, '/ws', LOOPBACK_ORIGIN, { read: false }), 16)
    expect(new Set(await Promise.all(raws.map((r) => r.status)))).toEqual(new Set([101]))
    await waitFor(() => v!.hub.clientCount() === 64, '64 browsers')
    const { stall, max } = probe.stopBoth()
    const heap1 = heapMiB()
    const buffersMiB = (process.memoryUsage().arrayBuffers - buffers0) / 1048576
    // One ~24 MiB hello Buffer (plus what the sockets still queue of it), not 64 copies (1.1 GB before).
    expect(heap1 - heap0).toBeLessThan(64)
    expect(buffersMiB).toBeLessThan(96)
    console.log('hello-flood/shared:', JSON.stringify({ browsers: 64, heapGrowthMiB: Math.round(heap1 - heap0), buffersMiB: Math.round(buffersMiB), stallMs: Math.round(stall), wallMaxMs: Math.round(max) }))
    for (const r of raws) r.socket.destroy()
  })

  it('when every join sees a new state, browsers past the unsent-bytes budget are refused 1013 and counted; a reader is served once they go', async () => {
    v = await startBounded({ hub: { maxBrowsersQueueBytes: 60 * 1024 * 1024 } })
    const change = await fill(v, 24)
    const raws = []
    for (let i = 0; i < 6; i++) {
      await change(i + 1)
      const r = await rawUpgrade(v.port, '/ws', LOOPBACK_ORIGIN, { read: false })
      expect(await r.status).toBe(101)
      raws.push(r)
    }
    // ~24 MiB each, unread: three pin 72 MiB, past 60 MiB, so the fourth and later are refused.
    await waitFor(() => v!.hub.counters().browsersRefusedBusy >= 3, 'busy refusals')
    expect(v.hub.counters().browsersRefusedBusy).toBe(3)
    expect(v.hub.clientCount()).toBe(3)
    expect((await status(v)).hub.browsersRefusedBusy).toBe(3)
    for (const r of raws) r.socket.destroy()
    await waitFor(() => v!.hub.clientCount() === 0, 'stuck browsers gone')
    const { hello } = await freshHello(v)
    expect(hello.producers.length).toBe(8)
  })
})
