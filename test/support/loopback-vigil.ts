// One way for tests to put a real VigilService on a real server: 127.0.0.1, a free port, wired as
// `vigil serve` wires it (the hub, the review API and the recording status); tests override what they probe.
import type { VigilService } from '../../src/main/core/vigil-service'
import { startVigilServer, type RunningServer, type VigilServerOptions } from '../../src/main/server/vigil-server'

export function serveOnLoopback(service: VigilService, overrides: Partial<VigilServerOptions> = {}): Promise<RunningServer> {
  return startVigilServer({
    host: '127.0.0.1',
    port: 0,
    api: service,
    events: service.events,
    staticDir: null,
    version: 'test',
    extensions: service.serverExtensions(),
    ...overrides
  })
}
