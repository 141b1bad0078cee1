import { describe, expect, it } from 'vitest'
import type { ReviewGate, ReviewOutcome } from '../../../src/shared/model/reviews'
import {
  countdownOf,
  formatCountdown,
  outcomeLabel,
  outcomeSentence,
  outcomeToneOf,
  timeoutActionLabel,
  timingLabel
} from '../../../src/renderer/lib/review-format'

const NOW = Date.parse('2026-11-22T14:00:00Z')

function outcome(partial: Partial<ReviewOutcome>): ReviewOutcome {
  return {
    decision: 'CONTINUE',
    revisedOutput: null,
    surface: 'api',
    decidedBy: null,
    decidedAt: '2026-11-22T14:03:07Z',
    timeToDecisionMs: 1000,
    delivered: true,
    note: null,
    ...partial
  }
}

describe('review countdowns', () => {
  it('says the advertised action and the time left, rounded up', () => {
    expect(countdownOf({ expiresAt: '2026-11-22T14:05:00Z', onTimeout: 'CONTINUE' }, NOW - 1)).toEqual({
      text: 'Auto-continue in 5:01',
      urgent: false,
      remainingMs: 300_001
    })
    expect(countdownOf({ expiresAt: '2026-11-22T14:04:59Z', onTimeout: 'CONTINUE' }, NOW).text).toBe('Auto-continue in 4:59')
    expect(countdownOf({ expiresAt: '2026-11-22T14:00:30Z', onTimeout: 'EXIT_EARLY' }, NOW).text).toBe('Auto-exit in 0:30')
    expect(countdownOf({ expiresAt: '2026-11-22T14:00:30Z', onTimeout: 'FAIL' }, NOW).text).toBe('Auto-fail in 0:30')
  })

  it('turns urgent under a minute, and at the deadline says the action is being applied', () => {
    expect(countdownOf({ expiresAt: '2026-11-22T14:01:00Z', onTimeout: 'CONTINUE' }, NOW).urgent).toBe(false)
    expect(countdownOf({ expiresAt: '2026-11-22T14:00:59Z', onTimeout: 'CONTINUE' }, NOW).urgent).toBe(true)
    expect(countdownOf({ expiresAt: '2026-11-22T13:59:59Z', onTimeout: 'CONTINUE' }, NOW)).toEqual({ text: 'Auto-continue now…', urgent: true, remainingMs: 0 })
  })

  it('says a gate without a deadline waits forever', () => {
    expect(countdownOf({ expiresAt: null, onTimeout: 'EXIT_EARLY' }, NOW)).toEqual({ text: 'Waits forever (no timeout)', urgent: false, remainingMs: null })
  })

  it('formats hours and days', () => {
    expect(formatCountdown(3_599_000)).toBe('59:59')
    expect(formatCountdown(3_600_000 + 65_000)).toBe('1:01:05')
    expect(formatCountdown(2 * 86_400_000 + 3 * 3_600_000)).toBe('2d 3h')
    expect(timeoutActionLabel('something')).toBe('Auto something')
  })
})

describe('review words', () => {
  it('says timings in plain words', () => {
    expect(timingLabel('AFTER_EXECUTION')).toBe('After the task')
    expect(timingLabel('DURING_EXECUTION')).toBe('During the task')
    expect(timingLabel('BEFORE_EXECUTION')).toBe('Before the task')
    expect(timingLabel('SOMETIME')).toBe('SOMETIME')
  })

  it('describes outcomes in one sentence with zone', () => {
    const decided = { status: 'decided' as const, outcome: outcome({ decision: 'EDIT', decidedBy: 'alice' }) }
    expect(outcomeSentence(decided)).toMatch(/^Decided via the review API by alice: Edited \(EDIT\) at 2026-11-22 \d\d:03:07 \S+$/)
    const timedOut = { status: 'timed-out' as const, outcome: outcome({ surface: 'timeout' }) }
    expect(outcomeSentence(timedOut)).toMatch(/^Timed out — Approved \(CONTINUE\) applied at /)
    expect(outcomeSentence({ status: 'timed-out', outcome: outcome({ surface: 'agent', decision: 'EXIT_EARLY' }) })).toMatch(
      /^Timed out — Exited early \(EXIT_EARLY\) applied by the agent at /
    )
    expect(outcomeSentence({ status: 'cancelled', outcome: outcome({ decision: null, surface: 'agent' }) })).toMatch(/^Closed at /)
  })

  it('labels outcomes in the user’s words with the wire word as detail, in the gate tones', () => {
    const gate = (status: ReviewGate['status'], decision: string | null) => ({ status, outcome: outcome({ decision }) })
    expect([outcomeLabel(gate('decided', 'CONTINUE')), outcomeToneOf(gate('decided', 'CONTINUE'))]).toEqual(['Approved (CONTINUE)', 'done'])
    expect([outcomeLabel(gate('decided', 'EDIT')), outcomeToneOf(gate('decided', 'EDIT'))]).toEqual(['Edited (EDIT)', 'done'])
    expect([outcomeLabel(gate('decided', 'EXIT_EARLY')), outcomeToneOf(gate('decided', 'EXIT_EARLY'))]).toEqual(['Exited early (EXIT_EARLY)', 'stopped'])
    expect([outcomeLabel(gate('timed-out', 'CONTINUE')), outcomeToneOf(gate('timed-out', 'CONTINUE'))]).toEqual(['Timed out · Approved (CONTINUE)', 'info'])
    expect([outcomeLabel(gate('timed-out', 'FAIL')), outcomeToneOf(gate('timed-out', 'FAIL'))]).toEqual(['Timed out · Failed (FAIL)', 'failed'])
    expect([outcomeLabel(gate('cancelled', null)), outcomeToneOf(gate('cancelled', null))]).toEqual(['Closed', 'idle'])
    expect([outcomeLabel(gate('pending', null)), outcomeToneOf(gate('pending', null))]).toEqual(['Waiting for a decision', 'attention'])
    expect(outcomeLabel(gate('decided', 'SOMETHING_NEW'))).toBe('SOMETHING_NEW')
  })
})
