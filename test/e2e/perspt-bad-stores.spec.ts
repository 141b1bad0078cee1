// Bad input never takes Vigil down: each broken store gets its own clear message and next step, the good
// store next to it keeps working, and a store from a newer Perspt (unknown tables) just works.
import { expect, test } from '@playwright/test'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  buildStore,
  writeCorruptStore,
  writeDuckDbWithoutSessions,
  writeNonDuckDbFile,
  writeSqliteLikeFile,
  writeTruncatedCopy
} from '../fixtures/perspt-fixtures'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

let dir: string
let vigil: VigilProcess
const files: Record<string, string> = {}
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')
let goodHash: string

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-bad-e2e-'))
  const path = (name: string) => {
    mkdirSync(join(dir, name))
    return (files[name] = join(dir, name, 'perspt.db'))
  }
  await buildStore(path('good'), { generation: 23 })
  await buildStore(path('newer'), { generation: 23, extraTable: true, extraColumn: true })
  writeNonDuckDbFile(path('text'))
  writeSqliteLikeFile(path('sqlite'))
  writeTruncatedCopy(files.good!, path('truncated'))
  await writeCorruptStore(path('corrupt'))
  await writeDuckDbWithoutSessions(path('nosessions'))
  goodHash = sha(files.good!)
  vigil = await startVigil(Object.values(files).flatMap((f) => ['--db', f]))
})

test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  rmSync(dir, { recursive: true, force: true })
})

test('every broken store says what is wrong and what to do, the others keep working', async ({ page }) => {
  await page.goto(vigil.url)
  await expect(page.getByRole('heading', { name: 'Now', level: 1 })).toBeVisible()
  const tile = (name: string) => page.locator('[data-source-kind=store]', { hasText: `${name}/perspt.db` })

  for (const name of ['good', 'newer']) {
    await expect(tile(name).locator('[data-status]').first()).toHaveAttribute('data-status', /idle|live/)
  }
  const expected: Record<string, RegExp> = {
    text: /not a DuckDB/i,
    sqlite: /SQLite/i,
    truncated: /truncated|incomplete|cut off/i,
    corrupt: /corrupt|damaged/i,
    nosessions: /sessions/i
  }
  for (const [name, message] of Object.entries(expected)) {
    await expect(tile(name).locator('[data-status]').first()).toHaveAttribute('data-status', 'error')
    await expect(tile(name)).toContainText(message)
  }
  await shootBothSchemes(page, 'bad-stores')

  // The good store's sessions still open and show, next to all of that.
  await tile('good').getByRole('link').click()
  await expect(page.locator('[role=row][data-session]')).toHaveCount(4)
  // A newer Perspt's unknown tables and columns are ignored, not fatal.
  await page.goto(vigil.url)
  await tile('newer').getByRole('link').click()
  await expect(page.locator('[role=row][data-session]')).toHaveCount(4)

  // A broken store's own page explains itself too.
  await page.goto(vigil.url)
  await tile('text').getByRole('link').click()
  const alert = page.getByRole('alert')
  await expect(alert).toHaveCount(1)
  await expect(alert).toContainText(/not a DuckDB/i)

  // The server is still up, and nothing was written to the user's store.
  expect((await fetch(`${vigil.url}/api/status`)).status).toBe(200)
  expect(sha(files.good!)).toBe(goodHash)
})
