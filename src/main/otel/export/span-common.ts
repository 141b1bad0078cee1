// What both mappings (Perspt sessions, AgentEnsemble runs) share: deterministic ids, attributes from
// plain values, times in nanoseconds, and the resource/scope every exported span is sent under.
import { createHash } from 'node:crypto'
import type { OtlpAnyValue, OtlpKeyValue, OtlpResourceSpans, OtlpSpan, OtlpSpanEvent, OtlpTraceRequest } from '../otlp-model'

/** Instrumentation scope of every span Vigil exports. */
export const EXPORT_SCOPE = 'vigil.export'

/**
 * A trace id derived from what Vigil calls the run (kind + id): exporting the same run again gives
 * the same ids, so a collector that deduplicates keeps one copy. 32 hex characters, never all zero.
 */
export function traceIdFor(kind: string, id: string): string {
  return nonZero(createHash('sha256').update(`vigil-trace\u0000${kind}\u0000${id}`).digest('hex').slice(0, 32))
}

/** A span id derived from the trace and the span's own key within it (16 hex characters). */
export function spanIdFor(traceId: string, key: string): string {
  return nonZero(createHash('sha256').update(`vigil-span\u0000${traceId}\u0000${key}`).digest('hex').slice(0, 16))
}

function nonZero(hex: string): string {
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex
}

export type AttrValue = string | number | boolean | bigint | null | undefined | readonly string[]

/** Attributes from a plain object; null/undefined are left out, whole numbers are ints, others doubles. */
export function attrs(values: Record<string, AttrValue>): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = []
  for (const [key, v] of Object.entries(values)) {
    const value = anyValue(v)
    if (value) out.push({ key, value })
  }
  return out
}

function anyValue(v: AttrValue): OtlpAnyValue | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'string') return { stringValue: v }
  if (typeof v === 'boolean') return { boolValue: v }
  if (typeof v === 'bigint') return { intValue: v }
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: BigInt(v) } : { doubleValue: v }
  return { arrayValue: { values: v.map((s) => ({ stringValue: s })) } }
}

/** Epoch milliseconds → nanoseconds (fractions of a millisecond kept to the microsecond). */
export function nanos(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n
}

/** An ISO time → epoch ms, or null when absent or unreadable. */
export function msOf(iso: string | null | undefined): number | null {
  if (!iso) return null
  const ms = Date.parse(iso)
  return Number.isFinite(ms) ? ms : null
}

/** The OTel semantic-convention exception event. */
export function exceptionEvent(atMs: number, type: string, message: string): OtlpSpanEvent {
  return { timeUnixNano: nanos(atMs), name: 'exception', attributes: attrs({ 'exception.type': type, 'exception.message': message }) }
}

/** A span with Vigil's defaults (no events, links or status unless given). */
export function span(fields: Pick<OtlpSpan, 'traceId' | 'spanId' | 'parentSpanId' | 'name' | 'kind' | 'attributes'> & { startMs: number; endMs: number } & Partial<Pick<OtlpSpan, 'events' | 'status'>>): OtlpSpan {
  const start = nanos(fields.startMs)
  const end = nanos(Math.max(fields.startMs, fields.endMs))
  const out: OtlpSpan = {
    traceId: fields.traceId,
    spanId: fields.spanId,
    parentSpanId: fields.parentSpanId,
    // Sampled, as W3C trace flags say: the span was recorded.
    flags: 1,
    name: fields.name,
    kind: fields.kind,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    attributes: fields.attributes,
    events: fields.events ?? [],
    links: []
  }
  if (fields.status) out.status = fields.status
  return out
}

/** Texts sent as attributes are cut to this many characters (descriptions, reasons). */
export const MAX_ATTR_CHARS = 1024

export function clip(text: string | null | undefined, max = MAX_ATTR_CHARS): string | null {
  if (text === null || text === undefined) return null
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

export interface ExportResource {
  /** service.name (default "vigil"). */
  serviceName: string
  serviceVersion: string
  /** host.name, so a fleet's collector tells Vigils apart. */
  hostName: string
}

/** One request holding `spans` under Vigil's resource and scope. */
export function traceRequest(resource: ExportResource, spans: OtlpSpan[]): OtlpTraceRequest {
  const rs: OtlpResourceSpans = {
    resource: { attributes: attrs({ 'service.name': resource.serviceName, 'service.version': resource.serviceVersion, 'host.name': resource.hostName, 'telemetry.sdk.name': 'vigil' }) },
    scopeSpans: [{ scope: { name: EXPORT_SCOPE, version: resource.serviceVersion }, spans }]
  }
  return { resourceSpans: [rs] }
}
