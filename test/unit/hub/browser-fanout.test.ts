import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { encodeTextFrames } from '../../../src/main/hub/browser-fanout'

describe('encodeTextFrames', () => {
  it('writes unmasked FIN text frames with 7-bit, 16-bit and 64-bit lengths that a ws client reads back', async () => {
    const sizes = [0, 125, 126, 65535, 65536, 70_000]
    const payloads = sizes.map((n, i) => Buffer.alloc(n, 97 + i))
    const out = encodeTextFrames(payloads)
    expect(out.length).toBe(sizes.reduce((s, n) => s + n + (n < 126 ? 2 : n < 65536 ? 4 : 10), 0))
    expect([...out.subarray(0, 2)]).toEqual([0x81, 0])

    // Written straight to an upgraded socket, as BrowserFanout does.
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
    const http = createServer()
    http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, () => socket.write(out)))
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    try {
      const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/`)
      const got: string[] = []
      await new Promise<void>((resolve, reject) => {
        client.on('error', reject)
        client.on('message', (data, isBinary) => {
          expect(isBinary).toBe(false)
          got.push(data.toString())
          if (got.length === payloads.length) resolve()
        })
      })
      expect(got).toEqual(payloads.map((p) => p.toString()))
      client.terminate()
    } finally {
      for (const c of wss.clients) c.terminate()
      wss.close()
      http.closeAllConnections()
      await new Promise((r) => http.close(r))
    }
  })
})
