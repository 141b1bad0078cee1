// Cutting text where a reader sees a character end: on grapheme cluster boundaries (Intl.Segmenter),
// so a preview never splits a ZWJ emoji sequence, a flag or a letter from its combining marks.
// Shared by the server's previews and the renderer's long-text chunks: one definition everywhere.

interface GraphemeSegmenter {
  segment(text: string): Iterable<{ segment: string; index: number }>
}

let cached: GraphemeSegmenter | null | undefined

function segmenter(): GraphemeSegmenter | null {
  if (cached === undefined) {
    const Seg = (Intl as unknown as { Segmenter?: new (locale?: string, opts?: { granularity: 'grapheme' }) => GraphemeSegmenter }).Segmenter
    cached = Seg ? new Seg(undefined, { granularity: 'grapheme' }) : null
  }
  return cached
}

/**
 * ASCII without CR: every UTF-16 unit is a grapheme of its own (control characters break on both
 * sides; only CR LF forms a cluster), so no segmenter is needed. Intl.Segmenter costs about a
 * microsecond per grapheme: an LLM page of 100 rows previews 200 texts.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this class must admit
const ONE_UNIT_GRAPHEMES = /^[\x00-\x0c\x0e-\x7f]*$/

/**
 * Intl.Segmenter (ICU) takes the whole string before the first segment: on a 1 MB text, even the first
 * 4,000 graphemes cost seconds. So only a slice is ever segmented, grown while it is not enough.
 * The start of every segment but the slice's last is a true boundary (rules look back, and at most
 * one character ahead, which the slice holds).
 */
function* segmentsOf(seg: GraphemeSegmenter, text: string, units: number): Generator<{ segment: string; index: number }> {
  let window = Math.max(64, units)
  let done = 0
  for (;;) {
    const whole = window >= text.length
    const slice = whole ? text : text.slice(0, window)
    let last: { segment: string; index: number } | null = null
    for (const s of seg.segment(slice)) {
      if (s.index < done) continue
      if (last) yield last
      last = s
    }
    if (whole) {
      if (last) yield last
      return
    }
    // The slice's last segment may continue past it: segment again from a larger slice.
    done = last ? last.index : done
    window *= 4
  }
}

/** Graphemes in `text`, counting at most to `limit` + 1 (cheap on huge texts when a limit is given). */
export function graphemeCount(text: string, limit = Number.MAX_SAFE_INTEGER): number {
  if (text.length <= 4096 && ONE_UNIT_GRAPHEMES.test(text)) return Math.min(text.length, limit + 1)
  const seg = segmenter()
  let n = 0
  for (const _ of seg ? segmentsOf(seg, text, limit < text.length ? limit * 4 + 64 : text.length) : text) if (++n > limit) break
  return n
}

/**
 * The first `max` graphemes of `text` (all of it when shorter), in O(max) work however long the text
 * is. Without Intl.Segmenter it falls back to code points (never splits a surrogate pair).
 */
export function headGraphemes(text: string, max: number): string {
  if (max <= 0) return ''
  // Every grapheme is at least one UTF-16 unit: a text this short cannot hold more than `max`.
  if (text.length <= max) return text
  if (ONE_UNIT_GRAPHEMES.test(text.slice(0, max + 1))) return text.slice(0, max)
  const seg = segmenter()
  let n = 0
  if (!seg) {
    let end = 0
    for (const ch of text) {
      if (n++ === max) return text.slice(0, end)
      end += ch.length
    }
    return text
  }
  for (const s of segmentsOf(seg, text, max * 4 + 64)) if (n++ === max) return text.slice(0, s.index)
  return text
}

/** How far around an index the segmenter looks; a cluster longer than this may be cut inside (harmless). */
const WINDOW = 256

/**
 * The largest grapheme boundary at or before UTF-16 index `at`: a chunk ending there splits no
 * cluster. Only the neighbourhood of `at` is segmented, so this is cheap inside a multi-MB text.
 */
export function graphemeBoundaryAtOrBefore(text: string, at: number): number {
  if (at >= text.length) return text.length
  if (at <= 0) return 0
  if (ONE_UNIT_GRAPHEMES.test(text.slice(at - 1, at + 1))) return at
  const seg = segmenter()
  if (!seg) {
    const code = text.charCodeAt(at)
    return code >= 0xdc00 && code <= 0xdfff ? at - 1 : at
  }
  const from = Math.max(0, at - WINDOW)
  let best = from
  for (const s of seg.segment(text.slice(from, Math.min(text.length, at + WINDOW)))) {
    const i = from + s.index
    if (i > at) break
    best = i
  }
  return best
}

/** Whitespace that `replace(/\s+/g, ' ')` would change: a run of two or more, or any but U+0020. */
const NEEDS_COLLAPSE = /\s\s|[^\S ]/

/** Whether a grapheme boundary lies between `head` and the `next` characters (neither empty). */
function endsOnBoundary(head: string, next: string): boolean {
  // Two one-unit graphemes side by side (the common case) without joining the strings.
  if (ONE_UNIT_GRAPHEMES.test(head[head.length - 1]! + next[0]!)) return true
  return graphemeBoundaryAtOrBefore(head + next.slice(0, WINDOW), head.length) === head.length
}

/**
 * A one-line preview: whitespace runs collapse to one space, at most `max` graphemes, and a cut text
 * ends with "…" (counted in `max`). `more` says the text is already a cut prefix (e.g. a bounded SQL
 * `left()`), so "…" always shows; its last cluster may then be incomplete and is dropped, unless
 * `next` (the characters that follow the prefix) shows the prefix ends on a grapheme boundary.
 */
export function previewGraphemes(text: string, max: number, more = false, next?: string): string {
  if (max <= 0) return ''
  const start = text.search(/\S/)
  if (start < 0) return more ? '…' : ''
  // Only a bounded head is ever flattened, however long the text is.
  const bound = start + max * 16 + 64
  const cutHere = text.length > bound
  let head = text.slice(start, bound)
  const cut = more || cutHere
  if (cut) {
    const whole = !cutHere && next !== undefined && (next === '' || endsOnBoundary(head, next))
    if (!whole) head = head.slice(0, graphemeBoundaryAtOrBefore(head, head.length - 1))
  }
  // Most texts have only single spaces: then there is nothing to collapse (the test costs a fifth of the replace).
  const flat = (NEEDS_COLLAPSE.test(head) ? head.replace(/\s+/g, ' ') : head).trimEnd()
  // Every unit a grapheme (most previews): lengths are counts, slices are cuts. The same answers as below.
  if (ONE_UNIT_GRAPHEMES.test(flat)) {
    if (flat.length <= (cut ? max - 1 : max)) return cut ? `${flat}…` : flat
    return `${flat.slice(0, max - 1).trimEnd()}…`
  }
  if (!cut && graphemeCount(flat, max) <= max) return flat
  if (cut && graphemeCount(flat, max - 1) <= max - 1) return `${flat}…`
  return `${headGraphemes(flat, max - 1).trimEnd()}…`
}
