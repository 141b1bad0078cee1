// A hand-written protobuf writer for OTLP's ExportTraceServiceRequest (opentelemetry-proto
// collector/trace/v1, trace/v1, resource/v1, common/v1), from the shared model (../otlp-model.ts).
// No dependency: the wire format is small — varints, fixed64 times, length-delimited messages.
// Canonical output (minimal varints, proto3 defaults omitted, oneof values always written), so
// equal models give equal bytes. Checked against the official OpenTelemetry JS SDK's serializer and
// a protobufjs decode in test/unit/otel-export/.
import type { OtlpAnyValue, OtlpKeyValue, OtlpResourceSpans, OtlpScope, OtlpScopeSpans, OtlpSpan, OtlpSpanEvent, OtlpSpanLink, OtlpStatus, OtlpTraceRequest } from '../otlp-model'

const WIRE_VARINT = 0
const WIRE_FIXED64 = 1
const WIRE_LEN = 2
const WIRE_FIXED32 = 5

const tag = (field: number, wire: number): number => (field << 3) | wire

function varintSize(n: number): number {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}

/** A growable byte buffer with protobuf primitives; nested lengths are patched in after their content. */
class ProtoWriter {
  buf: Uint8Array<ArrayBuffer>
  pos = 0
  private view: DataView
  private readonly utf8 = new TextEncoder()

  constructor(initial = 64 * 1024) {
    this.buf = new Uint8Array(initial)
    this.view = new DataView(this.buf.buffer)
  }

  ensure(more: number): void {
    if (this.pos + more <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + more) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  /** An unsigned varint up to 2^53. */
  varint(n: number): void {
    this.ensure(10)
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80
      n = Math.floor(n / 128)
    }
    this.buf[this.pos++] = n
  }

  /** int64 as protobuf writes it: two's complement, so a negative number takes 10 bytes. */
  int64(value: bigint): void {
    let n = BigInt.asUintN(64, value)
    this.ensure(10)
    while (n >= 0x80n) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80
      n >>= 7n
    }
    this.buf[this.pos++] = Number(n)
  }

  fixed64(value: bigint): void {
    this.ensure(8)
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, value), true)
    this.pos += 8
  }

  fixed32(value: number): void {
    this.ensure(4)
    this.view.setUint32(this.pos, value >>> 0, true)
    this.pos += 4
  }

  double(value: number): void {
    this.ensure(8)
    this.view.setFloat64(this.pos, value, true)
    this.pos += 8
  }

  /** Reserves one byte for a length; `end` writes the real length (moving the content when it needs more bytes). */
  begin(field: number): number {
    this.varint(tag(field, WIRE_LEN))
    this.ensure(1)
    return this.pos++
  }

  end(start: number): void {
    const len = this.pos - start - 1
    if (len < 0x80) {
      this.buf[start] = len
      return
    }
    const extra = varintSize(len) - 1
    this.ensure(extra)
    this.buf.copyWithin(start + 1 + extra, start + 1, this.pos)
    this.pos += extra
    let n = len
    let at = start
    while (n >= 0x80) {
      this.buf[at++] = (n & 0x7f) | 0x80
      n = Math.floor(n / 128)
    }
    this.buf[at] = n
  }

  string(field: number, value: string): void {
    const start = this.begin(field)
    // ASCII needs no encoder call; anything else is at most 3 bytes per UTF-16 unit.
    let ascii = true
    for (let i = 0; i < value.length; i++) {
      if (value.charCodeAt(i) >= 0x80) {
        ascii = false
        break
      }
    }
    if (ascii) {
      this.ensure(value.length)
      for (let i = 0; i < value.length; i++) this.buf[this.pos++] = value.charCodeAt(i)
    } else {
      this.ensure(value.length * 3)
      this.pos += this.utf8.encodeInto(value, this.buf.subarray(this.pos)).written
    }
    this.end(start)
  }

  bytes(field: number, value: Uint8Array): void {
    this.varint(tag(field, WIRE_LEN))
    this.varint(value.length)
    this.ensure(value.length)
    this.buf.set(value, this.pos)
    this.pos += value.length
  }

  /** A lowercase (or uppercase) hex id as bytes; '' writes nothing. */
  hexBytes(field: number, hex: string): void {
    if (hex.length === 0) return
    if (hex.length % 2 !== 0) throw new Error(`not a hex id: "${hex.slice(0, 40)}"`)
    const n = hex.length / 2
    this.varint(tag(field, WIRE_LEN))
    this.varint(n)
    this.ensure(n)
    // Buffer's hex decoder stops at the first bad pair: a short write means the id was not hex.
    const written = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).write(hex, 'hex')
    if (written !== n) throw new Error(`not a hex id: "${hex.slice(0, 40)}"`)
    this.pos += n
  }

  /** A fixed64 field (times), left out at 0. */
  fixed64Field(field: number, value: bigint): void {
    if (value === 0n) return
    this.varint(tag(field, WIRE_FIXED64))
    this.fixed64(value)
  }

  /** A fixed32 field (flags), left out at 0. */
  fixed32Field(field: number, value: number | undefined): void {
    if (!value) return
    this.varint(tag(field, WIRE_FIXED32))
    this.fixed32(value)
  }

  uint(field: number, value: number | undefined): void {
    if (!value) return
    this.varint(tag(field, WIRE_VARINT))
    this.varint(value)
  }

  done(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.pos)
  }
}

function writeAnyValue(w: ProtoWriter, field: number, v: OtlpAnyValue): void {
  const start = w.begin(field)
  // A oneof member is written even at its default value ('' / false / 0): it says which one is set.
  if (v.stringValue !== undefined) w.string(1, v.stringValue)
  else if (v.boolValue !== undefined) {
    w.varint(tag(2, WIRE_VARINT))
    w.varint(v.boolValue ? 1 : 0)
  } else if (v.intValue !== undefined) {
    w.varint(tag(3, WIRE_VARINT))
    w.int64(v.intValue)
  } else if (v.doubleValue !== undefined) {
    w.varint(tag(4, WIRE_FIXED64))
    w.double(v.doubleValue)
  } else if (v.arrayValue !== undefined) {
    const a = w.begin(5)
    for (const item of v.arrayValue.values) writeAnyValue(w, 1, item)
    w.end(a)
  } else if (v.kvlistValue !== undefined) {
    const l = w.begin(6)
    for (const kv of v.kvlistValue.values) writeKeyValue(w, 1, kv)
    w.end(l)
  } else if (v.bytesValue !== undefined) w.bytes(7, v.bytesValue)
  w.end(start)
}

function writeKeyValue(w: ProtoWriter, field: number, kv: OtlpKeyValue): void {
  const start = w.begin(field)
  if (kv.key !== '') w.string(1, kv.key)
  writeAnyValue(w, 2, kv.value)
  w.end(start)
}

function writeAttributes(w: ProtoWriter, field: number, attributes: readonly OtlpKeyValue[] | undefined): void {
  if (!attributes) return
  for (const kv of attributes) writeKeyValue(w, field, kv)
}

function writeScope(w: ProtoWriter, scope: OtlpScope): void {
  const start = w.begin(1)
  if (scope.name) w.string(1, scope.name)
  if (scope.version) w.string(2, scope.version)
  writeAttributes(w, 3, scope.attributes)
  w.end(start)
}

function writeEvent(w: ProtoWriter, e: OtlpSpanEvent): void {
  const start = w.begin(11)
  w.fixed64Field(1, e.timeUnixNano)
  if (e.name) w.string(2, e.name)
  writeAttributes(w, 3, e.attributes)
  w.uint(4, e.droppedAttributesCount)
  w.end(start)
}

function writeLink(w: ProtoWriter, l: OtlpSpanLink): void {
  const start = w.begin(13)
  w.hexBytes(1, l.traceId)
  w.hexBytes(2, l.spanId)
  if (l.traceState) w.string(3, l.traceState)
  writeAttributes(w, 4, l.attributes)
  w.uint(5, l.droppedAttributesCount)
  w.fixed32Field(6, l.flags)
  w.end(start)
}

function writeStatus(w: ProtoWriter, s: OtlpStatus): void {
  const start = w.begin(15)
  if (s.message) w.string(2, s.message)
  w.uint(3, s.code)
  w.end(start)
}

function writeSpan(w: ProtoWriter, s: OtlpSpan): void {
  const start = w.begin(2)
  w.hexBytes(1, s.traceId)
  w.hexBytes(2, s.spanId)
  if (s.traceState) w.string(3, s.traceState)
  w.hexBytes(4, s.parentSpanId)
  if (s.name) w.string(5, s.name)
  w.uint(6, s.kind)
  w.fixed64Field(7, s.startTimeUnixNano)
  w.fixed64Field(8, s.endTimeUnixNano)
  writeAttributes(w, 9, s.attributes)
  w.uint(10, s.droppedAttributesCount)
  for (const e of s.events) writeEvent(w, e)
  w.uint(12, s.droppedEventsCount)
  for (const l of s.links) writeLink(w, l)
  w.uint(14, s.droppedLinksCount)
  if (s.status) writeStatus(w, s.status)
  w.fixed32Field(16, s.flags)
  w.end(start)
}

function writeScopeSpans(w: ProtoWriter, ss: OtlpScopeSpans): void {
  const start = w.begin(2)
  if (ss.scope) writeScope(w, ss.scope)
  for (const span of ss.spans) writeSpan(w, span)
  if (ss.schemaUrl) w.string(3, ss.schemaUrl)
  w.end(start)
}

function writeResourceSpans(w: ProtoWriter, rs: OtlpResourceSpans): void {
  const start = w.begin(1)
  if (rs.resource) {
    const r = w.begin(1)
    writeAttributes(w, 1, rs.resource.attributes)
    w.uint(2, rs.resource.droppedAttributesCount)
    w.end(r)
  }
  for (const ss of rs.scopeSpans) writeScopeSpans(w, ss)
  if (rs.schemaUrl) w.string(3, rs.schemaUrl)
  w.end(start)
}

/** The `application/x-protobuf` body of `POST /v1/traces`. */
export function encodeTraceRequestProtobuf(request: OtlpTraceRequest): Uint8Array<ArrayBuffer> {
  const w = new ProtoWriter()
  for (const rs of request.resourceSpans) writeResourceSpans(w, rs)
  return w.done()
}
