// OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions): ids as hex strings, enums as numbers,
// 64-bit integers (times, intValue) as decimal strings, bytes as base64, field names in lowerCamelCase,
// default values left out. The `application/json` body of `POST /v1/traces`.
import type { OtlpAnyValue, OtlpKeyValue, OtlpSpan, OtlpTraceRequest } from '../otlp-model'

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

function doubleJson(n: number): Json {
  if (Number.isFinite(n)) return n
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity'
}

function anyValueJson(v: OtlpAnyValue): Json {
  if (v.stringValue !== undefined) return { stringValue: v.stringValue }
  if (v.boolValue !== undefined) return { boolValue: v.boolValue }
  if (v.intValue !== undefined) return { intValue: v.intValue.toString() }
  if (v.doubleValue !== undefined) return { doubleValue: doubleJson(v.doubleValue) }
  if (v.arrayValue !== undefined) return { arrayValue: { values: v.arrayValue.values.map(anyValueJson) } }
  if (v.kvlistValue !== undefined) return { kvlistValue: { values: v.kvlistValue.values.map(keyValueJson) } }
  if (v.bytesValue !== undefined) return { bytesValue: Buffer.from(v.bytesValue).toString('base64') }
  return {}
}

function keyValueJson(kv: OtlpKeyValue): Json {
  return { key: kv.key, value: anyValueJson(kv.value) }
}

function put(out: { [key: string]: Json }, key: string, value: Json | undefined): void {
  if (value === undefined || value === '' || value === 0) return
  if (Array.isArray(value) && value.length === 0) return
  out[key] = value
}

function spanJson(s: OtlpSpan): Json {
  const out: { [key: string]: Json } = { traceId: s.traceId, spanId: s.spanId }
  put(out, 'traceState', s.traceState)
  put(out, 'parentSpanId', s.parentSpanId)
  put(out, 'flags', s.flags)
  put(out, 'name', s.name)
  put(out, 'kind', s.kind)
  out.startTimeUnixNano = s.startTimeUnixNano.toString()
  out.endTimeUnixNano = s.endTimeUnixNano.toString()
  put(out, 'attributes', s.attributes.map(keyValueJson))
  put(out, 'droppedAttributesCount', s.droppedAttributesCount)
  put(
    out,
    'events',
    s.events.map((e) => {
      const ev: { [key: string]: Json } = { timeUnixNano: e.timeUnixNano.toString(), name: e.name }
      put(ev, 'attributes', e.attributes.map(keyValueJson))
      put(ev, 'droppedAttributesCount', e.droppedAttributesCount)
      return ev
    })
  )
  put(out, 'droppedEventsCount', s.droppedEventsCount)
  put(
    out,
    'links',
    s.links.map((l) => {
      const link: { [key: string]: Json } = { traceId: l.traceId, spanId: l.spanId }
      put(link, 'traceState', l.traceState)
      put(link, 'attributes', l.attributes.map(keyValueJson))
      put(link, 'droppedAttributesCount', l.droppedAttributesCount)
      put(link, 'flags', l.flags)
      return link
    })
  )
  put(out, 'droppedLinksCount', s.droppedLinksCount)
  if (s.status) {
    const status: { [key: string]: Json } = {}
    put(status, 'message', s.status.message)
    put(status, 'code', s.status.code)
    out.status = status
  }
  return out
}

/** The request as an OTLP/JSON value (JSON.stringify it for the body). */
export function traceRequestJson(request: OtlpTraceRequest): Json {
  return {
    resourceSpans: request.resourceSpans.map((rs) => {
      const out: { [key: string]: Json } = {}
      if (rs.resource) {
        const resource: { [key: string]: Json } = { attributes: rs.resource.attributes.map(keyValueJson) }
        put(resource, 'droppedAttributesCount', rs.resource.droppedAttributesCount)
        out.resource = resource
      }
      out.scopeSpans = rs.scopeSpans.map((ss) => {
        const scopeSpans: { [key: string]: Json } = {}
        if (ss.scope) {
          const scope: { [key: string]: Json } = { name: ss.scope.name }
          put(scope, 'version', ss.scope.version)
          put(scope, 'attributes', (ss.scope.attributes ?? []).map(keyValueJson))
          scopeSpans.scope = scope
        }
        scopeSpans.spans = ss.spans.map(spanJson)
        put(scopeSpans, 'schemaUrl', ss.schemaUrl)
        return scopeSpans
      })
      put(out, 'schemaUrl', rs.schemaUrl)
      return out
    })
  }
}

/** The `application/json` body of `POST /v1/traces`. */
export function encodeTraceRequestJson(request: OtlpTraceRequest): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(traceRequestJson(request)))
}
