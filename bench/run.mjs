// `npm run bench`: every benchmark, one JSON line per measurement on stdout
// ({name, unit, median, p95, n, ...}). Run on a quiet machine and compare medians, not single runs.
import { run as idleRss } from './idle-rss.mjs'
import { run as serveStartup } from './serve-startup.mjs'

const only = process.argv[2]
const suites = { 'serve-startup': serveStartup, 'idle-rss': idleRss }
for (const [name, suite] of Object.entries(suites)) {
  if (only && only !== name) continue
  await suite()
}
