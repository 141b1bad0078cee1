// The caps' arithmetic and the once-per-burst log of refused agent gates.
import { describe, expect, it } from 'vitest'
import { budgetKey, GateBudget, GateLimitError } from '../../../src/main/reviews/gate-limits'

const LIMITS = { maxGates: 5, maxGatesPerSource: 3, maxBytes: 1000, maxBytesPerSource: 400 }

function refusal(fn: () => void): GateLimitError {
  try {
    fn()
  } catch (err) {
    if (err instanceof GateLimitError) return err
    throw err
  }
  throw new Error('not refused')
}

describe('GateBudget', () => {
  it('refuses past each cap with the status and the limit it names; released gates free room', () => {
    const b = new GateBudget(LIMITS, () => 0, () => undefined)
    for (let i = 0; i < 3; i++) {
      b.check('a', 100)
      b.add('a', 100)
    }
    expect(refusal(() => b.check('a', 1))).toMatchObject({ limit: 'maxGatesPerSource', value: 3, status: 429 })
    b.add('b', 100)
    b.add('b', 100)
    expect(refusal(() => b.check('c', 1))).toMatchObject({ limit: 'maxGates', status: 429 })
    b.release('a', 100)
    b.release('b', 100)
    expect(refusal(() => b.check('a', 201))).toMatchObject({ limit: 'maxBytesPerSource', value: 400, status: 413 })
    expect(refusal(() => b.check('c', 401))).toMatchObject({ limit: 'maxBytesPerSource', status: 413 })
    b.check('a', 200)
    expect(b.usage()).toEqual({ gates: 3, bytes: 300 })
  })

  it('enforces the overall bytes across sources', () => {
    const b = new GateBudget({ ...LIMITS, maxGates: 100, maxGatesPerSource: 100 }, () => 0, () => undefined)
    for (const key of ['a', 'b']) b.add(key, 400)
    expect(refusal(() => b.check('c', 201))).toMatchObject({ limit: 'maxBytes', value: 1000, status: 413 })
    b.check('c', 200)
  })

  it('counts every refused agent gate per source and logs once per burst', () => {
    let now = 0
    const logs: string[] = []
    const b = new GateBudget(LIMITS, () => now, (m) => logs.push(m))
    const err = new GateLimitError('maxGatesPerSource', 3, 429, 'full')
    for (let i = 0; i < 50; i++) {
      b.noteRefused('hub/p1', 'p1', err)
      now += 100
    }
    expect(logs).toHaveLength(1)
    now += 60_000
    b.noteRefused('hub/p2', 'p2', err)
    expect(logs).toHaveLength(2)
    expect(logs[1]).toContain('49 more were refused')
    expect(b.refusals()).toMatchObject({ total: 51, bySource: { 'hub/p1': { count: 50, lastLimit: 'maxGatesPerSource' }, 'hub/p2': { count: 1 } } })
  })

  it('keys the review API as one source and agents per stream', () => {
    expect(budgetKey({ kind: 'api', sourceId: 'api', producerId: null, label: 'x' })).toBe('api')
    expect(budgetKey({ kind: 'hub', sourceId: 'hub', producerId: 'p1', label: 'p1' })).toBe('hub/p1')
    expect(budgetKey({ kind: 'attachment', sourceId: 's1', producerId: null, label: 'Box' })).toBe('s1')
  })
})
