// Plain words for every kind of Perspt record: a table Perspt adds without a label here fails this test.
import { describe, expect, it } from 'vitest'
import { ALL_PERSPT_TABLES } from '../../../src/main/perspt/schema'
import { ALL_RECORD_KINDS, RECORD_KINDS, recordLabel, recordList } from '../../../src/shared/model/record-labels'

describe('record labels', () => {
  it('names every table Perspt has ever created in words, never by its table name', () => {
    for (const table of ALL_PERSPT_TABLES) {
      expect(RECORD_KINDS[table], table).toBeDefined()
      expect(recordLabel(table), table).not.toMatch(/_/)
      expect(RECORD_KINDS[table]!.about, table).toMatch(/\.$/)
    }
    expect(ALL_RECORD_KINDS).toBe(ALL_PERSPT_TABLES.length)
  })

  it('keeps an unknown table readable', () => {
    expect(recordLabel('new_kind_of_thing')).toBe('New kind of thing')
  })

  it('lists record types in running text, keeping capitals that are part of a name', () => {
    expect(recordList([])).toBe('')
    expect(recordList(['srbn_step_records'])).toBe('Agent steps')
    expect(recordList(['plan_revisions', 'llm_requests', 'escalation_reports'])).toBe('Plan revisions, LLM requests and escalations')
    expect(recordList(['plan_revisions', 'task_graph_edges'], true)).toBe('plan revisions and plan dependencies')
  })
})
