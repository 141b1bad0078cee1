import { describe, expect, it } from 'vitest'
import { EVENT_TYPE_LABELS, eventTypeLabel } from '../../../src/shared/model/event-labels'
import { SERVER_MESSAGE_TYPES } from '../../../src/shared/protocol/agentensemble'

describe('AgentEnsemble event labels', () => {
  it('has a plain label for every message type the protocol knows', () => {
    expect(SERVER_MESSAGE_TYPES.length).toBeGreaterThan(20)
    for (const type of [...SERVER_MESSAGE_TYPES, 'review_decision']) {
      const label = (EVENT_TYPE_LABELS as Record<string, string>)[type]
      expect(label, type).toBeDefined()
      // Words, not wire: no underscores, starts with a capital, differs from the wire word.
      expect(label).not.toMatch(/_/)
      expect(label).toMatch(/^[A-Z]/)
      expect(label).not.toBe(type)
    }
  })

  it('reads known and unknown types', () => {
    expect(eventTypeLabel('llm_iteration_started')).toBe('LLM call started')
    expect(eventTypeLabel('task_input')).toBe('Task input')
    expect(eventTypeLabel('some_new_thing')).toBe('Some new thing')
    expect(eventTypeLabel('')).toBe('Event')
  })
})
