// vigil:// links: what is accepted, what is refused (with a reason), and what a confirmed link does.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { applyDeepLink, deepLinksIn, describeDeepLink, MAX_DEEP_LINK_LENGTH, parseDeepLink, type DeepLink } from '../../../src/main/desktop/deep-links'

describe('parseDeepLink: attach', () => {
  it('accepts a ws:// or wss:// dashboard, with an optional label, with or without a slash before the query', () => {
    expect(parseDeepLink('vigil://attach?url=ws://localhost:7329/ws')).toEqual({ ok: true, link: { action: 'attach', url: 'ws://localhost:7329/ws', label: null } })
    expect(parseDeepLink('vigil://attach/?url=wss://ci.example.org/ws&label=%20Nightly%20')).toEqual({
      ok: true,
      link: { action: 'attach', url: 'wss://ci.example.org/ws', label: 'Nightly' }
    })
    expect(parseDeepLink('VIGIL://Attach?url=ws://h:1/ws')).toMatchObject({ ok: true, link: { action: 'attach' } })
  })

  it('keeps a dashboard URL’s own query when it is percent-encoded', () => {
    const target = 'ws://h:7329/ws?run=a&x=1'
    expect(parseDeepLink(`vigil://attach?url=${encodeURIComponent(target)}`)).toMatchObject({ ok: true, link: { url: target } })
  })

  it.each([
    ['vigil://attach', /exactly one url/],
    ['vigil://attach?url=ws://a/ws&url=ws://b/ws', /exactly one url/],
    ['vigil://attach?url=http://localhost:7329/ws', /ws:\/\/ or wss:\/\/ URL, got http:/],
    ['vigil://attach?url=javascript:alert(1)', /ws:\/\/ or wss:\/\//],
    ['vigil://attach?url=not%20a%20url', /is not a URL/],
    ['vigil://attach?url=ws://me:secret@h/ws', /user name or password/],
    ['vigil://attach?url=ws://h/ws&label=', /label/],
    [`vigil://attach?url=ws://h/ws&label=${'x'.repeat(121)}`, /label/],
    ['vigil://attach?url=ws://h/ws&label=a%0Ab', /label/]
  ])('refuses %s', (raw, reason) => {
    const res = parseDeepLink(raw)
    expect(res.ok).toBe(false)
    if (!res.ok) expect(res.error).toMatch(reason)
  })
})

describe('parseDeepLink: open', () => {
  it('accepts a full local path (POSIX, and Windows drive paths on Windows), normalised', () => {
    expect(parseDeepLink('vigil://open?path=/home/me/.local/share/perspt/perspt.db', 'linux')).toEqual({
      ok: true,
      link: { action: 'open', path: '/home/me/.local/share/perspt/perspt.db' }
    })
    expect(parseDeepLink('vigil://open?path=/a/b/../perspt.db', 'darwin')).toMatchObject({ ok: true, link: { path: '/a/perspt.db' } })
    expect(parseDeepLink('vigil://open?path=' + encodeURIComponent('C:\\Users\\me\\perspt.db'), 'win32')).toMatchObject({
      ok: true,
      link: { path: 'C:\\Users\\me\\perspt.db' }
    })
  })

  it.each([
    ['vigil://open', 'linux', /exactly one path/],
    ['vigil://open?path=relative/perspt.db', 'linux', /full local path/],
    ['vigil://open?path=C:%5Cx.db', 'linux', /full local path/],
    ['vigil://open?path=' + encodeURIComponent('\\\\server\\share\\perspt.db'), 'win32', /full local path/],
    ['vigil://open?path=%2Fa%00b', 'linux', /control characters/]
  ] as const)('refuses %s on %s', (raw, platform, reason) => {
    const res = parseDeepLink(raw, platform)
    expect(res.ok).toBe(false)
    if (!res.ok) expect(res.error).toMatch(reason)
  })
})

describe('parseDeepLink: anything else', () => {
  it.each([
    ['not a url', /not a valid URL/],
    ['https://attach?url=ws://h/ws', /not a vigil:\/\/ link/],
    ['vigil://delete?path=/x', /unknown link "delete"/],
    ['vigil://attach/extra?url=ws://h/ws', /unknown link path/],
    ['vigil://user:pw@attach?url=ws://h/ws', /user, password or port/],
    ['vigil://attach?url=ws://h/ws&pad=' + 'x'.repeat(MAX_DEEP_LINK_LENGTH), /longer than/]
  ])('refuses %s', (raw, reason) => {
    const res = parseDeepLink(raw)
    expect(res).toMatchObject({ ok: false })
    if (!res.ok) expect(res.error).toMatch(reason)
  })
})

describe('deepLinksIn', () => {
  it('finds the links in a (second) launch’s arguments, whatever else is there', () => {
    const argv = ['/opt/Vigil/vigil', '--no-sandbox', 'vigil://open?path=/x.db', '--flag', 'VIGIL://attach?url=ws://h/ws', 'https://x']
    expect(deepLinksIn(argv)).toEqual(['vigil://open?path=/x.db', 'VIGIL://attach?url=ws://h/ws'])
    expect(deepLinksIn(['/usr/bin/electron', '.'])).toEqual([])
  })
})

describe('applyDeepLink', () => {
  let dir: string
  const calls: string[] = []
  const target = {
    addAttachment: async (url: string, label?: string) => void calls.push(`attach ${url} ${label ?? '-'}`),
    addStore: async (path: string) => void calls.push(`store ${path}`)
  }
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-links-'))
    calls.length = 0
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('attaches, or watches a store that is a file', async () => {
    const store = join(dir, 'perspt.db')
    writeFileSync(store, '')
    expect(await applyDeepLink({ action: 'attach', url: 'ws://h/ws', label: 'CI' }, target)).toEqual({ ok: true })
    expect(await applyDeepLink({ action: 'open', path: store }, target)).toEqual({ ok: true })
    expect(calls).toEqual(['attach ws://h/ws CI', `store ${store}`])
  })

  it('refuses a missing store or a folder without adding anything, and reports a failing add', async () => {
    mkdirSync(join(dir, 'folder'))
    expect(await applyDeepLink({ action: 'open', path: join(dir, 'gone.db') }, target)).toEqual({ ok: false, error: `${join(dir, 'gone.db')}: no such file` })
    expect(await applyDeepLink({ action: 'open', path: join(dir, 'folder') }, target)).toMatchObject({ ok: false, error: /is not a file/ })
    expect(calls).toEqual([])
    const failing = { ...target, addAttachment: async () => Promise.reject(new Error('already attached elsewhere')) }
    expect(await applyDeepLink({ action: 'attach', url: 'ws://h/ws', label: null }, failing)).toEqual({ ok: false, error: 'already attached elsewhere' })
  })

  it('describes what the user confirms', () => {
    const links: DeepLink[] = [
      { action: 'attach', url: 'ws://h/ws', label: null },
      { action: 'attach', url: 'ws://h/ws', label: 'CI' },
      { action: 'open', path: '/x/perspt.db' }
    ]
    expect(links.map(describeDeepLink)).toEqual([
      'Attach to the AgentEnsemble dashboard at ws://h/ws?',
      'Attach to the AgentEnsemble dashboard at ws://h/ws as "CI"?',
      'Watch the Perspt store /x/perspt.db?'
    ])
  })
})

describe('the scheme is registered by the installers', () => {
  it('electron-builder.yml declares the protocol the handler parses', async () => {
    const { readFileSync } = await import('node:fs')
    const { load } = await import('js-yaml')
    const { DEEP_LINK_SCHEME } = await import('../../../src/main/desktop/deep-links')
    const config = load(readFileSync(join(__dirname, '../../../electron-builder.yml'), 'utf8')) as { protocols?: Array<{ schemes: string[] }> }
    expect(config.protocols?.flatMap((p) => p.schemes)).toEqual([DEEP_LINK_SCHEME])
  })
})
