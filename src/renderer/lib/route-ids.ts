// Ids inside hash routes. Any id Perspt stored must round-trip through a route, so every listed
// session opens: '' included, 240-character ids, and "/", "?", "#", "%", "~" or any Unicode.

/** An id as one route segment: '' is "~", an id starting with "~" gets one more, then percent-encoding. */
export function encodeIdSegment(id: string): string {
  return encodeURIComponent(id === '' || id.startsWith('~') ? `~${id}` : id)
}

/** The inverse of encodeIdSegment, applied to an already percent-decoded segment. */
export function decodeIdSegment(segment: string): string {
  return segment.startsWith('~') ? segment.slice(1) : segment
}
