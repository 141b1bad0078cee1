// A real `vigil serve` process (the built CLI) for the gate CLI and SDK tests, a child process runner, and
// a reviewer that decides gates through the review API.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

export const root = resolve(__dirname, '../../..')
export const bin = join(root, 'bin/vigil.js')

export interface ServeProcess {
  proc: ChildProcessWithoutNullStreams
  /** As printed: `http://HOST:PORT`. */
  url: string
  port: number
  /** The same server on loopback (where the tests review from). */
  local: string
  dataDir: string
  stop(signal?: NodeJS.Signals): Promise<void>
}

export function requireBuild(): void {
  if (!existsSync(join(root, 'out/main/cli.js')) || !existsSync(join(root, 'out/sdk/sdk/index.js'))) throw new Error('Build first: npm run build')
}

/** A temp folder removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** `vigil serve --port PORT(0) --no-default-store --data-dir DIR …`, ready once it printed its URL. */
export async function startServe(dataDir: string, args: string[] = [], port = 0): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--no-default-store', '--data-dir', dataDir, ...args], {
    env: { ...cleanEnv(), XDG_DATA_HOME: join(dataDir, 'xdg') }
  })
  let out = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL in: ${out}`)), 30_000)
    proc.stdout.on('data', () => {
      const m = /Vigil listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolveUrl(m[1]!)
      }
    })
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`vigil serve exited (${code ?? signal}) before it was ready: ${out}`))
    })
  })
  const actualPort = Number(new URL(url).port)
  return {
    proc,
    url,
    port: actualPort,
    local: `http://127.0.0.1:${actualPort}`,
    dataDir,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise<void>((r) => proc.once('exit', () => r()))
      proc.kill(signal)
      await exited
    }
  }
}

/** Starts `vigil serve` again on the port a stopped one had (its data folder keeps pending gates), retrying while the port is released. */
export async function restartOnPort(dataDir: string, port: number): Promise<ServeProcess> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startServe(dataDir, [], port)
    } catch (err) {
      if (attempt >= 20) throw err
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

/** One `vigil serve` for a whole test file (started in beforeAll, stopped with its temp folder in afterAll). */
export function serveForFile(prefix: string): { readonly dir: string; readonly vigil: ServeProcess } {
  let tmp: ReturnType<typeof tempDir> | undefined
  let vigil: ServeProcess | undefined
  beforeAll(async () => {
    requireBuild()
    tmp = tempDir(prefix)
    vigil = await startServe(join(tmp.dir, 'data'))
  }, 40_000)
  afterAll(async () => {
    await vigil?.stop()
    tmp?.remove()
  })
  return {
    get dir() {
      return tmp!.dir
    },
    get vigil() {
      return vigil!
    }
  }
}

/** The environment without a developer's own VIGIL_* settings (tests set what they need). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(env)) if (key.startsWith('VIGIL_')) delete env[key]
  return env
}

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface Child {
  proc: ChildProcessWithoutNullStreams
  stdout: () => string
  stderr: () => string
  done: Promise<Finished>
}

/** Runs `node ARGS…` (the gate CLI, the example agent) and collects its output. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...cleanEnv(), ...env } })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const done = new Promise<Finished>((r) => proc.once('close', (code, signal) => r({ code, signal, stdout, stderr })))
  return { proc, stdout: () => stdout, stderr: () => stderr, done }
}

/** `vigil gate ARGS…`. */
export function gate(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return runNode([bin, 'gate', ...args], env)
}

export async function json(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

export interface PendingGate {
  reviewId: string
  taskDescription: string
  taskOutput: string
  timeoutMs: number
  onTimeout: string
  timing: string
  source: { kind: string; label: string; producerId: string | null }
  runId?: string
}

/** Pending gates as a reviewer on this machine sees them (no password set). */
export async function pendingGates(base: string): Promise<PendingGate[]> {
  const res = await json('GET', `${base}/api/reviews`)
  if (res.status !== 200) throw new Error(`GET /api/reviews: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.reviews as PendingGate[]
}

/** Waits until a pending gate matches `pick` (polling the API every 50 ms, as a reviewer's inbox would see it). */
export async function waitForGate(base: string, pick: (g: PendingGate) => boolean, child?: Child, timeoutMs = 15_000): Promise<PendingGate> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = (await pendingGates(base)).find(pick)
    if (found) return found
    if (Date.now() > deadline) throw new Error(`no such gate in time${child ? `; child stderr: ${child.stderr()}` : ''}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Decides a gate through the review API, as a reviewer would. */
export async function decide(base: string, reviewId: string, decision: string, revisedOutput?: string): Promise<void> {
  const res = await json('POST', `${base}/api/reviews/${encodeURIComponent(reviewId)}`, { decision, ...(revisedOutput !== undefined ? { revisedOutput } : {}) })
  if (res.status !== 200) throw new Error(`decide ${reviewId}: ${res.status} ${JSON.stringify(res.body)}`)
}

/** This machine's first non-loopback IPv4 address (a "remote" caller as Vigil sees it), or null. */
export function lanAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return null
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

/** GET /api/rpc-style call (loopback, no password). */
export async function rpc<T>(base: string, method: string, args: unknown[] = []): Promise<T> {
  const res = await json('POST', `${base}/api/rpc/${method}`, { args })
  if (res.status !== 200 || res.body.ok !== true) throw new Error(`${method}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.value as T
}
