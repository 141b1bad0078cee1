import type { ClientMessage, ServerMessageType } from '../protocol/agentensemble'

// Plain labels for AgentEnsemble's message types (src/shared/protocol/agentensemble.ts) as the run page's
// Events list and other screens show them. The wire word ("llm_iteration_started") is kept as detail
// (a tooltip), never as the only thing a person reads. Every type must have a label: a new message
// type fails to compile until it has one.
export const EVENT_TYPE_LABELS: { readonly [T in ServerMessageType | ClientMessage['type']]: string } = {
  hello: 'Connected',
  heartbeat: 'Heartbeat',
  pong: 'Pong',
  ensemble_started: 'Run started',
  ensemble_completed: 'Run finished',
  task_started: 'Task started',
  task_input: 'Task input',
  task_completed: 'Task completed',
  task_failed: 'Task failed',
  tool_called: 'Tool call',
  delegation_started: 'Delegation started',
  delegation_completed: 'Delegation completed',
  delegation_failed: 'Delegation failed',
  review_requested: 'Review requested',
  review_timed_out: 'Review timed out',
  token: 'Token',
  llm_iteration_started: 'LLM call started',
  llm_iteration_completed: 'LLM call finished',
  file_changed: 'File changed',
  metrics_snapshot: 'Metrics',
  directive_active: 'Directive',
  vigil_trace_original: 'Trace (original)',
  vigil_span: 'Span',
  event: 'Hub event',
  hub_hello: 'Hub connected',
  producer_joined: 'Producer joined',
  producer_left: 'Producer left',
  ping: 'Ping',
  review_decision: 'Review decided'
}

/** "LLM call started" for llm_iteration_started; an unknown type becomes readable words ("foo_bar" → "Foo bar"). */
export function eventTypeLabel(type: string): string {
  const known = (EVENT_TYPE_LABELS as Readonly<Record<string, string>>)[type]
  if (known) return known
  const words = type.replace(/_/g, ' ').trim()
  return words === '' ? 'Event' : words.charAt(0).toUpperCase() + words.slice(1)
}
