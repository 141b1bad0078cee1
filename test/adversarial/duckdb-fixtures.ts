// Broken and foreign DuckDB files that test/fixtures/perspt-fixtures.ts does not build yet.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'

/**
 * A copy of a real DuckDB file whose main header claims storage `version` (e.g. a file written by a
 * future DuckDB). The header block is checksummed (DuckDB's Checksum over bytes 8..4096: 5381 XOR
 * each little-endian word × 0xbf58476d1ce4e5b9), so the checksum is recomputed: DuckDB then reports
 * the version, not a damaged header.
 */
export function withStorageVersion(source: string, dest: string, version: bigint): void {
  const bytes = readFileSync(source)
  bytes.writeBigUInt64LE(version, 12)
  bytes.writeBigUInt64LE(headerChecksum(bytes), 0)
  writeFileSync(dest, bytes)
}

export function headerChecksum(bytes: Buffer): bigint {
  const mask = (1n << 64n) - 1n
  let sum = 5381n
  for (let i = 8; i < 4096; i += 8) sum ^= (bytes.readBigUInt64LE(i) * 0xbf58476d1ce4e5b9n) & mask
  return sum
}

/** An encrypted DuckDB database (AES, key "k") with a `sessions` table: unreadable without the key. */
export async function writeEncryptedDuckDb(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:')
  const con = await instance.connect()
  try {
    // Writing encrypted files needs httpfs's crypto; mbedtls is fine for a test fixture.
    await con.run("SET force_mbedtls_unsafe = 'true'")
    await con.run(`ATTACH '${path.replaceAll("'", "''")}' AS e (ENCRYPTION_KEY 'k')`)
    await con.run('CREATE TABLE e.sessions (session_id VARCHAR, task VARCHAR)')
    await con.run("INSERT INTO e.sessions VALUES ('s1', 'secret task')")
    await con.run('DETACH e')
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

/** A DuckDB file of another program that happens to have a `sessions` table, with none of Perspt's columns or types. */
export async function writeForeignSessionsDuckDb(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path)
  const con = await instance.connect()
  try {
    await con.run('CREATE TABLE sessions (session_id INTEGER[], task STRUCT(a INTEGER), working_dir BLOB, status DOUBLE, created_at VARCHAR, updated_at BOOLEAN)')
    await con.run("INSERT INTO sessions VALUES ([1, 2], {'a': 1}, '\\xff\\x00'::BLOB, 1.5, 'not a date', true)")
    await con.run('CREATE TABLE nodes (id UUID, payload MAP(VARCHAR, INTEGER))')
    await con.run("INSERT INTO nodes VALUES (uuid(), MAP {'k': 1})")
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

/** A named pipe (nobody ever writes to it: reading it would block forever). */
export function makeFifo(path: string): void {
  execFileSync('mkfifo', [path])
}

/** sha256 of every file in a folder (recursively), keyed by name: proves Vigil never wrote a byte. */
export function folderDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      const s = statSync(p, { throwIfNoEntry: false })
      if (!s) continue
      if (s.isDirectory()) walk(p, `${prefix}${name}/`)
      else if (s.isFile()) out[`${prefix}${name}`] = createHash('sha256').update(readFileSync(p)).digest('hex')
      else out[`${prefix}${name}`] = `special:${s.mode}`
    }
  }
  walk(dir, '')
  return out
}
