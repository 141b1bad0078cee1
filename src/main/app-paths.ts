import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

/** Vigil's own data folder (its recordings and settings; never a Perspt store), per platform convention. */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir()
): string {
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'Vigil')
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Vigil')
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'vigil')
}

/**
 * Every file and folder this process makes from now on is its user's alone (umask 077): the data
 * folder holds recordings of agent runs (prompts, tool output), the journal, gates and the private
 * copies of Perspt stores, and DuckDB makes its files (a WAL after every checkpoint) with the umask.
 * For the long-running processes only (vigil serve, the desktop app), not in tests or `vigil gate`.
 */
export function ownerOnlyFiles(): void {
  if (process.platform !== 'win32') process.umask(0o077)
}

/** Private folders of this process (snapshot copies of Perspt stores, the demo), removed at exit. */
const roots = new Set<string>()
let made = 0
const ROOT_NAME = /^vigil-(\d+)-[0-9a-z]+(?:-\d+)?(?:-[0-9A-Za-z]{6})?$/

/**
 * A fresh private folder for snapshots and the demo of one Vigil process, made at once, owner-only
 * (0700: copies of Perspt stores hold prompts and code, and the temp folder is shared with every user
 * of the machine) and by mkdtemp (a new, unguessable name: another user cannot plant a folder or a
 * link where Vigil will write). When it cannot be made (a full or read-only temp folder) the name is
 * still returned: whoever writes there first reports the problem (see perspt/problems.ts). It is removed however
 * the process ends short of SIGKILL: the owner's close(), process.exit(), an uncaught error (the 'exit'
 * event runs then too) and signals the CLI turns into a clean shutdown. The first call also removes
 * folders left by Vigil processes that no longer run (killed, crashed, power loss).
 */
export function processTmpRoot(base: string = tmpdir()): string {
  if (made === 0) {
    removeStaleTmpRoots(base)
    process.once('exit', removeProcessTmpRoots)
  }
  const prefix = join(base, `vigil-${process.pid}-${Date.now().toString(36)}-${++made}-`)
  let root: string
  try {
    root = mkdtempSync(prefix)
  } catch {
    root = `${prefix}unmade`
  }
  roots.add(root)
  return root
}

/** Removes every private folder of this process now (synchronous: safe in an 'exit' handler). */
export function removeProcessTmpRoots(): void {
  for (const root of roots) {
    try {
      rmSync(root, { recursive: true, force: true })
    } catch {
      // Best effort: a file still open on Windows; the next start removes it.
    }
  }
  roots.clear()
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes `vigil-<pid>-…` folders in `base` whose process no longer runs; returns what it removed. */
export function removeStaleTmpRoots(base: string = tmpdir()): string[] {
  const removed: string[] = []
  let names: string[]
  try {
    names = readdirSync(base)
  } catch {
    return removed
  }
  for (const name of names) {
    const m = ROOT_NAME.exec(name)
    if (!m) continue
    const pid = Number(m[1])
    if (pid === process.pid || alive(pid)) continue
    try {
      rmSync(join(base, name), { recursive: true, force: true })
      removed.push(name)
    } catch {
      // Not ours to remove (another user's): leave it.
    }
  }
  return removed
}
