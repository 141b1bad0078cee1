// vigil:// links, in plain Node (no electron import), so every rule is tested without a window:
//   vigil://attach?url=ws://host:port/ws[&label=Name]   attach to an AgentEnsemble dashboard or hub
//   vigil://open?path=/absolute/path/perspt.db         watch a Perspt store
// The desktop main process (main.ts) finds links in a launch's argv (Windows, Linux; a second launch forwards
// its argv to the running instance) or in macOS's open-url event, asks the user to confirm (any web page can
// fire a link), then applies it. Parsing never throws: a bad link becomes a one-line reason.
import { statSync } from 'node:fs'
import { posix, win32 } from 'node:path'

export const DEEP_LINK_SCHEME = 'vigil'
/** Longer links are refused unread: nothing legitimate needs more. */
export const MAX_DEEP_LINK_LENGTH = 4096
const MAX_LABEL_LENGTH = 120

export type DeepLink = { action: 'attach'; url: string; label: string | null } | { action: 'open'; path: string }
export type DeepLinkResult = { ok: true; link: DeepLink } | { ok: false; error: string }

function fail(error: string): DeepLinkResult {
  return { ok: false, error }
}

function hasControlChars(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(text)
}

/** The vigil:// links among a launch's arguments (the OS passes the link as one argument). */
export function deepLinksIn(argv: readonly string[]): string[] {
  return argv.filter((arg) => arg.toLowerCase().startsWith(`${DEEP_LINK_SCHEME}://`))
}

export function parseDeepLink(raw: string, platform: NodeJS.Platform = process.platform): DeepLinkResult {
  if (raw.length > MAX_DEEP_LINK_LENGTH) return fail(`the link is longer than ${MAX_DEEP_LINK_LENGTH} characters`)
  let link: URL
  try {
    link = new URL(raw)
  } catch {
    return fail('the link is not a valid URL')
  }
  if (link.protocol !== `${DEEP_LINK_SCHEME}:`) return fail(`the link is not a ${DEEP_LINK_SCHEME}:// link`)
  if (link.username || link.password || link.port) return fail('the link has parts Vigil does not use (user, password or port)')
  // Some launchers add a slash before the query: vigil://attach/?url=…
  if (link.pathname !== '' && link.pathname !== '/') return fail(`unknown link path "${link.pathname}"`)
  const params = link.searchParams
  switch (link.hostname.toLowerCase()) {
    case 'attach': {
      const values = params.getAll('url')
      if (values.length !== 1) return fail('an attach link needs exactly one url, e.g. vigil://attach?url=ws://localhost:7329/ws')
      const value = values[0]!
      let target: URL
      try {
        target = new URL(value)
      } catch {
        return fail(`"${value.slice(0, 200)}" is not a URL`)
      }
      if (target.protocol !== 'ws:' && target.protocol !== 'wss:') return fail(`an attach link needs a ws:// or wss:// URL, got ${target.protocol}`)
      if (target.username || target.password) return fail('an attach link must not carry a user name or password')
      const label = params.get('label')
      if (label !== null && (label.trim() === '' || label.length > MAX_LABEL_LENGTH || hasControlChars(label))) {
        return fail(`a label must be 1 to ${MAX_LABEL_LENGTH} printable characters`)
      }
      return { ok: true, link: { action: 'attach', url: value, label: label?.trim() ?? null } }
    }
    case 'open': {
      const values = params.getAll('path')
      if (values.length !== 1) return fail('an open link needs exactly one path, e.g. vigil://open?path=/home/me/.local/share/perspt/perspt.db')
      const path = values[0]!
      if (hasControlChars(path)) return fail('the path holds control characters')
      const paths = platform === 'win32' ? win32 : posix
      if (!paths.isAbsolute(path) || (platform === 'win32' && path.startsWith('\\\\'))) {
        return fail(`the path must be a full local path, got "${path.slice(0, 200)}"`)
      }
      return { ok: true, link: { action: 'open', path: paths.normalize(path) } }
    }
    default:
      return fail(`unknown link "${link.hostname}": Vigil knows vigil://attach and vigil://open`)
  }
}

/** The question the user confirms before a link acts. */
export function describeDeepLink(link: DeepLink): string {
  return link.action === 'attach'
    ? `Attach to the AgentEnsemble dashboard at ${link.url}${link.label ? ` as "${link.label}"` : ''}?`
    : `Watch the Perspt store ${link.path}?`
}

/** What a confirmed link acts on: the service's own add methods (VigilService has both). */
export interface DeepLinkTarget {
  addAttachment(url: string, label?: string): Promise<unknown>
  addStore(path: string): Promise<unknown>
}

/** Applies a confirmed link; a store that is not a readable file is refused with a reason, never added. */
export async function applyDeepLink(link: DeepLink, target: DeepLinkTarget): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    if (link.action === 'attach') {
      await target.addAttachment(link.url, link.label ?? undefined)
      return { ok: true }
    }
    let isFile: boolean
    try {
      isFile = statSync(link.path).isFile()
    } catch {
      return { ok: false, error: `${link.path}: no such file` }
    }
    if (!isFile) return { ok: false, error: `${link.path} is not a file` }
    await target.addStore(link.path)
    return { ok: true }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) }
  }
}
