// Envelope builders for the hub tests, in the byte-exact key order of the spec's examples (§7).
import { serializeServerMessage } from '../../../src/shared/protocol/agentensemble'
import type { DashboardMessage, ProducerInfo } from '../../../src/shared/protocol/agentensemble'

export const SVC_A: ProducerInfo = { producerId: 'svc-a-pod-1', serviceName: 'svc-a', instanceId: 'pod-1', host: 'node-12' }
export const SVC_B: ProducerInfo = { producerId: 'svc-b-pod-1', serviceName: 'svc-b', instanceId: 'pod-1' }

export function envelope(producer: ProducerInfo, sequence: number, receivedAt: string, message: DashboardMessage): string {
  return serializeServerMessage({ type: 'event', producer, sequence, receivedAt, message })
}

export const started = (ensembleId: string, totalTasks = 1): DashboardMessage => ({
  type: 'ensemble_started',
  ensembleId,
  startedAt: '2026-03-05T14:00:00Z',
  totalTasks,
  workflow: 'SEQUENTIAL'
})

export const taskStarted = (taskIndex: number, taskDescription: string, agentRole: string): DashboardMessage => ({
  type: 'task_started',
  taskIndex,
  totalTasks: 2,
  taskDescription,
  agentRole,
  startedAt: '2026-03-05T14:00:01Z'
})

export const review = (reviewId: string): DashboardMessage => ({
  type: 'review_requested',
  reviewId,
  taskDescription: 'Draft',
  taskOutput: 'Output',
  timing: 'AFTER_EXECUTION',
  timeoutMs: 300000,
  onTimeout: 'EXIT_EARLY'
})

export const iterationStarted: DashboardMessage = {
  type: 'llm_iteration_started',
  agentRole: 'Writer',
  taskDescription: 'Draft',
  iterationIndex: 0,
  messages: [{ role: 'user', content: 'Draft', toolCalls: null, toolName: null }],
  totalMessageCount: 1
}

export const token = (text: string): DashboardMessage => ({ type: 'token', token: text, agentRole: 'Writer', taskDescription: 'Draft', sentAt: null })

/** A plausible run: 3 tasks, each with 2 LLM iterations (5 tokens each) and 2 tool calls; 56 events. */
export function* realisticRun(ensembleId: string): Generator<DashboardMessage> {
  yield { type: 'ensemble_started', ensembleId, startedAt: '2026-03-05T14:00:00Z', totalTasks: 3, workflow: 'SEQUENTIAL' }
  for (let t = 1; t <= 3; t++) {
    const base = { taskDescription: `Task ${t}`, agentRole: `Agent ${t}` }
    yield { type: 'task_started', taskIndex: t, totalTasks: 3, ...base, startedAt: '2026-03-05T14:00:01.123456Z' }
    for (let i = 0; i < 2; i++) {
      yield { type: 'llm_iteration_started', ...base, iterationIndex: i, messages: [{ role: 'user', content: 'Go', toolCalls: null, toolName: null }], totalMessageCount: 1 }
      for (let j = 0; j < 5; j++) yield { type: 'token', token: 'tok ', ...base, sentAt: null }
      yield { type: 'llm_iteration_completed', ...base, iterationIndex: i, responseType: 'TOOL_CALLS', inputTokens: 10, outputTokens: 5, latencyMs: 100 }
      yield { type: 'tool_called', agentRole: base.agentRole, taskIndex: t, toolName: 'search', durationMs: 5, outcome: 'SUCCESS', toolArguments: '{"q":"x"}', toolResult: 'ok', structuredResult: null }
    }
    yield { type: 'task_completed', taskIndex: t, totalTasks: 3, ...base, completedAt: '2026-03-05T14:00:02Z', durationMs: 1000, tokenCount: -1, toolCallCount: 2 }
  }
  yield { type: 'ensemble_completed', ensembleId, completedAt: '2026-03-05T14:00:03Z', durationMs: 3000, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 6 }
}
