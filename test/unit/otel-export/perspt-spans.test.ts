// Perspt session → OTLP spans, read through PersptStore (a snapshot copy of a real DuckDB store written
// with Perspt's schema): the root span with outcome and totals, node spans with energy components,
// V_total, verification and attempts, GenAI chat spans per LLM request (model, provider, tokens,
// latency as duration), deterministic ids.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PersptStore } from '../../../src/main/perspt/perspt-store'
import { providerOf, readSessionSpans, sessionTraceId } from '../../../src/main/otel/export/perspt-spans'
import { SPAN_KIND, STATUS_CODE, type OtlpAnyValue, type OtlpSpan } from '../../../src/main/otel/otlp-model'
import { buildStore } from '../../fixtures/perspt-fixtures'

const SID = 'px-main'
const utc = (naive: string) => BigInt(Date.parse(`${naive.replace(' ', 'T')}Z`)) * 1_000_000n

function attr(s: OtlpSpan, key: string): string | number | boolean | undefined {
  const v: OtlpAnyValue | undefined = s.attributes.find((a) => a.key === key)?.value
  if (!v) return undefined
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue
}

let dir: string
let path: string
let store: PersptStore

async function read(): Promise<OtlpSpan[]> {
  const session = (await store.listCountedSessions()).find((s) => s.sessionId === SID)!
  return store.query(`test:${Math.random()}`, (con, probe) => readSessionSpans(con, probe, session, { storePath: path }))
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-otel-perspt-'))
  path = join(dir, 'perspt.db')
  await buildStore(path, {
    generation: 23,
    sessions: [
      { id: SID, task: 'Add rate limiting', workingDir: '/work/api', status: 'FAILED', createdAt: '2026-05-01 10:00:00', updatedAt: '2026-05-01 10:05:00', plan: ['task_1', 'task_2', 'task_3'], committed: ['task_1'] },
      { id: 'px-other', status: 'COMPLETED', createdAt: '2026-05-01 09:00:00', committed: ['task_1'], llm: [{ nodeId: 'task_1', tokensIn: 1, tokensOut: 1 }] }
    ]
  })
  const db = await DuckDBInstance.create(path)
  const con = await db.connect()
  const q = (sql: string) => con.run(sql)
  await q(`INSERT INTO energy_history (node_id, session_id, timestamp, v_syn, v_str, v_log, v_boot, v_sheaf, v_total) VALUES
    ('task_1', '${SID}', '2026-05-01 10:01:00', 0.5, 0.25, 0.125, 0, 0.0625, 0.9375),
    ('task_1', '${SID}', '2026-05-01 10:02:00', 0, 0, 0.015625, 0, 0, 0.015625),
    ('task_2', '${SID}', '2026-05-01 10:02:10', 1.5, 0.5, 0.25, 0.25, 0, 2.5)`)
  await q(`INSERT INTO verification_results (session_id, node_id, result_json, syntax_ok, build_ok, tests_ok, lint_ok, diagnostics_count, tests_passed, tests_failed, degraded, degraded_reason, created_at) VALUES
    ('${SID}', 'task_1', '{}', true, true, true, true, 0, 12, 0, false, '', '2026-05-01 10:02:00'),
    ('${SID}', 'task_2', '{}', true, false, false, true, 4, 9, 3, true, 'no linter', '2026-05-01 10:03:00')`)
  await q(`INSERT INTO node_states (node_id, session_id, state, v_total, merkle_hash, attempt_count, created_at, node_class, owner_plugin, goal, parent_id, children, last_error_type, committed_at) VALUES
    ('task_2', '${SID}', 'Failed', 2.5, ''::BLOB, 3, '2026-05-01 10:03:30', 'implementation', '', 'Wire the limiter', '', '[]', 'build', '')`)
  await q(`INSERT INTO llm_requests (session_id, node_id, model, prompt, response, tokens_in, tokens_out, latency_ms, timestamp) VALUES
    ('${SID}', '', 'llama-3', 'plan', 'ok', 40, 10, 500, '2026-05-01 10:00:05'),
    ('${SID}', 'task_1', 'gpt-4o', 'p1', 'r1', 100, 50, 1500, '2026-05-01 10:00:30'),
    ('${SID}', 'task_2', 'claude-sonnet-4', 'p2', 'r2', 200, 80, 2500, '2026-05-01 10:02:30')`)
  con.closeSync()
  db.closeSync()
  store = new PersptStore({ path, tmpRoot: join(dir, 'tmp') })
  await store.refresh()
})

afterAll(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('readSessionSpans (Perspt session → OTLP)', () => {
  it('root span: the session with its outcome and totals', async () => {
    const spans = await read()
    const root = spans[0]!
    expect(root.parentSpanId).toBe('')
    expect(root.traceId).toBe(sessionTraceId(path, SID))
    expect(root.name).toBe('perspt session')
    expect(root.startTimeUnixNano).toBe(utc('2026-05-01 10:00:00'))
    expect(root.endTimeUnixNano).toBe(utc('2026-05-01 10:05:00'))
    expect(root.status?.code).toBe(STATUS_CODE.error)
    expect(root.events.map((e) => e.name)).toEqual(['exception'])
    expect([attr(root, 'perspt.session.id'), attr(root, 'perspt.session.status'), attr(root, 'vigil.run.status'), attr(root, 'perspt.session.task')]).toEqual([SID, 'FAILED', 'failed', 'Add rate limiting'])
    expect([attr(root, 'perspt.llm.requests'), attr(root, 'gen_ai.usage.input_tokens'), attr(root, 'gen_ai.usage.output_tokens')]).toEqual([3, 340, 140])
    expect([attr(root, 'perspt.nodes.planned'), attr(root, 'perspt.nodes.committed')]).toEqual([3, 1])
  })

  it('node spans: energy components, V_total, verification and attempts; a queued node is not a span', async () => {
    const spans = await read()
    const root = spans[0]!
    const nodes = spans.filter((s) => attr(s, 'perspt.node.id') !== undefined && attr(s, 'gen_ai.operation.name') === 'invoke_agent')
    expect(nodes.map((s) => [s.name, s.parentSpanId])).toEqual([
      ['invoke_agent task_1', root.spanId],
      ['invoke_agent task_2', root.spanId]
    ])
    const [t1, t2] = nodes as [OtlpSpan, OtlpSpan]
    // The latest pass's components.
    expect([attr(t1, 'perspt.energy.v_syn'), attr(t1, 'perspt.energy.v_log'), attr(t1, 'perspt.node.passes')]).toEqual([0, 0.015625, 2])
    expect([attr(t1, 'perspt.verification.result'), attr(t1, 'perspt.verification.tests_passed'), attr(t1, 'perspt.node.state')]).toEqual(['passed', 12, 'committed'])
    expect(t1.status).toBeUndefined()
    expect([attr(t2, 'perspt.energy.v_syn'), attr(t2, 'perspt.energy.v_boot'), attr(t2, 'perspt.energy.v_total')]).toEqual([1.5, 0.25, 2.5])
    expect([attr(t2, 'perspt.verification.result'), attr(t2, 'perspt.verification.build_ok'), attr(t2, 'perspt.verification.tests_failed'), attr(t2, 'perspt.verification.degraded_reason')]).toEqual(['failed', false, 3, 'no linter'])
    expect([attr(t2, 'perspt.node.attempts'), attr(t2, 'perspt.node.state'), attr(t2, 'gen_ai.agent.description')]).toEqual([3, 'failed', 'Wire the limiter'])
    expect(t2.status?.code).toBe(STATUS_CODE.error)
    expect(t2.startTimeUnixNano).toBe(utc('2026-05-01 10:02:10'))
    expect(t2.endTimeUnixNano).toBe(utc('2026-05-01 10:03:30'))
    expect(spans.some((s) => attr(s, 'perspt.node.id') === 'task_3')).toBe(false)
  })

  it('LLM requests: GenAI chat client spans under their node, latency as duration', async () => {
    const spans = await read()
    const root = spans[0]!
    const byNode = new Map(spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'invoke_agent').map((s) => [attr(s, 'perspt.node.id'), s.spanId]))
    const chats = spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'chat')
    expect(chats.map((s) => [s.name, s.kind, attr(s, 'gen_ai.request.model'), attr(s, 'gen_ai.provider.name'), attr(s, 'gen_ai.usage.input_tokens'), attr(s, 'gen_ai.usage.output_tokens'), s.parentSpanId])).toEqual([
      ['chat llama-3', SPAN_KIND.client, 'llama-3', undefined, 40, 10, root.spanId],
      ['chat gpt-4o', SPAN_KIND.client, 'gpt-4o', 'openai', 100, 50, byNode.get('task_1')],
      ['chat claude-sonnet-4', SPAN_KIND.client, 'claude-sonnet-4', 'anthropic', 200, 80, byNode.get('task_2')]
    ])
    expect(chats[1]!.endTimeUnixNano).toBe(utc('2026-05-01 10:00:30'))
    expect(chats[1]!.endTimeUnixNano - chats[1]!.startTimeUnixNano).toBe(1_500_000_000n)
  })

  it('is deterministic (same ids on a second read) and keeps sessions apart', async () => {
    const a = await read()
    const b = await read()
    expect(b).toEqual(a)
    expect(new Set(a.map((s) => s.spanId)).size).toBe(a.length)
    expect(sessionTraceId(path, 'px-other')).not.toBe(a[0]!.traceId)
    expect(sessionTraceId(`${path}.copy`, SID)).not.toBe(a[0]!.traceId)
  })

  it('bounds LLM spans per session and counts the rest on the root span', async () => {
    const session = (await store.listCountedSessions()).find((s) => s.sessionId === SID)!
    const spans = await store.query('bounded', (con, probe) => readSessionSpans(con, probe, session, { storePath: path, maxLlmSpans: 1 }))
    expect(spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'chat')).toHaveLength(1)
    expect(attr(spans[0]!, 'vigil.export.dropped_llm_requests')).toBe(2)
  })

  it('infers the provider only from well-known model names', () => {
    expect([providerOf('gpt-4o-mini'), providerOf('o3-mini'), providerOf('claude-3-5-haiku'), providerOf('gemini-2.0-flash'), providerOf('my-local-model')]).toEqual(['openai', 'openai', 'anthropic', 'gcp.gemini', null])
  })
})
