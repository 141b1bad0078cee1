// Diagnostics for a `vigil serve` under a benchmark: wall time of every DuckDB call in the process,
// grouped by the calling functions in Vigil's bundle and the statement's kind, printed to stderr when the
// process exits (SIGUSR2 starts the count over: the benchmark's measured part), and with
// VIGIL_DUCKDB_PROFILE_EVERY_S=N also every N seconds from then on, each block counting from the last
// (does a caller's cost grow over a long run?). Loaded with
//   node --import ./bench/duckdb-call-profile.mjs …   (perspt-pace: VIGIL_PACE_NODE_ARGS="--import …")
// DuckDB runs queries on its own threads, so a V8 CPU profile of the main thread shows almost none of it.
import { createRequire } from 'node:module'

/** VIGIL_DUCKDB_PROFILE_SQL=N: statements named by their first N characters (which query is it?). */
const bySql = Number(process.env.VIGIL_DUCKDB_PROFILE_SQL ?? 0)
const api = createRequire(import.meta.url)('@duckdb/node-api')
const stats = new Map()
/** Statements in flight: a method that calls another with the same SQL is counted once. */
const active = new Map()
let since = performance.now()

/** The first two functions of Vigil's bundle on the stack, past the small query helpers. */
function caller() {
  const names = []
  for (const line of new Error().stack.split('\n').slice(3)) {
    const m = /at (?:async )?([\w$.]+) \(.*vigil-service/.exec(line)
    if (m && !/^(rows|optional|query|runQuery)(\$\d+)?$/.test(m[1])) names.push(m[1])
    if (names.length === 2) break
  }
  return names.join('<') || '?'
}

for (const method of ['run', 'runAndReadAll', 'runAndRead', 'streamAndReadAll']) {
  const original = api.DuckDBConnection.prototype[method]
  if (!original) continue
  api.DuckDBConnection.prototype[method] = async function (sql, ...rest) {
    const text = String(sql)
    if (active.get(text)) return original.call(this, sql, ...rest)
    active.set(text, 1)
    const word = text.trim().split(/\s+/)[0].toUpperCase()
    const what = bySql ? text.replace(/\s+/g, ' ').trim().slice(0, bySql) : word === 'SELECT' || word === 'WITH' ? 'SELECT' : text.trim().slice(0, 24).replace(/'[^']*'?/g, "'…'")
    const key = `${caller()} ${what}`
    const t0 = performance.now()
    try {
      return await original.call(this, sql, ...rest)
    } finally {
      active.delete(text)
      const s = stats.get(key) ?? { n: 0, ms: 0 }
      s.n++
      s.ms += performance.now() - t0
      stats.set(key, s)
    }
  }
}

function report() {
  const seconds = (performance.now() - since) / 1000
  const lines = [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)
  process.stderr.write(
    `duckdb calls over ${seconds.toFixed(0)} s (ms per second, calls, ms per call, caller and statement):\n` +
      lines.map(([k, s]) => `${(s.ms / seconds).toFixed(1).padStart(7)} ${String(s.n).padStart(6)}× ${(s.ms / s.n).toFixed(2).padStart(8)}  ${k}`).join('\n') +
      '\n'
  )
}

function restart() {
  stats.clear()
  since = performance.now()
}

const everyS = Number(process.env.VIGIL_DUCKDB_PROFILE_EVERY_S ?? 0)
let every = null
process.on('SIGUSR2', () => {
  restart()
  if (everyS > 0 && !every) {
    every = setInterval(() => (report(), restart()), everyS * 1000)
    every.unref()
  }
})
process.on('exit', report)
