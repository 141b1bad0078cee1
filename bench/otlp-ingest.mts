// OTLP ingest (issue #15): spans per second into a real `vigil serve` with recording on (every span
// journaled before the 200), OTLP/HTTP protobuf and JSON, batches of 512 spans, several concurrent
// senders on keep-alive connections. Goal: ≥ 20,000 spans/s. Bodies are encoded before the clock
// starts (the sender should not compete with Vigil for the CPU). Each trace is 8 spans: an agent
// root, 4 chat calls with tokens and messages, 2 tool calls, 1 retrieval step; one in 16 fails.
// One JSON line per encoding: per-second spans/s samples, sustained rate, refusals, Vigil's own
// counters (GET /api/status "otlp") and how many were recorded.
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { loadavg } from 'node:os'
import { encodeTraceRequestJson } from '../src/main/otel/export/otlp-json-encode'
import { encodeTraceRequestProtobuf } from '../src/main/otel/export/otlp-protobuf-encode'
import type { OtlpKeyValue, OtlpSpan, OtlpTraceRequest } from '../src/main/otel/otlp-model'
import { startServe } from './live-latency.mjs'
import { report } from './stats.mjs'

const log = (m: string) => process.stderr.write(`otlp-ingest: ${m}\n`)
const DURATION_MS = Number(process.env.OTLP_BENCH_MS ?? 10_000)
const SENDERS = Number(process.env.OTLP_BENCH_SENDERS ?? 8)
const BATCH = 512
const SPANS_PER_TRACE = 8

const str = (key: string, v: string): OtlpKeyValue => ({ key, value: { stringValue: v } })
const int = (key: string, v: number): OtlpKeyValue => ({ key, value: { intValue: BigInt(v) } })
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0').slice(-len)

/** Batch `b` of the run: 64 traces of 8 spans, ids unique across batches. */
function batch(b: number): OtlpTraceRequest {
  const spans: OtlpSpan[] = []
  const base = 1_790_000_000_000_000_000n + BigInt(b) * 1_000_000_000n
  for (let t = 0; t < BATCH / SPANS_PER_TRACE; t++) {
    const n = b * 1000 + t
    const traceId = `${hex(0xbe4c, 8)}${hex(n, 24)}`
    const rootId = `${hex(n, 12)}0001`
    const mk = (k: number, name: string, attrs: OtlpKeyValue[], parent = rootId, failed = false): OtlpSpan => ({
      traceId,
      spanId: k === 0 ? rootId : `${hex(n, 12)}${hex(k + 1, 4)}`,
      parentSpanId: k === 0 ? '' : parent,
      name,
      kind: 1,
      startTimeUnixNano: base + BigInt(k) * 10_000_000n,
      endTimeUnixNano: base + BigInt(k) * 10_000_000n + (k === 0 ? 200_000_000n : 8_000_000n),
      attributes: attrs,
      events: [],
      links: [],
      status: failed ? { code: 2, message: 'Rate limit reached' } : { code: 0 }
    })
    const chat = (k: number) =>
      mk(k, 'chat gpt-4o', [
        str('gen_ai.operation.name', 'chat'),
        str('gen_ai.provider.name', 'openai'),
        str('gen_ai.request.model', 'gpt-4o'),
        int('gen_ai.usage.input_tokens', 800 + k),
        int('gen_ai.usage.output_tokens', 120),
        str('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `Step ${k}: summarise the findings so far.` }] }])),
        str('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Here is a short summary of what was found.' }] }]))
      ], rootId, k === 4 && t % 16 === 0)
    const tool = (k: number) =>
      mk(k, 'execute_tool web_search', [
        str('gen_ai.operation.name', 'execute_tool'),
        str('gen_ai.tool.name', 'web_search'),
        str('gen_ai.tool.call.id', `call_${n}_${k}`),
        str('gen_ai.tool.call.arguments', '{"query":"otlp receiver throughput"}')
      ])
    // Children first, as a BatchSpanProcessor exports them (they end first).
    spans.push(chat(1), tool(2), chat(3), chat(4), tool(5), chat(6))
    spans.push(mk(7, 'retrieve documents', [str('db.system', 'qdrant'), int('retrieval.documents', 5)]))
    spans.push(mk(0, 'invoke_agent researcher', [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'researcher')]))
  }
  return { resourceSpans: [{ resource: { attributes: [str('service.name', 'bench-agent')] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] }] }
}

/** CPU seconds (user + system) a process has used so far (Linux /proc; null elsewhere). */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return null
  }
}

async function measure(encoding: 'protobuf' | 'json'): Promise<void> {
  const batches = Math.ceil((DURATION_MS / 1000) * 60_000 / BATCH) // enough for 60k spans/s without reusing ids
  log(`${encoding}: encoding ${batches} batches of ${BATCH} spans…`)
  const bodies: Buffer[] = []
  for (let b = 0; b < batches; b++) {
    const req = batch(b)
    bodies.push(Buffer.from(encoding === 'protobuf' ? encodeTraceRequestProtobuf(req) : encodeTraceRequestJson(req)))
  }
  const contentType = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json'
  const serve = await startServe({ nodeArgs: (process.env.OTLP_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean) })
  const { proc, url } = serve
  const agent = new Agent({ keepAlive: true, maxSockets: SENDERS })
  try {
    let next = 0
    let spans = 0
    let refused = 0
    const statuses: Record<number, number> = {}
    const perSecond: number[] = []
    const latencies: number[] = []
    let windowSpans = 0
    const ticker = setInterval(() => {
      perSecond.push(windowSpans)
      windowSpans = 0
    }, 1000)
    const cpuBefore = cpuSeconds(proc.pid)
    const start = performance.now()
    const deadline = start + DURATION_MS
    const sender = async () => {
      while (performance.now() < deadline && next < bodies.length) {
        const body = bodies[next++]!
        const t0 = performance.now()
        const code = await new Promise<number>((ok) => {
          const req = request(`${url}/v1/traces`, { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': body.length } }, (res) => {
            res.resume()
            res.on('end', () => ok(res.statusCode ?? 0))
          })
          req.on('error', () => ok(0))
          req.end(body)
        })
        latencies.push(performance.now() - t0)
        statuses[code] = (statuses[code] ?? 0) + 1
        if (code === 200) {
          spans += BATCH
          windowSpans += BATCH
        } else {
          refused++
          // 429/503 carry Retry-After; a sender backs off briefly, as an exporter would.
          await new Promise((r) => setTimeout(r, 200))
        }
      }
    }
    await Promise.all(Array.from({ length: SENDERS }, sender))
    const elapsed = (performance.now() - start) / 1000
    const cpuAfter = cpuSeconds(proc.pid)
    const cpu = cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null
    clearInterval(ticker)
    const status = (await (await fetch(`${url}/api/status`)).json()) as { otlp: Record<string, unknown>; recording?: { recorded?: number } }
    report(`otlp.ingest.${encoding}.${SENDERS}_senders`, 'spans/s', perSecond.length ? perSecond : [spans / elapsed], {
      sustained: Math.round(spans / elapsed),
      spans,
      batchSpans: BATCH,
      senders: SENDERS,
      batchLatencyMsP50: Math.round(latencies.sort((a, b) => a - b)[Math.floor(latencies.length / 2)] ?? 0),
      refusedBatches: refused,
      statuses,
      otlp: { spansAccepted: status.otlp.spansAccepted, refused: status.otlp.refused, droppedInSpans: status.otlp.droppedInSpans },
      recording: status.recording ?? null,
      // Load-independent: spans per CPU-second Vigil spent (on a shared, loaded machine the wall rate says more about the others).
      vigilCpuSeconds: cpu === null ? null : Math.round(cpu * 100) / 100,
      spansPerVigilCpuSecond: cpu ? Math.round(spans / cpu) : null,
      load1: Math.round(loadavg()[0]! * 100) / 100,
      goal: 20_000
    })
  } finally {
    agent.destroy()
    await serve.stop()
  }
}

export async function run(): Promise<void> {
  await measure('protobuf')
  await measure('json')
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
