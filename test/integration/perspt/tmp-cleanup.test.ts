// Vigil's private copies of a Perspt store (a snapshot is a full copy of the user's data) are removed
// however `vigil serve` ends: SIGTERM, SIGHUP (terminal closed), SIGTERM with its pipes already closed,
// an uncaught error; and a copy left by a killed Vigil is removed by the next start.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { killAll, requireBuild, startVigil, stopWith, waitUntil, type VigilProcess } from '../../fault/vigil-process'
import { buildStore } from '../../fixtures/perspt-fixtures'

const CRASH_PRELOAD = fileURLToPath(new URL('../../fixtures/perspt-crash-preload.mjs', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'vigil-tmpclean-'))
let store: string
beforeAll(async () => {
  requireBuild()
  store = join(root, 'store', 'perspt.db')
  mkdirSync(join(root, 'store'))
  await buildStore(store, { generation: 23 })
})
afterEach(() => killAll())
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Vigil's own folders in `tmp` (named vigil-<pid>-…) and every file under them. */
function privateFiles(tmp: string): string[] {
  if (!existsSync(tmp)) return []
  return readdirSync(tmp, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => /vigil-\d+-/.test(p.slice(tmp.length)))
}

async function serveWithCopy(tmp: string, env: NodeJS.ProcessEnv = {}): Promise<VigilProcess> {
  const v = await startVigil(mkdtempSync(join(root, 'data-')), { args: ['--db', store], env: { TMPDIR: tmp, ...env } })
  // Ready = Vigil holds a snapshot copy of the store in its private folder.
  await waitUntil(async () => privateFiles(tmp).some((p) => p.endsWith('perspt.db')), 'a snapshot copy', 20_000)
  return v
}

describe('private copies of a Perspt store', () => {
  it.each(['SIGTERM', 'SIGHUP', 'SIGINT'] as const)('are removed when vigil serve gets %s', async (signal) => {
    const tmp = mkdtempSync(join(root, 'tmp-'))
    const v = await serveWithCopy(tmp)
    expect(await stopWith(v, signal)).toBe(0)
    expect(privateFiles(tmp)).toEqual([])
    expect(readdirSync(tmp)).toEqual([])
  })

  it('are removed on SIGTERM when stdout and stderr are already closed', async () => {
    const tmp = mkdtempSync(join(root, 'tmp-'))
    const v = await serveWithCopy(tmp)
    v.proc.stdout.destroy()
    v.proc.stderr.destroy()
    expect(await stopWith(v, 'SIGTERM')).toBe(0)
    expect(readdirSync(tmp)).toEqual([])
  })

  it('are removed when an uncaught error ends the process', async () => {
    const tmp = mkdtempSync(join(root, 'tmp-'))
    const trigger = join(tmp, '..', `crash-${Date.now()}`)
    const v = await serveWithCopy(tmp, { NODE_OPTIONS: `--import ${pathToFileURL(CRASH_PRELOAD).href}`, VIGIL_TEST_CRASH_FILE: trigger })
    const exited = new Promise<number | null>((r) => v.proc.once('exit', (code) => r(code)))
    writeFileSync(trigger, '')
    expect(await exited).not.toBe(0)
    expect(v.output()).toContain('injected uncaught error')
    expect(readdirSync(tmp)).toEqual([])
  })

  it('left by a killed Vigil are removed when the next one starts, and a running one keeps its own', async () => {
    const tmp = mkdtempSync(join(root, 'tmp-'))
    const killed = await serveWithCopy(tmp)
    const killedDirs = readdirSync(tmp)
    expect(await stopWith(killed, 'SIGKILL')).toBe('SIGKILL')
    expect(readdirSync(tmp)).toEqual(killedDirs) // SIGKILL: nothing could run
    const running = await serveWithCopy(tmp)
    const next = await serveWithCopy(tmp)
    const left = readdirSync(tmp)
    expect(left.some((d) => killedDirs.includes(d))).toBe(false)
    expect(left.filter((d) => d.startsWith(`vigil-${running.proc.pid}-`))).toHaveLength(1)
    expect(left.filter((d) => d.startsWith(`vigil-${next.proc.pid}-`))).toHaveLength(1)
    await stopWith(running, 'SIGTERM')
    await stopWith(next, 'SIGTERM')
    expect(readdirSync(tmp)).toEqual([])
  })
})
