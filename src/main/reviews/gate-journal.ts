// Pending review gates on disk, so they survive kill -9 and restarts: an append-only journal in Vigil's
// data folder (next to recordings.duckdb), one line per change:
//
//   <16 hex of sha1(json)> <json>\n      json = {"op":"put","gate":{…},"secretHash"?:"…"} | {"op":"del","id":"…"}
//
// `secretHash` is the SHA-256 (hex) of the per-gate secret the review API gave the gate's creator, so it
// can wait for its own decision again after a restart; the secret itself is never written.
//
// One writer, group commit: every change made in one event-loop turn is written with one write() and one
// fdatasync(); `flush()` resolves once everything queued before it is on disk (the review API answers 201
// only after it). A torn or corrupt line (kill -9 mid-write, a bad block) fails its checksum and is skipped.
// At open, and whenever the appended lines outgrow the live set, the journal is rewritten compactly (a
// temporary file, fsync, rename, fsync of the folder). A folder that is read-only or full never stops
// gates: they keep working in memory, `status().problem` says why (logged once), and each later change
// (and a retry every 10 s) tries a full rewrite until the disk takes it again.
import { createHash } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { ReviewGate } from '../../shared/model/reviews'

export const GATE_JOURNAL_FILE = 'pending-reviews.journal'
const RETRY_MS = 10_000
/** Appended bytes before a rewrite, at least (more when the live set is big: twice its size). */
const MIN_REWRITE_BYTES = 16 * 1024 * 1024

export interface GateJournalStatus {
  path: string
  /** True while every change so far is on disk. */
  durable: boolean
  /** Why not, when not. */
  problem: string | null
  /** Lines skipped at open (a torn last write after kill -9, or corruption). */
  skippedAtOpen: number
}

type Op = { op: 'put'; gate: ReviewGate; secretHash?: string } | { op: 'del'; id: string }

export interface GateJournalOptions {
  /** The live pending gates now (what a rewrite writes). */
  snapshot: () => ReviewGate[]
  /** The hash of a live gate's creator secret (review API gates), written with it; null when it has none. */
  secretOf?: (id: string) => string | null
  log?: (message: string) => void
}

export class GateJournal {
  private fd: FileHandle | null = null
  private queue: string[] = []
  private waiters: (() => void)[] = []
  private scheduled: NodeJS.Immediate | null = null
  private writing: Promise<void> | null = null
  private needRewrite = false
  /** The journal exists but could not be read: never overwrite it (its gates may still be recovered by hand). */
  private unreadable = false
  private appended = 0
  private rewriteAt = MIN_REWRITE_BYTES
  private problem: string | null = null
  private retry: NodeJS.Timeout | null = null
  private closed = false
  private readonly log: (message: string) => void

  private constructor(
    readonly path: string,
    private readonly opts: GateJournalOptions,
    private skipped: number
  ) {
    this.log = opts.log ?? ((m) => console.warn(m))
  }

  /**
   * Reads the pending gates a previous Vigil left (sync: runs once at start, before any request), then
   * rewrites the journal compactly. Never throws: a folder it cannot read or write gives a journal whose
   * status names the problem, with whatever could be read.
   */
  static open(dataDir: string, opts: GateJournalOptions): { journal: GateJournal; gates: ReviewGate[]; secretHashes: Map<string, string> } {
    const path = join(dataDir, GATE_JOURNAL_FILE)
    let gates: ReviewGate[] = []
    let skipped = 0
    let secretHashes = new Map<string, string>()
    let readProblem: string | null = null
    try {
      if (existsSync(path)) ({ gates, skipped, secretHashes } = readJournal(readFileSync(path)))
    } catch (err) {
      readProblem = `cannot read ${path}: ${messageOf(err)}`
    }
    const journal = new GateJournal(path, opts, skipped)
    if (readProblem) {
      // Do not overwrite a journal that could not be read: the gates in it may still be recovered.
      journal.unreadable = true
      journal.fail(readProblem)
      return { journal, gates, secretHashes }
    }
    try {
      journal.rewriteSync(gates, (id) => secretHashes.get(id) ?? null)
    } catch (err) {
      journal.fail(`cannot write ${path}: ${messageOf(err)}`)
    }
    return { journal, gates, secretHashes }
  }

  status(): GateJournalStatus {
    return { path: this.path, durable: this.problem === null && !this.closed, problem: this.problem, skippedAtOpen: this.skipped }
  }

  put(gate: ReviewGate, secretHash?: string | null): void {
    this.enqueue(secretHash ? { op: 'put', gate, secretHash } : { op: 'put', gate })
  }

  remove(id: string): void {
    this.enqueue({ op: 'del', id })
  }

  /** Resolves once every change queued so far is on disk (true) or could not be written (false). */
  flush(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false)
    if (this.queue.length === 0 && !this.writing && !this.needRewrite) return Promise.resolve(this.problem === null)
    return new Promise((resolve) => {
      this.waiters.push(() => resolve(this.problem === null))
      this.schedule()
    })
  }

  /** Writes what is queued and closes the file. Pending gates stay in it for the next start. */
  async close(): Promise<void> {
    if (this.closed) return
    await this.flush()
    await this.writing
    this.closed = true
    if (this.retry) clearTimeout(this.retry)
    if (this.scheduled) clearImmediate(this.scheduled)
    this.retry = null
    this.scheduled = null
    await this.fd?.close().catch(() => undefined)
    this.fd = null
  }

  // -------------------------------------------------------------------------------------------

  private enqueue(op: Op): void {
    if (this.closed) return
    this.queue.push(lineOf(op))
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.closed) return
    this.scheduled = setImmediate(() => {
      this.scheduled = null
      this.writing = this.commit().finally(() => {
        this.writing = null
        if (this.queue.length > 0 || this.waiters.length > 0) this.schedule()
      })
    })
  }

  private async commit(): Promise<void> {
    const lines = this.queue
    const waiters = this.waiters
    this.queue = []
    this.waiters = []
    try {
      if (this.unreadable) return
      if (this.needRewrite || this.appended > this.rewriteAt) {
        // The snapshot already holds every change queued so far.
        await this.rewrite(this.opts.snapshot())
      } else if (lines.length > 0) {
        const text = lines.join('')
        this.fd ??= await open(this.path, 'a')
        await writeAll(this.fd, text)
        await this.fd.datasync()
        this.appended += Buffer.byteLength(text)
      }
      if (this.problem !== null) {
        this.log(`vigil: pending review gates are saved to ${this.path} again.`)
        this.problem = null
      }
    } catch (err) {
      this.fail(`cannot write ${this.path}: ${messageOf(err)}`)
    } finally {
      for (const done of waiters) done()
    }
  }

  /**
   * Writes `gates` (taken when the rewrite starts: later changes are queued and appended after it) one
   * line per write, so up to 64 MiB of gates never make one big string or one long pause of the loop.
   */
  private async rewrite(gates: ReviewGate[]): Promise<void> {
    const tmp = `${this.path}.tmp`
    const out = await open(tmp, 'w')
    let bytes = 0
    try {
      for (const gate of gates) {
        const line = lineOf(putOp(gate, this.opts.secretOf?.(gate.id) ?? null))
        bytes += Buffer.byteLength(line)
        await writeAll(out, line)
      }
      await out.datasync()
    } catch (err) {
      // A half-written copy only takes space a full disk needs back.
      await out.close().catch(() => undefined)
      await unlink(tmp).catch(() => undefined)
      throw err
    }
    await out.close()
    await rename(tmp, this.path)
    syncFolder(dirname(this.path))
    await this.fd?.close().catch(() => undefined)
    this.fd = await open(this.path, 'a')
    this.afterRewrite(bytes)
  }

  private rewriteSync(gates: ReviewGate[], secretOf: (id: string) => string | null): void {
    const tmp = `${this.path}.tmp`
    const text = gates.map((gate) => lineOf(putOp(gate, secretOf(gate.id)))).join('')
    const out = openSync(tmp, 'w')
    try {
      const bytes = Buffer.from(text)
      for (let done = 0; done < bytes.length; ) {
        const n = writeSync(out, bytes, done, bytes.length - done)
        if (n <= 0) throw new Error('short write (is the disk full?)')
        done += n
      }
      fsyncSync(out)
    } finally {
      closeSync(out)
    }
    renameSync(tmp, this.path)
    syncFolder(dirname(this.path))
    this.fd = null // opened by the first commit (async), which appends from then on
    this.afterRewrite(Buffer.byteLength(text))
  }

  private afterRewrite(bytes: number): void {
    this.needRewrite = false
    this.appended = 0
    this.rewriteAt = Math.max(MIN_REWRITE_BYTES, 2 * bytes)
  }

  private fail(problem: string): void {
    if (this.problem === null) {
      this.log(`vigil: pending review gates are kept in memory only (they will not survive a restart): ${problem}`)
    }
    this.problem = problem
    this.needRewrite = true
    if (!this.retry && !this.closed && !this.unreadable) {
      this.retry = setTimeout(() => {
        this.retry = null
        if (this.problem !== null && this.needRewrite) {
          this.waiters.push(() => undefined)
          this.schedule()
        }
      }, RETRY_MS)
      this.retry.unref?.()
    }
  }
}

/** A write that returns fewer bytes than asked (a full disk does that before ENOSPC) is continued, never taken as done. */
async function writeAll(handle: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text)
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done)
    if (bytesWritten <= 0) throw new Error('short write (is the disk full?)')
    done += bytesWritten
  }
}

function putOp(gate: ReviewGate, secretHash: string | null): Op {
  return secretHash ? { op: 'put', gate, secretHash } : { op: 'put', gate }
}

function lineOf(op: Op): string {
  const json = JSON.stringify(op)
  return `${checksum(json)} ${json}\n`
}

function checksum(json: string): string {
  return createHash('sha1').update(json).digest('hex').slice(0, 16)
}

/** Applies the journal's valid lines in order; a line that fails its checksum or shape is skipped. */
export function readJournal(bytes: Buffer): { gates: ReviewGate[]; skipped: number; secretHashes: Map<string, string> } {
  const live = new Map<string, ReviewGate>()
  const secretHashes = new Map<string, string>()
  let skipped = 0
  let start = 0
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start)
    const complete = end !== -1
    if (!complete) end = bytes.length
    const line = bytes.toString('utf8', start, end)
    start = end + 1
    if (line === '') continue
    const op = complete ? parseLine(line) : null
    if (!op) {
      skipped++
      continue
    }
    if (op.op === 'put') {
      live.set(op.gate.id, op.gate)
      if (op.secretHash) secretHashes.set(op.gate.id, op.secretHash)
      else secretHashes.delete(op.gate.id)
    } else {
      live.delete(op.id)
      secretHashes.delete(op.id)
    }
  }
  return { gates: [...live.values()], skipped, secretHashes }
}

function parseLine(line: string): Op | null {
  const space = line.indexOf(' ')
  if (space !== 16) return null
  const json = line.slice(17)
  if (checksum(json) !== line.slice(0, 16)) return null
  try {
    const op = JSON.parse(json) as Op
    if (op.op === 'put' && isGate(op.gate) && (op.secretHash === undefined || isSecretHash(op.secretHash))) return op
    if (op.op === 'del' && typeof op.id === 'string') return op
  } catch {
    // not JSON: skipped
  }
  return null
}

function isGate(g: unknown): g is ReviewGate {
  if (typeof g !== 'object' || g === null) return false
  const r = g as Record<string, unknown>
  return (
    typeof r.id === 'string' &&
    typeof r.reviewId === 'string' &&
    typeof r.taskDescription === 'string' &&
    typeof r.taskOutput === 'string' &&
    typeof r.createdAt === 'string' &&
    typeof r.onTimeout === 'string' &&
    typeof r.timeoutMs === 'number' &&
    (r.expiresAt === null || typeof r.expiresAt === 'string') &&
    typeof r.source === 'object' &&
    r.source !== null &&
    ['api', 'hub', 'attachment'].includes(String((r.source as Record<string, unknown>).kind))
  )
}

function isSecretHash(h: unknown): h is string {
  return typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)
}

/** Makes a rename durable; folders cannot be opened for sync on Windows (and need not be). */
function syncFolder(dir: string): void {
  if (process.platform === 'win32') return
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
