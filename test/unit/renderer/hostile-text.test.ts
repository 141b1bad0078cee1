// Grapheme-safe cuts, unique keys for repeated ids, route-safe session ids and the wording of
// hostile values (issue 17 item 3): the pure logic behind what the views show.
import { describe, expect, it } from 'vitest'
import { graphemeBoundaryAtOrBefore, graphemeCount, headGraphemes, previewGraphemes } from '../../../src/shared/graphemes'
import { clipText, energyInvalidText, formatEnergy, latencyBasisText, previewText } from '../../../src/renderer/lib/format'
import { decodeIdSegment, encodeIdSegment } from '../../../src/renderer/lib/route-ids'
import { repeatedIds, uniqueKeys } from '../../../src/renderer/lib/unique-keys'
import { truncate } from '../../../src/renderer/lib/run-details'
import { decisionCap } from '../../../src/main/perspt/views/decision-trace'

const FAMILY = '👨‍👩‍👧‍👦'
const COMBINING = 'e\u0301\u0323'
const FLAG = '🇯🇵'
const seg = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
const graphemes = (s: string) => Array.from(seg.segment(s), (x) => x.segment)

describe('grapheme cuts', () => {
  it.each([
    ['ZWJ family', FAMILY],
    ['combining marks', COMBINING],
    ['flag', FLAG],
    ['skin tone', '👍🏽'],
    ['keycap', '1️⃣']
  ])('%s: a head of n graphemes is n whole clusters', (_what, cluster) => {
    const text = `ab${cluster.repeat(50)}`
    for (const n of [1, 2, 3, 10, 51, 52, 200]) {
      const head = headGraphemes(text, n)
      expect(graphemes(head)).toEqual(graphemes(text).slice(0, n))
    }
  })

  it('previews collapse whitespace, end with "…" and never exceed max graphemes', () => {
    for (const cluster of [FAMILY, COMBINING, FLAG]) {
      const p = previewGraphemes(`  \n${cluster.repeat(300)}`, 160)
      expect(p.endsWith('…')).toBe(true)
      expect(graphemeCount(p)).toBe(160)
      expect(graphemes(p.slice(0, -1)).every((g) => g === cluster)).toBe(true)
    }
    expect(previewGraphemes('a  b\n\tc', 160)).toBe('a b c')
    expect(previewGraphemes('short', 160)).toBe('short')
    expect(previewGraphemes('', 160)).toBe('')
  })

  it('a prefix cut inside a cluster drops the partial cluster unless what follows shows a boundary', () => {
    // The prefix ends after "👨‍👩" of a family: without a look-ahead, the partial family goes.
    const partial = `ok ${FAMILY.slice(0, 5)}`
    expect(previewGraphemes(partial, 160, true)).toBe('ok…')
    expect(previewGraphemes(partial, 160, true, FAMILY.slice(5))).toBe('ok…')
    expect(previewGraphemes('ok', 160, true, ' next')).toBe('ok…')
    expect(previewGraphemes('cafe', 160, true, '\u0301')).toBe('caf…')
  })

  it('a huge text costs a bounded head: 3 MB single line in well under a second', () => {
    const huge = `${FAMILY}漢字`.repeat(300_000)
    const t0 = performance.now()
    const p = previewGraphemes(huge, 160)
    expect(performance.now() - t0).toBeLessThan(500)
    expect(graphemeCount(p)).toBe(160)
  })

  it('heads of huge texts segment a bounded slice (ICU segments a whole string up front: a 1 MB text took seconds)', () => {
    const huge = `${FAMILY}漢字e\u0301`.repeat(200_000)
    const t0 = performance.now()
    const head = headGraphemes(huge, 4000)
    expect(performance.now() - t0).toBeLessThan(5_000)
    expect(graphemes(head)).toHaveLength(4000)
    expect(graphemes(head)).toEqual(graphemes(huge.slice(0, head.length + 64)).slice(0, 4000))
    expect(graphemeCount(huge, 10)).toBe(11)
  })

  it('a cluster longer than the first slice is still kept whole', () => {
    const text = `xxxe${'\u0301'.repeat(500)}y`
    expect(headGraphemes(text, 4)).toBe(text.slice(0, -1))
    expect(graphemeCount(text)).toBe(5)
    expect(graphemeCount(text, 2)).toBe(3)
  })

  it('boundaries at or before an index never fall inside a cluster', () => {
    const text = `x${FAMILY}y${COMBINING}${FLAG}${FLAG}z`
    const starts = new Set<number>()
    let i = 0
    for (const g of graphemes(text)) {
      starts.add(i)
      i += g.length
    }
    starts.add(text.length)
    for (let at = 0; at <= text.length; at++) {
      const b = graphemeBoundaryAtOrBefore(text, at)
      expect(starts.has(b), `at ${at} → ${b}`).toBe(true)
      expect(b).toBeLessThanOrEqual(at)
      expect([...starts].some((s) => s > b && s <= at)).toBe(false)
    }
  })

  it('the other cuts (run details, decision fields) keep clusters whole too', () => {
    expect(truncate(FLAG.repeat(10), 5)).toBe(`${FLAG.repeat(4)}…`)
    expect(truncate('ok', 5)).toBe('ok')
    expect(decisionCap(COMBINING.repeat(10), 4)).toBe(`${COMBINING.repeat(3)}…`)
    expect(decisionCap(`${'a'.repeat(3)}${FAMILY}`, 4)).toBe(`aaa${FAMILY}`)
  })

  it('renderer helpers use the same cuts', () => {
    expect(clipText(FAMILY.repeat(30), 10)).toBe(`${FAMILY.repeat(9)}…`)
    expect(clipText('short', 10)).toBe('short')
    expect(previewText(`${COMBINING.repeat(20)}`, 5)).toBe(`${COMBINING.repeat(4)}…`)
    expect(previewText(null, 5)).toBe('')
  })
})

describe('unique keys for repeated ids', () => {
  it('every row keeps a distinct key; the first of an id keeps the id itself', () => {
    const ids = ['a', 'b', 'a', 'a', 'a\u00002', '', '']
    const keys = uniqueKeys(ids, (x) => x)
    expect(new Set(keys).size).toBe(ids.length)
    expect(keys[0]).toBe('a')
    expect(keys[1]).toBe('b')
    expect(keys[5]).toBe('')
  })

  it('reports how many rows share each repeated id', () => {
    expect([...repeatedIds(['x', 'y', 'x', 'z', 'x', 'y'], (v) => v)]).toEqual([
      ['x', 3],
      ['y', 2]
    ])
    expect(repeatedIds(['x', 'y'], (v) => v).size).toBe(0)
  })
})

describe('route-safe session ids', () => {
  const odd = ['', '~', '~~x', `${'L'.repeat(230)}/?#%~ü-end`, 'a/b?c#d%e', '%zz%', '..', '.', 'ünïcödé-日本-🚀', FAMILY, ' space ']
  it.each(odd.map((id) => [JSON.stringify(id), id]))('%s round-trips through one segment', (_label, id) => {
    const seg = encodeIdSegment(id)
    expect(seg).not.toBe('')
    expect(seg).not.toMatch(/[/?#]/)
    expect(decodeIdSegment(decodeURIComponent(seg))).toBe(id)
  })

  it('plain ids stay readable (old links keep working)', () => {
    expect(encodeIdSegment('3f2a9c1e-uuid')).toBe('3f2a9c1e-uuid')
    expect(decodeIdSegment('3f2a9c1e-uuid')).toBe('3f2a9c1e-uuid')
  })
})

describe('hostile values in words', () => {
  it('energy that is not a number is "—", never 0', () => {
    expect(formatEnergy(null)).toBe('—')
    expect(formatEnergy(Number.NaN)).toBe('—')
    expect(formatEnergy(0)).toBe('0')
    expect(formatEnergy(0.05)).toBe('0.050')
    expect(energyInvalidText([{ component: 'vTotal', stored: 'NaN' }, { component: 'vSyn', stored: 'NULL' }])).toBe('V_total is NaN, V_syn is empty (NULL) in the store')
    expect(energyInvalidText([{ component: 'vTotal', stored: '-Infinity' }])).toBe('V_total is −∞ in the store')
    expect(energyInvalidText([])).toBe('')
  })

  it('latency percentiles say what they are of', () => {
    expect(latencyBasisText({ requests: 12, latencyCounted: 8 })).toBe('p50/p95 of 8 calls with a latency (4 without one left out)')
    expect(latencyBasisText({ requests: 1, latencyCounted: 1 })).toBe('p50/p95 of 1 call with a latency')
  })
})
