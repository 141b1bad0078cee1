// Vigil's hand-written OTLP protobuf encoder, checked two ways: its bytes decode (protobufjs, the official
// OTLP proto definitions as compiled in @opentelemetry/otlp-transformer 0.52; also the transcription in
// test/fixtures/otlp-proto) to exactly the model it was given, and the official
// OpenTelemetry JS SDK's own serializer's bytes decode with the same schema to what the SDK's spans
// hold — and Vigil's encoding of those same spans decodes to the same values.
import { context, SpanKind, SpanStatusCode, trace, type AttributeValue } from '@opentelemetry/api'
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { OtlpAnyValue, OtlpKeyValue, OtlpSpan, OtlpTraceRequest } from '../../../src/main/otel/otlp-model'
import { encodeTraceRequestJson } from '../../../src/main/otel/export/otlp-json-encode'
import { encodeTraceRequestProtobuf } from '../../../src/main/otel/export/otlp-protobuf-encode'
import { attrs, spanIdFor, traceIdFor } from '../../../src/main/otel/export/span-common'
import { decodeTraceRequest, spansOf } from './proto-decode'

const T0 = 1_780_000_000_123_456_789n

function sampleRequest(): OtlpTraceRequest {
  const traceId = traceIdFor('test', 'run-1')
  const long = 'x'.repeat(200) + 'é'.repeat(10_000) // a length over 127 and over 16383 bytes
  const root: OtlpSpan = {
    traceId,
    spanId: spanIdFor(traceId, 'root'),
    parentSpanId: '',
    flags: 1,
    name: 'run nightly 🚀',
    kind: 1,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + 5_000_000_000n,
    attributes: [
      ...attrs({ 'vigil.run.id': 'r:1', 'n.int': 42, 'n.neg': -7, 'n.double': 0.125, ok: false, empty: '', list: ['a', 'b'] }),
      { key: 'n.big', value: { intValue: 9_007_199_254_740_993n } },
      { key: 'n.min', value: { intValue: -(2n ** 63n) } },
      { key: 'bytes', value: { bytesValue: new Uint8Array([0, 1, 254, 255]) } },
      { key: 'nested', value: { kvlistValue: { values: [{ key: 'inner', value: { arrayValue: { values: [{ intValue: 0n }, { doubleValue: -1.5 }, {}] } } }] } } },
      { key: 'long', value: { stringValue: long } },
      { key: 'zero', value: { intValue: 0n } }
    ],
    events: [{ timeUnixNano: T0 + 1n, name: 'exception', attributes: attrs({ 'exception.message': 'boom ✗' }) }],
    links: [{ traceId: traceIdFor('test', 'other'), spanId: spanIdFor(traceId, 'x'), attributes: attrs({ why: 'follows' }), flags: 1 }],
    status: { code: 2, message: 'failed' }
  }
  const child: OtlpSpan = {
    traceId,
    spanId: spanIdFor(traceId, 'child'),
    parentSpanId: root.spanId,
    name: 'chat',
    kind: 3,
    startTimeUnixNano: T0 + 10n,
    endTimeUnixNano: T0 + 20n,
    attributes: attrs({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 120 }),
    events: [],
    links: [],
    droppedAttributesCount: 3
  }
  return {
    resourceSpans: [
      {
        resource: { attributes: attrs({ 'service.name': 'vigil', 'host.name': 'box' }) },
        scopeSpans: [{ scope: { name: 'vigil.export', version: '0.1.0' }, spans: [root, child], schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' }]
      }
    ]
  }
}

describe('OTLP protobuf encoder', () => {
  it('decodes with the official OTLP proto definitions to exactly the model it was given', () => {
    const request = sampleRequest()
    const bytes = encodeTraceRequestProtobuf(request)
    expect(decodeTraceRequest(bytes, 'official')).toEqual(request)
    // The test transcription of the schema reads the same bytes the same way.
    expect(decodeTraceRequest(bytes, 'transcription')).toEqual(request)
  })

  it('gives the same bytes for the same model (idempotent re-export)', () => {
    expect(Buffer.from(encodeTraceRequestProtobuf(sampleRequest())).equals(Buffer.from(encodeTraceRequestProtobuf(sampleRequest())))).toBe(true)
  })

  it('round-trips arbitrary spans (property)', () => {
    const hexId = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'))
    const leaf: fc.Arbitrary<OtlpAnyValue> = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 300 }).map((stringValue) => ({ stringValue })),
      fc.boolean().map((boolValue) => ({ boolValue })),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((intValue) => ({ intValue })),
      fc.double({ noNaN: true }).map((doubleValue) => ({ doubleValue: Object.is(doubleValue, -0) ? 0 : doubleValue })),
      fc.uint8Array({ maxLength: 40 }).map((bytesValue) => ({ bytesValue }))
    )
    const value: fc.Arbitrary<OtlpAnyValue> = fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }).map((values) => ({ arrayValue: { values } })))
    const kv: fc.Arbitrary<OtlpKeyValue> = fc.record({ key: fc.string({ minLength: 1, maxLength: 40 }), value })
    const spanArb: fc.Arbitrary<OtlpSpan> = fc.record({
      traceId: hexId(16),
      spanId: hexId(8),
      parentSpanId: fc.oneof(fc.constant(''), hexId(8)),
      name: fc.string({ maxLength: 200 }),
      kind: fc.integer({ min: 0, max: 5 }),
      startTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      endTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      attributes: fc.array(kv, { maxLength: 12 }),
      events: fc.array(fc.record({ timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), name: fc.string({ maxLength: 30 }), attributes: fc.array(kv, { maxLength: 3 }) }), { maxLength: 3 }),
      links: fc.constant([])
    })
    fc.assert(
      fc.property(fc.array(spanArb, { minLength: 1, maxLength: 20 }), (spans) => {
        const request: OtlpTraceRequest = { resourceSpans: [{ scopeSpans: [{ spans }] }] }
        expect(spansOf(decodeTraceRequest(encodeTraceRequestProtobuf(request)))).toEqual(spans)
      }),
      { numRuns: 150 }
    )
  })
})

// ------------------------------------------------------------------------------------------------
// The official SDK.

const hrNanos = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])

function sdkValue(v: AttributeValue): OtlpAnyValue {
  if (typeof v === 'string') return { stringValue: v }
  if (typeof v === 'boolean') return { boolValue: v }
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: BigInt(v) } : { doubleValue: v }
  return { arrayValue: { values: (v as unknown[]).map((x) => sdkValue(x as AttributeValue)) } }
}

/** A ReadableSpan in Vigil's model, written from the SDK's span objects (not from any bytes). */
function modelOf(s: ReadableSpan): OtlpSpan {
  const ctx = s.spanContext()
  const out: OtlpSpan = {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? '',
    // The SDK's flags: W3C trace flags plus "has is-remote" (0x100), and is-remote (0x200) for a remote parent.
    flags: (ctx.traceFlags & 0xff) | 0x100 | (s.parentSpanContext?.isRemote ? 0x200 : 0),
    name: s.name,
    kind: s.kind + 1,
    startTimeUnixNano: hrNanos(s.startTime),
    endTimeUnixNano: hrNanos(s.endTime),
    attributes: Object.entries(s.attributes).map(([key, v]) => ({ key, value: sdkValue(v as AttributeValue) })),
    events: s.events.map((e) => ({ timeUnixNano: hrNanos(e.time), name: e.name, attributes: Object.entries(e.attributes ?? {}).map(([key, v]) => ({ key, value: sdkValue(v as AttributeValue) })) })),
    links: [],
    status: s.status.message ? { code: s.status.code, message: s.status.message } : { code: s.status.code }
  }
  return out
}

function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer('vigil-test', '1.0.0')
  const start = 1_780_000_000_000
  const root = tracer.startSpan('invoke_agent planner', { kind: SpanKind.INTERNAL, startTime: start, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner', ratio: 0.5, retries: 3, tags: ['a', 'b'] } })
  const ctx = trace.setSpan(context.active(), root)
  const chat = tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT, startTime: start + 10, attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 80, 'gen_ai.provider.name': 'openai' } }, ctx)
  chat.end(start + 900)
  const tool = tracer.startSpan('execute_tool search', { startTime: start + 950, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' } }, ctx)
  tool.addEvent('exception', { 'exception.type': 'ToolFailed', 'exception.message': 'timeout ✗' }, start + 990)
  tool.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' })
  tool.end(start + 1000)
  root.setStatus({ code: SpanStatusCode.OK })
  root.end(start + 1200)
  return exporter.getFinishedSpans()
}

describe('OTLP protobuf encoder against the official OpenTelemetry JS SDK', () => {
  it('the SDK serializer’s bytes decode with the official definitions to what its spans hold', () => {
    const spans = sdkSpans()
    const bytes = ProtobufTraceSerializer.serializeRequest(spans)!
    const decoded = decodeTraceRequest(bytes)
    expect(spansOf(decoded)).toEqual(spans.map(modelOf))
    expect(decoded.resourceSpans[0]!.scopeSpans[0]!.scope).toEqual({ name: 'vigil-test', version: '1.0.0' })
  })

  it('Vigil’s encoding of the same spans decodes to the same values as the SDK’s', () => {
    const spans = sdkSpans()
    const fromSdk = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(spans)!)
    const ours = decodeTraceRequest(encodeTraceRequestProtobuf({ resourceSpans: [{ resource: fromSdk.resourceSpans[0]!.resource, scopeSpans: [{ scope: { name: 'vigil-test', version: '1.0.0' }, spans: spans.map(modelOf) }] }] }))
    expect(ours).toEqual(fromSdk)
  })

  it('OTLP/JSON: the same fields as the SDK’s JSON serializer', () => {
    const spans = sdkSpans()
    const sdk = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!)) as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] }
    const ours = JSON.parse(new TextDecoder().decode(encodeTraceRequestJson({ resourceSpans: [{ scopeSpans: [{ spans: spans.map(modelOf) }] }] }))) as typeof sdk
    const norm = (s: Record<string, unknown>) => ({
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId ?? '',
      name: s.name,
      kind: s.kind,
      flags: s.flags,
      start: String(s.startTimeUnixNano),
      end: String(s.endTimeUnixNano),
      attributes: (s.attributes as { key: string; value: Record<string, unknown> }[]).map((a) => [a.key, JSON.stringify(Object.entries(a.value).map(([k, v]) => [k, typeof v === 'number' && k === 'intValue' ? String(v) : v]))]),
      events: ((s.events as { name: string; timeUnixNano: unknown }[]) ?? []).map((e) => [e.name, String(e.timeUnixNano)]),
      status: JSON.stringify({ code: (s.status as { code?: number })?.code ?? 0, message: (s.status as { message?: string })?.message ?? '' })
    })
    expect(ours.resourceSpans[0]!.scopeSpans[0]!.spans.map(norm)).toEqual(sdk.resourceSpans[0]!.scopeSpans[0]!.spans.map(norm))
  })
})

describe('OTLP protobuf encoder: bad ids', () => {
  it('refuses an id that is not hex instead of sending garbage', () => {
    const good = sampleRequest()
    for (const traceId of ['abc', 'zz'.repeat(16), `${'0'.repeat(30)}g1`]) {
      const request: OtlpTraceRequest = { resourceSpans: [{ scopeSpans: [{ spans: [{ ...spansOf(good)[0]!, traceId }] }] }] }
      expect(() => encodeTraceRequestProtobuf(request)).toThrow(/not a hex id/)
    }
  })
})
