// The desktop's stored password: a salted scrypt hash, checked in constant time, and the login gate
// accepting it (createAuth({ passwordHash })) next to the older plain password routes.
import { describe, expect, it } from 'vitest'
import { createPasswordHashMatcher, hashPassword, isPasswordHash, parsePasswordHash, verifyPassword } from '../../../src/main/server/auth/password-hash'
import { createAuth } from '../../../src/main/server/auth/auth-gate'

const FAST = { N: 16384, r: 8, p: 1 }

describe('password hashes', () => {
  it('verify the right password only; every hash has its own salt and never contains the password', () => {
    const a = hashPassword('correct horse battery', FAST)
    const b = hashPassword('correct horse battery', FAST)
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
    expect(a).not.toBe(b)
    expect(a).not.toContain('correct')
    expect(verifyPassword(a, 'correct horse battery')).toBe(true)
    expect(verifyPassword(b, 'correct horse battery')).toBe(true)
    expect(verifyPassword(a, 'correct horse batter')).toBe(false)
    expect(verifyPassword(a, 'correct horse battery ')).toBe(false)
    expect(verifyPassword(a, '')).toBe(false)
  })

  it('the default cost is scrypt N=32768 and round-trips', () => {
    const h = hashPassword('a long enough password')
    expect(parsePasswordHash(h)).toMatchObject({ N: 32768, r: 8, p: 1 })
    expect(verifyPassword(h, 'a long enough password')).toBe(true)
  })

  it('refuse damaged or hand-edited hashes instead of matching anything', () => {
    const good = hashPassword('whatever-password', FAST)
    const parts = good.split('$')
    for (const bad of [
      '',
      'hunter2',
      'bcrypt$16384$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      parts.slice(0, 5).join('$'),
      ['scrypt', '1000', ...parts.slice(2)].join('$'), // not a power of two
      ['scrypt', '1024', ...parts.slice(2)].join('$'), // too weak
      ['scrypt', String(1 << 24), ...parts.slice(2)].join('$'), // would stall the server
      [...parts.slice(0, 4), 'not base64!', parts[5]].join('$'),
      [...parts.slice(0, 5), ''].join('$')
    ]) {
      expect(isPasswordHash(bad), bad).toBe(false)
      expect(() => createPasswordHashMatcher(bad)).toThrow(/damaged/)
    }
    expect(isPasswordHash(good)).toBe(true)
  })

  it('createAuth takes a stored hash as the password, and a damaged one throws instead of opening the server', () => {
    const gate = createAuth({ passwordHash: hashPassword('sesame-sesame', FAST) })
    expect(gate.requiresLogin).toBe(true)
    gate.close()
    expect(() => createAuth({ passwordHash: 'scrypt$oops' })).toThrow(/damaged/)
    // The older routes are unchanged: a plain password wins over a hash, none means no login.
    const plain = createAuth({ password: 'plain', passwordHash: null })
    expect(plain.requiresLogin).toBe(true)
    plain.close()
    expect(createAuth({}).requiresLogin).toBe(false)
  })
})
