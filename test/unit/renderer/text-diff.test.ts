import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { diffLines, diffSequences, diffWords, splitLines, tokenize, toHunks, type DiffLine } from '../../../src/renderer/lib/text-diff'

/** Rebuilds both sides from a line diff (what the editor shows must add up to the two texts). */
function sides(lines: DiffLine[]): { before: string; after: string } {
  const join = (ls: DiffLine[]) => ls.map((l) => l.text + (l.noNewline ? '' : '\n')).join('')
  return { before: join(lines.filter((l) => l.op !== 'insert')), after: join(lines.filter((l) => l.op !== 'delete')) }
}

/** A compact picture of a diff: " a", "-b", "+c". */
function picture(lines: DiffLine[]): string[] {
  return lines.map((l) => `${l.op === 'equal' ? ' ' : l.op === 'delete' ? '-' : '+'}${l.text}`)
}

describe('splitLines', () => {
  it('has no lines for empty text and no empty line after a final break', () => {
    expect(splitLines('')).toEqual({ lines: [], endsWithNewline: false })
    expect(splitLines('a\nb\n')).toEqual({ lines: ['a', 'b'], endsWithNewline: true })
    expect(splitLines('a\nb')).toEqual({ lines: ['a', 'b'], endsWithNewline: false })
    expect(splitLines('\n')).toEqual({ lines: [''], endsWithNewline: true })
  })
})

describe('tokenize', () => {
  it('splits words, whitespace and punctuation, and loses nothing', () => {
    expect(tokenize('Hello,  world! é_1')).toEqual(['Hello', ',', '  ', 'world', '!', ' ', 'é_1'])
    expect(tokenize('😀 ok').join('')).toBe('😀 ok')
  })
})

describe('diffSequences', () => {
  it('finds a longest common subsequence', () => {
    const a = 'ABCBDAB'.split('')
    const b = 'BDCABA'.split('')
    const { steps } = diffSequences(a, b)
    expect(steps.filter((s) => s.op === 'equal')).toHaveLength(4)
  })

  it('puts deletions before insertions inside a change', () => {
    const { steps } = diffSequences(['x', 'a', 'y'], ['x', 'b', 'y'])
    expect(steps.map((s) => s.op)).toEqual(['equal', 'delete', 'insert', 'equal'])
  })

  it('falls back to one replaced block over the cell budget, keeping prefix and suffix', () => {
    const a = ['head', ...Array.from({ length: 50 }, (_, i) => `a${i}`), 'tail']
    const b = ['head', ...Array.from({ length: 50 }, (_, i) => `b${i}`), 'tail']
    const { steps, approximate } = diffSequences(a, b, 100)
    expect(approximate).toBe(true)
    expect(steps[0]).toEqual({ op: 'equal', a: 0, b: 0 })
    expect(steps.at(-1)).toEqual({ op: 'equal', a: 51, b: 51 })
    expect(steps.filter((s) => s.op === 'delete')).toHaveLength(50)
  })

  it('rebuilds both inputs from its steps (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }), fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }), (a, b) => {
        const { steps } = diffSequences(a, b)
        expect(steps.filter((s) => s.op !== 'insert').map((s) => a[s.a])).toEqual(a)
        expect(steps.filter((s) => s.op !== 'delete').map((s) => b[s.b])).toEqual(b)
      })
    )
  })

  it('keeps as many items as a brute-force LCS (property)', () => {
    const lcsLength = (a: string[], b: string[]): number => {
      const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0))
      for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) t[i]![j] = a[i - 1] === b[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!)
      }
      return t[a.length]![b.length]!
    }
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 20 }), fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 20 }), (a, b) => {
        expect(diffSequences(a, b).steps.filter((s) => s.op === 'equal')).toHaveLength(lcsLength(a, b))
      })
    )
  })
})

describe('diffLines', () => {
  it('marks one changed line and counts it', () => {
    const d = diffLines('one\ntwo\nthree\n', 'one\n2\nthree\n')
    expect(picture(d.lines)).toEqual([' one', '-two', '+2', ' three'])
    expect(d.added).toBe(1)
    expect(d.removed).toBe(1)
    expect(d.identical).toBe(false)
    expect(d.lines.map((l) => [l.oldNo, l.newNo])).toEqual([[1, 1], [2, null], [null, 2], [3, 3]])
  })

  it('says when nothing changed', () => {
    const d = diffLines('same\n', 'same\n')
    expect(d.identical).toBe(true)
    expect(d.added + d.removed).toBe(0)
  })

  it('treats an empty original (an agent question) as all inserted', () => {
    const d = diffLines('', 'Yes, go ahead.')
    expect(picture(d.lines)).toEqual(['+Yes, go ahead.'])
    expect(d.lines[0]!.noNewline).toBe(true)
  })

  it('shows a removed final line break as a change of the last line', () => {
    const d = diffLines('a\nb\n', 'a\nb')
    expect(picture(d.lines)).toEqual([' a', '-b', '+b'])
    expect(d.lines.at(-1)!.noNewline).toBe(true)
    expect(d.lines.at(-2)!.noNewline).toBe(false)
  })

  it('highlights the changed words of paired lines', () => {
    const d = diffLines('The sky is green today.', 'The sky is blue today.')
    const del = d.lines.find((l) => l.op === 'delete')!
    const ins = d.lines.find((l) => l.op === 'insert')!
    expect(del.spans).toEqual([
      { op: 'equal', text: 'The sky is ' },
      { op: 'delete', text: 'green' },
      { op: 'equal', text: ' today.' }
    ])
    expect(ins.spans).toEqual([
      { op: 'equal', text: 'The sky is ' },
      { op: 'insert', text: 'blue' },
      { op: 'equal', text: ' today.' }
    ])
  })

  it('shows wholly different lines as replaced, not word by word', () => {
    const d = diffLines('alpha beta gamma', 'completely other words here')
    expect(d.lines.every((l) => l.spans === null)).toBe(true)
  })

  it('handles a large output with a small edit quickly', () => {
    const original = Array.from({ length: 50_000 }, (_, i) => `line ${i} of the report`).join('\n')
    const edited = original.replace('line 25000 of', 'line 25000 (checked) of')
    const t0 = performance.now()
    const d = diffLines(original, edited)
    // Only the changed middle is aligned: well under a second even on a busy machine.
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(d.added).toBe(1)
    expect(d.removed).toBe(1)
    expect(d.approximate).toBe(false)
  })

  it('rebuilds both texts exactly (property)', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'c d', '', 'e'), { maxLength: 12 }).chain((ls) =>
      fc.boolean().map((eol) => ls.join('\n') + (eol && ls.length > 0 ? '\n' : ''))
    )
    fc.assert(
      fc.property(text, text, (a, b) => {
        const d = diffLines(a, b)
        expect(sides(d.lines)).toEqual({ before: a, after: b })
      })
    )
  })
})

describe('diffWords', () => {
  it('merges neighbouring spans of the same kind', () => {
    expect(diffWords('a b c', 'a x y c')).toEqual([
      { op: 'equal', text: 'a ' },
      { op: 'delete', text: 'b' },
      { op: 'insert', text: 'x y' },
      { op: 'equal', text: ' c' }
    ])
  })
})

describe('toHunks', () => {
  it('keeps context around changes and skips long unchanged runs', () => {
    const original = Array.from({ length: 20 }, (_, i) => `l${i + 1}`).join('\n')
    const edited = original.replace('l10', 'L10')
    const hunks = toHunks(diffLines(original, edited).lines, 2)
    expect(hunks.map((h) => (h.kind === 'skip' ? `skip ${h.count}@${h.oldStart}` : picture(h.lines).join(',')))).toEqual([
      'skip 7@1',
      ' l8, l9,-l10,+L10, l11, l12',
      'skip 8@13'
    ])
  })

  it('skips everything when nothing changed', () => {
    expect(toHunks(diffLines('a\nb\nc\nd\ne\n', 'a\nb\nc\nd\ne\n').lines, 1)).toEqual([{ kind: 'skip', count: 5, oldStart: 1, newStart: 1 }])
  })

  it('does not skip a single unchanged line between two changes', () => {
    const hunks = toHunks(diffLines('a\nb\nc\nd\ne', 'a\nX\nc\nY\ne').lines, 0)
    expect(hunks.filter((h) => h.kind === 'skip')).toEqual([])
    expect(hunks).toHaveLength(1)
  })
})
