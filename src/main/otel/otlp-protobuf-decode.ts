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
  pos: number
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number
  ) {
    this.pos = start
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
      if (this.pos >= this.end) this.fail('a number is cut off')
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
      if (this.pos >= this.end) this.fail('a number is cut off')
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
    if (this.end - this.pos < 8) this.fail('a 64-bit value is cut off')
    const v = this.buf.readBigUInt64LE(this.pos)
    this.pos += 8
    return v
  }

  fixed32(): number {
    if (this.end - this.pos < 4) this.fail('a 32-bit value is cut off')
    const v = this.buf.readUInt32LE(this.pos)
    this.pos += 4
    return v
  }

  double(): number {
    if (this.end - this.pos < 8) this.fail('a double is cut off')
    const v = this.buf.readDoubleLE(this.pos)
    this.pos += 8
    return v
  }

  /** The end of a length-delimited field that starts here (after its length). */
  lenEnd(): number {
    const len = this.uint32()
    if (len > this.end - this.pos) this.fail(`a field claims ${len} bytes but only ${this.end - this.pos} are left`)
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

  sub(): Reader {
    const end = this.lenEnd()
    const r = new Reader(this.buf, this.pos, end)
    this.pos = end
    return r
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE.varint:
        this.uint32()
        return
      case WIRE.i64:
        if (this.end - this.pos < 8) this.fail('a 64-bit value is cut off')
        this.pos += 8
        return
      case WIRE.len:
        this.pos = this.lenEnd()
        return
      case WIRE.i32:
        if (this.end - this.pos < 4) this.fail('a 32-bit value is cut off')
        this.pos += 4
        return
      default:
        this.fail(`${WIRE_NAMES[wire]} is not allowed here`)
    }
  }

  /** Reads fields until the end, calling `field` for each known one; unknown ones are skipped. */
  each(message: string, field: (no: number, wire: number) => boolean): void {
    while (this.pos < this.end) {
      const tag = this.uint32()
      const no = tag >>> 3
      const wire = tag & 7
      if (no === 0) this.fail(`field number 0 in ${message}`)
      if (!field(no, wire)) this.skip(wire)
    }
  }

  expect(message: string, no: number, wire: number, want: number): void {
    if (wire !== want) this.fail(`${message} field ${no} has wire type ${WIRE_NAMES[wire]}, expected ${WIRE_NAMES[want]}`)
  }
}

/** Decodes an ExportTraceServiceRequest. Throws OtlpDecodeError on anything malformed. */
export function decodeTraceRequestProtobuf(body: Buffer): OtlpTraceRequest {
  const r = new Reader(body, 0, body.length)
  const resourceSpans: OtlpResourceSpans[] = []
  r.each('ExportTraceServiceRequest', (no, wire) => {
    if (no !== 1) return false
    r.expect('ExportTraceServiceRequest', no, wire, WIRE.len)
    resourceSpans.push(readResourceSpans(r.sub()))
    return true
  })
  return { resourceSpans }
}

function readResourceSpans(r: Reader): OtlpResourceSpans {
  const out: OtlpResourceSpans = { scopeSpans: [] }
  r.each('ResourceSpans', (no, wire) => {
    switch (no) {
      case 1: {
        r.expect('ResourceSpans', no, wire, WIRE.len)
        const res = r.sub()
        const resource: NonNullable<OtlpResourceSpans['resource']> = { attributes: [] }
        res.each('Resource', (n, w) => {
          if (n === 1) {
            res.expect('Resource', n, w, WIRE.len)
            resource.attributes.push(readKeyValue(res.sub(), 0))
            return true
          }
          if (n === 2) {
            res.expect('Resource', n, w, WIRE.varint)
            resource.droppedAttributesCount = res.uint32()
            return true
          }
          return false
        })
        out.resource = resource
        return true
      }
      case 2:
        r.expect('ResourceSpans', no, wire, WIRE.len)
        out.scopeSpans.push(readScopeSpans(r.sub()))
        return true
      case 3:
        r.expect('ResourceSpans', no, wire, WIRE.len)
        out.schemaUrl = r.string()
        return true
      default:
        return false
    }
  })
  return out
}

function readScopeSpans(r: Reader): OtlpScopeSpans {
  const out: OtlpScopeSpans = { spans: [] }
  r.each('ScopeSpans', (no, wire) => {
    switch (no) {
      case 1:
        r.expect('ScopeSpans', no, wire, WIRE.len)
        out.scope = readScope(r.sub())
        return true
      case 2:
        r.expect('ScopeSpans', no, wire, WIRE.len)
        out.spans.push(readSpan(r.sub()))
        return true
      case 3:
        r.expect('ScopeSpans', no, wire, WIRE.len)
        out.schemaUrl = r.string()
        return true
      default:
        return false
    }
  })
  return out
}

function readScope(r: Reader): OtlpScope {
  const out: OtlpScope = { name: '' }
  r.each('InstrumentationScope', (no, wire) => {
    switch (no) {
      case 1:
        r.expect('InstrumentationScope', no, wire, WIRE.len)
        out.name = r.string()
        return true
      case 2:
        r.expect('InstrumentationScope', no, wire, WIRE.len)
        out.version = r.string()
        return true
      case 3:
        r.expect('InstrumentationScope', no, wire, WIRE.len)
        ;(out.attributes ??= []).push(readKeyValue(r.sub(), 0))
        return true
      default:
        return false
    }
  })
  return out
}

function readSpan(r: Reader): OtlpSpan {
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
  r.each('Span', (no, wire) => {
    switch (no) {
      case 1:
        r.expect('Span', no, wire, WIRE.len)
        span.traceId = r.hex()
        return true
      case 2:
        r.expect('Span', no, wire, WIRE.len)
        span.spanId = r.hex()
        return true
      case 3:
        r.expect('Span', no, wire, WIRE.len)
        span.traceState = r.string()
        return true
      case 4:
        r.expect('Span', no, wire, WIRE.len)
        span.parentSpanId = r.hex()
        return true
      case 5:
        r.expect('Span', no, wire, WIRE.len)
        span.name = r.string()
        return true
      case 6:
        r.expect('Span', no, wire, WIRE.varint)
        span.kind = r.uint32()
        return true
      case 7:
        r.expect('Span', no, wire, WIRE.i64)
        span.startTimeUnixNano = r.fixed64()
        return true
      case 8:
        r.expect('Span', no, wire, WIRE.i64)
        span.endTimeUnixNano = r.fixed64()
        return true
      case 9:
        r.expect('Span', no, wire, WIRE.len)
        span.attributes.push(readKeyValue(r.sub(), 0))
        return true
      case 10:
        r.expect('Span', no, wire, WIRE.varint)
        span.droppedAttributesCount = r.uint32()
        return true
      case 11:
        r.expect('Span', no, wire, WIRE.len)
        span.events.push(readEvent(r.sub()))
        return true
      case 12:
        r.expect('Span', no, wire, WIRE.varint)
        span.droppedEventsCount = r.uint32()
        return true
      case 13:
        r.expect('Span', no, wire, WIRE.len)
        span.links.push(readLink(r.sub()))
        return true
      case 14:
        r.expect('Span', no, wire, WIRE.varint)
        span.droppedLinksCount = r.uint32()
        return true
      case 15:
        r.expect('Span', no, wire, WIRE.len)
        span.status = readStatus(r.sub())
        return true
      case 16:
        r.expect('Span', no, wire, WIRE.i32)
        span.flags = r.fixed32()
        return true
      default:
        return false
    }
  })
  return span
}

function readEvent(r: Reader): OtlpSpanEvent {
  const ev: OtlpSpanEvent = { timeUnixNano: 0n, name: '', attributes: [] }
  r.each('Span.Event', (no, wire) => {
    switch (no) {
      case 1:
        r.expect('Span.Event', no, wire, WIRE.i64)
        ev.timeUnixNano = r.fixed64()
        return true
      case 2:
        r.expect('Span.Event', no, wire, WIRE.len)
        ev.name = r.string()
        return true
      case 3:
        r.expect('Span.Event', no, wire, WIRE.len)
        ev.attributes.push(readKeyValue(r.sub(), 0))
        return true
      case 4:
        r.expect('Span.Event', no, wire, WIRE.varint)
        ev.droppedAttributesCount = r.uint32()
        return true
      default:
        return false
    }
  })
  return ev
}

function readLink(r: Reader): OtlpSpanLink {
  const link: OtlpSpanLink = { traceId: '', spanId: '', attributes: [] }
  r.each('Span.Link', (no, wire) => {
    switch (no) {
      case 1:
        r.expect('Span.Link', no, wire, WIRE.len)
        link.traceId = r.hex()
        return true
      case 2:
        r.expect('Span.Link', no, wire, WIRE.len)
        link.spanId = r.hex()
        return true
      case 3:
        r.expect('Span.Link', no, wire, WIRE.len)
        link.traceState = r.string()
        return true
      case 4:
        r.expect('Span.Link', no, wire, WIRE.len)
        link.attributes.push(readKeyValue(r.sub(), 0))
        return true
      case 5:
        r.expect('Span.Link', no, wire, WIRE.varint)
        link.droppedAttributesCount = r.uint32()
        return true
      case 6:
        r.expect('Span.Link', no, wire, WIRE.i32)
        link.flags = r.fixed32()
        return true
      default:
        return false
    }
  })
  return link
}

function readStatus(r: Reader): OtlpStatus {
  const st: OtlpStatus = { code: 0 }
  r.each('Status', (no, wire) => {
    if (no === 2) {
      r.expect('Status', no, wire, WIRE.len)
      st.message = r.string()
      return true
    }
    if (no === 3) {
      r.expect('Status', no, wire, WIRE.varint)
      st.code = r.uint32()
      return true
    }
    return false
  })
  return st
}

function readKeyValue(r: Reader, depth: number): OtlpKeyValue {
  const kv: OtlpKeyValue = { key: '', value: {} }
  r.each('KeyValue', (no, wire) => {
    if (no === 1) {
      r.expect('KeyValue', no, wire, WIRE.len)
      kv.key = r.string()
      return true
    }
    if (no === 2) {
      r.expect('KeyValue', no, wire, WIRE.len)
      kv.value = readAnyValue(r.sub(), depth + 1)
      return true
    }
    return false
  })
  return kv
}

function readAnyValue(r: Reader, depth: number): OtlpAnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) r.fail(`attribute values nested deeper than ${MAX_ANY_VALUE_DEPTH}`)
  let v: OtlpAnyValue = {}
  r.each('AnyValue', (no, wire) => {
    switch (no) {
      case 1:
        r.expect('AnyValue', no, wire, WIRE.len)
        v = { stringValue: r.string() }
        return true
      case 2:
        r.expect('AnyValue', no, wire, WIRE.varint)
        v = { boolValue: r.uint32() !== 0 }
        return true
      case 3:
        r.expect('AnyValue', no, wire, WIRE.varint)
        v = { intValue: r.int64() }
        return true
      case 4:
        r.expect('AnyValue', no, wire, WIRE.i64)
        v = { doubleValue: r.double() }
        return true
      case 5: {
        r.expect('AnyValue', no, wire, WIRE.len)
        const a = r.sub()
        const values: OtlpAnyValue[] = []
        a.each('ArrayValue', (n, w) => {
          if (n !== 1) return false
          a.expect('ArrayValue', n, w, WIRE.len)
          values.push(readAnyValue(a.sub(), depth + 1))
          return true
        })
        v = { arrayValue: { values } }
        return true
      }
      case 6: {
        r.expect('AnyValue', no, wire, WIRE.len)
        const k = r.sub()
        const values: OtlpKeyValue[] = []
        k.each('KeyValueList', (n, w) => {
          if (n !== 1) return false
          k.expect('KeyValueList', n, w, WIRE.len)
          values.push(readKeyValue(k.sub(), depth + 1))
          return true
        })
        v = { kvlistValue: { values } }
        return true
      }
      case 7:
        r.expect('AnyValue', no, wire, WIRE.len)
        v = { bytesValue: r.bytes() }
        return true
      default:
        return false
    }
  })
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
