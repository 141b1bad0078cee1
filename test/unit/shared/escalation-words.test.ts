import { describe, expect, it } from 'vitest'
import { ESCALATION_CATEGORY_WORDS, REWRITE_ACTION_WORDS, escalationPhrase, escalationReason, rewriteActionWords } from '../../../src/shared/model/escalation-words'

// The words Perspt writes: the value-vocabularies rows of shared/spec/perspt-store.md, copied verbatim
// (CI clones this repository alone, without the spec folder beside it).
const SPEC_ROWS = [
  '| `escalation_reports.category`, `rewrite_records.category` | `implementation_error`, `contract_mismatch`, `insufficient_model_capability`, `degraded_sensors`, `topology_mismatch` | — |',
  '| `RewriteAction` JSON key (in `action`) | `grounded_retry`, `contract_repair`, `capability_promotion`, `sensor_recovery`, `degraded_validation_stop`, `node_split`, `interface_insertion`, `subgraph_replan`, `user_escalation` | — |'
]
function specValues(rowStart: string): string[] {
  const line = SPEC_ROWS.find((l) => l.startsWith(rowStart))
  if (!line) throw new Error(`spec row ${rowStart} not found`)
  const cells = line.split('|')
  return [...(cells[2] ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string)
}

describe('escalation words', () => {
  it('has plain words for every escalation category Perspt writes', () => {
    const categories = specValues('| `escalation_reports.category`')
    expect(categories.length).toBeGreaterThanOrEqual(5)
    for (const c of categories) {
      expect(ESCALATION_CATEGORY_WORDS[c], c).toBeDefined()
      expect(ESCALATION_CATEGORY_WORDS[c]).not.toMatch(/_/)
    }
  })

  it('has plain words for every RewriteAction Perspt writes', () => {
    const actions = specValues('| `RewriteAction` JSON key')
    expect(actions.length).toBeGreaterThanOrEqual(9)
    for (const a of actions) {
      expect(REWRITE_ACTION_WORDS[a], a).toBeDefined()
      expect(REWRITE_ACTION_WORDS[a]).not.toMatch(/_/)
    }
  })

  it('says an escalation in words, and makes unknown words readable', () => {
    expect(escalationPhrase('topology_mismatch', 'grounded_retry')).toBe('Topology mismatch → retry with the evidence')
    expect(escalationPhrase(null, 'node_split')).toBe('Split the node')
    expect(escalationPhrase('', null)).toBeNull()
    expect(rewriteActionWords('brand_new_action')).toBe('brand new action')
    expect(escalationReason('topology_mismatch', 'grounded_retry', 'task_3', 'tests fail')).toBe(
      'Escalated at task_3: topology mismatch → retry with the evidence · tests fail'
    )
    expect(escalationReason(null, null, 'n2', 'cannot unify')).toBe('Escalated at n2: cannot unify')
    expect(escalationReason(null, null, null, null)).toBe('Escalated')
  })
})
