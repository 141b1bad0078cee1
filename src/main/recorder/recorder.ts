// Records every live AgentEnsemble message a RunTracker ingests into Vigil's own DuckDB file, so runs
// survive a restart (replayInto) and can be exported as trace files. Plain Node, no electron.
//
// What is stored: one row per *individual* message, never a hello/hub_hello frame as such.
// Late-join replays are expanded and de-duplicated against what was already recorded:
//  * embedded `hello.snapshotTrace`: the server stores persistent messages in broadcast order, per run
//    (spec §1.2). Each recorded persistent message gets (run_key, ordinal) = (ensembleId|startedAt of its
//    ensemble_started, its position among that run's persistent messages). A snapshot element whose
//    ordinal is below the number already recorded for its run is a duplicate; the rest (missed while
//    disconnected) are recorded. Counting by position, not by content, keeps legitimately identical
//    messages (two equal tool_called frames carry no timestamp) apart.
//  * `recentIterations` / `iterationsByProducer`: keyed by type|role|description|iterationIndex within
//    the current run of the stream (the server keeps them for the current run only).
//  * hub envelopes (`event`, `hub_hello.snapshotTrace`): keyed by producerId|sequence|receivedAt.
//  * a hello with an empty snapshot (fresh server) is stored as a bare `{"type":"hello"}` marker so that
//    a replay ends the runs it ended; likewise a snapshot that no longer contains our latest run.
// The keys are rebuilt from the file on open, so a Vigil restart followed by a reconnect records
// nothing twice. Heartbeats, pongs and pings carry no run state and are not stored.
import { open as openFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { ApiError } from '../../shared/api/errors'
import type {
  ClientMessage,
  EventEnvelope,
  HelloMessage,
  HubHelloMessage,
  IterationSnapshot,
  ServerMessage
} from '../../shared/protocol/agentensemble'
import {
  PERSISTENT_TYPES,
  parseClientFrame,
  parseServerFrame,
  serializeClientMessage,
  serializeServerMessage
} from '../../shared/protocol/agentensemble'
import { parseEnvelope } from '../hub/ingress-parse'
import type { Incoming, RunTracker } from '../live/run-tracker'
import { IngestJournal } from './ingest-journal'
import type { JournalEntry, JournalRecord, JournalStats, JournalWriteError } from './ingest-journal'
import { segmentRuns } from './trace-files'

export const RECORDER_FORMAT = 'vigil-recordings'
export const RECORDER_SCHEMA_VERSION = 1

export interface RecorderOptions {
  /** Vigil's own DuckDB file (e.g. <dataDir>/recordings.duckdb). Never a Perspt store: foreign files are refused. */
  path: string
  /** Events older than this are deleted (on open and periodically). Default 30. */
  retentionDays?: number
  /** At most this many events are kept, oldest deleted first. Default 5,000,000. */
  maxEvents?: number
  /** Batch interval. Default 250 ms. */
  flushMs?: number
  /**
   * Unflushed events kept in memory. Past half of it the recorder reports itself congested (the hub
   * pauses publishers and answers POSTs 503 until it drains); past it the oldest unflushed are dropped
   * from memory and counted. They stay in the journal, which is then kept from that point and replayed
   * into the recording at the next start, so nothing journaled is lost. Default 50,000.
   */
  maxQueued?: number
  /** Unflushed message text kept in memory, in UTF-16 code units; as for maxQueued. Default 64 Mi. */
  maxQueuedChars?: number
  /**
   * The ingest journal's folder: events are made durable there before they are acknowledged, and
   * replayed from there into the recording at start. Default: `<path>.journal`; null: none
   * (events reach the recording only with its batches: a crash loses up to flushMs of them).
   */
  journalDir?: string | null
  /** Journal file access (tests inject disk-full and read-only failures). */
  journalOpenFile?: Parameters<typeof IngestJournal.start>[0]['openFile']
  /** How often retention runs while open. Default 10 minutes. */
  pruneEveryMs?: number
  /** Clock (tests). */
  now?: () => number
}

export interface RecorderStats {
  recorded: number
  queued: number
  dropped: number
  /**
   * Events recorded with a value that could not be serialized (a `structuredResult` nested too deep for
   * JSON.stringify) replaced by null; the rest of the event is kept.
   */
  replaced: number
  lastFlushMs: number | null
  /** Events not recorded (journal or recording could not be written), per source id. */
  unrecordedBySource: Record<string, number>
  /** Events dropped from memory by the queue bound, per source id (still in the journal). */
  droppedBySource: Record<string, number>
  /** Events replayed from the journal into the recording at start. */
  recoveredFromJournal: number
  journal: JournalStats | null
  /** "Recording paused: why", or null while recording works. */
  paused: string | null
}

/** One stored message, as it was ingested (hub envelopes unwrapped: producerId is the envelope's producer). */
export interface RecordedEvent {
  seq: number
  sourceId: string
  producerId: string | null
  receivedAt: string
  message: Incoming
}

export type RecorderOpenProblem = 'not-duckdb' | 'foreign' | 'newer-schema' | 'busy' | 'unreadable'

/** The file cannot be used as Vigil's recording store; `reason` says why. */
export class RecorderOpenError extends ApiError {
  constructor(
    readonly reason: RecorderOpenProblem,
    message: string
  ) {
    super(reason === 'busy' ? 'unavailable' : 'conflict', message)
  }
}

interface Row {
  seq: number
  recordedMs: number
  sourceId: string
  producerId: string | null
  receivedAt: string
  type: string
  message: string
  runKey: string | null
  ordinal: number | null
  dedupeKey: string | null
  iterKey: string | null
  /** The journal record it came from, or null without a journal. */
  journalSeq: number | null
}

interface StreamState {
  /** run_key of the latest ensemble_started seen on this stream. */
  runKey: string | null
  /** Persistent messages recorded per run_key (next ordinal). */
  counts: Map<string, number>
  /** Iteration keys recorded for the current run. */
  iter: Set<string>
  /** Recent hub envelope keys (bounded, insertion-ordered). */
  envelopes: Set<string>
}

const DAY_MS = 86_400_000
/**
 * DuckDB's own memory (buffer pool, appender, query state); its default is 80 % of RAM. The recorder only
 * appends batches and reads in chunks of REPLAY_CHUNK rows, so a small pool is plenty (larger work spills).
 */
export const RECORDER_MEMORY_LIMIT = '128MB'
const ENVELOPE_KEYS_PER_STREAM = 4096
const REPLAY_CHUNK = 5000
/** Rows appended between two event-loop turns while a batch is written. */
const APPEND_SLICE_ROWS = 1000
/** Journal bytes not yet acted on past which the recording reports itself congested. */
const JOURNAL_BACKLOG_BYTES = 4 * 1024 * 1024
const SKIPPED_TYPES: ReadonlySet<string> = new Set(['heartbeat', 'pong', 'ping'])

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS events (
     seq BIGINT NOT NULL,
     recorded_ms BIGINT NOT NULL,
     source_id VARCHAR NOT NULL,
     producer_id VARCHAR,
     received_at VARCHAR NOT NULL,
     type VARCHAR NOT NULL,
     message VARCHAR NOT NULL,
     run_key VARCHAR,
     ordinal INTEGER,
     dedupe_key VARCHAR,
     iter_key VARCHAR
   )`
]
/** Added to files of schema 1 in place: older readers ignore the column. */
const JOURNAL_SEQ_COLUMN = `ALTER TABLE events ADD COLUMN IF NOT EXISTS journal_seq BIGINT`
/** The meta row holding the journal seq up to which everything is in the recording. */
const JOURNAL_MARK = 'journal_seq'
/** `applying` value for an event that could not be journaled: shown live, not recorded. */
const NOT_JOURNALED = -1
/** Rows per commit while replaying the journal at start. */
const RECOVERY_BATCH = 20_000

export class Recorder {
  private readonly retentionMs: number
  private readonly maxEvents: number
  private readonly maxQueued: number
  private readonly maxQueuedChars: number
  private readonly now: () => number
  private queue: Row[] = []
  private head = 0
  /** Message text (UTF-16 code units) of queue[head..]. */
  private queuedChars = 0
  private replaced = 0
  private nextSeq = 1
  private recorded = 0
  private dropped = 0
  private lastFlushMs: number | null = null
  private chain: Promise<unknown> = Promise.resolve()
  private readonly streams = new Map<string, StreamState>()
  private readonly detachers = new Set<() => void>()
  private readonly replaying = new Set<RunTracker>()
  private flushTimer: NodeJS.Timeout | null = null
  private pruneTimer: NodeJS.Timeout | null = null
  private closed = false
  private journal: IngestJournal | null = null
  /** Journal seq of the event being applied now (its rows take it), NOT_JOURNALED, or null. */
  private applying: number | null = null
  /** Journal seqs appended for the hub, not yet applied (in order). */
  private readonly unapplied: number[] = []
  private unappliedHead = 0
  /** Lowest journal seq dropped from memory by the queue bound: the journal is kept from there. */
  private keepJournalFrom = Infinity
  private readonly unrecordedBySource = new Map<string, number>()
  private readonly droppedBySource = new Map<string, number>()
  private recoveredFromJournal = 0
  /** Why the recording file could not be written (batches are kept and retried), or null. */
  private writeProblem: string | null = null
  private readonly drainListeners = new Set<() => void>()
  private wasCongested = false
  /** Journal seq the rows being captured now take. */
  private rowSeq: number | null = null
  /** The message being captured, already serialized for the journal (set only during that capture). */
  private serialized: { message: Incoming; text: string; replaced: boolean } | null = null
  /** The journal mark last committed to the recording. */
  private committedMark = 0
  private catchUp: NodeJS.Immediate | null = null

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
    opts: RecorderOptions
  ) {
    this.retentionMs = Math.max(0, opts.retentionDays ?? 30) * DAY_MS
    this.maxEvents = Math.max(1, Math.floor(opts.maxEvents ?? 5_000_000))
    this.maxQueued = Math.max(1, Math.floor(opts.maxQueued ?? 50_000))
    this.maxQueuedChars = Math.max(1, Math.floor(opts.maxQueuedChars ?? 64 * 1024 * 1024))
    this.now = opts.now ?? Date.now
  }

  /** Opens (or creates) the recording file, applies retention and loads the de-duplication keys. */
  static async open(opts: RecorderOptions): Promise<Recorder> {
    const path = resolve(opts.path)
    const existing = await fileSize(path)
    if (existing !== null) await checkExisting(path, existing)
    let instance: DuckDBInstance
    try {
      instance = await DuckDBInstance.create(path, {
        threads: '1',
        memory_limit: RECORDER_MEMORY_LIMIT,
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false'
      })
    } catch (err) {
      throw openProblem(path, err)
    }
    let con: DuckDBConnection | null = null
    try {
      con = await instance.connect()
      await initSchema(con, path)
      await con.run(JOURNAL_SEQ_COLUMN)
      const rec = new Recorder(instance, con, opts)
      await rec.loadState()
      const journalDir = opts.journalDir === undefined ? `${path}.journal` : opts.journalDir
      if (journalDir !== null) {
        rec.journal = await rec.recoverJournal(journalDir, opts.journalOpenFile)
        rec.journal.onProgress = () => rec.checkDrain()
      }
      await rec.prune()
      const flushMs = Math.max(1, opts.flushMs ?? 250)
      rec.flushTimer = setInterval(() => void rec.flush(), flushMs)
      rec.flushTimer.unref()
      rec.pruneTimer = setInterval(() => void rec.prune().catch(() => undefined), Math.max(1000, opts.pruneEveryMs ?? 600_000))
      rec.pruneTimer.unref()
      return rec
    } catch (err) {
      con?.closeSync()
      instance.closeSync()
      throw err
    }
  }

  /** Records everything `tracker` ingests from now on (except what replayInto feeds it). Returns a detach. */
  attach(tracker: RunTracker): () => void {
    const untap = tracker.tap((sourceId, producerId, message, receivedAt) => {
      if (this.closed || this.replaying.has(tracker)) return
      try {
        this.captureLive(sourceId, producerId, message, receivedAt)
      } catch (err) {
        console.error('vigil recorder: could not capture a message:', err)
      }
    })
    const detach = () => {
      untap()
      this.detachers.delete(detach)
    }
    this.detachers.add(detach)
    return detach
  }

  /**
   * Feeds every recorded event back into `tracker` in original order (nothing is re-recorded). Call it
   * before the sources start: live frames that arrive between chunks are applied in between.
   */
  async replayInto(tracker: RunTracker): Promise<{ events: number }> {
    await this.flush()
    let after = 0
    let events = 0
    for (;;) {
      const chunk = await this.readChunk(after, null)
      if (chunk.length === 0) break
      this.replaying.add(tracker)
      try {
        tracker.batch(() => {
          for (const e of chunk) {
            tracker.ingest(e.sourceId, e.producerId, e.message, e.receivedAt)
            events++
          }
        })
      } finally {
        this.replaying.delete(tracker)
      }
      after = chunk[chunk.length - 1]?.seq ?? after
    }
    return { events }
  }

  /** Recorded events in order, optionally for one source only (flushes first). */
  async readEvents(filter: { sourceId?: string } = {}): Promise<RecordedEvent[]> {
    await this.flush()
    const out: RecordedEvent[] = []
    let after = 0
    for (;;) {
      const chunk = await this.readChunk(after, filter.sourceId ?? null)
      if (chunk.length === 0) return out
      out.push(...chunk)
      after = chunk[chunk.length - 1]?.seq ?? after
    }
  }

  /** The recorded events of one run, attributed the way RunTracker does (for trace export). */
  async runEvents(runId: string): Promise<RecordedEvent[]> {
    await this.flush()
    const reader = await this.run(() => this.con.runAndReadAll('SELECT DISTINCT source_id FROM events'))
    const sources = reader.getRowObjectsJS().map((r) => String(r.source_id)).filter((s) => runId.startsWith(`${s}:`))
    for (const sourceId of sources) {
      const runs = segmentRuns(await this.readEvents({ sourceId }))
      const found = runs.get(runId)
      if (found) return found.events
    }
    return []
  }

  /** Runs `fn` on the recording file's connection, in turn with the recorder's own writes. */
  withConnection<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.run(() => fn(this.con))
  }

  /**
   * Journals a hub envelope before anything acts on it. `then` runs once it is durable (null: apply it
   * with `applyJournaled(seq, …)`) or could not be written (the error). Returns the seq, or null when
   * it cannot be journaled now (no journal, or the journal is paused): then nothing is called.
   */
  journalEnvelope(sourceId: string, producerId: string, text: string, receivedAt: string, then: (seq: number, err: JournalWriteError | null) => void): number | null {
    if (!this.journal || this.closed) return null
    const entry: JournalEntry = { kind: 'env', sourceId, producerId, receivedAt, text }
    const seq = this.journal.append(entry, (err) => {
      // Callbacks come in append order, so the head is this one.
      if (this.unapplied[this.unappliedHead] === seq) this.unappliedHead++
      if (this.unappliedHead > 1024 && this.unappliedHead * 2 > this.unapplied.length) {
        this.unapplied.splice(0, this.unappliedHead)
        this.unappliedHead = 0
      }
      then(seq ?? NOT_JOURNALED, err)
    })
    if (seq !== null) this.unapplied.push(seq)
    return seq
  }

  /** Runs `apply` (a journaled envelope's effects); what it records is attributed to journal record `seq`. */
  applyJournaled(seq: number, apply: () => void, stored?: { message: object; text: string }): void {
    if (!stored) return this.withApplying(seq, apply)
    // The row of that message reuses the caller's JSON text (the OTLP receiver's, already written for the journal).
    const outer = this.serialized
    this.serialized = { message: stored.message as Incoming, text: stored.text, replaced: false }
    try {
      this.withApplying(seq, apply)
    } finally {
      this.serialized = outer
    }
  }

  /** Runs `apply` for an event that could not be journaled: it is shown live but not recorded, and counted. */
  applyUnrecorded(sourceId: string, apply: () => void): void {
    if (this.journal) this.countUnrecorded(sourceId)
    this.withApplying(this.journal ? NOT_JOURNALED : null, apply)
  }

  /** True while there is a journal to make events durable in (and it is not paused). */
  get durable(): boolean {
    return this.journal !== null && !this.journal.paused && !this.closed
  }

  /**
   * True when the recording is behind (its queue past half its bound, or the journal's unsynced bytes
   * over 4 MiB not yet acted on): the hub pauses publishers and answers POSTs 503 until `onDrain` fires.
   */
  congested(): boolean {
    const queued = this.queue.length - this.head
    const congested =
      queued * 2 > this.maxQueued || this.queuedChars * 2 > this.maxQueuedChars || (this.journal?.backlogBytes ?? 0) > JOURNAL_BACKLOG_BYTES
    // Whoever asked may now hold a publisher back: the next check that finds room must wake it.
    if (congested) this.wasCongested = true
    return congested
  }

  /** Called once each time the recording stops being congested. */
  onDrain(listener: () => void): () => void {
    this.drainListeners.add(listener)
    return () => this.drainListeners.delete(listener)
  }

  stats(): RecorderStats {
    const journal = this.journal?.stats() ?? null
    return {
      recorded: this.recorded,
      queued: this.queue.length - this.head,
      dropped: this.dropped,
      replaced: this.replaced,
      lastFlushMs: this.lastFlushMs,
      unrecordedBySource: Object.fromEntries(this.unrecordedBySource),
      droppedBySource: Object.fromEntries(this.droppedBySource),
      recoveredFromJournal: this.recoveredFromJournal,
      journal,
      paused: this.pausedText()
    }
  }

  /** "Recording paused: why" while the journal or the recording file cannot be written; else null. */
  pausedText(): string | null {
    const why = this.journal?.problemText() ?? this.writeProblem
    return why ? `Recording paused: ${why}` : null
  }

  /** Writes everything queued so far in one transaction (kept and retried later if it cannot be written). */
  flush(): Promise<void> {
    return this.run(async () => {
      await this.writeBatch()
    })
  }

  /** Applies retention now: by age, then by count (oldest first). Returns the rows deleted. */
  prune(): Promise<number> {
    return this.run(async () => {
      let deleted = 0
      if (this.retentionMs > 0) {
        const cutoff = this.now() - this.retentionMs
        const r = await this.con.run('DELETE FROM events WHERE recorded_ms < $1', [BigInt(Math.floor(cutoff))])
        deleted += Number(r.rowsChanged)
      }
      const r = await this.con.run(
        `DELETE FROM events WHERE seq < (SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ${this.maxEvents - 1})`
      )
      deleted += Number(r.rowsChanged)
      return deleted
    })
  }

  /** Detaches from every tracker, flushes and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    for (const detach of [...this.detachers]) detach()
    if (this.flushTimer) clearInterval(this.flushTimer)
    if (this.pruneTimer) clearInterval(this.pruneTimer)
    this.flushTimer = null
    this.pruneTimer = null
    try {
      await this.journal?.settle()
      await this.flush()
    } finally {
      this.closed = true
      await this.chain.catch(() => undefined)
      await this.journal?.close()
      this.con.closeSync()
      this.instance.closeSync()
    }
  }

  // -------------------------------------------------------------------------------------------
  // Capture (synchronous, in tap order)

  /** A message the tracker ingested. Outside a hub envelope's apply, it is journaled here first. */
  private captureLive(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    if (this.applying === NOT_JOURNALED) return
    if (this.applying !== null || !this.journal) {
      this.rowSeq = this.applying
      this.capture(sourceId, producerId, message, receivedAt)
      return
    }
    if (SKIPPED_TYPES.has(message.type)) return
    let replaced = false
    const text = serializeForStorage(message, () => (replaced = true))
    const seq = this.journal.append({ kind: 'msg', sourceId, producerId, receivedAt, text })
    if (seq === null) return this.countUnrecorded(sourceId)
    this.rowSeq = seq
    // The row of this very message reuses the journal's text instead of serializing it again.
    this.serialized = { message, text, replaced }
    try {
      this.capture(sourceId, producerId, message, receivedAt)
    } finally {
      this.serialized = null
    }
  }

  /** A journal record replayed at start: captured exactly as it was live. */
  private captureRecord(rec: JournalRecord): void {
    this.rowSeq = rec.seq
    if (rec.kind === 'env') {
      const parsed = parseEnvelope(rec.text)
      if (!parsed.ok || !parsed.message) return
      this.capture(rec.sourceId, parsed.producer.producerId, parsed.message, parsed.receivedAt ?? rec.receivedAt)
      return
    }
    const message = parseStored(rec.text)
    if (message) this.capture(rec.sourceId, rec.producerId, message, rec.receivedAt)
  }

  private withApplying(seq: number | null, apply: () => void): void {
    const outer = this.applying
    this.applying = seq
    try {
      apply()
    } finally {
      this.applying = outer
    }
  }

  private countUnrecorded(sourceId: string): void {
    this.unrecordedBySource.set(sourceId, (this.unrecordedBySource.get(sourceId) ?? 0) + 1)
  }

  private capture(sourceId: string, producerId: string | null, message: Incoming, receivedAt: string): void {
    switch (message.type) {
      case 'hello':
        return this.captureHello(sourceId, producerId, message, receivedAt)
      case 'hub_hello':
        return this.captureHubHello(sourceId, message, receivedAt)
      case 'event':
        return this.captureEnvelope(sourceId, message, receivedAt)
    }
    if (SKIPPED_TYPES.has(message.type)) return
    this.captureOne(sourceId, producerId, message, receivedAt, null)
  }

  private captureHello(sourceId: string, producerId: string | null, hello: HelloMessage, receivedAt: string): void {
    const st = this.stream(sourceId, producerId)
    const snapshot = hello.snapshotTrace ?? []
    if (snapshot.length === 0) {
      this.enqueue(sourceId, producerId, { type: 'hello' }, receivedAt, {})
    } else {
      const keys = new Set<string>()
      for (const m of snapshot) if (m.type === 'ensemble_started') keys.add(runKeyOf(m))
      // Our latest run is gone from the server's log: a restart (or eviction) ended it.
      if (st.runKey !== null && !keys.has(st.runKey)) this.enqueue(sourceId, producerId, { type: 'hello' }, receivedAt, {})
      let key = ''
      let ordinal = -1
      for (const m of snapshot) {
        if (!PERSISTENT_TYPES.has(m.type)) {
          if (!SKIPPED_TYPES.has(m.type) && m.type !== 'hello') this.captureOne(sourceId, producerId, m, receivedAt, null)
          continue
        }
        if (m.type === 'ensemble_started') {
          key = runKeyOf(m)
          ordinal = 0
          if (st.runKey !== key) st.iter.clear()
          st.runKey = key
        } else {
          ordinal++
        }
        const known = st.counts.get(key) ?? 0
        if (ordinal < known) continue
        st.counts.set(key, ordinal + 1)
        this.enqueue(sourceId, producerId, m, receivedAt, { runKey: key, ordinal })
      }
    }
    this.captureIterations(sourceId, producerId, hello.recentIterations ?? [], receivedAt)
  }

  private captureHubHello(sourceId: string, hello: HubHelloMessage, receivedAt: string): void {
    const snapshot = hello.snapshotTrace ?? []
    if (snapshot.length === 0) this.enqueue(sourceId, null, { type: 'hub_hello' }, receivedAt, {})
    for (const envelope of snapshot) this.captureEnvelope(sourceId, envelope, receivedAt)
    for (const [producerId, items] of Object.entries(hello.iterationsByProducer ?? {})) {
      this.captureIterations(sourceId, producerId, items, receivedAt)
    }
  }

  private captureEnvelope(sourceId: string, envelope: EventEnvelope, receivedAt: string): void {
    const producerId = envelope.producer.producerId
    const inner = envelope.message
    if (SKIPPED_TYPES.has(inner.type) || inner.type === 'hello') return
    const st = this.stream(sourceId, producerId)
    const key = `env|${producerId}|${envelope.sequence}|${envelope.receivedAt ?? ''}`
    if (st.envelopes.has(key)) return
    rememberEnvelope(st, key)
    this.captureOne(sourceId, producerId, inner, envelope.receivedAt ?? receivedAt, key)
  }

  private captureIterations(sourceId: string, producerId: string | null, items: IterationSnapshot[], receivedAt: string): void {
    const st = this.stream(sourceId, producerId)
    for (const item of items) {
      for (const m of [item.started, item.completed]) {
        if (!m) continue
        if (st.iter.has(iterKeyOf(m))) continue
        this.captureOne(sourceId, producerId, m, receivedAt, null)
      }
    }
  }

  /** A message that really happened once on this stream (live, or newly learnt from a replay). */
  private captureOne(sourceId: string, producerId: string | null, m: Incoming, receivedAt: string, dedupeKey: string | null): void {
    const st = this.stream(sourceId, producerId)
    let runKey: string | null = null
    let ordinal: number | null = null
    let iterKey: string | null = null
    if (PERSISTENT_TYPES.has(m.type as ServerMessage['type'])) {
      if (m.type === 'ensemble_started') {
        runKey = runKeyOf(m)
        if (st.runKey !== runKey) st.iter.clear()
        st.runKey = runKey
      } else {
        runKey = st.runKey ?? ''
      }
      ordinal = st.counts.get(runKey) ?? 0
      st.counts.set(runKey, ordinal + 1)
    } else if (m.type === 'llm_iteration_started' || m.type === 'llm_iteration_completed') {
      iterKey = iterKeyOf(m)
      st.iter.add(iterKey)
    }
    this.enqueue(sourceId, producerId, m, receivedAt, { runKey, ordinal, dedupeKey, iterKey })
  }

  private enqueue(
    sourceId: string,
    producerId: string | null,
    m: Incoming,
    receivedAt: string,
    extra: { runKey?: string | null; ordinal?: number | null; dedupeKey?: string | null; iterKey?: string | null }
  ): void {
    const known = this.serialized?.message === m ? this.serialized : null
    if (known?.replaced) this.replaced++
    const text = known ? known.text : serializeForStorage(m, () => this.replaced++)
    this.queue.push({
      seq: this.nextSeq++,
      recordedMs: this.now(),
      sourceId,
      producerId,
      receivedAt,
      type: m.type,
      message: text,
      runKey: extra.runKey ?? null,
      ordinal: extra.ordinal ?? null,
      dedupeKey: extra.dedupeKey ?? null,
      iterKey: extra.iterKey ?? null,
      journalSeq: this.rowSeq
    })
    this.queuedChars += text.length
    // Bounded memory (by count and by text size): drop the oldest unflushed rows and count them. The
    // newest row always stays, even alone over the size bound (frames are at most 1 MiB anyway). A
    // dropped row's journal record is kept (the mark stops below it) and recorded at the next start.
    while (this.queue.length - this.head > 1 && (this.queue.length - this.head > this.maxQueued || this.queuedChars > this.maxQueuedChars)) {
      const row = this.queue[this.head]!
      this.queuedChars -= row.message.length
      this.head++
      this.dropped++
      this.droppedBySource.set(row.sourceId, (this.droppedBySource.get(row.sourceId) ?? 0) + 1)
      if (row.journalSeq !== null) this.keepJournalFrom = Math.min(this.keepJournalFrom, row.journalSeq)
      else this.countUnrecorded(row.sourceId)
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  private stream(sourceId: string, producerId: string | null): StreamState {
    const key = streamKey(sourceId, producerId)
    let st = this.streams.get(key)
    if (!st) {
      st = { runKey: null, counts: new Map(), iter: new Set(), envelopes: new Set() }
      this.streams.set(key, st)
    }
    return st
  }

  // -------------------------------------------------------------------------------------------
  // Storage

  /** Serializes every use of the connection; a failed step does not break the chain. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => {
      if (this.closed) throw new ApiError('unavailable', 'The recorder is closed.')
      return fn()
    })
    this.chain = next.catch(() => undefined)
    return next
  }

  /**
   * Commits the queue (and the journal mark) in one transaction. True when written (or nothing to
   * write). A failed batch is put back at the head of the queue and retried with the next flush; the
   * recording shows "Recording paused" meanwhile.
   */
  private async writeBatch(): Promise<boolean> {
    const mark = this.journalMark()
    if (this.head >= this.queue.length && (mark === null || mark <= this.committedMark)) {
      this.checkDrain()
      return true
    }
    const batch = this.head === 0 ? this.queue : this.queue.slice(this.head)
    const chars = this.queuedChars
    this.queue = []
    this.head = 0
    this.queuedChars = 0
    const started = performance.now()
    try {
      await this.con.run('BEGIN TRANSACTION')
      if (batch.length > 0) {
        const appender = await this.con.createAppender('events')
        try {
          for (let i = 0; i < batch.length; i++) {
            // Appending is synchronous native work: in slices, with the event loop served in between,
            // so a 50,000-row batch never stalls ingest, timers or browsers.
            if (i > 0 && i % APPEND_SLICE_ROWS === 0) {
              appender.flushSync()
              await new Promise((resolveTurn) => setImmediate(resolveTurn))
            }
            const row = batch[i]!
            appender.appendBigInt(BigInt(row.seq))
            appender.appendBigInt(BigInt(Math.floor(row.recordedMs)))
            appender.appendVarchar(row.sourceId)
            appendNullable(appender, row.producerId)
            appender.appendVarchar(row.receivedAt)
            appender.appendVarchar(row.type)
            appender.appendVarchar(row.message)
            appendNullable(appender, row.runKey)
            if (row.ordinal === null) appender.appendNull()
            else appender.appendInteger(row.ordinal)
            appendNullable(appender, row.dedupeKey)
            appendNullable(appender, row.iterKey)
            if (row.journalSeq === null) appender.appendNull()
            else appender.appendBigInt(BigInt(row.journalSeq))
            appender.endRow()
          }
          appender.flushSync()
        } finally {
          appender.closeSync()
        }
      }
      if (mark !== null && mark > this.committedMark) {
        await this.con.run('INSERT OR REPLACE INTO meta VALUES ($1, $2)', [JOURNAL_MARK, String(mark)])
      }
      await this.con.run('COMMIT')
      this.recorded += batch.length
      this.lastFlushMs = performance.now() - started
      if (mark !== null && mark > this.committedMark) {
        this.committedMark = mark
        this.journal?.release(mark)
      }
      if (this.writeProblem) {
        console.warn(`vigil recorder: recording again (${this.writeProblem} is over).`)
        this.writeProblem = null
      }
      this.checkDrain()
      return true
    } catch (err) {
      await this.con.run('ROLLBACK').catch(() => undefined)
      // Nothing is lost: the batch goes back to the head of the queue (the bound still applies) and
      // its journal records stay until a later commit covers them.
      this.queue = this.queue.length === 0 ? batch : batch.concat(this.queue)
      this.queuedChars += chars
      const why = writeProblemText(err)
      if (this.writeProblem !== why) console.error(`vigil recorder: recording paused: ${why}:`, err)
      this.writeProblem = why
      return false
    }
  }

  /** The journal seq below which every record is in the recording (or produced no row), or null without a journal. */
  private journalMark(): number | null {
    if (!this.journal) return null
    const unapplied = this.unappliedHead < this.unapplied.length ? this.unapplied[this.unappliedHead]! : Infinity
    return Math.min(unapplied, this.journal.next, this.keepJournalFrom) - 1
  }

  /** After a commit: wake paused publishers once the recording caught up, or keep writing while behind. */
  private checkDrain(): void {
    const congested = this.congested()
    if (congested && !this.catchUp && !this.closed) {
      this.catchUp = setImmediate(() => {
        this.catchUp = null
        void this.flush()
      })
    }
    if (this.wasCongested && !congested) {
      for (const listener of [...this.drainListeners]) {
        try {
          listener()
        } catch (err) {
          console.error('vigil recorder: a drain listener failed:', err)
        }
      }
    }
    this.wasCongested = congested
  }

  /**
   * Replays the journal records the recording lacks (past its mark, and not already stored with their
   * seq), commits them, then starts a fresh journal after the highest seq seen.
   */
  private async recoverJournal(dir: string, openFile: RecorderOptions['journalOpenFile']): Promise<IngestJournal> {
    const markRows = await this.con.runAndReadAll('SELECT value FROM meta WHERE key = $1', [JOURNAL_MARK])
    const mark = Number(markRows.getRowObjectsJS()[0]?.value ?? 0) || 0
    const stored = await this.con.runAndReadAll('SELECT DISTINCT journal_seq AS s FROM events WHERE journal_seq > $1', [BigInt(mark)])
    const seen = new Set(stored.getRowObjectsJS().map((r) => Number(r.s)))
    const found = IngestJournal.recover(dir)
    for (const rec of found.records()) {
      if (rec.seq <= mark || seen.has(rec.seq)) continue
      this.captureRecord(rec)
      this.recoveredFromJournal++
      if (this.queue.length - this.head >= RECOVERY_BATCH && !(await this.writeBatch())) {
        throw new Error(`the journal could not be replayed into the recording: ${this.writeProblem ?? 'write failed'}`)
      }
    }
    this.rowSeq = null
    if (!(await this.writeBatch())) throw new Error(`the journal could not be replayed into the recording: ${this.writeProblem ?? 'write failed'}`)
    if (found.torn > 0) console.warn(`vigil recorder: ${found.torn} journal segment(s) ended in a torn write (a crash mid-write); the unacknowledged tail was skipped.`)
    if (this.recoveredFromJournal > 0) console.log(`vigil recorder: ${this.recoveredFromJournal} event(s) replayed from the journal into the recording.`)
    const last = Math.max(mark, found.lastSeq)
    await this.con.run('INSERT OR REPLACE INTO meta VALUES ($1, $2)', [JOURNAL_MARK, String(last)])
    this.committedMark = last
    return IngestJournal.start({ dir, openFile }, last)
  }

  private async readChunk(afterSeq: number, sourceId: string | null): Promise<RecordedEvent[]> {
    const reader = await this.run(() =>
      sourceId === null
        ? this.con.runAndReadAll(
            `SELECT seq, source_id, producer_id, received_at, message FROM events WHERE seq > $1 ORDER BY seq LIMIT ${REPLAY_CHUNK}`,
            [BigInt(afterSeq)]
          )
        : this.con.runAndReadAll(
            `SELECT seq, source_id, producer_id, received_at, message FROM events WHERE seq > $1 AND source_id = $2 ORDER BY seq LIMIT ${REPLAY_CHUNK}`,
            [BigInt(afterSeq), sourceId]
          )
    )
    const out: RecordedEvent[] = []
    let last = afterSeq
    for (const r of reader.getRowObjectsJS()) {
      const seq = Number(r.seq)
      last = seq
      const message = parseStored(String(r.message))
      if (!message) continue
      out.push({
        seq,
        sourceId: String(r.source_id),
        producerId: r.producer_id === null ? null : String(r.producer_id),
        receivedAt: String(r.received_at),
        message
      })
    }
    // Keep paging past rows that no longer parse.
    if (out.length === 0 && last > afterSeq) return this.readChunk(last, sourceId)
    return out
  }

  /** Rebuilds the de-duplication keys and the next seq from the file. */
  private async loadState(): Promise<void> {
    const con = this.con
    const max = await con.runAndReadAll('SELECT coalesce(max(seq), 0) AS m FROM events')
    this.nextSeq = Number(max.getRowObjectsJS()[0]?.m ?? 0) + 1

    const counts = await con.runAndReadAll(
      `SELECT source_id, producer_id, run_key, max(ordinal) + 1 AS n FROM events WHERE ordinal IS NOT NULL GROUP BY ALL`
    )
    for (const r of counts.getRowObjectsJS()) {
      this.stream(String(r.source_id), nullable(r.producer_id)).counts.set(String(r.run_key ?? ''), Number(r.n))
    }

    const latest = await con.runAndReadAll(
      `SELECT source_id, producer_id, arg_max(run_key, seq) AS run_key FROM events WHERE type = 'ensemble_started' GROUP BY ALL`
    )
    for (const r of latest.getRowObjectsJS()) this.stream(String(r.source_id), nullable(r.producer_id)).runKey = nullable(r.run_key)

    const iters = await con.runAndReadAll(
      `WITH l AS (SELECT source_id, producer_id, max(seq) AS s FROM events WHERE type = 'ensemble_started' GROUP BY ALL)
       SELECT e.source_id, e.producer_id, e.iter_key FROM events e
       LEFT JOIN l ON e.source_id = l.source_id AND e.producer_id IS NOT DISTINCT FROM l.producer_id
       WHERE e.iter_key IS NOT NULL AND e.seq > coalesce(l.s, 0)`
    )
    for (const r of iters.getRowObjectsJS()) this.stream(String(r.source_id), nullable(r.producer_id)).iter.add(String(r.iter_key))

    const envs = await con.runAndReadAll(
      `SELECT source_id, producer_id, dedupe_key FROM (
         SELECT source_id, producer_id, dedupe_key, seq,
                row_number() OVER (PARTITION BY source_id, producer_id ORDER BY seq DESC) AS rn
         FROM events WHERE dedupe_key IS NOT NULL) WHERE rn <= ${ENVELOPE_KEYS_PER_STREAM} ORDER BY seq`
    )
    for (const r of envs.getRowObjectsJS()) rememberEnvelope(this.stream(String(r.source_id), nullable(r.producer_id)), String(r.dedupe_key))
  }
}

// ---------------------------------------------------------------------------------------------

function streamKey(sourceId: string, producerId: string | null): string {
  return `${sourceId}\u0000${producerId ?? ''}\u0000${producerId === null ? 'embedded' : 'hub'}`
}

function runKeyOf(m: { ensembleId: string | null; startedAt: string | null }): string {
  return `${m.ensembleId ?? ''}|${m.startedAt ?? ''}`
}

function iterKeyOf(m: { type: string; agentRole: string; taskDescription: string; iterationIndex: number }): string {
  return `${m.type}|${m.agentRole}|${m.taskDescription}|${m.iterationIndex}`
}

function rememberEnvelope(st: StreamState, key: string): void {
  st.envelopes.delete(key)
  st.envelopes.add(key)
  if (st.envelopes.size > ENVELOPE_KEYS_PER_STREAM) {
    const oldest = st.envelopes.values().next().value
    if (oldest !== undefined) st.envelopes.delete(oldest)
  }
}

/**
 * The stored text of a message. A value JSON.stringify cannot handle (a `structuredResult` nested ~100,000
 * levels deep: RangeError) is replaced by null, so the event is still recorded, and `onReplaced` counts it.
 * The tracker shows such a value as null too.
 */
function serializeForStorage(m: Incoming, onReplaced: () => void): string {
  try {
    return isClientMessage(m) ? serializeClientMessage(m) : serializeServerMessage(m)
  } catch (err) {
    if (isClientMessage(m) || m.type !== 'tool_called' || m.structuredResult === null) throw err
    const text = serializeServerMessage({ ...m, structuredResult: null })
    onReplaced()
    return text
  }
}

function isClientMessage(m: Incoming): m is ClientMessage {
  return m.type === 'review_decision' || m.type === 'ping'
}

function parseStored(text: string): Incoming | null {
  const server = parseServerFrame(text)
  if (server.ok) return server.message
  const client = parseClientFrame(text)
  return client.ok ? client.message : null
}

function writeProblemText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  if (/No space left|ENOSPC|disk full|quota/i.test(text)) return 'disk full'
  if (/read-only|EROFS|EACCES|Permission denied/i.test(text)) return 'data folder is read-only'
  return `cannot write the recording (${text.slice(0, 200)})`
}

function nullable(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v)
}

function appendNullable(appender: { appendNull(): void; appendVarchar(v: string): void }, v: string | null): void {
  if (v === null) appender.appendNull()
  else appender.appendVarchar(v)
}

async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path)
    if (!s.isFile()) throw new RecorderOpenError('unreadable', `${path} is not a file; Vigil records runs into a DuckDB file of its own.`)
    return s.size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    if (err instanceof RecorderOpenError) throw err
    throw new RecorderOpenError('unreadable', `Vigil cannot read ${path}: ${(err as Error).message}`)
  }
}

/** An existing file must be a DuckDB database written by this recorder (or an empty one). Checked read-only first. */
async function checkExisting(path: string, size: number): Promise<void> {
  const header = Buffer.alloc(12)
  if (size >= 12) {
    const fh = await openFile(path, 'r')
    try {
      await fh.read(header, 0, 12, 0)
    } finally {
      await fh.close()
    }
  }
  if (size < 12 || header.subarray(8, 12).toString('latin1') !== 'DUCK') {
    throw new RecorderOpenError('not-duckdb', `${path} is not a DuckDB database, so it is not a Vigil recording file. Choose another path.`)
  }
  let instance: DuckDBInstance
  try {
    // Read-only, so that a foreign database (a Perspt store!) is never checkpointed or otherwise touched.
    instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY', threads: '1', memory_limit: RECORDER_MEMORY_LIMIT })
  } catch (err) {
    throw openProblem(path, err)
  }
  try {
    const con = await instance.connect()
    try {
      await verifyOwner(con, path)
    } finally {
      con.closeSync()
    }
  } finally {
    instance.closeSync()
  }
}

async function verifyOwner(con: DuckDBConnection, path: string): Promise<'empty' | 'ours'> {
  const tables = (await con.runAndReadAll(`SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()`))
    .getRowObjectsJS()
    .map((r) => String(r.table_name))
  if (tables.length === 0) return 'empty'
  if (!tables.includes('meta') || !tables.includes('events')) {
    throw new RecorderOpenError('foreign', `${path} is a DuckDB database that Vigil did not create (tables: ${tables.slice(0, 5).join(', ')}). Vigil never records into another program's database; choose another path.`)
  }
  const meta = new Map<string, string>()
  try {
    for (const r of (await con.runAndReadAll('SELECT key, value FROM meta')).getRowObjectsJS()) meta.set(String(r.key), String(r.value))
  } catch {
    throw new RecorderOpenError('foreign', `${path} has a "meta" table that is not Vigil's; choose another path.`)
  }
  if (meta.get('format') !== RECORDER_FORMAT) {
    throw new RecorderOpenError('foreign', `${path} is a DuckDB database that Vigil did not create; choose another path.`)
  }
  const version = Number(meta.get('schema_version'))
  if (!Number.isInteger(version) || version > RECORDER_SCHEMA_VERSION) {
    throw new RecorderOpenError('newer-schema', `${path} was written by a newer Vigil (recording schema ${meta.get('schema_version') ?? '?'}, this one reads ${RECORDER_SCHEMA_VERSION}).`)
  }
  return 'ours'
}

async function initSchema(con: DuckDBConnection, path: string): Promise<void> {
  if ((await verifyOwner(con, path)) === 'ours') return
  await con.run('BEGIN TRANSACTION')
  try {
    for (const sql of SCHEMA) await con.run(sql)
    await con.run('INSERT INTO meta VALUES ($1, $2), ($3, $4), ($5, $6)', [
      'format',
      RECORDER_FORMAT,
      'schema_version',
      String(RECORDER_SCHEMA_VERSION),
      'created_at',
      new Date().toISOString()
    ])
    await con.run('COMMIT')
  } catch (err) {
    await con.run('ROLLBACK').catch(() => undefined)
    throw err
  }
}

function openProblem(path: string, err: unknown): RecorderOpenError {
  const text = err instanceof Error ? err.message : String(err)
  // Precise: a corrupt file's message says "block" ("Could not read block at location …"), not a lock.
  if (/\block\b|Could not set lock|Conflicting lock/i.test(text)) return new RecorderOpenError('busy', `${path} is in use by another process (${text}).`)
  if (/not a valid DuckDB|invalid.*database|magic|Serialization/i.test(text)) {
    return new RecorderOpenError('not-duckdb', `${path} is not a readable DuckDB database (${text}); it is not a Vigil recording file.`)
  }
  return new RecorderOpenError('unreadable', `Vigil cannot open ${path}: ${text}`)
}
