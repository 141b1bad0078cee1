// Accessibility, enforced: axe-core (WCAG 2.2 A/AA + best practice) on every page of Vigil in light and
// dark, against the real `vigil serve --demo` (a Perspt agent writing a store, an AgentEnsemble run) with
// review gates raised through the review API and an older Perspt store. Any serious or critical violation
// fails. Beyond axe: headings in order, every scrollable region reachable by keyboard and named, a visible
// focus ring on everything Tab reaches, no animation left running under prefers-reduced-motion, and no raw
// table names outside the "raw records" disclosures on the session pages.
import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Page } from '@playwright/test'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VIEWS_INJECTION, buildViewsStore } from '../fixtures/perspt-fixtures'
import { ALL_PERSPT_TABLES } from '../../src/main/perspt/schema'
import { startVigil, type VigilProcess } from './support/vigil-process'

const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-a11y-'))
const oldStore = join(dir, 'perspt-4.db')
let vigil: VigilProcess

// axe in two schemes on every page is slow on a shared two-core machine: minutes, not seconds.
test.describe.configure({ timeout: 300_000 })

test.beforeAll(async () => {
  await buildViewsStore(oldStore, { generation: 4, llmRequests: 20 })
  vigil = await startVigil(['--demo', '--db', oldStore])
})

test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  rmSync(dir, { recursive: true, force: true })
})

const SCHEMES = ['light', 'dark'] as const
/** Perspt's table names ("sessions" is also a plain word), and anything shaped like srbn_… or …_records. */
const RAW_TABLE = String.raw`\bsrbn_\w+|\w+_records\b|\b(${ALL_PERSPT_TABLES.filter((t) => t !== 'sessions').join('|')})\b`
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']

interface Finding {
  where: string
  what: string
}

/** axe on the page as it is now, in both colour schemes: the serious and critical violations, one line each. */
async function axe(page: Page, where: string): Promise<Finding[]> {
  const found: Finding[] = []
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme })
    // Lets the scheme's styles apply (and any transition on them end) before the colours are read.
    await page.waitForTimeout(200)
    const results = await new AxeBuilder({ page }).withTags(TAGS).analyze()
    for (const v of results.violations) {
      if (v.impact !== 'serious' && v.impact !== 'critical') continue
      for (const node of v.nodes) {
        const detail = node.any[0]?.message ?? node.failureSummary ?? ''
        found.push({ where: `${where} (${scheme})`, what: `${v.id} [${v.impact}] ${node.target.join(' ')}: ${detail.replace(/\s+/g, ' ').slice(0, 220)}` })
      }
    }
  }
  await page.emulateMedia({ colorScheme: 'light' })
  return found
}

/** Headings in order (no level skipped on the way down, one h1), every scrollable region keyboard-reachable and named. */
async function structure(page: Page, where: string): Promise<Finding[]> {
  const problems = await page.evaluate(() => {
    const out: string[] = []
    const visible = (el: Element) => {
      const r = el.getBoundingClientRect()
      return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'
    }
    // Headings per landmark: the main area holds the page's one h1 and descends from it; the sidebar and
    // other landmarks start at h2; nowhere is a level skipped on the way down.
    const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6, [role=heading]')].filter(visible)
    const level = (h: Element) => Number(h.getAttribute('aria-level') ?? h.tagName.slice(1))
    const groups = new Map<Element | null, Element[]>()
    for (const h of headings) {
      const g = h.closest('main, nav, aside, [role=dialog], [role=navigation], [role=complementary]')
      groups.set(g, [...(groups.get(g) ?? []), h])
    }
    const main = document.querySelector('main')
    const h1s = headings.filter((h) => level(h) === 1)
    if (h1s.length !== 1) out.push(`${h1s.length} level-1 headings (want exactly one)`)
    for (const [g, hs] of groups) {
      let prev = g === main ? 0 : 1
      for (const h of hs) {
        const l = level(h)
        if (l > prev + 1 || (g !== main && l === 1))
          out.push(`heading "${(h.textContent ?? '').trim().slice(0, 60)}" is h${l} after h${prev} in ${g ? g.tagName.toLowerCase() : 'the page'}`)
        prev = l
      }
    }
    const focusable = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, summary, [tabindex]:not([tabindex="-1"])'
    for (const el of document.querySelectorAll('*')) {
      if (!(el instanceof HTMLElement) || !visible(el) || el === document.documentElement || el === document.body) continue
      const cs = getComputedStyle(el)
      const scrollsY = /(auto|scroll)/.test(cs.overflowY) && el.scrollHeight > el.clientHeight + 2
      const scrollsX = /(auto|scroll)/.test(cs.overflowX) && el.scrollWidth > el.clientWidth + 2
      if (!scrollsY && !scrollsX) continue
      const describe = `${el.tagName.toLowerCase()}${typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : ''}${el.dataset.testid ? `[data-testid=${el.dataset.testid}]` : ''}`
      if (el.tabIndex >= 0) {
        const label = el.getAttribute('aria-label') ?? el.getAttribute('aria-labelledby') ?? ''
        if (label.trim() === '') out.push(`scrollable ${describe} takes focus but has no name (aria-label or aria-labelledby)`)
        if (!el.getAttribute('role') && !['section', 'main', 'nav', 'aside', 'table', 'pre', 'ul', 'ol', 'textarea'].includes(el.tagName.toLowerCase()))
          out.push(`scrollable ${describe} takes focus but has no role`)
      } else if (!el.querySelector(focusable)) out.push(`scrollable ${describe} cannot be reached by keyboard (no tabindex="0", nothing inside takes focus)`)
    }
    return out
  })
  return problems.map((what) => ({ where, what }))
}

/** Tabs through the page: every element that takes focus shows a ring (outline or box-shadow). */
async function focusRings(page: Page, where: string, maxStops = 40): Promise<Finding[]> {
  const out: Finding[] = []
  await page.locator('body').click({ position: { x: 1, y: 1 }, force: true }).catch(() => undefined)
  const seen = new Set<string>()
  for (let i = 0; i < maxStops; i++) {
    await page.keyboard.press('Tab')
    const f = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null
      if (!el || el === document.body) return null
      const cs = getComputedStyle(el)
      const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1) || (cs.boxShadow !== 'none' && cs.boxShadow !== '')
      const id = `${el.tagName.toLowerCase()}|${el.id}|${el.getAttribute('aria-label') ?? ''}|${(el.textContent ?? '').trim().slice(0, 40)}`
      return { ring, id }
    })
    if (!f) continue
    if (seen.has(f.id)) break
    seen.add(f.id)
    if (!f.ring) out.push({ where, what: `no visible focus on ${f.id}` })
  }
  return out
}

async function check(page: Page, where: string, findings: Finding[]): Promise<void> {
  const found = [...(await axe(page, where)), ...(await structure(page, where))]
  // A11Y_DUMP=<file>: every finding as a JSON line, for working through a long list.
  if (process.env.A11Y_DUMP) for (const f of found) appendFileSync(process.env.A11Y_DUMP, JSON.stringify(f) + '\n')
  findings.push(...found)
}

function report(findings: Finding[]): string {
  return findings.map((f) => `${f.where}: ${f.what}`).join('\n')
}

async function open(page: Page, hash: string): Promise<void> {
  await page.goto(`${vigil.url}/#${hash}`)
  await expect(page.locator('main')).toBeVisible()
}

async function demoStore(page: Page): Promise<{ demo: string; old: string }> {
  const res = await page.request.post(`${vigil.url}/api/rpc/listSources`, { data: { args: [] } })
  const body = (await res.json()) as { ok: boolean; value: Array<{ id: string; kind: string; path?: string; origin?: string }> }
  const stores = body.value.filter((s) => s.kind === 'store')
  const old = stores.find((s) => s.path === oldStore)
  const demo = stores.find((s) => s.path !== oldStore)
  if (!old || !demo) throw new Error(`stores not listed: ${JSON.stringify(body)}`)
  return { demo: demo.id, old: old.id }
}

test('Now, welcome, add source, settings and the store pages: no serious or critical violation in either scheme', async ({ page }) => {
  const findings: Finding[] = []
  const stores = await demoStore(page)
  await open(page, '/')
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()
  await expect(page.getByRole('navigation').locator('a[href^="#/run/"]').first()).toBeVisible({ timeout: 20_000 })
  await check(page, 'Now', findings)
  for (const [hash, name] of [
    ['/welcome', 'Welcome'],
    ['/open', 'Add source (store)'],
    ['/attach', 'Add source (attach)'],
    ['/settings', 'Settings']
  ] as const) {
    await open(page, hash)
    await page.waitForTimeout(300)
    await check(page, name, findings)
  }
  for (const [id, name] of [
    [stores.demo, 'Store sessions (demo)'],
    [stores.old, 'Store sessions (older store)']
  ] as const) {
    await open(page, `/store/${encodeURIComponent(id)}`)
    await expect(page.locator('[role=row][data-session]').first()).toBeVisible({ timeout: 20_000 })
    await check(page, name, findings)
  }
  expect(findings, report(findings)).toEqual([])
})

for (const which of ['demo', 'older store'] as const) {
  test(`every tab of a Perspt session (${which}): no serious or critical violation, no raw table names outside disclosures`, async ({ page }) => {
    const findings: Finding[] = []
    const stores = await demoStore(page)
    const store = which === 'demo' ? stores.demo : stores.old
    await open(page, `/store/${encodeURIComponent(store)}`)
    const row = page.locator('[role=row][data-session]').first()
    await expect(row).toBeVisible({ timeout: 20_000 })
    const sessionId = await row.getAttribute('data-session')
    await open(page, `/store/${encodeURIComponent(store)}/session/${encodeURIComponent(sessionId!)}/summary`)
    const tabs = page.getByRole('navigation', { name: /session views/i }).getByRole('link')
    await expect(tabs.first()).toBeVisible()
    const hrefs = await tabs.evaluateAll((els) => els.map((el) => [el.getAttribute('href') ?? '', (el.textContent ?? '').trim()] as const))
    expect(hrefs.length).toBeGreaterThanOrEqual(6)
    for (const [href, label] of hrefs) {
      await page.goto(`${vigil.url}/${href}`)
      await expect(page.locator('main')).toBeVisible()
      await page.waitForTimeout(600)
      const where = `Session ${label} (${which})`
      await check(page, where, findings)
      const raw = await page.evaluate(({ injection, pattern }) => {
        const rawTable = new RegExp(pattern)
        const text: string[] = []
        const walker = document.createTreeWalker(document.querySelector('main') ?? document.body, NodeFilter.SHOW_TEXT)
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const el = n.parentElement
          if (!el || el.closest('details, [data-raw-records]')) continue
          const t = n.textContent ?? ''
          // The fixture's task text quotes a table name on purpose (an SQL injection attempt): data, not a label.
          if (t.includes(injection)) continue
          if (rawTable.test(t)) text.push(t.trim().slice(0, 80))
        }
        return text
      }, { injection: VIEWS_INJECTION, pattern: RAW_TABLE })
      for (const t of raw) findings.push({ where, what: `raw table name outside a disclosure: "${t}"` })
    }
    expect(findings, report(findings)).toEqual([])
  })
}

test('every tab of a run page: no serious or critical violation in either scheme', async ({ page }) => {
  const findings: Finding[] = []
  await open(page, '/')
  const runLink = page.getByRole('navigation').locator('a[href^="#/run/"]').first()
  await expect(runLink).toBeVisible({ timeout: 20_000 })
  await runLink.click()
  const tabs = page.getByRole('tablist', { name: 'Run views' }).getByRole('tab')
  await expect(tabs.first()).toBeVisible()
  // The streaming events list is not a live region (a busy run would have every row read out); the
  // progress is the page's polite status.
  await expect(page.getByRole('list', { name: 'Recent events' })).not.toHaveAttribute('aria-live', /polite|assertive/)
  await expect(page.getByRole('list', { name: 'Recent events' })).not.toHaveAttribute('role', 'log')
  await expect(page.getByTestId('run-progress')).toHaveAttribute('role', 'status')
  const count = await tabs.count()
  expect(count).toBeGreaterThanOrEqual(5)
  for (let i = 0; i < count; i++) {
    const tab = tabs.nth(i)
    await tab.click()
    await expect(tab).toHaveAttribute('aria-selected', 'true')
    await page.waitForTimeout(400)
    await check(page, `Run ${(await tab.textContent())?.trim()}`, findings)
  }
  expect(findings, report(findings)).toEqual([])
})

test('the review inbox, a gate, its editor and the history: no serious or critical violation in either scheme', async ({ page }) => {
  const findings: Finding[] = []
  const raise = async (taskDescription: string, timeoutMs: number) => {
    const res = await fetch(`${vigil.url}/api/reviews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ taskDescription, taskOutput: 'Draft release notes:\n- faster startup\n- fewer crashes', timeoutMs, onTimeout: 'EXIT_EARLY', timing: 'AFTER_EXECUTION', prompt: 'Check the notes before they ship.' })
    })
    expect(res.status).toBe(201)
    return ((await res.json()) as { reviewId: string }).reviewId
  }
  const urgent = await raise('Publish the release notes', 50_000)
  await raise('Send the customer email', 0)
  const decided = await raise('Tag the release', 0)
  const res = await fetch(`${vigil.url}/api/reviews/${encodeURIComponent(decided)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ decision: 'CONTINUE', decidedBy: 'a11y' })
  })
  expect(res.status).toBe(200)

  await open(page, '/reviews')
  await expect(page.getByText('Publish the release notes').first()).toBeVisible()
  await check(page, 'Reviews inbox', findings)
  await open(page, `/reviews/${encodeURIComponent(urgent)}`)
  await expect(page.getByTestId('review-detail')).toBeVisible()
  await check(page, 'Review gate', findings)
  await open(page, `/reviews/${encodeURIComponent(urgent)}?edit=1`)
  await expect(page.getByTestId('review-detail')).toBeVisible()
  await page.waitForTimeout(300)
  await check(page, 'Review editor', findings)
  await open(page, `/reviews/${encodeURIComponent(decided)}`)
  await expect(page.getByTestId('gate-outcome')).toBeVisible()
  await check(page, 'Review gate (decided)', findings)
  await open(page, '/reviews/history')
  await expect(page.getByText('Tag the release').first()).toBeVisible()
  await check(page, 'Review history', findings)
  expect(findings, report(findings)).toEqual([])
})

test('every element Tab reaches shows a focus ring', async ({ page }) => {
  const findings: Finding[] = []
  const stores = await demoStore(page)
  for (const hash of ['/', `/store/${encodeURIComponent(stores.demo)}`, '/settings', '/open', '/reviews/history']) {
    await open(page, hash)
    await page.waitForTimeout(500)
    findings.push(...(await focusRings(page, hash)))
  }
  expect(findings, report(findings)).toEqual([])
})

test('with reduced motion asked for, nothing animates', async ({ page }) => {
  await page.emulateMedia({ reducedMotion: 'reduce' })
  await open(page, '/')
  const runLink = page.getByRole('navigation').locator('a[href^="#/run/"]').first()
  await expect(runLink).toBeVisible({ timeout: 20_000 })
  await runLink.click()
  await expect(page.getByTestId('run-status')).toBeVisible()
  const running = async () =>
    page.evaluate(() =>
      document
        .getAnimations()
        .filter((a) => a.playState === 'running')
        .map((a) => (a as CSSAnimation).animationName ?? 'transition')
    )
  expect(await running()).toEqual([])
  // Without the preference the same page does animate (the running pulse): the check above can fail.
  await page.emulateMedia({ reducedMotion: 'no-preference' })
  await expect.poll(async () => (await running()).length).toBeGreaterThan(0)
})
