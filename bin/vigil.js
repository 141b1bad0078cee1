#!/usr/bin/env node
'use strict'
// Launcher for `vigil`: runs the built CLI (out/main/cli.js), plain Node, no Electron needed.
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const cli = join(__dirname, '..', 'out', 'main', 'cli.js')
if (!existsSync(cli)) {
  process.stderr.write('vigil: not built yet: run "npm run build" in the Vigil folder first\n')
  process.exit(1)
}
require(cli)
