import { readFile, stat } from 'node:fs/promises'
import { extname, join, relative, resolve, sep } from 'node:path'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8'
}

/** The one Content-Security-Policy for the renderer, whether served over HTTP or app://. */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * Maps a URL path to a file inside `root`, or null when it would escape it. Decodes once (so
 * "%2e%2e%2f" is caught), refuses NUL bytes and backslashes, and checks the resolved path.
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0] ?? '')
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null
  const rootAbs = resolve(root)
  const target = resolve(join(rootAbs, decoded))
  const rel = relative(rootAbs, target)
  if (rel.startsWith('..') || rel.includes(`..${sep}`) || resolve(rootAbs, rel) !== target) return null
  return target
}

export interface StaticFile {
  body: Buffer
  contentType: string
}

/**
 * Reads a renderer file. Unknown paths without an extension fall back to index.html (client-side
 * routes); missing assets are a 404 (null).
 */
export async function readStaticFile(root: string, urlPath: string): Promise<StaticFile | null> {
  const path = urlPath === '/' ? '/index.html' : urlPath
  const target = resolveStaticPath(root, path)
  if (!target) return null
  const isFile = await stat(target).then((s) => s.isFile(), () => false)
  if (isFile) return { body: await readFile(target), contentType: contentTypeFor(target) }
  if (extname(target) !== '') return null
  const index = join(resolve(root), 'index.html')
  const hasIndex = await stat(index).then((s) => s.isFile(), () => false)
  return hasIndex ? { body: await readFile(index), contentType: CONTENT_TYPES['.html']! } : null
}
