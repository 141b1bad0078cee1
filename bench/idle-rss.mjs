// Main-process RSS at idle: `vigil serve` with nothing to watch, and with the demo running, sampled
// from /proc after it settles. (The desktop main process runs the same service code inside Electron.)
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { report } from './stats.mjs'

const root = join(import.meta.dirname, '..')

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

async function sample(args, label, settleMs = 3000, samples = 10) {
  const proc = spawn(process.execPath, [join(root, 'bin/vigil.js'), 'serve', '--port', '0', '--no-default-store', '--data-dir', mkdtempSync(join(tmpdir(), 'vigil-bench-data-')), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    let out = ''
    proc.stdout.on('data', (d) => {
      out += d
      if (out.includes('Vigil listening on')) resolve()
    })
    proc.once('exit', (code) => reject(new Error(`exited ${code}`)))
  })
  await sleep(settleMs)
  const values = []
  for (let i = 0; i < samples; i++) {
    values.push(rssMiB(proc.pid))
    await sleep(500)
  }
  const exited = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGTERM')
  await exited
  report(`main.rss.idle.${label}`, 'MiB', values)
}

export async function run() {
  if (process.platform !== 'linux') {
    process.stderr.write('idle-rss: needs /proc (Linux); skipped\n')
    return
  }
  await sample([], 'empty')
  await sample(['--demo'], 'demo', 5000)
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
