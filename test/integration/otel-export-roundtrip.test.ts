// Round trip: Vigil A (`vigil serve --otlp-endpoint` = Vigil B's URL) forwards a run to Vigil B's OTLP
// receiver (`POST /v1/traces`); the run appears on B with the same tasks, LLM calls and tool calls —
// in protobuf and in OTLP/JSON. Both Vigils are the real startServe path, in process, on 127.0.0.1:0.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseArgs, type ServeOptions } from '../../src/main/cli/args'
import { startServe, type RunningVigil } from '../../src/main/cli/serve'
import type { RunDetail, RunSummary } from '../../src/shared/model/live'
import type { DashboardMessage } from '../../src/shared/protocol/agentensemble'
import { runSpans } from '../../src/main/otel/export/run-spans'
import { CollectorStub } from './otel-export-collector'
import { DuckDBInstance } from '@duckdb/node-api'
import { buildStore } from '../fixtures/perspt-fixtures'
import { envelope, SVC_A } from '../unit/hub/frames'

let dir: string
const running: RunningVigil[] = []

async function serve(name: string, extra: string[] = []): Promise<RunningVigil> {
  const opts = parseArgs(['serve', '--port', '0', '--no-default-store', '--data-dir', join(dir, name), ...extra]) as ServeOptions
  const v = await startServe(opts, { version: '0.0.0-test', staticDir: null, env: {}, home: dir })
  running.push(v)
  return v
}

async function rpc<T>(v: RunningVigil, method: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`${v.server.url}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args }) })
  const body = (await res.json()) as { ok: boolean; value: T; error?: { message: string } }
  if (!body.ok) throw new Error(body.error?.message)
  return body.value
}

async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A run with two tasks (one failing), LLM iterations with tokens, tool calls (one failing). */
function* aRun(ensembleId: string): Generator<DashboardMessage> {
  const at = (s: number) => new Date(Date.parse('2026-03-05T14:00:00Z') + s * 1000).toISOString()
  yield { type: 'ensemble_started', ensembleId, startedAt: at(0), totalTasks: 2, workflow: 'SEQUENTIAL' }
  yield { type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Research the market', agentRole: 'Researcher', startedAt: at(1) }
  for (let i = 0; i < 3; i++) {
    yield { type: 'llm_iteration_started', agentRole: 'Researcher', taskDescription: 'Research the market', iterationIndex: i, messages: [], totalMessageCount: 0 }
    yield { type: 'llm_iteration_completed', agentRole: 'Researcher', taskDescription: 'Research the market', iterationIndex: i, responseType: i < 2 ? 'TOOL_CALLS' : 'FINAL_ANSWER', inputTokens: 100 * (i + 1), outputTokens: 10 * (i + 1), latencyMs: 300 }
    if (i < 2) yield { type: 'tool_called', agentRole: 'Researcher', taskIndex: 1, toolName: i === 0 ? 'web_search' : 'calculator', durationMs: 120, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'ok', structuredResult: null }
  }
  yield { type: 'task_completed', taskIndex: 1, totalTasks: 2, taskDescription: 'Research the market', agentRole: 'Researcher', completedAt: at(5), durationMs: 4000, tokenCount: 660, toolCallCount: 2 }
  yield { type: 'task_started', taskIndex: 2, totalTasks: 2, taskDescription: 'Write the report', agentRole: 'Writer', startedAt: at(6) }
  yield { type: 'llm_iteration_started', agentRole: 'Writer', taskDescription: 'Write the report', iterationIndex: 0, messages: [], totalMessageCount: 0 }
  yield { type: 'llm_iteration_completed', agentRole: 'Writer', taskDescription: 'Write the report', iterationIndex: 0, responseType: 'TOOL_CALLS', inputTokens: 900, outputTokens: 90, latencyMs: 500 }
  yield { type: 'tool_called', agentRole: 'Writer', taskIndex: 2, toolName: 'file_write', durationMs: 30, outcome: 'FAILURE', toolArguments: '{}', toolResult: 'disk full', structuredResult: null }
  yield { type: 'task_failed', taskIndex: 2, taskDescription: 'Write the report', agentRole: 'Writer', failedAt: at(8), reason: 'Could not write the report' }
  yield { type: 'ensemble_completed', ensembleId, completedAt: at(9), durationMs: 9000, exitReason: 'ERROR', totalTokens: 1650, totalToolCalls: 3 }
}

/**
 * What must survive the trip: tasks (role, outcome), LLM calls (tokens), tool calls (name, outcome). On the
 * receiving side a task is an agent span; the receiver also lists other failed spans (the run, a tool) as
 * failures among the tasks, which are checked apart.
 */
function shape(run: RunDetail, received = false) {
  const agents = new Set((run.spans ?? []).filter((s) => s.category === 'agent').map((s) => s.name))
  return {
    tasks: run.tasks.filter((t) => !received || agents.has(t.description)).map((t) => ({ role: t.agentRole, failed: t.status === 'failed' })).sort((a, b) => a.role.localeCompare(b.role)),
    llm: (run.iterations ?? []).map((i) => [i.inputTokens, i.outputTokens]).sort((a, b) => a[0]! - b[0]!),
    tools: (run.toolCalls ?? []).map((c) => [c.toolName, c.outcome === 'SUCCESS' || c.outcome === null ? 'ok' : 'failed']).sort()
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-otel-roundtrip-'))
})
afterAll(async () => {
  for (const v of running.splice(0).reverse()) await v.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('Vigil A → OTLP → Vigil B', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`a run on A appears on B with equal tasks, LLM calls and tool calls (${protocol})`, async () => {
      const b = await serve(`b-${protocol.replace('/', '-')}`)
      const a = await serve(`a-${protocol.replace('/', '-')}`, ['--otlp-endpoint', b.server.url, '--otlp-protocol', protocol])
      const ensembleId = `e-rt-${protocol}`
      let seq = 0
      for (const m of aRun(ensembleId)) {
        const res = await fetch(`${a.server.url}/api/hub/ingress`, { method: 'POST', body: envelope(SVC_A, ++seq, '2026-03-05T14:00:00Z', m) })
        expect(res.status).toBe(202)
      }
      const onA = await until(async () => {
        const runs = await rpc<RunSummary[]>(a, 'listRuns')
        const r = runs.find((x) => x.ensembleId === ensembleId && x.status !== 'running')
        return r ? rpc<RunDetail>(a, 'getRun', r.runId, 0) : undefined
      }, 'the run to end on A')

      const onB = await until(async () => {
        const runs = await rpc<RunSummary[]>(b, 'listRuns')
        if (runs.length === 0) return undefined
        const detail = await rpc<RunDetail>(b, 'getRun', runs[0]!.runId, 0)
        // All 10 spans arrived (one request: a batch is sent whole).
        return (detail.toolCalls?.length ?? 0) === 3 && (detail.iterations?.length ?? 0) === 4 ? detail : undefined
      }, 'the run on B')

      expect(shape(onB, true)).toEqual(shape(onA))
      // The failures are there too: the run's own span and the failed tool call, with their reasons.
      const failures = onB.tasks.filter((t) => t.status === 'failed').map((t) => [t.description, t.failureReason])
      expect(failures).toEqual(
        expect.arrayContaining([
          ['run SEQUENTIAL', 'ERROR'],
          // (the run's exit reason as the server said it, not TASK_FAILED Vigil inferred a moment before)
          ['invoke_agent Writer', 'Could not write the report'],
          ['execute_tool file_write', 'Tool outcome FAILURE']
        ])
      )
      expect(shape(onA)).toEqual({
        tasks: [
          { role: 'Researcher', failed: false },
          { role: 'Writer', failed: true }
        ],
        llm: [
          [100, 10],
          [200, 20],
          [300, 30],
          [900, 90]
        ],
        tools: [
          ['calculator', 'ok'],
          ['file_write', 'failed'],
          ['web_search', 'ok']
        ]
      })
      // A counts the batch once B has answered; sent once (not again when the server ended the run Vigil had ended).
      const status = await until(async () => {
        const s = ((await (await fetch(`${a.server.url}/api/status`)).json()) as { otlpExport: { state: string; sent: number; queued: number } }).otlpExport
        return s.queued === 0 && s.sent > 0 ? s : undefined
      }, 'A to count what it sent')
      expect(status).toMatchObject({ state: 'connected', sent: 10, runsExported: 1 })
    })
  }

  it('B forwards the run it received with A’s trace and span ids (a collector behind a chain of Vigils keeps one copy)', async () => {
    const collector = await new CollectorStub().start()
    try {
      const b = await serve('chain-b', ['--otlp-endpoint', collector.url])
      const a = await serve('chain-a', ['--otlp-endpoint', b.server.url])
      let seq = 0
      for (const m of aRun('e-chain')) await fetch(`${a.server.url}/api/hub/ingress`, { method: 'POST', body: envelope(SVC_A, ++seq, '2026-03-05T14:00:00Z', m) })
      const onA = await until(async () => {
        const r = (await rpc<RunSummary[]>(a, 'listRuns')).find((x) => x.ensembleId === 'e-chain' && x.status !== 'running')
        return r ? rpc<RunDetail>(a, 'getRun', r.runId, 0) : undefined
      }, 'the run on A')
      const sentByA = runSpans(onA)
      const atCollector = await until(async () => {
        const spans = collector.spans()
        return spans.length >= sentByA.length ? spans : undefined
      }, 'B to forward the run')
      const key = (x: { traceId: string; spanId: string; parentSpanId: string; name: string }) => `${x.traceId}/${x.spanId}/${x.parentSpanId}/${x.name}`
      expect(atCollector.map(key).sort()).toEqual(sentByA.map(key).sort())
      expect(atCollector.find((x) => x.name === 'chat' && x.attributes.some((kv) => kv.key === 'gen_ai.usage.input_tokens' && kv.value.intValue === 900n))).toBeDefined()
    } finally {
      await collector.stop()
    }
  })

  it('two Vigils forwarding to each other: the run comes back once and goes no further', { timeout: 40_000 }, async () => {
    // Each needs the other's port: A starts pointing nowhere, B towards A, then A is pointed at B the way a
    // settings change on the desktop does it.
    const a = await serve('loop-a', ['--otlp-endpoint', 'http://127.0.0.1:9'])
    const b = await serve('loop-b', ['--otlp-endpoint', a.server.url])
    a.service.otlpExport.configure({ endpoint: b.server.url, protocol: 'http/protobuf', headers: {} })
    let seq = 0
    for (const m of aRun('e-loop')) await fetch(`${a.server.url}/api/hub/ingress`, { method: 'POST', body: envelope(SVC_A, ++seq, '2026-03-05T14:00:00Z', m) })
    const sent = async (v: RunningVigil) => ((await (await fetch(`${v.server.url}/api/status`)).json()) as { otlpExport: { sent: number } }).otlpExport.sent
    // A sends its run (10 spans) to B; B sends it back (10); A sends the echo on (10), which changes
    // nothing on B, so B sends nothing more. An endless loop would keep both counts growing.
    await until(async () => ((await sent(a)) >= 20 && (await sent(b)) >= 10 ? true : undefined), 'the echo to go round', 20_000)
    await new Promise((r) => setTimeout(r, 3000))
    expect([await sent(a), await sent(b)]).toEqual([20, 10])
    const runsOnA = await rpc<RunSummary[]>(a, 'listRuns')
    const runsOnB = await rpc<RunSummary[]>(b, 'listRuns')
    expect(runsOnB).toHaveLength(1)
    // A: its own run and the echo of it (the same trace, shown as received spans).
    expect(runsOnA).toHaveLength(2)
  })

  it('a Perspt session that ends on A appears on B: its nodes as agent tasks, its LLM requests as LLM calls', async () => {
    const store = join(dir, 'perspt.db')
    await buildStore(store, {
      generation: 23,
      sessions: [
        {
          id: 'rt-session',
          status: 'RUNNING',
          createdAt: '2026-05-01 10:00:00',
          plan: ['task_1', 'task_2'],
          committed: ['task_1'],
          started: ['task_1', 'task_2'],
          llm: [
            { nodeId: 'task_1', tokensIn: 100, tokensOut: 50 },
            { nodeId: 'task_2', tokensIn: 200, tokensOut: 80 },
            { nodeId: '', tokensIn: 30, tokensOut: 10 }
          ]
        }
      ]
    })
    const b = await serve('perspt-b')
    const a = await serve('perspt-a', ['--db', store, '--otlp-endpoint', b.server.url])
    // A reads the session as it is first (the baseline), then the agent finishes it.
    await until(async () => {
      const sources = await rpc<{ id: string; kind: string }[]>(a, 'listSources')
      const id = sources.find((x) => x.kind === 'store')?.id
      return id && (await rpc<unknown[]>(a, 'listSessions', id).catch(() => [])).length === 1 ? true : undefined
    }, 'A to read the store')
    const db = await DuckDBInstance.create(store)
    const con = await db.connect()
    await con.run("UPDATE sessions SET status = 'COMPLETED', updated_at = TIMESTAMP '2026-05-01 10:10:00' WHERE session_id = 'rt-session'")
    con.closeSync()
    db.closeSync()
    const onB = await until(async () => {
      const runs = await rpc<RunSummary[]>(b, 'listRuns')
      if (runs.length === 0) return undefined
      const detail = await rpc<RunDetail>(b, 'getRun', runs[0]!.runId, 0)
      return (detail.iterations?.length ?? 0) === 3 ? detail : undefined
    }, 'the session on B')
    expect(shape(onB, true).tasks.map((t) => t.role).sort()).toEqual(['task_1', 'task_2'])
    expect(shape(onB, true).llm).toEqual([
      [30, 10],
      [100, 50],
      [200, 80]
    ])
    expect(onB.iterations!.every((i) => i.taskDescription.startsWith('chat'))).toBe(true)
  })
})
