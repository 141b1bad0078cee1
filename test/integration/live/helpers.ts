// Small helpers for the live-stream integration tests: polling, real ws servers and clients.
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'
import type { ServerOptions } from 'ws'

export async function waitFor<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export interface TestServer {
  wss: WebSocketServer
  port: number
  url: string
  connections: WebSocket[]
  close(): Promise<void>
}

/** A bare `ws` server on 127.0.0.1; `onConnection` decides what each client is sent. */
export async function startServer(onConnection: (ws: WebSocket) => void, opts: { port?: number } & Pick<ServerOptions, 'autoPong'> = {}): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: opts.port ?? 0, path: '/ws', autoPong: opts.autoPong ?? true })
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  const port = (wss.address() as AddressInfo).port
  const connections: WebSocket[] = []
  wss.on('connection', (ws) => {
    connections.push(ws)
    ws.on('error', () => undefined)
    onConnection(ws)
  })
  return {
    wss,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate()
        wss.close(() => resolve())
      })
  }
}

export interface TestClient {
  ws: WebSocket
  frames: string[]
  closed: Promise<{ code: number; reason: string }>
  opened: Promise<void>
}

/** A raw client that records every text frame. */
export function connect(url: string, origin?: string): TestClient {
  const ws = new WebSocket(url, origin === undefined ? {} : { origin })
  const frames: string[] = []
  ws.on('message', (data, isBinary) => {
    if (!isBinary) frames.push(data.toString())
  })
  ws.on('error', () => undefined)
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  )
  const opened = new Promise<void>((resolve) => ws.on('open', () => resolve()))
  return { ws, frames, closed, opened }
}

export function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}
