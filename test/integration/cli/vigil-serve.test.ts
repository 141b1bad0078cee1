// The real `vigil` command (built CLI) as a user runs it.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { version } from '../../../package.json'

const root = resolve(__dirname, '../../..')
const bin = join(root, 'bin/vigil.js')
let dir: string

beforeAll(() => {
  if (!existsSync(join(root, 'out/main/cli.js'))) throw new Error('Build first: npm run build')
  dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function run(args: string[]) {
  const res = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, XDG_DATA_HOME: dir } })
  return { code: res.status, stdout: res.stdout, stderr: res.stderr }
}

function oneLine(text: string): string {
  const lines = text.trim().split('\n')
  expect(lines).toHaveLength(1)
  return lines[0]!
}

describe('vigil command', () => {
  it('prints help and version', () => {
    const help = run(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: vigil serve')
    for (const flag of ['--db', '--attach', '--host', '--port', '--demo', '--help', '--version']) expect(help.stdout).toContain(flag)
    expect(run(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` })
  })

  it.each([
    [['serve', '--bogus'], /unknown option "--bogus"/],
    [['serve', '--port', 'x'], /--port must be a number/],
    [['serve', '--attach', 'http://x'], /ws:\/\//],
    [['frobnicate'], /unknown command/]
  ])('exits 2 on %j with a one-line reason', (args, reason) => {
    const res = run(args)
    expect(res.code).toBe(2)
    expect(oneLine(res.stderr)).toMatch(reason)
    expect(res.stdout).toBe('')
  })

  it('exits 1 on an unreadable --db path, naming it', () => {
    const missing = run(['serve', '--port', '0', '--db', join(dir, 'missing.db')])
    expect(missing.code).toBe(1)
    expect(oneLine(missing.stderr)).toMatch(/cannot read --db .*missing\.db: no such file/)
    expect(run(['serve', '--port', '0', '--db', dir]).stderr).toMatch(/is a directory/)
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked.db')
      writeFileSync(locked, 'x')
      chmodSync(locked, 0o000)
      expect(run(['serve', '--port', '0', '--db', locked]).stderr).toMatch(/permission denied/)
    }
  })

  it('exits 1 when the port is busy', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as { port: number }).port
    try {
      const res = run(['serve', '--port', String(port), '--no-default-store'])
      expect(res.code).toBe(1)
      expect(oneLine(res.stderr)).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`))
    } finally {
      blocker.close()
    }
  })

  it.each(['SIGTERM', 'SIGINT'] as const)('prints its URL when ready and shuts down cleanly on %s', async (signal) => {
    const proc = spawn(process.execPath, [bin, 'serve', '--port', '0', '--no-default-store'], { env: { ...process.env, XDG_DATA_HOME: dir } })
    let out = ''
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL in: ${out}`)), 15_000)
      proc.stdout.on('data', () => {
        const m = /^Vigil listening on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(out)
        // Ready, and the banner after it printed in full.
        if (m && /^ {2}Stop /m.test(out)) {
          clearTimeout(timer)
          resolveUrl(m[1]!)
        }
      })
    })
    // The first line stays the one scripts parse; the banner follows it.
    expect(out.split('\n')[0]).toMatch(/^Vigil listening on http:\/\/127\.0\.0\.1:\d+$/)
    expect(out).toContain(`  Interface      ${url}/`)
    expect(out).toMatch(/ {2}Watching {7}nothing yet/)
    expect((await fetch(`${url}/api/status`)).status).toBe(200)
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
    proc.kill(signal)
    expect(await exited).toBe(0)
    await expect(fetch(`${url}/api/status`)).rejects.toThrow()
  })

  it('introduces the demo: interface, hub, review API, data folder, the simulated store, how to stop', async () => {
    const data = mkdtempSync(join(dir, 'demo-data-'))
    const proc = spawn(process.execPath, [bin, 'serve', '--demo', '--port', '0', '--no-default-store', '--data-dir', data], {
      env: { ...process.env, XDG_DATA_HOME: dir }
    })
    let out = ''
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
    try {
      await new Promise<void>((resolveBanner, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner in: ${out}`)), 15_000)
        proc.stdout.on('data', () => {
          if (/^ {2}Stop /m.test(out)) {
            clearTimeout(timer)
            resolveBanner()
          }
        })
      })
      const lines = out.split('\n')
      const url = /^Vigil listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[0]!)?.[1]
      expect(url).toBeDefined()
      const ws = url!.replace('http', 'ws')
      const value = (label: string) => {
        const line = lines.find((l) => l.startsWith(`  ${label} `))
        expect(line, `a "${label}" line in:\n${out}`).toBeDefined()
        return line!.slice(2 + 15).split('   (')[0]!
      }
      expect(lines[1]).toMatch(/^Demo mode: simulated agents are running/)
      expect(value('Interface')).toBe(`${url}/`)
      expect(value('Hub ingress')).toBe(`${ws}/ingress`)
      expect(value('Hub dashboard')).toBe(`${ws}/ws`)
      expect(value('Review API')).toBe(`${url}/api/reviews`)
      expect(value('Data folder')).toBe(data)
      expect(value('Stop')).toMatch(/^Ctrl\+C/)

      // Each fact is true: the page, the review API, the data folder, the store being written, the ensemble.
      expect((await fetch(value('Interface'))).status).toBe(200)
      expect((await fetch(value('Review API'))).status).toBe(200)
      expect(existsSync(join(data, 'recordings.duckdb'))).toBe(true)
      const store = value('Demo store')
      expect(store).toMatch(/perspt\.db$/)
      expect(existsSync(store)).toBe(true)
      const res = await fetch(`${url}/api/rpc/listSources`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"args":[]}' })
      const sources = ((await res.json()) as { value: Array<{ path?: string; url?: string; origin: string }> }).value
      expect(sources).toContainEqual(expect.objectContaining({ path: store, origin: 'demo' }))
      expect(sources).toContainEqual(expect.objectContaining({ url: value('Demo ensemble'), origin: 'demo' }))
      const { WebSocket } = await import('ws')
      const hub = new WebSocket(value('Hub ingress'))
      await new Promise<void>((r, reject) => (hub.once('open', () => r()), hub.once('error', reject)))
      hub.close()
    } finally {
      proc.kill('SIGINT')
      expect(await exited).toBe(0)
    }
  })

  it('opens Perspt’s default store when no --db is given', async () => {
    const home = mkdtempSync(join(dir, 'home-'))
    const dataHome = join(home, 'data')
    const { PersptSimulator } = await import('../../../src/main/demo/perspt-simulator')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(dataHome, 'perspt'), { recursive: true })
    const sim = new PersptSimulator({ path: join(dataHome, 'perspt', 'perspt.db'), seed: 1 })
    await sim.start()
    await sim.stop()
    const proc = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env: { ...process.env, XDG_DATA_HOME: dataHome, HOME: home } })
    let out = ''
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
    try {
      const url = await new Promise<string>((r) => proc.stdout.on('data', () => {
        const m = /Vigil listening on (\S+)/.exec(out)
        if (m) r(m[1]!)
      }))
      const res = await fetch(`${url}/api/rpc/listSources`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"args":[]}' })
      const body = (await res.json()) as { value: Array<{ path: string; origin: string }> }
      expect(body.value).toEqual([expect.objectContaining({ path: join(dataHome, 'perspt', 'perspt.db'), origin: 'default-path' })])
    } finally {
      proc.kill('SIGTERM')
    }
  })

  it('a second Vigil on the same data folder runs without recording and says why', async () => {
    const data = mkdtempSync(join(dir, 'data-'))
    const start = () => {
      const proc = spawn(process.execPath, [bin, 'serve', '--port', '0', '--no-default-store', '--data-dir', data])
      let out = ''
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
      proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
      const ready = new Promise<string>((r) => proc.stdout.on('data', () => /Vigil listening on (\S+)/.exec(out) && r(out)))
      return { proc, ready, output: () => out }
    }
    const first = start()
    await first.ready
    const second = start()
    try {
      await second.ready
      expect(second.output()).toMatch(/not recording live runs/)
      expect(first.output()).not.toMatch(/not recording/)
    } finally {
      first.proc.kill('SIGTERM')
      second.proc.kill('SIGTERM')
    }
  })
})
