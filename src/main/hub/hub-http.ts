// The hub's REST routes (spec §7): `POST /api/hub/ingress` (one envelope per body; 202, 400 for
// blank/malformed, 413 over the frame limit) and `GET /api/hub/producers`.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BodyTooLargeError, readBody, sendError } from '../server/json-http'
import { isAllowedRequestOrigin } from '../server/origin-policy'
import type { ServerContext } from '../server/vigil-server'

export const HUB_HTTP_PATHS = { ingress: '/api/hub/ingress', producers: '/api/hub/producers' } as const

export type HttpIngestReply = { status: 202 } | { status: 400 } | { status: 409 | 503; message: string }

export interface HubHttpTarget {
  readonly maxFrameBytes: number
  /** Ingests one envelope text; resolves once it is durable (202), or refused (400, 503 with why). */
  ingestHttp(text: string, bytes: Buffer): Promise<HttpIngestReply>
  /** A body refused before it could be read. */
  countRefused(kind: 'malformed' | 'oversize'): void
  producersJson(): string
}

function sendRawJson(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store'
  })
  res.end(text)
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow)
  sendError(res, 405, 'bad-request', `Use ${allow}.`)
}

export async function handleHubHttp(
  target: HubHttpTarget,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ctx: ServerContext
): Promise<boolean> {
  if (path === HUB_HTTP_PATHS.producers) {
    if (req.method !== 'GET' && req.method !== 'HEAD') methodNotAllowed(res, 'GET')
    else sendRawJson(res, 200, target.producersJson())
    return true
  }
  if (path !== HUB_HTTP_PATHS.ingress) return false
  if (req.method !== 'POST') {
    methodNotAllowed(res, 'POST')
    return true
  }
  // Publishers (JDK HttpClient) send no Origin and pass; a web page elsewhere must not inject events
  // (AgentEnsemble's hub has no such check, §3 — a form POST needs no CORS preflight).
  if (!isAllowedRequestOrigin(req.headers.origin, ctx.bindHost, req.headers.host)) {
    sendError(res, 403, 'forbidden', 'Cross-origin requests are not allowed.')
    return true
  }
  let body: Buffer
  try {
    body = await readBody(req, target.maxFrameBytes)
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err
    target.countRefused('oversize')
    // Past the limit readBody stops listening; close so the rest of the upload is not read.
    res.setHeader('connection', 'close')
    sendError(res, 413, 'bad-request', `Envelope over ${target.maxFrameBytes} bytes.`)
    return true
  }
  const text = body.toString('utf8')
  if (text.trim() === '') {
    target.countRefused('malformed')
    sendError(res, 400, 'bad-request', 'Empty body: send one envelope JSON.')
    return true
  }
  const reply = await target.ingestHttp(text, body)
  if (reply.status === 400) {
    sendError(res, 400, 'bad-request', 'Not a valid envelope: {"type":"event","producer":{"producerId":…},…,"message":{…}}.')
    return true
  }
  if (reply.status === 409) {
    sendError(res, 409, 'conflict', reply.message)
    return true
  }
  if (reply.status === 503) {
    // Not acknowledged, so the publisher still has it: it should send it again.
    res.setHeader('retry-after', '1')
    sendError(res, 503, 'unavailable', reply.message)
    return true
  }
  res.writeHead(202, { 'content-length': 0, 'cache-control': 'no-store' })
  res.end()
  return true
}
