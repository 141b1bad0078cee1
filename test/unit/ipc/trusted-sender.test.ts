import { describe, expect, it } from 'vitest'
import { APP_ORIGIN, createSenderCheck } from '../../../src/main/ipc/trusted-sender'

const check = createSenderCheck([APP_ORIGIN, { protocol: 'http:', host: 'localhost:5173' }])
const frame = (url: string, parent: unknown = null) => ({ senderFrame: { url, parent } })

describe('IPC sender validation', () => {
  it('trusts the top frame of the app and of the dev server', () => {
    expect(check(frame('app://renderer/index.html'))).toBe(true)
    expect(check(frame('app://renderer/index.html#/store/x'))).toBe(true)
    expect(check(frame('http://localhost:5173/'))).toBe(true)
  })

  it.each([
    ['a subframe', frame('app://renderer/index.html', { url: 'app://renderer/' })],
    ['no frame (destroyed)', { senderFrame: null }],
    ['another host on app://', frame('app://evil/index.html')],
    ['a look-alike prefix', frame('app://renderer.evil/index.html')],
    ['file://', frame('file:///home/u/out/renderer/index.html')],
    ['a remote page', frame('https://evil.com/')],
    ['the dev port of someone else', frame('http://localhost:5174/')],
    ['garbage', frame('::::')]
  ])('refuses %s', (_name, event) => {
    expect(check(event as never)).toBe(false)
  })
})
