// `npm run bench [suite]`: every benchmark (or one suite), one JSON line per measurement on stdout
// ({name, unit, median, p95, n, ...}). Run on a quiet machine and compare medians, not single runs.
// `live-soak` takes 10 minutes (VIGIL_SOAK_SECONDS) and `perspt-pace` several (VIGIL_PACE_SECONDS), so they run
// only when named.
import { run as durableIngest } from './durable-ingest.mts'
import { run as hubIngest } from './hub-ingest.mts'
import { run as idleRss } from './idle-rss.mjs'
import { run as liveLatency } from './live-latency.mts'
import { run as liveSoak } from './live-soak.mts'
import { run as otlpIngest } from './otlp-ingest.mts'
import { run as otlpExport } from './otlp-export.mts'
import { run as persptLlmViews } from './perspt-llm-views.mts'
import { run as persptPace } from './perspt-pace.mts'
import { run as persptViews } from './perspt-views.mts'
import { run as reviewRoundtrip } from './review-roundtrip.mts'
import { run as serveStartup } from './serve-startup.mjs'

const only = process.argv[2]
const suites = {
  'serve-startup': serveStartup,
  'idle-rss': idleRss,
  'perspt-views': persptViews,
  'perspt-pace': persptPace,
  'perspt-llm-views': persptLlmViews,
  'hub-ingest': hubIngest,
  'durable-ingest': durableIngest,
  'otlp-ingest': otlpIngest,
  'live-latency': liveLatency,
  'live-soak': liveSoak,
  'review-roundtrip': reviewRoundtrip,
  'otlp-export': otlpExport
}
const onlyWhenNamed = new Set(['live-soak', 'perspt-pace'])
if (only && !(only in suites)) {
  process.stderr.write(`unknown suite "${only}"; suites: ${Object.keys(suites).join(', ')}\n`)
  process.exit(2)
}
for (const [name, suite] of Object.entries(suites)) {
  if (only ? only !== name : onlyWhenNamed.has(name)) continue
  await suite()
}
