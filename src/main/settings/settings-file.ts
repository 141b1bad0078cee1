import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * A small JSON file of user settings. Reads are tolerant (a missing or damaged file yields the
 * defaults, so a bad file never stops Vigil from starting); writes are atomic (temp file + rename).
 */
export class SettingsFile<T extends object> {
  constructor(
    readonly path: string,
    private readonly defaults: T,
    private readonly sanitize: (raw: unknown) => T
  ) {}

  read(): T {
    try {
      return this.sanitize(JSON.parse(readFileSync(this.path, 'utf8')))
    } catch {
      return structuredClone(this.defaults)
    }
  }

  write(value: T): void {
    mkdirSync(dirname(this.path), { recursive: true })
    const tmp = `${this.path}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(value, null, 2))
    renameSync(tmp, this.path)
  }
}
