// Login sessions: one fresh random token per login, kept server-side with idle and absolute expiry.
import { randomBytes } from 'node:crypto'
import type { Duplex } from 'node:stream'
import { sha256 } from './secret-match'

export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000
export const SESSION_ABSOLUTE_MS = 24 * 60 * 60 * 1000
const MAX_SESSIONS = 1000

export interface SessionStoreOptions {
  idleMs?: number
  absoluteMs?: number
  now?: () => number
}

interface Session {
  createdAt: number
  lastSeen: number
  /** WebSockets opened with this session: they close with it. */
  sockets: Set<Duplex>
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>()
  private readonly idleMs: number
  private readonly absoluteMs: number
  private readonly now: () => number

  constructor(opts: SessionStoreOptions = {}) {
    this.idleMs = opts.idleMs ?? SESSION_IDLE_MS
    this.absoluteMs = opts.absoluteMs ?? SESSION_ABSOLUTE_MS
    this.now = opts.now ?? Date.now
  }

  /** Seconds a new session's cookie may live (the absolute limit). */
  get maxAgeSeconds(): number {
    return Math.floor(this.absoluteMs / 1000)
  }

  get size(): number {
    return this.sessions.size
  }

  /** A new session; returns its token, which is never stored (only its hash is). */
  create(): string {
    this.sweep()
    // Bounded: the oldest login makes room (Map keeps insertion order).
    if (this.sessions.size >= MAX_SESSIONS) this.drop(this.sessions.keys().next().value!)
    const token = randomBytes(32).toString('base64url')
    const now = this.now()
    this.sessions.set(key(token), { createdAt: now, lastSeen: now, sockets: new Set() })
    return token
  }

  /** True when the token names a live session; counts as activity for the idle limit. */
  touch(token: string): boolean {
    const k = key(token)
    const session = this.sessions.get(k)
    if (!session) return false
    const now = this.now()
    if (this.expired(session, now)) {
      this.drop(k)
      return false
    }
    session.lastSeen = now
    return true
  }

  /** Ties a socket to a live session, so logout and expiry close it too. */
  bind(token: string, socket: Duplex): void {
    const session = this.sessions.get(key(token))
    if (!session) return
    session.sockets.add(socket)
    socket.once('close', () => session.sockets.delete(socket))
  }

  revoke(token: string): void {
    this.drop(key(token))
  }

  /** Ends expired sessions (and their sockets). */
  sweep(): void {
    const now = this.now()
    for (const [k, session] of this.sessions) if (this.expired(session, now)) this.drop(k)
  }

  clear(): void {
    for (const k of [...this.sessions.keys()]) this.drop(k)
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastSeen >= this.idleMs || now - session.createdAt >= this.absoluteMs
  }

  private drop(k: string): void {
    const session = this.sessions.get(k)
    if (!session) return
    this.sessions.delete(k)
    for (const socket of session.sockets) socket.destroy()
  }
}

// Keyed by a hash: the map never holds a usable token, and lookups cannot leak one by timing.
function key(token: string): string {
  return sha256(token).toString('base64url')
}
