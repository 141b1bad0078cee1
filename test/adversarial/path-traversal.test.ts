// Path traversal on every route that serves files: `vigil serve`'s static handler (GET and HEAD, the
// request target sent byte for byte on a raw socket, so no client normalises it first) and the
// desktop's app://renderer/ protocol (app-protocol.ts: new URL(request.url).pathname → readStaticFile).
// Next to the renderer folder sit secret.txt and renderer-secret.txt (a sibling whose name starts like
// the root's); nothing outside the renderer folder may ever come back, whatever the encoding.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readStaticFile } from '../../src/main/server/static-files'
import { SECRET, expectIntact, expectServing, rawTcp, seedBaseline, startVigil } from './support'
import type { Recorded, Vigil } from './support'

let v: Vigil
let baseline: Recorded
const INDEX = '<title>Vigil</title>'

beforeAll(async () => {
  v = await startVigil()
  baseline = await seedBaseline(v)
  // A directory inside the renderer whose name is an encoded-dot lookalike, to catch double decoding.
  mkdirSync(join(v.rendererDir, '%2e%2e'), { recursive: true })
  writeFileSync(join(v.rendererDir, '%2e%2e', 'inside.txt'), 'inside')
})
afterAll(() => v.close())

const TRAVERSALS: string[] = [
  '/../secret.txt',
  '/../../../../../../etc/passwd',
  '/assets/../../secret.txt',
  '/%2e%2e/secret.txt',
  '/%2E%2E/secret.txt',
  '/.%2e/secret.txt',
  '/%2e./secret.txt',
  '/%2e%2e%2fsecret.txt',
  '/..%2fsecret.txt',
  '/..%2Fsecret.txt',
  '/assets/..%2f..%2fsecret.txt',
  '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
  '/%252e%252e/secret.txt',
  '/%252e%252e%252fsecret.txt',
  '/..%252fsecret.txt',
  '/..%5csecret.txt',
  '/..%5c..%5csecret.txt',
  '/assets\\..\\..\\secret.txt',
  '/..\\secret.txt',
  '/%c0%ae%c0%ae/secret.txt',
  '/%c0%ae%c0%ae%c0%afsecret.txt',
  '/%e0%80%ae%e0%80%ae/secret.txt',
  '/%c0%2e%c0%2e/secret.txt',
  '/%uff0e%uff0e/secret.txt',
  '/%ef%bc%8e%ef%bc%8e/secret.txt',
  '/..%00/secret.txt',
  '/index.html%00',
  '/index.html%00.js',
  '/%00/../secret.txt',
  '/etc/passwd',
  '//etc/passwd',
  '///etc/passwd',
  '/%2fetc%2fpasswd',
  '/%2F%2Fetc%2Fpasswd',
  '/%2f%2e%2e%2fsecret.txt',
  '/..;/secret.txt',
  '/%2e%2e;/secret.txt',
  '/....//secret.txt',
  '/..../secret.txt',
  '/.../secret.txt',
  '/../renderer-secret.txt',
  '/%2e%2e/renderer-secret.txt',
  '/assets/../../renderer-secret.txt',
  '/C:%5cWindows%5cwin.ini',
  '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/proc/self/environ',
  '/..%2f..%2f..%2f..%2fproc%2fself%2fenviron',
  '/%2e%2e/inside.txt',
  `/${'../'.repeat(200)}etc/passwd`,
  `/${'a/'.repeat(2000)}x.txt`
]

/** Request targets that are not origin-form paths at all. */
const ODD_TARGETS: string[] = ['http://127.0.0.1/../secret.txt', 'http://evil.com/../../secret.txt', '*', '..', '../secret.txt', 'secret.txt', '%2e%2e/secret.txt', '/?/../secret.txt', '/#/../secret.txt']

function leaks(body: string): boolean {
  return body.includes(SECRET) || /root:.*:0:0:/.test(body) || body.includes('PATH=') || body.includes('[fonts]')
}

async function get(method: 'GET' | 'HEAD', target: string): Promise<{ status: number; body: string }> {
  const reply = (await rawTcp(v, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${v.port}\r\nConnection: close\r\n\r\n`)).toString('latin1')
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0)
  return { status, body: reply.slice(reply.indexOf('\r\n\r\n') + 4) }
}

describe('vigil serve static files', () => {
  it.each(TRAVERSALS)('GET and HEAD %s return nothing from outside the renderer folder', async (path) => {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await get(method, path)
      expect(leaks(res.body), `${method} ${path}: ${res.body.slice(0, 120)}`).toBe(false)
      // Either refused, or the renderer's own index.html (client-side routes fall back to it).
      expect([0, 200, 400, 404]).toContain(res.status)
      if (res.status === 200 && method === 'GET') expect(res.body === 'inside' || res.body.includes(INDEX)).toBe(true)
    }
  })

  it.each(ODD_TARGETS)('request target %j is refused or answered from the renderer folder', async (target) => {
    const res = await get('GET', target)
    expect(leaks(res.body)).toBe(false)
    // 0: Node's HTTP parser rejects the target and the server drops the connection without a reply.
    expect([0, 200, 400, 404]).toContain(res.status)
  })

  it('other methods on file paths are refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND']) {
      const reply = (await rawTcp(v, `${method} /../secret.txt HTTP/1.1\r\nHost: 127.0.0.1:${v.port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)).toString('latin1')
      expect(reply).toMatch(/^HTTP\/1\.1 (405|400|404) /)
      expect(leaks(reply)).toBe(false)
    }
  })

  it('the renderer itself is still served, and the server and recorded runs are fine after all of it', async () => {
    const index = await get('GET', '/')
    expect(index.status).toBe(200)
    expect(index.body).toContain(INDEX)
    expect((await get('GET', '/assets/app.js')).body).toBe('export {}')
    // The literal folder "%2e%2e" inside the renderer is reachable only by its double-encoded name, never as "..".
    expect((await get('GET', '/%252e%252e/inside.txt')).body).toBe('inside')
    await expectServing(v)
    await expectIntact(v, baseline)
  })
})

describe('desktop app://renderer/ protocol (same resolver, URL pathname as Electron hands it over)', () => {
  it.each([...TRAVERSALS, '/%2e%2e%2f%2e%2e%2fsecret.txt', '/..%2f..%2f..%2fetc%2fpasswd'])('app://renderer%s returns nothing from outside', async (path) => {
    let pathname: string
    try {
      pathname = new URL(`app://renderer${path}`).pathname
    } catch {
      return // Electron would not even deliver such a URL.
    }
    const file = await readStaticFile(v.rendererDir, pathname)
    const body = file?.body.toString('latin1') ?? ''
    expect(leaks(body), `${pathname}`).toBe(false)
    if (file) expect(body === 'inside' || body.includes(INDEX)).toBe(true)
  })

  it('a symlink planted inside the renderer folder is the one way out (documented: the folder must not be writable by others)', async () => {
    // Not a traversal: whoever can write into the app's own renderer folder already controls the app.
    symlinkSync(join(v.dir, 'secret.txt'), join(v.rendererDir, 'planted.txt'))
    expect((await readStaticFile(v.rendererDir, '/planted.txt'))?.body.toString()).toBe(SECRET)
  })
})
