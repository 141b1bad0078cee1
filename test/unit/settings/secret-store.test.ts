// Where the ingress token lives: encrypted by the OS cipher (a fake of Electron's safeStorage here) or a
// 0600 file in a 0700 folder where there is none.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chooseSecretStore, EncryptedSecretStore, FileSecretStore, type SecretCipher } from '../../../src/main/settings/secret-store'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-secrets-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Stands in for safeStorage: reversible, but nothing of the plain text shows in what it writes. */
const fakeCipher = (key = 0x5a): SecretCipher => ({
  encrypt: (plain) => Buffer.concat([Buffer.from('FAKE1'), Buffer.from(plain, 'utf8').map((b) => b ^ key)]),
  decrypt: (data) => {
    if (!data.subarray(0, 5).equals(Buffer.from('FAKE1')) || key !== 0x5a) throw new Error('Error while decrypting the ciphertext')
    return Buffer.from(data.subarray(5).map((b) => b ^ key)).toString('utf8')
  }
})

const posix = process.platform !== 'win32'

describe('secret stores', () => {
  it('the file store keeps a secret in a 0600 file in a 0700 folder and says so', () => {
    const store = chooseSecretStore(dir, null)
    expect(store).toBeInstanceOf(FileSecretStore)
    expect(store.facts.kind).toBe('file')
    expect(store.facts.note).toMatch(/0600/)
    expect(store.get('ingress-token')).toBeNull()
    store.set('ingress-token', 'tok-abc')
    expect(store.get('ingress-token')).toBe('tok-abc')
    if (posix) {
      expect(statSync(join(dir, 'secrets', 'ingress-token')).mode & 0o777).toBe(0o600)
      expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700)
    }
    store.delete('ingress-token')
    expect(store.get('ingress-token')).toBeNull()
    expect(() => store.set('../escape', 'x')).toThrow(/bad secret name/)
  })

  it('the encrypted store writes only cipher text (0600), reads it back, and moves an older plain file under encryption', () => {
    new FileSecretStore(join(dir, 'secrets')).set('ingress-token', 'was-plain')
    const store = chooseSecretStore(dir, fakeCipher())
    expect(store).toBeInstanceOf(EncryptedSecretStore)
    expect(store.facts.kind).toBe('os-encryption')
    expect(store.get('ingress-token')).toBe('was-plain')
    expect(readdirSync(join(dir, 'secrets'))).toEqual(['ingress-token.enc'])

    store.set('ingress-token', 'secret-value-123')
    const raw = readFileSync(join(dir, 'secrets', 'ingress-token.enc'))
    expect(raw.toString('latin1')).not.toContain('secret-value-123')
    if (posix) expect(statSync(join(dir, 'secrets', 'ingress-token.enc')).mode & 0o777).toBe(0o600)
    expect(store.get('ingress-token')).toBe('secret-value-123')
    store.delete('ingress-token')
    expect(store.get('ingress-token')).toBeNull()
    expect(readdirSync(join(dir, 'secrets'))).toEqual([])
  })

  it('a file another key encrypted (a copied profile) or garbage reads as no secret, never as text', () => {
    chooseSecretStore(dir, fakeCipher()).set('ingress-token', 'mine')
    expect(new EncryptedSecretStore(join(dir, 'secrets'), fakeCipher(0x11)).get('ingress-token')).toBeNull()
    writeFileSync(join(dir, 'secrets', 'ingress-token.enc'), 'garbage')
    expect(chooseSecretStore(dir, fakeCipher()).get('ingress-token')).toBeNull()
  })
})
