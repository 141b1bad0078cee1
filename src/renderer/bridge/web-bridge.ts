// The web transport of the API contract: HTTP POST per call, one WebSocket for push events.
// Plain TypeScript with injectable fetch/WebSocket so the same code runs in browsers and in tests.
import {
  EVENTS_PATH,
  isEventName,
  METHOD_NAMES,
  RPC_PATH_PREFIX,
  type EventName,
  type MethodName,
  type VigilApi,
  type VigilBridge,
  type VigilEvents,
  type WatchRunsFrame
} from '../../shared/api/contract'
import { ApiError, fromErrorData } from '../../shared/api/errors'

interface SocketLike {
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  readonly readyState?: number
  send?(data: string): void
  close(): void
}

export type SocketFactory = (url: string) => SocketLike

export interface WebBridgeOptions {
  /** e.g. http://127.0.0.1:7400 */
  baseUrl: string
  fetch?: typeof fetch
  openSocket?: SocketFactory
  /** Delays before reconnecting the event socket; the last repeats. */
  reconnectMs?: number[]
  /** Called when the event socket (re)connects or drops: the UI shows it and refetches on reconnect. */
  onConnectionChange?: (connected: boolean) => void
  /** Called when the server says this browser is not signed in (login on, session expired or logged out). */
  onUnauthorized?: () => void
  /**
   * Watchdog: after this long without a frame, one small call checks Vigil still answers; if it does
   * not within `probeTimeoutMs`, the socket counts as lost (disconnected shown, reconnect started)
   * rather than waiting for TCP to notice. 0 turns it off.
   */
  watchdogMs?: number
  probeTimeoutMs?: number
}

export interface WebBridge extends VigilBridge {
  /** Stops the event socket for good. */
  dispose(): void
}

export function createWebBridge(opts: WebBridgeOptions): WebBridge {
  const base = opts.baseUrl.replace(/\/$/, '')
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis)
  const openSocket: SocketFactory =
    opts.openSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike)
  const reconnectMs = opts.reconnectMs ?? [500, 1000, 2000, 5000]
  const listeners = new Map<EventName, Set<(payload: never) => void>>()
  let socket: SocketLike | null = null
  let attempt = 0
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let disposed = false
  const watchdogMs = opts.watchdogMs ?? 20_000
  const probeTimeoutMs = opts.probeTimeoutMs ?? 5_000
  let lastHeard = 0
  let probing = false
  let watchdog: ReturnType<typeof setInterval> | null = null
  /** The runs this window watches: said on every (re)connect, since the server forgets them with the socket. */
  let watched: string[] = []
  let open = false

  function sayWatched(): void {
    if (!socket || !open) return
    try {
      socket.send?.(JSON.stringify({ watchRuns: watched } satisfies WatchRunsFrame))
    } catch {
      // closing: said again on the next connect
    }
  }

  async function call(method: MethodName, args: unknown[]): Promise<unknown> {
    let res: Response
    try {
      res = await doFetch(`${base}${RPC_PATH_PREFIX}${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ args })
      })
    } catch {
      throw new ApiError('unavailable', 'Vigil is not reachable. Is `vigil serve` still running?')
    }
    let body: unknown
    try {
      body = await res.json()
    } catch {
      throw new ApiError('internal', `Unexpected reply from Vigil (HTTP ${res.status}).`)
    }
    const result = body as { ok?: boolean; value?: unknown; error?: unknown }
    if (result.ok === true) return result.value
    if (res.status === 401) opts.onUnauthorized?.()
    throw fromErrorData(result.error)
  }

  function connect(): void {
    if (disposed || socket) return
    const wsUrl = base.replace(/^http/, 'ws') + EVENTS_PATH
    const ws = openSocket(wsUrl)
    socket = ws
    ws.onopen = () => {
      attempt = 0
      lastHeard = Date.now()
      open = true
      if (watched.length) sayWatched()
      opts.onConnectionChange?.(true)
    }
    ws.onmessage = (ev) => {
      lastHeard = Date.now()
      if (typeof ev.data !== 'string') return
      let frame: { event?: unknown; payload?: unknown }
      try {
        frame = JSON.parse(ev.data)
      } catch {
        return
      }
      if (typeof frame.event !== 'string' || !isEventName(frame.event)) return
      for (const listener of [...(listeners.get(frame.event) ?? [])]) listener(frame.payload as never)
    }
    ws.onclose = () => lost(ws)
    ws.onerror = () => undefined
    if (watchdogMs > 0 && !watchdog) watchdog = setInterval(checkAlive, Math.max(250, Math.floor(watchdogMs / 4)))
  }

  /** The socket closed, or the watchdog gave up on it: say so once and reconnect. */
  function lost(ws: SocketLike): void {
    if (socket !== ws) return
    socket = null
    open = false
    ws.onopen = ws.onmessage = ws.onclose = null
    opts.onConnectionChange?.(false)
    if (disposed) return
    const delay = reconnectMs[Math.min(attempt, reconnectMs.length - 1)] ?? 1000
    attempt++
    retryTimer = setTimeout(connect, delay)
  }

  function checkAlive(): void {
    const ws = socket
    if (!ws || probing || lastHeard === 0 || Date.now() - lastHeard < watchdogMs) return
    probing = true
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), probeTimeoutMs)
    doFetch(`${base}${RPC_PATH_PREFIX}getAppInfo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ args: [] }),
      signal: abort.signal
    })
      .then((res) => {
        if (!res.ok && res.status !== 401) throw new Error(`HTTP ${res.status}`)
        lastHeard = Date.now()
      })
      .catch(() => {
        lost(ws)
        try {
          ws.close()
        } catch {
          // already closing
        }
      })
      .finally(() => {
        clearTimeout(timer)
        probing = false
      })
  }

  const api = Object.fromEntries(
    METHOD_NAMES.map((m) => [m, (...args: unknown[]) => call(m, args)])
  ) as unknown as VigilApi

  return {
    ...api,
    on<E extends EventName>(event: E, listener: (payload: VigilEvents[E]) => void) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener as (payload: never) => void)
      connect()
      return () => set.delete(listener as (payload: never) => void)
    },
    watchRuns(runIds: string[]) {
      watched = [...runIds]
      connect()
      sayWatched()
    },
    dispose() {
      disposed = true
      if (retryTimer) clearTimeout(retryTimer)
      if (watchdog) clearInterval(watchdog)
      socket?.close()
      socket = null
    }
  }
}
