// Lock-free snapshots of a Perspt store: copy `perspt.db` (+ `perspt.db.wal`) into a private folder
// and let readers open the copy. DuckDB refuses any open, even read-only, while the agent holds the
// file, and an agent that starts while we hold it would panic (spec §2.3–2.5), so the user's file is
// only ever stat'ed and read as bytes.
import { constants } from 'node:fs'
import { copyFile, link, mkdir, rm, stat } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { join } from 'node:path'

export interface SnapshotResult {
  /** True when a new copy was made (the source changed since the previous refresh). */
  changed: boolean
  /** The copy to open read-only; valid until the next changed refresh or dispose(). */
  dbPath: string
}

/** The source kept changing while we copied it; try again at the next poll. */
export class SnapshotBusyError extends Error {
  override readonly name = 'SnapshotBusyError'
}

interface FileSig {
  dev: bigint
  ino: bigint
  size: bigint
  mtimeNs: bigint
  ctimeNs: bigint
}

interface Sig {
  db: FileSig
  wal: FileSig | null
}

interface Snapshot {
  dir: string
  dbPath: string
  sig: Sig
}

const ATTEMPTS = 6
const RETRY_DELAY_MS = 10

function fileSig(s: BigIntStats): FileSig {
  return { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs }
}

function sameFile(a: FileSig | null, b: FileSig | null): boolean {
  if (a === null || b === null) return a === b
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs
}

const sameSig = (a: Sig, b: Sig): boolean => sameFile(a.db, b.db) && sameFile(a.wal, b.wal)

/**
 * Whether a copy made between stats `before` and `after` is consistent. The .db must not have
 * changed at all (only checkpoints and bulk writes touch it). The WAL may have grown: writers only
 * append to it between checkpoints, and DuckDB replays a WAL cut at any byte up to its last complete
 * commit (measured: 120 random cuts, all consistent), so a copy of a growing WAL is a valid prefix.
 */
function consistentCopy(before: Sig, after: Sig): boolean {
  if (!sameFile(before.db, after.db)) return false
  if (before.wal === null) return true
  return after.wal !== null && before.wal.dev === after.wal.dev && before.wal.ino === after.wal.ino && after.wal.size >= before.wal.size
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class StoreSnapshotter {
  private readonly sourcePath: string
  private readonly tmpRoot: string
  private current: Snapshot | null = null
  /** Earlier copies not yet deleted (Windows refuses to delete a file a reader still has open). */
  private leftovers: string[] = []
  private counter = 0
  private chain: Promise<unknown> = Promise.resolve()
  private disposed = false
  /** How the last changed refresh got its base file: for tests and diagnostics. */
  lastBase: 'copied' | 'reused' | null = null

  constructor(opts: { sourcePath: string; tmpRoot: string }) {
    this.sourcePath = opts.sourcePath
    this.tmpRoot = opts.tmpRoot
  }

  /**
   * Copies the store when its .db or .wal changed (size, mtime, ctime or inode), else returns the
   * current copy. `full` forces a fresh copy of both files (after a copy failed to open).
   * Throws the fs error when the source cannot be read, SnapshotBusyError when it never held still.
   */
  refresh(opts: { full?: boolean } = {}): Promise<SnapshotResult> {
    const run = this.chain.then(() => this.doRefresh(opts.full === true))
    this.chain = run.catch(() => undefined)
    return run
  }

  async dispose(): Promise<void> {
    this.disposed = true
    await this.chain
    const dirs = [...this.leftovers, ...(this.current ? [this.current.dir] : [])]
    this.current = null
    this.leftovers = []
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }).catch(() => undefined)))
  }

  private async stat(): Promise<Sig> {
    const db = fileSig(await stat(this.sourcePath, { bigint: true }))
    let wal: FileSig | null = null
    try {
      wal = fileSig(await stat(`${this.sourcePath}.wal`, { bigint: true }))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    return { db, wal }
  }

  private async doRefresh(full: boolean): Promise<SnapshotResult> {
    if (this.disposed) throw new Error('Snapshotter disposed')
    let before = await this.stat()
    if (!full && this.current && sameSig(before, this.current.sig)) {
      return { changed: false, dbPath: this.current.dbPath }
    }
    await mkdir(this.tmpRoot, { recursive: true })
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // A fresh folder per copy: a reader may still have the previous copy open.
      const dir = join(this.tmpRoot, `snap-${process.pid}-${++this.counter}`)
      const dbPath = join(dir, 'perspt.db')
      try {
        await mkdir(dir, { recursive: true })
        const base = await this.copyBase(before, dbPath, full)
        if (before.wal) await copyFile(`${this.sourcePath}.wal`, `${dbPath}.wal`)
        const after = await this.stat()
        if (consistentCopy(before, after)) {
          if (this.current) this.leftovers.push(this.current.dir)
          // Remember `before`: if the WAL grew meanwhile, the next refresh copies again.
          this.current = { dir, dbPath, sig: before }
          this.lastBase = base
          await this.removeLeftovers()
          return { changed: true, dbPath }
        }
        before = after
      } catch (err) {
        // The WAL vanishes at a checkpoint; a file may be replaced mid-copy: try again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === ATTEMPTS - 1) {
          await rm(dir, { recursive: true, force: true }).catch(() => undefined)
          throw err
        }
        before = await this.stat()
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      await sleep(RETRY_DELAY_MS * (attempt + 1))
    }
    throw new SnapshotBusyError(`${this.sourcePath} kept changing while it was being copied`)
  }

  /**
   * DuckDB only rewrites the .db file at a checkpoint (or a bulk write), which changes its stat;
   * between those only the WAL grows. A read-only open never modifies the copied .db (measured), so
   * while the source .db is unchanged the previous copy's bytes are still exact: hard-link it.
   */
  private async copyBase(before: Sig, dbPath: string, full: boolean): Promise<'copied' | 'reused'> {
    if (!full && this.current && sameFile(before.db, this.current.sig.db)) {
      try {
        await link(this.current.dbPath, dbPath)
        return 'reused'
      } catch {
        // Links may be unsupported (some file systems); fall through to a real copy.
      }
    }
    await copyFile(this.sourcePath, dbPath, constants.COPYFILE_FICLONE)
    return 'copied'
  }

  private async removeLeftovers(): Promise<void> {
    const remaining: string[] = []
    for (const dir of this.leftovers) {
      try {
        await rm(dir, { recursive: true, force: true })
      } catch {
        remaining.push(dir)
      }
    }
    this.leftovers = remaining
  }
}
