// The receiver's OTLP decoders against what the official OpenTelemetry JS serializers write (protobuf
// and OTLP/JSON from the same spans must decode to the same model), and against hostile bytes:
// truncated, wrong wire types, huge lengths, deep nesting — always a clear OtlpDecodeError, never a crash.
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'
import { decodeTraceRequestJson, encodeTraceResponseJson } from '../../../src/main/otel/otlp-json-decode'
import type { OtlpTraceRequest } from '../../../src/main/otel/otlp-model'
import { decodeTraceRequestProtobuf, encodeTraceResponseProtobuf, OtlpDecodeError } from '../../../src/main/otel/otlp-protobuf-decode'

function officialSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'decoder-test', 'deployment.environment': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)]
  })
  const tracer = provider.getTracer('vigil-test', '1.2.3')
  const root = tracer.startSpan('invoke_agent planner', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' } })
  const ctx = trace.setSpan(context.active(), root)
  const chat = tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT }, ctx)
  chat.setAttributes({
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 1234,
    'gen_ai.usage.output_tokens': -7,
    temperature: 0.25,
    streaming: false,
    stop: ['a', 'b'],
    counts: [1, 2, 3]
  })
  chat.addEvent('gen_ai.user.message', { content: 'Plan a trip ✈' })
  chat.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' })
  chat.recordException(new Error('boom'))
  chat.end()
  root.end()
  return exporter.getFinishedSpans()
}

/** The model as plain JSON, keys sorted, absent and default-valued fields dropped (the two encodings differ only there). */
function canonical(req: OtlpTraceRequest): unknown {
  const norm = (v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString()
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
    if (Array.isArray(v)) return v.map(norm)
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k]
        if (x === undefined || x === 0 || x === '' || (Array.isArray(x) && x.length === 0)) continue
        out[k] = norm(x)
      }
      return out
    }
    return v
  }
  return norm(req)
}

describe('OTLP decoders vs the official serializers', () => {
  const spans = officialSpans()
  const pb = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!)
  const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8')

  it('protobuf and JSON of the same spans decode to the same model', () => {
    expect(canonical(decodeTraceRequestProtobuf(pb))).toEqual(canonical(decodeTraceRequestJson(json)))
  })

  it('protobuf keeps ids, parent, kind, times, attributes of every type, events and status', () => {
    const req = decodeTraceRequestProtobuf(pb)
    const rs = req.resourceSpans[0]!
    expect(rs.resource?.attributes.find((a) => a.key === 'service.name')?.value.stringValue).toBe('decoder-test')
    expect(rs.scopeSpans[0]!.scope).toMatchObject({ name: 'vigil-test', version: '1.2.3' })
    const decoded = rs.scopeSpans[0]!.spans
    const chatSdk = spans.find((s) => s.name === 'chat gpt-4o')!
    const rootSdk = spans.find((s) => s.name === 'invoke_agent planner')!
    const chat = decoded.find((s) => s.name === 'chat gpt-4o')!
    expect(chat.traceId).toBe(chatSdk.spanContext().traceId)
    expect(chat.spanId).toBe(chatSdk.spanContext().spanId)
    expect(chat.parentSpanId).toBe(rootSdk.spanContext().spanId)
    expect(decoded.find((s) => s.name === 'invoke_agent planner')!.parentSpanId).toBe('')
    // The API's CLIENT (2) is OTLP's SPAN_KIND_CLIENT (3).
    expect(chat.kind).toBe(3)
    const [sec, nanos] = chatSdk.startTime
    expect(chat.startTimeUnixNano).toBe(BigInt(sec) * 1_000_000_000n + BigInt(nanos))
    const attr = (k: string) => chat.attributes.find((a) => a.key === k)?.value
    expect(attr('gen_ai.usage.input_tokens')).toEqual({ intValue: 1234n })
    expect(attr('gen_ai.usage.output_tokens')).toEqual({ intValue: -7n })
    expect(attr('temperature')).toEqual({ doubleValue: 0.25 })
    expect(attr('streaming')).toEqual({ boolValue: false })
    expect(attr('stop')).toEqual({ arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } })
    expect(chat.events.map((e) => e.name)).toEqual(['gen_ai.user.message', 'exception'])
    expect(chat.events[0]!.attributes[0]!.value.stringValue).toBe('Plan a trip ✈')
    expect(chat.status).toEqual({ code: 2, message: 'rate limited' })
  })

  it('the responses are what the official deserializer reads', () => {
    expect(ProtobufTraceSerializer.deserializeResponse(new Uint8Array(encodeTraceResponseProtobuf(0, '')))).toEqual({})
    const partial = ProtobufTraceSerializer.deserializeResponse(new Uint8Array(encodeTraceResponseProtobuf(3, '3 span(s) refused: why')))
    expect(Number(partial.partialSuccess?.rejectedSpans)).toBe(3)
    expect(partial.partialSuccess?.errorMessage).toBe('3 span(s) refused: why')
    const partialJson = JsonTraceSerializer.deserializeResponse(new TextEncoder().encode(encodeTraceResponseJson(2, 'x')))
    expect(Number(partialJson.partialSuccess?.rejectedSpans)).toBe(2)
  })

  it('every truncation of a valid body decodes or fails with OtlpDecodeError, never anything else', () => {
    let failures = 0
    for (let n = 0; n < pb.length; n++) {
      try {
        decodeTraceRequestProtobuf(pb.subarray(0, n))
      } catch (err) {
        expect(err).toBeInstanceOf(OtlpDecodeError)
        failures++
      }
    }
    // Most prefixes cut a length-delimited field: they must be refused, not half-read silently.
    expect(failures).toBeGreaterThan(pb.length / 2)
  })

  it('random byte flips never crash the decoder', () => {
    let seed = 42
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    for (let i = 0; i < 2000; i++) {
      const copy = Buffer.from(pb)
      for (let k = 0; k < 3; k++) copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256)
      try {
        decodeTraceRequestProtobuf(copy)
      } catch (err) {
        expect(err).toBeInstanceOf(OtlpDecodeError)
      }
    }
  })
})

describe('hostile protobuf', () => {
  it('a length past the end is refused with what it claimed', () => {
    // field 1 (resource_spans), length-delimited, claims 2^31 bytes.
    const body = Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x08, 0x00])
    expect(() => decodeTraceRequestProtobuf(body)).toThrow(/claims 2147483648 bytes but only 1 are left/)
  })

  it('a wrong wire type for a known field is refused, naming the field', () => {
    // resource_spans as a varint.
    expect(() => decodeTraceRequestProtobuf(Buffer.from([0x08, 0x01]))).toThrow(/ExportTraceServiceRequest field 1 has wire type varint, expected length-delimited/)
    // Span.start_time_unix_nano (7) as a varint inside ResourceSpans > ScopeSpans > Span.
    const span = Buffer.from([0x38, 0x01])
    const scope = Buffer.concat([Buffer.from([0x12, span.length]), span])
    const rs = Buffer.concat([Buffer.from([0x12, scope.length]), scope])
    expect(() => decodeTraceRequestProtobuf(Buffer.concat([Buffer.from([0x0a, rs.length]), rs]))).toThrow(/Span field 7 has wire type varint, expected 64-bit/)
  })

  it('groups, field number 0 and over-long varints are refused', () => {
    expect(() => decodeTraceRequestProtobuf(Buffer.from([0x0b]))).toThrow(OtlpDecodeError)
    expect(() => decodeTraceRequestProtobuf(Buffer.from([0x02, 0x00]))).toThrow(/field number 0/)
    expect(() => decodeTraceRequestProtobuf(Buffer.from([0x78, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/longer than 10 bytes/)
  })

  it('unknown fields are skipped', () => {
    // field 15 (varint 5), field 16 (fixed32), then nothing else: an empty request.
    expect(decodeTraceRequestProtobuf(Buffer.from([0x78, 0x05, 0x85, 0x01, 1, 2, 3, 4]))).toEqual({ resourceSpans: [] })
  })

  it('attribute values nested past the bound are refused', () => {
    // AnyValue{array_value{values:[AnyValue{array_value{…}}]}} 40 deep, inside a KeyValue of a Resource.
    let v: Buffer = Buffer.from([0x0a, 0x01, 0x78]) // string "x"
    for (let i = 0; i < 40; i++) {
      const arr = Buffer.concat([Buffer.from([0x0a]), lenOf(v), v])
      v = Buffer.concat([Buffer.from([0x2a]), lenOf(arr), arr])
    }
    const kv = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12]), lenOf(v), v])
    const resource = Buffer.concat([Buffer.from([0x0a]), lenOf(kv), kv])
    const rs = Buffer.concat([Buffer.from([0x0a]), lenOf(resource), resource])
    expect(() => decodeTraceRequestProtobuf(Buffer.concat([Buffer.from([0x0a]), lenOf(rs), rs]))).toThrow(/nested deeper than 32/)
  })
})

function lenOf(b: Buffer): Buffer {
  const out: number[] = []
  let n = b.length
  do {
    let x = n & 0x7f
    n >>>= 7
    if (n) x |= 0x80
    out.push(x)
  } while (n)
  return Buffer.from(out)
}

describe('OTLP/JSON', () => {
  const span = (extra: Record<string, unknown>) =>
    JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'AB'.repeat(16), spanId: '0a'.repeat(8), name: 's', ...extra }] }] }] })

  it('hex ids (any case, kept lowercase), int64 as string or number, enums as ints or names', () => {
    const req = decodeTraceRequestJson(
      span({
        kind: 'SPAN_KIND_CLIENT',
        startTimeUnixNano: '1700000000123456789',
        endTimeUnixNano: 1700000000200000000,
        status: { code: 2 },
        attributes: [
          { key: 'a', value: { intValue: '-9223372036854775808' } },
          { key: 'b', value: { intValue: 5 } },
          { key: 'c', value: { doubleValue: 'NaN' } },
          { key: 'd', value: { bytesValue: 'AQID' } },
          { key: 'e', value: { kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } } }
        ]
      })
    )
    const s = req.resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    expect(s.traceId).toBe('ab'.repeat(16))
    expect(s.kind).toBe(3)
    expect(s.startTimeUnixNano).toBe(1700000000123456789n)
    expect(s.status).toEqual({ code: 2 })
    expect(s.attributes.map((a) => a.value)).toEqual([
      { intValue: -9223372036854775808n },
      { intValue: 5n },
      { doubleValue: NaN },
      { bytesValue: new Uint8Array([1, 2, 3]) },
      { kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } }
    ])
  })

  it('snake_case keys (protobuf JSON mapping) are read too', () => {
    const req = decodeTraceRequestJson(JSON.stringify({ resource_spans: [{ scope_spans: [{ spans: [{ trace_id: '01'.repeat(16), span_id: '02'.repeat(8), parent_span_id: '03'.repeat(8) }] }] }] }))
    expect(req.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.parentSpanId).toBe('03'.repeat(8))
  })

  it('refuses what is not OTLP/JSON, saying where', () => {
    expect(() => decodeTraceRequestJson('{')).toThrow(/not valid JSON/)
    expect(() => decodeTraceRequestJson('[]')).toThrow(/expected an object/)
    expect(() => decodeTraceRequestJson(JSON.stringify({ resourceSpans: {} }))).toThrow(/resourceSpans: expected an array/)
    // Base64 ids (protobuf's default JSON mapping) are not OTLP/JSON.
    expect(() => decodeTraceRequestJson(span({ spanId: 'AAECAwQFBgc=' }))).toThrow(/spans\[0\]\.spanId: expected a hex string/)
    expect(() => decodeTraceRequestJson(span({ startTimeUnixNano: '12.5' }))).toThrow(/startTimeUnixNano: expected an integer/)
    expect(() => decodeTraceRequestJson(span({ kind: 'CLIENT' }))).toThrow(/kind: expected an integer enum/)
    expect(() => decodeTraceRequestJson(span({ attributes: [{ key: 'k', value: { stringValue: 3 } }] }))).toThrow(/attributes\[0\]\.value\.stringValue: expected a string/)
  })
})
