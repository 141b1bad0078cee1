// Packaging offline: electron-builder packs `--dir` against a stub Electron distribution (the real zip
// cannot be downloaded here). Checks what would ship: the built app in app.asar, DuckDB's native
// binding unpacked next to it, the runtime resources, and the fuses flipped in the binary.
import { listPackage } from '@electron/asar'
import { build, Platform } from 'electron-builder'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dump, load } from 'js-yaml'

const root = resolve(__dirname, '../..')
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'
// Fuse order of @electron/fuses V1: RunAsNode, CookieEncryption, NodeOptions, NodeCliInspect,
// AsarIntegrity, OnlyLoadAppFromAsar, V8Snapshot, GrantFileProtocolExtraPrivileges. '1' on, '0' off.
const STOCK_FUSES = '10110001'

let work: string
let appDir: string

beforeAll(async () => {
  if (!existsSync(join(root, 'out/main/index.js'))) throw new Error('Build first: npm run build')
  work = mkdtempSync(join(tmpdir(), 'vigil-pack-'))
  const stub = join(work, 'electron-dist')
  mkdirSync(stub)
  // A stand-in "electron" executable carrying a fuse wire, so the fuse step runs for real.
  writeFileSync(join(stub, 'electron'), Buffer.concat([Buffer.from(`#!/bin/sh\n# ${SENTINEL}`), Buffer.from([1, 8]), Buffer.from(STOCK_FUSES)]))
  chmodSync(join(stub, 'electron'), 0o755)
  writeFileSync(join(stub, 'LICENSE'), 'stub')

  // The project's own config with two changes, written as a file: an object would be merged with
  // electron-builder.yml (arrays concatenated) instead of replacing it.
  const config = load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>
  const configPath = join(work, 'electron-builder.test.yml')
  writeFileSync(configPath, dump({ ...config, electronDist: stub, directories: { buildResources: 'build', output: join(work, 'dist') } }))
  await build({ projectDir: root, targets: Platform.LINUX.createTarget('dir'), config: configPath })
  appDir = join(work, 'dist', 'linux-unpacked')
}, 180_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('packaging (electron-builder --dir, stub electronDist)', () => {
  it('puts the built main, preload, CLI and renderer in app.asar, and no sources', () => {
    const files = listPackage(join(appDir, 'resources', 'app.asar'), { isPack: false }).map((f) => f.replaceAll('\\', '/'))
    for (const f of ['/package.json', '/out/main/index.js', '/out/main/cli.js', '/out/preload/index.js', '/out/renderer/index.html', '/bin/vigil.js']) {
      expect(files).toContain(f)
    }
    expect(files.some((f) => f.startsWith('/node_modules/ws/'))).toBe(true)
    expect(files.some((f) => f.startsWith('/node_modules/@duckdb/node-api/'))).toBe(true)
    expect(files.some((f) => f.startsWith('/src/') || f.startsWith('/test/') || f.startsWith('/bench/'))).toBe(false)
    expect(files.some((f) => f.startsWith('/node_modules/electron/') || f.startsWith('/node_modules/vite/'))).toBe(false)
  })

  it('unpacks DuckDB’s native binding from the asar', () => {
    const bindings = join(appDir, 'resources', 'app.asar.unpacked', 'node_modules', '@duckdb', `node-bindings-${process.platform}-${process.arch}`)
    expect(existsSync(join(bindings, 'duckdb.node'))).toBe(true)
    expect(existsSync(join(bindings, process.platform === 'linux' ? 'libduckdb.so' : 'libduckdb.dylib'))).toBe(true)
  })

  it('names the executable and ships the runtime resources', () => {
    expect(existsSync(join(appDir, 'vigil'))).toBe(true)
    expect(existsSync(join(appDir, 'resources', 'resources', 'icon.png'))).toBe(true)
    // The tray and taskbar-overlay images the review alerts load at run time.
    for (const icon of ['tray.png', 'tray-pending.png', 'trayTemplate.png', 'tray-pendingTemplate@2x.png', 'overlay.png']) {
      expect(existsSync(join(appDir, 'resources', 'resources', 'tray', icon)), icon).toBe(true)
    }
  })

  it('flips the fuses the config asks for', () => {
    const binary = readFileSync(join(appDir, 'vigil'))
    const at = binary.indexOf(SENTINEL) + SENTINEL.length
    const wire = binary.subarray(at + 2, at + 2 + 8).toString()
    expect(wire[0]).toBe('0') // RunAsNode off
    expect(wire[1]).toBe('1') // cookie encryption on
    expect(wire[2]).toBe('0') // NODE_OPTIONS ignored
    expect(wire[3]).toBe('0') // --inspect refused
    expect(wire[4]).toBe('1') // asar integrity checked
    expect(wire[5]).toBe('1') // app only from asar
    expect(wire[7]).toBe('0') // no extra file:// privileges
  })
})
