// Starts the real `vigil serve` (the built CLI) as a child process on an ephemeral port.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export interface VigilProcess {
  url: string
  proc: ChildProcess
  output: () => string
  stop(): Promise<number | null>
}

const root = resolve(__dirname, '../../..')

/** `env` adds to the environment, e.g. { VIGIL_PASSWORD: '…' } for a server that requires a login. */
export function startVigil(args: string[], timeoutMs = 30_000, env: Record<string, string> = {}): Promise<VigilProcess> {
  // Its own data folder: recordings from other tests (or the user's) must not show up.
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-data-'))
  const proc = spawn(process.execPath, [resolve(root, 'bin/vigil.js'), 'serve', '--port', '0', '--no-default-store', '--data-dir', dataDir, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))

  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`vigil serve did not start within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    const onData = () => {
      const m = /Vigil listening on (http:\/\/\S+)/.exec(out)
      if (!m) return
      clearTimeout(timer)
      proc.stdout!.off('data', onData)
      resolvePromise({
        url: m[1]!,
        proc,
        output: () => out,
        async stop() {
          if (proc.exitCode === null) proc.kill('SIGTERM')
          return exited
        }
      })
    }
    proc.stdout!.on('data', onData)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`vigil serve exited with ${code}:\n${out}`))
    })
  })
}
