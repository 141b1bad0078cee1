// Entry of `vigil` (bin/vigil.js → out/main/cli.js): plain Node, no Electron.
import { runCli } from './run-cli'

// A stray rejection must be reported, never take the server down.
process.on('unhandledRejection', (reason) => console.error('vigil: unhandled rejection:', reason))

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vigil: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
)
