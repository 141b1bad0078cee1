import { describe, expect, it } from 'vitest'
import {
  formatInstant,
  jacksonStringify,
  parseClientFrame,
  parseServerFrame,
  serializeClientMessage,
  serializeServerMessage
} from '../../../src/shared/protocol/agentensemble'
import type { ServerMessage } from '../../../src/shared/protocol/agentensemble'
import { SPEC_CLIENT_FRAMES, SPEC_SERVER_FRAMES, SPEC_UNSUPPORTED_FRAMES } from './spec-frames'

function parsed(text: string): ServerMessage {
  const r = parseServerFrame(text)
  if (!r.ok) throw new Error(`expected ${text} to parse, got ${r.reason}`)
  return r.message
}

describe('parseServerFrame / serializeServerMessage against the spec examples', () => {
  it('has every example', () => {
    expect(SPEC_SERVER_FRAMES.length).toBeGreaterThanOrEqual(30)
  })

  it.each(SPEC_SERVER_FRAMES)('round-trips byte-exactly: %s', (frame) => {
    const message = parsed(frame)
    expect(message.type).toBe(JSON.parse(frame).type)
    expect(serializeServerMessage(message)).toBe(frame)
  })

  it.each(SPEC_UNSUPPORTED_FRAMES)('reports types outside the live protocol as unknown: %s', (frame) => {
    expect(parseServerFrame(frame)).toEqual({ ok: false, reason: 'unknown-type' })
  })
})

describe('parseServerFrame details', () => {
  it('reads the late-join hello: snapshot messages and iteration pairs are typed', () => {
    const hello = parsed(SPEC_SERVER_FRAMES.find((f) => f.includes('"snapshotTrace"') && f.startsWith('{"type":"hello"'))!)
    if (hello.type !== 'hello') throw new Error('not hello')
    expect(hello.snapshotTrace?.map((m) => m.type)).toEqual(['ensemble_started', 'task_started'])
    expect(hello.recentIterations?.[0]?.started.messages[1]?.content).toBe('## Task\nResearch AI trends')
    expect(hello.recentIterations?.[0]?.completed?.responseText).toBe('AI adoption grew 42%.')
  })

  it('ignores unknown fields and fills missing nullable fields with null and numbers with 0', () => {
    const m = parsed('{"futureField":{"x":1},"type":"task_started","taskIndex":2,"extra":true}')
    expect(m).toEqual({ type: 'task_started', taskIndex: 2, totalTasks: 0, taskDescription: null, agentRole: null, startedAt: null })
    // `type` anywhere in the object; output puts it first, as the server does.
    expect(serializeServerMessage(m)).toBe(
      '{"type":"task_started","taskIndex":2,"totalTasks":0,"taskDescription":null,"agentRole":null,"startedAt":null}'
    )
  })

  it('omits null optional keys and writes null nullable keys', () => {
    const m = parsed('{"type":"review_requested","reviewId":"r1","taskDescription":"D","taskOutput":"","timing":"DURING_EXECUTION","prompt":null,"timeoutMs":0,"onTimeout":"CONTINUE"}')
    expect(m).not.toHaveProperty('prompt')
    expect(serializeServerMessage(m)).toBe(
      '{"type":"review_requested","reviewId":"r1","taskDescription":"D","taskOutput":"","timing":"DURING_EXECUTION","timeoutMs":0,"onTimeout":"CONTINUE"}'
    )
    expect(serializeServerMessage({ type: 'review_timed_out', reviewId: 'r1', action: null })).toBe(
      '{"type":"review_timed_out","reviewId":"r1","action":null}'
    )
  })

  it.each([
    ['not JSON', 'hello'],
    ['truncated JSON', '{"type":"hello"'],
    ['an array', '[{"type":"hello"}]'],
    ['a string', '"hello"'],
    ['null', 'null'],
    ['a number', '42'],
    ['no type', '{"ensembleId":"e1"}'],
    ['a non-string type', '{"type":7}'],
    ['a null type', '{"type":null}'],
    ['a wrong field type', '{"type":"task_started","taskIndex":"one"}'],
    ['a missing required field', '{"type":"review_requested","taskDescription":"D","taskOutput":"","timing":"AFTER_EXECUTION","timeoutMs":0,"onTimeout":"CONTINUE"}'],
    ['an envelope without producer', '{"type":"event","sequence":1,"message":{"type":"pong"}}']
  ])('rejects %s as malformed', (_what, frame) => {
    expect(parseServerFrame(frame)).toEqual({ ok: false, reason: 'malformed' })
  })

  it.each(['{"type":"PING"}', '{"type":"Hello"}', '{"type":"HELLO"}', '{"type":"review_resolved","reviewId":"r1"}', '{"type":"__proto__"}', '{"type":"constructor"}', '{"type":"toString"}', '{"type":""}'])(
    'rejects %s as an unknown type (case-sensitive, own names only)',
    (frame) => {
      expect(parseServerFrame(frame)).toEqual({ ok: false, reason: 'unknown-type' })
    }
  )

  it('reports an envelope around an unknown inner type as unknown', () => {
    expect(parseServerFrame('{"type":"event","producer":{"producerId":"p"},"sequence":1,"message":{"type":"run_ack"}}')).toEqual({
      ok: false,
      reason: 'unknown-type'
    })
  })

  it('drops unusable snapshot elements instead of the whole late-join frame', () => {
    const m = parsed(
      '{"type":"hello","snapshotTrace":[{"type":"ensemble_started","totalTasks":1},{"type":"from_the_future"},17,{"type":"task_started","taskIndex":"x"}],"recentIterations":[{"completed":{}}]}'
    )
    if (m.type !== 'hello') throw new Error('not hello')
    expect(m.snapshotTrace?.map((x) => x.type)).toEqual(['ensemble_started'])
    expect(m.recentIterations).toEqual([])
  })

  it('keeps structuredResult as any JSON value', () => {
    const m = parsed('{"type":"tool_called","taskIndex":1,"structuredResult":[1,{"a":null}]}')
    if (m.type !== 'tool_called') throw new Error('not tool_called')
    expect(m.structuredResult).toEqual([1, { a: null }])
    expect(m.outcome).toBeNull()
  })

  it('reads a hub hello with envelopes and per-producer iterations', () => {
    const m = parsed(SPEC_SERVER_FRAMES.find((f) => f.startsWith('{"type":"hub_hello","producers"'))!)
    if (m.type !== 'hub_hello') throw new Error('not hub_hello')
    expect(m.snapshotTrace?.map((e) => [e.producer.producerId, e.sequence, e.message.type])).toEqual([
      ['svc-a-pod-1', 1, 'ensemble_started'],
      ['svc-a-pod-1', 5, 'review_requested']
    ])
    expect(m.iterationsByProducer?.['svc-a-pod-1']?.[0]?.started.agentRole).toBe('Writer')
  })
})

describe('client frames', () => {
  it.each(SPEC_CLIENT_FRAMES)('round-trips %s', (frame) => {
    const r = parseClientFrame(frame)
    if (!r.ok) throw new Error(r.reason)
    expect(serializeClientMessage(r.message)).toBe(frame)
  })

  it('serializes a decision without revisedOutput by omitting the key', () => {
    expect(serializeClientMessage({ type: 'review_decision', reviewId: 'r1', decision: 'CONTINUE' })).toBe(
      '{"type":"review_decision","reviewId":"r1","decision":"CONTINUE"}'
    )
    expect(serializeClientMessage({ type: 'ping' })).toBe('{"type":"ping"}')
  })

  it('is case-sensitive and ignores other client types', () => {
    expect(parseClientFrame('{"type":"PING"}')).toEqual({ ok: false, reason: 'unknown-type' })
    expect(parseClientFrame('{"type":"subscribe","events":["*"]}')).toEqual({ ok: false, reason: 'unknown-type' })
    expect(parseClientFrame('{"type":"review_decision"}')).toEqual({ ok: false, reason: 'malformed' })
    expect(parseClientFrame('nope')).toEqual({ ok: false, reason: 'malformed' })
  })
})

describe('encoding helpers', () => {
  it('escapes like Jackson: short escapes, upper-case hex, raw non-ASCII', () => {
    expect(jacksonStringify({ s: 'a\n\t"\\\u0001\u001fé€/' })).toBe('{"s":"a\\n\\t\\"\\\\\\u0001\\u001Fé€/"}')
    expect(jacksonStringify('\\u001f')).toBe('"\\\\u001f"')
  })

  it('formats instants like Instant.toString at millisecond precision', () => {
    expect(formatInstant(Date.UTC(2026, 2, 5, 14, 0, 0, 0))).toBe('2026-03-05T14:00:00Z')
    expect(formatInstant(Date.UTC(2026, 2, 5, 14, 0, 45, 120))).toBe('2026-03-05T14:00:45.120Z')
  })
})
