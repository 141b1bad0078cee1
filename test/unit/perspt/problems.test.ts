import { describe, it, expect } from 'vitest'
import { duckdbProblemCode, fsProblemCode, headerProblemCode, sniffFormat, storeProblem } from '../../../src/main/perspt/problems'
import type { StoreProblemCode } from '../../../src/main/perspt/problems'

const errno = (code: string) => Object.assign(new Error(code), { code })

describe('store problems', () => {
  it('classifies fs errors', () => {
    expect(fsProblemCode(errno('ENOENT'))).toBe('not-found')
    expect(fsProblemCode(errno('ENOTDIR'))).toBe('not-found')
    expect(fsProblemCode(errno('EACCES'))).toBe('permission-denied')
    expect(fsProblemCode(errno('EPERM'))).toBe('permission-denied')
    expect(fsProblemCode(errno('EISDIR'))).toBe('is-directory')
    expect(fsProblemCode(errno('EIO'))).toBe('read-failed')
    expect(fsProblemCode(null)).toBe('read-failed')
  })

  it('checks the DuckDB magic in the header', () => {
    const duck = new Uint8Array(16)
    duck.set(new TextEncoder().encode('DUCK'), 8)
    expect(headerProblemCode(duck)).toBeNull()
    expect(headerProblemCode(new Uint8Array())).toBe('empty-file')
    expect(headerProblemCode(new TextEncoder().encode('hello world, hi!'))).toBe('not-duckdb')
    expect(sniffFormat(new TextEncoder().encode('SQLite format 3\0'))).toMatch(/SQLite/)
  })

  it("tells the private folder's problems from the store's: Vigil only reads the store", () => {
    const root = '/tmp/vigil-1-x-1/sources/store-1'
    const at = (code: string, syscall: string, path: string, dest?: string) => Object.assign(errno(code), { syscall, path, dest })
    expect(fsProblemCode(errno('ENOSPC'), root)).toBe('no-space')
    expect(fsProblemCode(errno('EDQUOT'))).toBe('no-space')
    expect(fsProblemCode(at('EROFS', 'mkdir', `${root}/s1`), root)).toBe('private-folder')
    expect(fsProblemCode(at('EACCES', 'open', `${root}/s1/snap-1/perspt.db.wal`), root)).toBe('private-folder')
    expect(fsProblemCode(at('EACCES', 'copyfile', '/etc/hostname', `${root}/s1/snap-1/perspt.db`), root)).toBe('private-folder')
    // A recursive mkdir on a read-only disk says ENOENT for the first folder on the way.
    expect(fsProblemCode(at('ENOENT', 'mkdir', '/tmp/vigil-1-x-1'), root)).toBe('private-folder')
    expect(fsProblemCode(at('ENOENT', 'mkdtemp', `${root}/perspt-store-abc`), root)).toBe('private-folder')
    // The store's own problems stay the store's.
    expect(fsProblemCode(at('ENOENT', 'stat', '/data/perspt.db'), root)).toBe('not-found')
    expect(fsProblemCode(at('EACCES', 'open', '/data/perspt.db'), root)).toBe('permission-denied')
    expect(fsProblemCode(at('EACCES', 'copyfile', '/nonexistent/unreadable.db', `/elsewhere/copy.db`), root)).toBe('permission-denied')
    expect(fsProblemCode(at('ENOENT', 'mkdir', '/data'), root)).toBe('not-found')
  })

  it('classifies DuckDB open errors by their (verified) messages', () => {
    expect(duckdbProblemCode(new Error('IO Error: The file "x" exists, but it is not a valid DuckDB database file!'))).toBe('not-duckdb')
    expect(duckdbProblemCode(new Error('IO Error: Could not read enough bytes from file "x": attempted to read 4096 bytes from location 4096'))).toBe('truncated')
    expect(duckdbProblemCode(new Error('IO Error: Corrupt database file: computed checksum 1 does not match stored checksum 2 in block at location 12288'))).toBe('corrupt')
    expect(duckdbProblemCode(new Error('something else'))).toBe('read-failed')
  })

  it('gives every problem a message naming the path and a hint', () => {
    const codes: StoreProblemCode[] = ['not-found', 'is-directory', 'not-a-file', 'permission-denied', 'empty-file', 'not-duckdb', 'truncated', 'corrupt', 'too-new', 'no-sessions-table', 'busy', 'read-failed', 'no-space', 'private-folder']
    for (const code of codes) {
      const p = storeProblem(code, '/data/perspt.db')
      expect(p.code).toBe(code)
      expect(p.message).toContain('/data/perspt.db')
      expect(p.hint.length).toBeGreaterThan(20)
    }
  })
})
