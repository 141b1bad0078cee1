import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readStaticFile, resolveStaticPath } from '../../../src/main/server/static-files'

let dir: string
let root: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-static-'))
  root = join(dir, 'renderer')
  mkdirSync(join(root, 'assets'), { recursive: true })
  writeFileSync(join(root, 'index.html'), '<html>index</html>')
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(dir, 'secret.txt'), 'secret')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('static files', () => {
  it('serves files inside the root with their content type', async () => {
    const file = await readStaticFile(root, '/assets/app.js')
    expect(file?.contentType).toMatch(/javascript/)
    expect(file?.body.toString()).toBe('console.log(1)')
    expect((await readStaticFile(root, '/'))?.body.toString()).toContain('index')
  })

  it('falls back to index.html for client routes but not for missing assets', async () => {
    expect((await readStaticFile(root, '/store/abc'))?.body.toString()).toContain('index')
    expect(await readStaticFile(root, '/assets/missing.js')).toBeNull()
  })

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/%252e%252e/secret.txt',
    '/index.html%00.js',
    '/%ff'
  ])('never escapes the root: %s', async (path) => {
    const resolved = resolveStaticPath(root, path)
    if (resolved !== null) expect(resolved.startsWith(root)).toBe(true)
    const file = await readStaticFile(root, path)
    expect(file?.body.toString() ?? '').not.toContain('secret')
  })
})
