// Plain words for Perspt's record types (its store's tables, shared/spec/perspt-store.md). Users read these;
// the raw table names appear only inside an explicit "raw records" disclosure.

export interface RecordKind {
  /** Plural, sentence case: "Agent steps". */
  label: string
  /** One line on what a record of this kind is. */
  about: string
}

export const RECORD_KINDS: Readonly<Record<string, RecordKind>> = {
  sessions: { label: 'Sessions', about: 'One row per run of the agent.' },
  node_states: { label: 'Node state changes', about: 'Each time a node of the plan changed state.' },
  energy_history: { label: 'Verification passes', about: 'Each check of a node’s code, with its energy (lower is better).' },
  llm_requests: { label: 'LLM requests', about: 'Each call to a language model, with tokens and latency.' },
  structural_digests: { label: 'Code structure snapshots', about: 'Summaries of the code a node produced.' },
  context_provenance: { label: 'Context sources', about: 'What each node was shown before it worked.' },
  escalation_reports: { label: 'Escalations', about: 'A node the agent could not finish alone.' },
  rewrite_records: { label: 'Rewrites', about: 'A node rewritten after it failed to converge.' },
  sheaf_validations: { label: 'Consistency checks', about: 'Checks that nodes agree with each other.' },
  provisional_branches: { label: 'Sandbox branches', about: 'Work kept apart until it is verified.' },
  branch_lineage: { label: 'Branch ancestry', about: 'Which sandbox branch grew from which.' },
  interface_seals: { label: 'Sealed interfaces', about: 'Interfaces fixed so other nodes can rely on them.' },
  branch_flushes: { label: 'Discarded branches', about: 'Sandbox branches thrown away.' },
  task_graph_edges: { label: 'Plan dependencies', about: 'Which node waits for which.' },
  review_outcomes: { label: 'Review outcomes', about: 'What a reviewer decided about a node.' },
  verification_results: { label: 'Verification results', about: 'Build, test and lint results per node.' },
  artifact_bundles: { label: 'Output bundles', about: 'Files a node produced, as one bundle.' },
  feature_charters: { label: 'Feature charter', about: 'The scope and limits the session was given.' },
  plan_revisions: { label: 'Plan revisions', about: 'Each time the plan was changed.' },
  repair_footprints: { label: 'Repairs', about: 'What a repair of a failed node touched.' },
  budget_envelopes: { label: 'Budget', about: 'Limits on steps, revisions and cost.' },
  srbn_step_records: { label: 'Agent steps', about: 'Each step the agent took on a node.' },
  correction_attempts: { label: 'Corrections', about: 'Each attempt to correct a failed node.' }
}

/** "Agent steps" for srbn_step_records; an unknown table becomes readable words ("foo_bar" → "Foo bar"). */
export function recordLabel(table: string): string {
  const known = RECORD_KINDS[table]
  if (known) return known.label
  const words = table.replace(/_/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/**
 * "Plan revisions, plan dependencies and escalations": a list of record types in running text
 * (`midSentence`: "plan revisions, …" to follow other words).
 */
export function recordList(tables: readonly string[], midSentence = false): string {
  // "LLM requests" keeps its capitals inside a sentence; "Plan revisions" becomes "plan revisions".
  const lower = (s: string) => (/^[A-Z][a-z]/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s)
  const labels = tables.map((t, i) => (i === 0 && !midSentence ? recordLabel(t) : lower(recordLabel(t))))
  if (labels.length <= 1) return labels.join('')
  return `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`
}

/** How many kinds of records (tables) a current Perspt store keeps. */
export const ALL_RECORD_KINDS = Object.keys(RECORD_KINDS).length
