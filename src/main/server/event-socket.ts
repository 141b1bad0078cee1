import type { WebSocket } from 'ws'
import { parseWatchRuns, type EventFrame } from '../../shared/api/contract'
import type { EventHub } from '../core/event-hub'

// Slow-client policy of the web bridge's event socket (`/api/events`), see SECURITY.md:
//  * before each frame, the browser's unsent data (ws bufferedAmount: Node's socket buffer plus ws's
//    own queue, not counting what the kernel already holds) is checked; past MAX_QUEUED_BYTES the
//    browser is dropped, so one tab that stops reading holds at most MAX_QUEUED_BYTES plus one frame
//    and never makes the server, ingest or the other browsers wait;
//  * dropping = stop sending it anything, start a close with 1013 "Client too slow" (the renderer's
//    bridge reconnects and refetches on any close), and destroy the socket if the close frame,
//    queued behind the backlog, has not gone through within SLOW_CLOSE_GRACE_MS (a client that
//    reads nothing at all then sees 1006). The backlog is freed then, not after ws's 30 s close timeout.
// Run deltas (`run-delta`) go only to a browser that watches the run: it says so with one small frame
// `{"watchRuns":[…]}` (the only thing a browser sends here); they wait in its own bounded queue
// (src/main/live/run-feed.ts) while its socket is backed up, and are dropped, with a gap it is told of,
// past that queue's bound.

/** Largest frame a browser may send on the event socket (a watch request); larger ones are ignored. */
const MAX_CLIENT_FRAME_BYTES = 4096

/** A browser that stops reading gets dropped once this much is queued, so it cannot stall the others. */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024

/** Close sent to a browser that fell behind by more than MAX_QUEUED_BYTES. */
export const SLOW_CLIENT_CLOSE = { code: 1013, reason: 'Client too slow' } as const

/** How long a dropped browser has to take its close frame before its socket is destroyed. */
export const SLOW_CLOSE_GRACE_MS = 2000

/**
 * Liveness (as on the hub's /ws): a socket quiet for `pingMs` is pinged (browsers answer by
 * themselves); one that sent nothing, not even a pong, for `timeoutMs` is terminated, so a dead
 * peer does not hold its place under the connection cap until TCP notices.
 */
export const EVENTS_IDLE = { pingMs: 30_000, timeoutMs: 120_000 } as const

/**
 * EventHub hands the same frame object to every listener: it is serialized once, not once per
 * browser (a frame listing every pending review, sent to 100 tabs, would otherwise cost 100 stringifies).
 */
const serialized = new WeakMap<object, string>()

function frameText(frame: object): string {
  let text = serialized.get(frame)
  if (text === undefined) {
    text = JSON.stringify(frame)
    serialized.set(frame, text)
  }
  return text
}

/** Streams push events to one browser over the web bridge's event socket. */
export function attachEventSocket(
  ws: WebSocket,
  events: EventHub,
  idle: { pingMs: number; timeoutMs: number; onIdleClose?: () => void } = EVENTS_IDLE
): void {
  let lastTrafficAt = performance.now()
  let lastPingAt = 0
  const alive = () => {
    lastTrafficAt = performance.now()
  }
  ws.on('pong', alive)
  ws.on('ping', alive)
  const liveness = setInterval(
    () => {
      if (ws.readyState !== ws.OPEN) return
      const now = performance.now()
      if (now - lastTrafficAt >= idle.timeoutMs) {
        clearInterval(liveness)
        ws.terminate()
        idle.onIdleClose?.()
      } else if (now - lastTrafficAt >= idle.pingMs && now - lastPingAt >= idle.pingMs) {
        lastPingAt = now
        ws.ping()
      }
    },
    Math.max(50, Math.min(10_000, Math.floor(idle.pingMs / 3)))
  )
  liveness.unref()
  ws.on('close', () => clearInterval(liveness))
  const unsubscribe = events.subscribe((frame) => {
    if (ws.readyState !== ws.OPEN) return
    // Judged on the backlog before this frame, so one large frame never drops a browser that keeps up.
    if (ws.bufferedAmount > MAX_QUEUED_BYTES) {
      dropSlow()
      return
    }
    ws.send(frameText(frame))
  })
  function dropSlow(): void {
    unsubscribe()
    ws.close(SLOW_CLIENT_CLOSE.code, SLOW_CLIENT_CLOSE.reason)
    setTimeout(() => ws.terminate(), SLOW_CLOSE_GRACE_MS).unref()
  }
  const runs = events.runFeed.connect({
    send: (delta) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event: 'run-delta', payload: delta } satisfies EventFrame<'run-delta'>))
    },
    backlogBytes: () => ws.bufferedAmount
  })
  ws.on('close', unsubscribe)
  ws.on('error', unsubscribe)
  ws.on('close', () => runs.close())
  // Clients only choose their runs here; anything else they send is ignored (but counts as traffic).
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    alive()
    if (isBinary) return
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8')
    if (text.length > MAX_CLIENT_FRAME_BYTES) return
    let frame: unknown
    try {
      frame = JSON.parse(text)
    } catch {
      return
    }
    const ids = frame && typeof frame === 'object' ? parseWatchRuns((frame as { watchRuns?: unknown }).watchRuns) : null
    if (ids) runs.watch(ids)
  })
}
