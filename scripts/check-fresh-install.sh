#!/usr/bin/env bash
# Fresh-clone install test: what a new user does, on a machine that cannot download Electron.
#   1. clone HEAD of this repository (committed work only) into a temp folder;
#   2. `npm ci` with no Electron variable (and, on a supported Node, no EBADENGINE warning);
#   3. `npm start` with Electron's download host unreachable (ELECTRON_MIRROR pointed at a closed local port
#      and an empty download cache, so this holds on a networked machine too): it must say why in one line,
#      serve the interface, and answer over HTTP. BROWSER=none keeps it from opening a browser.
# Usage: scripts/check-fresh-install.sh [REPO]   (default: this checkout; KEEP=1 keeps the temp folder)
# About a minute with a warm npm cache; not part of `npm test`.
set -euo pipefail
set -m # background jobs get their own process group, so `npm start` and its children stop together

repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-fresh-XXXXXX")
started=$(date +%s)
start_pid=
log() { printf '== %s (%ss)\n' "$*" "$(($(date +%s) - started))"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
cleanup() {
  if [ -n "$start_pid" ] && kill -0 "$start_pid" 2>/dev/null; then
    kill -TERM -- "-$start_pid" 2>/dev/null || true
    sleep 1
  fi
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

log "clone $repo (HEAD) into $work/vigil"
git clone --quiet "$repo" "$work/vigil"
cd "$work/vigil"
git log --oneline -1

log "npm ci (node $(node --version), npm $(npm --version), no ELECTRON_* variable)"
env -u ELECTRON_SKIP_BINARY_DOWNLOAD -u ELECTRON_MIRROR -u ELECTRON_OVERRIDE_DIST_PATH \
  npm ci --no-audit --no-fund >"$work/npm-ci.log" 2>&1 || {
  tail -30 "$work/npm-ci.log"
  fail "npm ci failed"
}
tail -1 "$work/npm-ci.log"
[ ! -e node_modules/electron/dist ] || fail "npm ci downloaded Electron's binary"
supported=$(node -p 'const [major, minor] = process.versions.node.split(".").map(Number); (major === 22 && minor >= 12) || major >= 24 ? 1 : 0')
if grep -q EBADENGINE "$work/npm-ci.log"; then
  if [ "$supported" = 1 ]; then
    grep -A3 EBADENGINE "$work/npm-ci.log" | head -20
    fail "EBADENGINE warnings on a supported Node"
  fi
  echo "(EBADENGINE warnings: expected on Node $(node --version), which is outside engines)"
fi

closed_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')
log "npm start, Electron unreachable (ELECTRON_MIRROR=http://127.0.0.1:$closed_port/)"
mkdir -p "$work/home/data" "$work/home/config" "$work/electron-cache"
env -u ELECTRON_SKIP_BINARY_DOWNLOAD -u ELECTRON_OVERRIDE_DIST_PATH -u HTTPS_PROXY -u https_proxy \
  ELECTRON_MIRROR="http://127.0.0.1:$closed_port/" electron_config_cache="$work/electron-cache" \
  BROWSER=none VIGIL_PORT=0 DISPLAY="${DISPLAY:-:99}" \
  XDG_DATA_HOME="$work/home/data" XDG_CONFIG_HOME="$work/home/config" \
  npm start >"$work/npm-start.log" 2>&1 &
start_pid=$!

url=
for _ in $(seq 1 240); do
  url=$(sed -n 's/^Vigil listening on \(http:[^ ]*\)$/\1/p' "$work/npm-start.log" | head -1)
  [ -n "$url" ] && break
  kill -0 "$start_pid" 2>/dev/null || break
  sleep 0.5
done
cat "$work/npm-start.log"
[ -n "$url" ] || fail "npm start did not serve the interface within 120 s"

reasons=$(grep -c '^vigil: no desktop window: ' "$work/npm-start.log" || true)
[ "$reasons" = 1 ] || fail "expected exactly one line saying why there is no desktop window, got $reasons"
grep -q "127.0.0.1:$closed_port cannot be reached" "$work/npm-start.log" || fail "the reason does not name the unreachable host"
if grep -qE '^\s+at ' "$work/npm-start.log"; then fail "npm start printed a stack trace"; fi

log "GET $url"
page=$(curl -fsS --max-time 10 "$url/") || fail "the interface did not answer"
case "$page" in *'<div id="app"'*) ;; *) fail "the page is not Vigil's interface" ;; esac
status=$(curl -fsS --max-time 10 "$url/api/status") || fail "/api/status did not answer"
echo "/api/status: $status"

log "stop npm start"
kill -TERM -- "-$start_pid"
wait "$start_pid" 2>/dev/null || true
start_pid=
if curl -fsS --max-time 2 "$url/api/status" >/dev/null 2>&1; then fail "the server still answers after npm start was stopped"; fi

log "OK: fresh clone -> npm ci -> npm start reached the interface over HTTP without Electron"
