// The in-memory shape of an OTLP trace export (opentelemetry-proto trace/v1, collector/trace/v1),
// normalised: ids as lowercase hex, times as bigint nanoseconds, enums as numbers. The receiver's
// decoders (protobuf and OTLP/JSON) produce it; the exporter's encoder consumes it.

/** AnyValue: exactly one of these is set (a missing value is `{}`). */
export interface OtlpAnyValue {
  stringValue?: string
  boolValue?: boolean
  /** int64 kept exact. */
  intValue?: bigint
  doubleValue?: number
  arrayValue?: { values: OtlpAnyValue[] }
  kvlistValue?: { values: OtlpKeyValue[] }
  bytesValue?: Uint8Array
}

export interface OtlpKeyValue {
  key: string
  value: OtlpAnyValue
}

/** Span.SpanKind. */
export const SPAN_KIND = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const

/** Status.StatusCode. */
export const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const

export interface OtlpStatus {
  code: number
  message?: string
}

export interface OtlpSpanEvent {
  timeUnixNano: bigint
  name: string
  attributes: OtlpKeyValue[]
  droppedAttributesCount?: number
}

export interface OtlpSpanLink {
  traceId: string
  spanId: string
  traceState?: string
  attributes: OtlpKeyValue[]
  droppedAttributesCount?: number
  flags?: number
}

export interface OtlpSpan {
  /** 32 lowercase hex characters. */
  traceId: string
  /** 16 lowercase hex characters. */
  spanId: string
  traceState?: string
  /** '' for a root span. */
  parentSpanId: string
  flags?: number
  name: string
  kind: number
  startTimeUnixNano: bigint
  endTimeUnixNano: bigint
  attributes: OtlpKeyValue[]
  droppedAttributesCount?: number
  events: OtlpSpanEvent[]
  droppedEventsCount?: number
  links: OtlpSpanLink[]
  droppedLinksCount?: number
  status?: OtlpStatus
}

export interface OtlpScope {
  name: string
  version?: string
  attributes?: OtlpKeyValue[]
}

export interface OtlpScopeSpans {
  scope?: OtlpScope
  spans: OtlpSpan[]
  schemaUrl?: string
}

export interface OtlpResourceSpans {
  resource?: { attributes: OtlpKeyValue[]; droppedAttributesCount?: number }
  scopeSpans: OtlpScopeSpans[]
  schemaUrl?: string
}

/** ExportTraceServiceRequest. */
export interface OtlpTraceRequest {
  resourceSpans: OtlpResourceSpans[]
}
