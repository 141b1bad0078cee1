// The hub's slow-browser drop policy (browser-fanout.ts, SECURITY.md) decided frame by frame with a
// controlled backlog and clock: over the limit for SLOW_GRACE_MS, or past the hard cap at any moment,
// means dropped; a short stall is survived; other browsers never notice.
import type { Duplex } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type WebSocket from 'ws'
import { BrowserFanout, SLOW_GRACE_MS, SLOW_HARD_FACTOR } from '../../src/main/hub/browser-fanout'

const LIMIT = 1000

interface FakeBrowser {
  ws: WebSocket
  written: number
  terminated: boolean
  backlog: number
}

function fakeBrowser(): FakeBrowser {
  const b: FakeBrowser = { ws: null as unknown as WebSocket, written: 0, terminated: false, backlog: 0 }
  b.ws = {
    OPEN: 1,
    get readyState() {
      return b.terminated ? 3 : 1
    },
    get bufferedAmount() {
      return b.backlog
    },
    on: () => undefined,
    send: () => undefined,
    terminate: () => {
      b.terminated = true
    }
  } as unknown as WebSocket
  return b
}

let clock = 0
afterEach(() => vi.restoreAllMocks())

function setup(helloBytes = 0) {
  clock = 1000
  vi.spyOn(performance, 'now').mockImplementation(() => clock)
  let changes = 0
  const fanout = new BrowserFanout({ maxQueueBytes: LIMIT, heartbeatMs: 0, now: () => 0, onDecision: () => undefined, onCountChanged: () => changes++ })
  const add = (): FakeBrowser => {
    const b = fakeBrowser()
    const socket = { write: () => void b.written++ } as unknown as Duplex
    fanout.add(b.ws, socket, () => 'h'.repeat(helloBytes))
    return b
  }
  const frame = () => {
    fanout.broadcast('{"type":"token"}')
    fanout.flush()
  }
  return { fanout, add, frame, changes: () => changes }
}

describe('hub slow-browser policy', () => {
  it('keeps a browser within the limit, whatever the time', () => {
    const { fanout, add, frame } = setup()
    const b = add()
    for (let i = 0; i < 10; i++) {
      b.backlog = LIMIT
      clock += 10 * SLOW_GRACE_MS
      frame()
    }
    expect(b).toMatchObject({ terminated: false, written: 10 })
    expect(fanout.slowDropped).toBe(0)
  })

  it('survives a stall shorter than the grace (backlog over the limit, under the hard cap), then catches up', () => {
    const { fanout, add, frame } = setup()
    const b = add()
    b.backlog = 3 * LIMIT
    frame()
    clock += SLOW_GRACE_MS - 1
    frame()
    b.backlog = 0 // it read everything
    frame()
    b.backlog = 2 * LIMIT // a second stall starts a fresh grace
    clock += 10
    frame()
    clock += SLOW_GRACE_MS - 1
    frame()
    expect(b).toMatchObject({ terminated: false, written: 5 })
    expect(fanout.slowDropped).toBe(0)
  })

  it('drops a browser whose backlog stays over the limit for the grace period, at the next frame', () => {
    const { fanout, add, frame, changes } = setup()
    const slow = add()
    const fast = add()
    const before = changes()
    slow.backlog = LIMIT + 1
    frame()
    clock += SLOW_GRACE_MS
    frame()
    expect(slow.terminated).toBe(true)
    expect(slow.written).toBe(1)
    expect(fast).toMatchObject({ terminated: false, written: 2 })
    expect(fanout.slowDropped).toBe(1)
    expect(fanout.count).toBe(1)
    expect(changes()).toBe(before + 1)
    frame()
    expect(slow.written).toBe(1) // nothing more is queued for it
  })

  it('drops a browser at once when its backlog passes the hard cap', () => {
    const { fanout, add, frame } = setup()
    const b = add()
    b.backlog = SLOW_HARD_FACTOR * LIMIT
    frame()
    expect(b.terminated).toBe(false)
    b.backlog = SLOW_HARD_FACTOR * LIMIT + 1
    frame()
    expect(b.terminated).toBe(true)
    expect(fanout.slowDropped).toBe(1)
  })

  it('gives a large hub_hello its own room while it drains, on top of the limit', () => {
    const hello = 50 * LIMIT
    const { add, frame } = setup(hello)
    const b = add()
    b.backlog = hello + LIMIT // still draining the hello: within its allowance
    clock += 10 * SLOW_GRACE_MS
    frame()
    expect(b.terminated).toBe(false)
    b.backlog = hello + SLOW_HARD_FACTOR * LIMIT + 1 // the hello plus more than the hard cap
    frame()
    expect(b.terminated).toBe(true)
  })

  it('bounds what a browser can hold: never more than the hard cap plus one batch', () => {
    const { add, frame } = setup()
    const b = add()
    let maxHeld = 0
    // A browser that never reads: every written batch adds to its backlog.
    for (let i = 0; i < 100 && !b.terminated; i++) {
      frame()
      b.backlog = b.written * 300
      maxHeld = Math.max(maxHeld, b.backlog)
      clock += 1
    }
    expect(b.terminated).toBe(true)
    expect(maxHeld).toBeLessThanOrEqual(SLOW_HARD_FACTOR * LIMIT + 300)
  })
})
