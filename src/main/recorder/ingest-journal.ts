// The ingest journal: every live event Vigil records is appended here, and made durable, before it is
// acknowledged (POST /api/hub/ingress answers 202), fanned out to browsers or shown. The DuckDB
// recording is written from it in batches; a record stays in the journal until the recording has
// committed it (the recording's meta row `journal_seq` says how far), so a `kill -9` at any moment
// loses nothing that was acknowledged: on the next start the records past `journal_seq` are replayed
// into the recording first.
//
// Format: segment files `journal-<first seq, 16 digits>.log` in one folder. A record is a frame
//   [u32 LE payload length][u32 LE crc32(payload)][payload]
// and its payload is `<header JSON>\0<text>`, header = [seq, kind, sourceId, producerId, receivedAt].
// A torn or corrupt frame (a crash mid-write, a write error) ends its segment's readable part; after
// any write error the journal continues in a new segment, so a torn frame is only ever at a segment's end.
//
// Group commit, one writer: appends made in one event-loop turn (and while a sync is running) are
// written together with one writev + fdatasync; their callbacks then run in append order. A write
// error (disk full, read-only folder, I/O error) fails that batch's callbacks with the error and
// pauses the journal; while paused, appends fail at once, except one probe a second that re-opens a
// fresh segment, so recording resumes by itself when space comes back.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'

export type JournalKind = 'env' | 'msg'

/** One journaled input. `env`: a hub envelope's exact text; `msg`: one tracker message, serialized. */
export interface JournalEntry {
  kind: JournalKind
  sourceId: string
  producerId: string | null
  receivedAt: string
  text: string
}

export interface JournalRecord extends JournalEntry {
  seq: number
}

export type DurableCallback = (err: JournalWriteError | null) => void

export class JournalWriteError extends Error {
  constructor(
    /** Short, for people: "disk full", "read-only data folder", "I/O error (EIO)". */
    readonly why: string,
    message: string
  ) {
    super(message)
  }
}

export interface JournalStats {
  /** Records made durable since start. */
  synced: number
  /** Records whose write failed (their senders were told, or they were counted as not recorded). */
  failed: number
  /** Records appended, not yet durable. */
  pending: number
  pendingBytes: number
  /** Bytes in segment files on disk. */
  diskBytes: number
  /** Last group commit (write + fdatasync), ms. */
  lastSyncMs: number | null
  /**
   * How long appended records waited to be durable (the oldest of each of the last 1,024 batches), ms:
   * the window in which an unacknowledged socket event could be lost by a crash.
   */
  durableWithinMs: { p50: number; p99: number; max: number } | null
  /** Why the journal is paused, or null. */
  problem: string | null
}

export interface IngestJournalOptions {
  dir: string
  /** A segment is closed and a new one begun past this size. Default 64 MiB. */
  segmentBytes?: number
  /** While paused, a write is retried at most this often. Default 1000 ms. */
  probeEveryMs?: number
  /** File access (tests inject failures). */
  openFile?: (path: string) => Promise<FileHandle>
  now?: () => number
}

const FRAME_HEADER = 8
const WINDOW_SAMPLES = 1024
/** Bytes per group commit. */
const BATCH_BYTES = 8 * 1024 * 1024
/** Durability callbacks run per event-loop turn. */
const CALLBACKS_PER_TURN = 500
/** A fully released segment being written is begun anew past this size. */
const ROTATE_RELEASED_BYTES = 1024 * 1024
const SEGMENT_RE = /^journal-(\d{16})\.log$/

export interface RecoveredJournal {
  segments: number
  /** Highest seq read so far (complete once `records()` was read to the end). */
  lastSeq: number
  /** Segments that ended in a torn or corrupt frame. */
  torn: number
  records(): Generator<JournalRecord>
}

interface Pending {
  seq: number
  at: number
  frame: Buffer
  cb: DurableCallback | undefined
}

interface Segment {
  firstSeq: number
  path: string
  bytes: number
}

export class IngestJournal {
  private readonly dir: string
  private readonly segmentBytes: number
  private readonly probeEveryMs: number
  private readonly openFile: (path: string) => Promise<FileHandle>
  private readonly now: () => number
  private nextSeq: number
  private segments: Segment[] = []
  private fh: FileHandle | null = null
  private pending: Pending[] = []
  private pendingBytes = 0
  /** The batch being written and synced now: taken off `pending`, not durable yet. */
  private inFlight = 0
  private inFlightBytes = 0
  private writing = false
  private scheduled: NodeJS.Immediate | null = null
  private problem: JournalWriteError | null = null
  private lastProbe = 0
  private synced = 0
  private failed = 0
  private lastSyncMs: number | null = null
  private durableSeq: number
  /** Durable (or failed) records whose callbacks are still to run, in order. */
  private ready: Array<{ cb: DurableCallback | undefined; err: JournalWriteError | null; bytes: number }> = []
  private readyHead = 0
  private readyBytes = 0
  private draining: NodeJS.Immediate | null = null
  /** Called after each slice of callbacks: the backlog shrank (the recorder resumes paused publishers). */
  onProgress: (() => void) | null = null
  private released = 0
  private readonly windows = new Float64Array(WINDOW_SAMPLES)
  private windowCount = 0
  private closed = false
  private readonly idleWaiters: Array<() => void> = []

  private constructor(opts: IngestJournalOptions, nextSeq: number) {
    this.dir = opts.dir
    this.segmentBytes = Math.max(4096, opts.segmentBytes ?? 64 * 1024 * 1024)
    this.probeEveryMs = Math.max(0, opts.probeEveryMs ?? 1000)
    // Events can carry prompts and outputs: only this user may read them (another user on the machine).
    this.openFile = opts.openFile ?? ((path) => open(path, 'a', 0o600))
    this.now = opts.now ?? Date.now
    this.nextSeq = nextSeq
    this.durableSeq = nextSeq - 1
  }

  /**
   * What an earlier run left: its records in seq order (a segment at a time; a torn tail is skipped).
   * The caller replays the ones its recording lacks, then calls `start(afterSeq)` with at least
   * `lastSeq` (known once the records were read).
   */
  static recover(dir: string): RecoveredJournal {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const segments = listSegments(dir)
    const found: RecoveredJournal = {
      segments: segments.length,
      lastSeq: 0,
      torn: 0,
      *records() {
        for (const s of segments) {
          const r = readSegment(s.path)
          if (r.torn) found.torn++
          for (const rec of r.records) {
            found.lastSeq = Math.max(found.lastSeq, rec.seq)
            yield rec
          }
        }
      }
    }
    return found
  }

  /**
   * Starts a journal whose first new record gets `afterSeq + 1`. Segments already in the folder are
   * deleted: call after their records are safely in the recording.
   */
  static async start(opts: IngestJournalOptions, afterSeq: number): Promise<IngestJournal> {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 })
    const journal = new IngestJournal(opts, afterSeq + 1)
    for (const s of listSegments(opts.dir)) rmSync(s.path, { force: true })
    await journal.openSegment(journal.nextSeq)
    return journal
  }

  /** The seq the next append gets. */
  get next(): number {
    return this.nextSeq
  }

  /** The highest seq known durable. */
  get durable(): number {
    return this.durableSeq
  }

  /** Bytes appended and not yet acted on: not durable yet, or durable with the callback still to run (cheap: checked per event). */
  get backlogBytes(): number {
    return this.pendingBytes + this.inFlightBytes + this.readyBytes
  }

  get paused(): boolean {
    return this.problem !== null
  }

  /**
   * Appends one record; `cb` runs once it is durable (null) or could not be written (the error).
   * Returns its seq, or null when the journal is paused (nothing was appended; `cb` is not called).
   */
  append(entry: JournalEntry, cb?: DurableCallback): number | null {
    if (this.closed) return null
    if (this.problem) {
      // One probe a second: it goes through the normal path, and a success resumes the journal.
      if (this.writing || this.now() - this.lastProbe < this.probeEveryMs) return null
      this.lastProbe = this.now()
    }
    const seq = this.nextSeq++
    const frame = encodeFrame(seq, entry)
    this.pending.push({ seq, frame, cb, at: performance.now() })
    this.pendingBytes += frame.length
    this.schedule()
    return seq
  }

  /** Why appends fail now, or null. */
  problemText(): string | null {
    return this.problem ? this.problem.why : null
  }

  /** Resolves when everything appended so far was written (or failed) and its callback ran. */
  settle(): Promise<void> {
    if (!this.writing && this.pending.length === 0 && this.readyHead >= this.ready.length) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * Deletes the segments whose every record is at or below `seq` (the recording has them). The segment
   * being written is begun anew by the next write once all of it is released and it is over 1 MiB, so
   * a journal the recording keeps up with stays small (on a small or full disk too).
   */
  release(seq: number): void {
    this.released = Math.max(this.released, seq)
    while (this.segments.length > 1) {
      const second = this.segments[1]!
      if (second.firstSeq - 1 > seq) break
      const first = this.segments.shift()!
      rmSync(first.path, { force: true })
    }
  }

  stats(): JournalStats {
    return {
      synced: this.synced,
      failed: this.failed,
      pending: this.pending.length + this.inFlight,
      pendingBytes: this.pendingBytes + this.inFlightBytes,
      diskBytes: this.segments.reduce((n, s) => n + s.bytes, 0),
      lastSyncMs: this.lastSyncMs,
      durableWithinMs: this.windowPercentiles(),
      problem: this.problemText()
    }
  }

  /** Writes what is pending, then closes the file. Segments stay (the recording may still lack them). */
  async close(): Promise<void> {
    if (this.closed) return
    await this.settle()
    this.closed = true
    if (this.draining) clearImmediate(this.draining)
    if (this.scheduled) clearImmediate(this.scheduled)
    this.scheduled = null
    await this.fh?.close().catch(() => undefined)
    this.fh = null
  }

  // -------------------------------------------------------------------------------------------

  private windowPercentiles(): JournalStats['durableWithinMs'] {
    const n = Math.min(this.windowCount, WINDOW_SAMPLES)
    if (n === 0) return null
    const sorted = this.windows.slice(0, n).sort()
    const at = (q: number) => Math.round(sorted[Math.min(n - 1, Math.floor(q * n))]! * 100) / 100
    return { p50: at(0.5), p99: at(0.99), max: at(1) }
  }

  private schedule(): void {
    if (this.writing || this.scheduled) return
    this.scheduled = setImmediate(() => {
      this.scheduled = null
      void this.writeBatch()
    })
  }

  private async writeBatch(): Promise<void> {
    if (this.writing || this.pending.length === 0) return
    this.writing = true
    // At most BATCH_BYTES per commit, so one slow write does not hold everything behind it.
    let take = 0
    let bytes = 0
    while (take < this.pending.length && (take === 0 || bytes + this.pending[take]!.frame.length <= BATCH_BYTES)) {
      bytes += this.pending[take]!.frame.length
      take++
    }
    const batch = take === this.pending.length ? this.pending : this.pending.slice(0, take)
    this.pending = take === this.pending.length ? [] : this.pending.slice(take)
    this.pendingBytes -= bytes
    this.inFlight = batch.length
    this.inFlightBytes = bytes
    const started = performance.now()
    let error: JournalWriteError | null = null
    try {
      const current = this.segments[this.segments.length - 1]
      if (this.fh && current && this.released >= this.durableSeq && current.bytes >= ROTATE_RELEASED_BYTES) {
        await this.rotate(batch[0]!.seq)
        this.release(this.released)
      }
      if (!this.fh) await this.openSegment(batch[0]!.seq)
      const fh = this.fh!
      const frames = batch.map((p) => p.frame)
      // writev takes at most IOV_MAX (1024) buffers per call.
      for (let i = 0; i < frames.length; i += 1024) {
        const part = frames.slice(i, i + 1024)
        const want = part.reduce((n, f) => n + f.length, 0)
        const { bytesWritten } = await fh.writev(part)
        if (bytesWritten !== want) throw Object.assign(new Error('short write'), { code: 'ENOSPC' })
      }
      await fh.datasync()
      const seg = this.segments[this.segments.length - 1]!
      seg.bytes += bytes
      this.synced += batch.length
      this.durableSeq = batch[batch.length - 1]!.seq
      this.lastSyncMs = performance.now() - started
      this.windows[this.windowCount++ % WINDOW_SAMPLES] = performance.now() - batch[0]!.at
      if (this.problem) {
        console.warn(`vigil journal: writing again (${this.problem.why} is over).`)
        this.problem = null
      }
      if (seg.bytes >= this.segmentBytes) await this.rotate(this.pending[0]?.seq ?? this.nextSeq)
    } catch (err) {
      error = toWriteError(this.dir, err)
      this.failed += batch.length
      if (!this.problem) console.error(`vigil journal: recording paused: ${error.message}`)
      this.problem = error
      this.lastProbe = this.now()
      // Whatever part of the batch reached the file is torn; continue in a fresh segment.
      await this.fh?.close().catch(() => undefined)
      this.fh = null
    } finally {
      this.writing = false
      this.inFlight = 0
      this.inFlightBytes = 0
    }
    // The next commit starts at once; the callbacks (acting on each record) run in slices between
    // event-loop turns, in order, so a big batch never stalls ingest, timers or browsers.
    for (const p of batch) this.ready.push({ cb: p.cb, err: error, bytes: p.frame.length })
    this.readyBytes += bytes
    this.drainReady()
    if (this.pending.length > 0) this.schedule()
    else this.notifyIdle()
  }

  private drainReady(): void {
    if (this.draining) return
    const end = Math.min(this.ready.length, this.readyHead + CALLBACKS_PER_TURN)
    for (; this.readyHead < end; this.readyHead++) {
      const r = this.ready[this.readyHead]!
      this.readyBytes -= r.bytes
      try {
        r.cb?.(r.err)
      } catch (err) {
        console.error('vigil journal: a durability callback failed:', err)
      }
    }
    this.onProgress?.()
    if (this.readyHead >= this.ready.length) {
      this.ready = []
      this.readyHead = 0
      this.notifyIdle()
      return
    }
    this.draining = setImmediate(() => {
      this.draining = null
      this.drainReady()
    })
  }

  private notifyIdle(): void {
    if (this.writing || this.pending.length > 0 || this.readyHead < this.ready.length) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }

  private async rotate(firstSeq: number): Promise<void> {
    await this.fh?.close().catch(() => undefined)
    this.fh = null
    await this.openSegment(firstSeq)
  }

  /** Opens the segment whose first record is `firstSeq` (its name says so; release() relies on it). */
  private async openSegment(firstSeq: number): Promise<void> {
    const path = join(this.dir, `journal-${String(firstSeq).padStart(16, '0')}.log`)
    // The folder may have been removed while paused (someone freeing space).
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const fh = await this.openFile(path)
    const last = this.segments[this.segments.length - 1]
    if (last?.path === path) last.bytes = (await fh.stat()).size
    else this.segments.push({ firstSeq, path, bytes: (await fh.stat()).size })
    this.fh = fh
  }
}

// ---------------------------------------------------------------------------------------------

function encodeFrame(seq: number, e: JournalEntry): Buffer {
  const header = Buffer.from(JSON.stringify([seq, e.kind, e.sourceId, e.producerId, e.receivedAt]), 'utf8')
  const textBytes = Buffer.byteLength(e.text, 'utf8')
  const frame = Buffer.allocUnsafe(FRAME_HEADER + header.length + 1 + textBytes)
  header.copy(frame, FRAME_HEADER)
  frame[FRAME_HEADER + header.length] = 0
  frame.write(e.text, FRAME_HEADER + header.length + 1, 'utf8')
  const payload = frame.subarray(FRAME_HEADER)
  frame.writeUInt32LE(payload.length, 0)
  frame.writeUInt32LE(crc32(payload), 4)
  return frame
}

function decodePayload(payload: Buffer): JournalRecord | null {
  const nul = payload.indexOf(0)
  if (nul < 0) return null
  try {
    const h = JSON.parse(payload.toString('utf8', 0, nul)) as unknown
    if (!Array.isArray(h) || h.length !== 5) return null
    const [seq, kind, sourceId, producerId, receivedAt] = h as unknown[]
    if (typeof seq !== 'number' || (kind !== 'env' && kind !== 'msg') || typeof sourceId !== 'string') return null
    if ((producerId !== null && typeof producerId !== 'string') || typeof receivedAt !== 'string') return null
    return { seq, kind, sourceId, producerId, receivedAt, text: payload.toString('utf8', nul + 1) }
  } catch {
    return null
  }
}

/** The readable records of one segment, and whether it ends in a torn or corrupt frame. */
function readSegment(path: string): { records: JournalRecord[]; torn: boolean } {
  let buf: Buffer
  try {
    buf = readFileSync(path)
  } catch {
    return { records: [], torn: true }
  }
  const records: JournalRecord[] = []
  let at = 0
  while (at + FRAME_HEADER <= buf.length) {
    const len = buf.readUInt32LE(at)
    const sum = buf.readUInt32LE(at + 4)
    if (at + FRAME_HEADER + len > buf.length) break
    const payload = buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len)
    if (crc32(payload) !== sum) break
    const rec = decodePayload(payload)
    if (!rec) break
    records.push(rec)
    at += FRAME_HEADER + len
  }
  return { records, torn: at !== buf.length }
}

function listSegments(dir: string): Segment[] {
  return readdirSync(dir)
    .map((name) => ({ name, m: SEGMENT_RE.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ firstSeq: Number(m[1]), path: join(dir, name), bytes: 0 }))
    .sort((a, b) => a.firstSeq - b.firstSeq)
}

function toWriteError(dir: string, err: unknown): JournalWriteError {
  const code = (err as NodeJS.ErrnoException)?.code
  const why =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'disk full'
      : code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
        ? 'data folder is read-only'
        : `write error${code ? ` (${code})` : ''}`
  return new JournalWriteError(why, `${why}: cannot write to ${dir} (${err instanceof Error ? err.message : String(err)})`)
}
