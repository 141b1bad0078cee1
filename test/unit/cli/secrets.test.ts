import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseArgs, type ServeOptions } from '../../../src/main/cli/args'
import { resolveSecrets } from '../../../src/main/cli/secrets'
import { StartupError } from '../../../src/main/cli/serve'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-secrets-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const serve = (...args: string[]) => parseArgs(['serve', ...args]) as ServeOptions

function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('password and ingress token', () => {
  it('reads the files, trimming only the trailing newline', () => {
    const pw = file('pw', '  correct horse \n')
    const tok = file('tok', 'tok-123\r\n')
    expect(resolveSecrets(serve('--password-file', pw, '--ingress-token-file', tok), {})).toEqual({
      password: '  correct horse ',
      ingressToken: 'tok-123'
    })
  })

  it('falls back to VIGIL_PASSWORD and VIGIL_INGRESS_TOKEN; a file wins over the environment', () => {
    expect(resolveSecrets(serve(), { VIGIL_PASSWORD: 'envpw', VIGIL_INGRESS_TOKEN: 'envtok' })).toEqual({ password: 'envpw', ingressToken: 'envtok' })
    expect(resolveSecrets(serve('--password-file', file('pw2', 'filepw')), { VIGIL_PASSWORD: 'envpw' }).password).toBe('filepw')
    expect(resolveSecrets(serve(), {})).toEqual({ password: null, ingressToken: null })
  })

  it('refuses an empty, missing, unreadable or directory file, and an empty variable, naming only the source', () => {
    const cases: Array<[ServeOptions, NodeJS.ProcessEnv, RegExp]> = [
      [serve('--password-file', file('empty', '\n')), {}, /--password-file .*empty is empty/],
      [serve('--password-file', join(dir, 'missing')), {}, /cannot read --password-file .*missing: no such file/],
      [serve('--ingress-token-file', dir), {}, /cannot read --ingress-token-file .*: it is not a file/],
      [serve(), { VIGIL_PASSWORD: '' }, /VIGIL_PASSWORD is set but empty/],
      [serve(), { VIGIL_INGRESS_TOKEN: '' }, /VIGIL_INGRESS_TOKEN is set but empty/]
    ]
    if (process.getuid?.() !== 0) {
      const locked = file('locked', 'secret-in-locked-file')
      chmodSync(locked, 0o000)
      cases.push([serve('--password-file', locked), {}, /cannot read --password-file .*locked: permission denied/])
    }
    for (const [opts, env, reason] of cases) {
      expect(() => resolveSecrets(opts, env)).toThrow(StartupError)
      expect(() => resolveSecrets(opts, env)).toThrow(reason)
    }
  })
})
