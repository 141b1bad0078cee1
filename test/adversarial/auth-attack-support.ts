// Raw clients for the login and origin attacks (issue 11): HTTP over a plain TCP socket from a chosen
// local address, with whatever Host, Origin and Cookie an attacker picks, and WebSocket upgrades that
// report exactly what the server did (HTTP refusal, or 101 then a close code, and any frame sent).
import { connect, type Socket } from 'node:net'
import { WebSocket } from 'ws'

export interface RawReply {
  status: number
  headers: Record<string, string>
  body: string
  /** The whole reply as received (latin1). */
  raw: string
}

export function parseReply(text: string): RawReply {
  const end = text.indexOf('\r\n\r\n')
  const head = end >= 0 ? text.slice(0, end) : text
  const [statusLine, ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: end >= 0 ? text.slice(end + 4) : '', raw: text }
}

export interface RawRequest {
  method?: string
  path: string
  /** Header lines as sent, Host included (nothing is added). */
  headers: Record<string, string>
  body?: string
  /** Bind the client socket here, e.g. 127.0.0.57 (a rotating loopback source). */
  localAddress?: string
}

/** One request on its own connection (Connection: close), answered or cut. */
export function rawRequest(port: number, r: RawRequest, host = '127.0.0.1'): Promise<RawReply> {
  const body = r.body ?? ''
  const head = [`${r.method ?? 'GET'} ${r.path} HTTP/1.1`, ...Object.entries({ ...r.headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' }).map(([k, v]) => `${k}: ${v}`)]
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress: r.localAddress })
    let got = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => (got += d))
    socket.on('error', reject)
    socket.on('close', () => resolve(parseReply(got)))
    socket.write(`${head.join('\r\n')}\r\n\r\n${body}`)
  })
}

/** A request whose head is sent now and whose body is sent later (send()); the reply, whenever it comes. */
export interface SplitRequest {
  socket: Socket
  /** Resolves with the reply once the server answered (or the connection closed). */
  reply: Promise<RawReply>
  /** Whether any reply bytes arrived yet. */
  answered(): boolean
  sendBody(): void
}

export function splitRequest(port: number, path: string, headers: Record<string, string>, body: string, localAddress?: string): Promise<SplitRequest> {
  return new Promise((resolveOpen, rejectOpen) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress })
    let got = ''
    let resolveReply!: (r: RawReply) => void
    const reply = new Promise<RawReply>((r) => (resolveReply = r))
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      got += d
      // One response per connection here: done once its declared body is in.
      const parsed = parseReply(got)
      const length = Number(parsed.headers['content-length'] ?? NaN)
      if (got.includes('\r\n\r\n') && Buffer.byteLength(parsed.body, 'latin1') >= length) resolveReply(parsed)
    })
    socket.on('error', () => undefined)
    socket.on('close', () => resolveReply(parseReply(got)))
    socket.once('connect', () => {
      const lines = [`POST ${path} HTTP/1.1`, ...Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)) }).map(([k, v]) => `${k}: ${v}`)]
      socket.write(`${lines.join('\r\n')}\r\n\r\n`)
      resolveOpen({
        socket,
        reply,
        answered: () => got.length > 0,
        sendBody: () => {
          if (!socket.destroyed && socket.writable) socket.write(body)
        }
      })
    })
    socket.once('error', rejectOpen)
  })
}

export type UpgradeResult =
  /** Refused before the WebSocket existed. */
  | { kind: 'http'; status: number }
  /** Upgraded; then closed by the server (code) or still open after the wait (null), with the frames received. */
  | { kind: 'ws'; closeCode: number | null; frames: string[] }

/**
 * Opens a WebSocket with these headers (Host, Origin, Cookie as an attacker would send them) and reports
 * what the server did within `waitMs`.
 */
export function tryUpgrade(port: number, path: string, headers: Record<string, string>, waitMs = 300, host = '127.0.0.1'): Promise<UpgradeResult> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${host}:${port}${path}`, { headers })
    const frames: string[] = []
    let settled = false
    const done = (r: UpgradeResult) => {
      if (settled) return
      settled = true
      resolve(r)
      ws.terminate()
    }
    ws.on('message', (d: Buffer) => frames.push(d.toString()))
    ws.on('unexpected-response', (_req, res) => {
      res.resume()
      done({ kind: 'http', status: res.statusCode ?? 0 })
    })
    // No HTTP answer at all (connection refused or cut): status 0, which no test accepts as a refusal.
    ws.on('error', () => done({ kind: 'http', status: 0 }))
    ws.on('close', (code) => done({ kind: 'ws', closeCode: code, frames }))
    ws.on('open', () => setTimeout(() => done({ kind: 'ws', closeCode: null, frames }), waitMs))
  })
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
