// Is an agent writing the store right now? Answered without taking any lock: on Linux the kernel
// lists every POSIX/OFD/flock lock in /proc/locks, and DuckDB's read-write open holds an fcntl lock on
// the .db file for as long as the agent runs (spec §2.2).
import { readFileSync } from 'node:fs'
import type { StoreLiveness } from '../../shared/model/sources'

export interface LockEntry {
  major: number
  minor: number
  inode: bigint
  pid: number | null
  /** A write lock is a read-write open (an agent); a read lock only a reader (a read-only DuckDB open). */
  write: boolean
}

/**
 * POSIX record locks belong to a process, and closing *any* descriptor of the file drops them all:
 * when an in-process writer (the demo's simulated agent) holds a store, /proc/locks cannot show it
 * once Vigil has copied the file. Such writers register here instead, keyed by device and inode.
 */
const heldInProcess = new Map<string, number>()
const fileKey = (file: { dev: bigint; ino: bigint }) => `${file.dev}:${file.ino}`

export function registerInProcessHolder(file: { dev: bigint; ino: bigint }): () => void {
  const key = fileKey(file)
  heldInProcess.set(key, (heldInProcess.get(key) ?? 0) + 1)
  let released = false
  return () => {
    if (released) return
    released = true
    const left = (heldInProcess.get(key) ?? 1) - 1
    if (left > 0) heldInProcess.set(key, left)
    else heldInProcess.delete(key)
  }
}

export function isHeldInProcess(file: { dev: bigint; ino: bigint }): boolean {
  return heldInProcess.has(fileKey(file))
}

/** Lines like `1: POSIX  ADVISORY  WRITE 5357 fe:00:2146745 0 EOF` (major:minor in hex, inode decimal). */
export function parseProcLocks(text: string): LockEntry[] {
  const out: LockEntry[] = []
  for (const line of text.split('\n')) {
    // Waiters (`1: -> POSIX …`) block on a lock someone else holds; that holder has its own line.
    if (line.includes('->')) continue
    const tokens = line.trim().split(/\s+/)
    const idIndex = tokens.findIndex((t) => /^[0-9a-f]+:[0-9a-f]+:\d+$/i.test(t))
    if (idIndex < 0) continue
    const [maj, min, ino] = (tokens[idIndex] as string).split(':') as [string, string, string]
    const pid = Number(tokens[idIndex - 1])
    out.push({
      major: parseInt(maj, 16),
      minor: parseInt(min, 16),
      inode: BigInt(ino),
      pid: Number.isInteger(pid) && pid > 0 ? pid : null,
      write: tokens[idIndex - 2] === 'WRITE'
    })
  }
  return out
}

/** glibc's major()/minor() of a dev_t. */
export function splitDev(dev: bigint): { major: number; minor: number } {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn))
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn))
  return { major, minor }
}

/**
 * One read of /proc/locks for both answers below (a refresh needs both; the file can be long on a busy
 * machine). `liveness`: 'live' when some process holds a lock on the file (device + inode), 'idle'
 * when none does. Some file systems (btrfs subvolumes, overlays) report a different device in stat than
 * in /proc/locks, so an inode-only match also counts (a false 'live' only delays 'stale'). `holder`:
 * who holds it, as a stable key ('in-process', the holder pids '4242' or '4242,5151', '' for nobody);
 * a new key means another agent process. Null when /proc/locks cannot be read.
 */
export async function lockState(
  file: { dev: bigint; ino: bigint },
  procLocksPath = '/proc/locks'
): Promise<LockState | null> {
  if (isHeldInProcess(file)) return { liveness: 'live', holder: 'in-process', pids: [] }
  let text: string
  try {
    // Synchronous: procfs is generated in memory and never waits on a disk, while an async read queues
    // behind DuckDB's file work in libuv's thread pool (milliseconds per refresh on a busy store).
    text = readFileSync(procLocksPath, 'utf8')
  } catch {
    return null
  }
  const { major, minor } = splitDev(file.dev)
  // Only a write lock is an agent: a read-only open (a script, DuckDB's CLI with -readonly, Perspt's
  // dashboard on its own) takes a read lock and must not bring a crashed session back to "running".
  const sameInode = parseProcLocks(text).filter((e) => e.inode === file.ino && e.write)
  const pids = new Set<number>()
  for (const e of sameInode) if (e.pid !== null) pids.add(e.pid)
  const exact = sameInode.some((e) => e.major === major && e.minor === minor)
  const sorted = [...pids].sort((a, b) => a - b)
  return { liveness: exact || sameInode.length > 0 ? 'live' : 'idle', holder: sorted.join(','), pids: sorted }
}

export interface LockState {
  liveness: StoreLiveness
  holder: string
  /** The holders' process ids (none for an in-process holder or locks that show no pid). */
  pids: number[]
}

/** How long a live answer is reused while every holder process it named is still alive. */
export const LOCKS_REUSE_MS = 2_000

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, it is only another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * lockState for one store, refreshed many times a second while an agent writes. Reading /proc/locks is
 * not free: the kernel waits for an RCU grace period to list the locks (5–15 ms per read measured
 * here, stalling other processes' lock calls meanwhile). So a live answer is reused for up to
 * LOCKS_REUSE_MS while every holder it named is still a running process; a holder that died (kill -9)
 * or an idle answer is read again at once, so a crash is seen at the next refresh.
 */
export class LockProbe {
  /** Reads of /proc/locks made (tests, diagnostics). */
  reads = 0
  private last: { at: number; key: string; state: LockState } | null = null

  constructor(
    private readonly procLocksPath = '/proc/locks',
    private readonly now: () => number = Date.now
  ) {}

  async state(file: { dev: bigint; ino: bigint }): Promise<LockState | null> {
    if (isHeldInProcess(file)) return { liveness: 'live', holder: 'in-process', pids: [] }
    const key = `${file.dev}:${file.ino}`
    const last = this.last
    if (last && last.key === key && last.state.liveness === 'live' && last.state.pids.length > 0 && this.now() - last.at < LOCKS_REUSE_MS && last.state.pids.every(alive)) {
      return last.state
    }
    this.reads++
    const state = await lockState(file, this.procLocksPath)
    this.last = state ? { at: this.now(), key, state } : null
    return state
  }
}

/** lockState's liveness alone. */
export async function lockLiveness(file: { dev: bigint; ino: bigint }, procLocksPath = '/proc/locks'): Promise<StoreLiveness | null> {
  return (await lockState(file, procLocksPath))?.liveness ?? null
}

/** Without /proc/locks, recent writes are the only hint: files touched within `windowMs` count as live. */
export const RECENT_WRITE_WINDOW_MS = 10_000

export function recentWriteLiveness(lastWriteMs: number, now: number, windowMs = RECENT_WRITE_WINDOW_MS): StoreLiveness {
  return now - lastWriteMs <= windowMs ? 'live' : 'unknown'
}
