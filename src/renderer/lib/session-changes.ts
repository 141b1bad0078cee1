// Which sessions of a store changed, folded from `store-updated` pushes: a session's views refetch only
// when a push names it (or any may have changed), never for another session's activity.

export interface SessionChanges {
  last: number
  all: number
  sessions: Readonly<Record<string, number>>
}

/** Sessions remembered per store before everything counts as changed once (the map stays bounded). */
const MAX_TRACKED_SESSIONS = 2_000

/** One push folded in: a missed or older version (a re-added store) counts as "any session changed". */
export function nextSessionChanges(before: SessionChanges | undefined, version: number, sessions: readonly string[] | null): SessionChanges {
  const missed = before === undefined || version !== before.last + 1
  if (sessions === null || missed || Object.keys(before.sessions).length + sessions.length > MAX_TRACKED_SESSIONS) {
    return { last: version, all: version, sessions: {} }
  }
  const named: Record<string, number> = { ...before.sessions }
  for (const sid of sessions) named[sid] = version
  return { last: version, all: before.all, sessions: named }
}

/** The version a session's views show: the last that named it, or changed any session. */
export function sessionVersionOf(changes: SessionChanges, sessionId: string): number {
  return Math.max(changes.all, changes.sessions[sessionId] ?? 0)
}
