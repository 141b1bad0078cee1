// The in-memory history (no recording) is bounded by count and by the bytes of its texts.
import { describe, expect, it } from 'vitest'
import { MemoryReviewLog } from '../../../src/main/reviews/review-log'
import type { ReviewGate } from '../../../src/shared/model/reviews'

function decided(id: string, output: string, decidedAt = '2026-12-01T10:00:01.000Z'): ReviewGate {
  return {
    id,
    reviewId: id,
    source: { kind: 'api', sourceId: 'api', producerId: null, label: 'Review API' },
    runId: null,
    taskDescription: 'd',
    taskOutput: output,
    timing: 'AFTER_EXECUTION',
    prompt: null,
    timeoutMs: 0,
    onTimeout: 'CONTINUE',
    requiredRole: null,
    createdAt: '2026-12-01T10:00:00.000Z',
    expiresAt: null,
    status: 'decided',
    connected: true,
    outcome: { decision: 'EDIT', revisedOutput: output, surface: 'api', decidedBy: null, decidedAt, timeToDecisionMs: 1000, delivered: true, note: null }
  }
}

describe('MemoryReviewLog', () => {
  it('drops the oldest gates past the byte bound, keeping the newest whole', async () => {
    const log = new MemoryReviewLog(1000, 10_000)
    for (let i = 0; i < 10; i++) log.save(decided(`g${i}`, 'x'.repeat(2000)))
    const page = await log.list(0, 100)
    // Each gate holds 4,001 bytes (output + revised + description): two fit in 10,000.
    expect(page.rows.map((g) => g.id)).toEqual(['g9', 'g8'])
    expect(await log.get('g0')).toBeNull()
    expect((await log.get('g9'))?.taskOutput).toHaveLength(2000)
  })

  it('keeps one gate even when it alone is over the bound, and bounds the count', async () => {
    const log = new MemoryReviewLog(3, 10)
    log.save(decided('big', 'x'.repeat(100)))
    expect((await log.list(0, 10)).total).toBe(1)
    const many = new MemoryReviewLog(3)
    for (let i = 0; i < 5; i++) many.save(decided(`g${i}`, 'y'))
    expect((await many.list(0, 10)).rows.map((g) => g.id)).toEqual(['g4', 'g3', 'g2'])
  })

  it('lists as the recording does: by the instant decided (offsets too), unreadable last, then newest saved', async () => {
    const log = new MemoryReviewLog()
    log.save(decided('at-02.000', '', '2026-12-06T10:00:02Z'))
    log.save(decided('unreadable', '', 'soon'))
    log.save(decided('at-02.500', '', '2026-12-06T10:00:02.500Z'))
    // Another client's clock with an offset: 11:00:01+01:00 is 10:00:01Z, the oldest readable one.
    log.save(decided('at-01-offset', '', '2026-12-06T11:00:01+01:00'))
    log.save(decided('at-02.999', '', '2026-12-06T10:00:02.999Z'))
    log.save(decided('at-02.500-again', '', '2026-12-06T10:00:02.500Z'))
    expect((await log.list(0, 10)).rows.map((g) => g.id)).toEqual(['at-02.999', 'at-02.500-again', 'at-02.500', 'at-02.000', 'at-01-offset', 'unreadable'])
    // The bound drops the last listed: the oldest decided.
    const small = new MemoryReviewLog(2)
    small.save(decided('new', '', '2026-12-06T10:00:05Z'))
    small.save(decided('old', '', '2026-12-06T10:00:01Z'))
    small.save(decided('mid', '', '2026-12-06T10:00:03Z'))
    expect((await small.list(0, 10)).rows.map((g) => g.id)).toEqual(['new', 'mid'])
  })
})
