// The design tokens meet WCAG 2.2 AA in both themes: read from styles/tokens.css itself, so a colour
// changed there is checked here. Text 4.5:1 on every background it is drawn on; lines, dots, focus rings,
// control borders and chart series 3:1 on the surfaces.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { STATUS_VOCABULARY, TONES, describeState, decisionLabel, type Tone } from '../../../src/shared/model/status-vocabulary'

const css = readFileSync(resolve(__dirname, '../../../src/renderer/styles/tokens.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')

/** The custom properties of the first `:root { … }` after `from` in the stylesheet. */
function rootVars(from: number): Record<string, string> {
  const start = css.indexOf(':root {', from)
  const end = css.indexOf('}', start)
  const vars: Record<string, string> = {}
  for (const m of css.slice(start, end).matchAll(/(--[\w-]+):\s*([^;]+);/g)) vars[m[1]!] = m[2]!.trim()
  return vars
}

const light = rootVars(0)
const dark = { ...light, ...rootVars(css.indexOf('@media (prefers-color-scheme: dark)')) }
const THEMES = { light, dark }

function luminance(hex: string): number {
  const m = /^#([0-9a-f]{6})$/i.exec(hex)
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`)
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(m[1]!.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x)
  return (hi! + 0.05) / (lo! + 0.05)
}

/** Every background a text or tone colour sits on: the page, cards, headers, hovered and selected rows. */
const SURFACES = ['--bg', '--surface', '--surface-2', '--row-hover', '--row-selected']

function failures(theme: Record<string, string>, fgs: string[], bgs: string[], min: number): string[] {
  const out: string[] = []
  for (const fg of fgs)
    for (const bg of bgs) {
      const ratio = contrast(theme[fg]!, theme[bg]!)
      if (ratio < min) out.push(`${fg} ${theme[fg]} on ${bg} ${theme[bg]}: ${ratio.toFixed(2)}:1 < ${min}:1`)
    }
  return out
}

describe('contrast of the design tokens', () => {
  it('the contrast maths agrees with WCAG reference values', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5)
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2)
    expect(contrast('#ffffff', '#ffffff')).toBe(1)
  })

  for (const [name, theme] of Object.entries(THEMES)) {
    describe(`${name} theme`, () => {
      it('defines every token as a #rrggbb colour', () => {
        const needed = [...SURFACES, '--text', '--text-2', '--text-3', '--accent', '--on-accent', '--focus', '--border-strong', ...TONES.flatMap((t) => [`--tone-${t}`, `--tone-${t}-bg`])]
        for (const v of needed) expect(theme[v], v).toMatch(/^#[0-9a-f]{6}$/i)
      })

      it('body text, secondary text and links reach 4.5:1 on every surface', () => {
        expect(failures(theme, ['--text', '--text-2', '--text-3', '--accent'], SURFACES, 4.5)).toEqual([])
      })

      it('every tone reaches 4.5:1 as text on its own badge background and on every surface', () => {
        const out: string[] = []
        for (const t of TONES) out.push(...failures(theme, [`--tone-${t}`], [`--tone-${t}-bg`, ...SURFACES], 4.5))
        expect(out).toEqual([])
      })

      it('text on an accent button reaches 4.5:1', () => {
        expect(failures(theme, ['--on-accent'], ['--accent'], 4.5)).toEqual([])
      })

      it('focus rings, control borders, syntax colours and chart series reach 3:1 on the surfaces', () => {
        const lines = ['--focus', '--border-strong', '--code-number', '--code-bool', '--code-string', '--series-1', '--series-2', '--series-3', '--series-4', '--series-5']
        expect(failures(theme, lines, ['--bg', '--surface', '--surface-2'], 3)).toEqual([])
      })

      it('no two tones share a colour, so Aborted and Failed (and every other pair) look different', () => {
        const seen = new Map<string, Tone>()
        for (const t of TONES) {
          const v = theme[`--tone-${t}`]!.toLowerCase()
          expect(seen.get(v), `${t} and ${seen.get(v)} share ${v}`).toBeUndefined()
          seen.set(v, t)
        }
      })
    })
  }
})

describe('the status vocabulary', () => {
  it('uses only defined tones, and labels every state in sentence case', () => {
    for (const [domain, words] of Object.entries(STATUS_VOCABULARY))
      for (const [word, entry] of Object.entries(words)) {
        expect(TONES, `${domain}.${word}`).toContain(entry.tone)
        expect(entry.label, `${domain}.${word}`).toMatch(/^[A-Z][^A-Z]*$|^OK$/)
      }
  })

  it('one word means one tone wherever it appears (a gate waiting for a person is the one exception)', () => {
    const tones = new Map<string, Set<string>>()
    for (const [domain, words] of Object.entries(STATUS_VOCABULARY))
      for (const [word, entry] of Object.entries(words)) {
        if (domain === 'gate' && word === 'pending') continue
        tones.set(word, (tones.get(word) ?? new Set()).add(entry.tone))
      }
    const mixed = [...tones].filter(([, set]) => set.size > 1).map(([word, set]) => `${word}: ${[...set].join(', ')}`)
    expect(mixed).toEqual([])
  })

  it('aborted is never drawn as failed', () => {
    for (const domain of ['session', 'run', 'task', 'outcome'] as const) {
      expect(describeState('aborted', domain).tone).not.toBe(describeState('failed', domain).tone)
      expect(describeState('aborted', domain).label).not.toBe(describeState('failed', domain).label)
    }
  })

  it('amber (attention) is kept for what asks a person to act', () => {
    const amber = Object.values(STATUS_VOCABULARY).flatMap((words) => Object.values(words).filter((e) => e.tone === 'attention').map((e) => e.label))
    // Things that are only late, partial, slow, flushed or reconnecting are not amber.
    for (const word of ['stale', 'partial', 'flushed', 'reconnecting', 'disconnected', 'timed-out', 'superseded', 'paused'])
      expect(describeState(word).tone, word).not.toBe('attention')
    expect(amber.length).toBeGreaterThan(0)
  })

  it('looks words up case-insensitively, keeps unknown words readable, and gates name their own domain', () => {
    expect(describeState('RUNNING')).toEqual(describeState('running'))
    expect(describeState('EXIT_EARLY', 'gate')).toEqual(STATUS_VOCABULARY.gate['exit early'])
    expect(describeState('weird_state')).toEqual({ tone: 'idle', label: 'Weird state' })
    expect(describeState('pending').tone).toBe('idle')
    expect(describeState('pending', 'gate').tone).toBe('attention')
  })

  it('shows a decision as the user’s words with the wire word as detail', () => {
    expect(decisionLabel('CONTINUE')).toBe('Approved (CONTINUE)')
    expect(decisionLabel('EXIT_EARLY')).toBe('Exited early (EXIT_EARLY)')
    expect(decisionLabel('EDIT', false)).toBe('Edited')
    expect(decisionLabel('SOMETHING_NEW')).toBe('SOMETHING_NEW')
    expect(decisionLabel(null)).toBe('No decision')
  })
})
