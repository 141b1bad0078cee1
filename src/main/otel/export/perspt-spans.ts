// A Perspt session (read from a snapshot copy of its store) → OTLP spans: session → root span with its
// outcome and totals; nodes → `invoke_agent` spans with their energy components, V_total, verification
// result and attempts; LLM requests → GenAI `chat` client spans (model, tokens, provider where the model
// name tells it, latency as duration). Ids derive from the store path and session id (span-common.ts).
// docs/otel.md "Exporting to a collector" has the attribute table.
import type { DuckDBConnection } from '@duckdb/node-api'
import type { SessionRow } from '../../../shared/model/perspt'
import { readSessionNodes } from '../../perspt/views/nodes-table'
import { has, msOf, rows, timeOrder } from '../../perspt/views/dag-sql'
import { expressions } from '../../perspt/views/llm'
import { roundReal, text, toNumber, type SchemaProbe } from '../../perspt/store-reader'
import { SPAN_KIND, STATUS_CODE, type OtlpSpan } from '../otlp-model'
import { attrs, clip, exceptionEvent, span, spanIdFor, traceIdFor, msOf as isoMs } from './span-common'

export const SESSION_TRACE_KIND = 'perspt-session'

/** LLM requests exported per session at most (the oldest first); the rest are counted on the root span. */
export const MAX_LLM_SPANS_PER_SESSION = 10_000

/** The trace id of a session: the store's path and the session id (two stores may reuse an id). */
export function sessionTraceId(storePath: string, sessionId: string): string {
  return traceIdFor(SESSION_TRACE_KIND, `${storePath}\u0000${sessionId}`)
}

/**
 * gen_ai.provider.name from a model name, when the name says it (Perspt records only the model).
 * Well-known prefixes only; anything else gives null (the attribute is left out).
 */
export function providerOf(model: string): string | null {
  const m = model.toLowerCase()
  if (/^(gpt-|o[1-9]|chatgpt|text-embedding|davinci)/.test(m)) return 'openai'
  if (m.startsWith('claude')) return 'anthropic'
  if (m.startsWith('gemini')) return 'gcp.gemini'
  if (m.startsWith('mistral') || m.startsWith('codestral')) return 'mistral_ai'
  if (m.startsWith('deepseek')) return 'deepseek'
  if (m.startsWith('grok')) return 'x_ai'
  return null
}

interface NodeTimes {
  first: number | null
  last: number | null
}

export interface SessionSpansOptions {
  storePath: string
  maxLlmSpans?: number
}

function finite(v: unknown): number | null {
  const n = toNumber(v as never)
  return n === null || !Number.isFinite(n) ? null : roundReal(n)
}

function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : v === null || v === undefined ? null : Boolean(v)
}

/** Reads one session's nodes, energy, verification and LLM requests from an open snapshot and maps them. */
export async function readSessionSpans(con: DuckDBConnection, probe: SchemaProbe, session: SessionRow, opts: SessionSpansOptions): Promise<OtlpSpan[]> {
  const sid = session.sessionId
  const traceId = sessionTraceId(opts.storePath, sid)
  const rootId = spanIdFor(traceId, 'session')
  const maxLlm = Math.max(0, opts.maxLlmSpans ?? MAX_LLM_SPANS_PER_SESSION)

  const nodesView = await readSessionNodes(con, probe, sid, { status: session.status })

  // When each node was first and last seen, over every table with a time for it.
  const timeParts: string[] = []
  if (has(probe, 'node_states', 'session_id', 'node_id')) timeParts.push(`SELECT node_id AS nid, ${msOf(probe, 'node_states', 'created_at')} AS t FROM node_states WHERE session_id = $sid`)
  if (has(probe, 'energy_history', 'session_id', 'node_id')) timeParts.push(`SELECT node_id AS nid, ${msOf(probe, 'energy_history', 'timestamp')} AS t FROM energy_history WHERE session_id = $sid`)
  if (has(probe, 'llm_requests', 'session_id', 'node_id')) timeParts.push(`SELECT node_id AS nid, ${msOf(probe, 'llm_requests', 'timestamp')} AS t FROM llm_requests WHERE session_id = $sid`)
  if (has(probe, 'verification_results', 'session_id', 'node_id')) timeParts.push(`SELECT node_id AS nid, ${msOf(probe, 'verification_results', 'created_at')} AS t FROM verification_results WHERE session_id = $sid`)
  const times = new Map<string, NodeTimes>()
  if (timeParts.length > 0) {
    for (const r of await rows(con, `SELECT nid, min(t) AS first, max(t) AS last FROM (${timeParts.join(' UNION ALL ')}) WHERE NULLIF(trim(nid), '') IS NOT NULL GROUP BY nid`, { sid })) {
      times.set(String(r.nid), { first: toNumber(r.first), last: toNumber(r.last) })
    }
  }

  // The latest verification pass's energy components per node.
  const energy = new Map<string, Record<string, number | null>>()
  if (has(probe, 'energy_history', 'session_id', 'node_id')) {
    const comp = (c: string) => (has(probe, 'energy_history', c) ? `TRY_CAST(${c} AS DOUBLE)` : 'NULL::DOUBLE')
    for (const r of await rows(
      con,
      `SELECT node_id AS nid, ${comp('v_syn')} AS v_syn, ${comp('v_str')} AS v_str, ${comp('v_log')} AS v_log, ${comp('v_boot')} AS v_boot,
         ${comp('v_sheaf')} AS v_sheaf, ${comp('v_total')} AS v_total
       FROM energy_history WHERE session_id = $sid AND NULLIF(trim(node_id), '') IS NOT NULL
       QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY ${timeOrder(probe, 'energy_history', 'timestamp', 'DESC')}) = 1`,
      { sid }
    )) {
      energy.set(String(r.nid), { v_syn: finite(r.v_syn), v_str: finite(r.v_str), v_log: finite(r.v_log), v_boot: finite(r.v_boot), v_sheaf: finite(r.v_sheaf), v_total: finite(r.v_total) })
    }
  }

  // The latest verification result per node (Perspt ≥ 0.5.5).
  const verification = new Map<string, Record<string, boolean | number | string | null>>()
  if (has(probe, 'verification_results', 'session_id', 'node_id', 'syntax_ok', 'build_ok', 'tests_ok', 'lint_ok')) {
    const c = (name: string) => (has(probe, 'verification_results', name) ? name : 'NULL')
    for (const r of await rows(
      con,
      `SELECT node_id AS nid, syntax_ok, build_ok, tests_ok, lint_ok, ${c('tests_passed')} AS tests_passed, ${c('tests_failed')} AS tests_failed,
         ${c('diagnostics_count')} AS diagnostics, ${c('degraded')} AS degraded, ${c('degraded_reason')} AS degraded_reason
       FROM verification_results WHERE session_id = $sid AND NULLIF(trim(node_id), '') IS NOT NULL
       QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY ${timeOrder(probe, 'verification_results', 'created_at', 'DESC')}) = 1`,
      { sid }
    )) {
      const ok = [r.syntax_ok, r.build_ok, r.tests_ok, r.lint_ok].every((v) => v === true)
      verification.set(String(r.nid), {
        'perspt.verification.result': ok ? 'passed' : 'failed',
        'perspt.verification.syntax_ok': bool(r.syntax_ok),
        'perspt.verification.build_ok': bool(r.build_ok),
        'perspt.verification.tests_ok': bool(r.tests_ok),
        'perspt.verification.lint_ok': bool(r.lint_ok),
        'perspt.verification.tests_passed': toNumber(r.tests_passed),
        'perspt.verification.tests_failed': toNumber(r.tests_failed),
        'perspt.verification.diagnostics': toNumber(r.diagnostics),
        'perspt.verification.degraded': bool(r.degraded),
        'perspt.verification.degraded_reason': text(r.degraded_reason)
      })
    }
  }

  // LLM requests, oldest first, bounded.
  type Llm = { id: number; node: string | null; model: string; tokensIn: number; tokensOut: number; latency: number | null; at: number | null }
  const llm: Llm[] = []
  let llmTotal = 0
  const c = probe.columns.get('llm_requests')
  if (c && c.has('session_id') && c.has('id')) {
    const e = expressions(c)
    llmTotal = toNumber((await rows(con, 'SELECT count(*) AS n FROM llm_requests WHERE session_id = $sid', { sid }))[0]?.n) ?? 0
    for (const r of await rows(
      con,
      `SELECT id, ${e.node} AS node, ${e.model} AS model, ${e.tokensIn} AS t_in, ${e.tokensOut} AS t_out, ${e.latency} AS latency, ${e.timeMs} AS at
       FROM llm_requests WHERE session_id = $sid ORDER BY id LIMIT ${maxLlm}`,
      { sid }
    )) {
      llm.push({ id: toNumber(r.id) ?? 0, node: text(r.node), model: String(r.model ?? ''), tokensIn: toNumber(r.t_in) ?? 0, tokensOut: toNumber(r.t_out) ?? 0, latency: toNumber(r.latency), at: toNumber(r.at) })
    }
  }

  // The session's span covers everything seen for it.
  const known: number[] = []
  for (const t of times.values()) {
    if (t.first !== null) known.push(t.first)
    if (t.last !== null) known.push(t.last)
  }
  const created = isoMs(session.createdAt)
  const sessionStart = Math.min(created ?? Infinity, ...known, ...llm.map((l) => (l.at !== null ? l.at - (l.latency ?? 0) : Infinity)))
  const start = Number.isFinite(sessionStart) ? sessionStart : Date.now()
  const endCandidates = [isoMs(session.updatedAt), isoMs(session.lastActivityAt ?? null), ...known].filter((t): t is number => t !== null)
  const end = endCandidates.length ? Math.max(start, ...endCandidates) : start

  const failed = session.status === 'failed'
  const spans: OtlpSpan[] = [
    span({
      traceId,
      spanId: rootId,
      parentSpanId: '',
      name: 'perspt session',
      kind: SPAN_KIND.internal,
      startMs: start,
      endMs: end,
      attributes: attrs({
        'vigil.run.kind': 'perspt',
        'vigil.run.status': session.status,
        'perspt.session.id': sid,
        'perspt.session.name': session.friendlyName ?? null,
        'perspt.session.task': clip(session.task),
        'perspt.session.working_dir': session.workingDir || null,
        'perspt.session.status': session.rawStatus,
        'perspt.store.path': opts.storePath,
        'perspt.nodes.planned': session.nodes.planned,
        'perspt.nodes.committed': session.nodes.committed,
        'perspt.nodes.failed': session.nodes.failed,
        'perspt.nodes.escalated': session.nodes.escalated,
        'perspt.llm.requests': session.llmRequests,
        'gen_ai.usage.input_tokens': session.tokensIn,
        'gen_ai.usage.output_tokens': session.tokensOut,
        'perspt.tokens.estimated': session.tokensEstimated ?? null,
        'perspt.energy.avg': session.avgEnergy ?? null,
        'perspt.budget.steps_used': session.budget?.stepsUsed ?? null,
        'perspt.budget.max_steps': session.budget?.maxSteps ?? null,
        'perspt.budget.cost_used_usd': session.budget?.costUsedUsd ?? null,
        'perspt.budget.max_cost_usd': session.budget?.maxCostUsd ?? null,
        'vigil.export.dropped_llm_requests': llmTotal > llm.length ? llmTotal - llm.length : null
      }),
      status: failed ? { code: STATUS_CODE.error, message: `The session ended ${session.rawStatus}.` } : undefined,
      events: failed ? [exceptionEvent(end, 'SessionFailed', `The session ended ${session.rawStatus}.`)] : []
    })
  ]

  const nodeSpanIds = new Map<string, string>()
  for (const node of nodesView.nodes) {
    const t = times.get(node.nodeId)
    // A node that never ran (queued) has no time: it is counted on the root span, not sent as a span.
    if (!t || t.first === null) continue
    const id = spanIdFor(traceId, `node:${node.nodeId}`)
    nodeSpanIds.set(node.nodeId, id)
    const committedAt = isoMs(node.committedAt)
    const nodeEnd = Math.max(t.last ?? t.first, committedAt ?? 0)
    const bad = node.state === 'failed' || node.state === 'escalated'
    const e = energy.get(node.nodeId)
    spans.push(
      span({
        traceId,
        spanId: id,
        parentSpanId: rootId,
        name: `invoke_agent ${node.nodeId}`,
        kind: SPAN_KIND.internal,
        startMs: t.first,
        endMs: nodeEnd,
        attributes: attrs({
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': node.nodeId,
          'gen_ai.agent.description': clip(node.goal),
          'perspt.node.id': node.nodeId,
          'perspt.node.class': node.nodeClass,
          'perspt.node.state': node.state,
          'perspt.node.raw_state': node.rawState,
          'perspt.node.attempts': node.attempts,
          'perspt.node.passes': node.passes,
          'perspt.node.llm_requests': node.llmCalls,
          'perspt.energy.v_syn': e?.v_syn ?? null,
          'perspt.energy.v_str': e?.v_str ?? null,
          'perspt.energy.v_log': e?.v_log ?? null,
          'perspt.energy.v_boot': e?.v_boot ?? null,
          'perspt.energy.v_sheaf': e?.v_sheaf ?? null,
          // V_total: the commit's when the node committed, else the latest pass's.
          'perspt.energy.v_total': node.commitEnergy ?? e?.v_total ?? node.lastPassEnergy,
          ...verification.get(node.nodeId)
        }),
        status: bad ? { code: STATUS_CODE.error, message: `Node ${node.state}${node.rawState ? ` (${node.rawState})` : ''}.` } : undefined,
        events: bad ? [exceptionEvent(nodeEnd, node.state === 'escalated' ? 'NodeEscalated' : 'NodeFailed', `Node ${node.nodeId} ${node.state}.`)] : []
      })
    )
  }

  for (const r of llm) {
    const latency = Math.max(0, r.latency ?? 0)
    // Perspt writes the row when the response arrived: it started `latency` ms before.
    const endMs = r.at ?? end
    const provider = r.model ? providerOf(r.model) : null
    spans.push(
      span({
        traceId,
        spanId: spanIdFor(traceId, `llm:${r.id}`),
        parentSpanId: (r.node !== null ? nodeSpanIds.get(r.node) : undefined) ?? rootId,
        name: r.model ? `chat ${r.model}` : 'chat',
        kind: SPAN_KIND.client,
        startMs: endMs - latency,
        endMs,
        attributes: attrs({
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': r.model || null,
          'gen_ai.provider.name': provider,
          'gen_ai.usage.input_tokens': r.tokensIn,
          'gen_ai.usage.output_tokens': r.tokensOut,
          'perspt.llm.request_id': r.id,
          'perspt.node.id': r.node,
          'perspt.llm.latency_ms': r.latency
        })
      })
    )
  }
  return spans
}
