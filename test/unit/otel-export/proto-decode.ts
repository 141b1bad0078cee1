// Test helper: decodes OTLP trace protobuf bytes into Vigil's model (src/main/otel/otlp-model.ts) with
// the official OTLP proto definitions — the opentelemetry-proto messages as compiled by protobufjs in
// @opentelemetry/otlp-transformer 0.52 (devDependency `otlp-official-proto`, which still shipped them) —
// or with the test transcription of the schema (test/fixtures/otlp-proto/otlp-trace.proto).
import { createRequire } from 'node:module'
import { join } from 'node:path'
import protobuf from 'protobufjs'
import type { OtlpAnyValue, OtlpKeyValue, OtlpSpan, OtlpTraceRequest } from '../../../src/main/otel/otlp-model'

const PROTO = join(__dirname, '../../fixtures/otlp-proto/otlp-trace.proto')

let root: protobuf.Root | null = null
function schema(): protobuf.Root {
  root ??= protobuf.loadSync(PROTO)
  return root
}

type Obj = Record<string, unknown>

const hex = (b: unknown): string => (b instanceof Uint8Array ? Buffer.from(b).toString('hex') : '')

function anyValue(v: Obj | undefined): OtlpAnyValue {
  if (!v) return {}
  if ('stringValue' in v) return { stringValue: v.stringValue as string }
  if ('boolValue' in v) return { boolValue: v.boolValue as boolean }
  if ('intValue' in v) return { intValue: BigInt(v.intValue as string) }
  if ('doubleValue' in v) return { doubleValue: v.doubleValue as number }
  if ('arrayValue' in v) return { arrayValue: { values: (((v.arrayValue as Obj).values as Obj[]) ?? []).map(anyValue) } }
  if ('kvlistValue' in v) return { kvlistValue: { values: (((v.kvlistValue as Obj).values as Obj[]) ?? []).map(keyValue) } }
  if ('bytesValue' in v) return { bytesValue: new Uint8Array(v.bytesValue as Uint8Array) }
  return {}
}

function keyValue(kv: Obj): OtlpKeyValue {
  return { key: (kv.key as string) ?? '', value: anyValue(kv.value as Obj | undefined) }
}

const optional = (n: unknown): number | undefined => (typeof n === 'number' && n !== 0 ? n : undefined)

function span(s: Obj): OtlpSpan {
  const out: OtlpSpan = {
    traceId: hex(s.traceId),
    spanId: hex(s.spanId),
    parentSpanId: hex(s.parentSpanId),
    name: (s.name as string) ?? '',
    kind: (s.kind as number) ?? 0,
    startTimeUnixNano: BigInt((s.startTimeUnixNano as string) ?? '0'),
    endTimeUnixNano: BigInt((s.endTimeUnixNano as string) ?? '0'),
    attributes: ((s.attributes as Obj[]) ?? []).map(keyValue),
    events: ((s.events as Obj[]) ?? []).map((e) => {
      const ev = { timeUnixNano: BigInt((e.timeUnixNano as string) ?? '0'), name: (e.name as string) ?? '', attributes: ((e.attributes as Obj[]) ?? []).map(keyValue) }
      const dropped = optional(e.droppedAttributesCount)
      return dropped ? { ...ev, droppedAttributesCount: dropped } : ev
    }),
    links: ((s.links as Obj[]) ?? []).map((l) => {
      const link: OtlpSpan['links'][number] = { traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: ((l.attributes as Obj[]) ?? []).map(keyValue) }
      if (l.traceState) link.traceState = l.traceState as string
      if (optional(l.droppedAttributesCount)) link.droppedAttributesCount = l.droppedAttributesCount as number
      if (optional(l.flags)) link.flags = l.flags as number
      return link
    })
  }
  if (s.traceState) out.traceState = s.traceState as string
  if (optional(s.flags)) out.flags = s.flags as number
  if (optional(s.droppedAttributesCount)) out.droppedAttributesCount = s.droppedAttributesCount as number
  if (optional(s.droppedEventsCount)) out.droppedEventsCount = s.droppedEventsCount as number
  if (optional(s.droppedLinksCount)) out.droppedLinksCount = s.droppedLinksCount as number
  if (s.status) {
    const st = s.status as Obj
    out.status = { code: (st.code as number) ?? 0 }
    if (st.message) out.status.message = st.message as string
  }
  return out
}

interface StaticMessage {
  decode(bytes: Uint8Array): unknown
  toObject(message: unknown, options: Record<string, unknown>): Obj
}

/** The official definitions' ExportTraceServiceRequest (static code generated from opentelemetry-proto). */
function officialRequestType(): StaticMessage {
  const root = createRequire(__filename)('otlp-official-proto/build/src/generated/root.js') as {
    opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: StaticMessage } } } } }
  }
  return root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest
}

/**
 * Decodes an ExportTraceServiceRequest with the official OTLP proto definitions (default) or the test
 * transcription; throws on bytes the schema cannot read.
 */
export function decodeTraceRequest(bytes: Uint8Array, schemaOf: 'official' | 'transcription' = 'official'): OtlpTraceRequest {
  const options = { longs: String, bytes: Uint8Array, defaults: false, oneofs: false }
  let o: Obj
  if (schemaOf === 'official') {
    const type = officialRequestType()
    o = type.toObject(type.decode(bytes), options)
  } else {
    const type = schema().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
    o = type.toObject(type.decode(bytes), options) as Obj
  }
  return {
    resourceSpans: ((o.resourceSpans as Obj[]) ?? []).map((rs) => ({
      ...(rs.resource ? { resource: { attributes: (((rs.resource as Obj).attributes as Obj[]) ?? []).map(keyValue) } } : {}),
      scopeSpans: ((rs.scopeSpans as Obj[]) ?? []).map((ss) => {
        const scope = ss.scope as Obj | undefined
        return {
          ...(scope ? { scope: { name: (scope.name as string) ?? '', ...(scope.version ? { version: scope.version as string } : {}) } } : {}),
          spans: ((ss.spans as Obj[]) ?? []).map(span),
          ...(ss.schemaUrl ? { schemaUrl: ss.schemaUrl as string } : {})
        }
      }),
      ...(rs.schemaUrl ? { schemaUrl: rs.schemaUrl as string } : {})
    }))
  }
}

/** Every span of a request, in order. */
export function spansOf(request: OtlpTraceRequest): OtlpSpan[] {
  return request.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))
}

/** An ExportTraceServiceResponse with a partial success, as a collector would send it (protobuf). */
export function encodeTraceResponse(rejectedSpans: number, errorMessage: string): Uint8Array {
  const type = schema().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse')
  return type.encode(type.create({ partialSuccess: { rejectedSpans, errorMessage } })).finish()
}
