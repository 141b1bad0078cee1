import { describe, it, expect, afterAll } from 'vitest'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  isHeldInProcess,
  lockLiveness,
  parseProcLocks,
  recentWriteLiveness,
  registerInProcessHolder,
  splitDev
} from '../../../src/main/perspt/liveness'

const dir = mkdtempSync(join(tmpdir(), 'vigil-liveness-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SAMPLE = [
  '1: POSIX  ADVISORY  WRITE 5357 fe:00:2146745 0 EOF',
  '1: -> POSIX  ADVISORY  WRITE 6000 fe:00:2146745 0 EOF',
  '2: FLOCK  ADVISORY  WRITE 812 00:19:1234 0 EOF',
  '3: OFDLCK ADVISORY  READ  -1 08:01:99 0 EOF',
  'garbage line',
  ''
].join('\n')

describe('parseProcLocks', () => {
  it('reads holders (hex device, decimal inode) and skips waiters and junk', () => {
    expect(parseProcLocks(SAMPLE)).toEqual([
      { major: 0xfe, minor: 0, inode: 2146745n, pid: 5357, write: true },
      { major: 0, minor: 0x19, inode: 1234n, pid: 812, write: true },
      { major: 8, minor: 1, inode: 99n, pid: null, write: false }
    ])
  })
})

describe('splitDev', () => {
  it('matches glibc major()/minor()', () => {
    expect(splitDev(65024n)).toEqual({ major: 254, minor: 0 })
    expect(splitDev(2049n)).toEqual({ major: 8, minor: 1 })
    // Large minors spill into the high bits.
    expect(splitDev((0x1234500n << 12n) | (0x3n << 8n) | 0x67n)).toEqual({ major: 3, minor: 0x1234567 })
  })
})

describe('lockLiveness', () => {
  const locks = join(dir, 'locks')
  writeFileSync(locks, SAMPLE)

  it('is live when some process locks the inode, idle when none does', async () => {
    expect(await lockLiveness({ dev: 65024n, ino: 2146745n }, locks)).toBe('live')
    expect(await lockLiveness({ dev: 65024n, ino: 42n }, locks)).toBe('idle')
  })

  it('also accepts an inode-only match (file systems whose stat device differs)', async () => {
    expect(await lockLiveness({ dev: 2049n, ino: 1234n }, locks)).toBe('live')
  })

  it('a read lock alone (a read-only reader) is not an agent', async () => {
    expect(await lockLiveness({ dev: 2049n, ino: 99n }, locks)).toBe('idle')
  })

  it('returns null where /proc/locks cannot be read', async () => {
    expect(await lockLiveness({ dev: 1n, ino: 1n }, join(dir, 'missing'))).toBeNull()
  })

  it('counts in-process holders that /proc/locks cannot show', async () => {
    const file = join(dir, 'held.db')
    writeFileSync(file, 'x')
    const st = statSync(file, { bigint: true })
    expect(await lockLiveness(st, locks)).toBe('idle')
    const release = registerInProcessHolder(st)
    const release2 = registerInProcessHolder(st)
    expect(isHeldInProcess(st)).toBe(true)
    expect(await lockLiveness(st, join(dir, 'missing'))).toBe('live')
    release()
    release()
    expect(isHeldInProcess(st)).toBe(true)
    release2()
    expect(isHeldInProcess(st)).toBe(false)
  })

  it('sees a real DuckDB writer lock on this machine', async () => {
    if (process.platform !== 'linux') return
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const file = join(dir, 'real.db')
    const instance = await DuckDBInstance.create(file)
    const st = statSync(file, { bigint: true })
    expect(await lockLiveness(st)).toBe('live')
    instance.closeSync()
    expect(await lockLiveness(st)).toBe('idle')
    // A read-only open takes a read lock: a reader, not an agent.
    const reader = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' })
    expect(await lockLiveness(st)).toBe('idle')
    reader.closeSync()
  })
})

describe('recentWriteLiveness', () => {
  it('is live within 10 s of the last write, unknown after', () => {
    expect(recentWriteLiveness(1_000, 11_000)).toBe('live')
    expect(recentWriteLiveness(1_000, 11_001)).toBe('unknown')
  })
})
