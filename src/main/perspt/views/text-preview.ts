// Short previews of long texts (prompts, responses, evidence), shared by every Perspt view.

/**
 * At most `max` characters of `text`, cut on a character boundary: never inside a surrogate pair
 * (so never inside a UTF-8 sequence once encoded). Whitespace runs collapse to one space; a cut
 * text ends with "…" (counted in `max`).
 */
export function preview(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  if (max <= 0) return ''
  const chars = Array.from(flat)
  if (chars.length <= max) return flat
  return `${chars.slice(0, Math.max(0, max - 1)).join('').trimEnd()}…`
}
