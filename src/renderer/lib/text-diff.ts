// Line and word diffs for the review editor: what an edit changes in an agent's output, shown before
// it is sent. Longest-common-subsequence based (no dependency): common prefix and suffix are trimmed
// first, so a typical edit compares only the few lines around it; a middle part larger than the cell
// budget is shown as one replaced block (marked approximate) instead of freezing the page.

export type DiffOp = 'equal' | 'insert' | 'delete'

export interface DiffSpan {
  op: DiffOp
  text: string
}

export interface DiffLine {
  op: DiffOp
  /** The line without its line break. */
  text: string
  /** 1-based line number in the original (null for inserted lines). */
  oldNo: number | null
  /** 1-based line number in the edited text (null for deleted lines). */
  newNo: number | null
  /** Word-level changes inside a changed line paired with its counterpart; null when not paired. */
  spans: DiffSpan[] | null
  /** True for the last line of a text that does not end with a line break. */
  noNewline: boolean
}

export interface LineDiff {
  lines: DiffLine[]
  added: number
  removed: number
  identical: boolean
  /** True when the changed middle part was too large to align line by line. */
  approximate: boolean
}

export type DiffHunk =
  | { kind: 'lines'; lines: DiffLine[] }
  /** Unchanged lines left out; `oldStart`/`newStart` are the first skipped line numbers. */
  | { kind: 'skip'; count: number; oldStart: number; newStart: number }

export interface DiffOptions {
  /** Largest LCS table (rows × columns) computed before falling back to a block replace. */
  maxCells?: number
  /** Longest line (characters) whose words are compared with its counterpart. */
  maxWordLine?: number
}

export const DEFAULT_MAX_CELLS = 4_000_000
const DEFAULT_MAX_WORD_LINE = 4_000
/** Below this share of unchanged characters a pair of lines is shown as replaced, not word by word. */
const MIN_WORD_SIMILARITY = 0.3

export interface EditStep {
  op: DiffOp
  /** Index in `a` (equal, delete). */
  a: number
  /** Index in `b` (equal, insert). */
  b: number
}

/**
 * The edit script turning `a` into `b`: equal / delete / insert steps in order, deletions before
 * insertions within a change. `approximate` when the middle part exceeded `maxCells`.
 */
export function diffSequences<T>(
  a: readonly T[],
  b: readonly T[],
  maxCells: number = DEFAULT_MAX_CELLS
): { steps: EditStep[]; approximate: boolean } {
  const steps: EditStep[] = []
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) {
    steps.push({ op: 'equal', a: start, b: start })
    start++
  }
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const n = endA - start
  const m = endB - start
  let approximate = false
  if (n > 0 && m > 0 && (n + 1) * (m + 1) > maxCells) {
    approximate = true
    for (let i = start; i < endA; i++) steps.push({ op: 'delete', a: i, b: -1 })
    for (let j = start; j < endB; j++) steps.push({ op: 'insert', a: -1, b: j })
  } else if (n > 0 && m > 0) {
    // lengths[i][j] = LCS length of a[start+i..endA) and b[start+j..endB), walked forwards.
    const width = m + 1
    const lengths = new Uint32Array((n + 1) * width)
    for (let i = n - 1; i >= 0; i--) {
      const ai = a[start + i]
      for (let j = m - 1; j >= 0; j--) {
        lengths[i * width + j] =
          ai === b[start + j]
            ? lengths[(i + 1) * width + j + 1]! + 1
            : Math.max(lengths[(i + 1) * width + j]!, lengths[i * width + j + 1]!)
      }
    }
    let i = 0
    let j = 0
    while (i < n && j < m) {
      if (a[start + i] === b[start + j]) {
        steps.push({ op: 'equal', a: start + i, b: start + j })
        i++
        j++
      } else if (lengths[(i + 1) * width + j]! >= lengths[i * width + j + 1]!) {
        steps.push({ op: 'delete', a: start + i, b: -1 })
        i++
      } else {
        steps.push({ op: 'insert', a: -1, b: start + j })
        j++
      }
    }
    for (; i < n; i++) steps.push({ op: 'delete', a: start + i, b: -1 })
    for (; j < m; j++) steps.push({ op: 'insert', a: -1, b: start + j })
    sortDeletesFirst(steps)
  } else {
    for (let i = start; i < endA; i++) steps.push({ op: 'delete', a: i, b: -1 })
    for (let j = start; j < endB; j++) steps.push({ op: 'insert', a: -1, b: j })
  }
  for (let k = 0; k < a.length - endA; k++) steps.push({ op: 'equal', a: endA + k, b: endB + k })
  return { steps, approximate }
}

/** Within each run of changes (between two equal steps), deletions first, then insertions. */
function sortDeletesFirst(steps: EditStep[]): void {
  let k = 0
  while (k < steps.length) {
    if (steps[k]!.op === 'equal') {
      k++
      continue
    }
    let end = k
    while (end < steps.length && steps[end]!.op !== 'equal') end++
    const run = steps.slice(k, end)
    const sorted = [...run.filter((s) => s.op === 'delete'), ...run.filter((s) => s.op === 'insert')]
    for (let x = 0; x < sorted.length; x++) steps[k + x] = sorted[x]!
    k = end
  }
}

/** Lines without their breaks; "" has no lines; a final break does not open an empty line. */
export function splitLines(text: string): { lines: string[]; endsWithNewline: boolean } {
  if (text === '') return { lines: [], endsWithNewline: false }
  const lines = text.split('\n')
  const endsWithNewline = lines.at(-1) === ''
  if (endsWithNewline) lines.pop()
  return { lines, endsWithNewline }
}

/** Words, runs of whitespace and single other characters; joined they give back the text. */
export function tokenize(text: string): string[] {
  return text.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? []
}

/** Word-level diff of two strings, adjacent spans of the same kind merged. */
export function diffWords(a: string, b: string, maxCells: number = DEFAULT_MAX_CELLS): DiffSpan[] {
  const ta = tokenize(a)
  const tb = tokenize(b)
  const { steps } = diffSequences(ta, tb, maxCells)
  const spans: DiffSpan[] = []
  for (const s of steps) {
    const text = s.op === 'insert' ? tb[s.b]! : ta[s.a]!
    const last = spans.at(-1)
    if (last && last.op === s.op) last.text += text
    else spans.push({ op: s.op, text })
  }
  return spans
}

/** Line diff of an original and an edited text, with word-level spans for paired changed lines. */
export function diffLines(original: string, edited: string, opts: DiffOptions = {}): LineDiff {
  const maxCells = opts.maxCells ?? DEFAULT_MAX_CELLS
  const maxWordLine = opts.maxWordLine ?? DEFAULT_MAX_WORD_LINE
  const a = splitLines(original)
  const b = splitLines(edited)
  // A last line without a break differs from the same text with one.
  const keys = (side: { lines: string[]; endsWithNewline: boolean }) =>
    side.endsWithNewline || side.lines.length === 0 ? side.lines : [...side.lines.slice(0, -1), `${side.lines.at(-1)}\u0000`]
  const ka = keys(a)
  const kb = keys(b)
  const { steps, approximate } = diffSequences(ka, kb, maxCells)

  const lines: DiffLine[] = []
  let added = 0
  let removed = 0
  const noEolA = (i: number) => i === a.lines.length - 1 && !a.endsWithNewline
  const noEolB = (j: number) => j === b.lines.length - 1 && !b.endsWithNewline
  for (const s of steps) {
    if (s.op === 'equal') {
      lines.push({ op: 'equal', text: b.lines[s.b]!, oldNo: s.a + 1, newNo: s.b + 1, spans: null, noNewline: noEolB(s.b) })
    } else if (s.op === 'delete') {
      removed++
      lines.push({ op: 'delete', text: a.lines[s.a]!, oldNo: s.a + 1, newNo: null, spans: null, noNewline: noEolA(s.a) })
    } else {
      added++
      lines.push({ op: 'insert', text: b.lines[s.b]!, oldNo: null, newNo: s.b + 1, spans: null, noNewline: noEolB(s.b) })
    }
  }
  if (!approximate) pairChangedLines(lines, maxCells, maxWordLine)
  return { lines, added, removed, identical: original === edited, approximate }
}

/** Gives the k-th deleted and k-th inserted line of each change block their word-level spans. */
function pairChangedLines(lines: DiffLine[], maxCells: number, maxWordLine: number): void {
  let k = 0
  while (k < lines.length) {
    if (lines[k]!.op === 'equal') {
      k++
      continue
    }
    let end = k
    while (end < lines.length && lines[end]!.op !== 'equal') end++
    const deleted = lines.slice(k, end).filter((l) => l.op === 'delete')
    const inserted = lines.slice(k, end).filter((l) => l.op === 'insert')
    const pairs = Math.min(deleted.length, inserted.length)
    for (let p = 0; p < pairs; p++) {
      const del = deleted[p]!
      const ins = inserted[p]!
      if (del.text.length > maxWordLine || ins.text.length > maxWordLine) continue
      const spans = diffWords(del.text, ins.text, maxCells)
      const same = spans.filter((s) => s.op === 'equal').reduce((n, s) => n + s.text.length, 0)
      const longest = Math.max(del.text.length, ins.text.length)
      if (longest > 0 && same / longest < MIN_WORD_SIMILARITY) continue
      del.spans = spans.filter((s) => s.op !== 'insert')
      ins.spans = spans.filter((s) => s.op !== 'delete')
    }
    k = end
  }
}

/** Changed lines with `context` unchanged lines around them; longer unchanged runs are skipped. */
export function toHunks(lines: readonly DiffLine[], context = 3): DiffHunk[] {
  const hunks: DiffHunk[] = []
  let current: DiffLine[] = []
  const flush = () => {
    if (current.length > 0) hunks.push({ kind: 'lines', lines: current })
    current = []
  }
  let k = 0
  while (k < lines.length) {
    if (lines[k]!.op !== 'equal') {
      current.push(lines[k]!)
      k++
      continue
    }
    let end = k
    while (end < lines.length && lines[end]!.op === 'equal') end++
    const run = lines.slice(k, end)
    const keepBefore = k === 0 ? 0 : context
    const keepAfter = end === lines.length ? 0 : context
    if (run.length <= keepBefore + keepAfter + 1) {
      current.push(...run)
    } else {
      current.push(...run.slice(0, keepBefore))
      flush()
      const first = run[keepBefore]!
      hunks.push({ kind: 'skip', count: run.length - keepBefore - keepAfter, oldStart: first.oldNo ?? 0, newStart: first.newNo ?? 0 })
      current.push(...run.slice(run.length - keepAfter))
    }
    k = end
  }
  flush()
  return hunks
}
