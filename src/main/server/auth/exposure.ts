// Safe by default: Vigil refuses to face a network with nothing guarding it, unless told --insecure.
import { isLoopbackHost } from '../origin-policy'

export interface ExposureSettings {
  host: string
  hasPassword: boolean
  hasIngressToken: boolean
  insecure: boolean
}

export class ExposureError extends Error {}

/** Why this binding is refused, or null when it is allowed. */
export function exposureProblem(s: ExposureSettings): string | null {
  if (isLoopbackHost(s.host) || s.hasPassword || s.hasIngressToken || s.insecure) return null
  return (
    `refusing to listen on ${s.host} (reachable from other machines) with no password and no ingress token: ` +
    'set --password-file FILE (or VIGIL_PASSWORD), and for remote agents --ingress-token-file FILE ' +
    '(or VIGIL_INGRESS_TOKEN); --insecure serves it unprotected'
  )
}

/** The loud warning for a non-loopback server that any browser on the network may use, or null. */
export function exposureWarning(s: ExposureSettings): string | null {
  if (isLoopbackHost(s.host) || s.hasPassword || !s.insecure) return null
  const who = s.hasIngressToken ? 'Agents need the ingress token, but any browser' : 'Anyone'
  return [
    '!!! WARNING: --insecure !!!',
    `Vigil is listening on ${s.host} with no password. ${who} that can reach it can read every run, every prompt`,
    'and every file Vigil shows, and can control Vigil. Use --password-file on any network you do not fully trust.'
  ].join('\n')
}
