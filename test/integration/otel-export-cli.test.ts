// The built `vigil serve --otlp-endpoint` as a real process: the banner says where runs go, a bad URL is a
// usage error (exit 2) with the reason, and SIGTERM right after a run ended still sends it (shutdown
// flushes with a deadline) — to a collector stub on 127.0.0.1:0.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { envelope, realisticRun, SVC_A } from '../unit/hub/frames'
import { CollectorStub } from './otel-export-collector'

const root = resolve(__dirname, '../..')
const bin = join(root, 'bin/vigil.js')
let dir: string
const collector = new CollectorStub()

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, XDG_DATA_HOME: join(dir, 'xdg') }
  for (const key of Object.keys(e)) if (key.startsWith('VIGIL_') || key.startsWith('OTEL_')) delete e[key]
  return e
}

async function serve(args: string[]): Promise<{ proc: ChildProcessWithoutNullStreams; url: string; output: () => string }> {
  const proc = spawn(process.execPath, [bin, 'serve', '--port', '0', '--no-default-store', '--data-dir', join(dir, 'data'), ...args], { env: env() })
  let out = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no URL in: ${out}`)), 30_000)
    proc.stdout.on('data', () => {
      const m = /Vigil listening on (http:\/\/\S+)/.exec(out)
      if (m && out.includes('Stop')) {
        clearTimeout(timer)
        ok(m[1]!)
      }
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      fail(new Error(`exited ${code}: ${out}`))
    })
  })
  return { proc, url, output: () => out }
}

beforeAll(async () => {
  if (!existsSync(join(root, 'out/main/cli.js'))) throw new Error('Build first: npx electron-vite build')
  dir = mkdtempSync(join(tmpdir(), 'vigil-otel-cli-'))
  await collector.start()
})
afterAll(async () => {
  await collector.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('vigil serve --otlp-endpoint (the built command)', () => {
  it('refuses a URL it cannot use, with the reason, exit 2', () => {
    const r = spawnSync(process.execPath, [bin, 'serve', '--otlp-endpoint', 'collector:4318'], { env: env(), encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/^vigil: --otlp-endpoint: Use an http:\/\/ or https:\/\/ URL/)
  })

  it('says in the banner where runs go; SIGTERM right after a run ended still sends it', async () => {
    const { proc, url, output } = await serve(['--otlp-endpoint', collector.url])
    expect(output()).toContain(`Forwarding to  ${collector.url}/v1/traces`)
    let seq = 0
    for (const m of realisticRun('e-cli')) {
      const res = await fetch(`${url}/api/hub/ingress`, { method: 'POST', body: envelope(SVC_A, ++seq, '2026-03-05T14:00:00Z', m) })
      expect(res.status).toBe(202)
    }
    // At once: the run is still settling and nothing has been sent.
    expect(collector.received).toHaveLength(0)
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    const spans = collector.spans()
    expect(spans).toHaveLength(16)
    expect(spans.find((s) => s.parentSpanId === '')?.attributes.find((a) => a.key === 'agentensemble.ensemble.id')?.value.stringValue).toBe('e-cli')
  })
})
