// One watched Perspt store: snapshots it lock-free, reads the session list from the copy, and turns
// every failure into a status the UI can show. Never opens the user's file, never throws from refresh().
import { watch } from 'node:fs'
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises'
import type { BigIntStats, FSWatcher } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { ApiError } from '../../shared/api/errors'
import type { SessionRow } from '../../shared/model/perspt'
import type { SourceProblem, StoreLiveness, StoreSourceInfo, StoreState } from '../../shared/model/sources'
import { LockProbe, recentWriteLiveness } from './liveness'
import { duckdbProblemCode, fsProblemCode, headerProblemCode, sniffFormat, storeProblem } from './problems'
import type { StoreProblemCode } from './problems'
import { StatementCache } from './statement-cache'
import { LiveCopy } from './live-copy'
import { SnapshotBusyError, StoreSnapshotter } from './snapshot'
import type { TailPosition, TailStats } from './snapshot'
import { fingerprint } from './wal-tail'
import type { RowOp, TableChanges } from './wal-tail'
import type { ReadContext } from './read-context'
import { memoSurvives, probeSchema, readSessionList, readSessionsWithMemo } from './store-reader'
import type { SchemaProbe, SessionsMemo } from './store-reader'

/** What a store tells about itself: exactly the store-specific part of the source the UI shows. */
export type PersptStoreStatus = Pick<StoreSourceInfo, 'state' | 'liveness' | 'problem' | 'version' | 'refreshedAt' | 'tableCount' | 'reading'>

/**
 * Options of the in-memory DuckDB that reads a store's snapshot copies (each ATTACHed read-only): no
 * extension loading; no file outside the store's private folder (set once that folder exists, see
 * hostFor); no network.
 */
const HOST_OPTIONS: Record<string, string> = {
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  // One thread: its queries are small (a version's new rows, a session's page), and a second thread
  // cost more in hand-offs than it saved. Measured at 30 commits/s (bench/perspt-pace): commit → DOM
  // p95 354 → 267 ms at the same CPU; the 154 MB store's first rows 258 → 182 ms.
  threads: '1',
  // DuckDB's default is 80 % of RAM; a snapshot copy is read by a few small queries at a time.
  memory_limit: '256MB',
  // The live copy (live-copy.ts) keeps the agent's row ids: never vacuumed, checkpointed only when
  // Vigil says so (LIVE_CHECKPOINT_BYTES), and not at all when detached (it is thrown away then).
  max_vacuum_tasks: '0',
  checkpoint_threshold: '1TB'
}

/**
 * Applied WAL bytes a live copy holds before it checkpoints (its rows then go to its file, its own WAL
 * is emptied). Rarely: measured on DuckDB 1.5.5, every checkpoint of a table with a PRIMARY KEY makes
 * each later commit that appends to it ~1 ms slower (1.2 → 6.9 ms after 6 checkpoints, re-attaching
 * does not help), and Perspt's tables have one. At 30 commits/s of 20 KB that is one every ~4 minutes;
 * until then the rows are in DuckDB's memory (spilled to the private folder past its memory limit).
 */
const LIVE_CHECKPOINT_BYTES = 128 << 20
/** How often a live copy is compared with DuckDB's own replay of the same WAL bytes (and see LIVE_CHECK_CPU_SHARE). */
const LIVE_CHECK_MS = 60_000
/**
 * A comparison costs the WAL written since the last one (replayed) and a hash of every row of both
 * copies (~1.4 s of CPU 20 s apart at 30 commits/s of 20 KB; the first, a whole copy, 6.7 s at a 270 MiB
 * WAL): the next one waits until the last one's CPU is at most this share of a core (1 %: a check every
 * ~2.5 minutes at that pace; at 2 % the checks were ~0.02 of the 0.27 of a core over 10 minutes).
 * Counted as the process's CPU while it ran (an upper bound: refreshes run meanwhile).
 */
const LIVE_CHECK_CPU_SHARE = 0.01
/** Live copies that failed to apply or to be made before they are turned off for the store. */
const LIVE_MAX_FAILURES = 3

/** How the store's versions were read through live copies (diagnostics, benchmarks, tests). */
export interface LiveStats {
  /** Versions read from a live copy. */
  versions: number
  copies: number
  drops: number
  checkpoints: number
  checks: number
  mismatches: number
  /** Why live copies are off for this store, or null. */
  off: string | null
}

/** A read of the current snapshot, with what it may know of the versions before (see ReadContext). */
export type StoreRead<T> = (con: DuckDBConnection, probe: SchemaProbe, ctx: ReadContext) => Promise<T>

/** A snapshot copy's database name in the host (ATTACH … AS). */
const aliasOf = (n: number) => `snapshot_${n}`

class StoreProblemError extends Error {
  constructor(
    readonly code: StoreProblemCode,
    readonly detail?: string
  ) {
    super(code)
  }
}

/**
 * Vigil's own snapshot copy, kept attached read-only between snapshots so views answer quickly. One
 * in-memory DuckDB per store attaches each copy in turn (`alias`, the connection's default database):
 * cheaper than a new instance per snapshot (its start and its close), and DuckDB 1.5 replays an ALTER
 * of a table with a nextval() default (Perspt's node_states migration) only into an attached database.
 */
interface OpenCopy {
  dbPath: string
  alias: string
  con: DuckDBConnection
  probe: SchemaProbe
}

/** Results kept per snapshot version; a view polled on every change re-reads only when data changed. */
const MAX_CACHED_QUERIES = 200
/**
 * And at most this many bytes of them (estimated, see approxBytes): 200 parts of a 1 MiB prompt would
 * otherwise hold 400 MB. The oldest results go first; a single result bigger than this is not kept.
 */
export const MAX_CACHED_BYTES = 64 * 1024 * 1024

/** A rough size in memory of a query result (JS strings 2 bytes a character), in one bounded walk. */
export function approxBytes(value: unknown): number {
  let bytes = 0
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'string') bytes += 16 + 2 * v.length
    else if (typeof v === 'number' || typeof v === 'bigint') bytes += 8
    else if (v === null || typeof v !== 'object') bytes += 4
    else if (Array.isArray(v)) {
      bytes += 16 + 8 * v.length
      for (const x of v) stack.push(x)
    } else if (v instanceof Map || v instanceof Set) {
      bytes += 32
      for (const x of v instanceof Map ? [...v.keys(), ...v.values()] : v) stack.push(x)
    } else {
      // for…in, not Object.entries: no array per object (results are plain objects, no inherited keys).
      const o = v as Record<string, unknown>
      for (const k in o) {
        bytes += 16 + 2 * k.length
        stack.push(o[k])
      }
    }
  }
  return bytes
}

interface ReadResult {
  rows: SessionRow[]
  tableCount: number
  memo: SessionsMemo | null
  /** Sessions with rows added since the memo; null: unknown (no memo). */
  changed: ReadonlySet<string> | null
}

/** More changed sessions than this are pushed as "any may have changed" (the push stays small). */
const MAX_NAMED_CHANGES = 200

/**
 * The sessions that changed between two lists: those with new rows, plus any whose list row differs
 * (a status, a budget, liveness) or that appeared or went. Durations are left out: a running session's
 * grows with the clock alone. Null when it cannot be told (no earlier list, no row delta) or is too long.
 */
export function changedBetween(
  before: readonly SessionRow[] | null,
  after: readonly SessionRow[],
  withNewRows: ReadonlySet<string> | null
): string[] | null {
  if (before === null || withNewRows === null) return null
  const key = (r: SessionRow) => JSON.stringify({ ...r, durationMs: null })
  const old = new Map(before.map((r) => [r.sessionId, key(r)]))
  const out = new Set(withNewRows)
  for (const r of after) {
    if (old.get(r.sessionId) !== key(r)) out.add(r.sessionId)
    old.delete(r.sessionId)
  }
  for (const sid of old.keys()) out.add(sid)
  return out.size > MAX_NAMED_CHANGES ? null : [...out]
}

/** Versions whose table changes are remembered (a cached result older than that is read again). */
const MAX_LOGGED_VERSIONS = 64

/** A refresh still running after this long is abandoned (see refreshWithDeadline). */
const REFRESH_DEADLINE_MS = 15_000
/**
 * Watch-driven refreshes start at most this often (a busy agent writes many times per commit), and
 * never sooner than the process's CPU since the last one started divided by WATCH_CPU_SHARE: reading
 * the store and the views' reads of each new version then take under a quarter of a core however fast
 * the agent commits (latest wins, no backlog). CPU time, not wall time: on a loaded machine a refresh
 * waits for a core far longer than it computes, and that wait costs nothing. The process's CPU, not the
 * refresh's alone: the views re-read every version after it is published, and at 30 commits/s of 20 KB
 * those reads cost about as much as the refresh (measured). Under a quarter: upkeep, background work
 * (not paced, see wake()), the live copy's checks (LIVE_CHECK_CPU_SHARE) and the first open of a long
 * WAL come on top. Measured at 30 commits/s of 20 KB: 0.22 gives 0.218–0.222 of a core in steady minutes
 * (0.24 gave 0.239, and 0.27 over 10 minutes with the rest).
 */
const WATCH_MIN_GAP_MS = 100
const WATCH_CPU_SHARE = 0.22
/** While a refresh waits its turn, how often it looks at the CPU again (the views' reads run meanwhile). */
const WATCH_RECHECK_MS = 25
/** However costly refreshes get, a change is looked at within this long. */
const WATCH_MAX_GAP_MS = 2_000

export class PersptStore {
  private readonly path: string
  private readonly tmpRoot: string
  private readonly now: () => number
  private dir: string | null = null
  private snapshotter: StoreSnapshotter | null = null
  private chain: Promise<unknown> = Promise.resolve()
  private closed = false

  private state: StoreState = 'loading'
  private liveness: StoreLiveness = 'unknown'
  private problem: SourceProblem | null = null
  private version = 0
  private refreshedAt: string | null = null
  /** Where a refresh is now (diagnostics: a refresh that seems stuck says where). */
  private stageName = 'idle'
  private get stage(): string {
    return this.stageName
  }
  private set stage(next: string) {
    const t = performance.now()
    if (this.stageName !== 'idle') this.timings[this.stageName] = (this.timings[this.stageName] ?? 0) + (t - this.stageStart)
    if (next === 'stat') this.timings = {}
    this.stageName = next
    this.stageStart = t
  }
  private tableCount: number | null = null
  /** The session list of the latest good snapshot, read once per version. */
  private rows: SessionRow[] | null = null
  /** The sessions the latest version changed (see changedBetween); null: any may have. */
  private changed: string[] | null = null
  /** The copy `rows` came from, and with which liveness (and lock holder) they were derived. */
  private readFrom: { dbPath: string; agentLive: boolean; holderEpoch: number } | null = null
  /**
   * Liveness per session: the lock holder changes (an agent ended, another started) bump the epoch; a
   * RUNNING session that has not changed since an earlier holder is not run by the current one, so it
   * stays stale when a new agent starts a new session in the same store.
   */
  /** The last lock holder seen (pids, or 'in-process'); null until one is seen. */
  private holderKey: string | null = null
  private holderEpoch = 0
  private readonly sessionEpochs = new Map<string, { activity: string; epoch: number }>()
  /** A copy that failed to read: not retried until the source changes again. */
  private failedCopy: string | null = null
  private openCopy: OpenCopy | null = null
  private host: { instance: DuckDBInstance; con: DuckDBConnection } | null = null
  /** Prepared statements of the views' queries on the host connection (statement-cache.ts). */
  private statements: StatementCache | null = null
  private attached = 0
  /** What the last good read computed per session; the next read only redoes sessions with new rows. */
  private memo: SessionsMemo | null = null
  private readonly queryCache = new Map<string, { value: unknown; bytes: number; tables: readonly string[] | null }>()
  /** What reads of one version share (see StoreRead); cleared with the query cache. */
  private readonly perVersion = new Map<string, unknown>()
  private cachedBytes = 0
  private cacheVersion = -1
  /** What each recent version changed since the one before (null: unknown), oldest first; see changesSince. */
  private readonly changeLog: { version: number; changes: TableChanges | null }[] = []
  private readonly deadlineMs: number
  /** Numbers refreshes; an abandoned one finds the number moved on and changes nothing. */
  private attempt = 0
  /** Snapshotters made so far (a stuck one is replaced by a new one in its own folder). */
  private snapshotters = 0
  /** The next snapshot copies both files afresh (after an abandoned refresh). */
  private forceFull = false
  /** Where the last refresh that read new data spent its time, ms per step (benchmarks, diagnostics). */
  lastTimings: Record<string, number> = {}
  private timings: Record<string, number> = {}
  private stageStart = 0

  private watcher: FSWatcher | null = null
  private readonly locks = new LockProbe()
  /** The private read-write copy new WAL transactions are applied to once a tail base exists (live-copy.ts). */
  private live: LiveCopy | null = null
  private readonly liveEnabled: boolean
  private readonly liveCheckpointBytes: number
  private liveFailures = 0
  /**
   * The last live copy dropped. The current version may have been read from it, but its file is in no
   * known state (an apply that failed half-way committed part of its rows): never opened again, even if
   * removing it failed.
   */
  private droppedLive: string | null = null
  /** Set when a refresh was abandoned while applying: the copy's state is unknown. */
  private liveDropNext = false
  private liveCheckJob: Promise<void> | null = null
  private liveCheckedAt = 0
  private liveCheckGapMs = 0
  private liveCopies = 0
  /** Wall time of upkeep done in the store's turn (private checkpoints, check fingerprints), summed: the pacing leaves it out. */
  private upkeepMs = 0
  readonly liveStats: LiveStats = { versions: 0, copies: 0, drops: 0, checkpoints: 0, checks: 0, mismatches: 0, off: null }
  private readonly onSourceChange: (() => Promise<unknown>) | null
  private readonly onListed: (() => void) | null
  private waking = false
  private wakeAgain = false
  private inWakeCall = false

  constructor(opts: {
    path: string
    tmpRoot: string
    now?: () => number
    refreshDeadlineMs?: number
    /**
     * Called (never concurrently, latest wins) when the store's folder reports a change to the store's
     * files, so the owner refreshes at once instead of at its next poll. Polling stays the fallback
     * (no inotify, network file systems, a folder that does not exist yet).
     */
    onSourceChange?: () => Promise<unknown>
    /**
     * Called when the first read has the session list but not yet its counts (rows say countsPending):
     * the owner tells the UI at once; the counted list follows as the next version.
     */
    onListed?: () => void
    /** Apply the agent WAL's new transactions to a private live copy (default true; false: snapshots only). */
    live?: boolean
    /** Applied bytes before the live copy checkpoints (default LIVE_CHECKPOINT_BYTES; tests make it small). */
    liveCheckpointBytes?: number
  }) {
    this.path = opts.path
    this.tmpRoot = opts.tmpRoot
    this.now = opts.now ?? Date.now
    this.deadlineMs = opts.refreshDeadlineMs ?? REFRESH_DEADLINE_MS
    this.onSourceChange = opts.onSourceChange ?? null
    this.onListed = opts.onListed ?? null
    this.liveEnabled = opts.live ?? true
    this.liveCheckpointBytes = opts.liveCheckpointBytes ?? LIVE_CHECKPOINT_BYTES
    if (this.onSourceChange) this.startWatch()
  }

  /** Watches the folder (not the file: a replaced or re-created file keeps being seen). */
  private startWatch(): void {
    const name = basename(this.path)
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || String(file).startsWith(name)) this.wake()
      })
      this.watcher.on('error', () => {
        this.watcher?.close()
        this.watcher = null
      })
    } catch {
      this.watcher = null
    }
  }

  /** Whether the store's folder is watched (else only polling sees changes). */
  watching(): boolean {
    return this.watcher !== null
  }

  /** Coalesces change notifications: one refresh at a time, and one more if anything changed meanwhile. */
  private wake(): void {
    if (this.closed || !this.onSourceChange) return
    if (this.waking) {
      this.wakeAgain = true
      return
    }
    this.waking = true
    void (async () => {
      try {
        do {
          this.wakeAgain = false
          const started = performance.now()
          const cpu0 = process.cpuUsage()
          const upkeep0 = this.upkeepMs
          let background = this.backgroundWork()
          this.inWakeCall = true
          const call = this.onSourceChange!()
          this.inWakeCall = false
          await call.catch(() => undefined)
          const took = performance.now() - started
          const ownCpu = process.cpuUsage(cpu0)
          const own = Math.min(took, (ownCpu.user + ownCpu.system) / 1000)
          // The next refresh waits until the process's CPU since this one started is WATCH_CPU_SHARE of the
          // time gone by: the refresh, and what its new version set off meanwhile (every open view reads it
          // again), so that reading a busy store and showing it cost about that share of a core. Checked
          // again after each short wait: those reads run while this one waits.
          // Upkeep (a private checkpoint, a check's fingerprint) is not paid back by waiting; while background
          // work (a base build, a fold, a check) runs on the other core, only the refresh's own CPU counts.
          // The wait runs even when nothing changed yet: a change that comes just after a refresh ended
          // waits its turn too (at 30 commits/s most come between refreshes, and ran unpaced).
          while (!this.closed) {
            background ||= this.backgroundWork()
            const cpu = process.cpuUsage(cpu0)
            const counted = Math.max(0, (background ? own : (cpu.user + cpu.system) / 1000) - (this.upkeepMs - upkeep0))
            const elapsed = performance.now() - started
            const rest = Math.min(WATCH_MAX_GAP_MS, Math.max(WATCH_MIN_GAP_MS, counted / WATCH_CPU_SHARE)) - elapsed
            if (rest <= 0) break
            await new Promise((r) => setTimeout(r, Math.min(rest, WATCH_RECHECK_MS)))
          }
        } while (this.wakeAgain && !this.closed)
      } finally {
        this.waking = false
      }
    })()
  }

  /** True when new data was read (a new snapshot, or a liveness change that restates sessions). Never throws. */
  refresh(): Promise<boolean> {
    // While change notifications drive refreshes, a poll in between adds only cost (see wake()).
    if (this.waking && !this.inWakeCall) return Promise.resolve(false)
    const run = this.chain.then(() => this.refreshWithDeadline())
    this.chain = run
    return run
  }

  /**
   * A file operation or a DuckDB open that never returns (a FIFO in place of the WAL, a stuck file
   * system, a native hang) must not freeze this store for good: past the deadline the refresh is
   * abandoned — its late result is ignored — and the next one starts from a fresh full copy.
   */
  private refreshWithDeadline(): Promise<boolean> {
    const attempt = ++this.attempt
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.abandon(attempt)
        resolve(false)
      }, this.deadlineMs)
      timer.unref?.()
      void this.safeRefresh(attempt).then((changed) => {
        clearTimeout(timer)
        resolve(changed)
      })
    })
  }

  private abandon(attempt: number): void {
    if (attempt !== this.attempt || this.closed) return
    const stage = this.stage
    this.attempt++
    this.stage = 'idle'
    // A snapshotter stuck in a copy keeps its queue blocked: start a new one, from a fresh full copy.
    // Stuck later (a long WAL replayed on a loaded machine), the copy is sound: a fresh one would only
    // replay it all again, and drop the tail base being built meanwhile — never catching up.
    if (stage === 'snapshot') {
      this.snapshotter = null
      this.forceFull = true
    }
    if (stage.startsWith('live')) this.liveDropNext = true
    const seconds = Math.round(this.deadlineMs / 1000)
    console.warn(`vigil: reading ${this.path} did not finish within ${seconds} s (stuck in "${stage}"); ${stage === 'snapshot' ? 'going on with a fresh copy' : 'trying again'}`)
    if (this.rows === null) this.fail('busy', `Reading it did not finish within ${seconds} s (step "${stage}").`)
  }

  /** How snapshots were made so far (full copies, tail snapshots, bases, checks): diagnostics, benchmarks. */
  snapshotStats(): TailStats | null {
    return this.snapshotter ? { ...this.snapshotter.tailStats } : null
  }

  /** Results cached for the current version and their estimated bytes (tests, diagnostics). */
  cacheStats(): { entries: number; bytes: number } {
    return { entries: this.queryCache.size, bytes: this.cachedBytes }
  }

  /** Which step a running refresh is in ('idle' between refreshes). */
  refreshStage(): string {
    return this.stage
  }

  status(): PersptStoreStatus {
    return {
      state: this.state,
      liveness: this.liveness,
      problem: this.problem,
      version: this.version,
      refreshedAt: this.refreshedAt,
      tableCount: this.tableCount,
      // Shown, not only counted: a store that keeps falling back to copies is slower to follow.
      reading: { mode: this.live ? 'live' : 'copies', fallbacks: this.liveStats.drops, liveOff: this.liveStats.off }
    }
  }

  /**
   * The tables whose rows changed between `version` and the current one (from the WAL bytes each
   * tail snapshot added); null when that is not known for every version in between (a full copy, a
   * catalog change, a version too old to be remembered).
   */
  changesSince(version: number): TableChanges | null {
    const out = new Map<string, Set<RowOp>>()
    if (version === this.version) return out
    const first = this.changeLog[0]
    if (!first || first.version > version + 1 || version > this.version) return null
    for (const entry of this.changeLog) {
      if (entry.version <= version) continue
      if (entry.changes === null) return null
      for (const [t, ops] of entry.changes) {
        let all = out.get(t)
        if (!all) out.set(t, (all = new Set()))
        for (const op of ops) all.add(op)
      }
    }
    return out
  }

  private logChanges(changes: TableChanges | null): void {
    this.changeLog.push({ version: this.version, changes })
    if (this.changeLog.length > MAX_LOGGED_VERSIONS) this.changeLog.shift()
  }

  /** The sessions whose data the current version changed since the one before; null: any may have. */
  changedSessions(): string[] | null {
    return this.changed
  }

  async listSessions(): Promise<SessionRow[]> {
    if (this.rows === null) throw this.unavailable()
    return this.rows
  }

  /** The session list with its counts: while a first read is still counting, waits for it. */
  async listCountedSessions(): Promise<SessionRow[]> {
    const rows = await this.listSessions()
    if (rows[0]?.countsPending !== true) return rows
    await this.chain.catch(() => undefined)
    return this.listSessions()
  }

  /**
   * Runs a read against the latest good snapshot (never the agent's file). Queries and refreshes take
   * turns, so a copy is never swapped under a running query. `key` names the result for the cache.
   */
  query<T>(key: string, read: StoreRead<T>, opts: { tables?: readonly string[] } = {}): Promise<T> {
    const run = this.chain.then(() => this.runQuery(key, read, opts.tables ?? null))
    this.chain = run.catch(() => undefined)
    return run
  }

  private async runQuery<T>(key: string, read: StoreRead<T>, tables: readonly string[] | null): Promise<T> {
    if (this.closed || this.readFrom === null) return Promise.reject(this.unavailable())
    if (this.cacheVersion !== this.version) {
      // A result that names the tables it read stays while no version since changed their rows.
      const since = this.changesSince(this.cacheVersion)
      for (const [k, entry] of this.queryCache) {
        if (entry.tables !== null && since !== null && !entry.tables.some((t) => since.has(t))) continue
        this.queryCache.delete(k)
        this.cachedBytes -= entry.bytes
      }
      this.perVersion.clear()
      this.cacheVersion = this.version
    }
    const hit = this.queryCache.get(key)
    if (hit) return hit.value as T
    const copy = await this.openCopyOf(this.readFrom.dbPath)
    let value: T
    try {
      // Through the statement cache of the copy read now (statement-cache.ts).
      const statements = this.statements
      statements?.use(copy.alias)
      value = await read(statements?.connection ?? copy.con, copy.probe, { perVersion: this.perVersion, version: this.version, changesSince: (v) => this.changesSince(v) })
    } catch (err) {
      if (err instanceof ApiError) throw err
      throw new ApiError('internal', `Reading ${this.path} failed: ${shortMessage(err)}`)
    }
    const bytes = approxBytes(value)
    if (bytes > MAX_CACHED_BYTES) return value
    while (this.queryCache.size >= MAX_CACHED_QUERIES || this.cachedBytes + bytes > MAX_CACHED_BYTES) {
      const [oldest, entry] = this.queryCache.entries().next().value!
      this.queryCache.delete(oldest)
      this.cachedBytes -= entry.bytes
    }
    this.queryCache.set(key, { value, bytes, tables })
    this.cachedBytes += bytes
    return value
  }

  private async openCopyOf(dbPath: string): Promise<OpenCopy> {
    if (this.openCopy?.dbPath === dbPath) return this.openCopy
    if (dbPath === this.droppedLive) {
      const why = this.problem ? ` ${this.problem.message}` : ''
      throw new ApiError('unavailable', `The Perspt store ${this.path} is not available until it is read again.${why}`)
    }
    await this.closeOpenCopy()
    let alias: string | null = null
    try {
      const { con } = await this.hostFor(dbPath)
      alias = await this.attachCopy(con, dbPath)
      this.openCopy = { dbPath, alias, con, probe: await probeSchema(con) }
      return this.openCopy
    } catch (err) {
      if (alias) await this.detach(alias)
      throw new ApiError('unavailable', `Could not open the snapshot of ${this.path}: ${shortMessage(err)}`)
    }
  }

  /** The store's in-memory DuckDB; it may read only files inside the folder of `dbPath`'s snapshotter. */
  private async hostFor(dbPath: string): Promise<{ instance: DuckDBInstance; con: DuckDBConnection }> {
    if (this.host) return this.host
    const instance = await DuckDBInstance.create(':memory:', HOST_OPTIONS)
    try {
      const con = await instance.connect()
      // Every snapshot lives under this store's private folder (a fresh one per snapshotter).
      const folder = this.dir ?? dirname(dirname(dirname(dbPath)))
      // A query over the memory limit spills: into the private folder, never the process's working
      // folder (DuckDB's default for an in-memory database is ./.tmp, wherever Vigil was started).
      await con.run(`SET temp_directory = ${sqlString(join(folder, 'spill'))}`)
      await con.run(`SET allowed_directories = [${sqlString(folder)}]; SET enable_external_access = false`)
      await con.run('PRAGMA disable_checkpoint_on_shutdown')
      this.host = { instance, con }
      this.statements = new StatementCache(con)
      return this.host
    } catch (err) {
      instance.closeSync()
      throw err
    }
  }

  /** Attaches `dbPath` read-only (replaying its WAL) and makes it the connection's default database. */
  private async attachCopy(con: DuckDBConnection, dbPath: string): Promise<string> {
    const alias = aliasOf(++this.attached)
    await con.run(`ATTACH ${sqlString(dbPath)} AS ${alias} (READ_ONLY)`)
    try {
      await con.run(`USE ${alias}`)
    } catch (err) {
      await this.detach(alias)
      throw err
    }
    return alias
  }

  private async detach(alias: string): Promise<void> {
    if (!this.host) return
    this.statements?.release(alias)
    await this.host.con.run(`USE memory; DETACH DATABASE IF EXISTS ${alias}`).catch(() => undefined)
    if (this.openCopy && this.openCopy.alias !== alias) await this.host.con.run(`USE ${this.openCopy.alias}`).catch(() => undefined)
  }

  private async closeOpenCopy(): Promise<void> {
    if (!this.openCopy) return
    const { alias } = this.openCopy
    this.openCopy = null
    await this.detach(alias)
  }

  private closeHost(): void {
    this.statements?.clear()
    this.statements = null
    this.host?.con.closeSync()
    this.host?.instance.closeSync()
    this.host = null
    this.openCopy = null
    this.live = null
  }

  private unavailable(): ApiError {
    const why = this.problem ? ` ${this.problem.message}` : ' It has not been read yet.'
    return new ApiError('unavailable', `The Perspt store ${this.path} is not available.${why}`)
  }

  async close(): Promise<void> {
    this.closed = true
    this.watcher?.close()
    this.watcher = null
    await this.chain
    await this.liveCheckJob
    this.closeHost()
    await this.snapshotter?.dispose()
    this.snapshotter = null
    if (this.dir) await rm(this.dir, { recursive: true, force: true }).catch(() => undefined)
    this.dir = null
  }

  private async safeRefresh(attempt: number): Promise<boolean> {
    if (this.closed) return false
    try {
      this.stage = 'stat'
      return await this.doRefresh(attempt)
    } catch (err) {
      // Anything unforeseen still ends up in status(), never as a rejection.
      if (attempt === this.attempt) this.fail('read-failed', err instanceof Error ? err.message : String(err))
      return false
    } finally {
      if (attempt === this.attempt) this.stage = 'idle'
    }
  }

  private fail(code: StoreProblemCode, detail?: string): void {
    this.state = 'error'
    this.problem = storeProblem(code, this.path, detail)
  }

  private async doRefresh(attempt: number): Promise<boolean> {
    // After each wait: an abandoned refresh (see refreshWithDeadline) must change nothing.
    const abandoned = () => attempt !== this.attempt
    let source: BigIntStats
    try {
      source = await stat(this.path, { bigint: true })
    } catch (err) {
      if (abandoned()) return false
      this.liveness = 'unknown'
      this.fail(fsProblemCode(err))
      return false
    }
    if (abandoned()) return false
    if (source.isDirectory()) return this.failWith('is-directory')
    if (!source.isFile()) return this.failWith('not-a-file')

    this.stage = 'liveness'
    const liveness = await this.detectLiveness(source)
    if (abandoned()) return false
    this.liveness = liveness
    const agentLive = this.liveness === 'live'

    let snapshotter: StoreSnapshotter
    try {
      snapshotter = await this.ensureSnapshotter()
    } catch (err) {
      if (abandoned()) return false
      return this.failWith(fsProblemCode(err, this.tmpRoot), privateDetail(err, this.tmpRoot))
    }
    const viaLive = await this.refreshLive(snapshotter, agentLive, attempt)
    if (viaLive !== null) return viaLive

    let snap
    try {
      this.stage = 'snapshot'
      snap = await snapshotter.refresh({ full: this.forceFull })
      if (abandoned()) return false
    } catch (err) {
      if (abandoned()) return false
      if (err instanceof SnapshotBusyError) {
        // Transient: keep whatever we showed; only say so if we have nothing yet.
        if (this.rows === null) this.fail('busy')
        return false
      }
      return this.failWith(fsProblemCode(err, this.tmpRoot), privateDetail(err, this.tmpRoot))
    }

    if (!snap.changed) {
      if (snap.dbPath === this.failedCopy) return false
      if (this.readFrom?.dbPath === snap.dbPath && this.readFrom.agentLive === agentLive && this.readFrom.holderEpoch === this.holderEpoch) return false
    }

    // Ids and per-session results of another file (replaced, truncated, checkpointed, moved back) say
    // nothing about this one: only a source that merely grew keeps the incremental read.
    if (snap.changed && !snap.continuous) this.memo = null
    // What changed since the copy last read (the memo's): known from the WAL's new bytes, or not at all.
    let changes: TableChanges | null = !snap.changed ? new Map() : this.readFrom !== null && snap.sameCatalogAs === this.readFrom.dbPath ? snap.changes : null
    // Rows changed in place or deleted where the memo counts: read in full (its ids only grow).
    if (changes !== null && !memoSurvives(changes)) this.memo = null

    let result: ReadResult
    try {
      result = await this.readCopy(snap.dbPath, agentLive, snap.sameCatalogAs, changes === null ? null : new Set(changes.keys()))
    } catch (err) {
      if (abandoned()) return false
      if (!(err instanceof StoreProblemError)) throw err
      // A torn copy (or a reused base) can look corrupt: retry once with a fresh full copy.
      if (snapshotter.lastBase === 'reused' || err.code === 'corrupt' || err.code === 'truncated') {
        try {
          snap = await snapshotter.refresh({ full: true })
          this.memo = null
          changes = null
          result = await this.readCopy(snap.dbPath, agentLive)
        } catch (retryErr) {
          if (abandoned()) return false
          return this.failCopy(snap.dbPath, retryErr)
        }
      } else {
        return this.failCopy(snap.dbPath, err)
      }
    }

    if (abandoned()) return false
    this.forceFull = false
    this.publishRead(result, snap.dbPath, agentLive, { sameFile: snap.continuous || !snap.changed, newData: snap.changed, changes })
    return true
  }

  /** A read of new data (or of a liveness change) becomes the current version. */
  private publishRead(result: ReadResult, dbPath: string, agentLive: boolean, how: { sameFile: boolean; newData: boolean; changes: TableChanges | null }): void {
    this.failedCopy = null
    this.memo = result.memo
    const before = this.rows?.[0]?.countsPending === true ? null : this.rows
    this.rows = this.perSessionLiveness(result.rows, agentLive, how.sameFile)
    // No new data (only liveness moved): no session has new rows, the list rows tell the rest.
    this.changed = changedBetween(before, this.rows, how.newData ? result.changed : new Set())
    this.readFrom = { dbPath, agentLive, holderEpoch: this.holderEpoch }
    this.tableCount = result.tableCount
    this.version++
    this.logChanges(how.changes)
    this.refreshedAt = new Date(this.now()).toISOString()
    this.state = 'ready'
    this.problem = null
    this.stage = 'idle'
    this.lastTimings = this.timings
  }

  /**
   * A refresh through the live copy: the agent WAL's transactions since the copy's position applied to
   * it, then the session list read from it. Null when the live copy cannot serve (none yet, the source
   * was checkpointed or replaced, a change not decoded or refused): the caller snapshots instead.
   */
  private async refreshLive(snapshotter: StoreSnapshotter, agentLive: boolean, attempt: number): Promise<boolean | null> {
    const abandoned = () => attempt !== this.attempt
    if (this.liveDropNext) await this.dropLive()
    if (!this.live) {
      if (!this.liveEnabled || this.liveStats.off !== null || this.readFrom === null || this.forceFull || this.closed || !snapshotter.hasBase()) return null
      this.stage = 'live-copy'
      const made = await this.makeLive(snapshotter)
      if (abandoned()) return false
      if (!made) return null
    }
    const live = this.live!
    const con = this.host!.con
    this.stage = 'live-tail'
    const tail = await snapshotter.walSince(live.position)
    if (abandoned()) return false
    if (tail === null) {
      await this.dropLive()
      return null
    }
    const fresh = this.openCopy?.dbPath !== live.dbPath
    let changes: TableChanges = new Map()
    if (tail === 'same') {
      if (!fresh && this.readFrom?.dbPath === live.dbPath && this.readFrom.agentLive === agentLive && this.readFrom.holderEpoch === this.holderEpoch) return false
    } else {
      this.stage = 'live-apply'
      try {
        const applied = await this.applyOn(live, con, tail.bytes, tail.next, fresh)
        if (abandoned()) return false
        if (applied === null) {
          // A catalog change or a bulk append: a snapshot (and a new base, which holds it) takes over.
          await this.dropLive()
          return null
        }
        changes = applied
        this.stage = 'live-checkpoint'
        const upkeep = performance.now()
        if (await live.checkpointIfDue(con, this.liveCheckpointBytes)) {
          this.liveStats.checkpoints++
          this.upkeepMs += performance.now() - upkeep
        }
      } catch (err) {
        if (abandoned()) return false
        this.liveFailed(`applying the agent's changes failed (${shortMessage(err)})`)
        await this.dropLive()
        return null
      }
    }
    let result: ReadResult
    try {
      this.stage = 'live-read'
      if (fresh) {
        // The copy holds at least what the open snapshot held (its base is not newer), so the changes
        // applied since the base are a superset of those since the last version.
        await this.closeOpenCopy()
        await con.run(`USE ${live.alias}`)
      }
      const probe = !fresh && this.openCopy ? this.openCopy.probe : await probeSchema(con)
      if (!probe.hasSessions) throw new Error('no sessions table')
      const memo = memoSurvives(changes) ? this.memo : null
      const read = await readSessionsWithMemo(con, probe, { agentLive, now: this.now() }, memo, new Set(changes.keys()))
      if (abandoned()) return false
      this.openCopy = { dbPath: live.dbPath, alias: live.alias, con, probe }
      result = { ...read, tableCount: probe.tables.size }
    } catch (err) {
      if (abandoned()) return false
      this.liveFailed(`reading it failed (${shortMessage(err)})`)
      await this.dropLive()
      return null
    }
    this.liveStats.versions++
    this.publishRead(result, live.dbPath, agentLive, { sameFile: true, newData: tail !== 'same' || fresh, changes })
    this.maybeCheckLive(snapshotter, live)
    return true
  }

  /**
   * Applies to `live`. DuckDB binds an appender's column defaults (a sequence's nextval) in the default
   * database: while another copy is the default (`fresh`: views still read it) or none is (after a drop:
   * `memory`), the copy's own is made the default for the apply, and the open copy's restored after.
   */
  private async applyOn(live: LiveCopy, con: DuckDBConnection, bytes: Uint8Array, next: TailPosition, fresh: boolean): Promise<TableChanges | null> {
    if (!fresh) return live.apply(con, bytes, next)
    await con.run(`USE ${live.alias}`)
    try {
      return await live.apply(con, bytes, next)
    } finally {
      await con.run(`USE ${this.openCopy?.alias ?? 'memory'}`).catch(() => undefined)
    }
  }

  private async makeLive(snapshotter: StoreSnapshotter): Promise<boolean> {
    const dir = join(this.dir!, `live-${++this.liveCopies}`)
    const dbPath = join(dir, 'perspt.db')
    try {
      const position = await snapshotter.lendBase(dbPath)
      if (!position) {
        await rm(dir, { recursive: true, force: true })
        return false
      }
      const { con } = await this.hostFor(dbPath)
      this.live = await LiveCopy.attach(con, `live_${++this.attached}`, dbPath, position)
      this.liveStats.copies++
      this.liveCheckedAt = Date.now()
      return true
    } catch (err) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      this.liveFailed(`a live copy could not be made (${shortMessage(err)})`)
      return false
    }
  }

  private liveFailed(why: string): void {
    if (++this.liveFailures < LIVE_MAX_FAILURES || this.liveStats.off !== null) return
    this.liveStats.off = why
    console.warn(`vigil: ${this.path}: ${why}; reading it by snapshots from now on`)
  }

  /** Back to snapshots: the copy is detached and deleted; the next read starts from a snapshot, in full. */
  private async dropLive(): Promise<void> {
    this.liveDropNext = false
    const live = this.live
    if (!live) return
    this.live = null
    this.droppedLive = live.dbPath
    this.liveStats.drops++
    if (this.openCopy?.dbPath === live.dbPath) this.openCopy = null
    // Counted from rows the copy held: a snapshot starts the memo over.
    this.memo = null
    await live.drop(this.host?.con ?? null)
  }

  /**
   * Now and then (LIVE_CHECK_MS, spread by its CPU: LIVE_CHECK_CPU_SHARE) the live copy is compared with
   * DuckDB's own replay of the source up to the same WAL position (kept between checks, so each replays
   * only the WAL written since the last: StoreSnapshotter.replayedAt); a difference turns live copies
   * off for this store.
   */
  private maybeCheckLive(snapshotter: StoreSnapshotter, live: LiveCopy): void {
    if (this.liveCheckJob || Date.now() - this.liveCheckedAt < Math.max(LIVE_CHECK_MS, this.liveCheckGapMs)) return
    this.liveCheckedAt = Date.now()
    const con = this.host!.con
    const job = (async () => {
      const cpu0 = process.cpuUsage()
      try {
        // The position and the print together, in the store's turn: a refresh queued before this turn
        // moves the copy on (a position taken earlier made a false difference).
        const mine = await this.runInTurn(async () => {
          if (this.live !== live) return null
          const upkeep = performance.now()
          const at = live.position
          const print = await live.fingerprint(con)
          this.upkeepMs += performance.now() - upkeep
          return { at, print }
        })
        if (mine === null) return
        const replayed = await snapshotter.replayedAt(mine.at)
        if (replayed === null || this.closed) return
        const theirs = await fingerprint(replayed)
        this.liveStats.checks++
        if (theirs !== mine.print) {
          this.liveStats.mismatches++
          this.liveStats.off = 'a live copy differed from a full copy of the same bytes'
          console.warn(`vigil: ${this.path}: ${this.liveStats.off}; reading it by snapshots from now on`)
          this.liveDropNext = true
        }
      } catch (err) {
        if (!this.closed) console.warn(`vigil: checking the live copy of ${this.path} failed (${shortMessage(err)})`)
      } finally {
        const cpu = process.cpuUsage(cpu0)
        this.liveCheckGapMs = (cpu.user + cpu.system) / 1000 / LIVE_CHECK_CPU_SHARE
        this.liveCheckedAt = Date.now()
        this.liveCheckJob = null
      }
    })()
    this.liveCheckJob = job
  }

  /** Work that runs beside refreshes and costs the process CPU they did not cause: a base build, a fold, a check. */
  private backgroundWork(): boolean {
    return this.liveCheckJob !== null || (this.snapshotter?.busy() ?? false)
  }

  /** Runs `work` in the store's turn (between refreshes and queries). */
  private runInTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work)
    this.chain = run.catch(() => undefined)
    return run
  }

  /** Runs the live copy's comparison now (tests): resolves when it finished. */
  async checkLiveNow(): Promise<void> {
    await this.liveCheckJob
    this.liveCheckedAt = 0
    this.liveCheckGapMs = 0
    const snapshotter = this.snapshotter
    if (snapshotter && this.live) this.maybeCheckLive(snapshotter, this.live)
    await this.liveCheckJob
  }

  /**
   * A session list whose counts are still being read (see readSessionList), shown as a version of its
   * own. The state stays as it was ('loading'): 'ready' means read in full.
   */
  private publishList(rows: SessionRow[], tableCount: number): void {
    this.rows = rows
    this.changed = null
    this.tableCount = tableCount
    this.version++
    this.logChanges(null)
    this.refreshedAt = new Date(this.now()).toISOString()
    this.onListed?.()
  }

  private failWith(code: StoreProblemCode, detail?: string): false {
    this.fail(code, detail)
    return false
  }

  private failCopy(dbPath: string, err: unknown): false {
    this.failedCopy = dbPath
    if (err instanceof StoreProblemError) this.fail(err.code, err.detail)
    else if (err instanceof SnapshotBusyError) this.fail('busy')
    else this.fail(fsProblemCode(err, this.tmpRoot), err instanceof Error ? err.message : undefined)
    return false
  }

  private async ensureSnapshotter(): Promise<StoreSnapshotter> {
    if (!this.snapshotter) {
      await mkdir(this.tmpRoot, { recursive: true })
      this.dir ??= await mkdtemp(join(this.tmpRoot, 'perspt-store-'))
      this.snapshotter = new StoreSnapshotter({
        sourcePath: this.path,
        tmpRoot: join(this.dir, `s${++this.snapshotters}`),
        // The copies views read from (the open one, and the one a query reopens): never folded under them.
        holds: () => [this.openCopy?.dbPath, this.readFrom?.dbPath].filter((p): p is string => typeof p === 'string')
      })
    }
    return this.snapshotter
  }

  /** RUNNING sessions unchanged since an earlier lock holder are stale even while another agent runs. */
  private perSessionLiveness(rows: SessionRow[], agentLive: boolean, sameFile: boolean): SessionRow[] {
    if (!sameFile) this.sessionEpochs.clear()
    const seen = new Set<string>()
    const out = rows.map((row) => {
      seen.add(row.sessionId)
      if (row.rawStatus.trim().toLowerCase() !== 'running') return row
      const activity = `${row.updatedAt}|${row.lastActivityAt ?? ''}|${row.llmRequests}|${row.tokensIn}|${JSON.stringify(row.budget)}`
      const known = this.sessionEpochs.get(row.sessionId)
      if (!known || known.activity !== activity) this.sessionEpochs.set(row.sessionId, { activity, epoch: this.holderEpoch })
      const epoch = this.sessionEpochs.get(row.sessionId)!.epoch
      return agentLive && row.status === 'running' && epoch !== this.holderEpoch ? { ...row, status: 'stale' as const } : row
    })
    for (const sid of this.sessionEpochs.keys()) if (!seen.has(sid)) this.sessionEpochs.delete(sid)
    return out
  }

  private async detectLiveness(source: BigIntStats): Promise<StoreLiveness> {
    // Only another holder bumps the epoch: the same agent process releasing and re-taking its lock does
    // not, nor does the first holder Vigil sees (it cannot tell who ran the sessions before).
    const locks = await this.locks.state({ dev: source.dev, ino: source.ino })
    const holder = locks?.holder
    if (holder && holder !== this.holderKey) {
      if (this.holderKey !== null) this.holderEpoch++
      this.holderKey = holder
    }
    if (locks) return locks.liveness
    let last = Number(source.mtimeMs)
    try {
      last = Math.max(last, Number((await stat(`${this.path}.wal`)).mtimeMs))
    } catch {
      // No WAL: only the .db's mtime counts.
    }
    return recentWriteLiveness(last, this.now())
  }

  /**
   * Opens the copy read-only and reads everything Vigil needs; the open copy is then kept for the views
   * (replaying the copy's WAL is the costly part of an open: one open per new snapshot, not two).
   */
  private async readCopy(dbPath: string, agentLive: boolean, sameCatalogAs: string | null = null, changedTables: ReadonlySet<string> | null = null): Promise<ReadResult> {
    // Only row changes since the open copy: its schema probe still holds (one catalog query less).
    const knownProbe = sameCatalogAs !== null && this.openCopy?.dbPath === sameCatalogAs ? this.openCopy.probe : null
    this.stage = 'read-head'
    const head = await readHead(dbPath)
    const headerCode = headerProblemCode(head)
    if (headerCode) throw new StoreProblemError(headerCode, sniffFormat(head))

    let con: DuckDBConnection
    let alias: string
    try {
      this.stage = 'connect'
      con = (await this.hostFor(dbPath)).con
      this.stage = 'open-copy'
      alias = await this.attachCopy(con, dbPath)
    } catch (err) {
      // A failed ATTACH attaches nothing, and the previous copy stays the default database.
      throw new StoreProblemError(duckdbProblemCode(err), shortMessage(err))
    }
    let kept = false
    const attempt = this.attempt
    try {
      this.stage = 'probe'
      const probe = knownProbe ?? (await probeSchema(con))
      if (!probe.hasSessions) throw new StoreProblemError('no-sessions-table')
      this.stage = 'read-sessions'
      // A first read shows the list at once; counting (about a second on a big store) follows as a new version.
      if (this.rows === null && this.onListed && !this.closed) {
        this.publishList(await readSessionList(con, probe, { agentLive, now: this.now() }), probe.tables.size)
      }
      const { rows, memo, changed } = await readSessionsWithMemo(con, probe, { agentLive, now: this.now() }, this.memo, changedTables)
      this.stage = 'close-copy'
      // An abandoned refresh (see refreshWithDeadline) must not swap the copy the views read.
      if (!this.closed && attempt === this.attempt) {
        await this.closeOpenCopy()
        await con.run(`USE ${alias}`)
        this.openCopy = { dbPath, alias, con, probe }
        kept = true
      }
      return { rows, tableCount: probe.tables.size, memo, changed }
    } catch (err) {
      if (err instanceof StoreProblemError) throw err
      throw new StoreProblemError(duckdbProblemCode(err), shortMessage(err))
    } finally {
      if (!kept) {
        this.stage = 'close-copy'
        await this.detach(alias)
      }
    }
  }
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r')
  try {
    const buf = new Uint8Array(16)
    const { bytesRead } = await handle.read(buf, 0, 16, 0)
    return buf.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

/** For problems of the private folder: which folder (the user's path is in the message already). */
function privateDetail(err: unknown, tmpRoot: string): string | undefined {
  const code = fsProblemCode(err, tmpRoot)
  return code === 'no-space' || code === 'private-folder' ? `folder ${tmpRoot}` : undefined
}

/** A SQL string literal. */
function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

/** DuckDB messages name the private copy; keep the first line and drop its path. */
function shortMessage(err: unknown): string {
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''
  return first.replace(/"[^"]*"/g, 'the file').slice(0, 200)
}
