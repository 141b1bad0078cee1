import { describe, expect, it } from 'vitest'
import { instantSortKey, isUsableProducerId, MAX_PRODUCER_ID_CHARS, parseEnvelope } from '../../../src/main/hub/ingress-parse'
import { SPEC_SERVER_FRAMES } from '../live/spec-frames'

const SPEC_ENVELOPE = SPEC_SERVER_FRAMES.find((f) => f.startsWith('{"type":"event"')) as string

describe('parseEnvelope (spec §7 ingress)', () => {
  it('accepts the spec envelope and exposes producer, sequence, receivedAt and the inner message', () => {
    const r = parseEnvelope(SPEC_ENVELOPE)
    expect(r).toMatchObject({
      ok: true,
      producer: { producerId: 'svc-a-1', serviceName: 'svc-a', instanceId: 'pod-1', host: 'node-12', tags: { env: 'prod' } },
      sequence: 7,
      receivedAt: '2026-03-05T14:00:01.123456Z',
      innerType: 'task_started',
      message: { type: 'task_started', taskIndex: 1, agentRole: 'A' }
    })
  })

  it('accepts `type` anywhere and ignores unknown fields; missing sequence is 0, missing receivedAt null', () => {
    const r = parseEnvelope('{"producer":{"producerId":"p","x":1},"extra":true,"message":{"type":"pong"},"type":"event"}')
    expect(r).toMatchObject({ ok: true, sequence: 0, receivedAt: null, innerType: 'pong' })
  })

  it.each([
    ['not JSON', '{"type":"event"', 'malformed'],
    ['an array', '[1]', 'malformed'],
    ['no type', '{"producer":{"producerId":"p"},"message":{"type":"pong"}}', 'malformed'],
    ['wrong-case type', '{"type":"EVENT","producer":{"producerId":"p"},"message":{"type":"pong"}}', 'unknown'],
    ['another type', '{"type":"hello","producer":{"producerId":"p"},"message":{"type":"pong"}}', 'unknown'],
    ['no producer', '{"type":"event","message":{"type":"pong"}}', 'malformed'],
    ['blank producerId', '{"type":"event","producer":{"producerId":"  "},"message":{"type":"pong"}}', 'malformed'],
    ['numeric producerId', '{"type":"event","producer":{"producerId":7},"message":{"type":"pong"}}', 'malformed'],
    ['bad serviceName', '{"type":"event","producer":{"producerId":"p","serviceName":3},"message":{"type":"pong"}}', 'malformed'],
    ['string sequence', '{"type":"event","producer":{"producerId":"p"},"sequence":"1","message":{"type":"pong"}}', 'malformed'],
    ['numeric receivedAt', '{"type":"event","producer":{"producerId":"p"},"receivedAt":5,"message":{"type":"pong"}}', 'malformed'],
    ['no message', '{"type":"event","producer":{"producerId":"p"}}', 'malformed'],
    ['message without type', '{"type":"event","producer":{"producerId":"p"},"message":{"x":1}}', 'malformed'],
    ['string message', '{"type":"event","producer":{"producerId":"p"},"message":"task_started"}', 'malformed'],
    ['invalid known message', '{"type":"event","producer":{"producerId":"p"},"message":{"type":"review_requested","taskDescription":"x"}}', 'malformed']
  ])('rejects %s', (_name, text, reason) => {
    const r = parseEnvelope(text)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toBe(reason)
  })

  it('rejects producer ids with a lone surrogate or over 128 characters as malformed, unattributed', () => {
    const frame = (id: string) => JSON.stringify({ type: 'event', producer: { producerId: id }, sequence: 1, message: { type: 'pong' } })
    for (const id of ['a\ud800', '\udfff', 'x\udc00y\ud83d', 'p'.repeat(129), '🚀'.repeat(65)]) {
      expect(parseEnvelope(frame(id))).toEqual({ ok: false, reason: 'malformed', producerId: null })
    }
    // Well-formed astral characters (surrogate pairs) and exactly 128 code units are fine.
    for (const id of ['🚀 agent', 'p'.repeat(128), '🚀'.repeat(64), 'a\u0000b', '__proto__']) {
      expect(parseEnvelope(frame(id))).toMatchObject({ ok: true, producer: { producerId: id } })
    }
    expect(isUsableProducerId('ok')).toBe(true)
    expect(isUsableProducerId(' ')).toBe(false)
    expect(MAX_PRODUCER_ID_CHARS).toBe(128)
  })

  it('reports the claimed producerId of a rejected frame when it has one', () => {
    expect(parseEnvelope('{"type":"EVENT","producer":{"producerId":"p"}}')).toEqual({ ok: false, reason: 'unknown', producerId: 'p' })
    expect(parseEnvelope('nope')).toEqual({ ok: false, reason: 'malformed', producerId: null })
  })

  it('keeps inner messages of unknown types opaque (relayed, not tracked), like the hub', () => {
    const r = parseEnvelope('{"type":"event","producer":{"producerId":"p"},"sequence":1,"message":{"type":"brand_new_thing","x":1}}')
    expect(r).toMatchObject({ ok: true, innerType: 'brand_new_thing', message: null })
    const nested = parseEnvelope('{"type":"event","producer":{"producerId":"p"},"message":{"type":"hello"}}')
    expect(nested).toMatchObject({ ok: true, innerType: 'hello', message: null })
  })
})

describe('instantSortKey', () => {
  it('orders instants with 0, 3, 6 and 9 fraction digits numerically (strings would not)', () => {
    const xs = ['2026-03-05T14:00:01.5Z', '2026-03-05T14:00:01Z', '2026-03-05T14:00:01.000001Z', '2026-03-05T14:00:01.123456789Z', '2026-03-05T14:00:00.999Z']
    const sorted = [...xs].sort((a, b) => instantSortKey(a) - instantSortKey(b))
    expect(sorted).toEqual(['2026-03-05T14:00:00.999Z', '2026-03-05T14:00:01Z', '2026-03-05T14:00:01.000001Z', '2026-03-05T14:00:01.123456789Z', '2026-03-05T14:00:01.5Z'])
    expect(instantSortKey('2026-03-05T14:00:01Z')).toBe(Date.UTC(2026, 2, 5, 14, 0, 1))
  })

  it('is NaN for anything else', () => {
    for (const s of [null, '', 'yesterday', '2026-03-05T14:00:01+01:00', '2026-03-05T14:00:01.1234567890Z']) expect(instantSortKey(s)).toBeNaN()
  })
})
