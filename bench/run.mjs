// `npm run bench [suite]`: every benchmark (or one suite), one JSON line per measurement on stdout
// ({name, unit, median, p95, n, ...}). Run on a quiet machine and compare medians, not single runs.
import { run as hubIngest } from './hub-ingest.mts'
import { run as idleRss } from './idle-rss.mjs'
import { run as persptViews } from './perspt-views.mts'
import { run as serveStartup } from './serve-startup.mjs'

const only = process.argv[2]
const suites = { 'serve-startup': serveStartup, 'idle-rss': idleRss, 'perspt-views': persptViews, 'hub-ingest': hubIngest }
for (const [name, suite] of Object.entries(suites)) {
  if (only && only !== name) continue
  await suite()
}
