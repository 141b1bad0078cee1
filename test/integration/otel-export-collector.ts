// A collector stub for the OTLP export tests: a plain node http server on 127.0.0.1:0 that records every
// request (time, path, headers, body) and answers as the test says (200 by default). It stands in for the
// collector; it is not Vigil's.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OtlpSpan } from '../../src/main/otel/otlp-model'
import { decodeTraceRequest, spansOf } from '../unit/otel-export/proto-decode'

export interface Received {
  at: number
  path: string
  headers: IncomingMessage['headers']
  body: Buffer
  /** The status it was answered with, once answered. */
  status?: number
}

/** How to answer the n-th request (1-based); not answering at all is allowed (a hanging collector). */
export type Answer = (req: Received, res: ServerResponse, n: number) => void

export class CollectorStub {
  readonly received: Received[] = []
  private server: Server | null = null
  answer: Answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
  port = 0

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const r: Received = { at: Date.now(), path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) }
        this.received.push(r)
        res.on('finish', () => (r.status = res.statusCode))
        this.answer(r, res, this.received.length)
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Every span of every protobuf body accepted (answered 2xx) so far, in order. */
  spans(): OtlpSpan[] {
    return this.received.filter((r) => r.status !== undefined && r.status < 300).flatMap((r) => spansOf(decodeTraceRequest(r.body)))
  }

  async stop(): Promise<void> {
    const s = this.server
    this.server = null
    if (!s) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }
}
