// Lock-free snapshots of a Perspt store: copy `perspt.db` (+ `perspt.db.wal`) into a private folder
// and let readers open the copy. DuckDB refuses any open, even read-only, while the agent holds the
// file, and an agent that starts while we hold it would panic (spec §2.3–2.5), so the user's file is
// only ever stat'ed and read as bytes.
import { constants } from 'node:fs'
import { copyFile, link, mkdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { dirname, join } from 'node:path'
import { baseInPlace, buildBase, fingerprint, foldInPlace, lastCommitEnd, mayChangeCatalog, readRange, rebase, scanCommitEnd, tableChanges, WAL_HEAD } from './wal-tail'
import type { TableChanges, TailBase } from './wal-tail'

export interface SnapshotResult {
  /** True when a new copy was made (the source changed since the previous refresh). */
  changed: boolean
  /** The copy to open read-only; valid until the next changed refresh or dispose(). */
  dbPath: string
  /**
   * True when the source is the same file as at the previous snapshot and only grew (same .db, same
   * WAL inode, not shrunk): rows read from the previous snapshot are still rows of this one. False
   * after a checkpoint, a replaced / truncated / deleted / moved file, or a first snapshot.
   */
  continuous: boolean
  /**
   * The earlier snapshot (its dbPath) whose catalog this one is known to share: a tail snapshot whose
   * new WAL bytes since that one only change rows (no CREATE / ALTER / DROP). Null when unknown.
   */
  sameCatalogAs: string | null
  /**
   * With `sameCatalogAs`: the tables whose rows changed since that snapshot, and how (read from the
   * WAL's new bytes). Null when unknown (then any table may have changed).
   */
  changes: TableChanges | null
}

const NO_CHANGES: TableChanges = new Map()

/** The source kept changing while we copied it; try again at the next poll. */
export class SnapshotBusyError extends Error {
  override readonly name = 'SnapshotBusyError'
}

/** Which file a path names: inode numbers are reused at once (DuckDB unlinks its WAL at a checkpoint and
 * the next commit creates one, often with the same number), so the birth time tells the two apart. */
export interface FileId {
  dev: bigint
  ino: bigint
  birthNs: bigint
}

export interface FileSig extends FileId {
  size: bigint
  mtimeNs: bigint
  ctimeNs: bigint
}

export interface Sig {
  db: FileSig
  wal: FileSig | null
}

interface Snapshot {
  dir: string
  dbPath: string
  sig: Sig
  /** Its .db is a byte copy of the source's .db (a tail snapshot's is the private checkpointed base). */
  raw: boolean
}

/**
 * A point in the agent's WAL that a private copy holds every transaction up to, and the agent files it
 * continues: valid while the source .db is unchanged and the WAL is the same file, not rewritten.
 */
export interface TailPosition {
  /** Bytes of the agent's WAL (from its start) whose transactions the copy holds. */
  offset: number
  /** The agent WAL's bytes just before `offset` when the copy was made: a rewritten WAL differs. */
  mark: Buffer
  db: FileSig
  wal: FileId
}

/**
 * Whether `bytes` (agent WAL bytes read from a base's offset less its mark) continue the very bytes the
 * base was built from (`mark`) with whole transactions that change rows only: what may be folded into it.
 */
function continuesRowsOnly(bytes: Buffer, mark: Buffer): boolean {
  const tail = bytes.subarray(mark.length)
  return bytes.subarray(0, mark.length).equals(mark) && lastCommitEnd(tail) === tail.length && !mayChangeCatalog(tail)
}

/** A base for tail snapshots, valid while the source .db is unchanged and the WAL is the same file. */
interface Base extends TailBase {
  db: FileSig
  wal: FileId
  /** The agent WAL's bytes just before `offset` when the base was built: a rewritten WAL differs. */
  mark: Buffer
}

export interface TailOptions {
  /** Replay only the WAL's new bytes onto a private checkpointed base (default true). */
  enabled?: boolean
  /**
   * A tail longer than this is folded into a new base in the background (default 1 MiB). Every refresh
   * replays the tail (~0.45 ms per 20 KB commit), a fold costs ~150 ms (the last row group rewritten)
   * whatever its size: halving it halves the replay and doubles the folds, the same CPU for a shorter
   * refresh.
   */
  rebaseBytes?: number
  /** How often a full copy is compared with the tail snapshot of the same bytes (default 60 s; 0 = never). */
  checkEveryMs?: number
  /**
   * A check copies the whole store and replays its whole WAL (seconds late in a long session), so its
   * cost grows with the session: the next one waits at least this many times as long as the last took
   * (default 50: at most 2 % of a core), never less than checkEveryMs.
   */
  checkSpread?: number
}

export interface TailStats {
  tail: number
  full: number
  bases: number
  /** Tails folded into a new base (by a copy of the base, or in place into the spare: `foldsInPlace`). */
  rebases: number
  foldsInPlace: number
  checks: number
  mismatches: number
  /** Why tail snapshots were turned off for this store (a mismatch or an unknown WAL format), or null. */
  disabled: string | null
  /** Live-copy checks' replays (replayedAt): made from a whole copy, or brought up to date by a fold. */
  replayedCopies: number
  replayedFolds: number
}

const MARK_BYTES = 64
const DEFAULT_CHECK_SPREAD = 50
const DEFAULT_REBASE_BYTES = 1 << 20
const DEFAULT_CHECK_MS = 60_000

const ATTEMPTS = 6
const RETRY_DELAY_MS = 10
/**
 * Kernels without fine-grained file times stamp writes with a clock that ticks every 1–10 ms, so a
 * write in the same tick as the mtime we saw leaves the stat unchanged. A .db (rewritten only at a
 * checkpoint) is trusted once its mtime is this much older than the stat (two ticks of the coarsest, 100 Hz,
 * clock), or unchanged across this long.
 */
const SETTLE_MS = 20
const SETTLE_ROUNDS = 4

function fileSig(s: BigIntStats): FileSig {
  return { dev: s.dev, ino: s.ino, birthNs: s.birthtimeNs, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs }
}

/** The signature of the file at `path` (tests compare them as the snapshotter does). */
export const statSig = async (path: string): Promise<FileSig> => fileSig(await stat(path, { bigint: true }))

const sameId = (a: FileId, b: FileId): boolean => a.dev === b.dev && a.ino === b.ino && a.birthNs === b.birthNs

function sameFile(a: FileSig | null, b: FileSig | null): boolean {
  if (a === null || b === null) return a === b
  return sameId(a, b) && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs
}

const sameSig = (a: Sig, b: Sig): boolean => sameFile(a.db, b.db) && sameFile(a.wal, b.wal)

/** `next` is `prev`'s files, only grown (see SnapshotResult.continuous). */
function continues(prev: Sig, next: Sig): boolean {
  if (!sameFile(prev.db, next.db)) return false
  if (prev.wal === null) return true
  return next.wal !== null && sameId(prev.wal, next.wal) && next.wal.size >= prev.wal.size
}

/**
 * Whether a copy made between stats `before` and `after` is consistent. The .db must not have
 * changed at all (only checkpoints and bulk writes touch it). The WAL may have grown: writers only
 * append to it between checkpoints, and DuckDB replays a WAL cut at any byte up to its last complete
 * commit (measured: 120 random cuts, all consistent), so a copy of a growing WAL is a valid prefix.
 */
export function consistentCopy(before: Sig, after: Sig): boolean {
  if (!sameFile(before.db, after.db)) return false
  if (before.wal === null) return true
  return after.wal !== null && sameId(before.wal, after.wal) && after.wal.size >= before.wal.size
}

/** The `length` bytes of `bytes` just before `end` (a base's mark: the WAL bytes before its offset). */
const markBefore = (bytes: Buffer, end: number, length: number): Buffer => Buffer.from(bytes.subarray(Math.max(0, end - length), end))

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
  /** How the last changed refresh was made: a full copy, or a tail replayed onto a private base. */
  lastMode: 'full' | 'tail' | null = null
  readonly tailStats: TailStats = { tail: 0, full: 0, bases: 0, rebases: 0, foldsInPlace: 0, checks: 0, mismatches: 0, disabled: null, replayedCopies: 0, replayedFolds: 0 }
  private readonly tail: Required<TailOptions>
  private base: Base | null = null
  /**
   * The base before the current one (an older offset). Once no snapshot the owner holds is made from
   * it, the next fold brings it up to date in place and it becomes the base: folds never copy a base,
   * so their cost does not grow with the store.
   */
  private spare: Base | null = null
  /** The snapshot copies (dbPaths) the owner has open or may reopen: a spare they share a file with is not folded. */
  private readonly holds: (() => readonly string[]) | null
  /** The base file each tail snapshot still around was made from (its .db is a hard link to it). */
  private readonly madeFrom = new Map<string, string>()
  /** The one background job building a base or folding a tail into a new one, if any. */
  private job: Promise<void> | null = null
  /**
   * The periodic check, if one runs: apart from folds, which go on meanwhile (a check late in a long
   * session takes seconds, and a tail left growing that long made every refresh meanwhile slower).
   */
  private checkJob: Promise<void> | null = null
  /** A base file the check is copying: never folded in place until the copy is done. */
  private checkReading: string | null = null
  /** A base file being copied for a live copy (see lendBase): never folded in place meanwhile. */
  private lending: string | null = null
  private lastCheck = 0
  /** The kept replay for live-copy checks (see replayedAt). */
  private replayed: Base | null = null
  /** The wait before the next check: checkEveryMs, or longer after a long check (see checkSpread). */
  private checkGapMs = 0
  private lastTailEnd = 0

  constructor(opts: { sourcePath: string; tmpRoot: string; tail?: TailOptions; holds?: () => readonly string[] }) {
    this.sourcePath = opts.sourcePath
    this.tmpRoot = opts.tmpRoot
    // Without a way to ask, every spare counts as held: folds copy the base.
    this.holds = opts.holds ?? null
    this.tail = {
      enabled: opts.tail?.enabled ?? true,
      rebaseBytes: opts.tail?.rebaseBytes ?? DEFAULT_REBASE_BYTES,
      checkEveryMs: opts.tail?.checkEveryMs ?? DEFAULT_CHECK_MS,
      checkSpread: opts.tail?.checkSpread ?? DEFAULT_CHECK_SPREAD
    }
  }

  /** Whether a background job (a base build, a fold, a check) is running. */
  busy(): boolean {
    return this.job !== null || this.checkJob !== null
  }

  /** Resolves when no background job runs (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.job || this.checkJob) await (this.job ?? this.checkJob)
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
    await this.settled()
    const dirs = [...this.leftovers, ...[this.current, this.base, this.spare, this.replayed].flatMap((x) => (x ? [x.dir] : []))]
    this.replayed = null
    this.current = null
    this.base = null
    this.spare = null
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

  /** A stat whose .db mtime can be trusted to change at the next write (see SETTLE_MS), after at most ~80 ms. */
  private async settledStat(): Promise<Sig> {
    let sig = await this.stat()
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      if (Date.now() - Number(sig.db.mtimeNs / 1_000_000n) >= SETTLE_MS) return sig
      await sleep(SETTLE_MS)
      const next = await this.stat()
      if (sameFile(next.db, sig.db)) return next
      sig = next
    }
    return sig
  }

  private async doRefresh(full: boolean): Promise<SnapshotResult> {
    if (this.disposed) throw new Error('Snapshotter disposed')
    let before = await this.settledStat()
    if (!full && this.current && sameSig(before, this.current.sig)) {
      return { changed: false, dbPath: this.current.dbPath, continuous: true, sameCatalogAs: this.current.dbPath, changes: NO_CHANGES }
    }
    await mkdir(this.tmpRoot, { recursive: true })
    if (full) this.dropBase()
    else if (this.base && this.tailFits(this.base, before)) {
      const viaTail = await this.tailRefresh(this.base, before)
      if (viaTail) return viaTail
    }
    const prev = this.current?.sig ?? null
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
          this.current = { dir, dbPath, sig: before, raw: true }
          this.lastBase = base
          this.lastMode = 'full'
          this.tailStats.full++
          await this.removeLeftovers()
          if (this.base && !this.tailFits(this.base, before)) this.dropBase()
          if (!this.base && before.wal) await this.startBaseBuild(dbPath, before)
          return { changed: true, dbPath, continuous: prev !== null && continues(prev, before), sameCatalogAs: null, changes: null }
        }
        before = sameFile(after.db, before.db) ? after : await this.settledStat()
      } catch (err) {
        // The WAL vanishes at a checkpoint; a file may be replaced mid-copy: try again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === ATTEMPTS - 1) {
          await rm(dir, { recursive: true, force: true }).catch(() => undefined)
          throw err
        }
        before = await this.settledStat()
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      await sleep(RETRY_DELAY_MS * (attempt + 1))
    }
    throw new SnapshotBusyError(`${this.sourcePath} kept changing while it was being copied`)
  }

  /** The base still describes the source: same .db, same WAL file, not shrunk below what it holds. */
  private tailFits(base: Base, sig: Sig): boolean {
    return (
      this.tail.enabled &&
      this.tailStats.disabled === null &&
      sameFile(sig.db, base.db) &&
      sig.wal !== null &&
      sameId(sig.wal, base.wal) &&
      sig.wal.size >= BigInt(base.offset)
    )
  }

  private dropBase(): void {
    this.dropSpare()
    if (!this.base) return
    this.leftovers.push(this.base.dir)
    this.base = null
  }

  private dropSpare(): void {
    if (!this.spare) return
    this.leftovers.push(this.spare.dir)
    this.spare = null
  }

  /**
   * No snapshot the owner holds was made from the spare's file. Held copies may already be deleted
   * (a copy is removed at the next refresh, while its reader still has it open), so this goes by what
   * each snapshot was made from, not by the files.
   */
  private spareIsFree(spare: Base): boolean {
    if (!this.holds) return false
    const held = new Set(this.holds())
    for (const path of this.madeFrom.keys()) if (!held.has(path) && path !== this.current?.dbPath) this.madeFrom.delete(path)
    for (const path of held) if (this.madeFrom.get(path) === spare.dbPath) return false
    return true
  }

  /**
   * A snapshot made of the base (hard-linked) and a private WAL of the agent WAL's head plus its bytes
   * from the base's offset to the end of the last complete transaction. Null when anything looks off
   * (the caller then makes a full copy).
   */
  private async tailRefresh(base: Base, before: Sig): Promise<SnapshotResult | null> {
    const walPath = `${this.sourcePath}.wal`
    const size = Number(before.wal!.size)
    const markAt = base.offset - base.mark.length
    let bytes: Buffer
    try {
      bytes = await readRange(walPath, markAt, size - markAt)
    } catch {
      return null
    }
    if (!bytes.subarray(0, base.mark.length).equals(base.mark)) {
      // The WAL was rewritten in place (same inode): the base no longer continues it.
      this.dropBase()
      return null
    }
    const tail = bytes.subarray(base.mark.length)
    const end = lastCommitEnd(tail)
    if (end === null) {
      this.disableTail('the WAL is not framed as DuckDB 1.5 frames it')
      return null
    }
    if (mayChangeCatalog(tail.subarray(0, end))) {
      // DuckDB 1.5 fails to replay an ALTER onto the checkpointed base ("Failure while replaying WAL
      // file … GetDefaultDatabase"): a CREATE / ALTER / DROP since the base means a full copy and a
      // new base built from it (its checkpoint holds the new catalog).
      this.dropBase()
      return null
    }
    const after = await this.stat()
    // A checkpoint rewrites the .db; a replaced WAL has another inode; either way the bytes may be mixed.
    if (!sameFile(before.db, after.db) || !after.wal || !sameId(after.wal, before.wal!) || after.wal.size < before.wal!.size) return null
    const prev = this.current
    if (prev && this.lastMode === 'tail' && this.currentBase === base.dir && this.lastTailEnd === base.offset + end) {
      // Only a partial transaction was added: the current snapshot already holds every commit.
      prev.sig = before
      return { changed: false, dbPath: prev.dbPath, continuous: true, sameCatalogAs: prev.dbPath, changes: NO_CHANGES }
    }
    const dir = join(this.tmpRoot, `snap-${process.pid}-${++this.counter}`)
    const dbPath = join(dir, 'perspt.db')
    const wal = Buffer.concat([WAL_HEAD, tail.subarray(0, end)])
    try {
      await mkdir(dir, { recursive: true })
      try {
        await link(base.dbPath, dbPath)
      } catch {
        await copyFile(base.dbPath, dbPath)
      }
      await writeFile(`${dbPath}.wal`, wal)
    } catch {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      return null
    }
    const continuous = prev !== null && continues(prev.sig, before)
    // The previous tail snapshot of this WAL ended at lastTailEnd (folds keep offsets): only the bytes
    // after it can have changed the catalog.
    const since = this.lastTailEnd - base.offset
    const sameCatalogAs =
      prev !== null && continuous && this.lastMode === 'tail' && since >= 0 && since <= end && !mayChangeCatalog(tail.subarray(since, end)) ? prev.dbPath : null
    const changes = sameCatalogAs !== null ? tableChanges(tail.subarray(since, end)) : null
    if (prev) this.leftovers.push(prev.dir)
    this.current = { dir, dbPath, sig: before, raw: false }
    this.madeFrom.set(dbPath, base.dbPath)
    this.currentBase = base.dir
    this.lastTailEnd = base.offset + end
    this.lastMode = 'tail'
    this.lastBase = 'reused'
    this.tailStats.tail++
    await this.removeLeftovers()
    // A job may have swapped the base while this refresh ran: fold or check only the current one.
    const result: SnapshotResult = { changed: true, dbPath, continuous, sameCatalogAs, changes }
    if (this.base !== base) return result
    if (!this.job && end >= this.tail.rebaseBytes) {
      const to = base.offset + end
      const spare = this.spare
      // While the check copies the spare, the fold waits (copying the base instead costs the whole store).
      if (spare && (spare.dbPath === this.checkReading || spare.dbPath === this.lending)) return result
      if (spare && this.spareIsFree(spare)) this.startJob('folding a tail in place', () => this.foldSpare(spare, base, to))
      else {
        this.startJob('rebase', async () => {
          const next = await rebase(base, join(this.tmpRoot, `base-${process.pid}-${++this.counter}`), wal, to)
          if (this.base !== base || this.disposed) {
            await rm(next.dir, { recursive: true, force: true })
            return
          }
          this.promote({ ...next, db: base.db, wal: base.wal, mark: markBefore(bytes, base.mark.length + end, MARK_BYTES) })
        })
      }
    }
    if (!this.checkJob && this.tail.checkEveryMs > 0 && Date.now() - this.lastCheck >= Math.max(this.tail.checkEveryMs, this.checkGapMs)) {
      await this.startCheck(base)
    }
    return result
  }

  private currentBase: string | null = null

  /** `next` becomes the base; the base it replaces becomes the spare (the spare before it is dropped). */
  private promote(next: Base): void {
    const old = this.base
    this.dropSpare()
    this.base = next
    this.spare = old
    this.tailStats.rebases++
  }

  /**
   * Brings the spare (an older offset of the same WAL) up to `to` in place: the agent WAL's bytes from
   * its offset, checked to continue the very bytes it was built from and to change rows only.
   */
  private async foldSpare(spare: Base, base: Base, to: number): Promise<void> {
    const walPath = `${this.sourcePath}.wal`
    const from = spare.offset - spare.mark.length
    const bytes = await readRange(walPath, from, to - from)
    const tail = bytes.subarray(spare.mark.length)
    const sound = bytes.length === to - from && continuesRowsOnly(bytes, spare.mark)
    // A check (or a live copy) copying the spare meanwhile keeps it as it is: the fold waits.
    if (spare.dbPath === this.checkReading || spare.dbPath === this.lending) return
    if (!sound || this.spare !== spare || this.base !== base || this.disposed) {
      if (this.spare === spare) this.dropSpare()
      return
    }
    // From here the spare's file is being rewritten: whatever happens, it is not the spare any more.
    this.spare = null
    let folded: TailBase
    try {
      folded = await foldInPlace(spare, tail, to)
    } catch (err) {
      this.leftovers.push(spare.dir)
      throw err
    }
    if (this.base !== base || this.disposed) {
      this.leftovers.push(spare.dir)
      return
    }
    this.promote({ ...folded, db: base.db, wal: base.wal, mark: markBefore(bytes, bytes.length, MARK_BYTES) })
    this.tailStats.foldsInPlace++
  }

  /** Runs `work` in the background (one job at a time); a failure only costs the optimisation. */
  private startJob(what: string, work: () => Promise<void>, slot: 'job' | 'checkJob' = 'job'): void {
    const job = work()
      .catch((err: unknown) => {
        if (!this.disposed) console.warn(`vigil: ${what} for ${this.sourcePath} failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); full copies go on`)
      })
      .finally(() => {
        if (this[slot] === job) this[slot] = null
      })
    this[slot] = job
  }

  private disableTail(why: string): void {
    if (this.tailStats.disabled === null) console.warn(`vigil: ${this.sourcePath}: ${why}; reading it by full copies from now on`)
    this.tailStats.disabled = why
    this.dropBase()
  }

  /**
   * After a full copy: hard-link its files (never modified: only read-only opens touch them) into a
   * job folder, so the next refresh may drop the copy, and build a base from them in the background.
   */
  private async startBaseBuild(dbPath: string, sig: Sig): Promise<void> {
    // An empty WAL (just re-created after a checkpoint, nothing written yet) says nothing of its format:
    // build a base at a later full copy, when it has a head.
    if (!this.tail.enabled || this.tailStats.disabled !== null || this.job || !sig.wal || sig.wal.size < BigInt(WAL_HEAD.length)) return
    const dir = join(this.tmpRoot, `base-${process.pid}-${++this.counter}`)
    const src = join(dir, 'src.db')
    try {
      await mkdir(dir, { recursive: true })
      await link(dbPath, src)
      await link(`${dbPath}.wal`, `${src}.wal`)
    } catch {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      return
    }
    const walSize = Number(sig.wal.size)
    this.startJob('building a tail base', async () => {
      const built = await buildBase(join(dir, 'b'), src, walSize)
      if (built === null) {
        await rm(dir, { recursive: true, force: true })
        this.disableTail('its WAL does not start as a DuckDB 1.5 WAL')
        return
      }
      const markBytes = Math.min(MARK_BYTES, built.offset)
      const mark = await readRange(`${src}.wal`, built.offset - markBytes, markBytes)
      await rm(src, { force: true })
      await rm(`${src}.wal`, { force: true })
      if (this.disposed || this.base !== null) {
        await rm(dir, { recursive: true, force: true })
        return
      }
      this.base = { ...built, dir, db: sig.db, wal: { dev: sig.wal!.dev, ino: sig.wal!.ino, birthNs: sig.wal!.birthNs }, mark }
      this.tailStats.bases++
      this.lastCheck = Date.now()
    })
  }

  /**
   * The periodic check: a full copy of the source and a tail snapshot built from the very same WAL bytes
   * must hold the same rows. Any difference turns tail snapshots off for this store.
   */
  private async startCheck(base: Base): Promise<void> {
    this.lastCheck = Date.now()
    const dir = join(this.tmpRoot, `check-${process.pid}-${++this.counter}`)
    const full = join(dir, 'full', 'perspt.db')
    const viaTail = join(dir, 'tail', 'perspt.db')
    // All of it in the background: copying the whole store must not delay the next refresh.
    this.startJob('checking tail snapshots', () => this.runCheck(base, dir, full, viaTail), 'checkJob')
  }

  private async runCheck(base: Base, dir: string, full: string, viaTail: string): Promise<void> {
    const started = performance.now()
    try {
      await mkdir(join(dir, 'full'), { recursive: true })
      await mkdir(join(dir, 'tail'), { recursive: true })
      const sig = await this.settledStat()
      await copyFile(this.sourcePath, full, constants.COPYFILE_FICLONE)
      if (sig.wal) await copyFile(`${this.sourcePath}.wal`, `${full}.wal`)
      const after = await this.stat()
      if (!consistentCopy(sig, after) || !this.tailFits(base, sig)) return
      // Folds go on during a check, so the base is copied, not linked (a fold in place rewrites a file).
      // Its file still holds the transactions up to its offset while it is the base or the untouched
      // spare (a fold clears the spare before rewriting it), and no fold starts on it until copied.
      if (this.base !== base && this.spare !== base) return
      this.checkReading = base.dbPath
      try {
        await copyFile(base.dbPath, viaTail, constants.COPYFILE_FICLONE)
      } finally {
        this.checkReading = null
      }
      // The copy's own size: the agent may have committed while the WAL was copied, and opening the
      // full copy replays all of it (a tail cut at the size stat'ed before the copy held one commit
      // less: a false mismatch that turned tail snapshots off for good).
      const walSize = (await stat(`${full}.wal`)).size
      const mark = await readRange(`${full}.wal`, base.offset - base.mark.length, base.mark.length)
      const end = await scanCommitEnd(`${full}.wal`, base.offset, walSize)
      if (!mark.equals(base.mark) || end === null) return
      // The full copy replays exactly its complete transactions: cut it there too, so both hold the same.
      const tail = await readRange(`${full}.wal`, base.offset, end - base.offset)
      await writeFile(`${viaTail}.wal`, Buffer.concat([WAL_HEAD, tail]))
      const [a, b] = [await fingerprint(full), await fingerprint(viaTail)]
      if (this.disposed) return
      this.tailStats.checks++
      if (a !== b) {
        this.tailStats.mismatches++
        this.disableTail('a tail snapshot differed from a full copy of the same bytes')
      }
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      this.checkGapMs = (performance.now() - started) * this.tail.checkSpread
      this.lastCheck = Date.now()
    }
  }

  /** Runs the periodic check now (tests): resolves when it finished. */
  async checkNow(): Promise<void> {
    await this.settled()
    const run = this.chain.then(async () => {
      if (this.base) await this.startCheck(this.base)
    })
    this.chain = run.catch(() => undefined)
    await run
    await this.settled()
  }

  /** Whether a tail base is ready (a live copy can start from it: see lendBase). */
  hasBase(): boolean {
    return this.base !== null && this.tail.enabled && this.tailStats.disabled === null
  }

  /**
   * Copies the current tail base to `dbPath` (a private file for a live copy to apply the agent WAL's
   * new transactions to) and says where in the WAL it stands; null when there is no base.
   */
  lendBase(dbPath: string): Promise<TailPosition | null> {
    const run = this.chain.then(async () => {
      const base = this.base
      if (!base || this.disposed || !this.tail.enabled || this.tailStats.disabled !== null) return null
      this.lending = base.dbPath
      try {
        await mkdir(dirname(dbPath), { recursive: true })
        await copyFile(base.dbPath, dbPath, constants.COPYFILE_FICLONE)
      } finally {
        this.lending = null
      }
      return { offset: base.offset, mark: base.mark, db: base.db, wal: base.wal }
    })
    this.chain = run.catch(() => undefined)
    return run
  }

  /**
   * The agent WAL's complete transactions after `from`: their bytes and the position after them;
   * 'same' when no transaction completed since; null when `from` no longer describes the source (a
   * checkpoint, a replaced, truncated or rewritten WAL, a new .db, bytes not framed as DuckDB 1.5's).
   */
  walSince(from: TailPosition): Promise<{ bytes: Buffer; next: TailPosition } | 'same' | null> {
    const run = this.chain.then(async () => {
      if (this.disposed) return null
      const fits = (sig: Sig) => sameFile(sig.db, from.db) && sig.wal !== null && sameId(sig.wal, from.wal) && sig.wal.size >= BigInt(from.offset)
      const before = await this.settledStat()
      if (!fits(before)) return null
      const size = Number(before.wal!.size)
      if (size === from.offset) return 'same'
      const markAt = from.offset - from.mark.length
      let bytes: Buffer
      try {
        bytes = await readRange(`${this.sourcePath}.wal`, markAt, size - markAt)
      } catch {
        return null
      }
      if (!bytes.subarray(0, from.mark.length).equals(from.mark)) return null
      const tail = bytes.subarray(from.mark.length)
      const end = lastCommitEnd(tail)
      if (end === null) return null
      // The bytes are the WAL's only if the files did not change under the read.
      if (!fits(await this.stat())) return null
      if (end === 0) return 'same'
      return { bytes: tail.subarray(0, end), next: { ...from, offset: from.offset + end, mark: markBefore(bytes, from.mark.length + end, MARK_BYTES) } }
    })
    this.chain = run.catch(() => undefined)
    return run
  }

  /**
   * The source as DuckDB itself replays it up to `at` (a transaction's end), for comparing with a live
   * copy at that position; null when the source moved past it. Kept between calls, checkpointed: the
   * next call folds in only the agent WAL's bytes since (checked to continue the bytes it holds, rows
   * only), so a check costs the WAL written since the last one, not the whole WAL (~27 ms per MiB: 13 s
   * at 500 MiB). The first call, and one after the agent checkpointed or the WAL was rewritten, copies
   * the source whole. The path is valid until the next call or dispose().
   */
  async replayedAt(at: TailPosition): Promise<string | null> {
    const kept = this.replayed
    this.replayed = null
    if (kept && !this.disposed && sameFile(kept.db, at.db) && sameId(kept.wal, at.wal) && kept.offset <= at.offset) {
      try {
        const from = kept.offset - kept.mark.length
        const bytes = await readRange(`${this.sourcePath}.wal`, from, at.offset - from)
        const tail = bytes.subarray(kept.mark.length)
        const sound = bytes.length === at.offset - from && continuesRowsOnly(bytes, kept.mark) && bytes.subarray(bytes.length - at.mark.length).equals(at.mark)
        if (sound) {
          const now = tail.length === 0 ? kept : { ...kept, ...(await foldInPlace(kept, tail, at.offset)), mark: at.mark }
          if (this.disposed) throw new Error('disposed')
          this.tailStats.replayedFolds++
          this.replayed = now
          return now.dbPath
        }
      } catch {
        // A fold that failed half-way leaves the file unknown: start over from a whole copy.
      }
    }
    if (kept) await rm(kept.dir, { recursive: true, force: true }).catch(() => undefined)
    if (this.disposed) return null
    const dir = join(this.tmpRoot, `replayed-${process.pid}-${++this.counter}`)
    try {
      const full = await this.copyAt(at, dir)
      if (full === null || this.disposed) throw new Error('moved on')
      const base = await baseInPlace(dir, full, at.offset)
      this.tailStats.replayedCopies++
      this.replayed = { ...base, db: at.db, wal: at.wal, mark: at.mark }
      return base.dbPath
    } catch (err) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      if (err instanceof Error && err.message === 'moved on') return null
      throw err
    }
  }

  /**
   * A private full copy of the source cut at `at` (its .db and its WAL's first `at.offset` bytes) in
   * `dir`, for comparing with a live copy at that position; null when the source moved past it.
   */
  async copyAt(at: TailPosition, dir: string): Promise<string | null> {
    // Not in the refresh queue: it reads only the source and writes only `dir`, and a whole-store copy
    // there would hold the next refresh back.
    const fits = (sig: Sig) => sameFile(sig.db, at.db) && sig.wal !== null && sameId(sig.wal, at.wal) && sig.wal.size >= BigInt(at.offset)
    if (this.disposed || !fits(await this.settledStat())) return null
    const dbPath = join(dir, 'perspt.db')
    await mkdir(dir, { recursive: true })
    await copyFile(this.sourcePath, dbPath, constants.COPYFILE_FICLONE)
    await copyFile(`${this.sourcePath}.wal`, `${dbPath}.wal`)
    if (!fits(await this.stat())) return null
    const copied = await stat(`${dbPath}.wal`)
    if (copied.size < at.offset) return null
    await truncate(`${dbPath}.wal`, at.offset)
    const mark = await readRange(`${dbPath}.wal`, at.offset - at.mark.length, at.mark.length)
    return mark.equals(at.mark) ? dbPath : null
  }

  /**
   * DuckDB only rewrites the .db file at a checkpoint (or a bulk write), which changes its stat;
   * between those only the WAL grows. A read-only open never modifies the copied .db (measured), so
   * while the source .db is unchanged the previous copy's bytes are still exact: hard-link it.
   */
  private async copyBase(before: Sig, dbPath: string, full: boolean): Promise<'copied' | 'reused'> {
    // Never a tail snapshot's .db: it already holds the WAL's transactions, which would apply twice.
    if (!full && this.current?.raw === true && sameFile(before.db, this.current.sig.db)) {
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
