// Plain words for Perspt's escalation categories and rewrite actions (shared/spec/perspt-store.md, "value
// vocabularies"): the one mapping used by the session failure line, the Now page, the decision timeline
// and the grouped decision view. The stored word stays available as detail ("retry with the evidence
// (grounded_retry)") but is never the only thing a person reads.

/** `escalation_reports.category`, `rewrite_records.category`, `review_outcomes.escalation_category`. */
export const ESCALATION_CATEGORY_WORDS: Readonly<Record<string, string>> = {
  implementation_error: 'implementation error',
  contract_mismatch: 'contract mismatch',
  insufficient_model_capability: 'model not capable enough',
  degraded_sensors: 'checks degraded',
  topology_mismatch: 'topology mismatch'
}

/** The key of a `RewriteAction` JSON (the `action` column of escalation and rewrite records). */
export const REWRITE_ACTION_WORDS: Readonly<Record<string, string>> = {
  grounded_retry: 'retry with the evidence',
  contract_repair: 'repair the contract',
  capability_promotion: 'use a more capable model',
  sensor_recovery: 'recover the checks',
  degraded_validation_stop: 'stop, checks were degraded',
  node_split: 'split the node',
  interface_insertion: 'insert an interface node',
  subgraph_replan: 'replan part of the graph',
  user_escalation: 'ask the user'
}

/** A stored word the tables do not know, made readable: "foo_bar" → "foo bar". */
export const plainWords = (wire: string): string => wire.replace(/_/g, ' ').trim()

const lookup = (table: Readonly<Record<string, string>>, wire: string | null | undefined): string | null => {
  if (wire === null || wire === undefined || wire.trim() === '') return null
  const k = wire.trim()
  return table[k] ?? table[k.toLowerCase()] ?? plainWords(k)
}

/** "topology mismatch" for topology_mismatch; null for an empty word. */
export const escalationCategoryWords = (wire: string | null | undefined): string | null => lookup(ESCALATION_CATEGORY_WORDS, wire)

/** "retry with the evidence" for grounded_retry; null for an empty word. */
export const rewriteActionWords = (wire: string | null | undefined): string | null => lookup(REWRITE_ACTION_WORDS, wire)

/** "Topology mismatch → retry with the evidence": an escalation in one phrase (`sentence`: capitalised). */
export function escalationPhrase(category: string | null | undefined, action: string | null | undefined, sentence = true): string | null {
  const parts = [escalationCategoryWords(category), rewriteActionWords(action)].filter((p): p is string => p !== null)
  if (parts.length === 0) return null
  const s = parts.join(' → ')
  return sentence ? s.charAt(0).toUpperCase() + s.slice(1) : s
}

/** "Escalated at task_3: topology mismatch → retry with the evidence · tests fail": why a session stopped, in one line. */
export function escalationReason(category: string | null | undefined, action: string | null | undefined, nodeId: string | null | undefined, evidence: string | null | undefined): string {
  const phrase = escalationPhrase(category, action, false)
  const where = nodeId ? ` at ${nodeId}` : ''
  const ev = evidence && evidence.trim() !== '' ? evidence : null
  return `Escalated${where}${phrase || ev ? ': ' : ''}${phrase ?? ''}${phrase && ev ? ' · ' : ''}${ev ?? ''}`
}
