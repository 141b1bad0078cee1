import { describe, expect, it } from 'vitest'
import { graphemeBoundaryAtOrBefore, graphemeCount, headGraphemes, previewGraphemes } from '../../../src/shared/graphemes'
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

// previewGraphemes' fast paths (single spaces left as they are, all-one-unit texts cut by length, the
// prefix/next boundary without joining them) against its definition written with Intl.Segmenter.
describe('graphemes: previews', () => {
  const clusters = (t: string) => [...seg.segment(t)].map((s) => s.segment)
  function expected(text: string, max: number, more: boolean, next: string | undefined): string {
    const start = text.search(/\S/)
    if (start < 0) return more ? '…' : ''
    let head = text.slice(start)
    if (more) {
      const whole = next !== undefined && (next === '' || clusters(head + next).reduce((at, c) => (at >= head.length ? at : at + c.length), 0) === head.length)
      if (!whole) head = clusters(head).slice(0, -1).join('')
    }
    const flat = head.replace(/\s+/g, ' ').trimEnd()
    const n = clusters(flat).length
    if (!more && n <= max) return flat
    if (more && n <= max - 1) return `${flat}…`
    return `${clusters(flat).slice(0, max - 1).join('').trimEnd()}…`
  }
  it('equal the definition over texts of spaces, tabs, NBSP, CR LF, combining marks and emoji', () => {
    const letters = ['a', 'b', ' ', ' ', '  ', '\t', '\n', '\r\n', '\r', '\u00a0', 'é', 'e\u0301', '\u0301', '👍', '👩\u200d💻', '~', '\u3000']
    for (let k = 0; k < 4000; k++) {
      let t = ''
      const n = Math.floor(random() * 30)
      // Half the texts from ASCII letters and single spaces only: the fast paths' own inputs.
      for (let i = 0; i < n; i++) t += letters[Math.floor(random() * (k % 2 ? 3 : letters.length))]
      const max = 1 + Math.floor(random() * 12)
      const more = random() < 0.5
      const next = !more || random() < 0.2 ? undefined : ['', 'x', ' ', '\u0301', '\u200d👍', '\n'][Math.floor(random() * 6)]
      expect(previewGraphemes(t, max, more, next), JSON.stringify([t, max, more, next])).toBe(expected(t, max, more, next))
    }
  })
})
