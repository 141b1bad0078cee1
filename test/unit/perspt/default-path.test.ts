import { describe, it, expect } from 'vitest'
import { defaultPersptStorePath } from '../../../src/main/perspt/default-path'

describe('defaultPersptStorePath', () => {
  it('uses $XDG_DATA_HOME on Linux', () => {
    expect(defaultPersptStorePath({ XDG_DATA_HOME: '/data/xdg' }, 'linux', '/home/ana')).toBe('/data/xdg/perspt/perspt.db')
  })

  it('falls back to ~/.local/share on Linux when XDG_DATA_HOME is unset, empty or relative', () => {
    const expected = '/home/ana/.local/share/perspt/perspt.db'
    expect(defaultPersptStorePath({}, 'linux', '/home/ana')).toBe(expected)
    expect(defaultPersptStorePath({ XDG_DATA_HOME: '' }, 'linux', '/home/ana')).toBe(expected)
    expect(defaultPersptStorePath({ XDG_DATA_HOME: 'rel/dir' }, 'linux', '/home/ana')).toBe(expected)
  })

  it('uses Application Support on macOS, ignoring XDG', () => {
    expect(defaultPersptStorePath({ XDG_DATA_HOME: '/x' }, 'darwin', '/Users/ana')).toBe(
      '/Users/ana/Library/Application Support/perspt/perspt.db'
    )
  })

  it('uses %LOCALAPPDATA% on Windows, with the usual default as fallback', () => {
    expect(defaultPersptStorePath({ LOCALAPPDATA: 'C:\\Users\\ana\\AppData\\Local' }, 'win32', 'C:\\Users\\ana')).toBe(
      'C:\\Users\\ana\\AppData\\Local\\perspt\\perspt.db'
    )
    expect(defaultPersptStorePath({}, 'win32', 'C:\\Users\\ana')).toBe('C:\\Users\\ana\\AppData\\Local\\perspt\\perspt.db')
  })

  it('treats other Unixes like Linux', () => {
    expect(defaultPersptStorePath({}, 'freebsd', '/home/bo')).toBe('/home/bo/.local/share/perspt/perspt.db')
  })
})
