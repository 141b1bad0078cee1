// OTLP/JSON (OTLP/HTTP 1.x, "JSON Protobuf Encoding") → the shared model (otlp-model.ts). The rules of
// the spec: trace and span ids are hex strings (not base64), enums are integers (names are accepted
// too), 64-bit integers come as decimal strings or numbers, keys are lowerCamelCase (the proto's
// snake_case names are accepted as protobuf's JSON mapping allows). Unknown fields are ignored. Anything
// of the wrong shape throws OtlpDecodeError naming where (answered 400).
import type { OtlpAnyValue, OtlpKeyValue, OtlpResourceSpans, OtlpScope, OtlpScopeSpans, OtlpSpan, OtlpSpanEvent, OtlpSpanLink, OtlpStatus, OtlpTraceRequest } from './otlp-model'
import { MAX_ANY_VALUE_DEPTH, OtlpDecodeError } from './otlp-protobuf-decode'

type Obj = Record<string, unknown>

const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5
}
const STATUS_CODE_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 }

const HEX_ID = /^[0-9a-fA-F]*$/
const INT = /^-?\d+$/

function fail(where: string, what: string): never {
  throw new OtlpDecodeError(`Invalid OTLP/JSON at ${where}: ${what}.`)
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The value of `camel` (or its snake_case form), undefined/null both meaning absent. */
function get(o: Obj, camel: string, snake?: string): unknown {
  const v = o[camel]
  if (v !== undefined && v !== null) return v
  return snake === undefined ? undefined : (o[snake] ?? undefined)
}

function list(o: Obj, camel: string, snake: string | undefined, where: string): unknown[] {
  const v = get(o, camel, snake)
  if (v === undefined) return []
  if (!Array.isArray(v)) fail(`${where}.${camel}`, 'expected an array')
  return v
}

function obj(v: unknown, where: string): Obj {
  if (!isObj(v)) fail(where, 'expected an object')
  return v
}

function str(o: Obj, camel: string, snake: string | undefined, where: string): string | undefined {
  const v = get(o, camel, snake)
  if (v === undefined) return undefined
  if (typeof v !== 'string') fail(`${where}.${camel}`, 'expected a string')
  return v
}

function hexId(o: Obj, camel: string, snake: string, where: string): string {
  const v = str(o, camel, snake, where) ?? ''
  if (!HEX_ID.test(v) || v.length % 2 !== 0) fail(`${where}.${camel}`, 'expected a hex string (OTLP/JSON ids are hex, not base64)')
  return v.toLowerCase()
}

/** A 64-bit integer sent as a decimal string or a JSON number. */
function int64(v: unknown, where: string): bigint {
  if (typeof v === 'string' && INT.test(v)) return BigInt.asIntN(64, BigInt(v))
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v)
  return fail(where, 'expected an integer (a number or a decimal string)')
}

function uint64(o: Obj, camel: string, snake: string, where: string): bigint {
  const v = get(o, camel, snake)
  if (v === undefined) return 0n
  const n = int64(v, `${where}.${camel}`)
  if (n < 0n) fail(`${where}.${camel}`, 'expected a time in nanoseconds since 1970, not negative')
  return n
}

function uint32(o: Obj, camel: string, snake: string, where: string): number | undefined {
  const v = get(o, camel, snake)
  if (v === undefined) return undefined
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v
  if (typeof v === 'string' && /^\d+$/.test(v) && Number(v) <= 0xffffffff) return Number(v)
  return fail(`${where}.${camel}`, 'expected an unsigned 32-bit integer')
}

function enumValue(o: Obj, key: string, names: Record<string, number>, where: string): number {
  const v = get(o, key)
  if (v === undefined) return 0
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v
  if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(names, v)) return names[v]!
  return fail(`${where}.${key}`, `expected an integer enum value (e.g. ${Object.values(names).at(-1)})`)
}

/** Decodes an OTLP/JSON ExportTraceServiceRequest (the body's text). */
export function decodeTraceRequestJson(text: string): OtlpTraceRequest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new OtlpDecodeError('The body is not valid JSON. Send an OTLP/JSON ExportTraceServiceRequest: {"resourceSpans":[…]}.')
  }
  const root = obj(value, 'the top level')
  return { resourceSpans: list(root, 'resourceSpans', 'resource_spans', '$').map((rs, i) => readResourceSpans(rs, `resourceSpans[${i}]`)) }
}

function readResourceSpans(v: unknown, where: string): OtlpResourceSpans {
  const o = obj(v, where)
  const out: OtlpResourceSpans = {
    scopeSpans: list(o, 'scopeSpans', 'scope_spans', where).map((ss, i) => readScopeSpans(ss, `${where}.scopeSpans[${i}]`))
  }
  const res = get(o, 'resource')
  if (res !== undefined) {
    const r = obj(res, `${where}.resource`)
    out.resource = { attributes: readAttributes(r, `${where}.resource`) }
    const dropped = uint32(r, 'droppedAttributesCount', 'dropped_attributes_count', `${where}.resource`)
    if (dropped !== undefined) out.resource.droppedAttributesCount = dropped
  }
  const schemaUrl = str(o, 'schemaUrl', 'schema_url', where)
  if (schemaUrl !== undefined) out.schemaUrl = schemaUrl
  return out
}

function readScopeSpans(v: unknown, where: string): OtlpScopeSpans {
  const o = obj(v, where)
  const out: OtlpScopeSpans = { spans: list(o, 'spans', undefined, where).map((s, i) => readSpan(s, `${where}.spans[${i}]`)) }
  const scope = get(o, 'scope')
  if (scope !== undefined) out.scope = readScope(scope, `${where}.scope`)
  const schemaUrl = str(o, 'schemaUrl', 'schema_url', where)
  if (schemaUrl !== undefined) out.schemaUrl = schemaUrl
  return out
}

function readScope(v: unknown, where: string): OtlpScope {
  const o = obj(v, where)
  const out: OtlpScope = { name: str(o, 'name', undefined, where) ?? '' }
  const version = str(o, 'version', undefined, where)
  if (version !== undefined) out.version = version
  if (get(o, 'attributes') !== undefined) out.attributes = readAttributes(o, where)
  return out
}

function readSpan(v: unknown, where: string): OtlpSpan {
  const o = obj(v, where)
  const span: OtlpSpan = {
    traceId: hexId(o, 'traceId', 'trace_id', where),
    spanId: hexId(o, 'spanId', 'span_id', where),
    parentSpanId: hexId(o, 'parentSpanId', 'parent_span_id', where),
    name: str(o, 'name', undefined, where) ?? '',
    kind: enumValue(o, 'kind', SPAN_KIND_NAMES, where),
    startTimeUnixNano: uint64(o, 'startTimeUnixNano', 'start_time_unix_nano', where),
    endTimeUnixNano: uint64(o, 'endTimeUnixNano', 'end_time_unix_nano', where),
    attributes: readAttributes(o, where),
    events: list(o, 'events', undefined, where).map((e, i) => readEvent(e, `${where}.events[${i}]`)),
    links: list(o, 'links', undefined, where).map((l, i) => readLink(l, `${where}.links[${i}]`))
  }
  const traceState = str(o, 'traceState', 'trace_state', where)
  if (traceState !== undefined) span.traceState = traceState
  const flags = uint32(o, 'flags', 'flags', where)
  if (flags !== undefined) span.flags = flags
  const da = uint32(o, 'droppedAttributesCount', 'dropped_attributes_count', where)
  if (da !== undefined) span.droppedAttributesCount = da
  const de = uint32(o, 'droppedEventsCount', 'dropped_events_count', where)
  if (de !== undefined) span.droppedEventsCount = de
  const dl = uint32(o, 'droppedLinksCount', 'dropped_links_count', where)
  if (dl !== undefined) span.droppedLinksCount = dl
  const status = get(o, 'status')
  if (status !== undefined) span.status = readStatus(status, `${where}.status`)
  return span
}

function readEvent(v: unknown, where: string): OtlpSpanEvent {
  const o = obj(v, where)
  const ev: OtlpSpanEvent = {
    timeUnixNano: uint64(o, 'timeUnixNano', 'time_unix_nano', where),
    name: str(o, 'name', undefined, where) ?? '',
    attributes: readAttributes(o, where)
  }
  const da = uint32(o, 'droppedAttributesCount', 'dropped_attributes_count', where)
  if (da !== undefined) ev.droppedAttributesCount = da
  return ev
}

function readLink(v: unknown, where: string): OtlpSpanLink {
  const o = obj(v, where)
  const link: OtlpSpanLink = {
    traceId: hexId(o, 'traceId', 'trace_id', where),
    spanId: hexId(o, 'spanId', 'span_id', where),
    attributes: readAttributes(o, where)
  }
  const ts = str(o, 'traceState', 'trace_state', where)
  if (ts !== undefined) link.traceState = ts
  const flags = uint32(o, 'flags', 'flags', where)
  if (flags !== undefined) link.flags = flags
  return link
}

function readStatus(v: unknown, where: string): OtlpStatus {
  const o = obj(v, where)
  const st: OtlpStatus = { code: enumValue(o, 'code', STATUS_CODE_NAMES, where) }
  const message = str(o, 'message', undefined, where)
  if (message !== undefined) st.message = message
  return st
}

function readAttributes(o: Obj, where: string): OtlpKeyValue[] {
  return list(o, 'attributes', undefined, where).map((kv, i) => readKeyValue(kv, `${where}.attributes[${i}]`, 0))
}

function readKeyValue(v: unknown, where: string, depth: number): OtlpKeyValue {
  const o = obj(v, where)
  const key = str(o, 'key', undefined, where) ?? ''
  const value = get(o, 'value')
  return { key, value: value === undefined ? {} : readAnyValue(value, `${where}.value`, depth + 1) }
}

function readAnyValue(v: unknown, where: string, depth: number): OtlpAnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) fail(where, `attribute values nested deeper than ${MAX_ANY_VALUE_DEPTH}`)
  const o = obj(v, where)
  const s = get(o, 'stringValue', 'string_value')
  if (s !== undefined) {
    if (typeof s !== 'string') fail(`${where}.stringValue`, 'expected a string')
    return { stringValue: s }
  }
  const b = get(o, 'boolValue', 'bool_value')
  if (b !== undefined) {
    if (typeof b !== 'boolean') fail(`${where}.boolValue`, 'expected true or false')
    return { boolValue: b }
  }
  const i = get(o, 'intValue', 'int_value')
  if (i !== undefined) return { intValue: int64(i, `${where}.intValue`) }
  const d = get(o, 'doubleValue', 'double_value')
  if (d !== undefined) {
    // Protobuf's JSON mapping writes NaN and the infinities as strings.
    if (typeof d === 'number') return { doubleValue: d }
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return { doubleValue: Number(d) }
    if (typeof d === 'string' && d.trim() !== '' && Number.isFinite(Number(d))) return { doubleValue: Number(d) }
    fail(`${where}.doubleValue`, 'expected a number')
  }
  const a = get(o, 'arrayValue', 'array_value')
  if (a !== undefined) {
    const ao = obj(a, `${where}.arrayValue`)
    return { arrayValue: { values: list(ao, 'values', undefined, `${where}.arrayValue`).map((x, k) => readAnyValue(x, `${where}.arrayValue.values[${k}]`, depth + 1)) } }
  }
  const kv = get(o, 'kvlistValue', 'kvlist_value')
  if (kv !== undefined) {
    const ko = obj(kv, `${where}.kvlistValue`)
    return { kvlistValue: { values: list(ko, 'values', undefined, `${where}.kvlistValue`).map((x, k) => readKeyValue(x, `${where}.kvlistValue.values[${k}]`, depth + 1)) } }
  }
  const by = get(o, 'bytesValue', 'bytes_value')
  if (by !== undefined) {
    if (typeof by !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(by)) fail(`${where}.bytesValue`, 'expected base64')
    return { bytesValue: new Uint8Array(Buffer.from(by, 'base64')) }
  }
  return {}
}

/** ExportTraceServiceResponse as OTLP/JSON. */
export function encodeTraceResponseJson(rejectedSpans: number, errorMessage: string): string {
  if (rejectedSpans === 0 && errorMessage === '') return '{}'
  return JSON.stringify({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } })
}
