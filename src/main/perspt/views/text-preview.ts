// Short previews of long texts (prompts, responses, evidence), shared by every Perspt view.
import { previewGraphemes } from '../../../shared/graphemes'

/**
 * At most `max` graphemes of `text`, cut on a grapheme boundary (Intl.Segmenter): never inside a
 * ZWJ emoji, a flag, a letter with its combining marks or a surrogate pair. Whitespace runs
 * collapse to one space; a cut text ends with "…" (counted in `max`). Only a bounded head of
 * `text` is read, however long it is.
 */
export function preview(text: string, max = 160): string {
  return previewGraphemes(text, max)
}
