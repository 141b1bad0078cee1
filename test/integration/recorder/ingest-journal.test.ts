// The ingest journal on real files: group commit in order, recovery after torn and corrupt writes,
// segment release, and write failures (disk full, read-only) that pause it and then resume by themselves.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { IngestJournal, JournalWriteError, type JournalEntry, type JournalRecord } from '../../../src/main/recorder/ingest-journal'

const root = mkdtempSync(join(tmpdir(), 'vigil-journal-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => join(root, `j${++n}`)

const entry = (i: number, text = `{"type":"tool_called","i":${i}}`): JournalEntry => ({
  kind: i % 2 === 0 ? 'env' : 'msg',
  sourceId: 'hub',
  producerId: i % 3 === 0 ? null : `p-${i % 3}`,
  receivedAt: `2026-03-05T14:00:00.${String(i % 1000).padStart(3, '0')}Z`,
  text
})

function readAll(dir: string): { records: JournalRecord[]; torn: number; lastSeq: number } {
  const found = IngestJournal.recover(dir)
  const records = [...found.records()]
  return { records, torn: found.torn, lastSeq: found.lastSeq }
}

/** Appends `count` entries and resolves once every callback ran, with the callbacks' order and errors. */
async function appendAll(j: IngestJournal, from: number, count: number): Promise<{ order: number[]; errors: (JournalWriteError | null)[] }> {
  const order: number[] = []
  const errors: (JournalWriteError | null)[] = []
  await Promise.all(
    Array.from({ length: count }, (_, k) =>
      new Promise<void>((resolve) => {
        const seq = j.append(entry(from + k), (err) => {
          order.push(seq!)
          errors.push(err)
          resolve()
        })
        if (seq === null) resolve()
      })
    )
  )
  return { order, errors }
}

describe('IngestJournal', () => {
  it('makes appends durable in order and reads them back exactly', async () => {
    const dir = freshDir()
    const j = await IngestJournal.start({ dir }, 0)
    const unicode = 'emoji 🚀, quotes "x", NUL-free \u00e9'
    expect(j.append(entry(1, unicode))).toBe(1)
    const { order, errors } = await appendAll(j, 2, 999)
    expect(order).toEqual(Array.from({ length: 999 }, (_, k) => k + 2))
    expect(errors.every((e) => e === null)).toBe(true)
    expect(j.durable).toBe(1000)
    expect(j.stats()).toMatchObject({ synced: 1000, failed: 0, pending: 0, problem: null })
    expect(j.stats().durableWithinMs?.max).toBeGreaterThanOrEqual(0)
    await j.close()

    const { records, torn, lastSeq } = readAll(dir)
    expect(torn).toBe(0)
    expect(lastSeq).toBe(1000)
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, k) => k + 1))
    expect(records[0]).toEqual({ seq: 1, ...entry(1, unicode) })
    expect(records[999]).toEqual({ seq: 1000, ...entry(1000) })
    // Prompts and outputs: readable by this user only.
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600)
  })

  it('skips a torn last frame (a crash mid-write) and keeps everything before it', async () => {
    const dir = freshDir()
    const j = await IngestJournal.start({ dir }, 41)
    await appendAll(j, 0, 10)
    await j.close()
    const [segment] = readdirSync(dir)
    const path = join(dir, segment!)
    const size = statSync(path).size
    truncateSync(path, size - 5)
    const { records, torn, lastSeq } = readAll(dir)
    expect(torn).toBe(1)
    expect(records.map((r) => r.seq)).toEqual([42, 43, 44, 45, 46, 47, 48, 49, 50])
    expect(lastSeq).toBe(50)
  })

  it('stops a segment at a corrupt frame (bad checksum) and goes on with the next segment', async () => {
    const dir = freshDir()
    // Tiny segments: a new one after every batch over 4 KiB.
    const j = await IngestJournal.start({ dir, segmentBytes: 4096 }, 0)
    for (let b = 0; b < 3; b++) await appendAll(j, b * 50, 50)
    await j.close()
    const segments = readdirSync(dir).sort()
    expect(segments.length).toBeGreaterThanOrEqual(3)
    const first = join(dir, segments[0]!)
    const bytes = readFileSync(first)
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0xff, bytes.length - 3)
    writeFileSync(first, bytes)
    const { records, torn } = readAll(dir)
    expect(torn).toBe(1)
    const seqs = records.map((r) => r.seq)
    // The corrupt frame is the first segment's last one: it and only it is missing.
    expect(seqs).not.toContain(50)
    expect(seqs).toContain(49)
    expect(seqs).toContain(51)
    expect(seqs).toHaveLength(149)
  })

  it('ignores garbage files and a garbage tail, and rejects frames whose header is not a record', async () => {
    const dir = freshDir()
    const j = await IngestJournal.start({ dir }, 0)
    await appendAll(j, 0, 3)
    await j.close()
    writeFileSync(join(dir, 'notes.txt'), 'not a segment')
    const [segment] = readdirSync(dir).filter((f) => f.startsWith('journal-'))
    // A well-formed frame (right length and checksum) whose payload is not a record.
    const payload = Buffer.from('[1,"bogus"]\u0000x')
    const frame = Buffer.alloc(8 + payload.length)
    frame.writeUInt32LE(payload.length, 0)
    const { crc32 } = await import('node:zlib')
    frame.writeUInt32LE(crc32(payload), 4)
    payload.copy(frame, 8)
    appendFileSync(join(dir, segment!), frame)
    const { records, torn } = readAll(dir)
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3])
    expect(torn).toBe(1)
  })

  it('deletes a segment once every record in it is released, never the one being written', async () => {
    const dir = freshDir()
    const j = await IngestJournal.start({ dir, segmentBytes: 4096 }, 0)
    for (let b = 0; b < 4; b++) await appendAll(j, b * 50, 50)
    const before = readdirSync(dir).length
    expect(before).toBeGreaterThanOrEqual(4)
    j.release(100)
    const after = readAll(dir).records.map((r) => r.seq)
    // Nothing past 100 is gone; whole segments at or below it are.
    expect(after).toEqual(expect.arrayContaining(Array.from({ length: 100 }, (_, k) => k + 101)))
    expect(after.length).toBeLessThan(200)
    j.release(Number.MAX_SAFE_INTEGER)
    expect(readdirSync(dir)).toHaveLength(1)
    await j.close()
  })

  it('begins the segment being written anew once all of it is released, so the journal stays small', async () => {
    const dir = freshDir()
    const j = await IngestJournal.start({ dir }, 0)
    const big = 'x'.repeat(64 * 1024)
    for (let b = 0; b < 20; b++) {
      await Promise.all(Array.from({ length: 2 }, () => new Promise<void>((r) => j.append({ ...entry(b), text: big }, () => r()))))
      j.release(j.durable)
    }
    await appendAll(j, 100, 1)
    // 2.5 MiB written, every record released: the old segments are gone.
    const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0)
    expect(bytes).toBeLessThan(1.2 * 1024 * 1024)
    await j.close()
  })

  it('start() clears what recovery read and continues the numbering after it', async () => {
    const dir = freshDir()
    const a = await IngestJournal.start({ dir }, 0)
    await appendAll(a, 0, 5)
    await a.close()
    const { lastSeq } = readAll(dir)
    const b = await IngestJournal.start({ dir }, lastSeq)
    expect(b.append(entry(9))).toBe(6)
    await b.settle()
    await b.close()
    expect(readAll(dir).records.map((r) => r.seq)).toEqual([6])
  })

  it('counts a batch being written as pending until it is durable', async () => {
    const dir = freshDir()
    let releaseSync: () => void = () => undefined
    let syncing: () => void = () => undefined
    const syncStarted = new Promise<void>((resolve) => (syncing = resolve))
    const openFile = async (path: string): Promise<FileHandle> => {
      const fh = await open(path, 'a')
      const datasync = fh.datasync.bind(fh)
      // A slow disk: the sync waits until the test lets it finish.
      fh.datasync = (async () => {
        syncing()
        await new Promise<void>((resolve) => (releaseSync = resolve))
        return datasync()
      }) as FileHandle['datasync']
      return fh
    }
    const j = await IngestJournal.start({ dir, openFile }, 0)
    const done = appendAll(j, 0, 3)
    await syncStarted
    // Written, not yet synced: still pending, in count and bytes, and in the backlog.
    expect(j.stats().pending).toBe(3)
    expect(j.stats().pendingBytes).toBeGreaterThan(0)
    expect(j.backlogBytes).toBe(j.stats().pendingBytes)
    expect(j.durable).toBe(0)
    releaseSync()
    await done
    expect(j.stats()).toMatchObject({ pending: 0, pendingBytes: 0, synced: 3 })
    expect(j.durable).toBe(3)
    await j.close()
  })

  it('pauses on a full disk, fails the batch and refuses appends, then resumes by itself when space is back', async () => {
    const dir = freshDir()
    let full = false
    let clock = 0
    const openFile = async (path: string): Promise<FileHandle> => {
      const fh = await open(path, 'a')
      const writev = fh.writev.bind(fh)
      // A disk that fills up: writes fail with ENOSPC while `full`.
      fh.writev = (async (buffers: NodeJS.ArrayBufferView[]) => {
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
        return writev(buffers)
      }) as FileHandle['writev']
      return fh
    }
    const j = await IngestJournal.start({ dir, openFile, probeEveryMs: 1000, now: () => clock }, 0)
    await appendAll(j, 0, 10)
    full = true
    const failed = await appendAll(j, 10, 5)
    expect(failed.errors).toHaveLength(5)
    for (const err of failed.errors) {
      expect(err).toBeInstanceOf(JournalWriteError)
      expect(err?.why).toBe('disk full')
    }
    expect(j.paused).toBe(true)
    expect(j.problemText()).toBe('disk full')
    // Paused: refused at once (null, no callback) until a second has passed.
    expect(j.append(entry(99), () => expect.fail('no callback for a refused append'))).toBeNull()
    clock += 1000
    const probe = await appendAll(j, 20, 1)
    expect(probe.errors).toEqual([expect.any(JournalWriteError)])
    expect(j.paused).toBe(true)

    full = false
    expect(j.append(entry(100))).toBeNull()
    clock += 1000
    const resumed = await appendAll(j, 30, 1)
    expect(resumed.errors).toEqual([null])
    expect(j.paused).toBe(false)
    const after = await appendAll(j, 40, 20)
    expect(after.errors.every((e) => e === null)).toBe(true)
    expect(j.stats()).toMatchObject({ failed: 6, problem: null })
    await j.close()

    // Everything acknowledged is readable; the failed batches' torn bytes did not hide what came after.
    const seqs = readAll(dir).records.map((r) => r.seq)
    expect(seqs.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(seqs).toHaveLength(31)
    expect(seqs).not.toContain(11)
  })

  it('names a read-only folder as such', async () => {
    const dir = freshDir()
    const openFile = async (): Promise<FileHandle> => {
      throw Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' })
    }
    await expect(IngestJournal.start({ dir, openFile }, 0)).rejects.toMatchObject({ code: 'EROFS' })
  })
})
