// Where secrets set in the Settings page live (today: the agents' ingress token). Two kinds:
//  * encrypted with the OS (Electron safeStorage: Keychain on macOS, DPAPI on Windows, libsecret/kwallet on
//    Linux), the cipher handed in by the desktop adapter (src/main/desktop/safe-storage.ts);
//  * a plain file only this user may read (0600 in a 0700 folder), where no OS encryption is available.
// Either way in <data folder>/secrets/, one file per secret, written atomically. Plain Node, tested with a fake cipher.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SecretStorageFacts } from '../../shared/model/settings'

export interface SecretStore {
  readonly facts: SecretStorageFacts
  /** The secret, or null when none is stored (or it cannot be read back: see readProblem). */
  get(name: string): string | null
  set(name: string, value: string): void
  delete(name: string): void
}

/** What the desktop adapter hands in: Electron's safeStorage, or a fake in tests. */
export interface SecretCipher {
  encrypt(plain: string): Buffer
  decrypt(encrypted: Buffer): string
}

const NAME = /^[a-z][a-z0-9-]{0,63}$/

function checkName(name: string): void {
  if (!NAME.test(name)) throw new Error(`bad secret name "${name}"`)
}

function writePrivate(dir: string, file: string, data: string | Buffer): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  try {
    chmodSync(dir, 0o700)
  } catch {
    // Windows: modes do not apply; the folder is under the user's profile.
  }
  const path = join(dir, file)
  const tmp = `${path}.${process.pid}.tmp`
  // Created 0600, so the secret is never readable by others, not even for a moment.
  writeFileSync(tmp, data, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
}

function readIfThere(path: string): Buffer | null {
  try {
    return readFileSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

export class FileSecretStore implements SecretStore {
  readonly facts: SecretStorageFacts = {
    kind: 'file',
    note: 'No OS encryption is available here, so the token is kept in a file only your user can read (mode 0600).'
  }
  constructor(readonly dir: string) {}

  get(name: string): string | null {
    checkName(name)
    const data = readIfThere(join(this.dir, name))
    const text = data?.toString('utf8').replace(/[\r\n]+$/, '') ?? ''
    return text === '' ? null : text
  }

  set(name: string, value: string): void {
    checkName(name)
    writePrivate(this.dir, name, value)
  }

  delete(name: string): void {
    checkName(name)
    rmSync(join(this.dir, name), { force: true })
  }
}

export class EncryptedSecretStore implements SecretStore {
  readonly facts: SecretStorageFacts = {
    kind: 'os-encryption',
    note: 'The token is encrypted with your operating system’s key store (Electron safeStorage) before it is written.'
  }
  constructor(
    readonly dir: string,
    private readonly cipher: SecretCipher
  ) {}

  get(name: string): string | null {
    checkName(name)
    const data = readIfThere(join(this.dir, `${name}.enc`))
    if (data && data.length > 0) {
      try {
        const text = this.cipher.decrypt(data)
        return text === '' ? null : text
      } catch {
        // Another user's or machine's key (a copied profile): unusable, as if not set.
        return null
      }
    }
    // Kept in the plain file while no encryption was available: read it, then move it under encryption.
    const plain = new FileSecretStore(this.dir).get(name)
    if (plain !== null) {
      this.set(name, plain)
    }
    return plain
  }

  set(name: string, value: string): void {
    checkName(name)
    writePrivate(this.dir, `${name}.enc`, this.cipher.encrypt(value))
    rmSync(join(this.dir, name), { force: true })
  }

  delete(name: string): void {
    checkName(name)
    rmSync(join(this.dir, `${name}.enc`), { force: true })
    rmSync(join(this.dir, name), { force: true })
  }
}

/** The encrypted store when the desktop has a usable cipher, else the 0600 file. */
export function chooseSecretStore(dataDir: string, cipher: SecretCipher | null): SecretStore {
  const dir = join(dataDir, 'secrets')
  return cipher ? new EncryptedSecretStore(dir, cipher) : new FileSecretStore(dir)
}
