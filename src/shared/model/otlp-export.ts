// Forwarding runs to an OpenTelemetry collector (OTLP/HTTP): the setting, its check, and the state the
// Settings page and `GET /api/status` show. The exporter itself is src/main/otel/export/.

export type OtlpProtocol = 'http/protobuf' | 'http/json'

export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json']

/**
 * off: no endpoint set. idle: set, nothing sent yet. connected: the last request was accepted.
 * failing: the last request failed (see lastError); batches wait and are retried (or were refused).
 */
export type OtlpExportState = 'off' | 'idle' | 'connected' | 'failing'

export interface OtlpExportStatus {
  /** The URL requests go to (`…/v1/traces`), null when off. */
  url: string | null
  protocol: OtlpProtocol
  state: OtlpExportState
  /** What went wrong last, in words that say what to do; null after a success. */
  lastError: string | null
  lastErrorAt: string | null
  lastSuccessAt: string | null
  /** Spans the collector accepted. */
  sent: number
  /** Spans waiting in memory (including a batch being sent or retried). */
  queued: number
  /** Their estimated size in bytes. */
  queuedBytes: number
  /** Requests sent again after a retryable failure (429, 502, 503, 504, network error, timeout). */
  retried: number
  /** Spans dropped because the queue was full (the oldest batch goes first), or left at shutdown. */
  dropped: number
  /** Spans the collector refused with a status that is not retried (400, 401, 403, 404, 413, …). */
  rejected: number
  /** Runs and sessions handed to the exporter. */
  runsExported: number
  /** Ended runs or sessions that could not be read for export (e.g. the store was gone). */
  exportFailures: number
}

/** The setting, as the Settings page shows it (headers are never shown, only their names). */
export interface OtlpExportFacts {
  /** The endpoint set (base URL, e.g. http://collector:4318), null when off. */
  endpoint: string | null
  protocol: OtlpProtocol
  /** Names of extra headers sent (values hidden). */
  headerNames: string[]
  /** Why it cannot be changed here (a command-line flag), or null. */
  lockedBy: string | null
  status: OtlpExportStatus
}

/**
 * Checks an endpoint URL: http or https, with a host, no credentials in it. Returns the reason it is
 * not usable, or null. '' means "off" and is fine.
 */
export function otlpEndpointProblem(raw: string): string | null {
  const value = raw.trim()
  if (value === '') return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `"${value.slice(0, 80)}" is not a URL: use the collector's OTLP/HTTP address, e.g. http://localhost:4318.`
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `Use an http:// or https:// URL (OTLP/HTTP), e.g. http://localhost:4318; got ${url.protocol}//.`
  if (url.hostname === '') return 'The URL needs a host, e.g. http://localhost:4318.'
  if (url.username || url.password) return 'Put no user name or password in the URL: send credentials as a header instead (--otlp-header).'
  if (url.search || url.hash) return 'The URL must have no query (?…) or fragment (#…).'
  return null
}

/**
 * Where spans are posted: OTLP's rule for a base endpoint is `<endpoint>/v1/traces`; a URL that already
 * ends in /v1/traces is used as it is.
 */
export function otlpTracesUrl(endpoint: string): string {
  const base = endpoint.trim().replace(/\/+$/, '')
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`
}
