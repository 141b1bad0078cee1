// Plain-Node helpers of `npm start` / `npm run dev` (scripts/start.mjs): no build step, no dependencies,
// so they run on a fresh clone before anything is built. Each known situation becomes one line, never a
// stack trace.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'

export const DEFAULT_ELECTRON_MIRROR = 'https://github.com/electron/electron/releases/download/'

/** What `electron install.js` reads as its download base (ELECTRON_MIRROR, else the npm config, else GitHub). */
export function electronMirror(env) {
  return env.ELECTRON_MIRROR || env.npm_config_electron_mirror || env.NPM_CONFIG_ELECTRON_MIRROR || DEFAULT_ELECTRON_MIRROR
}

/** The file name Electron's installer writes to path.txt, per platform (null: no Electron build). */
export function electronPlatformPath(platform) {
  if (platform === 'darwin' || platform === 'mas') return 'Electron.app/Contents/MacOS/Electron'
  if (platform === 'linux' || platform === 'freebsd' || platform === 'openbsd') return 'electron'
  if (platform === 'win32') return 'electron.exe'
  return null
}

/**
 * The Electron binary under node_modules/electron, as `require('electron')` would name it, or why there is
 * none: `{ path }` | `{ missing: 'package' | 'binary' | 'override' | 'platform', detail }`.
 */
export function findElectron(root, env = process.env, platform = process.platform) {
  const pkgDir = join(root, 'node_modules', 'electron')
  if (!existsSync(join(pkgDir, 'package.json'))) return { missing: 'package', detail: pkgDir }
  const platformPath = electronPlatformPath(platform)
  if (!platformPath) return { missing: 'platform', detail: platform }
  let written
  try {
    written = readFileSync(join(pkgDir, 'path.txt'), 'utf8').trim()
  } catch {
    written = null
  }
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const path = join(env.ELECTRON_OVERRIDE_DIST_PATH, written || platformPath)
    return existsSync(path) ? { path } : { missing: 'override', detail: env.ELECTRON_OVERRIDE_DIST_PATH }
  }
  if (!written) return { missing: 'binary', detail: pkgDir }
  const path = join(pkgDir, 'dist', written)
  return existsSync(path) ? { path } : { missing: 'binary', detail: pkgDir }
}

/** Why this machine cannot show a window at all (Linux without X11 or Wayland), else null. */
export function noDisplayReason(env, platform) {
  if (platform !== 'linux' && platform !== 'freebsd' && platform !== 'openbsd') return null
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return null
  return 'no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset)'
}

/** The host part of a mirror URL, for messages. */
export function mirrorHost(mirror) {
  try {
    return new URL(mirror).host || mirror
  } catch {
    return mirror
  }
}

/** One line from a failed `node install.js`'s stderr: its first line naming an error, without the stack. */
export function installFailureLine(stderr) {
  const lines = String(stderr)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at '))
  const named = lines.find((l) => /error/i.test(l)) ?? lines[0]
  if (!named) return 'no output'
  return named.length > 200 ? `${named.slice(0, 197)}...` : named
}

/** A network error from fetch(), as its code (ENOTFOUND, ECONNREFUSED, ...) or message. */
export function networkErrorCode(err) {
  if (err && typeof err === 'object') {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out'
    const cause = err.cause
    if (cause && typeof cause === 'object') {
      if (typeof cause.code === 'string') return cause.code
      // Several addresses tried (IPv4 and IPv6): an AggregateError of the attempts.
      const first = Array.isArray(cause.errors) ? cause.errors.find((e) => typeof e?.code === 'string') : undefined
      if (first) return first.code
      if (typeof cause.message === 'string' && cause.message) return cause.message
    }
    if (typeof err.code === 'string') return err.code
    if (typeof err.message === 'string') return err.message
  }
  return String(err)
}

/** The line `npm start` prints when it opens the browser instead of the desktop window. */
export function fallbackLine(reason) {
  return `vigil: no desktop window: ${reason}. Opening Vigil in the browser instead (vigil serve).`
}

export function unreachableReason(mirror, code) {
  return `Electron is not downloaded yet and ${mirrorHost(mirror)} cannot be reached (${code}); set ELECTRON_MIRROR or check the network`
}

/** Where the desktop app keeps its settings (Electron's appData + "vigil"; see src/main/desktop/main.ts). */
export function desktopDataDir(env = process.env, platform = process.platform, home = homedir()) {
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'vigil')
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'vigil')
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'vigil')
}

/**
 * `vigil serve` arguments for the stores and attachments the desktop app remembers (its sources.json),
 * keeping only store files that still exist and ws:// / wss:// URLs, so a stale entry never stops serve.
 */
export function rememberedServeArgs(dataDir) {
  let raw
  try {
    raw = JSON.parse(readFileSync(join(dataDir, 'sources.json'), 'utf8'))
  } catch {
    return []
  }
  const args = []
  const stores = Array.isArray(raw?.stores) ? raw.stores : []
  for (const s of stores) {
    if (typeof s?.path !== 'string') continue
    try {
      if (statSync(s.path).isFile()) args.push('--db', s.path)
    } catch {
      // gone since: skip it
    }
  }
  const attachments = Array.isArray(raw?.attachments) ? raw.attachments : []
  for (const a of attachments) {
    if (typeof a?.url !== 'string') continue
    try {
      const protocol = new URL(a.url).protocol
      if (protocol === 'ws:' || protocol === 'wss:') args.push('--attach', a.url)
    } catch {
      // not a URL: skip it
    }
  }
  return args
}

/** The program on PATH (with PATHEXT on Windows), or null. */
export function onPath(name, env = process.env, platform = process.platform) {
  const exts = platform === 'win32' ? (env.PATHEXT || '.EXE;.CMD;.BAT').split(';') : ['']
  for (const dir of (env.PATH || '').split(platform === 'win32' ? ';' : delimiter)) {
    if (!dir) continue
    for (const ext of exts) {
      const candidate = join(dir, name + ext)
      try {
        if (statSync(candidate).isFile()) return candidate
      } catch {
        // not here
      }
    }
  }
  return null
}

/**
 * How to open a URL in the default browser: `{ command, args }`, or `{ none: reason }`.
 * BROWSER=none turns it off; any other BROWSER value is the program to run.
 */
export function browserCommand(url, env = process.env, platform = process.platform) {
  const chosen = env.BROWSER
  if (chosen === 'none') return { none: 'BROWSER=none' }
  if (chosen) return { command: chosen, args: [url] }
  if (platform === 'darwin') return { command: 'open', args: [url] }
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', `"${url}"`], verbatim: true }
  if (noDisplayReason(env, platform)) return { none: 'no display' }
  const opener = onPath('xdg-open', env, platform)
  return opener ? { command: opener, args: [url] } : { none: 'xdg-open is not installed' }
}

const BUILD_INPUTS = ['src', 'package.json', 'electron.vite.config.ts', 'svelte.config.mjs', 'tsconfig.base.json', 'tsconfig.json', 'tsconfig.node.json', 'tsconfig.web.json']
const BUILD_OUTPUTS = ['out/main/index.js', 'out/main/cli.js', 'out/preload/index.js', 'out/renderer/index.html']

function newestMtime(path) {
  let st
  try {
    st = statSync(path)
  } catch {
    return 0
  }
  if (!st.isDirectory()) return st.mtimeMs
  let newest = st.mtimeMs
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)))
  return newest
}

/** Why `out/` must be (re)built before starting, or null when it is complete and newer than its sources. */
export function buildNeeded(root) {
  let oldestOutput = Infinity
  for (const rel of BUILD_OUTPUTS) {
    const path = join(root, rel)
    if (!existsSync(path)) return `${rel} is missing`
    oldestOutput = Math.min(oldestOutput, statSync(path).mtimeMs)
  }
  for (const rel of BUILD_INPUTS) {
    if (newestMtime(join(root, rel)) > oldestOutput) return `${rel} changed since the last build`
  }
  return null
}
