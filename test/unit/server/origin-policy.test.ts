import { hostname } from 'node:os'
import { describe, expect, it } from 'vitest'
import {
  isAllowedHostHeader,
  isAllowedRequestOrigin,
  isAllowedWebSocketOrigin,
  isLoopbackHost
} from '../../../src/main/server/origin-policy'

describe('origin policy (AgentEnsemble spec §3 while bound to loopback)', () => {
  it.each([
    'http://localhost',
    'http://localhost:5173',
    'https://LOCALHOST:8443',
    'http://127.0.0.1:7400',
    'http://[::1]:7400',
    'app://localhost'
  ])('allows %s', (origin) => {
    expect(isAllowedWebSocketOrigin(origin, '127.0.0.1')).toBe(true)
  })

  it.each([
    undefined,
    '',
    'null',
    'http://localhost.evil.com',
    'http://notlocalhost.com',
    'http://evil.com/?host=localhost',
    'http://127.0.0.1.evil.com',
    'http://evil.com',
    'file://',
    'not a url'
  ])('refuses %s', (origin) => {
    expect(isAllowedWebSocketOrigin(origin, '127.0.0.1')).toBe(false)
  })

  it('on a LAN address only accepts the server’s own origin', () => {
    expect(isAllowedWebSocketOrigin('http://192.168.1.5:7400', '0.0.0.0', '192.168.1.5:7400')).toBe(true)
    expect(isAllowedWebSocketOrigin('http://evil.com', '0.0.0.0', '192.168.1.5:7400')).toBe(false)
    expect(isAllowedWebSocketOrigin(undefined, '0.0.0.0', '192.168.1.5:7400')).toBe(false)
  })

  it('lets non-browser clients (no Origin) make requests, refuses foreign pages', () => {
    expect(isAllowedRequestOrigin(undefined, '127.0.0.1')).toBe(true)
    expect(isAllowedRequestOrigin('http://evil.com', '127.0.0.1')).toBe(false)
    expect(isAllowedRequestOrigin('null', '127.0.0.1')).toBe(false)
  })

  it('guards against DNS rebinding with the Host header', () => {
    expect(isAllowedHostHeader('127.0.0.1:7400', '127.0.0.1')).toBe(true)
    expect(isAllowedHostHeader('localhost:7400', '127.0.0.1')).toBe(true)
    expect(isAllowedHostHeader('[::1]:7400', '::1')).toBe(true)
    expect(isAllowedHostHeader('attacker.example:7400', '127.0.0.1')).toBe(false)
    expect(isAllowedHostHeader(undefined, '127.0.0.1')).toBe(false)
    // Every mode (a LAN binding, --insecure too): a foreign name is refused; IP addresses, this machine's
    // name and the hosts of allowed origins (a reverse proxy's) are not.
    expect(isAllowedHostHeader('anything', '0.0.0.0')).toBe(false)
    expect(isAllowedHostHeader('evil.example:7400', '192.168.1.5')).toBe(false)
    expect(isAllowedHostHeader('192.168.1.5:7400', '0.0.0.0')).toBe(true)
    expect(isAllowedHostHeader('[fe80::1]:7400', '::')).toBe(true)
    expect(isAllowedHostHeader(`${hostname()}:7400`, '0.0.0.0')).toBe(true)
    expect(isAllowedHostHeader('192.168.1.5:7400', '127.0.0.1')).toBe(false)
    expect(isAllowedHostHeader('vigil.example', '127.0.0.1', ['vigil.example'])).toBe(true)
    expect(isAllowedHostHeader('evil@localhost:7400', '127.0.0.1')).toBe(false)
  })

  it('knows the loopback names', () => {
    expect(['localhost', '127.0.0.1', '::1', '[::1]'].every(isLoopbackHost)).toBe(true)
    expect(isLoopbackHost('0.0.0.0')).toBe(false)
  })
})
