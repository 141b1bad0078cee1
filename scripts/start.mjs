#!/usr/bin/env node
// `npm start` (and `npm run dev` with --dev): always ends with Vigil's interface in front of the user.
//   1. builds out/ when it is missing or older than its sources;
//   2. gets Electron: the binary `npm install` did not download (see .npmrc) is fetched now, once, with
//      Electron's own installer, after a short check that its download host answers;
//   3. opens the desktop window; where that cannot be (no binary, no network to its host, no display, a crash
//      at start) prints one line why and runs `vigil serve` with the user's stores and attachments instead,
//      opening the default browser (BROWSER=none: just print the URL).
// Options: --dev (electron-vite dev, hot reload), --browser (skip the desktop window), --build-only (step 1
// alone: `npm run serve` and `npm run demo` use it).
// Env: ELECTRON_MIRROR (download base), BROWSER, VIGIL_PORT (the server's port, default 7400),
// VIGIL_SKIP_BUILD=1 (use out/ as it is).
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  browserCommand,
  buildNeeded,
  desktopDataDir,
  electronMirror,
  fallbackLine,
  findElectron,
  installFailureLine,
  mirrorHost,
  networkErrorCode,
  noDisplayReason,
  rememberedServeArgs,
  unreachableReason
} from './launcher/lib.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const dev = args.includes('--dev')
const browserOnly = args.includes('--browser')
const buildOnly = args.includes('--build-only')
const unknown = args.filter((a) => a !== '--dev' && a !== '--browser' && a !== '--build-only')
const PROBE_TIMEOUT_MS = 5_000
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000
const CRASH_WINDOW_MS = 8_000

function say(text) {
  process.stderr.write(`${text}\n`)
}

function electronVite(cliArgs, stdio) {
  return spawn(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), ...cliArgs], { cwd: root, stdio })
}

/** Runs a child to its end; resolves { code, stdout, stderr } (output captured when piped). */
function finish(child, timeoutMs) {
  return new Promise((resolveRun) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => (stdout += d))
    child.stderr?.on('data', (d) => (stderr += d))
    const timer = timeoutMs ? setTimeout(() => child.kill(), timeoutMs) : null
    child.on('error', (err) => {
      if (timer) clearTimeout(timer)
      resolveRun({ code: -1, stdout, stderr: stderr + String(err) })
    })
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      resolveRun({ code: code ?? (signal ? 1 : 0), stdout, stderr, signal })
    })
  })
}

async function ensureBuilt() {
  if (!existsSync(join(root, 'node_modules/electron-vite/package.json'))) {
    say('vigil: dependencies are not installed: run "npm install" first')
    process.exit(1)
  }
  // VIGIL_SKIP_BUILD=1: trust out/ as it is (tests that run this launcher against a shared checkout).
  const why = process.env.VIGIL_SKIP_BUILD === '1' ? null : buildNeeded(root)
  if (!why) return
  say(`vigil: building (${why})...`)
  const res = await finish(electronVite(['build'], ['ignore', 'pipe', 'pipe']))
  if (res.code !== 0) {
    process.stderr.write(res.stdout + res.stderr)
    say('vigil: the build failed (output above)')
    process.exit(1)
  }
}

/** The Electron binary's path, or { reason } (one line) why there is none on this machine. */
async function obtainElectron() {
  const display = noDisplayReason(process.env, process.platform)
  if (display) return { reason: display }
  let found = findElectron(root)
  if (found.path) return found
  if (found.missing === 'package') return { reason: 'the electron package is not installed (run "npm install")' }
  if (found.missing === 'platform') return { reason: `Electron has no build for ${found.detail}` }
  if (found.missing === 'override') return { reason: `ELECTRON_OVERRIDE_DIST_PATH (${found.detail}) holds no Electron binary` }

  const mirror = electronMirror(process.env)
  // A proxy (which fetch() does not use) may still reach the host: then leave the verdict to the installer.
  const proxied = ['HTTPS_PROXY', 'https_proxy', 'GLOBAL_AGENT_HTTPS_PROXY', 'ELECTRON_GET_USE_PROXY'].some((k) => process.env[k])
  if (!proxied && /^https?:/i.test(mirror)) {
    try {
      await fetch(mirror, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
    } catch (err) {
      return { reason: unreachableReason(mirror, networkErrorCode(err)) }
    }
  }
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules/electron/package.json'), 'utf8'))
  say(`vigil: downloading Electron ${version} from ${mirrorHost(mirror)} (once, about 100 MB)...`)
  const env = { ...process.env }
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD
  const res = await finish(
    spawn(process.execPath, [join(root, 'node_modules/electron/install.js')], { cwd: root, env, stdio: ['ignore', 'inherit', 'pipe'] }),
    DOWNLOAD_TIMEOUT_MS
  )
  found = findElectron(root)
  if (found.path) return found
  const line = res.signal ? `no answer within ${DOWNLOAD_TIMEOUT_MS / 60_000} min` : installFailureLine(res.stderr)
  return { reason: `Electron could not be downloaded from ${mirrorHost(mirror)} (${line}); set ELECTRON_MIRROR or check the network` }
}

/** The child goes with this launcher: signals are passed on, and a launcher that dies takes it along. */
function forwardSignals(child) {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null) child.kill(signal)
    })
  }
  process.on('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  })
}

// A closed pipe (`npm start | head`) must not kill the launcher and orphan the server.
process.stdout.on('error', () => {})
process.stderr.on('error', () => {})

/** Runs the desktop app; resolves its exit code, or { reason } when it died at start (then the browser takes over). */
function runDesktop(electronPath) {
  const child = dev
    ? electronVite(['dev'], ['inherit', 'inherit', 'pipe'])
    : spawn(electronPath, ['.'], { cwd: root, stdio: ['inherit', 'inherit', 'pipe'] })
  forwardSignals(child)
  const started = Date.now()
  let stderr = ''
  child.stderr.on('data', (d) => {
    process.stderr.write(d)
    if (stderr.length < 64_000) stderr += d
  })
  return finish(child).then((res) => {
    // A failing `electron-vite dev` is usually a build error to fix, not a reason to switch to the browser.
    const early = !dev && Date.now() - started < CRASH_WINDOW_MS
    if (res.code !== 0 && early && !res.signal) return { reason: `Electron exited at start (${installFailureLine(stderr)})` }
    return { code: res.code }
  })
}

function portFree(port, host) {
  return new Promise((resolvePort) => {
    const srv = createServer()
    srv.once('error', () => resolvePort(false))
    srv.listen(port, host, () => srv.close(() => resolvePort(true)))
  })
}

function openBrowser(url) {
  const how = browserCommand(url)
  if (how.none) {
    say(`vigil: open ${url} in a browser (${how.none === 'BROWSER=none' ? 'not opening one: BROWSER=none' : `no browser to open: ${how.none}`})`)
    return
  }
  try {
    const child = spawn(how.command, how.args, { stdio: 'ignore', detached: true, windowsVerbatimArguments: Boolean(how.verbatim) })
    child.on('error', () => say(`vigil: could not run ${how.command}: open ${url} in a browser`))
    child.unref()
  } catch {
    say(`vigil: could not run ${how.command}: open ${url} in a browser`)
  }
}

async function runBrowser() {
  const serveArgs = ['serve', ...rememberedServeArgs(desktopDataDir())]
  const wanted = Number(process.env.VIGIL_PORT || 7400)
  if (Number.isInteger(wanted) && wanted > 0 && !(await portFree(wanted, '127.0.0.1'))) {
    say(`vigil: port ${wanted} is in use (another Vigil?), taking a free port instead`)
    serveArgs.push('--port', '0')
  } else if (process.env.VIGIL_PORT) {
    serveArgs.push('--port', process.env.VIGIL_PORT)
  }
  const child = spawn(process.execPath, [join(root, 'bin/vigil.js'), ...serveArgs], { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] })
  forwardSignals(child)
  let out = ''
  let opened = false
  let timer = null
  const open = (url) => {
    if (opened) return
    opened = true
    clearTimeout(timer)
    openBrowser(url)
  }
  child.stdout.on('data', (d) => {
    process.stdout.write(d)
    if (opened) return
    out += d
    const m = /Vigil listening on (http:\/\/\S+)/.exec(out)
    if (!m) return
    // After serve's banner (its last line is "Stop"), so the browser line comes last.
    if (/^ {2}Stop /m.test(out)) open(m[1])
    else timer ??= setTimeout(() => open(m[1]), 2_000)
  })
  const res = await finish(child)
  return res.code
}

async function main() {
  if (unknown.length > 0) {
    say(`vigil: unknown option ${unknown[0]} (npm start takes --browser; npm run dev; vigil options go to "npm run serve -- ...")`)
    return 2
  }
  // electron-vite dev builds by itself; everything else runs the built out/.
  if (!dev) await ensureBuilt()
  if (buildOnly) return 0
  if (!browserOnly) {
    const electron = await obtainElectron()
    if (electron.path) {
      const desktop = await runDesktop(electron.path)
      if (!desktop.reason) return desktop.code
      say(fallbackLine(desktop.reason))
    } else {
      say(fallbackLine(electron.reason))
    }
    if (dev) say('vigil: hot reload needs the desktop window; serving the built interface')
  }
  await ensureBuilt()
  return runBrowser()
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(`vigil: npm start failed: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
)
