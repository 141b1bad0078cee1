// The lock-out of issue 10, reproduced on a real `vigil serve` process (the CLI entry run from source
// through tsx) started with a 1,024 file-descriptor limit: 1,100 idle sockets that completed the
// /ingress upgrade, then 1,100 sockets hanging mid-handshake, used to take every descriptor so that
// no client could connect. With the caps (256 per route, 700 WebSockets, 900 TCP sockets, the
// oldest half-sent head shed first) the process stays up, a fresh browser gets its hub_hello and
// GET /api/status answers; its resident memory is read from /proc. The same process then takes the
// producer-id flood that used to run it out of heap (1,189 ids on one socket in 35 s).
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { freshHello, halfHead, openMany, rawUpgrade, status } from './bounds-support'
import { waitFor } from './support'

const linux = process.platform === 'linux'
let proc: ChildProcess | null = null
let dir = ''
let url = ''
let stderr = ''

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

beforeAll(async () => {
  if (!linux) return
  dir = mkdtempSync(join(tmpdir(), 'vigil-fd-'))
  const root = resolve(__dirname, '../..')
  const cmd = `ulimit -n 1024 && exec "${process.execPath}" --import tsx src/main/cli/main.ts serve --port 0 --no-default-store --data-dir "${join(dir, 'data')}"`
  proc = spawn('sh', ['-c', cmd], { cwd: root, env: { ...process.env, XDG_DATA_HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  url = await waitFor(() => /Vigil listening on (http:\/\/\S+)/.exec(out)?.[1], 'vigil serve ready', 25_000)
}, 30_000)

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM')
    await new Promise((r) => proc!.once('exit', r))
  }
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!linux)('vigil serve at a 1,024 file limit', () => {
  it('runs with the limit it was given', () => {
    const limits = readFileSync(`/proc/${proc!.pid}/limits`, 'utf8')
    expect(limits).toMatch(/Max open files\s+1024\s+1024/)
  })

  it('1,100 idle upgraded /ingress sockets, then 1,100 half-sent heads: the process stays up and a new client is served', async () => {
    const port = Number(new URL(url).port)
    const v = { url, wsUrl: url.replace('http', 'ws') }
    const pid = proc!.pid!
    const rss0 = rssMiB(pid)

    const upgraded = await openMany(1100, () => rawUpgrade(port, '/ingress'))
    const statuses = await Promise.all(upgraded.map((r) => r.status))
    expect(statuses.filter((s) => s === 101)).toHaveLength(256)
    expect(statuses.filter((s) => s === 503)).toHaveLength(844)
    expect((await freshHello(v)).ms).toBeLessThan(2000)

    const halves = await openMany(1100, () => halfHead(port))
    const { hello, ms } = await freshHello(v)
    expect(hello.type).toBe('hub_hello')
    expect(ms).toBeLessThan(2000)
    const s = await status(v)
    expect(s.connections.sockets).toBeLessThanOrEqual(900)
    expect(s.connections.open.ingress).toBe(256)
    expect(s.connections.refused.sockets).toBeGreaterThan(0)
    const fds = openFds(pid)
    expect(fds).toBeLessThan(1024)
    const rss1 = rssMiB(pid)
    expect(proc!.exitCode).toBeNull()
    expect(stderr).not.toMatch(/EMFILE|heap out of memory/i)
    expect(rss1 - rss0).toBeLessThan(200)
    console.log('fd-limit:', JSON.stringify({ fds, rssBeforeMiB: Math.round(rss0), rssAfterMiB: Math.round(rss1), shed: s.connections.refused.sockets, helloMs: Math.round(ms) }))
    for (const r of upgraded) r.socket.destroy()
    for (const h of halves) h.socket.destroy()
  }, 30_000)

  it('the producer-id flood that crashed it (1,189+ ids, big envelopes) on 20 sockets: refused past the caps, RSS stays far under 1 GiB', async () => {
    const v = { url, wsUrl: url.replace('http', 'ws') }
    const pid = proc!.pid!
    const rss0 = rssMiB(pid)
    const pad = 'x'.repeat(16 * 1024)
    const sockets = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const ws = new WebSocket(`${v.wsUrl}/ingress`)
        ws.on('error', () => undefined)
        await new Promise((r) => ws.once('open', r))
        return ws
      })
    )
    // 20 × 300 envelopes of 16 KiB (~96 MB), each socket cycling through 100 producer ids.
    for (let round = 0; round < 300; round += 10) {
      sockets.forEach((ws, s) => {
        for (let i = round; i < round + 10; i++) {
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'event', producer: { producerId: `oom-${s}-${i % 100}` }, sequence: i + 1, receivedAt: '2026-03-05T14:00:00Z', message: { type: 'custom_blob', data: pad } }))
        }
      })
      await new Promise((r) => setTimeout(r, 5))
    }
    // Every flooding socket is closed 1008 once it has had 100 envelopes refused.
    let s = await status(v)
    for (const deadline = Date.now() + 20_000; s.hub.producerIdSocketsClosed < 20 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 100))
      s = await status(v)
    }
    expect(s.hub.producerIdSocketsClosed).toBe(20)
    const { ms } = await freshHello(v)
    const rss1 = rssMiB(pid)
    expect(proc!.exitCode).toBeNull()
    expect(s.hub.producerIdsRefused).toBeGreaterThanOrEqual(20 * 100)
    expect(ms).toBeLessThan(2000)
    expect(rss1).toBeLessThan(1024)
    expect(stderr).not.toMatch(/heap out of memory/i)
    console.log('fd-limit/producer-flood:', JSON.stringify({ refused: s.hub.producerIdsRefused, rssBeforeMiB: Math.round(rss0), rssAfterMiB: Math.round(rss1), helloMs: Math.round(ms) }))
    for (const ws of sockets) ws.terminate()
  }, 30_000)
})
