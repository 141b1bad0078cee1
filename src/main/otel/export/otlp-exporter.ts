// Sends spans to an OTLP/HTTP collector: batched (≤ maxBatchSpans spans, or after flushIntervalMs),
// one request at a time, retried with exponential backoff and jitter on 429/502/503/504, network errors
// and timeouts (honouring Retry-After), never on other 4xx. Bounded in memory by spans and estimated
// bytes: at the bound the oldest waiting batch is dropped and counted. `enqueue` never waits and never
// throws: callers (run and session ends) hand spans over and go on.
import { OTLP_PROTOCOLS, otlpTracesUrl, type OtlpExportStatus, type OtlpProtocol } from '../../../shared/model/otlp-export'
import type { OtlpAnyValue, OtlpSpan } from '../otlp-model'
import { encodeTraceRequestJson } from './otlp-json-encode'
import { encodeTraceRequestProtobuf } from './otlp-protobuf-encode'
import { traceRequest, type ExportResource } from './span-common'

export interface OtlpExporterOptions {
  /** Base endpoint (…/v1/traces is added) or the full traces URL. */
  endpoint: string
  protocol?: OtlpProtocol
  /** Extra request headers (e.g. authorization); never logged or shown. */
  headers?: Record<string, string>
  resource: ExportResource
  maxBatchSpans?: number
  flushIntervalMs?: number
  maxQueueSpans?: number
  maxQueueBytes?: number
  requestTimeoutMs?: number
  /** First retry delay; doubles per attempt up to maxBackoffMs; jitter takes it down by up to half. */
  initialBackoffMs?: number
  maxBackoffMs?: number
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs?: number
  now?: () => number
  random?: () => number
}

export const EXPORTER_DEFAULTS = {
  maxBatchSpans: 512,
  flushIntervalMs: 1000,
  maxQueueSpans: 20_000,
  maxQueueBytes: 32 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  maxRetryAfterMs: 120_000
}

const RETRYABLE = new Set([429, 502, 503, 504])

interface Queued {
  span: OtlpSpan
  bytes: number
}

/** A rough size of a span on the wire (protobuf), for the memory bound. */
export function estimateSpanBytes(span: OtlpSpan): number {
  let n = 96 + span.name.length
  const value = (v: OtlpAnyValue): number => {
    if (v.stringValue !== undefined) return v.stringValue.length + 4
    if (v.arrayValue) return v.arrayValue.values.reduce((s, x) => s + value(x), 4)
    if (v.kvlistValue) return v.kvlistValue.values.reduce((s, kv) => s + kv.key.length + value(kv.value) + 4, 4)
    if (v.bytesValue) return v.bytesValue.length + 4
    return 12
  }
  for (const kv of span.attributes) n += kv.key.length + value(kv.value) + 4
  for (const e of span.events) {
    n += e.name.length + 16
    for (const kv of e.attributes) n += kv.key.length + value(kv.value) + 4
  }
  if (span.status?.message) n += span.status.message.length + 4
  return n
}

class RequestFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null
  ) {
    super(message)
  }
}

/** Retry-After: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  return Number.isFinite(at) ? Math.max(0, at - now) : null
}

export class OtlpExporter {
  readonly url: string
  readonly protocol: OtlpProtocol
  private readonly o: Required<Omit<OtlpExporterOptions, 'endpoint' | 'protocol' | 'headers' | 'resource'>>
  private readonly headers: Record<string, string>
  private readonly resource: ExportResource
  /** Waiting spans, oldest first; the head batch may be in flight (`inflight` spans of it). */
  private queue: Queued[] = []
  private head = 0
  private bytes = 0
  private inflight = 0
  private oldestAt: number | null = null
  private timer: NodeJS.Timeout | null = null
  private sending: Promise<void> | null = null
  private attempt = 0
  private retryAt = 0
  private closed = false
  private readonly counts = { sent: 0, retried: 0, dropped: 0, rejected: 0 }
  private state: OtlpExportStatus['state'] = 'idle'
  private lastError: string | null = null
  private lastErrorAt: string | null = null
  private lastSuccessAt: string | null = null

  constructor(opts: OtlpExporterOptions) {
    this.url = otlpTracesUrl(opts.endpoint)
    this.protocol = opts.protocol && OTLP_PROTOCOLS.includes(opts.protocol) ? opts.protocol : 'http/protobuf'
    this.headers = { ...opts.headers }
    this.resource = opts.resource
    this.o = {
      maxBatchSpans: Math.max(1, opts.maxBatchSpans ?? EXPORTER_DEFAULTS.maxBatchSpans),
      flushIntervalMs: Math.max(1, opts.flushIntervalMs ?? EXPORTER_DEFAULTS.flushIntervalMs),
      maxQueueSpans: Math.max(1, opts.maxQueueSpans ?? EXPORTER_DEFAULTS.maxQueueSpans),
      maxQueueBytes: Math.max(1024, opts.maxQueueBytes ?? EXPORTER_DEFAULTS.maxQueueBytes),
      requestTimeoutMs: Math.max(1, opts.requestTimeoutMs ?? EXPORTER_DEFAULTS.requestTimeoutMs),
      initialBackoffMs: Math.max(1, opts.initialBackoffMs ?? EXPORTER_DEFAULTS.initialBackoffMs),
      maxBackoffMs: Math.max(1, opts.maxBackoffMs ?? EXPORTER_DEFAULTS.maxBackoffMs),
      maxRetryAfterMs: Math.max(0, opts.maxRetryAfterMs ?? EXPORTER_DEFAULTS.maxRetryAfterMs),
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random
    }
  }

  /** Hands spans over; returns at once. At the bound the oldest waiting batch is dropped (counted). */
  enqueue(spans: readonly OtlpSpan[]): void {
    if (this.closed) {
      this.counts.dropped += spans.length
      return
    }
    for (const span of spans) {
      const bytes = estimateSpanBytes(span)
      this.queue.push({ span, bytes })
      this.bytes += bytes
    }
    if (this.oldestAt === null && this.size() > 0) this.oldestAt = this.o.now()
    this.enforceBound()
    this.schedule()
  }

  status(): Omit<OtlpExportStatus, 'runsExported' | 'exportFailures'> {
    return {
      url: this.url,
      protocol: this.protocol,
      state: this.state,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      lastSuccessAt: this.lastSuccessAt,
      sent: this.counts.sent,
      queued: this.size(),
      queuedBytes: this.bytes,
      retried: this.counts.retried,
      dropped: this.counts.dropped,
      rejected: this.counts.rejected
    }
  }

  /**
   * Sends what is queued, within `deadlineMs` (retrying as usual while time is left), then stops.
   * What is still queued at the deadline is counted as dropped.
   */
  async shutdown(deadlineMs = 5000): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const deadline = this.o.now() + deadlineMs
    while (this.size() > 0 && this.o.now() < deadline) {
      if (this.sending) {
        await this.raceDeadline(this.sending, deadline)
        continue
      }
      const wait = this.retryAt - this.o.now()
      if (wait > 0) {
        if (this.o.now() + wait >= deadline) break
        await new Promise((r) => setTimeout(r, wait))
      }
      await this.raceDeadline(this.sendBatch(Math.max(1, deadline - this.o.now())), deadline)
    }
    const left = this.size()
    if (left > 0) {
      this.counts.dropped += left
      this.queue = []
      this.head = 0
      this.bytes = 0
      this.inflight = 0
    }
  }

  private async raceDeadline(p: Promise<void>, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - this.o.now()))))])
    clearTimeout(timer)
  }

  private size(): number {
    return this.queue.length - this.head
  }

  /** Drops the oldest batch that is not being sent until the queue fits. */
  private enforceBound(): void {
    while (this.size() > this.o.maxQueueSpans || (this.bytes > this.o.maxQueueBytes && this.size() > this.inflight)) {
      const from = this.head + this.inflight
      const n = Math.min(this.o.maxBatchSpans, this.queue.length - from)
      if (n <= 0) break
      for (let i = from; i < from + n; i++) this.bytes -= this.queue[i]!.bytes
      this.queue.splice(from, n)
      this.counts.dropped += n
    }
    this.compact()
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  private schedule(): void {
    if (this.closed || this.sending || this.timer || this.size() === 0) return
    const now = this.o.now()
    const due = this.size() >= this.o.maxBatchSpans ? now : (this.oldestAt ?? now) + this.o.flushIntervalMs
    const at = Math.max(due, this.retryAt)
    this.timer = setTimeout(
      () => {
        this.timer = null
        this.sending = this.sendBatch(this.o.requestTimeoutMs).finally(() => {
          this.sending = null
          this.schedule()
        })
      },
      Math.max(0, at - now)
    )
    this.timer.unref?.()
  }

  /** Sends the head batch once; on a retryable failure it stays at the head with a backoff set. */
  private async sendBatch(timeoutMs: number): Promise<void> {
    const n = Math.min(this.o.maxBatchSpans, this.size())
    if (n === 0) return
    this.inflight = n
    const spans: OtlpSpan[] = []
    for (let i = this.head; i < this.head + n; i++) spans.push(this.queue[i]!.span)
    try {
      const partial = await this.post(spans, Math.min(timeoutMs, this.o.requestTimeoutMs))
      const rejected = Math.min(n, partial?.rejectedSpans ?? 0)
      this.counts.sent += n - rejected
      this.counts.rejected += rejected
      this.state = 'connected'
      this.lastError = null
      if (partial && (rejected > 0 || partial.errorMessage)) {
        this.lastError = `The collector at ${this.url} accepted the batch but rejected ${rejected} of its ${n} spans${partial.errorMessage ? `: ${partial.errorMessage.slice(0, 200)}` : ''}. Check its limits and logs; those spans are not sent again.`
        this.lastErrorAt = new Date(this.o.now()).toISOString()
      }
      this.lastSuccessAt = new Date(this.o.now()).toISOString()
      this.attempt = 0
      this.retryAt = 0
      this.take(n)
    } catch (err) {
      const failure = err instanceof RequestFailure ? err : new RequestFailure(String(err), true, null)
      this.state = 'failing'
      this.lastErrorAt = new Date(this.o.now()).toISOString()
      if (!failure.retryable) {
        this.counts.rejected += n
        this.lastError = `${failure.message} These ${n} spans are not sent again.`
        this.attempt = 0
        this.retryAt = 0
        this.take(n)
      } else {
        this.attempt++
        this.counts.retried++
        const backoff = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** Math.min(this.attempt - 1, 30))
        const jittered = backoff * (0.5 + this.o.random() / 2)
        const delay = failure.retryAfterMs !== null ? Math.min(this.o.maxRetryAfterMs, failure.retryAfterMs) : jittered
        this.retryAt = this.o.now() + delay
        this.lastError = `${failure.message} Retrying in ${Math.max(1, Math.round(delay / 1000))} s; spans wait in memory meanwhile (up to ${this.o.maxQueueSpans} spans).`
      }
    } finally {
      this.inflight = 0
    }
  }

  private take(n: number): void {
    for (let i = this.head; i < this.head + n; i++) this.bytes -= this.queue[i]!.bytes
    this.head += n
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
      this.bytes = 0
    }
    this.oldestAt = this.size() > 0 ? this.o.now() : null
    this.compact()
  }

  /** Resolves with what a 2xx answer says the collector rejected (OTLP partial success), if anything. */
  private async post(spans: OtlpSpan[], timeoutMs: number): Promise<PartialSuccess | null> {
    const request = traceRequest(this.resource, spans)
    const json = this.protocol === 'http/json'
    const body = json ? encodeTraceRequestJson(request) : encodeTraceRequestProtobuf(request)
    let res: Response
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': json ? 'application/json' : 'application/x-protobuf', 'user-agent': `vigil/${this.resource.serviceVersion}` },
        body,
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (err) {
      throw new RequestFailure(networkProblem(this.url, err, timeoutMs), true, null)
    }
    // The body is small (a partial-success note at most); read it so the connection can be reused.
    const bytes = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)))
    const text = new TextDecoder().decode(bytes)
    if (res.ok) return partialSuccess(bytes, res.headers.get('content-type') ?? '')
    // A readable reason (text or JSON, e.g. from a proxy) is quoted; a protobuf Status body is not.
    const readable = /^(text\/|application\/json)/i.test(res.headers.get('content-type') ?? '')
    const detail = readable ? text.trim().slice(0, 200).replace(/\s+/g, ' ') : ''
    const what = `The collector at ${this.url} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${detail ? ` (${detail})` : ''}.`
    if (RETRYABLE.has(res.status)) throw new RequestFailure(`${what} It is busy or restarting.`, true, parseRetryAfter(res.headers.get('retry-after'), this.o.now()))
    throw new RequestFailure(`${what} ${advice(res.status)}`, false, null)
  }
}

export interface PartialSuccess {
  rejectedSpans: number
  errorMessage: string
}

/**
 * ExportTraceServiceResponse.partial_success (field 1: rejected_spans = 1 int64, error_message = 2), from a
 * protobuf or OTLP/JSON body; null when the body says nothing (an empty body is full success).
 */
export function partialSuccess(body: Uint8Array, contentType: string): PartialSuccess | null {
  if (body.length === 0) return null
  try {
    if (/json/i.test(contentType)) {
      const o = JSON.parse(new TextDecoder().decode(body)) as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } }
      const p = o.partialSuccess
      if (!p) return null
      return { rejectedSpans: Number(p.rejectedSpans ?? 0) || 0, errorMessage: p.errorMessage ?? '' }
    }
    const r = { pos: 0 }
    const varint = (buf: Uint8Array): number => {
      let n = 0
      let mul = 1
      for (let i = 0; i < 10; i++) {
        const b = buf[r.pos++]
        if (b === undefined) throw new Error('truncated')
        n += (b & 0x7f) * mul
        if (b < 0x80) return n
        mul *= 128
      }
      throw new Error('varint too long')
    }
    while (r.pos < body.length) {
      const key = varint(body)
      if (key !== ((1 << 3) | 2)) return null // anything else: not a response we know, treat as success
      const len = varint(body)
      const inner = body.subarray(r.pos, r.pos + len)
      r.pos += len
      const out: PartialSuccess = { rejectedSpans: 0, errorMessage: '' }
      const outer = r.pos
      r.pos = 0
      while (r.pos < inner.length) {
        const k = varint(inner)
        if (k === ((1 << 3) | 0)) out.rejectedSpans = varint(inner)
        else if (k === ((2 << 3) | 2)) {
          const l = varint(inner)
          out.errorMessage = new TextDecoder().decode(inner.subarray(r.pos, r.pos + l))
          r.pos += l
        } else return null
      }
      r.pos = outer
      return out
    }
    return null
  } catch {
    return null
  }
}

function advice(status: number): string {
  if (status === 401 || status === 403) return 'Check the credentials Vigil sends (--otlp-header, e.g. "authorization=Bearer …").'
  if (status === 404 || status === 405) return 'Check the URL: it must be an OTLP/HTTP receiver (Vigil posts to <endpoint>/v1/traces; port 4318 on a Collector).'
  if (status === 413) return 'The batch is too big for it: raise its request size limit.'
  if (status === 415) return 'It does not take this format: try --otlp-protocol http/json (or http/protobuf).'
  return 'Check that the endpoint is an OTLP/HTTP traces receiver.'
}

function networkProblem(url: string, err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } ; message?: string }
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `The collector at ${url} did not answer within ${Math.round(timeoutMs / 1000)} s.`
  const code = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? 'network error'
  return `Cannot reach the collector at ${url} (${code}): is it running, and is the address right?`
}
