import { describe, it, expect, afterAll } from 'vitest'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import {
  isHeldInProcess,
  LockProbe,
  LOCKS_REUSE_MS,
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

describe('LockProbe', () => {
  const file = { dev: 65024n, ino: 777n }
  const line = (pid: number) => `1: POSIX  ADVISORY  WRITE ${pid} fe:00:777 0 EOF\n`

  it('reuses a live answer while its holder runs, for a bounded time; reads again once the holder is gone', async () => {
    const locks = join(dir, 'probe-locks')
    writeFileSync(locks, line(process.pid))
    let now = 1_000
    const probe = new LockProbe(locks, () => now)
    expect((await probe.state(file))?.liveness).toBe('live')
    // The lock is gone from the file, but the holder (this process) still runs: the answer is reused.
    writeFileSync(locks, '')
    now += LOCKS_REUSE_MS - 1
    expect((await probe.state(file))?.liveness).toBe('live')
    expect(probe.reads).toBe(1)
    // Past the reuse window it reads again.
    now += 2
    expect((await probe.state(file))?.liveness).toBe('idle')
    expect(probe.reads).toBe(2)
    // An idle answer is never reused.
    expect((await probe.state(file))?.liveness).toBe('idle')
    expect(probe.reads).toBe(3)
  })

  it('a holder that died (kill -9) is noticed at the next call, within the reuse window', async () => {
    const locks = join(dir, 'probe-dead')
    const gone = spawnSync(process.execPath, ['-e', '0']).pid
    writeFileSync(locks, line(gone))
    const probe = new LockProbe(locks, () => 5_000)
    expect((await probe.state(file))?.liveness).toBe('live')
    writeFileSync(locks, '')
    expect((await probe.state(file))?.liveness).toBe('idle')
    expect(probe.reads).toBe(2)
  })

  it('another file is read on its own', async () => {
    const locks = join(dir, 'probe-other')
    writeFileSync(locks, line(process.pid))
    const probe = new LockProbe(locks, () => 0)
    expect((await probe.state(file))?.liveness).toBe('live')
    expect((await probe.state({ dev: 65024n, ino: 778n }))?.liveness).toBe('idle')
    expect(probe.reads).toBe(2)
  })
})

describe('recentWriteLiveness', () => {
  it('is live within 10 s of the last write, unknown after', () => {
    expect(recentWriteLiveness(1_000, 11_000)).toBe('live')
    expect(recentWriteLiveness(1_000, 11_001)).toBe('unknown')
  })
})
