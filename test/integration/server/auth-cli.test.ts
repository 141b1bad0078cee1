// The built `vigil serve` with auth flags, as a user runs it: refusal to face a network unguarded
// (exit 2), --insecure's warning, unreadable or empty password files (exit 1), and a login that works.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(__dirname, '../../..')
const bin = join(root, 'bin/vigil.js')
// 127.0.0.2 is "not loopback" by the spec's rule (§3), yet reaches nothing beyond this machine.
const NON_LOCAL = '127.0.0.2'
const PASSWORD = 'cli-pw-2b7e'
let dir: string

beforeAll(() => {
  if (!existsSync(join(root, 'out/main/cli.js'))) throw new Error('Build first: npm run build')
  dir = mkdtempSync(join(tmpdir(), 'vigil-auth-cli-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const baseArgs = () => ['serve', '--port', '0', '--no-default-store', '--data-dir', join(dir, 'data')]
const cleanEnv = (extra: Record<string, string> = {}) => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  if (!('VIGIL_PASSWORD' in extra)) delete env.VIGIL_PASSWORD
  if (!('VIGIL_INGRESS_TOKEN' in extra)) delete env.VIGIL_INGRESS_TOKEN
  if (!('VIGIL_REVIEWER_TOKEN' in extra)) delete env.VIGIL_REVIEWER_TOKEN
  return env
}

function run(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [bin, ...baseArgs(), ...args], { encoding: 'utf8', timeout: 20_000, env: cleanEnv(env) })
  return { code: res.status, stdout: res.stdout, stderr: res.stderr }
}

/** Starts vigil; resolves with its URL and output once it listens, or with its exit code. */
function start(args: string[], env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, [bin, ...baseArgs(), ...args], { env: cleanEnv(env) })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  const url = new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL in: ${out}${err}`)), 15_000)
    proc.stdout.on('data', () => {
      const m = /Vigil listening on (\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolveUrl(m[1]!)
      }
    })
    void exited.then((code) => reject(new Error(`exited ${code}: ${err}`)))
  })
  return {
    url,
    output: () => out + err,
    stderr: () => err,
    async stop() {
      proc.kill('SIGTERM')
      return exited
    }
  }
}

describe('vigil serve with auth flags', () => {
  it('refuses a non-loopback --host with no password and no token: exit 2, one line naming the ways out', () => {
    for (const host of [NON_LOCAL, '0.0.0.0']) {
      const res = run(['--host', host])
      expect(res.code).toBe(2)
      const lines = res.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(new RegExp(`^vigil: refusing to listen on ${host.replace(/\./g, '\\.')} `))
      for (const named of ['--password-file', '--ingress-token-file', 'VIGIL_INGRESS_TOKEN', '--insecure']) expect(lines[0]).toContain(named)
      expect(res.stdout).toBe('')
    }
  })

  it('refuses an empty or unreadable --password-file with exit 1 and a one-line reason', () => {
    const empty = join(dir, 'empty')
    writeFileSync(empty, '\n')
    for (const [file, reason] of [[empty, /--password-file .*empty is empty/], [join(dir, 'missing'), /cannot read --password-file .*missing: no such file/]] as const) {
      const res = run(['--password-file', file])
      expect(res.code).toBe(1)
      expect(res.stderr.trim().split('\n')).toHaveLength(1)
      expect(res.stderr).toMatch(reason)
    }
    expect(run([], { VIGIL_PASSWORD: '' })).toMatchObject({ code: 1, stderr: 'vigil: VIGIL_PASSWORD is set but empty\n' })
  })

  it('--insecure starts on a non-loopback host with a loud warning on stderr', async () => {
    const vigil = start(['--host', NON_LOCAL, '--insecure'])
    try {
      const url = await vigil.url
      expect(url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/)
      expect(vigil.stderr()).toMatch(/^vigil: !!! WARNING: --insecure !!!\nvigil: Vigil is listening on 127\.0\.0\.2 with no password\. Anyone/)
      expect((await fetch(`${url}/api/status`)).status).toBe(200)
    } finally {
      expect(await vigil.stop()).toBe(0)
    }
  })

  it('starts quietly on a non-loopback host with an ingress token', async () => {
    const token = join(dir, 'token')
    writeFileSync(token, 'tok-cli-1\n')
    const vigil = start(['--host', NON_LOCAL, '--ingress-token-file', token])
    try {
      const url = await vigil.url
      expect(vigil.stderr()).toBe('')
      const gate = JSON.stringify({ taskDescription: 'Ship?', taskOutput: 'v1', timeoutMs: 0, onTimeout: 'CONTINUE' })
      const agent = (auth?: string) => fetch(`${url}/api/reviews`, { method: 'POST', body: gate, headers: auth ? { authorization: auth } : {} })
      expect((await agent()).status).toBe(401)
      expect((await agent('Bearer tok-cli-1')).status).toBe(201)
    } finally {
      expect(await vigil.stop()).toBe(0)
    }
  })

  it('--reviewer-token-file: with a password, the token lists and decides gates from loopback and a local agent cannot; it must differ from the ingress token', async () => {
    const pw = join(dir, 'review-pw')
    const reviewer = join(dir, 'reviewer-token')
    const ingress = join(dir, 'ingress-token')
    writeFileSync(pw, `${PASSWORD}\n`)
    writeFileSync(reviewer, 'rev-cli-9\n')
    writeFileSync(ingress, 'rev-cli-9\n')
    const same = run(['--password-file', pw, '--reviewer-token-file', reviewer, '--ingress-token-file', ingress])
    expect(same).toMatchObject({ code: 1, stderr: expect.stringMatching(/reviewer token must differ from the ingress token/) })
    expect(same.stderr).not.toContain('rev-cli-9')
    const vigil = start(['--password-file', pw, '--reviewer-token-file', reviewer])
    try {
      const url = await vigil.url
      const gate = JSON.stringify({ taskDescription: 'Ship?', taskOutput: 'v1', timeoutMs: 0, onTimeout: 'CONTINUE' })
      const created = await fetch(`${url}/api/reviews`, { method: 'POST', body: gate })
      expect(created.status).toBe(201)
      const { reviewId } = (await created.json()) as { reviewId: string }
      expect((await fetch(`${url}/api/reviews`)).status).toBe(401)
      expect((await fetch(`${url}/api/reviews/${reviewId}`, { method: 'POST', body: '{"decision":"CONTINUE"}' })).status).toBe(401)
      const auth = { authorization: 'Bearer rev-cli-9' }
      expect((await fetch(`${url}/api/reviews`, { headers: auth })).status).toBe(200)
      const decided = await fetch(`${url}/api/reviews/${reviewId}`, { method: 'POST', headers: auth, body: '{"decision":"CONTINUE","decidedBy":"x"}' })
      expect(await decided.json()).toMatchObject({ status: 'APPLIED', gate: { outcome: { decidedBy: 'reviewer token' } } })
      expect(vigil.output()).not.toContain('rev-cli-9')
    } finally {
      expect(await vigil.stop()).toBe(0)
    }
  })

  it('with VIGIL_PASSWORD, pages redirect to /login, the password signs in, and it is never printed', async () => {
    const vigil = start([], { VIGIL_PASSWORD: PASSWORD })
    try {
      const url = await vigil.url
      const page = await fetch(`${url}/`, { redirect: 'manual' })
      expect(page.status).toBe(303)
      expect(page.headers.get('location')).toBe('/login')
      expect((await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: 'wrong' }) })).status).toBe(401)
      const ok = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) })
      expect(ok.status).toBe(200)
      const cookie = ok.headers.get('set-cookie')!.split(';')[0]!
      expect((await fetch(`${url}/`, { headers: { cookie } })).status).toBe(200)
    } finally {
      expect(await vigil.stop()).toBe(0)
    }
    expect(vigil.output()).not.toContain(PASSWORD)
  })

  it('documents the auth flags in --help', () => {
    const res = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })
    for (const flag of ['--password-file', '--ingress-token-file', '--insecure', 'VIGIL_PASSWORD', 'VIGIL_INGRESS_TOKEN', '/login']) {
      expect(res.stdout).toContain(flag)
    }
  })
})
