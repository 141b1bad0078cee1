// `npm start` (scripts/start.mjs) as a user runs it: the desktop window where Electron runs, otherwise one
// line why and the same interface through `vigil serve`, with the desktop app's remembered sources.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findElectron } from '../../../scripts/launcher/lib.mjs'

const root = resolve(__dirname, '../../..')
const launcher = join(root, 'scripts/start.mjs')
const fakeBinaries = process.platform !== 'win32'
let dir: string

beforeAll(() => {
  if (!existsSync(join(root, 'out/main/cli.js'))) throw new Error('Build first: npm run build')
  dir = mkdtempSync(join(tmpdir(), 'vigil-start-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Started {
  proc: ChildProcessWithoutNullStreams
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

function start(args: string[], env: NodeJS.ProcessEnv): Started {
  const home = mkdtempSync(join(dir, 'home-'))
  const proc = spawn(process.execPath, [launcher, ...args], {
    cwd: root,
    env: {
      ...process.env,
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
      APPDATA: join(home, 'config'),
      BROWSER: 'none',
      VIGIL_PORT: '0',
      VIGIL_SKIP_BUILD: '1',
      DISPLAY: ':99',
      ...env
    }
  })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  return { proc, stdout: () => out, stderr: () => err, exited }
}

async function listening(s: Started): Promise<string> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const m = /Vigil listening on (http:\/\/\S+)/.exec(s.stdout())
    if (m) return m[1]!
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no URL; stdout: ${s.stdout()} stderr: ${s.stderr()}`)
}

/** A stand-in Electron binary (a shell script) under ELECTRON_OVERRIDE_DIST_PATH. */
function fakeElectron(script: string): string {
  const dist = mkdtempSync(join(dir, 'electron-'))
  const rel = process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : 'electron'
  mkdirSync(dirname(join(dist, rel)), { recursive: true })
  writeFileSync(join(dist, rel), `#!/bin/sh\n${script}\n`)
  chmodSync(join(dist, rel), 0o755)
  return dist
}

async function closedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

function reasonLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('vigil: no desktop window:'))
}

async function expectServesUi(s: Started): Promise<string> {
  const url = await listening(s)
  const page = await fetch(url)
  expect(page.status).toBe(200)
  expect(await page.text()).toContain('<div id="app"')
  return url
}

async function stop(s: Started): Promise<number | null> {
  s.proc.kill('SIGTERM')
  return s.exited
}

describe('npm start', () => {
  it.runIf(fakeBinaries)('runs the desktop app (electron .) where Electron runs, and ends with it', async () => {
    const argsFile = join(dir, 'electron-args')
    const s = start([], { ELECTRON_OVERRIDE_DIST_PATH: fakeElectron(`echo "$PWD $*" > '${argsFile}'; exit 0`) })
    expect(await s.exited).toBe(0)
    expect(readFileSync(argsFile, 'utf8').trim()).toBe(`${root} .`)
    expect(s.stdout()).not.toMatch(/Vigil listening/)
    expect(reasonLines(s.stderr())).toEqual([])
  })

  it.runIf(fakeBinaries)('when Electron dies at start: one line why, then the browser UI with the remembered sources', async () => {
    const store = join(dir, 'remembered.db')
    const { PersptSimulator } = await import('../../../src/main/demo/perspt-simulator')
    const sim = new PersptSimulator({ path: store, seed: 1 })
    await sim.start()
    await sim.stop()
    const dist = fakeElectron('echo "electron: error while loading shared libraries: libnss3.so: cannot open shared object file" >&2; exit 127')
    const home = mkdtempSync(join(dir, 'cfg-'))
    mkdirSync(join(home, 'vigil'), { recursive: true })
    writeFileSync(join(home, 'vigil', 'sources.json'), JSON.stringify({ stores: [{ path: store, label: 'mine' }], attachments: [] }))
    const s = start([], { ELECTRON_OVERRIDE_DIST_PATH: dist, XDG_CONFIG_HOME: home })
    try {
      const url = await expectServesUi(s)
      expect(reasonLines(s.stderr())).toEqual([
        expect.stringMatching(/^vigil: no desktop window: Electron exited at start \(.*libnss3\.so.*\)\. Opening Vigil in the browser instead/)
      ])
      expect(s.stderr()).toMatch(/open http:\/\/127\.0\.0\.1:\d+ in a browser \(not opening one: BROWSER=none\)/)
      const res = await fetch(`${url}/api/rpc/listSources`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"args":[]}' })
      const body = (await res.json()) as { value: Array<{ path: string; origin: string }> }
      expect(body.value).toContainEqual(expect.objectContaining({ path: store, origin: 'flag' }))
    } finally {
      expect(await stop(s)).toBe(0)
    }
  })

  it.runIf(findElectron(root).missing === 'binary')(
    'with no Electron binary and its download host unreachable: one line naming the host and ELECTRON_MIRROR, then the browser UI',
    async () => {
      const port = await closedPort()
      const s = start([], { ELECTRON_MIRROR: `http://127.0.0.1:${port}/`, HTTPS_PROXY: '', https_proxy: '' })
      try {
        await expectServesUi(s)
        const lines = reasonLines(s.stderr())
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain(`127.0.0.1:${port} cannot be reached (ECONNREFUSED); set ELECTRON_MIRROR or check the network`)
        expect(s.stderr()).not.toMatch(/\n\s+at /)
      } finally {
        expect(await stop(s)).toBe(0)
      }
    }
  )

  it('without a display (Linux) or with --browser it goes straight to the browser UI', async () => {
    const s = process.platform === 'linux' ? start([], { DISPLAY: '', WAYLAND_DISPLAY: '' }) : start(['--browser'], {})
    try {
      await expectServesUi(s)
      if (process.platform === 'linux') expect(reasonLines(s.stderr())).toEqual([expect.stringMatching(/no display to open a window on/)])
    } finally {
      expect(await stop(s)).toBe(0)
    }
  })

  it('refuses an unknown option in one line', async () => {
    const s = start(['--bogus'], {})
    expect(await s.exited).toBe(2)
    expect(s.stderr().trim().split('\n')).toEqual([expect.stringMatching(/unknown option --bogus/)])
  })
})
