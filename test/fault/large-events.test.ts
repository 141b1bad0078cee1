// 16 KB events at 5,000 ev/s into a real `vigil serve` (recording on): none is dropped. When the
// recording falls behind, Vigil pauses the publisher's socket (TCP back-pressure) instead of dropping,
// so every event sent is recorded once, in order.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, recordedToolNames, requireBuild, startVigil, status, stopWith, toolEnvelope, waitUntil } from './vigil-process'

/** CI size; `VIGIL_LARGE_EVENTS=50000` reproduces the full 50,000-event run. */
const EVENTS = Number(process.env.VIGIL_LARGE_EVENTS ?? 5000)
const RATE = 5000

let dir: string
beforeAll(() => {
  requireBuild()
  dir = mkdtempSync(join(tmpdir(), 'vigil-fault-large-'))
})
afterEach(() => killAll())
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('16 KB events at 5,000 ev/s', () => {
  it(`records all ${EVENTS} without a drop`, async () => {
    const data = join(dir, 'data')
    const v = await startVigil(data)
    const publisher = new WebSocket(`${v.ws}/ingress`)
    await new Promise((r) => publisher.once('open', r))
    const started = Date.now()
    let sent = 0
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(EVENTS, Math.floor(((Date.now() - started) / 1000) * RATE))
        for (; sent < due; sent++) publisher.send(toolEnvelope('big', sent + 1, `big-${sent + 1}`, 16_000))
        if (sent >= EVENTS) {
          clearInterval(tick)
          resolve()
        }
      }, 5)
    })
    // Sent from here; Vigil reads as fast as it can record.
    await new Promise<void>((resolve) => {
      const drained = () => (publisher.bufferedAmount === 0 ? resolve() : setTimeout(drained, 20))
      drained()
    })
    const recordedNow = async () => ((await status(v)).recording as { recorded: number }).recorded
    await waitUntil(async () => (await recordedNow()) >= EVENTS, 'everything recorded', 60_000)
    const recording = (await status(v)).recording as { paused: string | null; notRecorded: Record<string, number> }
    expect(recording).toMatchObject({ paused: null, notRecorded: {} })
    publisher.close()
    expect(await stopWith(v, 'SIGTERM')).toBe(0)

    const names = await recordedToolNames(data)
    expect(names).toHaveLength(EVENTS)
    expect(names).toEqual(Array.from({ length: EVENTS }, (_, i) => `big-${i + 1}`))
  }, 120_000)
})
