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

  it('classifies DuckDB open errors by their (verified) messages', () => {
    expect(duckdbProblemCode(new Error('IO Error: The file "x" exists, but it is not a valid DuckDB database file!'))).toBe('not-duckdb')
    expect(duckdbProblemCode(new Error('IO Error: Could not read enough bytes from file "x": attempted to read 4096 bytes from location 4096'))).toBe('truncated')
    expect(duckdbProblemCode(new Error('IO Error: Corrupt database file: computed checksum 1 does not match stored checksum 2 in block at location 12288'))).toBe('corrupt')
    expect(duckdbProblemCode(new Error('something else'))).toBe('read-failed')
  })

  it('gives every problem a message naming the path and a hint', () => {
    const codes: StoreProblemCode[] = ['not-found', 'is-directory', 'not-a-file', 'permission-denied', 'empty-file', 'not-duckdb', 'truncated', 'corrupt', 'too-new', 'no-sessions-table', 'busy', 'read-failed']
    for (const code of codes) {
      const p = storeProblem(code, '/data/perspt.db')
      expect(p.code).toBe(code)
      expect(p.message).toContain('/data/perspt.db')
      expect(p.hint.length).toBeGreaterThan(20)
    }
  })
})
