// The web bridge's watchdog: a socket that stays open but silent while Vigil does not answer counts as
// lost within the watchdog time (so the UI says "Disconnected" instead of trusting a dead socket).
import { describe, expect, it } from 'vitest'
import { createWebBridge, type SocketFactory } from '../../../src/renderer/bridge/web-bridge'

interface FakeSocket {
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  closed: boolean
  close(): void
}

function harness(answer: 'hang' | 'ok') {
  const sockets: FakeSocket[] = []
  const changes: Array<[boolean, number]> = []
  const probes: number[] = []
  const openSocket: SocketFactory = () => {
    const s: FakeSocket = { onopen: null, onmessage: null, onclose: null, onerror: null, closed: false, close: () => void (s.closed = true) }
    sockets.push(s)
    return s
  }
  const fakeFetch = ((_url: string, init?: RequestInit) => {
    probes.push(Date.now())
    if (answer === 'ok') return Promise.resolve(new Response(JSON.stringify({ ok: true, value: {} }), { status: 200 }))
    return new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))))
  }) as typeof fetch
  const started = Date.now()
  const bridge = createWebBridge({
    baseUrl: 'http://127.0.0.1:1',
    fetch: fakeFetch,
    openSocket,
    reconnectMs: [60_000],
    watchdogMs: 200,
    probeTimeoutMs: 100,
    onConnectionChange: (c) => changes.push([c, Date.now() - started])
  })
  bridge.on('sources-changed', () => undefined)
  sockets[0]!.onopen?.({})
  return { bridge, sockets, changes, probes }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('web bridge watchdog', () => {
  it('a silent socket whose server does not answer is lost within watchdog + probe time, and closed', async () => {
    const h = harness('hang')
    await sleep(600)
    expect(h.changes[0]).toEqual([true, expect.any(Number)])
    expect(h.changes[1]?.[0]).toBe(false)
    expect(h.changes[1]![1]).toBeLessThanOrEqual(200 + 50 + 100 + 150)
    expect(h.sockets[0]!.closed).toBe(true)
    expect(h.changes).toHaveLength(2) // said once, not again when the socket's own close arrives
    h.sockets[0]!.onclose?.({})
    expect(h.changes).toHaveLength(2)
    h.bridge.dispose()
  })

  it('a quiet socket whose server answers stays connected; frames keep it from probing at all', async () => {
    const h = harness('ok')
    await sleep(600)
    expect(h.changes).toEqual([[true, expect.any(Number)]])
    expect(h.probes.length).toBeGreaterThan(0)
    const before = h.probes.length
    const feed = setInterval(() => h.sockets[0]!.onmessage?.({ data: '{}' }), 50)
    await sleep(500)
    clearInterval(feed)
    expect(h.probes.length).toBe(before)
    h.bridge.dispose()
  })
})
