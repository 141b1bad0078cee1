import { describe, expect, it } from 'vitest'
import { isOriginAllowed } from '../../../src/main/demo/ensemble-simulator'

describe('isOriginAllowed (spec §3)', () => {
  it.each(['localhost', '127.0.0.1', '::1', '[::1]'])('applies the check for the loopback binding %s', (bind) => {
    for (const ok of ['http://localhost:3000', 'http://localhost:7329', 'http://127.0.0.1', 'https://127.0.0.1:1', 'http://[::1]:3000', 'HTTP://LocalHost']) {
      expect(isOriginAllowed(bind, ok), ok).toBe(true)
    }
    for (const bad of [undefined, '', 'null', 'http://evil.com', 'http://attacker.example.com', 'http://localhost.evil.com', 'http://notlocalhost.com', 'http://evil.com/path?host=localhost', 'localhost:3000', '::not a uri']) {
      expect(isOriginAllowed(bind, bad), String(bad)).toBe(false)
    }
  })

  it.each(['0.0.0.0', '192.168.1.5', '127.0.0.2', 'my-host'])('accepts anything, even no Origin, for the non-local binding %s', (bind) => {
    expect(isOriginAllowed(bind, undefined)).toBe(true)
    expect(isOriginAllowed(bind, 'http://evil.com')).toBe(true)
  })
})
