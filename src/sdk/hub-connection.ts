// One publisher socket to a Vigil hub's `/ingress` (AgentEnsemble protocol spec §7): envelopes out, review
// decisions (`{reviewId, decisionJson}`) in. Bounded buffer while disconnected (oldest dropped and counted),
// reconnects with backoff, and a hook to re-announce what must survive a reconnect (pending reviews).
// Plain Node: `ws` and node builtins only.
import WebSocket from 'ws'

/** Counters of one hub connection ({@link Hub.stats}). */
export interface HubStats {
  /** The socket is open now. */
  connected: boolean
  /** Envelopes written to the socket. */
  sent: number
  /** Envelopes waiting for the socket (at most `maxBuffered`). */
  buffered: number
  /** Envelopes dropped because the buffer was full while disconnected (oldest first). */
  dropped: number
  /** Successful reconnections after a drop. */
  reconnects: number
  /** The last connection error, in words; null while all is well. */
  lastError: string | null
}

export interface ConnectionOptions {
  url: string
  token: string | null
  maxBuffered: number
  /** Called on every frame from the hub (review decisions). */
  onFrame: (text: string) => void
  /** Called after each reconnection, before the buffer is flushed. */
  onReconnect: () => void
}

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 16000, 30000]
/** Frames the hub refuses above this size (its maxFrameBytes); refused here with a clear error instead. */
export const MAX_FRAME_BYTES = 1024 * 1024

export class HubConnection {
  private ws: WebSocket | null = null
  private readonly queue: string[] = []
  private closed = false
  private attempt = 0
  private timer: NodeJS.Timeout | null = null
  private readonly drainWaiters: Array<() => void> = []
  readonly counters: HubStats = { connected: false, sent: 0, buffered: 0, dropped: 0, reconnects: 0, lastError: null }

  constructor(private readonly opts: ConnectionOptions) {}

  /** Opens the first connection: resolves once open, rejects (and gives up) when it cannot be made. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = this.socket()
      const fail = (err: Error) => {
        ws.removeAllListeners()
        ws.on('error', () => undefined)
        ws.terminate()
        this.closed = true
        reject(new Error(`Cannot connect to Vigil's hub at ${this.opts.url}: ${describe(err)}`))
      }
      ws.once('error', fail)
      ws.once('open', () => {
        ws.off('error', fail)
        this.attach(ws)
        resolve()
      })
    })
  }

  /** Sends one envelope now, or buffers it until the socket is back (dropping the oldest beyond the cap). */
  send(text: string): void {
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
      throw new Error(`An event is over ${MAX_FRAME_BYTES} bytes (Vigil's frame limit); shorten the text you pass to the SDK.`)
    }
    if (this.closed) throw new Error('This hub connection is closed; call connect() again.')
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.queue.length === 0) {
      this.write(this.ws, text)
      return
    }
    this.queue.push(text)
    while (this.queue.length > this.opts.maxBuffered) {
      this.queue.shift()
      this.counters.dropped++
    }
    this.counters.buffered = this.queue.length
  }

  /** Resolves once every envelope sent so far has left this process (or the connection is closed). */
  async flush(): Promise<void> {
    for (;;) {
      const ws = this.ws
      if (this.closed || (this.queue.length === 0 && (!ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount === 0))) return
      if (this.queue.length > 0) await new Promise<void>((r) => this.drainWaiters.push(r))
      else await new Promise((r) => setTimeout(r, 10))
    }
  }

  /** Flushes (up to `timeoutMs`), then closes the socket with 1000 and stops reconnecting. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, timeoutMs).unref())])
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    const ws = this.ws
    this.ws = null
    this.counters.connected = false
    for (const wake of this.drainWaiters.splice(0)) wake()
    if (!ws || ws.readyState === WebSocket.CLOSED) return
    await new Promise<void>((resolve) => {
      const done = setTimeout(() => (ws.terminate(), resolve()), 2000)
      ws.once('close', () => (clearTimeout(done), resolve()))
      ws.close(1000, 'done')
    })
  }

  private socket(): WebSocket {
    const headers: Record<string, string> = this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}
    return new WebSocket(this.opts.url, { headers, maxPayload: 16 * 1024 * 1024, handshakeTimeout: 10_000 })
  }

  private attach(ws: WebSocket): void {
    this.ws = ws
    this.attempt = 0
    this.counters.connected = true
    this.counters.lastError = null
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.opts.onFrame(data.toString())
    })
    ws.on('error', (err) => (this.counters.lastError = describe(err)))
    ws.on('close', () => {
      if (this.ws === ws) this.ws = null
      this.counters.connected = false
      if (!this.closed) this.retryLater()
    })
    this.drain()
  }

  private retryLater(): void {
    const delay = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)]!
    this.timer = setTimeout(() => {
      this.timer = null
      if (this.closed) return
      const ws = this.socket()
      ws.once('open', () => {
        this.counters.reconnects++
        // The hub binds this socket to the producer on its first envelope: the buffered ones, then what
        // onReconnect re-announces (pending reviews), so decisions find this socket again.
        this.attach(ws)
        this.opts.onReconnect()
      })
      ws.on('error', (err) => (this.counters.lastError = describe(err)))
      ws.once('close', () => {
        if (this.ws !== ws && !this.closed) this.retryLater()
      })
    }, delay)
    this.timer.unref()
  }

  private drain(): void {
    const ws = this.ws
    while (ws && ws.readyState === WebSocket.OPEN && this.queue.length > 0) this.write(ws, this.queue.shift()!)
    this.counters.buffered = this.queue.length
    if (this.queue.length === 0) for (const wake of this.drainWaiters.splice(0)) wake()
  }

  private write(ws: WebSocket, text: string): void {
    ws.send(text)
    this.counters.sent++
  }
}

function describe(err: Error): string {
  const m = /Unexpected server response: (\d+)/.exec(err.message)
  if (m?.[1] === '401') return 'the hub wants a token (401): pass { token } or set VIGIL_TOKEN to the ingress token Vigil was started with'
  if (m?.[1] === '403') return 'refused (403): check the URL names the hub as Vigil accepts it'
  if (m) return `the hub answered HTTP ${m[1]} instead of a WebSocket upgrade`
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ECONNREFUSED') return 'connection refused (is "vigil serve" or the desktop app running there?)'
  if (code === 'ENOTFOUND') return 'host not found'
  return err.message
}
