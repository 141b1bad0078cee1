// Vigil's private folder holds full copies of Perspt stores (prompts, responses, code). The temp folder
// is shared with every user of the machine: the private folder must be owner-only and made under a
// new, unguessable name, so another user can neither read the copies nor plant a folder or a link
// where Vigil writes them.
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { processTmpRoot, removeStaleTmpRoots } from '../../../src/main/app-paths'
import { PersptStore } from '../../../src/main/perspt/perspt-store'
import { buildStore } from '../../fixtures/perspt-fixtures'

const base = mkdtempSync(join(tmpdir(), 'vigil-owner-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))

const isRoot = process.platform === 'linux' && process.getuid?.() === 0
const canSwitchUser = isRoot && spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status === 0

/** Every file and folder under `dir`. */
function walk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    out.push(p)
    if (lstatSync(p).isDirectory()) out.push(...walk(p))
  }
  return out
}

describe('the private folder', () => {
  it.skipIf(process.platform === 'win32')('is made at once, owner-only (0700), under a new name each time', () => {
    const a = processTmpRoot(base)
    const b = processTmpRoot(base)
    expect(a).not.toBe(b)
    for (const dir of [a, b]) {
      const st = statSync(dir)
      expect(st.isDirectory()).toBe(true)
      expect(st.mode & 0o777).toBe(0o700)
      expect(st.uid).toBe(process.getuid!())
    }
  })

  it.skipIf(!canSwitchUser)('keeps snapshot copies of a store from another user of the machine', async () => {
    const store = join(mkdtempSync(join(base, 'store-')), 'perspt.db')
    await buildStore(store, { generation: 23, sessions: [{ id: 'secret', status: 'COMPLETED', createdAt: '2026-12-04 10:00:00' }] })
    // The store itself is readable by others here (as a user's file may be); Vigil's copy must not be.
    spawnSync('chmod', ['-R', 'a+rX', base])
    const root = processTmpRoot(base)
    const s = new PersptStore({ path: store, tmpRoot: join(root, 'sources', 'store-1') })
    try {
      expect(await s.refresh()).toBe(true)
      const copies = walk(root).filter((p) => p.endsWith('.db'))
      expect(copies.length).toBeGreaterThan(0)
      expect(spawnSync('runuser', ['-u', 'nobody', '--', 'cat', store], { stdio: 'ignore' }).status).toBe(0)
      for (const copy of copies) expect(spawnSync('runuser', ['-u', 'nobody', '--', 'cat', copy], { stdio: 'ignore' }).status).not.toBe(0)
      expect(spawnSync('runuser', ['-u', 'nobody', '--', 'ls', root], { stdio: 'ignore' }).status).not.toBe(0)
    } finally {
      await s.close()
    }
  })

  it('removes the folders of Vigil processes that no longer run, old and new names alike', () => {
    const dead = 2 ** 22 + 12345
    const old = join(base, `vigil-${dead}-mx1abc-1`)
    const made = join(base, `vigil-${dead}-mx1abc-2-Ab3xYz`)
    const mine = processTmpRoot(base)
    mkdirSync(old)
    mkdirSync(made)
    const removed = removeStaleTmpRoots(base)
    expect(removed.sort()).toEqual([`vigil-${dead}-mx1abc-1`, `vigil-${dead}-mx1abc-2-Ab3xYz`])
    expect(existsSync(old) || existsSync(made)).toBe(false)
    expect(existsSync(mine)).toBe(true)
  })
})
