// The official OpenTelemetry JS SDK (OTLP/HTTP exporters, protobuf and JSON) sending GenAI spans into a
// real `vigil serve` process: the runs, their LLM calls and tool calls read back through Vigil's API,
// exported, and still there after a restart. And the agent-route rule: off loopback, the bearer token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunDetail, RunSummary } from '../../../src/shared/model/live'
import { startServe, tempDir, type ServeProcess } from '../cli/serve-process'
import { startTestServer, type TestServer } from '../server/auth-support'
import { sendAgentTrace, type SentTrace } from './otel-sdk-helpers'

async function rpc<T>(base: string, method: string, args: unknown[] = []): Promise<T> {
  const res = await fetch(`${base}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args }) })
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } }
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`)
  return body.value as T
}

async function runOfTrace(base: string, traceId: string): Promise<RunDetail> {
  const runs = await rpc<RunSummary[]>(base, 'listRuns')
  const run = runs.find((r) => r.sourceId === 'otel' && r.ensembleId === traceId)
  if (!run) throw new Error(`no run for trace ${traceId} among ${runs.length}`)
  return rpc<RunDetail>(base, 'getRun', [run.runId])
}

function expectAgentRun(run: RunDetail, sent: SentTrace, service: string): void {
  expect(run.status).toBe('completed')
  expect(run.producerId).toBe(`${service}/${sent.traceId}`)
  expect(run.workflow).toBe('invoke_agent researcher')
  expect(run.spans).toHaveLength(4)
  expect(run.spans!.find((s) => s.spanId === sent.rootSpanId)).toMatchObject({ parentSpanId: null, category: 'agent', agentName: 'researcher' })
  expect(run.iterations?.map((c) => [c.agentRole, c.inputTokens, c.outputTokens, c.responseType])).toEqual([
    ['researcher', 321, 45, 'FINAL_ANSWER'],
    ['researcher', null, null, 'ERROR']
  ])
  expect(run.toolCalls?.map((t) => [t.toolName, t.outcome, t.arguments])).toEqual([['get_weather', 'SUCCESS', '{"city":"Paris"}']])
  expect(run.tasks.filter((t) => t.status === 'failed').map((t) => t.failureReason)).toEqual(['Rate limit reached for gpt-4o'])
}

describe('OpenTelemetry SDK → real vigil serve', () => {
  const data = tempDir('vigil-otel-serve-')
  let serve: ServeProcess
  const sent: Record<'protobuf' | 'json', SentTrace | null> = { protobuf: null, json: null }

  beforeAll(async () => {
    serve = await startServe(data.dir)
  }, 60_000)

  afterAll(async () => {
    await serve?.stop()
    data.remove()
  })

  it.each(['protobuf', 'json'] as const)('%s: the run, its LLM calls and tool call are in the API', async (wire) => {
    sent[wire] = await sendAgentTrace(serve.url, wire, { service: `serve-${wire}`, agent: 'researcher' })
    expectAgentRun(await runOfTrace(serve.url, sent[wire].traceId), sent[wire], `serve-${wire}`)
  })

  it('the run is exportable, shows in GET /api/status counters, and is still there after a restart', async () => {
    const pb = sent.protobuf!
    const run = await runOfTrace(serve.url, pb.traceId)
    const exported = await rpc<{ fileName: string; json: string }>(serve.url, 'exportRunTrace', [run.runId])
    expect(exported.json.length).toBeGreaterThan(100)
    const status = (await (await fetch(`${serve.url}/api/status`)).json()) as { otlp: { spansAccepted: number; refused: Record<string, number> } }
    expect(status.otlp.spansAccepted).toBe(8)
    await serve.stop()
    serve = await startServe(data.dir)
    for (const wire of ['protobuf', 'json'] as const) expectAgentRun(await runOfTrace(serve.url, sent[wire]!.traceId), sent[wire]!, `serve-${wire}`)
  }, 60_000)

  it('acknowledged spans survive a kill -9 right after the 200 (replayed from the journal)', async () => {
    const crashed = await sendAgentTrace(serve.url, 'protobuf', { service: 'serve-crash', agent: 'researcher' })
    await serve.stop('SIGKILL')
    serve = await startServe(data.dir)
    expectAgentRun(await runOfTrace(serve.url, crashed.traceId), crashed, 'serve-crash')
  }, 60_000)
})

describe('agent route rule on /v1/traces (injected isLoopback: every caller is remote)', () => {
  const TOKEN = 'otlp-ingress-token-77'
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer({ auth: { password: 'pw-otlp-1', ingressToken: TOKEN, isLoopback: () => false } })
  })
  afterAll(() => s.close())

  it('without the token the exporter is refused (401), with it the trace is a run', async () => {
    const base = `http://127.0.0.1:${s.port}`
    const bare = await fetch(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' })
    expect(bare.status).toBe(401)
    expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="vigil"')
    await expect(sendAgentTrace(base, 'protobuf', { service: 'remote', agent: 'researcher' })).rejects.toThrow()
    await expect(sendAgentTrace(base, 'json', { service: 'remote', agent: 'researcher', headers: { authorization: 'Bearer wrong' } })).rejects.toThrow()
    const ok = await sendAgentTrace(base, 'json', { service: 'remote', agent: 'researcher', headers: { authorization: `Bearer ${TOKEN}` } })
    expect((await s.service.listRuns()).some((r) => r.ensembleId === ok.traceId)).toBe(true)
    expect((await s.service.listRuns()).filter((r) => r.sourceId === 'otel')).toHaveLength(1)
  })
})
