// One WebSocket attachment to an AgentEnsemble dashboard (`hello`) or hub (`hub_hello`):
// connects, feeds frames to the RunTracker, reconnects with backoff and detects stalls.
import WebSocket from 'ws'
import type { RawData } from 'ws'
import { REVIEW_DECISIONS, parseServerFrame, serializeClientMessage } from '../../shared/protocol/agentensemble'
import type { ReviewDecisionMessage, ReviewDecisionValue } from '../../shared/protocol/agentensemble'
import type {
  AttachmentMode,
  AttachmentSourceInfo,
  AttachmentState,
  SourceDiagnostics,
  SourceProblem
} from '../../shared/model/sources'
import type { RunTracker } from './run-tracker'

export type AttachmentStatus = Pick<
  AttachmentSourceInfo,
  'state' | 'mode' | 'problem' | 'lastFrameAt' | 'nextRetryAt' | 'diagnostics'
>

export interface AttachmentOptions {
  sourceId: string
  url: string
  tracker: RunTracker
  onStatus: (status: AttachmentStatus) => void
  /** Reconnect delays; the last one repeats. The viz uses the same schedule. */
  backoffMs?: number[]
  /** Reconnect when nothing (frame or ping reply) has arrived for this long. */
  watchdogMs?: number
  maxFrameBytes?: number
  /** A loopback-bound dashboard rejects a missing Origin (spec §3); this one passes its check. */
  origin?: string
  now?: () => number
}

export const DEFAULT_BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000]
const DEFAULT_WATCHDOG_MS = 45_000
const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
/** Frame counters and lastFrameAt change constantly; tell the owner at most this often. */
const STATUS_THROTTLE_MS = 1000
const CLOSE_GRACE_MS = 1000

export class Attachment {
  private readonly sourceId: string
  private readonly url: string
  private readonly tracker: RunTracker
  private readonly onStatus: (status: AttachmentStatus) => void
  private readonly backoffMs: number[]
  private readonly watchdogMs: number
  private readonly maxFrameBytes: number
  private readonly origin: string
  private readonly now: () => number

  private ws: WebSocket | null = null
  private state: AttachmentState = 'connecting'
  private mode: AttachmentMode = 'unknown'
  private problem: SourceProblem | null = null
  /** What went wrong with the current socket, reported when it closes. */
  private socketProblem: SourceProblem | null = null
  private lastFrameAt: string | null = null
  private nextRetryAt: string | null = null
  private readonly diagnostics: SourceDiagnostics = { frames: 0, malformed: 0, unknown: 0, oversize: 0 }
  private attempt = 0
  private started = false
  private closed = false
  private lastEmit = 0
  private retryTimer: NodeJS.Timeout | null = null
  private watchdogTimer: NodeJS.Timeout | null = null
  private pingTimer: NodeJS.Timeout | null = null
  private statusTimer: NodeJS.Timeout | null = null

  constructor(opts: AttachmentOptions) {
    this.sourceId = opts.sourceId
    this.url = opts.url
    this.tracker = opts.tracker
    this.onStatus = opts.onStatus
    this.backoffMs = opts.backoffMs && opts.backoffMs.length > 0 ? [...opts.backoffMs] : DEFAULT_BACKOFF_MS
    this.watchdogMs = opts.watchdogMs ?? DEFAULT_WATCHDOG_MS
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.origin = opts.origin ?? 'http://localhost'
    this.now = opts.now ?? Date.now
  }

  start(): void {
    if (this.started || this.closed) return
    this.started = true
    this.connect()
  }

  status(): AttachmentStatus {
    return {
      state: this.state,
      mode: this.mode,
      problem: this.problem ? { ...this.problem } : null,
      lastFrameAt: this.lastFrameAt,
      nextRetryAt: this.nextRetryAt,
      diagnostics: { ...this.diagnostics }
    }
  }

  /** Sends a decision for a pending review; false when not connected (the caller may retry). */
  sendReviewDecision(reviewId: string, decision: ReviewDecisionValue, revisedOutput?: string): boolean {
    // The server treats any unknown decision as "exit early": never let a typo through.
    if (typeof reviewId !== 'string' || reviewId === '' || !REVIEW_DECISIONS.includes(decision)) return false
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN) return false
    const message: ReviewDecisionMessage = { type: 'review_decision', reviewId, decision }
    if (typeof revisedOutput === 'string') message.revisedOutput = revisedOutput
    try {
      ws.send(serializeClientMessage(message))
    } catch {
      return false
    }
    this.safely(() => this.tracker.ingest(this.sourceId, null, message, new Date(this.now()).toISOString()))
    return true
  }

  /** Stops reconnecting, closes the socket and clears every timer. */
  close(): Promise<void> {
    this.closed = true
    this.clearTimer('retryTimer')
    this.clearTimer('statusTimer')
    this.stopLiveness()
    this.nextRetryAt = null
    const ws = this.ws
    const done =
      ws === null || ws.readyState === WebSocket.CLOSED
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const kill = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS)
            ws.once('close', () => {
              clearTimeout(kill)
              resolve()
            })
            if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
            else ws.close(1000)
          })
    if (ws === null || ws.readyState === WebSocket.CLOSED) this.finishClose()
    return done.then(() => this.finishClose())
  }

  // -------------------------------------------------------------------------------------------

  private finishClose(): void {
    if (this.state === 'closed') return
    this.ws = null
    this.setState('closed')
    this.safely(() => this.tracker.markSourceDisconnected(this.sourceId))
    this.emit(true)
  }

  private connect(): void {
    this.retryTimer = null
    this.nextRetryAt = null
    if (this.closed) return
    this.socketProblem = null
    let ws: WebSocket
    try {
      ws = new WebSocket(this.url, {
        origin: this.origin,
        maxPayload: this.maxFrameBytes,
        handshakeTimeout: Math.min(this.watchdogMs, 10_000)
      })
    } catch (err) {
      this.problem = {
        code: 'invalid-url',
        message: `Vigil cannot open ${this.url}: ${errorText(err)}.`,
        hint: 'Use a WebSocket URL such as ws://localhost:7329/ws.'
      }
      this.setState('closed')
      this.emit(true)
      return
    }
    this.ws = ws
    this.emit(true)
    ws.on('open', () => this.safely(() => this.onOpen(ws)))
    ws.on('message', (data: RawData, isBinary: boolean) => this.safely(() => this.onMessage(ws, data, isBinary)))
    ws.on('pong', () => this.safely(() => ws === this.ws && this.armWatchdog()))
    ws.on('error', (err: Error) => this.safely(() => this.onError(ws, err)))
    ws.on('close', (code: number, reason: Buffer) => this.safely(() => this.onClose(ws, code, reason.toString())))
  }

  private onOpen(ws: WebSocket): void {
    if (ws !== this.ws || this.closed) return
    this.problem = null
    this.setState('connected')
    this.armWatchdog()
    // Protocol-level pings keep the watchdog fed by hubs, which send no heartbeat (spec §4).
    const every = Math.max(50, Math.floor(this.watchdogMs / 3))
    this.pingTimer = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.ping()
    }, every)
    this.emit(true)
  }

  private onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.ws || this.closed) return
    const receivedAt = new Date(this.now()).toISOString()
    this.diagnostics.frames++
    this.lastFrameAt = receivedAt
    this.armWatchdog()
    if (isBinary) {
      // The protocol is text-only; count and drop, keep the socket.
      this.diagnostics.malformed++
      this.emit(true)
      return
    }
    const parsed = parseServerFrame(rawToString(data))
    if (!parsed.ok) {
      if (parsed.reason === 'malformed') this.diagnostics.malformed++
      else this.diagnostics.unknown++
      this.emit(true)
      return
    }
    const message = parsed.message
    let changed = false
    if (message.type === 'hello' || message.type === 'hub_hello') {
      const mode = message.type === 'hello' ? 'embedded' : 'hub'
      changed = this.mode !== mode || this.attempt !== 0 || this.problem !== null
      this.mode = mode
      // A greeting proves the endpoint works: start the backoff over next time.
      this.attempt = 0
      this.problem = null
    } else if (message.type === 'event' && this.mode === 'unknown') {
      this.mode = 'hub'
      changed = true
    }
    this.tracker.ingest(this.sourceId, null, message, receivedAt)
    this.emit(changed)
  }

  private onError(ws: WebSocket, err: Error): void {
    if (ws !== this.ws || this.closed) return
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.diagnostics.oversize++
    this.socketProblem = describeError(err, this.url, this.maxFrameBytes)
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return
    this.ws = null
    this.stopLiveness()
    if (this.closed) return
    this.safely(() => this.tracker.markSourceDisconnected(this.sourceId))
    this.problem = this.socketProblem ?? describeClose(code, reason, this.url, this.origin)
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    const delay = this.backoffMs[Math.min(this.attempt, this.backoffMs.length - 1)] ?? 1000
    this.attempt++
    this.nextRetryAt = new Date(this.now() + delay).toISOString()
    this.setState('reconnecting')
    this.retryTimer = setTimeout(() => this.safely(() => this.connect()), delay)
    this.emit(true)
  }

  private armWatchdog(): void {
    this.clearTimer('watchdogTimer')
    this.watchdogTimer = setTimeout(() => this.safely(() => this.onStall()), this.watchdogMs)
  }

  private onStall(): void {
    this.watchdogTimer = null
    const ws = this.ws
    if (!ws || this.closed) return
    this.socketProblem = {
      code: 'stalled',
      message: `No data from ${this.url} for ${formatSeconds(this.watchdogMs)}; reconnecting.`,
      hint: 'The agent may be paused or the network dropped the connection. Vigil keeps retrying.'
    }
    // terminate(): a half-open TCP connection would never complete a closing handshake.
    ws.terminate()
  }

  private stopLiveness(): void {
    this.clearTimer('watchdogTimer')
    if (this.pingTimer) clearInterval(this.pingTimer)
    this.pingTimer = null
  }

  private clearTimer(name: 'retryTimer' | 'watchdogTimer' | 'statusTimer'): void {
    const t = this[name]
    if (t) clearTimeout(t)
    this[name] = null
  }

  private setState(state: AttachmentState): void {
    this.state = state
  }

  private emit(force: boolean): void {
    const now = this.now()
    if (!force && now - this.lastEmit < STATUS_THROTTLE_MS) {
      // Make sure the latest counters are reported eventually.
      if (!this.statusTimer && !this.closed) {
        this.statusTimer = setTimeout(() => {
          this.statusTimer = null
          this.emit(true)
        }, STATUS_THROTTLE_MS)
      }
      return
    }
    this.clearTimer('statusTimer')
    this.lastEmit = now
    try {
      this.onStatus(this.status())
    } catch (err) {
      console.error('[vigil] attachment status listener failed:', err)
    }
  }

  /** Socket callbacks must never throw into `ws` (it would crash the process). */
  private safely(fn: () => unknown): void {
    try {
      fn()
    } catch (err) {
      console.error(`[vigil] attachment ${this.sourceId} handler failed:`, err)
    }
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  return data.toString('utf8')
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`
}

const CHECK_AGENT = 'Check that the agent is running and the URL (host, port and the /ws path) is right.'

export function describeError(err: Error, url: string, maxFrameBytes: number): SourceProblem {
  const code = (err as NodeJS.ErrnoException).code
  const host = safeHost(url)
  switch (code) {
    case 'ECONNREFUSED':
      return { code: 'connection-refused', message: `Connection refused at ${url}.`, hint: CHECK_AGENT }
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { code: 'host-not-found', message: `Could not find the host "${host}".`, hint: 'Check the host name in the URL.' }
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return {
        code: 'unreachable',
        message: `Could not reach ${url}.`,
        hint: 'Check that the host is reachable from this machine and that no firewall blocks the port.'
      }
    case 'ECONNRESET':
      return { code: 'connection-reset', message: `The connection to ${url} was reset.`, hint: CHECK_AGENT }
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return {
        code: 'frame-too-large',
        message: `A message larger than ${Math.round(maxFrameBytes / 1024 / 1024)} MB arrived from ${url}; Vigil dropped the connection.`,
        hint: "Lower the server's retained history (maxRetainedRuns) or raise Vigil's frame limit."
      }
  }
  const http = /Unexpected server response: (\d+)/.exec(err.message)
  if (http) {
    return {
      code: 'http-error',
      message: `The server at ${url} answered HTTP ${http[1]} instead of opening a live stream.`,
      hint: 'AgentEnsemble serves its stream on the /ws path (for example ws://localhost:7329/ws); check the path and port.'
    }
  }
  if (/handshake has timed out/i.test(err.message)) {
    return {
      code: 'unreachable',
      message: `No answer from ${url}.`,
      hint: 'Check that the agent is running and that no firewall or proxy holds the connection.'
    }
  }
  return { code: 'connection-error', message: `Connection to ${url} failed: ${err.message}.`, hint: CHECK_AGENT }
}

export function describeClose(code: number, reason: string, url: string, origin: string): SourceProblem {
  if (code === 1008) {
    return {
      code: 'origin-rejected',
      message: `The server at ${url} refused Vigil: ${reason || 'policy violation'} (close code 1008).`,
      hint: `A dashboard bound to localhost only accepts local origins; Vigil sent Origin ${origin}. Use http://localhost as Vigil's origin, or bind the dashboard to a non-loopback host.`
    }
  }
  const why = reason ? `: ${reason}` : ''
  return {
    code: 'connection-closed',
    message: `The server at ${url} closed the connection (code ${code}${why}).`,
    hint: 'Vigil reconnects automatically. If this repeats, check the agent and its logs.'
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname
  } catch {
    return url
  }
}
