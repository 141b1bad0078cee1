import { accessSync, constants, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { join } from 'node:path'
import { defaultDataDir, processTmpRoot } from '../app-paths'
import { VigilService } from '../core/vigil-service'
import { addDefaultStoreIfPresent } from '../core/default-store'
import { createAuth } from '../server/auth/auth-gate'
import { ExposureError, exposureProblem, exposureWarning } from '../server/auth/exposure'
import { startVigilServer, type RunningServer } from '../server/vigil-server'
import { ServeSettings } from '../settings/app-settings'
import type { ServeOptions } from './args'
import { resolveReviewerToken, resolveSecrets } from './secrets'
import { parseOtlpHeader } from './args'

export class StartupError extends Error {}

export interface ServeContext {
  version: string
  staticDir: string | null
  env?: NodeJS.ProcessEnv
  platform?: NodeJS.Platform
  home?: string
  /** Receives the --insecure warning before anything starts. */
  warn?: (text: string) => void
}

export interface RunningVigil {
  service: VigilService
  server: RunningServer
  /** Vigil's own data folder in use (recordings, review history). */
  dataDir: string
  /** A password guards the interface. */
  login: boolean
  close(): Promise<void>
}

/** Refuses a --db path Vigil could never read, before anything starts. */
function checkReadableStore(path: string): void {
  let isFile: boolean
  try {
    isFile = statSync(path).isFile()
  } catch {
    throw new StartupError(`cannot read --db ${path}: no such file`)
  }
  if (!isFile) throw new StartupError(`cannot read --db ${path}: it is a directory, not a Perspt store file`)
  try {
    accessSync(path, constants.R_OK)
  } catch {
    throw new StartupError(`cannot read --db ${path}: permission denied`)
  }
}

/**
 * The collector's headers: OTEL_EXPORTER_OTLP_TRACES_HEADERS / OTEL_EXPORTER_OTLP_HEADERS (the SDKs'
 * `k=v,k2=v2`, values percent-encoded) first, then --otlp-header flags over them.
 */
function otlpHeaders(opts: ServeOptions, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  const fromEnv = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS
  for (const part of (fromEnv ?? '').split(',')) {
    if (part.trim() === '') continue
    let decoded: string
    try {
      decoded = decodeURIComponent(part)
    } catch {
      throw new StartupError('OTEL_EXPORTER_OTLP_HEADERS is not k=v,k2=v2 (percent-encoded values): fix or unset it')
    }
    try {
      const [name, value] = parseOtlpHeader(decoded, 'OTEL_EXPORTER_OTLP_HEADERS')
      out[name] = value
    } catch (err) {
      throw new StartupError((err as Error).message)
    }
  }
  return { ...out, ...opts.otlpHeaders }
}

export async function startServe(opts: ServeOptions, ctx: ServeContext): Promise<RunningVigil> {
  for (const path of opts.dbPaths) checkReadableStore(path)
  const otlpExport = opts.otlpEndpoint ? { endpoint: opts.otlpEndpoint, protocol: opts.otlpProtocol, headers: otlpHeaders(opts, ctx.env ?? process.env) } : null
  const secrets = resolveSecrets(opts, ctx.env ?? process.env)
  const reviewerToken = resolveReviewerToken(opts, secrets.ingressToken, ctx.env ?? process.env)
  const exposure = { host: opts.host, hasPassword: secrets.password !== null, hasIngressToken: secrets.ingressToken !== null, insecure: opts.insecure }
  const problem = exposureProblem(exposure)
  if (problem) throw new ExposureError(problem)
  const warning = exposureWarning(exposure)
  if (warning) ctx.warn?.(warning)

  const dataDir = opts.dataDir ? resolve(opts.dataDir) : defaultDataDir(ctx.env ?? process.env, ctx.platform ?? process.platform, ctx.home)
  // The Settings page shows these, read-only: they are command-line flags here.
  const settings = new ServeSettings({
    mode: 'web',
    host: opts.host,
    port: opts.port,
    passwordSource: opts.passwordFile ? 'file' : secrets.password !== null ? 'env' : null,
    ingressTokenSource: opts.ingressTokenFile ? 'file' : secrets.ingressToken !== null ? 'env' : null,
    dataDir,
    otlpExport
  })
  const service = new VigilService({ mode: 'web', version: ctx.version, tmpRoot: processTmpRoot(), settings })
  try {
    // Stores first: their first read (a snapshot copy, its open) goes on while the recording opens and
    // replays, on the other core. A store only reads Perspt's files; it feeds no run the recording keeps.
    for (const path of opts.dbPaths) service.registry.addStore(resolve(path), 'flag')
    if (opts.dbPaths.length === 0 && opts.defaultStore) {
      addDefaultStoreIfPresent(service.registry, ctx.env, ctx.platform, ctx.home)
    }
    await service.startRecording(join(dataDir, 'recordings.duckdb'))
    // After the replay: recorded runs that had ended are not sent again.
    service.applyOtlpSettings()
    for (const url of opts.attachUrls) service.registry.addAttachment(url, 'flag')
    if (opts.demo) await service.startDemo()

    const server = await startVigilServer({
      host: opts.host,
      port: opts.port,
      api: service,
      events: service.events,
      staticDir: ctx.staticDir,
      version: ctx.version,
      extensions: service.serverExtensions(),
      auth: createAuth({
        password: secrets.password,
        ingressToken: secrets.ingressToken,
        reviewerToken,
        insecure: opts.insecure,
        allowOrigins: opts.allowOrigins
      })
    })
    settings.listening(server.url, server.port)
    return {
      service,
      server,
      dataDir,
      login: secrets.password !== null,
      async close() {
        await server.close()
        await service.close()
      }
    }
  } catch (err) {
    await service.close()
    throw err
  }
}
