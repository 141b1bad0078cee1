import { describe, expect, it } from 'vitest'
import { ARG_PARSERS, EVENT_NAMES, isEventName, isMethodName, METHOD_NAMES } from '../../../src/shared/api/contract'
import { ApiError, fromErrorData, toErrorData } from '../../../src/shared/api/errors'

function parseError(fn: () => unknown): ApiError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected an ApiError')
}

describe('API contract', () => {
  it('lists every method and event once', () => {
    expect(new Set(METHOD_NAMES).size).toBe(METHOD_NAMES.length)
    expect(METHOD_NAMES).toContain('addStore')
    expect(EVENT_NAMES).toEqual(['sources-changed', 'store-updated', 'run-updated', 'navigate', 'reviews-changed', 'recording-changed', 'run-delta'])
    expect(isMethodName('toString')).toBe(false)
    expect(isMethodName('__proto__')).toBe(false)
    expect(isEventName('constructor')).toBe(false)
  })

  it('accepts well-formed arguments', () => {
    expect(ARG_PARSERS.addStore(['/tmp/perspt.db'])).toEqual(['/tmp/perspt.db'])
    expect(ARG_PARSERS.addAttachment(['ws://localhost:7329/ws'])).toEqual(['ws://localhost:7329/ws', undefined])
    expect(ARG_PARSERS.addAttachment(['wss://h/ws', 'crew'])).toEqual(['wss://h/ws', 'crew'])
    expect(ARG_PARSERS.getRun(['r1', 50])).toEqual(['r1', 50])
    expect(ARG_PARSERS.listSources([])).toEqual([])
  })

  it.each([
    ['addStore', [42], /path.*string/],
    ['addStore', [''], /path.*non-empty/],
    ['addStore', [], /path.*string/],
    ['addStore', ['a', 'b'], /at most 1 argument/],
    ['addAttachment', ['http://localhost/ws'], /ws:\/\/ or wss:\/\//],
    ['addAttachment', ['not a url'], /valid URL/],
    ['decideReview', ['g1', 'exit'], /one of CONTINUE, EDIT, EXIT_EARLY/],
    ['decideReview', ['g1', 'CONTINUE', undefined, 'api'], /one of desktop-inbox, browser-inbox/],
    ['setDoNotDisturb', ['yes'], /true or false/],
    ['getReviewHistory', [0, 501], /between 1 and 500/],
    ['getRun', ['r1', 1.5], /integer/],
    ['getRun', ['r1', 10_000], /between 0 and 5000/],
    ['renameSource', ['id', 'x'.repeat(201)], /at most 200/],
    ['listSources', [1], /at most 0 arguments/]
  ] as const)('refuses %s(%j) with a clear message', (method, raw, message) => {
    const err = parseError(() => ARG_PARSERS[method](raw))
    expect(err.code).toBe('bad-request')
    expect(err.message).toMatch(message)
  })

  it('refuses arguments that are not an array', () => {
    expect(parseError(() => ARG_PARSERS.addStore({ path: 'x' })).code).toBe('bad-request')
  })

  it('round-trips errors as data and hides nothing but the stack', () => {
    expect(toErrorData(new ApiError('not-found', 'gone'))).toEqual({ code: 'not-found', message: 'gone' })
    expect(toErrorData(new TypeError('boom'))).toEqual({ code: 'internal', message: 'boom' })
    const back = fromErrorData({ code: 'conflict', message: 'decided' })
    expect(back).toBeInstanceOf(ApiError)
    expect(back.code).toBe('conflict')
    expect(fromErrorData({ code: 'weird', message: 1 })).toMatchObject({ code: 'internal', message: 'Unknown error' })
  })
})
