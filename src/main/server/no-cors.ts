// Vigil never grants cross-origin access: whatever a route or an extension sets, no Access-Control-*
// header leaves the server, so a page elsewhere can never read a reply (or pass a preflight).
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'

const CORS = /^access-control-/i

export function forbidCors(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse
  // Every reply goes through writeHead, also the implicit one of res.end().
  res.writeHead = ((...args: unknown[]) => {
    for (const name of res.getHeaderNames()) if (CORS.test(name)) res.removeHeader(name)
    return writeHead(...args.map((arg, i) => (i === 0 ? arg : Array.isArray(arg) ? withoutCorsPairs(arg) : isHeaderObject(arg) ? withoutCors(arg) : arg)))
  }) as ServerResponse['writeHead']
}

function isHeaderObject(value: unknown): value is OutgoingHttpHeaders {
  return typeof value === 'object' && value !== null
}

function withoutCors(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CORS.test(name)))
}

/** The flat [name, value, name, value…] form writeHead also takes. */
function withoutCorsPairs(pairs: unknown[]): unknown[] {
  const kept: unknown[] = []
  for (let i = 0; i < pairs.length; i += 2) if (!CORS.test(String(pairs[i]))) kept.push(pairs[i], pairs[i + 1])
  return kept
}
