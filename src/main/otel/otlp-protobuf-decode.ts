// A hand-written protobuf wire reader for OTLP's ExportTraceServiceRequest (opentelemetry-proto
// collector/trace/v1 and trace/v1, common/v1, resource/v1), into the shared model (otlp-model.ts).
// No dependency: the receiver sees untrusted bytes, so every length is checked against what is left,
// groups (wire types 3/4) and wrong wire types for known fields are refused, nesting is bounded, and
// unknown fields are skipped as the protobuf rules say. Any problem throws OtlpDecodeError, whose
// message says what was wrong and where (answered 400).
import type { OtlpAnyValue, OtlpKeyValue, OtlpResourceSpans, OtlpScope, OtlpScopeSpans, OtlpSpan, OtlpSpanEvent, OtlpSpanLink, OtlpStatus, OtlpTraceRequest } from './otlp-model'

export class OtlpDecodeError extends Error {}

/** AnyValue nesting (arrays and kvlists inside each other) deeper than this is refused. */
export const MAX_ANY_VALUE_DEPTH = 32

const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 } as const
const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit', 'wire type 6', 'wire type 7']

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex of bytes [start, end). */
export function hexOf(buf: Uint8Array, start: number, end: number): string {
  let out = ''
  for (let i = start; i < end; i++) out += HEX[buf[i]!]
  return out
}

class Reader {
  pos = 0
  /** End of the message being read (a sub-message's end while inside it). */
  limit: number
  /** The field number and wire type of the last tag read (nextTag). */
  no = 0
  wire = 0

  constructor(readonly buf: Buffer) {
    this.limit = buf.length
  }

  fail(what: string): never {
    throw new OtlpDecodeError(`Malformed protobuf at byte ${this.pos}: ${what}.`)
  }

  /** A varint's low 32 bits as an unsigned number (enums, uint32, tags, lengths). */
  uint32(): number {
    const b = this.buf
    let result = 0
    let shift = 0
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) this.fail('a number is cut off')
      const byte = b[this.pos++]!
      if (shift < 32) result |= (byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return result >>> 0
      shift += 7
    }
    this.fail('a number is longer than 10 bytes')
  }

  /** A varint as a signed 64-bit bigint (int64). */
  int64(): bigint {
    const b = this.buf
    let lo = 0
    let hi = 0
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) this.fail('a number is cut off')
      const byte = b[this.pos++]!
      if (i < 4) lo |= (byte & 0x7f) << (7 * i)
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28
        hi |= (byte & 0x7f) >> 4
      } else hi |= (byte & 0x7f) << (7 * i - 32)
      if ((byte & 0x80) === 0) return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0))
    }
    this.fail('a number is longer than 10 bytes')
  }

  fixed64(): bigint {
    if (this.limit - this.pos < 8) this.fail('a 64-bit value is cut off')
    const v = this.buf.readBigUInt64LE(this.pos)
    this.pos += 8
    return v
  }

  fixed32(): number {
    if (this.limit - this.pos < 4) this.fail('a 32-bit value is cut off')
    const v = this.buf.readUInt32LE(this.pos)
    this.pos += 4
    return v
  }

  double(): number {
    if (this.limit - this.pos < 8) this.fail('a double is cut off')
    const v = this.buf.readDoubleLE(this.pos)
    this.pos += 8
    return v
  }

  /** The end of a length-delimited field that starts here (after its length). */
  lenEnd(): number {
    const len = this.uint32()
    if (len > this.limit - this.pos) this.fail(`a field claims ${len} bytes but only ${this.limit - this.pos} are left`)
    return this.pos + len
  }

  string(): string {
    const end = this.lenEnd()
    const s = this.buf.toString('utf8', this.pos, end)
    this.pos = end
    return s
  }

  bytes(): Uint8Array {
    const end = this.lenEnd()
    const out = Uint8Array.prototype.slice.call(this.buf, this.pos, end)
    this.pos = end
    return out
  }

  hex(): string {
    const end = this.lenEnd()
    const s = hexOf(this.buf, this.pos, end)
    this.pos = end
    return s
  }

  /** Enters a length-delimited sub-message; returns the outer limit, for leave(). */
  enter(): number {
    const end = this.lenEnd()
    const outer = this.limit
    this.limit = end
    return outer
  }

  leave(outer: number): void {
    this.pos = this.limit
    this.limit = outer
  }

  /** True while the current message has fields left. */
  more(): boolean {
    return this.pos < this.limit
  }

  /** Reads the next field's tag into `no` and `wire`. */
  nextTag(message: string): void {
    const tag = this.uint32()
    this.no = tag >>> 3
    this.wire = tag & 7
    if (this.no === 0) this.fail(`field number 0 in ${message}`)
  }

  skip(): void {
    switch (this.wire) {
      case WIRE.varint:
        this.uint32()
        return
      case WIRE.i64:
        if (this.limit - this.pos < 8) this.fail('a 64-bit value is cut off')
        this.pos += 8
        return
      case WIRE.len:
        this.pos = this.lenEnd()
        return
      case WIRE.i32:
        if (this.limit - this.pos < 4) this.fail('a 32-bit value is cut off')
        this.pos += 4
        return
      default:
        this.fail(`${WIRE_NAMES[this.wire]} is not allowed here`)
    }
  }

  expect(message: string, want: number): void {
    if (this.wire !== want) this.fail(`${message} field ${this.no} has wire type ${WIRE_NAMES[this.wire]}, expected ${WIRE_NAMES[want]}`)
  }
}

/** Decodes an ExportTraceServiceRequest. Throws OtlpDecodeError on anything malformed. */
export function decodeTraceRequestProtobuf(body: Buffer): OtlpTraceRequest {
  const r = new Reader(body)
  const resourceSpans: OtlpResourceSpans[] = []
  while (r.more()) {
    r.nextTag('ExportTraceServiceRequest')
    if (r.no !== 1) {
      r.skip()
      continue
    }
    r.expect('ExportTraceServiceRequest', WIRE.len)
    resourceSpans.push(readResourceSpans(r))
  }
  return { resourceSpans }
}

function readResourceSpans(r: Reader): OtlpResourceSpans {
  const outer = r.enter()
  const out: OtlpResourceSpans = { scopeSpans: [] }
  while (r.more()) {
    r.nextTag('ResourceSpans')
    if (r.no === 1) {
      r.expect('ResourceSpans', WIRE.len)
      const res = r.enter()
      const resource: NonNullable<OtlpResourceSpans['resource']> = { attributes: [] }
      while (r.more()) {
        r.nextTag('Resource')
        if (r.no === 1) {
          r.expect('Resource', WIRE.len)
          resource.attributes.push(readKeyValue(r, 0))
        } else if (r.no === 2) {
          r.expect('Resource', WIRE.varint)
          resource.droppedAttributesCount = r.uint32()
        } else r.skip()
      }
      r.leave(res)
      out.resource = resource
    } else if (r.no === 2) {
      r.expect('ResourceSpans', WIRE.len)
      out.scopeSpans.push(readScopeSpans(r))
    } else if (r.no === 3) {
      r.expect('ResourceSpans', WIRE.len)
      out.schemaUrl = r.string()
    } else r.skip()
  }
  r.leave(outer)
  return out
}

function readScopeSpans(r: Reader): OtlpScopeSpans {
  const outer = r.enter()
  const out: OtlpScopeSpans = { spans: [] }
  while (r.more()) {
    r.nextTag('ScopeSpans')
    if (r.no === 1) {
      r.expect('ScopeSpans', WIRE.len)
      out.scope = readScope(r)
    } else if (r.no === 2) {
      r.expect('ScopeSpans', WIRE.len)
      out.spans.push(readSpan(r))
    } else if (r.no === 3) {
      r.expect('ScopeSpans', WIRE.len)
      out.schemaUrl = r.string()
    } else r.skip()
  }
  r.leave(outer)
  return out
}

function readScope(r: Reader): OtlpScope {
  const outer = r.enter()
  const out: OtlpScope = { name: '' }
  while (r.more()) {
    r.nextTag('InstrumentationScope')
    if (r.no === 1) {
      r.expect('InstrumentationScope', WIRE.len)
      out.name = r.string()
    } else if (r.no === 2) {
      r.expect('InstrumentationScope', WIRE.len)
      out.version = r.string()
    } else if (r.no === 3) {
      r.expect('InstrumentationScope', WIRE.len)
      ;(out.attributes ??= []).push(readKeyValue(r, 0))
    } else r.skip()
  }
  r.leave(outer)
  return out
}

function readSpan(r: Reader): OtlpSpan {
  const outer = r.enter()
  const span: OtlpSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    events: [],
    links: []
  }
  while (r.more()) {
    r.nextTag('Span')
    switch (r.no) {
      case 1:
        r.expect('Span', WIRE.len)
        span.traceId = r.hex()
        break
      case 2:
        r.expect('Span', WIRE.len)
        span.spanId = r.hex()
        break
      case 3:
        r.expect('Span', WIRE.len)
        span.traceState = r.string()
        break
      case 4:
        r.expect('Span', WIRE.len)
        span.parentSpanId = r.hex()
        break
      case 5:
        r.expect('Span', WIRE.len)
        span.name = r.string()
        break
      case 6:
        r.expect('Span', WIRE.varint)
        span.kind = r.uint32()
        break
      case 7:
        r.expect('Span', WIRE.i64)
        span.startTimeUnixNano = r.fixed64()
        break
      case 8:
        r.expect('Span', WIRE.i64)
        span.endTimeUnixNano = r.fixed64()
        break
      case 9:
        r.expect('Span', WIRE.len)
        span.attributes.push(readKeyValue(r, 0))
        break
      case 10:
        r.expect('Span', WIRE.varint)
        span.droppedAttributesCount = r.uint32()
        break
      case 11:
        r.expect('Span', WIRE.len)
        span.events.push(readEvent(r))
        break
      case 12:
        r.expect('Span', WIRE.varint)
        span.droppedEventsCount = r.uint32()
        break
      case 13:
        r.expect('Span', WIRE.len)
        span.links.push(readLink(r))
        break
      case 14:
        r.expect('Span', WIRE.varint)
        span.droppedLinksCount = r.uint32()
        break
      case 15:
        r.expect('Span', WIRE.len)
        span.status = readStatus(r)
        break
      case 16:
        r.expect('Span', WIRE.i32)
        span.flags = r.fixed32()
        break
      default:
        r.skip()
    }
  }
  r.leave(outer)
  return span
}

function readEvent(r: Reader): OtlpSpanEvent {
  const outer = r.enter()
  const ev: OtlpSpanEvent = { timeUnixNano: 0n, name: '', attributes: [] }
  while (r.more()) {
    r.nextTag('Span.Event')
    if (r.no === 1) {
      r.expect('Span.Event', WIRE.i64)
      ev.timeUnixNano = r.fixed64()
    } else if (r.no === 2) {
      r.expect('Span.Event', WIRE.len)
      ev.name = r.string()
    } else if (r.no === 3) {
      r.expect('Span.Event', WIRE.len)
      ev.attributes.push(readKeyValue(r, 0))
    } else if (r.no === 4) {
      r.expect('Span.Event', WIRE.varint)
      ev.droppedAttributesCount = r.uint32()
    } else r.skip()
  }
  r.leave(outer)
  return ev
}

function readLink(r: Reader): OtlpSpanLink {
  const outer = r.enter()
  const link: OtlpSpanLink = { traceId: '', spanId: '', attributes: [] }
  while (r.more()) {
    r.nextTag('Span.Link')
    if (r.no === 1) {
      r.expect('Span.Link', WIRE.len)
      link.traceId = r.hex()
    } else if (r.no === 2) {
      r.expect('Span.Link', WIRE.len)
      link.spanId = r.hex()
    } else if (r.no === 3) {
      r.expect('Span.Link', WIRE.len)
      link.traceState = r.string()
    } else if (r.no === 4) {
      r.expect('Span.Link', WIRE.len)
      link.attributes.push(readKeyValue(r, 0))
    } else if (r.no === 5) {
      r.expect('Span.Link', WIRE.varint)
      link.droppedAttributesCount = r.uint32()
    } else if (r.no === 6) {
      r.expect('Span.Link', WIRE.i32)
      link.flags = r.fixed32()
    } else r.skip()
  }
  r.leave(outer)
  return link
}

function readStatus(r: Reader): OtlpStatus {
  const outer = r.enter()
  const st: OtlpStatus = { code: 0 }
  while (r.more()) {
    r.nextTag('Status')
    if (r.no === 2) {
      r.expect('Status', WIRE.len)
      st.message = r.string()
    } else if (r.no === 3) {
      r.expect('Status', WIRE.varint)
      st.code = r.uint32()
    } else r.skip()
  }
  r.leave(outer)
  return st
}

function readKeyValue(r: Reader, depth: number): OtlpKeyValue {
  const outer = r.enter()
  const kv: OtlpKeyValue = { key: '', value: {} }
  while (r.more()) {
    r.nextTag('KeyValue')
    if (r.no === 1) {
      r.expect('KeyValue', WIRE.len)
      kv.key = r.string()
    } else if (r.no === 2) {
      r.expect('KeyValue', WIRE.len)
      kv.value = readAnyValue(r, depth + 1)
    } else r.skip()
  }
  r.leave(outer)
  return kv
}

function readAnyValue(r: Reader, depth: number): OtlpAnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) r.fail(`attribute values nested deeper than ${MAX_ANY_VALUE_DEPTH}`)
  const outer = r.enter()
  let v: OtlpAnyValue = {}
  while (r.more()) {
    r.nextTag('AnyValue')
    switch (r.no) {
      case 1:
        r.expect('AnyValue', WIRE.len)
        v = { stringValue: r.string() }
        break
      case 2:
        r.expect('AnyValue', WIRE.varint)
        v = { boolValue: r.uint32() !== 0 }
        break
      case 3:
        r.expect('AnyValue', WIRE.varint)
        v = { intValue: r.int64() }
        break
      case 4:
        r.expect('AnyValue', WIRE.i64)
        v = { doubleValue: r.double() }
        break
      case 5: {
        r.expect('AnyValue', WIRE.len)
        const arr = r.enter()
        const values: OtlpAnyValue[] = []
        while (r.more()) {
          r.nextTag('ArrayValue')
          // (r.no was narrowed by the outer switch; nextTag has read a new one.)
          if ((r.no as number) !== 1) {
            r.skip()
            continue
          }
          r.expect('ArrayValue', WIRE.len)
          values.push(readAnyValue(r, depth + 1))
        }
        r.leave(arr)
        v = { arrayValue: { values } }
        break
      }
      case 6: {
        r.expect('AnyValue', WIRE.len)
        const list = r.enter()
        const values: OtlpKeyValue[] = []
        while (r.more()) {
          r.nextTag('KeyValueList')
          if ((r.no as number) !== 1) {
            r.skip()
            continue
          }
          r.expect('KeyValueList', WIRE.len)
          values.push(readKeyValue(r, depth + 1))
        }
        r.leave(list)
        v = { kvlistValue: { values } }
        break
      }
      case 7:
        r.expect('AnyValue', WIRE.len)
        v = { bytesValue: r.bytes() }
        break
      default:
        r.skip()
    }
  }
  r.leave(outer)
  return v
}

// ---------------------------------------------------------------------------------------------
// ExportTraceServiceResponse (what the receiver answers)

/** A non-negative integer as protobuf varint bytes. */
export function varintBytes(n: bigint): number[] {
  const out: number[] = []
  let v = BigInt.asUintN(64, n)
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) byte |= 0x80
    out.push(byte)
  } while (v !== 0n)
  return out
}

/** ExportTraceServiceResponse as protobuf: empty on full success, else partial_success {rejected_spans, error_message}. */
export function encodeTraceResponseProtobuf(rejectedSpans: number, errorMessage: string): Buffer {
  if (rejectedSpans === 0 && errorMessage === '') return Buffer.alloc(0)
  const msg = Buffer.from(errorMessage, 'utf8')
  const inner: number[] = []
  if (rejectedSpans !== 0) inner.push(0x08, ...varintBytes(BigInt(rejectedSpans)))
  const innerBuf = Buffer.concat([Buffer.from(inner), msg.length > 0 ? Buffer.concat([Buffer.from([0x12, ...varintBytes(BigInt(msg.length))]), msg]) : Buffer.alloc(0)])
  return Buffer.concat([Buffer.from([0x0a, ...varintBytes(BigInt(innerBuf.length))]), innerBuf])
}
