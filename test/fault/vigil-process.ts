// A real `vigil serve` process for fault tests (built CLI, its own process, real signals), and what its
// recording holds once it has stopped.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'

export const root = resolve(__dirname, '../..')
const bin = join(root, 'bin/vigil.js')

export interface VigilProcess {
  proc: ChildProcessWithoutNullStreams
  url: string
  ws: string
  output: () => string
}

const running = new Set<ChildProcessWithoutNullStreams>()

export function requireBuild(): void {
  if (!existsSync(join(root, 'out/main/cli.js'))) throw new Error('Build first: npm run build')
}

/** Kills (SIGKILL) every process a test left running. */
export function killAll(): void {
  for (const proc of running) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  running.clear()
}

/** `vigil serve --port 0 --data-dir DIR` with its heap capped (1 GiB unless told): ready once it printed its URL. */
export async function startVigil(dataDir: string, opts: { heapMb?: number; env?: NodeJS.ProcessEnv; args?: string[] } = {}): Promise<VigilProcess> {
  const proc = spawn(
    process.execPath,
    [`--max-old-space-size=${opts.heapMb ?? 1024}`, bin, 'serve', '--port', '0', '--no-default-store', '--data-dir', dataDir, ...(opts.args ?? [])],
    { env: { ...process.env, XDG_DATA_HOME: join(dataDir, '..', 'xdg'), ...opts.env } }
  )
  running.add(proc)
  let out = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL in: ${out}`)), 30_000)
    const look = () => {
      const m = /Vigil listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolveUrl(m[1]!)
      }
    }
    proc.stdout.on('data', look)
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`vigil exited (${code ?? signal}) before it was ready: ${out}`))
    })
  })
  return { proc, url, ws: url.replace('http://', 'ws://'), output: () => out }
}

/** Sends `signal` and waits for the exit; resolves with the exit code or signal. */
export async function stopWith(v: VigilProcess, signal: NodeJS.Signals): Promise<number | string | null> {
  if (v.proc.exitCode !== null || v.proc.signalCode !== null) return v.proc.exitCode ?? v.proc.signalCode
  const exited = new Promise<number | string | null>((r) => v.proc.once('exit', (code, sig) => r(code ?? sig)))
  v.proc.kill(signal)
  return exited
}

/** GET /api/status (loopback, no password: full details). */
export async function status(v: VigilProcess): Promise<Record<string, unknown>> {
  const res = await fetch(`${v.url}/api/status`)
  return (await res.json()) as Record<string, unknown>
}

/**
 * Every tool name recorded in `<dataDir>/recordings.duckdb` (tests give each event a unique tool name),
 * read-only, once no Vigil holds the file.
 */
export async function recordedToolNames(dataDir: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(join(dataDir, 'recordings.duckdb'), { access_mode: 'READ_ONLY', threads: '1' })
  try {
    const con = await instance.connect()
    try {
      const reader = await con.runAndReadAll(`SELECT json_extract_string(message, '$.toolName') AS t FROM events WHERE type = 'tool_called'`)
      return reader.getRowObjectsJS().map((r) => String(r.t))
    } finally {
      con.closeSync()
    }
  } finally {
    instance.closeSync()
  }
}

/** A hub envelope whose inner message is a tool call named `toolName` (padded to about `bytes`). */
export function toolEnvelope(producerId: string, sequence: number, toolName: string, bytes = 0): string {
  const message = {
    type: 'tool_called',
    agentRole: 'Agent',
    taskIndex: 1,
    toolName,
    toolArguments: bytes > 0 ? 'x'.repeat(bytes) : '{}',
    toolResult: 'ok',
    structuredResult: null,
    durationMs: 1,
    outcome: 'SUCCESS'
  }
  return JSON.stringify({ type: 'event', producer: { producerId, serviceName: 'fault' }, sequence, receivedAt: new Date().toISOString(), message })
}

/** Polls an async condition every 50 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const mounts: string[] = []

/** True where this process may mount a tmpfs (root on Linux, as here and in CI); disk-full tests need it. */
export const canMountTmpfs = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const probe = mkdtempSync(join(tmpdir(), 'vigil-mount-probe-'))
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0
  if (ok) spawnSync('umount', [probe])
  rmSync(probe, { recursive: true, force: true })
  if (!ok) console.warn('disk-full fault tests skipped: this machine does not allow mounting a tmpfs')
  return ok
})()

/** A small tmpfs at `at` (read-only if asked); unmountAll() removes every one. */
export function mountTmpfs(at: string, size: string, readOnly = false): void {
  mkdirSync(at, { recursive: true })
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', at], { encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`mount failed: ${res.stderr}`)
  mounts.push(at)
}

export function unmountAll(): void {
  for (const at of mounts.splice(0).reverse()) spawnSync('umount', ['-l', at])
}
