// What a user sees when Vigil's data folder fills up: a "Recording paused: disk full" banner on the
// page (pushed, no reload), the events shown but not recorded counted next to the hub, and, once space is
// back, the banner gone and the gap still stated. Real `vigil serve` on a real small tmpfs; skipped where
// this machine cannot mount one (test/fault/disk-full.test.ts and the journal's injected-error tests say
// the same through the API).
import { expect, test } from '@playwright/test'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { startVigil, type VigilProcess } from './support/vigil-process'

let disk = ''
let mounted = false
let vigil: VigilProcess | null = null

// In the hooks, not at load: Playwright's runner loads spec files too, and would mount without unmounting.
test.beforeAll(() => {
  disk = mkdtempSync(join(tmpdir(), 'vigil-e2e-full-'))
  mounted = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', disk]).status === 0
})
test.afterAll(async () => {
  await vigil?.stop()
  if (mounted) spawnSync('umount', ['-l', disk])
  rmSync(disk, { recursive: true, force: true })
})

function envelope(producerId: string, seq: number, bytes: number): string {
  const message = { type: 'tool_called', agentRole: 'Agent', taskIndex: 1, toolName: `t${seq}`, toolArguments: 'x'.repeat(bytes), toolResult: 'ok', structuredResult: null, durationMs: 1, outcome: 'SUCCESS' }
  return JSON.stringify({ type: 'event', producer: { producerId }, sequence: seq, receivedAt: new Date().toISOString(), message })
}

const post = async (url: string, body: string) => (await fetch(`${url}/api/hub/ingress`, { method: 'POST', body })).status

test('a full disk shows "Recording paused", counts what was not recorded, and clears once space is back', async ({ page }) => {
  test.skip(!mounted, 'this machine does not allow mounting a tmpfs')
  const data = join(disk, 'data')
  mkdirSync(data)
  const filler = join(disk, 'filler')
  writeFileSync(filler, Buffer.alloc(6 * 1024 * 1024))
  vigil = await startVigil(['--data-dir', data])
  const url = vigil.url
  await page.goto(url)
  await expect(page.getByTestId('recording-paused')).toHaveCount(0)

  // Fill the disk with 16 KB events until Vigil refuses to acknowledge one.
  let status = 202
  for (let seq = 1; seq <= 2000 && status === 202; seq++) status = await post(url, envelope('filler', seq, 16_000))
  expect(status).toBe(503)
  const banner = page.getByTestId('recording-paused')
  await expect(banner).toContainText('Recording paused: disk full', { timeout: 5000 })

  // A publisher's socket events still show live; they are counted as not recorded.
  const publisher = new WebSocket(`${url.replace('http', 'ws')}/ingress`)
  await new Promise((resolve) => publisher.once('open', resolve))
  for (let seq = 1; seq <= 3; seq++) publisher.send(envelope('socket', seq, 16_000))
  await expect(banner).toContainText('were not recorded', { timeout: 5000 })
  await expect(page.getByRole('navigation', { name: 'Sources' }).getByTestId('hub-not-recorded')).toBeVisible()

  // Space comes back: the next event probes, recording resumes, the banner goes, the gap stays stated.
  rmSync(filler)
  for (let seq = 1; seq <= 100 && (await post(url, envelope('after', seq, 100))) !== 202; seq++) await page.waitForTimeout(200)
  await expect(banner).toHaveCount(0, { timeout: 20_000 })
  await expect(page.getByTestId('recording-gap')).toContainText('not recorded while recording was paused')
  publisher.close()
})
