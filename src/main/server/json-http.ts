import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApiErrorCode } from '../../shared/api/errors'

export const STATUS_BY_CODE: Record<ApiErrorCode, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'rate-limited': 429,
  'not-found': 404,
  conflict: 409,
  internal: 500,
  unavailable: 503
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store'
  })
  res.end(text)
}

export function sendError(res: ServerResponse, status: number, code: ApiErrorCode, message: string): void {
  sendJson(res, status, { ok: false, error: { code, message } })
}

export class BodyTooLargeError extends Error {}

/** The body did not arrive within the deadline (slowloris); answer 408, the socket is destroyed soon after. */
export class BodyTimeoutError extends Error {}

/** Default deadline for a whole request body, from the first read (readBody's `timeoutMs`). */
export const BODY_TIMEOUT_MS = 30_000

/** After a body deadline, the socket is destroyed this long later (time for a 408 to go out). */
const TIMEOUT_DESTROY_GRACE_MS = 1000

/**
 * Reads a request body up to `limit` bytes; past it, stops reading and rejects (BodyTooLargeError).
 * A body not complete within `timeoutMs` rejects with BodyTimeoutError and the connection is
 * destroyed shortly after, so a client trickling bytes cannot hold a request open.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs = BODY_TIMEOUT_MS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      reject(new BodyTooLargeError())
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => {
      req.removeAllListeners('data')
      reject(new BodyTimeoutError())
      setTimeout(() => req.destroy(), TIMEOUT_DESTROY_GRACE_MS).unref()
    }, timeoutMs)
    timer.unref()
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        clearTimeout(timer)
        req.removeAllListeners('data')
        req.resume()
        reject(new BodyTooLargeError())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks))
    })
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/** Sends 408 for a body that missed its deadline and closes the connection. */
export function sendBodyTimeout(res: ServerResponse): void {
  if (res.headersSent) return void res.destroy()
  res.setHeader('connection', 'close')
  sendError(res, 408, 'bad-request', 'Request body not received in time.')
}
