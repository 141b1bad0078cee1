// The hub's browser side (`/ws`, spec §7): fan-out of every frame to every browser without letting
// one slow reader hold memory or time, heartbeats, ping → pong, and decisions handed to the hub.
//
// Slow-browser policy (SECURITY.md): before each batch, a browser's unsent data (ws bufferedAmount)
// is compared with its limit, maxBrowserQueueBytes (plus the size of its hub_hello while that is
// still draining). A browser is dropped when its backlog
//  * has stayed over the limit for SLOW_GRACE_MS (it is not reading, or reads slower than the stream), or
//  * passes the limit plus (SLOW_HARD_FACTOR − 1) × maxBrowserQueueBytes at any moment,
// so a browser holds at most SLOW_HARD_FACTOR × maxBrowserQueueBytes (16 MiB by default; plus its
// hub_hello while that drains) plus one batch (the frames of one ingress read, ~64 KiB, or one
// POSTed envelope). The grace keeps a browser that keeps up on average through a short stall (a GC
// pause, a descheduled tab) during a burst of several MiB. A dropped browser is terminated at once
// — a close frame would queue behind the backlog, so the client sees 1006 — and counted
// (slowBrowsersDropped); it reconnects and gets a fresh, bounded hub_hello. Ingest and the other
// browsers never wait for it.
//
// Frames broadcast while one chunk of ingress data is processed are batched (flushed in a
// microtask), encoded once as consecutive WebSocket text frames, and that one buffer is written to
// every browser's socket: one write per batch and browser instead of two per frame, and dropping
// a slow browser costs one pending write per batch, not per frame. Safe because Vigil's sockets
// use no compression, so ws itself writes every frame straight to the same socket, in call order.
import type { Duplex } from 'node:stream'
import WebSocket from 'ws'
import type { RawData } from 'ws'
import { parseClientFrame, serializeServerMessage } from '../../shared/protocol/agentensemble'

/** A browser whose backlog stays over its limit this long is dropped. */
export const SLOW_GRACE_MS = 1000

/** A browser whose backlog passes this many times its limit is dropped at once. */
export const SLOW_HARD_FACTOR = 4

/** Close for a browser refused while the others hold more than maxTotalQueueBytes unsent. */
export const HUB_BUSY_CLOSE = { code: 1013, reason: 'Hub busy: too much unsent data, try again later' } as const

export interface BrowserFanoutOptions {
  maxQueueBytes: number
  /**
   * Bytes of hub_hello frames still pinned by browsers that have not read them (each distinct frame
   * counted once: browsers joining the same state share one) beyond which a new browser is refused
   * with 1013 before a hello is built for it.
   */
  maxTotalQueueBytes?: number
  heartbeatMs: number
  now: () => number
  /** A browser's review_decision: the reviewId and the frame's exact text. */
  onDecision: (reviewId: string, frameText: string) => void
  /** A browser came or went. */
  onCountChanged: () => void
}

interface Browser {
  /** The upgraded TCP socket under `ws`; batches are written to it directly. */
  socket: Duplex
  /** Unsent bytes tolerated right now: the queue limit, plus the hello while it drains. */
  allowance: number
  /** performance.now() when the backlog was first seen over `allowance`; null while within it. */
  overSince: number | null
  /** The hub_hello sent to it, until its backlog fell to maxQueueBytes (then null: read, or nearly). */
  hello: string | Buffer | null
  /** performance.now() of the latest frame, ping or pong from the browser (see sweepIdle). */
  lastTrafficAt: number
  lastPingAt: number
}

export class BrowserFanout {
  private readonly browsers = new Map<WebSocket, Browser>()
  private readonly heartbeat: NodeJS.Timeout | null
  private dropped = 0
  private busy = 0
  /** Counts every broadcast (with or without browsers): the hub_hello cache is valid while it stays the same. */
  generation = 0
  private batch: Buffer[] = []
  private flushQueued = false

  constructor(private readonly opts: BrowserFanoutOptions) {
    // Fixed rate, first beat one period after start, like the embedded dashboard (§4); the hub has none.
    this.heartbeat =
      opts.heartbeatMs > 0
        ? setInterval(() => this.broadcast(serializeServerMessage({ type: 'heartbeat', serverTimeMs: opts.now() })), opts.heartbeatMs)
        : null
    this.heartbeat?.unref()
  }

  get count(): number {
    return this.browsers.size
  }

  get slowDropped(): number {
    return this.dropped
  }

  /** Browsers refused with HUB_BUSY_CLOSE. */
  get busyRefused(): number {
    return this.busy
  }

  /**
   * Registers an accepted browser and sends it `hello()`. Frames still batched are flushed first, so
   * they are neither lost for nor duplicated to the newcomer (the hello already contains them).
   */
  add(ws: WebSocket, socket: Duplex, hello: () => string | Buffer): void {
    this.flush()
    if (this.opts.maxTotalQueueBytes !== undefined && this.pinnedHelloBytes() > this.opts.maxTotalQueueBytes) {
      // Browsers that do not read would otherwise each pin a hub_hello of up to 32 MiB.
      this.busy++
      ws.close(HUB_BUSY_CLOSE.code, HUB_BUSY_CLOSE.reason)
      this.opts.onCountChanged()
      return
    }
    const text = hello()
    const helloBytes = typeof text === 'string' ? Buffer.byteLength(text) : text.length
    const browser: Browser = { socket, allowance: this.opts.maxQueueBytes + helloBytes, overSince: null, hello: text, lastTrafficAt: performance.now(), lastPingAt: 0 }
    this.browsers.set(ws, browser)
    const alive = () => {
      browser.lastTrafficAt = performance.now()
    }
    ws.on('pong', alive)
    ws.on('ping', alive)
    ws.on('message', (data: RawData, isBinary: boolean) => {
      alive()
      if (!isBinary) this.onFrame(ws, rawText(data))
    })
    ws.on('close', () => {
      if (this.browsers.delete(ws)) this.opts.onCountChanged()
    })
    // A Buffer is sent as a text frame without a copy: browsers that join the same state share it.
    ws.send(text, { binary: false })
    this.opts.onCountChanged()
  }

  /** Queues one text frame (a string, or UTF-8 bytes sent as text without re-encoding) for every browser. */
  broadcast(frame: string | Buffer): void {
    this.generation++
    if (this.browsers.size === 0) return
    const data = typeof frame === 'string' ? Buffer.from(frame) : frame
    this.batch.push(data)
    if (!this.flushQueued) {
      this.flushQueued = true
      queueMicrotask(() => this.flush())
    }
  }

  /** Writes the queued frames to every browser that can take them; drops the ones that cannot. */
  flush(): void {
    this.flushQueued = false
    const frames = this.batch
    if (frames.length === 0) return
    this.batch = []
    const payload = encodeTextFrames(frames)
    const now = performance.now()
    for (const [ws, browser] of this.browsers) {
      if (ws.readyState !== WebSocket.OPEN) continue
      // Judged on the backlog before this batch, so one large batch never drops a browser that keeps up.
      const queued = ws.bufferedAmount
      if (queued <= this.opts.maxQueueBytes) browser.allowance = this.opts.maxQueueBytes
      if (queued <= browser.allowance) {
        browser.overSince = null
      } else {
        browser.overSince ??= now
        const hardCap = browser.allowance + (SLOW_HARD_FACTOR - 1) * this.opts.maxQueueBytes
        if (queued > hardCap || now - browser.overSince >= SLOW_GRACE_MS) {
          this.dropSlow(ws)
          continue
        }
      }
      browser.socket.write(payload)
    }
  }

  /** Bytes of distinct hellos that browsers have not read yet (a browser is done once its backlog is within maxQueueBytes). */
  private pinnedHelloBytes(): number {
    const pinned = new Set<string | Buffer>()
    for (const [ws, browser] of this.browsers) {
      if (browser.hello === null) continue
      if (ws.bufferedAmount <= this.opts.maxQueueBytes) browser.hello = null
      else pinned.add(browser.hello)
    }
    let bytes = 0
    for (const hello of pinned) bytes += typeof hello === 'string' ? Buffer.byteLength(hello) : hello.length
    return bytes
  }

  /**
   * Liveness: pings browsers quiet for `pingMs` (browsers answer pings by themselves) and terminates
   * those silent for `idleTimeoutMs` (a dead peer, or a raw socket that upgraded and reads nothing).
   * Returns how many were terminated.
   */
  sweepIdle(now: number, idleTimeoutMs: number, pingMs: number): number {
    let closed = 0
    for (const [ws, browser] of this.browsers) if (checkSocketIdle(ws, browser, now, idleTimeoutMs, pingMs)) closed++
    return closed
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.batch = []
    for (const ws of this.browsers.keys()) ws.terminate()
    this.browsers.clear()
  }

  private dropSlow(ws: WebSocket): void {
    this.browsers.delete(ws)
    this.dropped++
    ws.terminate()
    this.opts.onCountChanged()
  }

  private onFrame(ws: WebSocket, text: string): void {
    // Unknown or malformed input is ignored silently and the socket stays open (§1.5).
    const parsed = parseClientFrame(text)
    if (!parsed.ok) return
    if (parsed.message.type === 'ping') {
      if (ws.readyState === WebSocket.OPEN) ws.send(serializeServerMessage({ type: 'pong' }))
      return
    }
    this.opts.onDecision(parsed.message.reviewId, text)
  }
}

/** Unmasked, unfragmented server→client text frames (RFC 6455 §5.2), back to back in one buffer. */
export function encodeTextFrames(payloads: readonly Buffer[]): Buffer {
  let size = 0
  for (const p of payloads) size += headerSize(p.length) + p.length
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (const p of payloads) {
    out[at++] = 0x81 // FIN + opcode 1 (text)
    if (p.length < 126) {
      out[at++] = p.length
    } else if (p.length < 65536) {
      out[at++] = 126
      out.writeUInt16BE(p.length, at)
      at += 2
    } else {
      out[at++] = 127
      out.writeBigUInt64BE(BigInt(p.length), at)
      at += 8
    }
    at += p.copy(out, at)
  }
  return out
}

function headerSize(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10
}

export function rawText(data: RawData): string {
  return rawBuffer(data).toString('utf8')
}

export function rawBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return Buffer.from(data)
  return data
}

/** Shared by /ingress channels and /ws browsers: ping a quiet socket, terminate a silent one. */
export function checkSocketIdle(
  ws: WebSocket,
  state: { lastTrafficAt: number; lastPingAt?: number },
  now: number,
  idleTimeoutMs: number,
  pingMs: number
): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false
  const silent = now - state.lastTrafficAt
  if (silent >= idleTimeoutMs) {
    // A dead peer would never read a close frame: terminate frees the socket at once.
    ws.terminate()
    return true
  }
  if (silent >= pingMs && now - (state.lastPingAt ?? 0) >= pingMs) {
    state.lastPingAt = now
    ws.ping()
  }
  return false
}
