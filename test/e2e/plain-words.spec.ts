// Plain words on the screens people read: no stored table names or wire words (AgentEnsemble message
// types, Perspt escalation categories and rewrite actions, raw record types, "N tables") in visible text,
// except as detail in parentheses ("implementation error (implementation_error)"), in a title tooltip, or
// inside an explicit <details> disclosure. Real `vigil serve --demo` (its Perspt store and its simulated
// AgentEnsemble run) in real Chromium.
import { expect, test, type Page } from '@playwright/test'
import { ESCALATION_CATEGORY_WORDS, REWRITE_ACTION_WORDS } from '../../src/shared/model/escalation-words'
import { RECORD_KINDS } from '../../src/shared/model/record-labels'
import { SERVER_MESSAGE_TYPES } from '../../src/shared/protocol/agentensemble'
import { startVigil, type VigilProcess } from './support/vigil-process'

let vigil: VigilProcess
test.beforeAll(async () => {
  vigil = await startVigil(['--demo'])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
})

// Wire words that are snake_case (single words like "token" are also plain English).
const WIRE = [
  ...SERVER_MESSAGE_TYPES,
  'review_decision',
  ...Object.keys(ESCALATION_CATEGORY_WORDS),
  ...Object.keys(REWRITE_ACTION_WORDS),
  ...Object.keys(RECORD_KINDS)
].filter((w) => w.includes('_'))
const BANNED = new RegExp(`\\b(${WIRE.join('|')})\\b|srbn_|\\b\\d+ tables\\b`, 'g')

/** The visible text of the page outside <details>, with parenthesised detail removed. */
async function visibleWords(page: Page): Promise<string> {
  return page.evaluate(() => {
    const out: string[] = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement
      if (!el || el.closest('details, script, style, template')) continue
      if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue
      const t = n.textContent?.trim()
      if (t) out.push(t)
    }
    return out.join('\n')
  })
}

async function expectPlain(page: Page, where: string) {
  const text = (await visibleWords(page)).replace(/\([^()\n]*\)/g, '')
  // Each offending line, so a failure says where the word was.
  const found = [...new Set(text.split('\n').filter((line) => new RegExp(BANNED.source).test(line)))]
  expect(found, `wire words on ${where}`).toEqual([])
  return text
}

test('Now, a failed session, its grouped decisions, the demo run and the store page speak plain words', async ({ page }) => {
  test.setTimeout(90_000)
  await page.goto(vigil.url)
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()
  const failed = page.getByTestId('now-recent').locator('li[data-status=failed]').filter({ hasText: 'Escalated' }).first()
  await expect(failed.getByTestId('failure-reason')).toContainText(/^Escalated at \S+: [a-z ]+ → [a-z ,]+/)
  await expectPlain(page, 'the Now page')

  // The failed session's header says why, in words.
  await failed.locator('a.title').click()
  await expect(page).toHaveURL(/\/summary$/)
  const why = page.getByTestId('session-failure')
  await expect(why).toContainText(/Why it failed: Escalated at \S+: [a-z ]+ → [a-z ,]+/)
  await expectPlain(page, 'the session summary')

  // The DAG opens on the escalated node; its panel's decisions say the escalation in words too.
  await page.getByRole('navigation', { name: 'Session views' }).getByRole('link', { name: 'DAG' }).click()
  const dagPanel = page.getByTestId('dag-panel')
  await expect(dagPanel.getByTestId('dag-panel-escalation')).toBeVisible()
  await expect(dagPanel).toContainText(/Escalated: [a-z ]+ → [a-z ,]+/)
  await expectPlain(page, 'the DAG node panel')
  await page.goBack()
  await expect(page).toHaveURL(/\/summary$/)

  // The grouped decisions, every section open.
  await page.goto(page.url().replace(/\/summary$/, '/decisions?tab=grouped'))
  const esc = page.locator('section[data-section=escalations] li.item')
  await expect(esc.first()).toBeVisible({ timeout: 20_000 })
  await expect(esc.first()).toContainText(/[A-Z][a-z ]+ → [a-z ,]+/)
  for (const key of await page.locator('section[data-section]').evaluateAll((els) => els.map((el) => el.getAttribute('data-section')))) {
    const head = page.locator(`section[data-section=${key}] button.head`)
    if ((await head.getAttribute('aria-expanded')) === 'false') await head.click()
    await expect(head).toHaveAttribute('aria-expanded', 'true')
  }
  await expectPlain(page, 'the grouped decisions')

  // The demo run's Events panel: plain event labels, the wire type as the tooltip.
  const runLink = page.getByRole('navigation').locator('a[href^="#/run/"]').first()
  await expect(runLink).toBeVisible({ timeout: 20_000 })
  await runLink.click()
  const panel = page.getByTestId('run-events')
  const toggle = panel.getByRole('button').first()
  if ((await toggle.getAttribute('aria-expanded')) === 'false') await toggle.click()
  const types = page.getByRole('list', { name: 'Recent events' }).locator('li .type')
  await expect.poll(() => types.count(), { timeout: 20_000 }).toBeGreaterThan(2)
  const labels = await types.allTextContents()
  const wires = await types.evaluateAll((els) => els.map((el) => el.getAttribute('title') ?? ''))
  expect(labels.every((l) => /^[A-Z][A-Za-z ()]+$/.test(l)), labels.join(', ')).toBe(true)
  expect(wires.every((w) => /^Event type: [a-z_]+$/.test(w)), wires.join(', ')).toBe(true)
  expect(labels).toContain('Task started')
  await expectPlain(page, 'the run page')

  // The store page: record types, not tables; steps and revisions in words; "LLM calls" not cut.
  await page.getByRole('link', { name: /Demo · Perspt store/ }).first().click()
  const rows = page.locator('[role=row][data-session]')
  await expect(rows.first()).toBeVisible()
  await expect(page.getByText(/^\d+ record types?$/)).toBeVisible()
  const text = await expectPlain(page, 'the store page')
  expect(text).not.toMatch(/\brev \d/)
  const budgets = await rows.locator('[role=cell].budget').allTextContents()
  expect(budgets.some((b) => /\d+(\/\d+)? steps?\b/.test(b) && /\d+(\/\d+)? revisions?\b/.test(b)), budgets.join(' | ')).toBe(true)
  // The words fit their column (nothing clipped at this width).
  expect(await rows.locator('[role=cell].budget').evaluateAll((els) => els.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => `${el.textContent} ${el.scrollWidth}>${el.clientWidth}`))).toEqual([])
  const llmHeader = page.getByRole('columnheader', { name: /LLM calls/ }).getByRole('button')
  expect(await llmHeader.evaluate((b) => b.scrollWidth <= b.clientWidth)).toBe(true)
})
