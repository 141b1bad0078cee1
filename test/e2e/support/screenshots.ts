import type { Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'

const root = resolve(__dirname, '../../..')

/** Saves light and dark screenshots of the current view for review by eye (test-results/screenshots). */
export async function shootBothSchemes(page: Page, name: string): Promise<void> {
  const dir = resolve(root, 'test-results/screenshots')
  mkdirSync(dir, { recursive: true })
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await page.waitForTimeout(150)
    await page.screenshot({ path: resolve(dir, `${name}-${scheme}.png`) })
    // The README's first screenshot is the Now page: test/e2e/now.spec.ts refreshes it (VIGIL_DOCS_SCREENSHOTS=1).
  }
  await page.emulateMedia({ colorScheme: 'light' })
}
