import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_SERVER_SETTINGS, desktopServerSecrets, serverSettingsFile } from '../../../src/main/settings/server-settings'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-server-settings-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('desktop server settings', () => {
  it('default to no login and no token; damaged or odd files read as defaults', () => {
    const file = serverSettingsFile(dir)
    expect(file.read()).toEqual(DEFAULT_SERVER_SETTINGS)
    writeFileSync(file.path, '{"passwordFile": 42, "ingressTokenFile": "  "}')
    expect(file.read()).toEqual(DEFAULT_SERVER_SETTINGS)
    writeFileSync(file.path, 'not json')
    expect(file.read()).toEqual(DEFAULT_SERVER_SETTINGS)
    expect(desktopServerSecrets(file.read(), {})).toEqual({ password: null, ingressToken: null })
  })

  it('read the secrets from the files they name, or from the environment', () => {
    writeFileSync(join(dir, 'pw'), 'hunter2\n')
    writeFileSync(join(dir, 'tok'), 'tok-123')
    const file = serverSettingsFile(dir)
    file.write({ ...DEFAULT_SERVER_SETTINGS, passwordFile: join(dir, 'pw'), ingressTokenFile: join(dir, 'tok') })
    expect(desktopServerSecrets(file.read(), {})).toEqual({ password: 'hunter2', ingressToken: 'tok-123' })
    expect(desktopServerSecrets({ passwordFile: null, ingressTokenFile: null }, { VIGIL_PASSWORD: 'p', VIGIL_INGRESS_TOKEN: 't' })).toEqual({ password: 'p', ingressToken: 't' })
  })

  it('refuse an unusable setting instead of serving unprotected, without echoing a secret', () => {
    writeFileSync(join(dir, 'empty'), '\n')
    expect(() => desktopServerSecrets({ passwordFile: join(dir, 'missing'), ingressTokenFile: null }, {})).toThrow(/no such file/)
    expect(() => desktopServerSecrets({ passwordFile: join(dir, 'empty'), ingressTokenFile: null }, {})).toThrow(/is empty/)
    expect(() => desktopServerSecrets({ passwordFile: null, ingressTokenFile: null }, { VIGIL_PASSWORD: '' })).toThrow(/set but empty/)
  })
})
