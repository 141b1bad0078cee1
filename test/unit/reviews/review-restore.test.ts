// The coordinator restoring pending gates from its journal (a real temp folder): deadlines kept, what
// expired while down applied with a note per kind of source, restored gates counted against the caps.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GateLimitError } from '../../../src/main/reviews/gate-limits'
import { ReviewCoordinator } from '../../../src/main/reviews/review-coordinator'
import type { ReviewRequestedMessage } from '../../../src/shared/protocol/agentensemble'

let dir: string
let clock = Date.parse('2026-12-01T10:00:00.000Z')
const open: ReviewCoordinator[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-restore-'))
})
afterEach(() => {
  for (const c of open.splice(0)) c.close()
  rmSync(dir, { recursive: true, force: true })
})

function coordinator(limits = {}) {
  const sent: string[] = []
  const c = new ReviewCoordinator({
    delivery: {
      toAttachment: (_s, reviewId, decision) => (sent.push(`${reviewId}:${decision}`), false),
      toHubProducer: () => false
    },
    now: () => clock,
    limits
  })
  open.push(c)
  return { c, sent }
}

function request(reviewId: string, timeoutMs: number): ReviewRequestedMessage {
  return { type: 'review_requested', reviewId, taskDescription: 'Draft', taskOutput: 'Out', timing: 'AFTER_EXECUTION', timeoutMs, onTimeout: 'CONTINUE' }
}

describe('restoring pending gates', () => {
  it('keeps deadlines, starts agents disconnected, and applies what expired while down with a note per source kind', async () => {
    const { c } = coordinator()
    c.persistPendingIn(dir)
    c.create({ taskDescription: 'api', taskOutput: 'o', timeoutMs: 60_000, onTimeout: 'EXIT_EARLY' })
    c.observe('attach-1', null, request('att-short', 1_000), new Date(clock).toISOString())
    c.observe('hub', 'p1', request('hub-short', 1_000), new Date(clock).toISOString())
    c.observe('attach-1', null, request('att-long', 600_000), new Date(clock).toISOString())
    expect(await c.persisted()).toBe(true)
    const before = c.pending()
    c.close()

    clock += 30_000
    const { c: c2 } = coordinator()
    c2.persistPendingIn(dir)
    const after = c2.pending()
    expect(after.map((g) => [g.id, g.expiresAt, g.connected])).toEqual([
      [before.find((g) => g.source.kind === 'api')!.id, before.find((g) => g.source.kind === 'api')!.expiresAt, true],
      ['att-long', before.find((g) => g.id === 'att-long')!.expiresAt, false]
    ])
    const att = c2.get('att-short')
    expect(att).toMatchObject({ status: 'timed-out', outcome: { decision: 'CONTINUE', surface: 'timeout', delivered: false } })
    expect(att.outcome?.note).toMatch(/^Applied at restart: the deadline \(2026-12-01T10:00:01Z\) passed while Vigil was not running\. The agent applies its own/)
    expect(c2.get('hub-short').outcome?.note).toMatch(/The producer applies the advertised action/)
    expect(c2.stats().persistence).toMatchObject({ durable: true, restored: 4, appliedAtRestart: 2 })
    await c2.persisted()
    c2.close()

    // The resolved ones are gone from the journal; the pending ones stay.
    const { c: c3 } = coordinator()
    c3.persistPendingIn(dir)
    expect(c3.pending()).toHaveLength(2)
    expect(c3.stats().persistence.appliedAtRestart).toBe(0)
  })

  it('restored gates count against the caps, even when the caps are now lower', async () => {
    const { c } = coordinator()
    c.persistPendingIn(dir)
    for (let i = 0; i < 3; i++) c.create({ taskDescription: `g${i}`, taskOutput: 'o', timeoutMs: 0, onTimeout: 'CONTINUE' })
    await c.persisted()
    c.close()
    const { c: c2 } = coordinator({ maxGatesPerSource: 2 })
    c2.persistPendingIn(dir)
    expect(c2.pending()).toHaveLength(3)
    expect(() => c2.create({ taskDescription: 'more', taskOutput: 'o', timeoutMs: 0, onTimeout: 'CONTINUE' })).toThrow(GateLimitError)
    expect(c2.stats().usage.gates).toBe(3)
  })
})
