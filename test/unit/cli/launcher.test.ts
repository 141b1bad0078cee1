// The helpers behind `npm start` (scripts/launcher/lib.mjs): finding Electron, reasons, the browser, the
// desktop app's remembered sources, and when to rebuild.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  browserCommand,
  buildNeeded,
  DEFAULT_ELECTRON_MIRROR,
  desktopDataDir,
  electronMirror,
  fallbackLine,
  findElectron,
  installFailureLine,
  networkErrorCode,
  noDisplayReason,
  rememberedServeArgs,
  unreachableReason
} from '../../../scripts/launcher/lib.mjs'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-launcher-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function fakeElectronPackage(root: string, pathTxt?: string, binary?: string): void {
  const pkg = join(root, 'node_modules/electron')
  mkdirSync(join(pkg, 'dist'), { recursive: true })
  writeFileSync(join(pkg, 'package.json'), '{"name":"electron","version":"41.7.1"}')
  if (pathTxt !== undefined) writeFileSync(join(pkg, 'path.txt'), pathTxt)
  if (binary) writeFileSync(join(pkg, 'dist', binary), '')
}

describe('findElectron', () => {
  it('names what is missing: the package, the binary, the platform, an override without binary', () => {
    expect(findElectron(dir, {}, 'linux')).toMatchObject({ missing: 'package' })
    fakeElectronPackage(dir)
    expect(findElectron(dir, {}, 'linux')).toMatchObject({ missing: 'binary' })
    expect(findElectron(dir, {}, 'aix')).toMatchObject({ missing: 'platform', detail: 'aix' })
    expect(findElectron(dir, { ELECTRON_OVERRIDE_DIST_PATH: join(dir, 'nowhere') }, 'linux')).toMatchObject({ missing: 'override' })
  })

  it('finds the binary that path.txt names, or the one under ELECTRON_OVERRIDE_DIST_PATH', () => {
    fakeElectronPackage(dir, 'electron', 'electron')
    expect(findElectron(dir, {}, 'linux')).toEqual({ path: join(dir, 'node_modules/electron/dist/electron') })
    const override = join(dir, 'override')
    mkdirSync(override)
    writeFileSync(join(override, 'electron'), '')
    expect(findElectron(dir, { ELECTRON_OVERRIDE_DIST_PATH: override }, 'linux')).toEqual({ path: join(override, 'electron') })
  })

  it('does not trust a path.txt whose binary is gone (an interrupted download)', () => {
    fakeElectronPackage(dir, 'electron')
    expect(findElectron(dir, {}, 'linux')).toMatchObject({ missing: 'binary' })
  })
})

describe('reasons are one line each', () => {
  it('needs a display on Linux only', () => {
    expect(noDisplayReason({}, 'linux')).toMatch(/no display/)
    expect(noDisplayReason({ DISPLAY: ':0' }, 'linux')).toBeNull()
    expect(noDisplayReason({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBeNull()
    expect(noDisplayReason({}, 'darwin')).toBeNull()
    expect(noDisplayReason({}, 'win32')).toBeNull()
  })

  it('takes the mirror from ELECTRON_MIRROR, then npm config, then GitHub', () => {
    expect(electronMirror({})).toBe(DEFAULT_ELECTRON_MIRROR)
    expect(electronMirror({ npm_config_electron_mirror: 'https://npmmirror.com/mirrors/electron/' })).toBe('https://npmmirror.com/mirrors/electron/')
    expect(electronMirror({ ELECTRON_MIRROR: 'https://m.example/', npm_config_electron_mirror: 'https://x.example/' })).toBe('https://m.example/')
  })

  it('says what to do when the host cannot be reached', () => {
    const line = fallbackLine(unreachableReason(DEFAULT_ELECTRON_MIRROR, 'ENOTFOUND'))
    expect(line).not.toContain('\n')
    expect(line).toContain('github.com cannot be reached (ENOTFOUND)')
    expect(line).toContain('ELECTRON_MIRROR')
    expect(line).toMatch(/browser/)
  })

  it('keeps the error line of an installer failure and drops its stack', () => {
    const stderr = 'RequestError: getaddrinfo ENOTFOUND github.com\n    at ClientRequest.<anonymous> (/x/got/index.js:1:1)\n    at emit (node:events:1:1)\n'
    expect(installFailureLine(stderr)).toBe('RequestError: getaddrinfo ENOTFOUND github.com')
    expect(installFailureLine('')).toBe('no output')
    expect(installFailureLine('E'.repeat(500) + ' error')).toHaveLength(200)
  })

  it('reads fetch() failures as their error codes', () => {
    expect(networkErrorCode(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }))).toBe('ENOTFOUND')
    const aggregate = new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })])
    expect(networkErrorCode(Object.assign(new TypeError('fetch failed'), { cause: aggregate }))).toBe('ECONNREFUSED')
    expect(networkErrorCode(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('timed out')
  })
})

describe('browserCommand', () => {
  const url = 'http://127.0.0.1:7400'
  it('honours BROWSER (none turns it off) and each platform’s opener', () => {
    expect(browserCommand(url, { BROWSER: 'none' }, 'linux')).toEqual({ none: 'BROWSER=none' })
    expect(browserCommand(url, { BROWSER: 'firefox' }, 'linux')).toEqual({ command: 'firefox', args: [url] })
    expect(browserCommand(url, {}, 'darwin')).toEqual({ command: 'open', args: [url] })
    expect(browserCommand(url, {}, 'win32')).toMatchObject({ command: 'cmd', args: ['/c', 'start', '""', `"${url}"`] })
  })

  it('uses xdg-open on Linux when there is one and a display, else says why not', () => {
    expect(browserCommand(url, { PATH: dir }, 'linux')).toEqual({ none: 'no display' })
    expect(browserCommand(url, { PATH: dir, DISPLAY: ':0' }, 'linux')).toEqual({ none: 'xdg-open is not installed' })
    writeFileSync(join(dir, 'xdg-open'), '')
    expect(browserCommand(url, { PATH: dir, DISPLAY: ':0' }, 'linux')).toEqual({ command: join(dir, 'xdg-open'), args: [url] })
  })
})

describe('the desktop app’s remembered sources become serve arguments', () => {
  it('keeps existing store files and ws:// URLs, drops the rest', () => {
    const store = join(dir, 'perspt.db')
    writeFileSync(store, '')
    writeFileSync(
      join(dir, 'sources.json'),
      JSON.stringify({
        stores: [{ path: store, label: 'a' }, { path: join(dir, 'gone.db'), label: 'b' }, { nope: 1 }],
        attachments: [{ url: 'ws://localhost:7329/ws', label: 'c' }, { url: 'http://x', label: 'd' }, { url: 'not a url', label: 'e' }]
      })
    )
    expect(rememberedServeArgs(dir)).toEqual(['--db', store, '--attach', 'ws://localhost:7329/ws'])
  })

  it('treats a missing or damaged file as nothing remembered', () => {
    expect(rememberedServeArgs(dir)).toEqual([])
    writeFileSync(join(dir, 'sources.json'), '{broken')
    expect(rememberedServeArgs(dir)).toEqual([])
  })

  it('looks where Electron keeps the desktop app’s data', () => {
    expect(desktopDataDir({ XDG_CONFIG_HOME: '/c' }, 'linux', '/h')).toBe(join('/c', 'vigil'))
    expect(desktopDataDir({}, 'linux', '/h')).toBe(join('/h', '.config', 'vigil'))
    expect(desktopDataDir({}, 'darwin', '/h')).toBe(join('/h', 'Library', 'Application Support', 'vigil'))
    expect(desktopDataDir({ APPDATA: 'C:\\AppData' }, 'win32', '/h')).toBe(join('C:\\AppData', 'vigil'))
  })
})

describe('buildNeeded', () => {
  const outputs = ['out/main/index.js', 'out/main/cli.js', 'out/preload/index.js', 'out/renderer/index.html']
  function touch(rel: string, seconds: number): void {
    const path = join(dir, rel)
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, '')
    utimesSync(path, seconds, seconds)
  }

  it('builds when an output is missing or a source is newer, not otherwise', () => {
    touch('src/main/a.ts', 1000)
    touch('package.json', 1000)
    // Folders count too (a deleted file changes only its folder).
    for (const folder of ['src/main', 'src']) utimesSync(join(dir, folder), 1000, 1000)
    expect(buildNeeded(dir)).toMatch(/out\/main\/index\.js is missing/)
    for (const o of outputs) touch(o, 2000)
    expect(buildNeeded(dir)).toBeNull()
    touch('src/renderer/deep/b.svelte', 3000)
    expect(buildNeeded(dir)).toMatch(/src changed/)
  })
})
