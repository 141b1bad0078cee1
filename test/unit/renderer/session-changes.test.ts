// A session's views refetch only when a store-updated push names that session, or any may have changed.
import { describe, expect, it } from 'vitest'
import { nextSessionChanges, sessionVersionOf, type SessionChanges } from '../../../src/renderer/lib/session-changes'

function fold(pushes: Array<[number, string[] | null]>): SessionChanges {
  let c: SessionChanges | undefined
  for (const [version, sessions] of pushes) c = nextSessionChanges(c, version, sessions)
  return c!
}

describe('session versions from store-updated pushes', () => {
  it('another session changing leaves a session version where it was (no refetch)', () => {
    const c = fold([[4, null], [5, ['a']], [6, ['b']], [7, ['b']]])
    expect(sessionVersionOf(c, 'a')).toBe(5)
    expect(sessionVersionOf(c, 'b')).toBe(7)
    expect(sessionVersionOf(c, 'quiet')).toBe(4)
  })

  it('a push that names no sessions (null) moves every session', () => {
    const c = fold([[1, ['a']], [2, ['a']], [3, null]])
    expect(sessionVersionOf(c, 'a')).toBe(3)
    expect(sessionVersionOf(c, 'b')).toBe(3)
  })

  it('a missed version, the first push heard, or an older version (a re-added store) moves every session', () => {
    expect(sessionVersionOf(fold([[9, ['a']]]), 'b')).toBe(9)
    expect(sessionVersionOf(fold([[1, null], [2, ['a']], [4, ['a']]]), 'b')).toBe(4)
    expect(sessionVersionOf(fold([[5, null], [6, ['a']], [1, ['a']]]), 'b')).toBe(1)
  })

  it('stays bounded: past the tracked limit everything counts as changed once and the map starts over', () => {
    const many = Array.from({ length: 2_500 }, (_, i) => `s${i}`)
    const c = fold([[1, null], [2, many.slice(0, 1_500)], [3, many.slice(1_500)]])
    expect(Object.keys(c.sessions).length).toBe(0)
    expect(sessionVersionOf(c, 'anything')).toBe(3)
  })
})
