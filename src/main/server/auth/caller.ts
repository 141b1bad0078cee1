// Who is calling, as the server proved it: recorded by the auth gate for each request it lets through,
// and read where the right to see or decide a review gate matters (the review API, decideReview over
// /api/rpc). The history's `decidedBy` is this identity's label, never a name from the request body.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage } from 'node:http'

export type CallerKind =
  /** A browser (or script) with a login session cookie. */
  | 'session'
  /** `Authorization: Bearer <reviewer token>`. */
  | 'reviewer-token'
  /** No password is set and the request comes from this machine. */
  | 'local-no-password'
  /** No password is set and the server was started --insecure: anyone who reaches it. */
  | 'insecure-no-password'
  /** An agent: loopback without a password's protection of gates, or the ingress token. May raise gates only. */
  | 'agent'

export interface Caller {
  kind: CallerKind
  /** What the history shows as `decidedBy`. */
  label: string
  /** May read every gate's content and decide gates. */
  reviewer: boolean
  /** The raw `Authorization: Gate …` / `X-Vigil-Gate-Secret` value, when sent (checked against one gate only). */
  gateSecret: string | null
}

export const CALLER_LABELS: Record<CallerKind, string> = {
  session: 'signed-in browser',
  'reviewer-token': 'reviewer token',
  'local-no-password': 'local (no password)',
  'insecure-no-password': 'anyone (no password, --insecure)',
  agent: 'agent'
}

const byRequest = new WeakMap<IncomingMessage, Caller>()
const current = new AsyncLocalStorage<Caller>()

export function recordCaller(req: IncomingMessage, caller: Caller): void {
  byRequest.set(req, caller)
}

/** The identity the auth gate recorded for this request; null when no auth gate saw it. */
export function callerOf(req: IncomingMessage): Caller | null {
  return byRequest.get(req) ?? null
}

/** Runs `work` (an RPC dispatch) as the request's caller, so the service can tell who decides. */
export function runAsCallerOf<T>(req: IncomingMessage, work: () => T): T {
  const caller = callerOf(req)
  return caller ? current.run(caller, work) : work()
}

/** The HTTP caller the current call runs for; null for calls that came through no HTTP request (the desktop window's IPC). */
export function currentCaller(): Caller | null {
  return current.getStore() ?? null
}

/** The per-gate secret a gate's creator sends: `Authorization: Gate <secret>` or `X-Vigil-Gate-Secret: <secret>`. */
export function gateSecretOf(req: IncomingMessage): string | null {
  const m = /^Gate +(\S+) *$/i.exec(req.headers.authorization ?? '')
  if (m) return m[1]!
  const header = req.headers['x-vigil-gate-secret']
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : null
}
