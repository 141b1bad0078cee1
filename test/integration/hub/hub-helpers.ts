// A real Vigil server (VigilService + startVigilServer) with a LiveHub extension, and clients for it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VigilService } from '../../../src/main/core/vigil-service'
import { LiveHub } from '../../../src/main/hub/live-hub'
import type { LiveHubOptions } from '../../../src/main/hub/live-hub'
import { RunTracker } from '../../../src/main/live/run-tracker'
import { startVigilServer } from '../../../src/main/server/vigil-server'
import type { RunningServer } from '../../../src/main/server/vigil-server'
import { connect, waitFor } from '../live/helpers'
import type { TestClient } from '../live/helpers'

export interface HubServer {
  hub: LiveHub
  tracker: RunTracker
  server: RunningServer
  wsUrl: string
  close(): Promise<void>
}

export async function startHubServer(opts: Partial<LiveHubOptions> = {}): Promise<HubServer> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-hub-'))
  const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(dir, 'tmp') })
  const tracker = new RunTracker({ onRunUpdated: () => undefined })
  const hub = new LiveHub({ tracker, heartbeatMs: 0, ...opts })
  const server = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: 'x', extensions: [hub] })
  return {
    hub,
    tracker,
    server,
    wsUrl: server.url.replace('http', 'ws'),
    close: async () => {
      await server.close()
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export const BROWSER_ORIGIN = 'http://localhost:5173'

/** A browser on /ws (with a loopback Origin unless told otherwise; null = no Origin header). */
export function browser(h: HubServer, origin: string | null = BROWSER_ORIGIN): TestClient {
  return connect(`${h.wsUrl}/ws`, origin ?? undefined)
}

/** A publisher on /ingress like the JDK one: no Origin, ignored `?producerId=` query. */
export function publisher(h: HubServer, producerId = 'ignored', origin?: string): TestClient {
  return connect(`${h.wsUrl}/ingress?producerId=${encodeURIComponent(producerId)}`, origin)
}

export async function open(c: TestClient): Promise<TestClient> {
  await c.opened
  return c
}

/** Waits until a client has received `n` frames. */
export function frames(c: TestClient, n: number, what = `${n} frames`, timeoutMs = 2000): Promise<string[]> {
  return waitFor(() => (c.frames.length >= n ? c.frames : undefined), what, timeoutMs)
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export { waitFor }
