// What `vigil serve` prints once it listens, after the `Vigil listening on URL` line scripts parse:
// where the interface, the hub and the review API are, where Vigil keeps its data, what it watches, and
// (with --demo) what the simulated agents are and where they write. Plain text, one fact a line.
import type { SourceInfo } from '../../shared/model/sources'

export interface BannerFacts {
  /** The server's base URL, e.g. http://127.0.0.1:7400. */
  url: string
  dataDir: string
  /** A password guards the interface (browsers sign in at /login). */
  login: boolean
  demo: boolean
  sources: readonly SourceInfo[]
  /** How to stop, e.g. "Ctrl+C". */
  stop: string
  /** Where runs are forwarded (--otlp-endpoint, as `…/v1/traces`), or null. */
  otlpExport?: string | null
}

const MAX_LISTED = 8

function row(label: string, value: string, note?: string): string {
  return `  ${label.padEnd(15)}${value}${note ? `   (${note})` : ''}`
}

function sourceValue(s: SourceInfo): string {
  return s.kind === 'store' ? s.path : s.url
}

export function serveBanner(f: BannerFacts): string {
  const base = f.url.replace(/\/+$/, '')
  const ws = base.replace(/^http/, 'ws')
  const lines: string[] = []
  if (f.demo) lines.push('Demo mode: simulated agents are running, so every view has live data.')
  lines.push(row('Interface', `${base}/`, f.login ? `sign in at ${base}/login` : 'open it in a browser'))
  lines.push(row('Hub ingress', `${ws}/ingress`, 'AgentEnsemble publishers push here'))
  lines.push(row('Hub dashboard', `${ws}/ws`, 'AgentEnsemble dashboard clients watch here'))
  lines.push(row('Review API', `${base}/api/reviews`, 'POST a gate; ?wait=true holds until someone decides'))
  lines.push(row('Data folder', f.dataDir, 'recordings and review history'))

  const demo = f.sources.filter((s) => s.origin === 'demo')
  const watched = f.sources.filter((s) => s.origin !== 'demo')
  for (const s of demo) {
    if (s.kind === 'store') lines.push(row('Demo store', s.path, 'a simulated Perspt agent writes it'))
    else lines.push(row('Demo ensemble', s.url, 'a simulated AgentEnsemble dashboard, attached'))
  }
  if (watched.length === 0 && !f.demo) {
    lines.push(row('Watching', 'nothing yet', 'add a store with --db, a dashboard with --attach, or from the interface'))
  }
  for (const s of watched.slice(0, MAX_LISTED)) {
    lines.push(row(s.kind === 'store' ? 'Perspt store' : 'Attached', sourceValue(s)))
  }
  if (watched.length > MAX_LISTED) lines.push(row('', `and ${watched.length - MAX_LISTED} more`))
  if (f.otlpExport) lines.push(row('Forwarding to', f.otlpExport, 'OpenTelemetry collector: each run when it ends; state in /api/status'))
  lines.push(row('Stop', f.stop))
  return lines.join('\n') + '\n'
}
