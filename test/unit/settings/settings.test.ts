import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultDataDir } from '../../../src/main/app-paths'
import { rememberedSourcesFile } from '../../../src/main/settings/remembered-sources'
import { DEFAULT_WINDOW_STATE, fitToDisplays, windowStateFile } from '../../../src/main/settings/window-state'

let dir: string
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'vigil-settings-'))))
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('settings files', () => {
  it('remembers sources across a write and a read', () => {
    const file = rememberedSourcesFile(dir)
    expect(file.read()).toEqual({ stores: [], attachments: [] })
    file.write({ stores: [{ path: '/a/perspt.db', label: 'A' }], attachments: [{ url: 'ws://h/ws', label: 'H' }] })
    expect(rememberedSourcesFile(dir).read()).toEqual({
      stores: [{ path: '/a/perspt.db', label: 'A' }],
      attachments: [{ url: 'ws://h/ws', label: 'H' }]
    })
  })

  it('survives a damaged or hostile file by falling back to defaults and dropping bad entries', () => {
    const file = rememberedSourcesFile(dir)
    writeFileSync(file.path, '{ not json')
    expect(file.read()).toEqual({ stores: [], attachments: [] })
    writeFileSync(file.path, JSON.stringify({ stores: [{ path: 1 }, { path: '/ok', label: 'ok' }, null], attachments: 'x' }))
    expect(file.read()).toEqual({ stores: [{ path: '/ok', label: 'ok' }], attachments: [] })
  })

  it('writes atomically as readable JSON', () => {
    const file = windowStateFile(dir)
    file.write({ x: 10, y: 20, width: 900, height: 700, maximized: true })
    expect(JSON.parse(readFileSync(file.path, 'utf8'))).toMatchObject({ width: 900, maximized: true })
    expect(file.read()).toEqual({ x: 10, y: 20, width: 900, height: 700, maximized: true })
  })

  it('clamps silly window sizes', () => {
    const file = windowStateFile(dir)
    writeFileSync(file.path, JSON.stringify({ width: 5, height: 'big', x: 'a' }))
    expect(file.read()).toEqual({ width: 640, height: DEFAULT_WINDOW_STATE.height, maximized: false })
  })
})

describe('window placement', () => {
  const laptop = { x: 0, y: 0, width: 1440, height: 900 }
  it('keeps a window that is on a display', () => {
    expect(fitToDisplays({ x: 100, y: 50, width: 1200, height: 800, maximized: false }, [laptop])).toEqual({
      x: 100, y: 50, width: 1200, height: 800, maximized: false
    })
  })
  it('drops the position of a window left on an unplugged monitor and shrinks it to fit', () => {
    expect(fitToDisplays({ x: 3000, y: 100, width: 2500, height: 1400, maximized: false }, [laptop])).toEqual({
      width: 1440, height: 900, maximized: false
    })
  })
})

describe('data folder', () => {
  it('follows each platform’s convention', () => {
    expect(defaultDataDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/vigil')
    expect(defaultDataDir({ XDG_DATA_HOME: '/x' }, 'linux', '/home/u')).toBe('/x/vigil')
    expect(defaultDataDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/Vigil')
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toContain('Vigil')
  })
})
