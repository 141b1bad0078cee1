// AgentEnsemble trace files both ways: a recorded run is exported as .trace.json from its page, and a
// fresh Vigil imports that file and shows the same run.
import { expect, test } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { EnsembleSimulator, finishedSequentialRunScript } from '../../src/main/demo/ensemble-simulator'
import { startVigil, type VigilProcess } from './support/vigil-process'

let sim: EnsembleSimulator
let vigil: VigilProcess
test.beforeAll(async () => {
  sim = new EnsembleSimulator({ script: finishedSequentialRunScript(), heartbeatMs: 60_000 })
  await sim.start()
  vigil = await startVigil(['--attach', sim.url])
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  await sim.stop()
})

test('export a run as .trace.json, import it into another Vigil', async ({ page }) => {
  await page.goto(vigil.url)
  await page.getByRole('navigation').locator('a[href^="#/run/"]').first().click()
  await expect(page.getByTestId('run-progress')).toHaveText('2 / 2 tasks')

  const downloaded = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Export trace' }).click()
  const download = await downloaded
  expect(download.suggestedFilename()).toMatch(/\.trace\.json$/)
  const file = await download.path()
  const trace = JSON.parse(readFileSync(file, 'utf8')) as { taskTraces?: unknown[]; workflow?: string }
  expect(trace.workflow).toBe('SEQUENTIAL')
  expect(trace.taskTraces).toHaveLength(2)

  const other = await startVigil([])
  try {
    await page.goto(`${other.url}/#/`)
    await page.getByLabel('Import a trace file').setInputFiles({
      name: download.suggestedFilename(),
      mimeType: 'application/json',
      buffer: readFileSync(file)
    })
    await expect(page).toHaveURL(/#\/run\//)
    await expect(page.getByTestId('run-progress')).toHaveText('2 / 2 tasks')
    await expect(page.getByRole('navigation', { name: 'Sources' }).getByText(download.suggestedFilename())).toBeVisible()

    // A file that is not a trace is refused with a reason, and nothing is added.
    await page.getByLabel('Import a trace file').setInputFiles({ name: 'broken.trace.json', mimeType: 'application/json', buffer: Buffer.from('{"nope":1}') })
    await expect(page.getByRole('navigation', { name: 'Sources' }).getByRole('alert')).toBeVisible()
  } finally {
    expect(await other.stop()).toBe(0)
  }
})
