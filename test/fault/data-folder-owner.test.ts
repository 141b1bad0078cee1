// Another user of the same machine: everything a real `vigil serve` writes (its data folder, the
// recording of agent runs with their prompts and tool output, the ingest journal, the private copies of
// Perspt stores) is its user's alone. Checked by mode bits, and with a real second user where the
// machine allows switching to one (root in a sandbox, as here and in CI).
import { spawnSync } from 'node:child_process'
import { lstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, recordedToolNames, requireBuild, startVigil, stopWith, toolEnvelope, waitUntil } from './vigil-process'

let dir: string
beforeAll(() => {
  requireBuild()
  dir = mkdtempSync(join(tmpdir(), 'vigil-fault-owner-'))
})
afterEach(() => killAll())
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const canSwitchUser = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status === 0

function walk(at: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(at)) {
    const p = join(at, name)
    out.push(p)
    if (lstatSync(p).isDirectory()) out.push(...walk(p))
  }
  return out
}

describe.skipIf(process.platform === 'win32')('files of vigil serve', () => {
  it('are owner-only: the data folder, the recording, its WAL and the journal', async () => {
    // A parent others may enter, as a home folder often is: only Vigil's own modes protect its files.
    const parent = mkdtempSync(join(dir, 'home-'))
    spawnSync('chmod', ['755', dir, parent])
    const data = join(parent, 'vigil-data')
    const v = await startVigil(data)
    for (let i = 1; i <= 3; i++) {
      const res = await fetch(`${v.url}/api/hub/ingress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: toolEnvelope('owner', i, `tool-${i}`) })
      expect(res.status).toBe(202)
    }
    await stopWith(v, 'SIGTERM')
    expect(await recordedToolNames(data)).toEqual(['tool-1', 'tool-2', 'tool-3'])
    const v2 = await startVigil(data)
    await waitUntil(async () => (await fetch(`${v2.url}/api/status`)).ok, 'the restarted server')
    const files = [data, ...walk(data)]
    expect(files.some((f) => f.endsWith('recordings.duckdb'))).toBe(true)
    for (const f of files) expect({ f, mode: (statSync(f).mode & 0o077).toString(8) }).toEqual({ f, mode: '0' })
    if (canSwitchUser) {
      for (const f of files.filter((p) => statSync(p).isFile())) {
        expect(spawnSync('runuser', ['-u', 'nobody', '--', 'cat', f], { stdio: 'ignore' }).status).not.toBe(0)
      }
    }
  }, 60_000)
})
