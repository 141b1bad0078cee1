import { describe, expect, it } from 'vitest'
import { graphemeBoundaryAtOrBefore, graphemeCount, headGraphemes } from '../../../src/shared/graphemes'
// The one-unit fast path (ASCII without CR needs no segmenter) must cut exactly where Intl.Segmenter
// does: texts drawn from ASCII, CR LF, controls and clusters (combining marks, ZWJ emoji) side by side.
const seg = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
const alphabet = ['a', ' ', '\n', '\t', '\r', 'Z', '~', '\x01', '\x7f', 'é', '\u0301', '👍', '\u200d']
let state = 17
const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
describe('graphemes: ASCII fast path', () => {
  it('counts, heads and boundaries match Intl.Segmenter', () => {
    for (let k = 0; k < 3000; k++) {
      let t = ''
      const n = Math.floor(random() * 40)
      for (let i = 0; i < n; i++) t += alphabet[Math.floor(random() * (k % 2 ? 9 : alphabet.length))]
      const segs = [...seg.segment(t)]
      expect(graphemeCount(t)).toBe(segs.length)
      const m = Math.floor(random() * 10)
      expect(headGraphemes(t, m)).toBe(segs.slice(0, m).map((s) => s.segment).join(''))
      const at = Math.floor(random() * (t.length + 1))
      const bounds = [...segs.map((s) => s.index), t.length].filter((i) => i <= at)
      expect(graphemeBoundaryAtOrBefore(t, at)).toBe(at <= 0 ? 0 : Math.max(...bounds))
    }
  })
})
