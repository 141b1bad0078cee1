// A password kept as a salted scrypt hash (the desktop's Settings page stores only this), and the
// constant-time check of a login against it. Format, one line:
//   scrypt$<N>$<r>$<p>$<salt, base64>$<hash, base64>
// The cost is in the string, so it can be raised later without breaking stored hashes.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'

export interface ScryptParams {
  N: number
  r: number
  p: number
}

/** About 0.1 s and 32 MiB per check on a laptop; logins are rate-limited (login-rate-limit.ts). */
export const SCRYPT_PARAMS: ScryptParams = { N: 32768, r: 8, p: 1 }
const KEY_BYTES = 32
const SALT_BYTES = 16
/** Refuse hand-edited costs that would stall the server (or be trivially weak). */
const MAX_N = 1 << 20
const MIN_N = 1 << 14

interface ParsedHash extends ScryptParams {
  salt: Buffer
  hash: Buffer
}

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Buffer {
  const maxmem = 128 * params.N * params.r * params.p + 32 * 1024 * 1024
  return scryptSync(password.normalize('NFC'), salt, length, { N: params.N, r: params.r, p: params.p, maxmem })
}

export function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): string {
  const salt = randomBytes(SALT_BYTES)
  const hash = derive(password, salt, params, KEY_BYTES)
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$')
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The parts of a stored hash, or null when it is not one this code wrote (damaged, hand-edited). */
export function parsePasswordHash(stored: string): ParsedHash | null {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null
  const [N, r, p] = parts.slice(1, 4).map((v) => (/^\d{1,8}$/.test(v!) ? Number(v) : NaN)) as [number, number, number]
  if (!Number.isInteger(N) || N < MIN_N || N > MAX_N || (N & (N - 1)) !== 0) return null
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return null
  if (!B64.test(parts[4]!) || !B64.test(parts[5]!)) return null
  const salt = Buffer.from(parts[4]!, 'base64')
  const hash = Buffer.from(parts[5]!, 'base64')
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null
  return { N, r, p, salt, hash }
}

export function isPasswordHash(stored: string): boolean {
  return parsePasswordHash(stored) !== null
}

/**
 * A login checker for a stored hash, the same shape as createSecretMatcher (secret-match.ts): the
 * candidate is derived with the stored salt and cost and compared with timingSafeEqual. Throws on a
 * damaged hash, so a server is never started with a password that nothing can match (or anything can).
 */
export function createPasswordHashMatcher(stored: string): (candidate: string) => boolean {
  const parsed = parsePasswordHash(stored)
  if (!parsed) throw new Error('the stored password hash is damaged')
  return (candidate) => {
    const derived = derive(candidate, parsed.salt, parsed, parsed.hash.length)
    return timingSafeEqual(derived, parsed.hash)
  }
}

export function verifyPassword(stored: string, candidate: string): boolean {
  return createPasswordHashMatcher(stored)(candidate)
}
