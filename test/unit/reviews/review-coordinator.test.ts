import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../../src/shared/api/errors'
import { formatInstant, type DashboardMessage, type ReviewRequestedMessage, type ServerMessage } from '../../../src/shared/protocol/agentensemble'
import { ReviewCoordinator, type ReviewGateEvent } from '../../../src/main/reviews/review-coordinator'
import { PENDING_TEXT_CHARS } from '../../../src/shared/model/reviews'

const T0 = Date.parse('2026-11-22T10:00:00.000Z')

interface Sent {
  to: 'attachment' | 'hub'
  sourceId?: string
  reviewId: string
  decision?: string
  revisedOutput?: string
  json?: string
}

function setup(opts: { reachable?: boolean } = {}) {
  const sent: Sent[] = []
  let reachable = opts.reachable ?? true
  const events: ReviewGateEvent[] = []
  const c = new ReviewCoordinator({
    delivery: {
      toAttachment: (sourceId, reviewId, decision, revisedOutput) => {
        if (!reachable) return false
        sent.push({ to: 'attachment', sourceId, reviewId, decision, revisedOutput })
        return true
      },
      toHubProducer: (reviewId, json) => {
        if (!reachable) return false
        sent.push({ to: 'hub', reviewId, json })
        return true
      }
    },
    labelOf: (id) => (id === 'attach-1' ? 'Agent box' : undefined),
    runIdOf: (sourceId, producerId) => `${sourceId}:${producerId ?? '-'}:run`
  })
  c.onEvent((e) => events.push(e))
  return { c, sent, events, setReachable: (r: boolean) => (reachable = r) }
}

function request(reviewId: string, extra: Partial<ReviewRequestedMessage> = {}): ReviewRequestedMessage {
  return {
    type: 'review_requested',
    reviewId,
    taskDescription: 'Draft the summary',
    taskOutput: 'Output text',
    timing: 'AFTER_EXECUTION',
    timeoutMs: 60_000,
    onTimeout: 'EXIT_EARLY',
    ...extra
  }
}

const at = (ms: number) => formatInstant(T0 + ms)

function errorOf(fn: () => unknown): ApiError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected an ApiError')
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('ReviewCoordinator: API gates', () => {
  it('creates a pending gate with a server-side deadline and decides it once', () => {
    const { c, events } = setup()
    const gate = c.create({ taskDescription: 'Ship it?', taskOutput: 'v1', timeoutMs: 30_000, onTimeout: 'CONTINUE', source: 'deploy-bot' })
    expect(gate).toMatchObject({ status: 'pending', reviewId: gate.id, source: { kind: 'api', label: 'deploy-bot' }, expiresAt: at(30_000), createdAt: at(0) })
    expect(c.state().pending.map((g) => g.id)).toEqual([gate.id])
    vi.advanceTimersByTime(1500)
    const decided = c.decide(gate.id, { decision: ' approve ', surface: 'api', decidedBy: 'ana' })
    expect(decided.status).toBe('decided')
    expect(decided.outcome).toMatchObject({ decision: 'CONTINUE', surface: 'api', decidedBy: 'ana', delivered: true, timeToDecisionMs: 1500, decidedAt: at(1500) })
    expect(c.state().pending).toEqual([])
    expect(c.state().recent[0]?.id).toBe(gate.id)
    expect(events.map((e) => e.type)).toEqual(['raised', 'resolved'])

    const second = errorOf(() => c.decide(gate.id, { decision: 'EXIT_EARLY', surface: 'desktop-inbox' }))
    expect(second.code).toBe('conflict')
    expect(second.message).toContain('already decided (CONTINUE via api by ana)')
    expect(c.get(gate.id).outcome?.decision).toBe('CONTINUE')
  })

  it('refuses unknown words instead of reading them as exit early, and keeps the gate pending', () => {
    const { c } = setup()
    const gate = c.create({ taskDescription: 'x', taskOutput: 'y', timeoutMs: 0, onTimeout: 'EXIT_EARLY' })
    for (const word of ['exit', 'EXIT EARLY', '', 'yes', 'CONTINUEE']) {
      expect(errorOf(() => c.decide(gate.id, { decision: word, surface: 'api' })).code).toBe('bad-request')
    }
    expect(errorOf(() => c.decide(gate.id, { decision: 'EDIT', surface: 'api' })).message).toContain('revisedOutput')
    expect(c.get(gate.id).status).toBe('pending')
    expect(c.get(gate.id).expiresAt).toBeNull()
  })

  it('a gate only the stored history remembers is still a conflict, not unknown', async () => {
    const { c } = setup()
    const first = c.create({ taskDescription: 'old', taskOutput: '', timeoutMs: 0, onTimeout: 'CONTINUE' })
    c.decide(first.id, { decision: 'EXIT_EARLY', surface: 'api' })
    for (let i = 0; i < 25; i++) {
      const g = c.create({ taskDescription: `n${i}`, taskOutput: '', timeoutMs: 0, onTimeout: 'CONTINUE' })
      c.decide(g.id, { decision: 'CONTINUE', surface: 'api' })
    }
    expect(errorOf(() => c.decide(first.id, { decision: 'CONTINUE', surface: 'api' })).code).toBe('not-found')
    await expect(c.decideOrExplain(first.id, { decision: 'CONTINUE', surface: 'api' })).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('EXIT_EARLY via api') })
    await expect(c.decideOrExplain('never', { decision: 'CONTINUE', surface: 'api' })).rejects.toMatchObject({ code: 'not-found' })
  })

  it('an unknown id is not-found', () => {
    const { c } = setup()
    expect(errorOf(() => c.decide('nope', { decision: 'CONTINUE', surface: 'api' })).code).toBe('not-found')
    expect(errorOf(() => c.get('nope')).code).toBe('not-found')
  })

  it('applies the advertised action at the deadline and wakes waiters', async () => {
    const { c, events } = setup()
    const gate = c.create({ taskDescription: 'x', taskOutput: 'y', timeoutMs: 2000, onTimeout: 'FAIL' })
    const waiting = c.waitFor(gate.id)
    vi.advanceTimersByTime(1999)
    expect(c.get(gate.id).status).toBe('pending')
    vi.advanceTimersByTime(1)
    const done = await waiting
    expect(done).toMatchObject({ status: 'timed-out', outcome: { decision: 'FAIL', surface: 'timeout', timeToDecisionMs: 2000 } })
    expect(events.at(-1)).toMatchObject({ type: 'resolved' })
    expect(errorOf(() => c.decide(gate.id, { decision: 'CONTINUE', surface: 'api' })).message).toContain('timed out (FAIL via timeout)')
  })

  it('a waiter that goes away gets null and does not hold the gate', async () => {
    const { c } = setup()
    const gate = c.create({ taskDescription: 'x', taskOutput: 'y', timeoutMs: 0, onTimeout: 'CONTINUE' })
    const abort = new AbortController()
    const waiting = c.waitFor(gate.id, abort.signal)
    abort.abort()
    expect(await waiting).toBeNull()
    c.decide(gate.id, { decision: 'CONTINUE', surface: 'api' })
    expect(await c.waitFor(gate.id)).toMatchObject({ status: 'decided' })
  })

  it('pushes recent gates with long texts cut (surrogate-safe), and keeps them whole for get()', () => {
    const { c } = setup()
    const long = 'a'.repeat(1999) + '🚀' + 'b'.repeat(5000)
    const gate = c.create({ taskDescription: 'x', taskOutput: long, timeoutMs: 0, onTimeout: 'CONTINUE' })
    c.decide(gate.id, { decision: 'EDIT', revisedOutput: long, surface: 'api' })
    const [recent] = c.state().recent
    expect(recent).toMatchObject({ truncated: true, taskOutput: 'a'.repeat(1999) })
    expect(recent!.outcome!.revisedOutput).toBe('a'.repeat(1999))
    expect(c.get(gate.id).taskOutput).toBe(long)
    expect(c.get(gate.id).outcome?.revisedOutput).toBe(long)
  })

  it('pushes pending gates with outputs over PENDING_TEXT_CHARS cut, marked truncated', () => {
    const { c } = setup()
    const big = c.create({ taskDescription: 'x', taskOutput: 'z'.repeat(PENDING_TEXT_CHARS + 10), timeoutMs: 0, onTimeout: 'CONTINUE' })
    const small = c.create({ taskDescription: 'y', taskOutput: 'short', timeoutMs: 0, onTimeout: 'CONTINUE' })
    const pushed = c.state().pending
    expect(pushed.find((g) => g.id === big.id)).toMatchObject({ truncated: true, taskOutput: 'z'.repeat(PENDING_TEXT_CHARS) })
    expect(pushed.find((g) => g.id === small.id)?.truncated).toBeUndefined()
    expect(c.get(big.id).taskOutput).toHaveLength(PENDING_TEXT_CHARS + 10)
  })

  it('orders pending gates by deadline, gates that wait forever last', () => {
    const { c } = setup()
    const forever = c.create({ taskDescription: 'a', taskOutput: '', timeoutMs: 0, onTimeout: 'CONTINUE' })
    const late = c.create({ taskDescription: 'b', taskOutput: '', timeoutMs: 90_000, onTimeout: 'CONTINUE' })
    const soon = c.create({ taskDescription: 'c', taskOutput: '', timeoutMs: 10_000, onTimeout: 'CONTINUE' })
    expect(c.pending().map((g) => g.id)).toEqual([soon.id, late.id, forever.id])
  })
})

describe('ReviewCoordinator: gates from attached dashboards', () => {
  it('raises a gate from review_requested and sends the decision to that attachment', () => {
    const { c, sent } = setup()
    c.observe('attach-1', null, request('r1'), at(0))
    const [gate] = c.pending()
    expect(gate).toMatchObject({ id: 'r1', reviewId: 'r1', runId: 'attach-1:-:run', source: { kind: 'attachment', sourceId: 'attach-1', label: 'Agent box' }, expiresAt: at(60_000) })
    c.decide('r1', { decision: 'edit', revisedOutput: 'Better', surface: 'browser-inbox' })
    expect(sent).toEqual([{ to: 'attachment', sourceId: 'attach-1', reviewId: 'r1', decision: 'EDIT', revisedOutput: 'Better' }])
  })

  it('a duplicate review_requested (late-join replay) does not raise a second gate', () => {
    const { c } = setup()
    c.observe('attach-1', null, request('r1'), at(0))
    c.observe('attach-1', null, request('r1'), at(10))
    expect(c.pending()).toHaveLength(1)
  })

  it('keeps two sources that reuse a review id apart', () => {
    const { c, sent } = setup()
    c.observe('attach-1', null, request('r1'), at(0))
    c.observe('attach-2', null, request('r1'), at(0))
    const ids = c.pending().map((g) => g.id)
    expect(new Set(ids).size).toBe(2)
    const other = c.pending().find((g) => g.source.sourceId === 'attach-2')!
    expect(other.id).toMatch(/^g-[0-9a-f]{16}$/)
    c.decide(other.id, { decision: 'CONTINUE', surface: 'api' })
    expect(sent).toEqual([{ to: 'attachment', sourceId: 'attach-2', reviewId: 'r1', decision: 'CONTINUE', revisedOutput: undefined }])
  })

  it('never uses an agent id that reads as another route', () => {
    const { c } = setup()
    for (const id of ['history', '..', 'a/b', 'x'.repeat(200)]) c.observe('attach-1', null, request(id), at(0))
    const ids = c.pending().map((g) => g.id)
    expect(ids).toHaveLength(4)
    for (const id of ids) expect(id).toMatch(/^g-[0-9a-f]{16}$/)
  })

  it('sends the advertised action just before the agent\'s own deadline', () => {
    const { c, sent } = setup()
    c.observe('attach-1', null, request('r1', { timeoutMs: 30_000, onTimeout: 'EXIT_EARLY' }), at(0))
    vi.advanceTimersByTime(28_999)
    expect(sent).toEqual([])
    vi.advanceTimersByTime(1)
    expect(sent).toEqual([{ to: 'attachment', sourceId: 'attach-1', reviewId: 'r1', decision: 'EXIT_EARLY', revisedOutput: undefined }])
    expect(c.get('r1')).toMatchObject({ status: 'timed-out', outcome: { decision: 'EXIT_EARLY', surface: 'timeout', delivered: true } })
  })

  it('FAIL cannot be sent: the agent\'s own review_timed_out resolves it, and a different action is called out', () => {
    const { c, sent } = setup()
    c.observe('attach-1', null, request('r1', { timeoutMs: 5000, onTimeout: 'FAIL' }), at(0))
    vi.advanceTimersByTime(5000)
    expect(sent).toEqual([])
    expect(c.get('r1').status).toBe('pending')
    c.observe('attach-1', null, { type: 'review_timed_out', reviewId: 'r1', action: 'CONTINUE' }, at(5100))
    expect(c.get('r1')).toMatchObject({ status: 'timed-out', outcome: { decision: 'CONTINUE', surface: 'agent' } })
    expect(c.get('r1').outcome?.note).toContain('not the advertised FAIL')
  })

  it('with no word from the agent, a FAIL gate is closed a grace period after its deadline', () => {
    const { c } = setup()
    c.observe('attach-1', null, request('r1', { timeoutMs: 5000, onTimeout: 'FAIL' }), at(0))
    vi.advanceTimersByTime(5000 + 4999)
    expect(c.get('r1').status).toBe('pending')
    vi.advanceTimersByTime(1)
    expect(c.get('r1')).toMatchObject({ status: 'timed-out', outcome: { decision: 'FAIL', delivered: false } })
  })

  it('an unreachable agent: the decision is refused as unavailable, the gate stays pending and shows it', () => {
    const { c, setReachable } = setup()
    c.observe('attach-1', null, request('r1'), at(0))
    setReachable(false)
    expect(errorOf(() => c.decide('r1', { decision: 'CONTINUE', surface: 'desktop-inbox' })).code).toBe('unavailable')
    expect(c.get('r1')).toMatchObject({ status: 'pending', connected: false })
    setReachable(true)
    c.syncConnections(() => true)
    expect(c.get('r1').connected).toBe(true)
    expect(c.decide('r1', { decision: 'CONTINUE', surface: 'desktop-inbox' }).status).toBe('decided')
  })

  it('syncConnections marks gates of dropped sources, never API gates', () => {
    const { c } = setup()
    c.observe('attach-1', null, request('r1'), at(0))
    const api = c.create({ taskDescription: 'x', taskOutput: '', timeoutMs: 0, onTimeout: 'CONTINUE' })
    c.syncConnections(() => false)
    expect(c.get('r1').connected).toBe(false)
    expect(c.get(api.id).connected).toBe(true)
  })

  it('closes pending gates of a run that ended: completed means another client let it continue, an error cancels', () => {
    const { c } = setup()
    c.observe('attach-1', null, request('r1'), at(0))
    c.observe('attach-2', null, request('r2'), at(0))
    c.observe('attach-3', null, request('r3'), at(0))
    const end = (exitReason: string): ServerMessage => ({ type: 'ensemble_completed', ensembleId: 'e1', completedAt: at(10), durationMs: 10, exitReason, totalTokens: -1, totalToolCalls: 0 })
    c.observe('attach-1', null, end('COMPLETED'), at(10))
    expect(c.get('r1')).toMatchObject({ status: 'decided', outcome: { decision: 'CONTINUE', surface: 'agent' } })
    c.observe('attach-3', null, end('ERROR'), at(10))
    expect(c.get('r3')).toMatchObject({ status: 'cancelled', outcome: { decision: null, surface: 'agent' } })
    expect(c.get('r2').status).toBe('pending')
  })

  it('ignores what is replayed from the recording', async () => {
    const { c } = setup()
    await c.ignoreWhile(async () => c.observe('attach-1', null, request('old'), at(0)))
    expect(c.pending()).toEqual([])
    c.observe('attach-1', null, request('new'), at(0))
    expect(c.pending().map((g) => g.id)).toEqual(['new'])
  })
})

describe('ReviewCoordinator: gates from hub producers', () => {
  it('forwards the exact review_decision frame the publisher parses', () => {
    const { c, sent } = setup()
    c.observe('hub', 'svc-a-1', request('r1'), at(0))
    expect(c.get('r1').source).toEqual({ kind: 'hub', sourceId: 'hub', producerId: 'svc-a-1', label: 'svc-a-1' })
    c.decide('r1', { decision: 'EDIT', revisedOutput: 'Better "quoted"', surface: 'api' })
    expect(sent).toEqual([{ to: 'hub', reviewId: 'r1', json: '{"type":"review_decision","reviewId":"r1","decision":"EDIT","revisedOutput":"Better \\"quoted\\""}' }])
  })

  it('times out on its own: the producer applies the advertised action', () => {
    const { c, sent } = setup()
    c.observe('hub', 'svc-a-1', request('r1', { timeoutMs: 3000, onTimeout: 'CONTINUE' }), at(0))
    vi.advanceTimersByTime(3000)
    expect(sent).toEqual([])
    expect(c.get('r1')).toMatchObject({ status: 'timed-out', outcome: { decision: 'CONTINUE', surface: 'timeout' } })
  })

  it('an attachment to another hub sees gates inside envelopes and answers through the attachment', () => {
    const { c, sent } = setup()
    c.observe('attach-1', null, { type: 'event', producer: { producerId: 'p1' }, sequence: 3, receivedAt: at(0), message: request('r9') }, at(0))
    expect(c.get('r9').source).toMatchObject({ kind: 'attachment', producerId: 'p1', label: 'Agent box · p1' })
    c.decide('r9', { decision: 'CONTINUE', surface: 'api' })
    expect(sent[0]).toMatchObject({ to: 'attachment', sourceId: 'attach-1', reviewId: 'r9' })
  })

  it('a hub_hello replay raises only gates still open: not expired, not timed out, not in an ended run', () => {
    const { c } = setup()
    vi.advanceTimersByTime(120_000)
    const env = (seq: number, ms: number, message: DashboardMessage, producerId = 'p1') => ({ type: 'event' as const, producer: { producerId }, sequence: seq, receivedAt: at(ms), message })
    c.observe('attach-1', null, {
      type: 'hub_hello',
      snapshotTrace: [
        env(1, 0, request('expired', { timeoutMs: 60_000 })),
        env(2, 1000, request('timedout', { timeoutMs: 0 })),
        env(3, 2000, { type: 'review_timed_out', reviewId: 'timedout', action: 'CONTINUE' }),
        env(4, 3000, request('ended', { timeoutMs: 0 })),
        env(5, 4000, { type: 'ensemble_completed', ensembleId: 'e', completedAt: at(4000), durationMs: 1, exitReason: 'COMPLETED', totalTokens: -1, totalToolCalls: 0 }),
        env(6, 100_000, request('open', { timeoutMs: 60_000 })),
        env(7, 5000, request('forever', { timeoutMs: 0 }), 'p2')
      ]
    }, at(120_000))
    expect(c.pending().map((g) => g.id)).toEqual(['open', 'forever'])
    // The deadline counts from when the hub got the request, not from the replay.
    expect(c.get('open').expiresAt).toBe(at(160_000))
  })
})
