// The gate list push through the real web bridge (HTTP + /api/events on a real server): five gates with
// 4 MiB texts once made every push 37 MiB; now each push is a small delta, a window that missed some
// (its socket dropped) refetches a bounded list, and the inbox still gets a gate whole on demand.
import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import type { EventFrame } from '../../../src/shared/api/contract'
import { MAX_REVIEWS_PUSH_BYTES, type ReviewsSnapshot } from '../../../src/shared/model/review-delta'
import { PENDING_TEXT_CHARS } from '../../../src/shared/model/reviews'
import { createWebBridge, type SocketFactory, type WebBridge } from '../../../src/renderer/bridge/web-bridge'
import { ReviewFeed } from '../../../src/renderer/lib/review-feed'
import { waitFor } from '../live/helpers'
import { call, startReviewVigil, type ReviewVigil } from './review-helpers'

const MiB = 1024 * 1024
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

interface Window {
  bridge: WebBridge
  feed: ReviewFeed
  /** UTF-8 bytes of every reviews-changed frame received, in order. */
  pushBytes: number[]
  /** UTF-8 bytes of every listReviews answer. */
  listBytes: number[]
  /** Drops the event socket as a network failure would (the bridge reconnects). */
  dropSocket(): void
  state(): ReviewsSnapshot
}

/** A browser window as the renderer builds it: the web bridge, with the review feed on top. */
function openWindow(v: ReviewVigil): Window {
  const pushBytes: number[] = []
  const listBytes: number[] = []
  let socket: WebSocket | null = null
  const openSocket: SocketFactory = (url) => {
    const ws = new WebSocket(url, { origin: v.base })
    socket = ws
    ws.on('message', (data, binary) => {
      if (binary) return
      const text = data.toString()
      if ((JSON.parse(text) as EventFrame).event === 'reviews-changed') pushBytes.push(Buffer.byteLength(text))
    })
    return ws as never
  }
  const countingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    if (String(input).endsWith('/listReviews')) {
      const text = await res.text()
      listBytes.push(Buffer.byteLength(text))
      return new Response(text, { status: res.status, headers: res.headers })
    }
    return res
  }
  let feed: ReviewFeed | null = null
  const bridge = createWebBridge({
    baseUrl: v.base,
    openSocket,
    fetch: countingFetch,
    reconnectMs: [50],
    // As ReviewsStore.setConnected: every (re)connect refetches.
    onConnectionChange: (connected) => {
      if (connected) void feed?.resync().catch(() => undefined)
    }
  })
  feed = new ReviewFeed({ load: () => bridge.listReviews(), onState: () => undefined })
  const f = feed
  bridge.on('reviews-changed', (delta) => f.push(delta))
  cleanups.push(() => bridge.dispose())
  return {
    bridge,
    feed: f,
    pushBytes,
    listBytes,
    dropSocket: () => socket?.terminate(),
    state: () => {
      if (!f.state) throw new Error('no state yet')
      return f.state
    }
  }
}

/** A gate from an attached agent (each its own source, so its own 16 MiB budget). */
function agentGate(v: ReviewVigil, n: number, text: string): void {
  v.service.reviews.observe(`agent-${n}`, null, {
    type: 'review_requested',
    reviewId: `big-${n}`,
    taskDescription: `Gate ${n}: ${text}`,
    taskOutput: text,
    prompt: text.slice(0, 3 * MiB), // 5 × 11 MiB, so the API gate below still fits the 64 MiB overall cap
    timing: 'AFTER_EXECUTION',
    timeoutMs: 0,
    onTimeout: 'CONTINUE'
  }, new Date().toISOString())
}

describe('the gate list push through the web bridge', () => {
  it('stays small with five gates of 4 MiB texts; the inbox still gets them whole', async () => {
    const v = await startReviewVigil()
    cleanups.push(() => v.close())
    const w = openWindow(v)
    await w.feed.resync()
    await waitFor(() => v.service.events.listenerCount > 0 && w.state() !== null, 'the window connected')
    await new Promise((r) => setTimeout(r, 100)) // the event socket is open

    const text = 'x'.repeat(4 * MiB)
    for (let n = 1; n <= 5; n++) agentGate(v, n, text)
    // What the whole-state push sent for this before: description and prompt were never cut.
    const before = Buffer.byteLength(JSON.stringify({ event: 'reviews-changed', payload: v.service.reviews.state() }))
    await waitFor(() => w.feed.state?.pending.length === 5, 'the five gates in the window')
    // Then one gate at a time, each in its own turn, one through the review API (4 MiB description).
    const api = await call(v, 'POST', '/api/reviews', { taskDescription: `API ${'d'.repeat(4 * MiB - 10)}`, taskOutput: 'o'.repeat(MiB), timeoutMs: 0, onTimeout: 'EXIT_EARLY' })
    expect(api.status).toBe(201)
    const apiId = String(api.body.reviewId)
    await waitFor(() => w.feed.state?.pending.length === 6, 'the API gate in the window')

    expect(before).toBeGreaterThan(35 * MiB)
    expect(w.pushBytes.length).toBeGreaterThanOrEqual(2)
    for (const bytes of w.pushBytes) expect(bytes).toBeLessThanOrEqual(MAX_REVIEWS_PUSH_BYTES + 64)
    expect(w.pushBytes.reduce((a, b) => a + b, 0)).toBeLessThan(before / 50)

    // Every pushed text is cut and marked; the whole gate is one call away.
    const pushed = w.state().pending
    expect(pushed.every((g) => g.truncated === true && g.taskDescription.length <= PENDING_TEXT_CHARS && (g.prompt ?? '').length <= PENDING_TEXT_CHARS)).toBe(true)
    const whole = await w.bridge.getReview(apiId)
    expect(whole.taskDescription).toHaveLength('API '.length + 4 * MiB - 10)
    expect(whole.truncated).toBeUndefined()

    // The list a window fetches is bounded too.
    const list = await w.bridge.listReviews()
    expect(list.pending).toHaveLength(6)
    expect(w.listBytes.at(-1)).toBeLessThan(2 * MiB)

    // Deciding pushes a delta: the gate leaves pending, its outcome arrives cut in the decided list.
    const decided = await w.bridge.decideReview(apiId, 'EDIT', 'r'.repeat(4 * MiB))
    expect(decided.outcome?.revisedOutput).toHaveLength(4 * MiB)
    await waitFor(() => w.feed.state?.recent[0]?.id === apiId, 'the decision in the window')
    expect(w.state().pending.map((g) => g.id)).not.toContain(apiId)
    expect(w.state().recent[0]?.outcome?.revisedOutput?.length).toBeLessThan(PENDING_TEXT_CHARS)
    expect(Math.max(...w.pushBytes)).toBeLessThanOrEqual(MAX_REVIEWS_PUSH_BYTES + 64)
    const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`
    console.log(`reviews-changed: before ${(before / MiB).toFixed(1)} MiB per push; now ${w.pushBytes.map(kib).join(', ')}; listReviews ${w.listBytes.map(kib).join(', ')}`)
  })

  it('a window that missed pushes while its socket was down refetches on reconnect and on a seq gap', async () => {
    const v = await startReviewVigil()
    cleanups.push(() => v.close())
    const w = openWindow(v)
    await w.feed.resync()
    const first = await call(v, 'POST', '/api/reviews', { taskDescription: 'first', taskOutput: 'o', timeoutMs: 0, onTimeout: 'CONTINUE' })
    await waitFor(() => w.feed.state?.pending.length === 1, 'the first gate pushed')
    const loadsBefore = w.feed.loads

    w.dropSocket()
    // Decided and raised while this window hears nothing.
    await call(v, 'POST', `/api/reviews/${String(first.body.reviewId)}`, { decision: 'CONTINUE' })
    await call(v, 'POST', '/api/reviews', { taskDescription: 'second', taskOutput: 'o', timeoutMs: 0, onTimeout: 'CONTINUE' })
    await waitFor(() => w.feed.loads > loadsBefore && w.feed.state?.pending[0]?.taskDescription === 'second', 'the refetch after reconnect')
    expect(w.state().pending).toHaveLength(1)
    expect(w.state().recent.map((g) => g.id)).toEqual([String(first.body.reviewId)])

    // A push that arrives with a gap (one lost on the way) makes the window refetch, not apply it.
    const loads = w.feed.loads
    const seq = w.state().seq
    w.feed.push({ seq: seq + 2, added: [], changed: [], removed: [w.state().pending[0]!.id] })
    await waitFor(() => w.feed.loads === loads + 1 && w.feed.state !== null, 'the refetch after a gap')
    await waitFor(() => w.feed.state?.pending.length === 1, 'the state as the server has it')
  })
})
