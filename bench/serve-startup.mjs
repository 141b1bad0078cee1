// `vigil serve` cold start: process spawn to the first byte of the page, and to the "listening" line.
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { report } from './stats.mjs'

const root = join(import.meta.dirname, '..')

function firstByte(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      res.once('data', () => {
        resolve()
        res.destroy()
      })
    })
    req.on('error', reject)
    req.end()
  })
}

async function once() {
  const t0 = performance.now()
  const proc = spawn(process.execPath, [join(root, 'bin/vigil.js'), 'serve', '--port', '0', '--no-default-store', '--data-dir', mkdtempSync(join(tmpdir(), 'vigil-bench-data-'))], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  const url = await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      out += d
      const m = /Vigil listening on (\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    proc.once('exit', (code) => reject(new Error(`exited ${code}`)))
  })
  const listening = performance.now() - t0
  await firstByte(url + '/')
  const ttfb = performance.now() - t0
  const exited = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGTERM')
  await exited
  return { listening, ttfb }
}

export async function run(runs = 15) {
  await once() // warm the OS file cache; cold means a new process, not a cold disk
  const listening = []
  const ttfb = []
  for (let i = 0; i < runs; i++) {
    const r = await once()
    listening.push(r.listening)
    ttfb.push(r.ttfb)
  }
  report('serve.cold_start.listening', 'ms', listening)
  report('serve.cold_start.first_byte', 'ms', ttfb)
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
