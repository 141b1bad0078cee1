// One publisher connection on `/ingress` (spec §7). AgentEnsemble's WebSocketLiveEventPublisher
// connects to `<hub>/ingress?producerId=…`; the query is ignored and the socket is bound to the
// producer of its first valid envelope. A socket may carry several producers (each is bound to
// the latest socket that carried it); when it closes, each producer it still carries leaves.
//
// Liveness: every frame, ping and pong counts as traffic (`lastTrafficAt`). AgentEnsemble publishers
// send no heartbeat, so the hub pings a socket that has been quiet for a while (checkIdle); a healthy
// publisher's WebSocket stack answers with a pong and is never cut, a dead or silent TCP peer that
// answers nothing is terminated after the idle timeout.
import WebSocket from 'ws'
import type { RawData } from 'ws'
import { checkSocketIdle, rawBuffer } from './browser-fanout'
import type { ProducerChannel } from './producer-roster'
import { emptyDiagnostics } from './types'
import type { HubDiagnostics } from './types'

export interface IngressSink {
  /** A text frame: one envelope. */
  onEnvelope(channel: IngressChannel, text: string, raw: Buffer): void
  /** A frame that is not an envelope at all (binary) or could not be read (oversize). */
  onBadFrame(channel: IngressChannel, kind: 'malformed' | 'oversize'): void
  onClosed(channel: IngressChannel): void
}

export class IngressChannel implements ProducerChannel {
  /** The producer of the first valid envelope; failures are counted here before that. */
  boundProducer: string | null = null
  /** Producers this socket has carried. */
  readonly carried = new Set<string>()
  /** Counted while unbound; moved to the producer when the socket binds. */
  readonly diagnostics: HubDiagnostics = emptyDiagnostics()
  /** Envelopes refused on this socket for a producer id over a cap (LiveHub closes it 1008 past a limit). */
  refusedIds = 0
  /** performance.now() of the latest frame, ping or pong from the peer (or of the upgrade). */
  lastTrafficAt = performance.now()
  lastPingAt = 0

  constructor(
    private readonly ws: WebSocket,
    sink: IngressSink
  ) {
    const alive = () => {
      this.lastTrafficAt = performance.now()
    }
    ws.on('pong', alive)
    ws.on('ping', alive)
    ws.on('message', (data: RawData, isBinary: boolean) => {
      alive()
      if (isBinary) return sink.onBadFrame(this, 'malformed')
      const raw = rawBuffer(data)
      sink.onEnvelope(this, raw.toString('utf8'), raw)
    })
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket with 1009 itself after an over-maxPayload frame.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') sink.onBadFrame(this, 'oversize')
    })
    ws.on('close', () => sink.onClosed(this))
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  send(text: string): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false
    this.ws.send(text)
    return true
  }

  /** Stops reading (TCP back-pressure reaches the publisher, which buffers) until resume(). */
  pause(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.pause()
  }

  resume(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.resume()
  }

  terminate(): void {
    this.ws.terminate()
  }

  /** Closes with a code and a reason (≤ 123 bytes) the publisher can log. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason)
  }

  get closing(): boolean {
    return this.ws.readyState !== WebSocket.OPEN
  }

  /**
   * Liveness check at `now` (performance.now()): true when the socket has been silent for
   * `idleTimeoutMs` and was terminated; otherwise pings it if it has been quiet for `pingMs`.
   */
  checkIdle(now: number, idleTimeoutMs: number, pingMs: number): boolean {
    return checkSocketIdle(this.ws, this, now, idleTimeoutMs, pingMs)
  }
}
