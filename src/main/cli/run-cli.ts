// The `vigil` command: parse, then serve until SIGINT/SIGTERM. Returns the exit code.
import { join } from 'node:path'
import { version } from '../../../package.json'
import { ownerOnlyFiles } from '../app-paths'
import { ExposureError } from '../server/auth/exposure'
import { ListenError } from '../server/vigil-server'
import { parseArgs, USAGE, UsageError } from './args'
import { serveBanner } from './banner'
import { startServe, StartupError } from './serve'
import { runGate } from './gate'

export async function runCli(argv: readonly string[]): Promise<number> {
  // `vigil gate …` only talks HTTP to a running Vigil (gate.ts, docs/gate-cli.md).
  if (argv[0] === 'gate') return runGate(argv.slice(1))
  let command
  try {
    command = parseArgs(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vigil: ${err.message}\n`)
      return 2
    }
    throw err
  }
  if (command.command === 'help') {
    process.stdout.write(USAGE)
    return 0
  }
  if (command.command === 'version') {
    process.stdout.write(`${version}\n`)
    return 0
  }

  ownerOnlyFiles()
  let running
  try {
    running = await startServe(command, {
      version,
      staticDir: join(__dirname, '../renderer'),
      warn: (text) => process.stderr.write(text.replace(/^/gm, 'vigil: ') + '\n')
    })
  } catch (err) {
    // Serving a network unguarded is a usage problem (fix the flags), like a bad option.
    if (err instanceof ExposureError) {
      process.stderr.write(`vigil: ${err.message}\n`)
      return 2
    }
    if (err instanceof StartupError || err instanceof ListenError) {
      process.stderr.write(`vigil: ${err.message}\n`)
      return 1
    }
    throw err
  }
  // Closed pipes (terminal gone, parent exited) must not turn a clean shutdown into an EPIPE crash.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined)
  // Signal handlers first: a SIGTERM right after the URL line must still shut down cleanly.
  const served = new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      process.stderr.write(`vigil: ${signal} received, shutting down\n`)
      running.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`vigil: shutdown failed: ${String(err)}\n`)
          resolve(1)
        }
      )
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
    // The terminal closed: same clean shutdown (the default action would leave private copies behind).
    process.once('SIGHUP', () => stop('SIGHUP'))
  })
  // Scripts and tests parse this first line; the banner after it is for people.
  process.stdout.write(`Vigil listening on ${running.server.url}\n`)
  process.stdout.write(
    serveBanner({
      url: running.server.url,
      dataDir: running.dataDir,
      login: running.login,
      demo: command.demo,
      sources: await running.service.listSources(),
      stop: 'Ctrl+C (or SIGTERM)',
      otlpExport: running.service.otlpExport.status().url
    })
  )

  return served
}
