// The session cookie: HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site POSTs), Path=/,
// and Secure unless the page is on a loopback host, where browsers allow plain http.

export interface CookieSettings {
  /** Per port: browsers share cookies across ports, and two local Vigils must not log each other out. */
  name: string
  secure: boolean
}

export function sessionCookieName(localPort: number | undefined): string {
  return `vigil_session_${localPort ?? 0}`
}

export function buildSessionCookie(token: string, maxAgeSeconds: number, settings: CookieSettings): string {
  return withAttributes(`${settings.name}=${token}; Max-Age=${maxAgeSeconds}`, settings.secure)
}

export function buildClearedCookie(settings: CookieSettings): string {
  return withAttributes(`${settings.name}=; Max-Age=0`, settings.secure)
}

function withAttributes(base: string, secure: boolean): string {
  return `${base}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

/** One cookie's value from a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}
