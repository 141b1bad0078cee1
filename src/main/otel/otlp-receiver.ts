// `POST /v1/traces` (OTLP/HTTP 1.x) on Vigil's port: OpenTelemetry traces become Vigil runs.
//
// A request is `application/x-protobuf` or `application/json`, optionally `content-encoding: gzip`
// (inflated with a bound, so a zip bomb is refused 413, not held in memory). Each trace is a run of its
// own (run-tracker source "otel", one producer per trace: `<service.name>/<traceId>`): the first span of
// a trace Vigil has no run for opens it (ensemble_started), every span is journaled as a `vigil_span`
// record (genai-mapping.ts), and the root span closes it (ensemble_completed, failed when the root
// failed). Spans arrive in any order: the run shows what came, and stays "running" until the root does.
//
// Acknowledged only once durable: every record is written to the ingest journal (the hub's path,
// HubDurability) before anything acts on it, and 200 goes out after the last one is durable and
// applied. While recording is paused or behind: 503 with Retry-After, nothing acknowledged (the
// exporter sends the batch again; span ids already kept are not counted twice). Too many requests at
// once: 429 with Retry-After. Spans Vigil will not take (bad ids, over the per-trace bound) are
// answered in `partialSuccess.rejectedSpans` with why, and counted in `GET /api/status` ("otlp").
import type { IncomingMessage, ServerResponse } from 'node:http'
import { promisify } from 'node:util'
import { gunzip as gunzipCb, inflate as inflateCb } from 'node:zlib'
import { formatInstant } from '../../shared/protocol/agentensemble'
import type { ServerMessage, VigilSpanMessage } from '../../shared/protocol/agentensemble'
import type { HubDurability } from '../hub/live-hub'
import type { RunTracker } from '../live/run-tracker'
import { BodyTimeoutError, BodyTooLargeError, readBody } from '../server/json-http'
import { isAllowedRequestOrigin } from '../server/origin-policy'
import type { ServerContext, ServerExtension } from '../server/vigil-server'
import { anyText, attrMap, DEFAULT_MAPPING_LIMITS, mapSpan } from './genai-mapping'
import type { MappingLimits } from './genai-mapping'
import { decodeTraceRequestJson, encodeTraceResponseJson } from './otlp-json-decode'
import type { OtlpSpan, OtlpTraceRequest } from './otlp-model'
import { decodeTraceRequestProtobuf, encodeTraceResponseProtobuf, OtlpDecodeError, varintBytes } from './otlp-protobuf-decode'
import { TraceBook } from './trace-book'
import type { TraceEntry } from './trace-book'

const gunzip = promisify(gunzipCb)
const inflate = promisify(inflateCb)

export const OTLP_TRACES_PATH = '/v1/traces'

/** Run-tracker source of traces received over OTLP. */
export const OTLP_SOURCE_ID = 'otel'

export interface OtlpReceiverOptions {
  tracker: RunTracker
  /** Wire body (compressed or not) past which a request is refused 413. Default 16 MiB. */
  maxBodyBytes?: number
  /** Inflated body past which a gzip request is refused 413. Default 64 MiB. */
  maxDecompressedBytes?: number
  /** Requests being read, decoded or made durable at once; more are answered 429. Default 32. */
  maxInFlight?: number
  /** Spans kept per trace; more are refused (partial success). Default 10,000. */
  maxSpansPerTrace?: number
  /** Traces remembered for totals and the per-trace bound (least recently seen forgotten first). Default 10,000. */
  maxOpenTraces?: number
  mapping?: Partial<MappingLimits>
  now?: () => number
}

type Encoding = 'protobuf' | 'json'

interface Counters {
  requests: number
  spansAccepted: number
  spansRejected: number
  /** Requests refused as a whole, by HTTP status. */
  refused: Record<'400' | '413' | '415' | '429' | '503', number>
  /** Spans refused by reason. */
  rejectedByReason: Record<'badIds' | 'traceFull', number>
  /** Attributes, events and characters dropped by senders or cut by Vigil (summed over spans). */
  droppedInSpans: number
  bytesReceived: number
}

/** The `Content-Type` a request's OTLP body is in, or null (415). */
function encodingOf(contentType: string | undefined): Encoding | null {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (t === 'application/x-protobuf' || t === 'application/protobuf') return 'protobuf'
  if (t === 'application/json') return 'json'
  return null
}

const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/** google.rpc.Status as protobuf: code (1), message (2). */
function statusProtobuf(code: number, message: string): Buffer {
  const msg = Buffer.from(message, 'utf8')
  return Buffer.concat([Buffer.from([0x08, code, 0x12, ...varintBytes(BigInt(msg.length))]), msg])
}

/** gRPC codes of the errors OTLP/HTTP answers (google.rpc.Status.code). */
const GRPC = { invalidArgument: 3, resourceExhausted: 8, unimplemented: 12, unavailable: 14 } as const

export class OtlpReceiver implements ServerExtension {
  private readonly tracker: RunTracker
  private readonly maxBodyBytes: number
  private readonly maxDecompressedBytes: number
  private readonly maxInFlight: number
  private readonly maxSpansPerTrace: number
  private readonly mapping: MappingLimits
  private readonly now: () => number
  private readonly book: TraceBook
  private durability: HubDurability | null = null
  private inFlight = 0
  private closed = false
  private readonly counters: Counters = {
    requests: 0,
    spansAccepted: 0,
    spansRejected: 0,
    refused: { '400': 0, '413': 0, '415': 0, '429': 0, '503': 0 },
    rejectedByReason: { badIds: 0, traceFull: 0 },
    droppedInSpans: 0,
    bytesReceived: 0
  }

  constructor(opts: OtlpReceiverOptions) {
    this.tracker = opts.tracker
    this.maxBodyBytes = opts.maxBodyBytes ?? 16 * 1024 * 1024
    this.maxDecompressedBytes = opts.maxDecompressedBytes ?? 64 * 1024 * 1024
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 32)
    this.maxSpansPerTrace = Math.max(1, opts.maxSpansPerTrace ?? 10_000)
    this.mapping = { ...DEFAULT_MAPPING_LIMITS, ...opts.mapping }
    this.now = opts.now ?? Date.now
    this.book = new TraceBook(Math.max(1, opts.maxOpenTraces ?? 10_000))
  }

  /** Where records are made durable before they are acted on (the recorder, or RecordingOff). */
  useDurability(d: HubDurability | null): void {
    this.durability = d
  }

  // -------------------------------------------------------------------------------------------
  // ServerExtension

  async handleHttp(req: IncomingMessage, res: ServerResponse, path: string, _ctx: ServerContext): Promise<boolean> {
    if (path !== OTLP_TRACES_PATH) return false
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      this.plain(res, 405, 'Use POST with an OTLP ExportTraceServiceRequest.')
      return true
    }
    // Exporters send no Origin; a web page elsewhere must not inject runs (a no-CORS POST needs no preflight).
    if (!isAllowedRequestOrigin(req.headers.origin, undefined, req.headers.host)) {
      this.plain(res, 403, 'Cross-origin requests are not allowed.')
      return true
    }
    this.counters.requests++
    const encoding = encodingOf(req.headers['content-type'])
    if (encoding === null) {
      this.counters.refused['415']++
      req.resume()
      this.fail(res, 'json', 415, GRPC.unimplemented, 'Send OTLP traces as application/x-protobuf or application/json.')
      return true
    }
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
    if (contentEncoding !== 'identity' && contentEncoding !== 'gzip' && contentEncoding !== 'deflate') {
      this.counters.refused['415']++
      req.resume()
      this.fail(res, encoding, 415, GRPC.unimplemented, `Content-Encoding "${contentEncoding.slice(0, 40)}" is not supported: send gzip or none.`)
      return true
    }
    if (this.closed || this.inFlight >= this.maxInFlight) {
      this.counters.refused['429']++
      req.resume()
      res.setHeader('connection', 'close')
      res.setHeader('retry-after', '1')
      this.fail(res, encoding, 429, GRPC.resourceExhausted, 'Vigil is receiving too many trace exports at once. Send this one again in a moment.')
      return true
    }
    this.inFlight++
    try {
      await this.receive(req, res, encoding, contentEncoding)
    } finally {
      this.inFlight--
    }
    return true
  }

  /** `GET /api/status` "otlp": what was received, refused and dropped. */
  statusDetails(): Record<string, unknown> {
    return {
      otlp: {
        path: OTLP_TRACES_PATH,
        ...this.counters,
        refused: { ...this.counters.refused },
        rejectedByReason: { ...this.counters.rejectedByReason },
        tracesRemembered: this.book.size,
        tracesOpen: this.book.openCount(),
        tracesForgotten: this.book.forgotten,
        inFlight: this.inFlight
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true
  }

  // -------------------------------------------------------------------------------------------

  private async receive(req: IncomingMessage, res: ServerResponse, encoding: Encoding, contentEncoding: string): Promise<void> {
    let body: Buffer
    try {
      body = await readBody(req, this.maxBodyBytes)
    } catch (err) {
      if (err instanceof BodyTimeoutError) throw err
      if (!(err instanceof BodyTooLargeError)) throw err
      this.counters.refused['413']++
      res.setHeader('connection', 'close')
      this.fail(res, encoding, 413, GRPC.invalidArgument, `Body over ${this.maxBodyBytes} bytes: send smaller batches.`)
      return
    }
    this.counters.bytesReceived += body.length
    if (contentEncoding !== 'identity') {
      try {
        body = await (contentEncoding === 'gzip' ? gunzip : inflate)(body, { maxOutputLength: this.maxDecompressedBytes })
      } catch (err) {
        const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError
        this.counters.refused[tooBig ? '413' : '400']++
        if (tooBig) this.fail(res, encoding, 413, GRPC.invalidArgument, `Body inflates past ${this.maxDecompressedBytes} bytes: send smaller batches.`)
        else this.fail(res, encoding, 400, GRPC.invalidArgument, `The body is not valid ${contentEncoding} data.`)
        return
      }
    }
    let request: OtlpTraceRequest
    try {
      request = encoding === 'protobuf' ? decodeTraceRequestProtobuf(body) : decodeTraceRequestJson(body.toString('utf8'))
    } catch (err) {
      if (!(err instanceof OtlpDecodeError)) throw err
      this.counters.refused['400']++
      this.fail(res, encoding, 400, GRPC.invalidArgument, err.message)
      return
    }
    const d = this.durability
    if (d && d.congested()) {
      this.counters.refused['503']++
      res.setHeader('retry-after', '1')
      this.fail(res, encoding, 503, GRPC.unavailable, 'Vigil is behind on recording. Nothing from this request was kept; send it again in a moment.')
      return
    }
    const plan = this.plan(request)
    const outcome = await this.makeDurable(plan.records)
    if (outcome !== null) {
      this.counters.refused['503']++
      res.setHeader('retry-after', '5')
      this.fail(res, encoding, 503, GRPC.unavailable, `${outcome}. The spans were not acknowledged; send them again later.`)
      return
    }
    this.counters.spansAccepted += plan.accepted
    this.counters.spansRejected += plan.rejected
    this.counters.droppedInSpans += plan.dropped
    const message = plan.rejected > 0 ? plan.reasons.join(' ') : ''
    if (encoding === 'protobuf') {
      const out = encodeTraceResponseProtobuf(plan.rejected, message)
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': out.length, 'cache-control': 'no-store' })
      res.end(out)
    } else {
      const out = encodeTraceResponseJson(plan.rejected, message)
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'cache-control': 'no-store' })
      res.end(out)
    }
  }

  /** The records one request adds, trace by trace in arrival order: opening, spans, closing. */
  private plan(request: OtlpTraceRequest): { records: PlannedRecord[]; accepted: number; rejected: number; dropped: number; reasons: string[] } {
    const nowNanos = BigInt(this.now()) * 1_000_000n
    const byTrace = new Map<string, { producerId: string; service: string; spans: VigilSpanMessage[]; root: VigilSpanMessage | null; entry: TraceEntry }>()
    let accepted = 0
    let badIds = 0
    let full = 0
    let dropped = 0
    for (const rs of request.resourceSpans) {
      const service = anyText(attrMap(rs.resource?.attributes).get('service.name')) || 'unknown_service'
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          if (!usableIds(span)) {
            badIds++
            continue
          }
          let t = byTrace.get(span.traceId)
          if (!t) {
            // A trace is one run even when its spans come from several services: the first service seen names it.
            const e = this.book.entry(span.traceId, producerIdOf(service, span.traceId), service)
            t = { producerId: e.producerId, service: e.service, spans: [], root: null, entry: e }
            byTrace.set(span.traceId, t)
          }
          const entry = t.entry
          if (entry.spans >= this.maxSpansPerTrace) {
            full++
            continue
          }
          entry.spans++
          const record = mapSpan(span, { service, nowNanos }, this.mapping)
          dropped += record.dropped
          if (record.category === 'tool') entry.toolCalls++
          entry.tokens += (record.inputTokens ?? 0) + (record.outputTokens ?? 0)
          t.spans.push(record)
          if (record.parentSpanId === null) t.root = record
          accepted++
        }
      }
    }
    const records: PlannedRecord[] = []
    for (const [traceId, t] of byTrace) {
      if (t.spans.length === 0) continue
      const entry = t.entry
      attributeToAgents(t.spans, entry)
      if (!entry.startPending && this.tracker.currentRunId(OTLP_SOURCE_ID, t.producerId) === null) {
        let first = t.spans[0]!.startedAt
        let firstKey = Date.parse(first)
        for (const s of t.spans) {
          const k = Date.parse(s.startedAt)
          if (k < firstKey) [first, firstKey] = [s.startedAt, k]
        }
        entry.startPending = true
        records.push({
          producerId: t.producerId,
          service: t.service,
          message: { type: 'ensemble_started', ensembleId: traceId, startedAt: first, totalTasks: 0, workflow: t.service },
          onApplied: () => (entry.startPending = false),
          onFailed: () => (entry.startPending = false)
        })
      }
      for (const s of t.spans) records.push({ producerId: t.producerId, service: t.service, message: s })
      if (t.root) {
        entry.rootSeen = true
        const root = t.root
        records.push({
          producerId: t.producerId,
          service: t.service,
          message: {
            type: 'ensemble_completed',
            ensembleId: traceId,
            completedAt: root.endedAt,
            durationMs: Math.round(root.durationMs),
            exitReason: root.status === 'ERROR' ? 'ERROR' : 'COMPLETED',
            totalTokens: entry.tokens,
            totalToolCalls: entry.toolCalls
          }
        })
      }
    }
    this.counters.rejectedByReason.badIds += badIds
    this.counters.rejectedByReason.traceFull += full
    const reasons: string[] = []
    if (badIds) reasons.push(`${badIds} span(s) refused: a trace id must be 16 bytes and a span id 8 bytes, not all zero.`)
    if (full) reasons.push(`${full} span(s) refused: a trace may have at most ${this.maxSpansPerTrace} spans in Vigil.`)
    return { records, accepted, rejected: badIds + full, dropped, reasons }
  }

  /**
   * Journals every record, then applies them in order once all are durable. Resolves null when all were,
   * or why not (nothing of this request is acknowledged then; what was durable is applied all the same).
   */
  private makeDurable(records: PlannedRecord[]): Promise<string | null> {
    const receivedAt = formatInstant(this.now())
    const d = this.durability
    if (!d) {
      for (const r of records) this.apply(r, receivedAt)
      return Promise.resolve(null)
    }
    if (records.length === 0) return Promise.resolve(null)
    return new Promise((resolve) => {
      let pending = records.length
      let problem: string | null = null
      // Applied together once the request's last record is durable (its records are contiguous in the
      // journal, so journal order is kept), in one tracker batch: each run touched is reported once.
      const durable: { seq: number; r: PlannedRecord; text: string }[] = []
      const done = () => {
        if (--pending !== 0) return
        this.tracker.batch(() => {
          for (const x of durable) d.applyJournaled(x.seq, () => this.apply(x.r, receivedAt), { message: x.r.message, text: x.text })
        })
        resolve(problem)
      }
      let sequence = 0
      for (const r of records) {
        // Plain JSON.stringify (the hub's envelope shape, any key order): the journal replays it with parseEnvelope.
        const message = JSON.stringify(r.message)
        const text = `{"type":"event","producer":${JSON.stringify({ producerId: r.producerId, serviceName: r.service })},"sequence":${++sequence},"receivedAt":"${receivedAt}","message":${message}}`
        const seq = d.journalEnvelope(OTLP_SOURCE_ID, r.producerId, text, receivedAt, (journaled, err) => {
          if (err) {
            problem ??= `Recording paused: ${err.message}`
            r.onFailed?.()
          } else durable.push({ seq: journaled, r, text: message })
          done()
        })
        if (seq === null) {
          problem ??= d.pausedText() ?? 'Recording paused'
          r.onFailed?.()
          done()
        }
      }
    })
  }

  private apply(r: PlannedRecord, receivedAt: string): void {
    try {
      this.tracker.ingest(OTLP_SOURCE_ID, r.producerId, r.message, receivedAt)
    } catch (err) {
      console.error('vigil otlp: run tracker failed:', err)
    }
    r.onApplied?.()
  }

  /** Answers an OTLP error: google.rpc.Status in the request's encoding. */
  private fail(res: ServerResponse, encoding: Encoding, status: number, grpcCode: number, message: string): void {
    if (encoding === 'protobuf') {
      const out = statusProtobuf(grpcCode, message)
      res.writeHead(status, { 'content-type': 'application/x-protobuf', 'content-length': out.length, 'cache-control': 'no-store' })
      res.end(out)
      return
    }
    const out = JSON.stringify({ code: grpcCode, message })
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'cache-control': 'no-store' })
    res.end(out)
  }

  private plain(res: ServerResponse, status: number, message: string): void {
    const out = JSON.stringify({ ok: false, error: { code: status === 403 ? 'forbidden' : 'bad-request', message } })
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(out), 'cache-control': 'no-store' })
    res.end(out)
  }
}

interface PlannedRecord {
  producerId: string
  service: string
  message: ServerMessage
  onApplied?: () => void
  onFailed?: () => void
}

/**
 * A span that names no agent is attributed to its nearest agent ancestor's (`gen_ai.agent.name`), found
 * among the batch's spans and the trace's agent spans seen before (children usually arrive first, in
 * the same batch as their agent).
 */
function attributeToAgents(spans: VigilSpanMessage[], entry: TraceEntry): void {
  const byId = new Map<string, VigilSpanMessage>()
  for (const s of spans) {
    byId.set(s.spanId, s)
    if (s.agentName !== null) entry.agentBySpan.set(s.spanId, s.agentName)
  }
  for (const s of spans) {
    if (s.agentName !== null) continue
    let parent = s.parentSpanId
    for (let depth = 0; parent !== null && depth < 64; depth++) {
      const known = entry.agentBySpan.get(parent)
      if (known !== undefined) {
        s.agentName = known
        break
      }
      parent = byId.get(parent)?.parentSpanId ?? null
    }
  }
  // Bounded: the oldest agents of a very long trace are forgotten.
  while (entry.agentBySpan.size > MAX_AGENTS_PER_TRACE) entry.agentBySpan.delete(entry.agentBySpan.keys().next().value as string)
}

const MAX_AGENTS_PER_TRACE = 256

function usableIds(span: OtlpSpan): boolean {
  return (
    span.traceId.length === 32 &&
    span.traceId !== ZERO_TRACE &&
    span.spanId.length === 16 &&
    span.spanId !== ZERO_SPAN &&
    (span.parentSpanId === '' || span.parentSpanId.length === 16)
  )
}

/** `<service.name>/<traceId>`, within the hub's producer id rules (≤ 128 characters, well-formed; run ids stay under 200). */
export function producerIdOf(service: string, traceId: string): string {
  const name = service
    .slice(0, 60)
    // eslint-disable-next-line no-control-regex -- control characters are what is being removed
    .replace(/[\u0000-\u001f]/g, ' ')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
  return `${name}/${traceId}`
}
