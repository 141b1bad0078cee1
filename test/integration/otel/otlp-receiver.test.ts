// The OTLP receiver in a real Vigil server (in-process, recording on, real DuckDB and journal): the
// official OpenTelemetry exporters' spans become a run with its LLM calls, tool calls and failure;
// content types, gzip bounds, errors and partial success as OTLP/HTTP says.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VigilService } from '../../../src/main/core/vigil-service'
import { request } from 'node:http'
import { OTLP_SOURCE_ID, OtlpReceiver } from '../../../src/main/otel/otlp-receiver'
import { RecordingOff } from '../../../src/main/recorder/recording-off'
import { startVigilServer, type RunningServer } from '../../../src/main/server/vigil-server'
import type { RunDetail } from '../../../src/shared/model/live'
import { sendAgentTrace } from './otel-sdk-helpers'

let dir: string
let service: VigilService
let server: RunningServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-otlp-'))
  service = new VigilService({ mode: 'web', version: 'test', tmpRoot: join(dir, 'tmp') })
  await service.startRecording(join(dir, 'data', 'recordings.duckdb'))
  server = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: 'test', extensions: service.serverExtensions() })
})

afterAll(async () => {
  await server?.close()
  await service?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function runOf(traceId: string): Promise<RunDetail> {
  const summary = (await service.listRuns()).find((r) => r.sourceId === OTLP_SOURCE_ID && r.ensembleId === traceId)
  if (!summary) throw new Error(`no run for trace ${traceId}`)
  return service.getRun(summary.runId)
}

function post(body: Buffer | string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${server.url}/v1/traces`, { method: 'POST', headers, body })
}

const ID = (c: string, n: number) => c.repeat(n)

function jsonBody(spans: Record<string, unknown>[], service = 'json-svc'): string {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] })
}

describe.each(['protobuf', 'json'] as const)('official OTLP/HTTP exporter (%s)', (wire) => {
  it('a GenAI agent trace becomes a run with its LLM calls, tool call and failure', async () => {
    const sent = await sendAgentTrace(server.url, wire, { service: `agent-${wire}`, agent: 'weather-bot' })
    const run = await runOf(sent.traceId)
    expect(run.producerId).toBe(`agent-${wire}/${sent.traceId}`)
    expect(run.workflow).toBe('invoke_agent weather-bot')
    expect(run.status).toBe('completed')
    expect(run.spans?.map((s) => s.name).sort()).toEqual(['chat gpt-4o', 'chat gpt-4o', 'execute_tool get_weather', 'invoke_agent weather-bot'])
    const root = run.spans!.find((s) => s.parentSpanId === null)!
    expect(root.spanId).toBe(sent.rootSpanId)
    expect(run.spans!.filter((s) => s.parentSpanId === sent.rootSpanId)).toHaveLength(3)
    const calls = run.iterations!
    expect(calls).toHaveLength(2)
    const ok = calls.find((c) => c.responseType === 'FINAL_ANSWER')!
    expect(ok).toMatchObject({ agentRole: 'weather-bot', inputTokens: 321, outputTokens: 45, responseText: 'Let me check the weather tool.' })
    expect(ok.messages[0]).toMatchObject({ role: 'user', content: 'What is the weather in Paris?' })
    expect(run.spans!.find((s) => s.spanId !== root.spanId && s.category === 'llm' && s.status !== 'ERROR')).toMatchObject({ model: 'gpt-4o-2024-08-06', provider: 'openai' })
    expect(run.toolCalls).toEqual([expect.objectContaining({ toolName: 'get_weather', outcome: 'SUCCESS', arguments: '{"city":"Paris"}', result: '{"temp":18}' })])
    const failed = run.tasks.filter((t) => t.status === 'failed')
    expect(failed).toEqual([expect.objectContaining({ description: 'chat gpt-4o', failureReason: 'Rate limit reached for gpt-4o' })])
    expect(run.tasks.find((t) => t.description === 'invoke_agent weather-bot')?.status).toBe('completed')
  })
})

describe('trace assembly', () => {
  it('a trace whose root has not arrived is in progress; the root closes it, late spans still join it', async () => {
    const traceId = ID('7a', 16)
    const child = { traceId, spanId: ID('01', 8), parentSpanId: ID('0f', 8), name: 'retrieve docs', startTimeUnixNano: '1800000000500000000', endTimeUnixNano: '1800000000900000000' }
    expect((await post(jsonBody([child]), { 'content-type': 'application/json' })).status).toBe(200)
    let run = await runOf(traceId)
    expect(run.status).toBe('running')
    expect(run.spans).toHaveLength(1)
    const root = { traceId, spanId: ID('0f', 8), name: 'handle request', startTimeUnixNano: '1800000000000000000', endTimeUnixNano: '1800000002000000000', status: { code: 2, message: 'upstream failed' } }
    expect((await post(jsonBody([root]), { 'content-type': 'application/json' })).status).toBe(200)
    run = await runOf(traceId)
    expect(run.status).toBe('failed')
    expect(run.workflow).toBe('handle request')
    // The root started before the child that opened the run: the run starts with it.
    expect(run.startedAt).toBe('2027-01-15T08:00:00.000000000Z')
    const late = { traceId, spanId: ID('02', 8), parentSpanId: ID('01', 8), name: 'late child', startTimeUnixNano: '1800000000600000000', endTimeUnixNano: '1800000000700000000' }
    expect((await post(jsonBody([late]), { 'content-type': 'application/json' })).status).toBe(200)
    run = await runOf(traceId)
    expect(run.spans!.map((s) => s.name)).toEqual(['retrieve docs', 'handle request', 'late child'])
    expect((await service.listRuns()).filter((r) => r.ensembleId === traceId)).toHaveLength(1)
    // The same batch again (an exporter's retry) adds nothing.
    expect((await post(jsonBody([late]), { 'content-type': 'application/json' })).status).toBe(200)
    expect((await runOf(traceId)).spans).toHaveLength(3)
  })

  it('a trace across two services is one run; each span keeps its own service', async () => {
    const traceId = ID('3e', 16)
    const api = { traceId, spanId: ID('0a', 8), name: 'POST /plan', startTimeUnixNano: '1800000000000000000', endTimeUnixNano: '1800000003000000000' }
    const tool = { traceId, spanId: ID('0b', 8), parentSpanId: ID('0a', 8), name: 'execute_tool search', attributes: [{ key: 'gen_ai.operation.name', value: { stringValue: 'execute_tool' } }] }
    expect((await post(jsonBody([tool], 'tool-service'), { 'content-type': 'application/json' })).status).toBe(200)
    expect((await post(jsonBody([api], 'api-gateway'), { 'content-type': 'application/json' })).status).toBe(200)
    expect((await service.listRuns()).filter((r) => r.ensembleId === traceId)).toHaveLength(1)
    const run = await runOf(traceId)
    expect(run.producerId).toBe(`tool-service/${traceId}`)
    expect(run.status).toBe('completed')
    expect(run.spans!.map((x) => [x.name, x.service])).toEqual([['execute_tool search', 'tool-service'], ['POST /plan', 'api-gateway']])
  })

  it('refused spans are answered as partial success, with why, and counted', async () => {
    const good = { traceId: ID('6b', 16), spanId: ID('01', 8), name: 'ok' }
    const badTrace = { traceId: ID('00', 16), spanId: ID('01', 8), name: 'zero trace id' }
    const shortSpan = { traceId: ID('6b', 16), spanId: 'abcd', name: 'short span id' }
    const res = await post(jsonBody([good, badTrace, shortSpan]), { 'content-type': 'application/json' })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } }
    expect(body.partialSuccess.rejectedSpans).toBe('2')
    expect(body.partialSuccess.errorMessage).toMatch(/2 span\(s\) refused: a trace id must be 16 bytes/)
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as { otlp: { rejectedByReason: { badIds: number } } }
    expect(status.otlp.rejectedByReason.badIds).toBeGreaterThanOrEqual(2)
  })
})

describe('OTLP/HTTP errors', () => {
  const span = { traceId: ID('5c', 16), spanId: ID('01', 8), name: 'x' }

  it('415 for another content type or encoding, 405 for GET, 400 with why for bad data (in the request encoding)', async () => {
    const r415 = await post(jsonBody([span]), { 'content-type': 'text/plain' })
    expect(r415.status).toBe(415)
    expect(((await r415.json()) as { message: string }).message).toMatch(/application\/x-protobuf or application\/json/)
    expect((await post(jsonBody([span]), { 'content-type': 'application/json', 'content-encoding': 'br' })).status).toBe(415)
    expect((await fetch(`${server.url}/v1/traces`)).status).toBe(405)
    const bad = await post('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}', { 'content-type': 'application/json' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { code: number; message: string })).toEqual({ code: 3, message: expect.stringMatching(/resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected a hex string/) })
    const badPb = await post(Buffer.from([0x0a, 0xff, 0xff, 0x03]), { 'content-type': 'application/x-protobuf' })
    expect(badPb.status).toBe(400)
    expect(badPb.headers.get('content-type')).toBe('application/x-protobuf')
    // google.rpc.Status: code 3 (INVALID_ARGUMENT), then the message.
    const statusBytes = Buffer.from(await badPb.arrayBuffer())
    expect(statusBytes.subarray(0, 2)).toEqual(Buffer.from([0x08, 0x03]))
    expect(statusBytes.toString('utf8')).toMatch(/claims 65535 bytes/)
  })

  it('gzip bodies are accepted; a zip bomb is refused 413 without inflating it all; corrupt gzip 400', async () => {
    const traceId = ID('4d', 16)
    const ok = await post(gzipSync(jsonBody([{ ...span, traceId }])), { 'content-type': 'application/json', 'content-encoding': 'gzip' })
    expect(ok.status).toBe(200)
    expect((await runOf(traceId)).spans).toHaveLength(1)
    // 200 MiB of zeros gzip to ~200 KiB: over the 64 MiB inflate bound.
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024), { level: 9 })
    expect(bomb.length).toBeLessThan(1024 * 1024)
    const before = process.memoryUsage().rss
    const refused = await post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' })
    expect(refused.status).toBe(413)
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024)
    expect((await post(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(400)
  })

  it('503 with Retry-After while nothing can be made durable; nothing of the request is kept', async () => {
    const traceId = ID('2f', 16)
    // The recorder this service journals into, put back afterwards.
    const recorder = (service as unknown as { recorder: Parameters<OtlpReceiver['useDurability']>[0] }).recorder
    expect(recorder).not.toBeNull()
    service.otlpReceiver.useDurability(new RecordingOff('the data folder is read-only'))
    try {
      const res = await post(jsonBody([{ ...span, traceId }]), { 'content-type': 'application/json' })
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('5')
      expect(((await res.json()) as { code: number; message: string })).toEqual({ code: 14, message: expect.stringMatching(/Recording is off: the data folder is read-only\. The spans were not acknowledged; send them again later\./) })
      expect((await service.listRuns()).some((r) => r.ensembleId === traceId)).toBe(false)
    } finally {
      service.otlpReceiver.useDurability(recorder)
    }
  })

  it('429 with Retry-After past the requests in flight', async () => {
    const receiver = new OtlpReceiver({ tracker: service.registry.tracker, maxInFlight: 1 })
    const small = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: 'test', extensions: [receiver] })
    try {
      const body = jsonBody([{ ...span, traceId: ID('1a', 16) }])
      // The first export holds the only slot: its body is still arriving.
      let firstStatus = 0
      const first = request(`${small.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        firstStatus = res.statusCode ?? 0
        res.resume()
      })
      first.write(body.slice(0, 10))
      await new Promise((r) => setTimeout(r, 100))
      const second = await fetch(`${small.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect(second.status).toBe(429)
      expect(second.headers.get('retry-after')).toBe('1')
      const finished = new Promise((r) => first.on('close', r))
      first.end(body.slice(10))
      await finished
      expect(firstStatus).toBe(200)
      expect((receiver.statusDetails().otlp as { refused: Record<string, number> }).refused['429']).toBe(1)
    } finally {
      await small.close()
    }
  })

  it('a browser page of another origin is refused 403', async () => {
    const res = await post(jsonBody([span]), { 'content-type': 'application/json', origin: 'http://evil.example' })
    expect(res.status).toBe(403)
  })
})
