import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ApiError } from '../../shared/api/errors'
import type {
  AttachmentSourceInfo,
  SourceInfo,
  SourceOrigin,
  StoreSourceInfo
} from '../../shared/model/sources'
import type { RunSummary } from '../../shared/model/live'
import { Attachment } from '../live/attachment'
import { RunTracker } from '../live/run-tracker'
import { PersptStore } from '../perspt/perspt-store'
import { Coalescer } from './coalescer'
import type { EventHub } from './event-hub'

interface StoreEntry {
  kind: 'store'
  id: string
  label: string
  path: string
  origin: SourceOrigin
  store: PersptStore
}

interface AttachmentEntry {
  kind: 'attachment'
  id: string
  label: string
  url: string
  origin: SourceOrigin
  attachment: Attachment
}

type Entry = StoreEntry | AttachmentEntry

export interface SourceRegistryOptions {
  tmpRoot: string
  events: EventHub
  /** How often stores are checked for changes (stat only; a snapshot is taken only on change). */
  pollMs?: number
  /** Called after the user-visible set of sources changed (added, renamed, removed). */
  onSetChanged?: (sources: readonly SourceInfo[]) => void
}

/** A stable id from a path or URL, so deep links survive restarts. */
function sourceId(prefix: string, key: string): string {
  return `${prefix}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`
}

/**
 * Every source Vigil watches: Perspt stores (polled, snapshot-read) and live attachments. Turns their
 * state changes into push events, coalesced so a busy agent cannot flood the renderers.
 */
export class SourceRegistry {
  readonly tracker: RunTracker
  private readonly entries = new Map<string, Entry>()
  private readonly coalescer = new Coalescer(100)
  /** Progress and state of each running run as last reported, see progressed(). */
  private readonly runStates = new Map<string, string>()
  private readonly pollTimer: NodeJS.Timeout
  private polling = false
  private closed = false

  constructor(private readonly opts: SourceRegistryOptions) {
    try {
      mkdirSync(opts.tmpRoot, { recursive: true })
    } catch {
      // A full or read-only temp folder must not stop Vigil: each store makes its folder when it
      // first copies, and says there what is wrong with it (problems.ts "no-space", "private-folder").
    }
    this.tracker = new RunTracker({
      onRunUpdated: (run) => this.coalescer.schedule(`run:${run.runId}`, () => opts.events.emit('run-updated', run), { urgent: this.progressed(run) }),
      onRunOps: (delta) => opts.events.runFeed.publish(delta, this.tracker.limits)
    })
    this.pollTimer = setInterval(() => void this.pollStores(), opts.pollMs ?? 500)
    this.pollTimer.unref()
  }

  /**
   * Whether a run's progress or state moved since its last update (not only its event count): such an
   * update is pushed at once instead of waiting for the end of the coalescing window, so the run's
   * header follows task completions without the window's delay.
   */
  private progressed(run: RunSummary): boolean {
    const state = `${run.status}|${run.completedTasks}|${run.failedTasks}|${run.totalTasks}|${run.stale ? 1 : 0}|${run.endedAt ?? ''}`
    const before = this.runStates.get(run.runId)
    if (run.status === 'running') this.runStates.set(run.runId, state)
    else this.runStates.delete(run.runId) // ended runs change rarely; keep no state for them
    return before !== state
  }

  list(): SourceInfo[] {
    return [...this.entries.values()].map((e) => this.info(e))
  }

  get(id: string): SourceInfo {
    return this.info(this.entry(id))
  }

  addStore(path: string, origin: SourceOrigin, label?: string): StoreSourceInfo {
    const absolute = resolve(path)
    const id = sourceId('store', absolute)
    const existing = this.entries.get(id)
    if (existing) return this.info(existing) as StoreSourceInfo
    // Changes the store's folder reports are read at once (latest wins); the poll stays the fallback.
    const store = new PersptStore({
      path: absolute,
      tmpRoot: join(this.opts.tmpRoot, id),
      onSourceChange: () => this.refreshStore(entry),
      // The first read's list goes out before its counts (which follow as the next version).
      onListed: () => {
        if (this.closed || this.entries.get(id) !== entry) return
        this.opts.events.emit('store-updated', { storeId: id, version: store.status().version, sessions: store.changedSessions() })
        this.sourcesChanged()
      }
    })
    const entry: StoreEntry = { kind: 'store', id, label: label ?? defaultStoreLabel(absolute), path: absolute, origin, store }
    this.entries.set(id, entry)
    this.setChanged()
    void this.refreshStore(entry)
    return this.info(entry) as StoreSourceInfo
  }

  addAttachment(url: string, origin: SourceOrigin, label?: string): AttachmentSourceInfo {
    const id = sourceId('attach', url)
    const existing = this.entries.get(id)
    if (existing) return this.info(existing) as AttachmentSourceInfo
    const attachment = new Attachment({
      sourceId: id,
      url,
      tracker: this.tracker,
      onStatus: () => this.sourcesChanged()
    })
    const entry: AttachmentEntry = { kind: 'attachment', id, label: label ?? defaultAttachmentLabel(url), url, origin, attachment }
    this.entries.set(id, entry)
    attachment.start()
    this.setChanged()
    return this.info(entry) as AttachmentSourceInfo
  }

  rename(id: string, label: string): SourceInfo {
    const entry = this.entry(id)
    entry.label = label
    this.setChanged()
    return this.info(entry)
  }

  async remove(id: string): Promise<void> {
    const entry = this.entry(id)
    this.entries.delete(id)
    this.setChanged()
    if (entry.kind === 'store') await entry.store.close()
    else {
      await entry.attachment.close()
      this.tracker.markSourceDisconnected(id)
    }
  }

  store(id: string): PersptStore {
    const entry = this.entry(id)
    if (entry.kind !== 'store') throw new ApiError('bad-request', `Source "${id}" is not a Perspt store.`)
    return entry.store
  }

  attachment(id: string): Attachment {
    const entry = this.entry(id)
    if (entry.kind !== 'attachment') throw new ApiError('bad-request', `Source "${id}" is not an attachment.`)
    return entry.attachment
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.pollTimer)
    this.coalescer.dispose()
    const all = [...this.entries.values()]
    this.entries.clear()
    await Promise.all(all.map((e) => (e.kind === 'store' ? e.store.close() : e.attachment.close())))
  }

  private entry(id: string): Entry {
    const entry = this.entries.get(id)
    if (!entry) throw new ApiError('not-found', `No source with id "${id}". It may have been removed.`)
    return entry
  }

  private info(entry: Entry): SourceInfo {
    if (entry.kind === 'store') {
      return { kind: 'store', id: entry.id, label: entry.label, path: entry.path, origin: entry.origin, ...entry.store.status() }
    }
    return { kind: 'attachment', id: entry.id, label: entry.label, url: entry.url, origin: entry.origin, ...entry.attachment.status() }
  }

  private setChanged(): void {
    this.sourcesChanged()
    this.opts.onSetChanged?.(this.list())
  }

  private sourcesChanged(): void {
    if (this.closed) return
    this.coalescer.schedule('sources', () => this.opts.events.emit('sources-changed', this.list()))
  }

  private async refreshStore(entry: StoreEntry): Promise<void> {
    const before = JSON.stringify(entry.store.status())
    const changed = await entry.store.refresh()
    if (this.closed || this.entries.get(entry.id) !== entry) return
    const status = entry.store.status()
    if (changed) this.opts.events.emit('store-updated', { storeId: entry.id, version: status.version, sessions: entry.store.changedSessions() })
    if (changed || JSON.stringify(status) !== before) this.sourcesChanged()
  }

  /** One pass over all stores; passes never overlap, so a slow copy delays the next poll instead of piling up. */
  private async pollStores(): Promise<void> {
    if (this.polling || this.closed) return
    this.polling = true
    try {
      for (const entry of [...this.entries.values()]) {
        if (entry.kind === 'store') await this.refreshStore(entry)
      }
    } finally {
      this.polling = false
    }
  }
}

function defaultStoreLabel(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean)
  return parts.slice(-2).join('/') || path
}

function defaultAttachmentLabel(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
