// OTLP export figures: spans/s mapped (AgentEnsemble run → spans), encoded (protobuf, OTLP/JSON), and
// encoded + sent by the exporter (batches of 512) to a collector stub on 127.0.0.1 (a plain node http
// server in a worker thread that reads and acknowledges bodies). One JSON line per measurement; the
// machine's load average is in each line (`load1`): compare figures taken at similar load.
import { loadavg } from 'node:os'
import { Worker } from 'node:worker_threads'
import { RunTracker } from '../src/main/live/run-tracker'
import { OtlpExporter } from '../src/main/otel/export/otlp-exporter'
import { encodeTraceRequestJson } from '../src/main/otel/export/otlp-json-encode'
import { encodeTraceRequestProtobuf } from '../src/main/otel/export/otlp-protobuf-encode'
import { runSpans } from '../src/main/otel/export/run-spans'
import { traceRequest } from '../src/main/otel/export/span-common'
import type { OtlpSpan } from '../src/main/otel/otlp-model'
import type { DashboardMessage } from '../src/shared/protocol/agentensemble'
import { report } from './stats.mjs'

const log = (m: string) => process.stderr.write(`otlp-export: ${m}\n`)
const ROUNDS = Number(process.env.OTLP_BENCH_ROUNDS ?? 7)
const RESOURCE = { serviceName: 'vigil', serviceVersion: 'bench', hostName: 'bench' }

/** A run of `tasks` tasks, each with 10 LLM iterations and 10 tool calls. */
function runMessages(ensembleId: string, tasks: number): DashboardMessage[] {
  const out: DashboardMessage[] = [{ type: 'ensemble_started', ensembleId, startedAt: '2026-03-05T14:00:00Z', totalTasks: tasks, workflow: 'SEQUENTIAL' }]
  for (let t = 1; t <= tasks; t++) {
    const base = { taskDescription: `Research topic ${t} and summarise the findings for the weekly report`, agentRole: `Researcher ${t}` }
    out.push({ type: 'task_started', taskIndex: t, totalTasks: tasks, ...base, startedAt: '2026-03-05T14:00:01.123456Z' })
    for (let i = 0; i < 10; i++) {
      out.push({ type: 'llm_iteration_started', ...base, iterationIndex: i, messages: [], totalMessageCount: 0 })
      out.push({ type: 'llm_iteration_completed', ...base, iterationIndex: i, responseType: 'TOOL_CALLS', toolRequests: [{ name: 'web_search', arguments: '{}' }], inputTokens: 500 + i, outputTokens: 200, latencyMs: 1200 })
      out.push({ type: 'tool_called', agentRole: base.agentRole, taskIndex: t, toolName: 'web_search', durationMs: 840, outcome: 'SUCCESS', toolArguments: '{}', toolResult: '3 results', structuredResult: null })
    }
    out.push({ type: 'task_completed', taskIndex: t, totalTasks: tasks, ...base, completedAt: '2026-03-05T14:00:09Z', durationMs: 8000, tokenCount: 7000, toolCallCount: 10 })
  }
  out.push({ type: 'ensemble_completed', ensembleId, completedAt: '2026-03-05T14:01:00Z', durationMs: 60000, exitReason: 'COMPLETED', totalTokens: 70000, totalToolCalls: 10 * tasks })
  return out
}

function buildRun(n: number): { spans: OtlpSpan[]; map: () => OtlpSpan[] } {
  const tracker = new RunTracker({ onRunUpdated: () => undefined })
  for (const m of runMessages(`bench-${n}`, 40)) tracker.ingest('bench', null, m, '2026-03-05T14:00:00Z')
  const detail = tracker.getRun(tracker.listRuns()[0]!.runId, 0)!
  return { spans: runSpans(detail), map: () => runSpans(detail) }
}

/** The collector stub, in a worker so its parsing does not share Vigil's thread. */
function startStub(): Promise<{ url: string; stop: () => Promise<number> }> {
  const code = `
    const { createServer } = require('node:http')
    const { parentPort } = require('node:worker_threads')
    let bytes = 0
    const server = createServer((req, res) => { req.on('data', (c) => (bytes += c.length)); req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()) })
    server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }))
    parentPort.on('message', () => { server.close(); parentPort.postMessage({ bytes }) })
  `
  const worker = new Worker(code, { eval: true })
  return new Promise((resolve) => {
    worker.once('message', (m: { port: number }) =>
      resolve({
        url: `http://127.0.0.1:${m.port}`,
        stop: () =>
          new Promise((r) => {
            worker.once('message', (x: { bytes: number }) => {
              void worker.terminate()
              r(x.bytes)
            })
            worker.postMessage('stop')
          })
      })
    )
  })
}

export async function run(): Promise<void> {
  const { spans, map } = buildRun(1)
  log(`one run = ${spans.length} spans`)
  const load = () => ({ load1: Number(loadavg()[0]!.toFixed(2)) })

  // Mapping a held run to spans.
  const mapRates: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now()
    let n = 0
    while (performance.now() - t0 < 300) n += map().length
    mapRates.push(n / ((performance.now() - t0) / 1000))
  }
  report('otlp-export map (AgentEnsemble run → spans)', 'spans/s', mapRates, load())

  // Encoding batches of 512.
  const batch = spans.slice(0, 512)
  for (const [name, encode] of [
    ['protobuf', encodeTraceRequestProtobuf],
    ['json', encodeTraceRequestJson]
  ] as const) {
    const rates: number[] = []
    let size = 0
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now()
      let n = 0
      while (performance.now() - t0 < 300) {
        size = encode(traceRequest(RESOURCE, batch)).length
        n += batch.length
      }
      rates.push(n / ((performance.now() - t0) / 1000))
    }
    report(`otlp-export encode ${name} (batches of 512)`, 'spans/s', rates, { ...load(), bytesPerSpan: Math.round(size / batch.length) })
  }

  // Encoded and sent to the stub: enqueue many runs at once, time until the collector has them all.
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    const rates: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const stub = await startStub()
      const exporter = new OtlpExporter({ endpoint: stub.url, protocol, resource: RESOURCE, flushIntervalMs: 1, maxQueueSpans: 200_000, maxQueueBytes: 512 * 1024 * 1024 })
      const total = spans.length * 50
      const t0 = performance.now()
      for (let i = 0; i < 50; i++) exporter.enqueue(spans)
      while (exporter.status().sent < total) {
        if (exporter.status().dropped + exporter.status().rejected > 0) throw new Error(`lost spans: ${JSON.stringify(exporter.status())}`)
        await new Promise((res) => setImmediate(res))
      }
      rates.push(total / ((performance.now() - t0) / 1000))
      await exporter.shutdown(1000)
      await stub.stop()
    }
    report(`otlp-export encode+send ${protocol} to a local collector stub`, 'spans/s', rates, load())
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
