// The status vocabulary drawn with the real tokens (styles/tokens.css) in Chromium, light and dark: every
// tone's badge text measured against its badge and the page as the browser renders them, and every state
// word of the vocabulary shown with its label. VIGIL_DOCS_SCREENSHOTS=1 refreshes docs/design-swatches-*.png.
import { expect, test } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { STATUS_VOCABULARY, TONES, TONE_MEANING } from '../../src/shared/model/status-vocabulary'

const root = resolve(__dirname, '../..')
const tokens = readFileSync(resolve(root, 'src/renderer/styles/tokens.css'), 'utf8')

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

function swatchPage(): string {
  const tones = TONES.map(
    (t) => `<tr data-tone="${t}"><td><span class="badge tone-${t}"><span class="dot"></span>${t}</span></td><td class="line"><svg width="90" height="14"><path d="M2 12 L30 4 L60 9 L88 2" stroke="var(--tone)" class="tone-${t}" stroke-width="2" fill="none"/></svg></td><td>${esc(TONE_MEANING[t])}</td></tr>`
  ).join('')
  const domains = Object.entries(STATUS_VOCABULARY)
    .map(
      ([domain, words]) =>
        `<div class="domain"><h2>${domain}</h2>${Object.entries(words)
          .map(([word, e]) => `<div class="w"><span class="badge tone-${e.tone}"><span class="dot"></span>${esc(e.label)}</span> <code>${esc(word)}</code></div>`)
          .join('')}</div>`
    )
    .join('')
  return `<!doctype html><html><head><meta charset="utf-8"><style>${tokens}
    body { margin: 0; padding: 16px 20px; font: 13px/1.45 var(--font); color: var(--text); background: var(--bg); }
    h1 { font-size: 16px; margin: 0 0 10px; } h2 { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--text-2); margin: 0 0 6px; }
    table { border-collapse: collapse; background: var(--surface); border: 1px solid var(--border); border-radius: 8px; }
    td { padding: 5px 12px; border-bottom: 1px solid var(--surface-2); }
    .badge { display: inline-flex; align-items: center; gap: 5px; padding: 1px 8px 1px 6px; border-radius: 999px; font-size: 11.5px; font-weight: 600; line-height: 18px; color: var(--tone); background: var(--tone-bg); white-space: nowrap; }
    .dot { width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
    .grid { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px; margin-top: 14px; }
    .domain { background: var(--surface); border: 1px solid var(--border); border-radius: 8px; padding: 8px 10px; }
    .w { margin: 3px 0; } code { font: 11px var(--mono); color: var(--text-3); }
  </style></head><body><h1>Vigil tones and status vocabulary</h1><table>${tones}</table><div class="grid">${domains}</div></body></html>`
}

test('every tone reads at 4.5:1 as rendered, in light and dark, and the vocabulary is drawn with it', async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 1000 })
  await page.setContent(swatchPage())
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    const measured = await page.evaluate(() => {
      const rgb = (s: string) => (s.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number)
      const lum = (c: number[]) => {
        const [r, g, b] = c.map((v) => v / 255).map((v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
      }
      const ratio = (a: string, b: string) => {
        const [hi, lo] = [lum(rgb(a)), lum(rgb(b))].sort((x, y) => y - x)
        return (hi! + 0.05) / (lo! + 0.05)
      }
      const page = getComputedStyle(document.body).backgroundColor
      return [...document.querySelectorAll('tr[data-tone] .badge')].map((el) => {
        const cs = getComputedStyle(el)
        const stroke = getComputedStyle(el.closest('tr')!.querySelector('path')!).stroke
        return { tone: el.closest('tr')!.getAttribute('data-tone'), onBadge: ratio(cs.color, cs.backgroundColor), onPage: ratio(cs.color, page), line: ratio(stroke, page) }
      })
    })
    expect(measured.map((m) => m.tone)).toEqual([...TONES])
    for (const m of measured) {
      expect(m.onBadge, `${scheme} ${m.tone} text on its badge`).toBeGreaterThanOrEqual(4.5)
      expect(m.onPage, `${scheme} ${m.tone} text on the page`).toBeGreaterThanOrEqual(4.5)
      expect(m.line, `${scheme} ${m.tone} chart line on the page`).toBeGreaterThanOrEqual(3)
    }
    const words = Object.values(STATUS_VOCABULARY).reduce((n, d) => n + Object.keys(d).length, 0)
    await expect(page.locator('.domain .badge')).toHaveCount(words)
    if (process.env.VIGIL_DOCS_SCREENSHOTS === '1') await page.screenshot({ path: resolve(root, `docs/design-swatches-${scheme}.png`), fullPage: true })
  }
})
