// The timeline's query as the contract checks it: an untrusted client cannot ask for an unknown kind,
// a list of kinds longer than there are kinds, or more than 500 entries at once.
import { describe, expect, it } from 'vitest'
import { ARG_PARSERS } from '../../../src/shared/api/contract'
import { ApiError } from '../../../src/shared/api/errors'
import { TIMELINE_KINDS } from '../../../src/shared/model/perspt-timeline'

const parse = (query: unknown) => ARG_PARSERS.getDecisionTimeline(['s', 'x', query])
const code = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    if (err instanceof ApiError) return `${err.code}: ${err.message}`
    throw err
  }
  return 'accepted'
}

describe('getDecisionTimeline arguments', () => {
  it('accepts a window with kinds and a node', () => {
    expect(ARG_PARSERS.getDecisionTimeline(['s', 'x', { offset: 0, limit: 200, kinds: ['review', 'flush'], nodeId: 'task_1' }])).toEqual([
      's',
      'x',
      { offset: 0, limit: 200, kinds: ['review', 'flush'], nodeId: 'task_1' }
    ])
    expect(ARG_PARSERS.getDecisionTimeline(['s', 'x', { offset: 10, limit: 1 }])[2]).toEqual({ offset: 10, limit: 1 })
  })

  it('refuses unknown kinds, too many kinds, big windows and unknown keys', () => {
    expect(code(() => parse({ offset: 0, limit: 10, kinds: ['review', 'sql'] }))).toMatch(/^bad-request: Argument "query.kinds\[1\]" must be one of plan, /)
    expect(code(() => parse({ offset: 0, limit: 10, kinds: 'review' }))).toMatch(/^bad-request: .*must be a list/)
    expect(code(() => parse({ offset: 0, limit: 10, kinds: [...TIMELINE_KINDS, 'plan'] }))).toMatch(/at most 11 items/)
    expect(code(() => parse({ offset: 0, limit: 501 }))).toMatch(/^bad-request: .*limit.*between 1 and 500/)
    expect(code(() => parse({ offset: -1, limit: 5 }))).toMatch(/^bad-request/)
    expect(code(() => parse({ offset: 0, limit: 5, order: 'desc' }))).toMatch(/^bad-request/)
  })
})
