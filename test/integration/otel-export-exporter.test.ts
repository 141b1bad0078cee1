// The OTLP exporter against a real HTTP collector stub on 127.0.0.1:0 (./otel-export-collector.ts): batching, the flush
// interval, retry with Retry-After and backoff, 400 not retried, the memory bound (oldest batch dropped,
// counted), an unreachable endpoint ("failing", then recovering), OTLP/JSON, headers, shutdown flush.
import { afterEach, describe, expect, it } from 'vitest'
import { SPAN_KIND, type OtlpSpan } from '../../src/main/otel/otlp-model'
import { OtlpExporter, type OtlpExporterOptions } from '../../src/main/otel/export/otlp-exporter'
import { attrs, span, spanIdFor, traceIdFor } from '../../src/main/otel/export/span-common'
import { decodeTraceRequest, encodeTraceResponse, spansOf } from '../unit/otel-export/proto-decode'
import { CollectorStub } from './otel-export-collector'

const stubs: CollectorStub[] = []
const exporters: OtlpExporter[] = []
afterEach(async () => {
  await Promise.all(exporters.splice(0).map((e) => e.shutdown(200)))
  await Promise.all(stubs.splice(0).map((s) => s.stop()))
})

async function stub(): Promise<CollectorStub> {
  const s = await new CollectorStub().start()
  stubs.push(s)
  return s
}

function exporter(opts: Partial<OtlpExporterOptions> & { endpoint: string }): OtlpExporter {
  const e = new OtlpExporter({ resource: { serviceName: 'vigil', serviceVersion: '0.0.0-test', hostName: 'test' }, flushIntervalMs: 30, initialBackoffMs: 20, maxBackoffMs: 200, ...opts })
  exporters.push(e)
  return e
}

function spans(n: number, run = 'r'): OtlpSpan[] {
  const traceId = traceIdFor('test', run)
  return Array.from({ length: n }, (_, i) =>
    span({ traceId, spanId: spanIdFor(traceId, `s${i}`), parentSpanId: '', name: `span ${i}`, kind: SPAN_KIND.internal, startMs: 1_780_000_000_000 + i, endMs: 1_780_000_000_010 + i, attributes: attrs({ i }) })
  )
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('OtlpExporter', () => {
  it('sends batches of at most maxBatchSpans to <endpoint>/v1/traces, in order', async () => {
    const c = await stub()
    const e = exporter({ endpoint: c.url, maxBatchSpans: 5 })
    const sent = spans(12)
    e.enqueue(sent)
    await until(() => e.status().sent === 12)
    expect(c.received.map((r) => spansOf(decodeTraceRequest(r.body)).length)).toEqual([5, 5, 2])
    expect(c.received.every((r) => r.path === '/v1/traces' && r.headers['content-type'] === 'application/x-protobuf')).toBe(true)
    expect(c.spans()).toEqual(sent)
    expect(e.status()).toMatchObject({ state: 'connected', queued: 0, queuedBytes: 0, retried: 0, dropped: 0, rejected: 0, url: `${c.url}/v1/traces` })
    const resource = decodeTraceRequest(c.received[0]!.body).resourceSpans[0]!.resource!.attributes
    expect(resource.find((a) => a.key === 'service.name')?.value).toEqual({ stringValue: 'vigil' })
  })

  it('waits for the flush interval when a batch is not full', async () => {
    const c = await stub()
    const e = exporter({ endpoint: c.url, maxBatchSpans: 100, flushIntervalMs: 300 })
    const t0 = Date.now()
    e.enqueue(spans(3))
    await new Promise((r) => setTimeout(r, 150))
    expect(c.received).toHaveLength(0)
    await until(() => c.received.length === 1)
    expect(c.received[0]!.at - t0).toBeGreaterThanOrEqual(280)
  })

  it('retries 503 after the Retry-After delay and 429 with backoff; counts the retries', async () => {
    const c = await stub()
    c.answer = (_r, res, n) => {
      if (n === 1) res.writeHead(503, { 'retry-after': '1' }).end()
      else if (n === 2) res.writeHead(429).end()
      else res.writeHead(200).end()
    }
    const e = exporter({ endpoint: c.url })
    e.enqueue(spans(4))
    await until(() => e.status().sent === 4, 8000)
    expect(c.received).toHaveLength(3)
    expect(c.received[1]!.at - c.received[0]!.at).toBeGreaterThanOrEqual(950)
    expect(c.received[2]!.at - c.received[1]!.at).toBeLessThan(900)
    // The same batch each time (same bytes: same spans, same ids).
    expect(c.received[2]!.body.equals(c.received[0]!.body)).toBe(true)
    expect(e.status()).toMatchObject({ retried: 2, sent: 4, dropped: 0, state: 'connected', lastError: null })
  })

  it('does not retry a 400: the batch is counted as rejected, the next one goes on', async () => {
    const c = await stub()
    c.answer = (_r, res, n) => (n === 1 ? res.writeHead(400, { 'content-type': 'text/plain' }).end('bad span data') : res.writeHead(200).end())
    const e = exporter({ endpoint: c.url, maxBatchSpans: 3 })
    e.enqueue(spans(3, 'a'))
    await until(() => e.status().rejected === 3)
    await new Promise((r) => setTimeout(r, 200))
    expect(c.received).toHaveLength(1)
    expect(e.status().state).toBe('failing')
    expect(e.status().lastError).toMatch(/400.*bad span data.*not sent again/)
    e.enqueue(spans(2, 'b'))
    await until(() => e.status().sent === 2)
    expect(e.status()).toMatchObject({ state: 'connected', retried: 0, rejected: 3 })
  })

  it('counts what a collector rejects in a partial success (protobuf and JSON answers), without retrying', async () => {
    const c = await stub()
    c.answer = (_r, res, n) =>
      n === 1
        ? res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(encodeTraceResponse(2, 'spans too old')))
        : res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ partialSuccess: { rejectedSpans: '1', errorMessage: '' } }))
    const e = exporter({ endpoint: c.url, maxBatchSpans: 5 })
    e.enqueue(spans(5, 'p1'))
    await until(() => e.status().sent + e.status().rejected === 5)
    expect(e.status()).toMatchObject({ sent: 3, rejected: 2, retried: 0, state: 'connected' })
    expect(e.status().lastError).toMatch(/rejected 2 of its 5 spans: spans too old/)
    e.enqueue(spans(4, 'p2'))
    await until(() => e.status().sent + e.status().rejected === 9)
    expect(e.status()).toMatchObject({ sent: 6, rejected: 3 })
    expect(c.received).toHaveLength(2)
  })

  it('drops the oldest waiting batch at the bound and counts it', async () => {
    const c = await stub()
    let release: (() => void) | null = null
    // The first request hangs until released: everything else waits in the queue.
    c.answer = (_r, res, n) => (n === 1 ? (release = () => res.writeHead(200).end()) : res.writeHead(200).end())
    const e = exporter({ endpoint: c.url, maxBatchSpans: 5, maxQueueSpans: 10, requestTimeoutMs: 10_000 })
    const first = spans(5, 'first')
    e.enqueue(first)
    await until(() => release !== null)
    const rest = spans(20, 'rest')
    e.enqueue(rest)
    // 25 handed over, 10 fit (the 5 in flight + the newest 5): 15 dropped, oldest waiting first.
    expect(e.status()).toMatchObject({ queued: 10, dropped: 15 })
    release!()
    await until(() => e.status().sent === 10)
    expect(c.spans()).toEqual([...first, ...rest.slice(15)])
  })

  it('bounds queued bytes too', async () => {
    const c = await stub()
    c.answer = () => undefined // never answers: nothing leaves the queue
    const e = exporter({ endpoint: c.url, maxBatchSpans: 10, maxQueueBytes: 4096, requestTimeoutMs: 60_000 })
    for (let i = 0; i < 20; i++) e.enqueue(spans(10, `b${i}`))
    const s = e.status()
    expect(s.queuedBytes).toBeLessThanOrEqual(4096 + 10 * 400)
    expect(s.dropped + s.queued).toBe(200)
    expect(s.dropped).toBeGreaterThan(100)
  })

  it('an endpoint that is down makes the state "failing" with what to do; it recovers when the collector is back', async () => {
    const c = await stub()
    let down = true
    c.answer = (r, res) => (down ? res.socket?.destroy() : res.writeHead(200).end())
    const e = exporter({ endpoint: c.url })
    e.enqueue(spans(3))
    await until(() => e.status().retried >= 2)
    expect(e.status().state).toBe('failing')
    expect(e.status().lastError).toMatch(/Cannot reach the collector .*is it running.*Retrying in/)
    expect(e.status().queued).toBe(3)
    down = false
    await until(() => e.status().sent === 3)
    expect(e.status()).toMatchObject({ state: 'connected', queued: 0, lastError: null })
  })

  it('says which address it cannot reach when nothing listens there', async () => {
    const c = await stub()
    const url = c.url
    await c.stop()
    const e = exporter({ endpoint: url })
    e.enqueue(spans(1))
    await until(() => e.status().state === 'failing')
    expect(e.status().lastError).toContain(`${url}/v1/traces`)
    expect(e.status().lastError).toMatch(/ECONNREFUSED/)
  })

  it('OTLP/JSON: application/json bodies with hex ids and string times; extra headers sent', async () => {
    const c = await stub()
    const e = exporter({ endpoint: `${c.url}/v1/traces`, protocol: 'http/json', headers: { authorization: 'Bearer s3cret' } })
    const sent = spans(2)
    e.enqueue(sent)
    await until(() => e.status().sent === 2)
    const r = c.received[0]!
    expect(r.path).toBe('/v1/traces')
    expect(r.headers['content-type']).toBe('application/json')
    expect(r.headers.authorization).toBe('Bearer s3cret')
    const body = JSON.parse(r.body.toString('utf8')) as { resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string; startTimeUnixNano: string }[] }[] }[] }
    const got = body.resourceSpans[0]!.scopeSpans[0]!.spans
    expect(got.map((s) => [s.traceId, s.spanId, s.startTimeUnixNano])).toEqual(sent.map((s) => [s.traceId, s.spanId, s.startTimeUnixNano.toString()]))
  })

  it('shutdown sends what is queued without waiting for the interval, and gives up at its deadline', async () => {
    const c = await stub()
    const e = exporter({ endpoint: c.url, flushIntervalMs: 60_000 })
    e.enqueue(spans(3))
    await e.shutdown(3000)
    expect(c.spans()).toHaveLength(3)
    expect(e.status()).toMatchObject({ sent: 3, queued: 0 })

    const hang = await stub()
    hang.answer = () => undefined
    const e2 = exporter({ endpoint: hang.url, flushIntervalMs: 60_000, requestTimeoutMs: 60_000 })
    e2.enqueue(spans(4))
    const t0 = Date.now()
    await e2.shutdown(400)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(e2.status()).toMatchObject({ sent: 0, queued: 0, dropped: 4 })
    // After shutdown nothing is accepted (counted as dropped).
    e2.enqueue(spans(1))
    expect(e2.status().dropped).toBe(5)
  })

  it('never blocks the caller: enqueue returns at once even with a collector that hangs', async () => {
    const c = await stub()
    c.answer = () => undefined
    const e = exporter({ endpoint: c.url, requestTimeoutMs: 60_000 })
    const t0 = performance.now()
    for (let i = 0; i < 50; i++) e.enqueue(spans(20, `n${i}`))
    expect(performance.now() - t0).toBeLessThan(500)
    expect(e.status().queued).toBe(1000)
  })
})
