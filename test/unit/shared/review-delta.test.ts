import { describe, expect, it } from 'vitest'
import {
  applyReviewsDelta,
  boundReviewsState,
  cutGateTexts,
  cutText,
  LISTED_TEXT_BUDGET_CHARS,
  MIN_LISTED_TEXT_CHARS,
  resyncDelta,
  ReviewChanges,
  SHORT_TEXT_CHARS,
  withWholeTexts,
  type ReviewsSnapshot
} from '../../../src/shared/model/review-delta'
import { PENDING_TEXT_CHARS, RECENT_TEXT_CHARS, type ReviewGate } from '../../../src/shared/model/reviews'

function gate(id: string, partial: Partial<ReviewGate> = {}): ReviewGate {
  return {
    id,
    reviewId: id,
    source: { kind: 'api', sourceId: 'api', producerId: null, label: 'Review API' },
    runId: null,
    requiredRole: null,
    taskDescription: `Task ${id}`,
    taskOutput: `Output ${id}`,
    timing: 'AFTER_EXECUTION',
    prompt: null,
    timeoutMs: 0,
    onTimeout: 'CONTINUE',
    createdAt: '2026-12-04T10:00:00.000Z',
    expiresAt: null,
    status: 'pending',
    connected: true,
    outcome: null,
    ...partial
  }
}

function decided(g: ReviewGate, revisedOutput: string | null = null): ReviewGate {
  return {
    ...g,
    status: 'decided',
    outcome: { decision: 'CONTINUE', revisedOutput, surface: 'api', decidedBy: null, decidedAt: '2026-12-04T10:01:00.000Z', timeToDecisionMs: 60_000, delivered: true, note: null }
  }
}

const EMPTY: ReviewsSnapshot = { pending: [], recent: [], doNotDisturb: false, historyPersisted: true, seq: 0 }

describe('cutting a gate for a push', () => {
  it('cuts description, output, prompt and revised output to the limit, and short texts to SHORT_TEXT_CHARS', () => {
    const big = 'x'.repeat(50_000)
    const g = decided(gate('a', { taskDescription: big, taskOutput: big, prompt: big, requiredRole: big, source: { kind: 'api', sourceId: 'api', producerId: null, label: big } }), big)
    const cut = cutGateTexts(g, 100)
    expect(cut.taskDescription).toHaveLength(100)
    expect(cut.taskOutput).toHaveLength(100)
    expect(cut.prompt).toHaveLength(100)
    expect(cut.outcome?.revisedOutput).toHaveLength(100)
    expect(cut.requiredRole).toHaveLength(SHORT_TEXT_CHARS)
    expect(cut.source.label).toHaveLength(SHORT_TEXT_CHARS)
    expect(cut.truncated).toBe(true)
    // The original is untouched.
    expect(g.taskDescription).toHaveLength(50_000)
    expect(g.outcome?.revisedOutput).toHaveLength(50_000)
    expect(g.truncated).toBeUndefined()
  })

  it('leaves short gates whole and unmarked, and keeps a mark set earlier', () => {
    const g = gate('a', { prompt: 'Check the tone' })
    expect(cutGateTexts(g, 100)).toEqual(g)
    expect(cutGateTexts(g, 100).truncated).toBeUndefined()
    expect(cutGateTexts({ ...g, truncated: true }, 100).truncated).toBe(true)
  })

  it('never splits a surrogate pair', () => {
    expect(cutText('ab😀cd', 3)).toBe('ab')
    expect(cutText('ab😀cd', 4)).toBe('ab😀')
    expect(cutText('abc', 3)).toBe('abc')
  })
})

describe('merging one turn of changes', () => {
  it('a gate raised then changed in one turn is one added gate, in its latest shape', () => {
    const changes = new ReviewChanges()
    changes.note({ type: 'raised', gate: gate('a') })
    changes.note({ type: 'updated', gate: gate('a', { connected: false }) })
    const d = changes.toDelta(1, { pendingChars: PENDING_TEXT_CHARS, recentChars: RECENT_TEXT_CHARS })
    expect(d).toEqual({ seq: 1, added: [gate('a', { connected: false })], changed: [], removed: [] })
  })

  it('a gate raised and resolved in one turn is removed (a snapshot in between may hold it) and is new in recent', () => {
    const changes = new ReviewChanges()
    changes.note({ type: 'raised', gate: gate('a') })
    changes.note({ type: 'resolved', gate: decided(gate('a')) })
    changes.note({ type: 'updated', gate: decided(gate('a')) })
    expect(changes.recentChanged).toBe(true)
    const d = changes.toDelta(4, { pendingChars: 10, recentChars: 10, recent: [decided(gate('a'))], knownRecent: new Set() })
    expect(d.added).toEqual([])
    expect(d.changed).toEqual([])
    expect(d.removed).toEqual(['a'])
    expect(d.recent).toEqual({ ids: ['a'], added: [decided(gate('a'))] })
  })

  it('an id resolved and raised again in one turn ends pending', () => {
    const changes = new ReviewChanges()
    changes.note({ type: 'resolved', gate: decided(gate('a')) })
    changes.note({ type: 'raised', gate: gate('a', { taskDescription: 'again' }) })
    const d = changes.toDelta(2, { pendingChars: 100, recentChars: 100 })
    expect(d.removed).toEqual([])
    expect(d.added.map((g) => g.taskDescription)).toEqual(['again'])
  })

  it('recent carries every id but only the gates windows do not have yet, cut to the recent limit', () => {
    const changes = new ReviewChanges()
    changes.note({ type: 'resolved', gate: decided(gate('c')) })
    const recent = [decided(gate('c', { taskOutput: 'o'.repeat(5000) })), decided(gate('b')), decided(gate('a'))]
    const d = changes.toDelta(7, { pendingChars: PENDING_TEXT_CHARS, recentChars: RECENT_TEXT_CHARS, recent, knownRecent: new Set(['a', 'b']) })
    expect(d.recent?.ids).toEqual(['c', 'b', 'a'])
    expect(d.recent?.added.map((g) => g.id)).toEqual(['c'])
    expect(d.recent?.added[0]?.taskOutput).toHaveLength(RECENT_TEXT_CHARS)
    expect(d.removed).toEqual(['c'])
  })

  it('is empty until something happens; a settings switch alone is not empty', () => {
    const changes = new ReviewChanges()
    expect(changes.isEmpty).toBe(true)
    changes.note({ type: 'settings' })
    expect(changes.isEmpty).toBe(false)
    expect(changes.settingsChanged).toBe(true)
  })
})

describe('applying a delta', () => {
  it('removes, adds and replaces pending gates, ordered by deadline, and takes the switches', () => {
    const soon = gate('soon', { expiresAt: '2026-12-04T10:05:00.000Z' })
    const later = gate('later', { expiresAt: '2026-12-04T11:00:00.000Z' })
    const never = gate('never')
    const state: ReviewsSnapshot = { ...EMPTY, pending: [later, never, gate('gone')], seq: 3 }
    const next = applyReviewsDelta(state, {
      seq: 4,
      added: [soon],
      changed: [{ ...never, connected: false }],
      removed: ['gone', 'unknown'],
      doNotDisturb: true
    })
    expect(next?.pending.map((g) => g.id)).toEqual(['soon', 'later', 'never'])
    expect(next?.pending[2]?.connected).toBe(false)
    expect(next?.seq).toBe(4)
    expect(next?.doNotDisturb).toBe(true)
    expect(next?.historyPersisted).toBe(true)
    expect(state.pending.map((g) => g.id)).toEqual(['later', 'never', 'gone'])
  })

  it('is idempotent: a delta whose changes a snapshot already holds changes nothing', () => {
    const a = gate('a')
    const state: ReviewsSnapshot = { ...EMPTY, pending: [a], recent: [decided(gate('b'))], seq: 5 }
    const next = applyReviewsDelta(state, { seq: 6, added: [a], changed: [], removed: ['b'], recent: { ids: ['b'], added: [decided(gate('b'))] } })
    expect(next?.pending).toEqual([a])
    expect(next?.recent).toEqual([decided(gate('b'))])
  })

  it('keeps the identity of lists it does not touch (a $state.raw list is not replaced for nothing)', () => {
    const state: ReviewsSnapshot = { ...EMPTY, pending: [gate('a')], recent: [decided(gate('b'))], seq: 1 }
    const next = applyReviewsDelta(state, { seq: 2, added: [], changed: [], removed: [], doNotDisturb: true })
    expect(next?.pending).toBe(state.pending)
    expect(next?.recent).toBe(state.recent)
  })

  it('rebuilds the decided list from the ids, newest first, dropping what fell off the end', () => {
    const state: ReviewsSnapshot = { ...EMPTY, recent: [decided(gate('b')), decided(gate('a'))], seq: 1 }
    const next = applyReviewsDelta(state, { seq: 2, added: [], changed: [], removed: ['c'], recent: { ids: ['c', 'b'], added: [decided(gate('c'))] } })
    expect(next?.recent.map((g) => g.id)).toEqual(['c', 'b'])
  })

  it('asks for a refetch on a resync marker or a decided gate it does not have', () => {
    expect(applyReviewsDelta(EMPTY, resyncDelta(1))).toBeNull()
    expect(applyReviewsDelta(EMPTY, { seq: 1, added: [], changed: [], removed: [], recent: { ids: ['x'], added: [] } })).toBeNull()
  })
})

describe('the listed state', () => {
  it('cuts every text and carries the seq', () => {
    const big = 'y'.repeat(PENDING_TEXT_CHARS * 3)
    const s = boundReviewsState({ pending: [gate('a', { taskDescription: big, prompt: big })], recent: [decided(gate('b', { taskDescription: big }))], doNotDisturb: true, historyPersisted: false }, 9)
    expect(s.seq).toBe(9)
    expect(s.pending[0]?.taskDescription).toHaveLength(PENDING_TEXT_CHARS)
    expect(s.pending[0]?.prompt).toHaveLength(PENDING_TEXT_CHARS)
    expect(s.recent[0]?.taskDescription).toHaveLength(RECENT_TEXT_CHARS)
    expect(s).toMatchObject({ doNotDisturb: true, historyPersisted: false })
  })

  it('cuts shorter when many gates wait, so the long texts together stay within the budget', () => {
    const big = 'z'.repeat(PENDING_TEXT_CHARS)
    const pending = Array.from({ length: 2000 }, (_, i) => gate(`g${i}`, { taskDescription: big, taskOutput: big, prompt: big }))
    const s = boundReviewsState({ pending, recent: [], doNotDisturb: false, historyPersisted: true }, 0)
    const chars = s.pending.reduce((n, g) => n + g.taskDescription.length + g.taskOutput.length + (g.prompt?.length ?? 0), 0)
    expect(chars).toBeLessThanOrEqual(LISTED_TEXT_BUDGET_CHARS)
    expect(s.pending[0]?.taskOutput.length).toBeGreaterThanOrEqual(MIN_LISTED_TEXT_CHARS)
    expect(s.pending.every((g) => g.truncated)).toBe(true)
  })
})

describe('a pushed gate with its whole texts', () => {
  it('takes texts from the fetched gate and status from the push', () => {
    const whole = gate('a', { taskDescription: 'D'.repeat(20_000), taskOutput: 'O'.repeat(20_000), prompt: 'P'.repeat(20_000) })
    const live = cutGateTexts({ ...decided(whole, 'R'.repeat(30_000)), connected: false }, 100)
    const merged = withWholeTexts(live, decided(whole, 'R'.repeat(30_000)))
    expect(merged.taskDescription).toHaveLength(20_000)
    expect(merged.prompt).toHaveLength(20_000)
    expect(merged.outcome?.revisedOutput).toHaveLength(30_000)
    expect(merged.connected).toBe(false)
    expect(merged.truncated).toBeUndefined()
  })

  it('stays marked cut when the fetched copy is older than the outcome the push shows', () => {
    const whole = gate('a', { taskOutput: 'O'.repeat(20_000) })
    const live = cutGateTexts(decided(whole, 'R'.repeat(30_000)), 100)
    const merged = withWholeTexts(live, whole)
    expect(merged.taskOutput).toHaveLength(20_000)
    expect(merged.status).toBe('decided')
    expect(merged.truncated).toBe(true)
  })
})
