// The desktop app's own server (hub, review API, browsers), restartable: the Settings page changes its
// host, port, password or token and it comes back with them. Plain Node, so it is tested for real.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { VigilApi } from '../../shared/api/contract'
import type { EventHub } from '../core/event-hub'
import { createAuth } from '../server/auth/auth-gate'
import { startVigilServer, type RunningServer, type ServerContext, type ServerExtension } from '../server/vigil-server'
import type { ServerConfig, ServerControl, ServerState } from './app-settings'

export interface EmbeddedServerOptions {
  staticDir: string | null
  version: string
  log?: (message: string) => void
}

/** What the server serves: set once the service exists (the service's settings hold this server). */
export interface ServedApi {
  /** What browsers reach (the desktop passes withoutSettingsWrites(service)). */
  api: VigilApi
  events: EventHub
  /** Created once and kept across restarts (the hub keeps its producers and their sockets). */
  extensions: ServerExtension[]
}

/**
 * The server's close() also closes its extensions; a restart must not (the hub lives as long as the app),
 * so each server gets views of them without close(). close() below closes them for good. The views also
 * note every socket an extension takes over (hub /ingress and /ws): a restart ends them, since the old
 * server's close() waits for every connection, and a socket let in under the old rules (no password yet)
 * must not outlive them. Publishers and browsers reconnect to the new server.
 */
function keptView(ext: ServerExtension, upgraded: Set<Duplex>): ServerExtension {
  return new Proxy(ext, {
    get(target, prop) {
      if (prop === 'close') return undefined
      if (prop === 'handleUpgrade' && target.handleUpgrade) {
        const handle = target.handleUpgrade.bind(target)
        return (req: IncomingMessage, socket: Duplex, head: Buffer, path: string, ctx: ServerContext) => {
          const took = handle(req, socket, head, path, ctx)
          if (took && !socket.destroyed) {
            upgraded.add(socket)
            socket.once('close', () => upgraded.delete(socket))
          }
          return took
        }
      }
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    }
  })
}

/** A restart never waits longer than this for the old server's connections to end. */
const CLOSE_WAIT_MS = 5000

export class EmbeddedServer implements ServerControl {
  private server: RunningServer | null = null
  private problem: string | null = 'not started yet'
  private served: (ServedApi & { kept: ServerExtension[] }) | null = null
  /** Sockets the current server's extensions took over. */
  private readonly upgraded = new Set<Duplex>()

  constructor(private readonly opts: EmbeddedServerOptions) {}

  serve(served: ServedApi): void {
    this.served = { ...served, kept: served.extensions.map((e) => keptView(e, this.upgraded)) }
  }

  state(): ServerState {
    return { running: this.server !== null, url: this.server?.url ?? null, problem: this.server ? null : this.problem }
  }

  async apply(config: ServerConfig): Promise<ServerState> {
    await this.halt()
    const served = this.served
    if (!served) return this.stop('the server has nothing to serve yet')
    try {
      this.server = await startVigilServer({
        auth: createAuth({ password: config.password, passwordHash: config.passwordHash, ingressToken: config.ingressToken }),
        host: config.host,
        port: config.port,
        api: served.api,
        events: served.events,
        staticDir: this.opts.staticDir,
        version: this.opts.version,
        extensions: served.kept
      })
      this.problem = null
    } catch (err) {
      // Another Vigil (or AgentEnsemble's own hub) has the port, or the address is not this machine's:
      // the window works without the server, and the Settings page says why.
      this.problem = err instanceof Error ? err.message : String(err)
      this.opts.log?.(`vigil: hub not started: ${this.problem}`)
    }
    return this.state()
  }

  async stop(problem: string): Promise<ServerState> {
    await this.halt()
    this.problem = problem
    this.opts.log?.(`vigil: hub not started: ${problem}`)
    return this.state()
  }

  async close(): Promise<void> {
    await this.halt()
    this.problem = 'closed'
    await Promise.all((this.served?.extensions ?? []).map((e) => e.close?.()))
  }

  private async halt(): Promise<void> {
    const running = this.server
    this.server = null
    if (!running) return
    for (const socket of this.upgraded) socket.destroy()
    this.upgraded.clear()
    let timer: NodeJS.Timeout | undefined
    // The listening socket is closed at once, so the next server can bind even if a connection lingers.
    await Promise.race([running.close(), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))])
    clearTimeout(timer)
  }
}
