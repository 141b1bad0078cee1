// LLM-iteration buffers (hub_hello.iterationsByProducer) are bounded by bytes, not only by count:
// an llm_iteration_started carries a whole prompt (up to the 1 MiB frame limit), so 100 tasks × 5
// pairs per producer could pin hundreds of MiB each. Per producer at most 4 MiB, all together 64 MiB;
// the oldest pairs go first, the newest iteration is always kept.
import { afterEach, describe, expect, it } from 'vitest'
import { IterationBuffer, SnapshotBudget, iterationBytes } from '../../../src/main/hub/snapshot-buffer'
import { HUB_DEFAULTS } from '../../../src/main/hub/types'
import type { LlmIterationCompletedMessage, LlmIterationStartedMessage } from '../../../src/shared/protocol/agentensemble'
import { serializeServerMessage } from '../../../src/shared/protocol/agentensemble'
import { startHubServer } from './hub-helpers'
import type { HubServer } from './hub-helpers'

let h: HubServer | null = null
afterEach(async () => {
  await h?.close()
  h = null
})

const started = (task: string, i: number, prompt: string): LlmIterationStartedMessage => ({
  type: 'llm_iteration_started',
  agentRole: 'Writer',
  taskDescription: task,
  iterationIndex: i,
  messages: [{ role: 'user', content: prompt, toolCalls: null, toolName: null }]
})
const completed = (task: string, i: number): LlmIterationCompletedMessage => ({
  type: 'llm_iteration_completed',
  agentRole: 'Writer',
  taskDescription: task,
  iterationIndex: i,
  responseType: 'FINAL_ANSWER',
  responseText: 'ok',
  inputTokens: 1,
  outputTokens: 1,
  latencyMs: 1
})

describe('iteration buffers', () => {
  it('defaults: 4 MiB per producer, 64 MiB in all', () => {
    expect(HUB_DEFAULTS.maxIterationBytesPerProducer).toBe(4 * 1024 * 1024)
    expect(HUB_DEFAULTS.maxIterationBytesTotal).toBe(64 * 1024 * 1024)
  })

  it('one producer sending 100 tasks × 5 iterations of 64 KiB prompts keeps at most 4 MiB of them, the newest', async () => {
    h = await startHubServer()
    const prompt = 'p'.repeat(64 * 1024)
    let seq = 0
    for (let t = 0; t < 100; t++) {
      for (let i = 0; i < 5; i++) {
        for (const m of [started(`task-${t}`, i, prompt), completed(`task-${t}`, i)]) {
          expect(h.hub.ingestEnvelope(serializeServerMessage({ type: 'event', producer: { producerId: 'chatty' }, sequence: ++seq, receivedAt: '2026-03-05T14:00:00Z', message: m }))).toBe(true)
        }
      }
    }
    const hello = JSON.parse(h.hub.helloFrame()) as { iterationsByProducer: Record<string, { started: LlmIterationStartedMessage; completed?: LlmIterationCompletedMessage }[]> }
    const kept = hello.iterationsByProducer.chatty!
    const bytes = kept.reduce((n, p) => n + iterationBytes(p.started) + (p.completed ? iterationBytes(p.completed) : 0), 0)
    expect(bytes).toBeLessThanOrEqual(4 * 1024 * 1024)
    // ~32 MiB offered; what is kept is the newest: the last task's last iteration is there.
    expect(kept.length).toBeGreaterThan(30)
    expect(kept.some((p) => p.started.taskDescription === 'task-99' && p.started.iterationIndex === 4)).toBe(true)
    expect(kept.some((p) => p.started.taskDescription === 'task-0')).toBe(false)
  })

  it('producers sharing a budget stay under it together; clearing returns the bytes', () => {
    const budget = new SnapshotBudget(1024 * 1024)
    const buffers = Array.from({ length: 8 }, () => new IterationBuffer(5, 100, 512 * 1024, budget))
    const prompt = 'q'.repeat(32 * 1024)
    buffers.forEach((b, k) => {
      for (let t = 0; t < 20; t++) {
        b.add(started(`t${k}-${t}`, 0, prompt))
        b.add(completed(`t${k}-${t}`, 0))
      }
    })
    const oneStarted = iterationBytes(started('t0-0', 0, prompt))
    expect(budget.bytes).toBeLessThanOrEqual(1024 * 1024 + 8 * (oneStarted + 200))
    expect(buffers.reduce((n, b) => n + b.size, 0)).toBe(budget.bytes)
    for (const b of buffers) expect(b.snapshot().length).toBeGreaterThan(0)
    for (const b of buffers) b.clear()
    expect(budget.bytes).toBe(0)
  })
})
