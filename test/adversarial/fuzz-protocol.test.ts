// Property-based fuzzing (fast-check) of the AgentEnsemble protocol code every frame from the network
// goes through: src/shared/protocol/agentensemble.ts (server frames, client frames, producer info,
// hub_hello, the review forward) and src/main/hub/ingress-parse.ts (publisher envelopes, instants).
// Properties: arbitrary text, arbitrary JSON and mutated spec frames never throw, only return errors;
// accepted frames obey the parser's promises; serialize∘parse is a byte-exact fixpoint (the spec's
// Jackson output, §1.1), and valid frames round-trip byte for byte.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { instantSortKey, parseEnvelope } from '../../src/main/hub/ingress-parse'
import {
  formatInstant,
  jacksonStringify,
  parseClientFrame,
  parseProducerInfo,
  parseServerFrame,
  parseServerMessage,
  REVIEW_DECISIONS,
  SERVER_MESSAGE_TYPES,
  serializeClientMessage,
  serializeHubHello,
  serializeProducerInfo,
  serializeReviewForward,
  serializeServerMessage
} from '../../src/shared/protocol/agentensemble'
import type { ClientMessage, ProducerInfo, ServerMessage } from '../../src/shared/protocol/agentensemble'
import { SPEC_CLIENT_FRAMES, SPEC_SERVER_FRAMES, SPEC_UNSUPPORTED_FRAMES } from '../unit/live/spec-frames'

/** Runs per property; the suite's total is reported by the last test. */
const RUNS = 1000
let totalRuns = 0
function check<T>(property: fc.IProperty<T> | fc.IAsyncProperty<T>, numRuns = RUNS): void {
  fc.assert(property as fc.IProperty<T>, { numRuns, seed: Number(process.env.FUZZ_SEED ?? 20260305) })
  totalRuns += numRuns
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Any UTF-16 code unit: lone surrogates, NUL, controls, BOM included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))
const anyString = fc.oneof(fc.string({ unit: codeUnit, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }))
const wellFormed = fc.string({ unit: 'binary', maxLength: 40 })

/** Text that looks like JSON often enough to get past JSON.parse: fragments of real frames mixed with junk. */
const ALL_FRAMES = [...SPEC_SERVER_FRAMES, ...SPEC_CLIENT_FRAMES, ...SPEC_UNSUPPORTED_FRAMES]
const frameish = fc.oneof(
  anyString,
  fc.json({ maxDepth: 4 }),
  fc.tuple(fc.constantFrom(...ALL_FRAMES), fc.nat(), fc.nat(), anyString).map(([f, a, b, junk]) => {
    const i = a % (f.length + 1)
    const j = i + (b % (f.length - i + 1))
    return f.slice(0, i) + junk + f.slice(j)
  })
)

/** A JSON value of any shape, with awkward keys ("__proto__", "constructor", "type") and strings. */
const awkwardKey = fc.oneof(wellFormed, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'type', 'hasOwnProperty', ''))
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    anyString,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(awkwardKey, tie('v'), { maxKeys: 4 })
  )
})).v

/**
 * A spec frame (server or client) with some of its fields replaced by arbitrary values, some removed,
 * and unknown ones added: mostly still valid, often not, never predictable.
 */
function mutated(frames: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.constantFrom(...frames), fc.array(fc.tuple(fc.nat(), fc.oneof(value, anyString, fc.constant(undefined))), { maxLength: 4 }), fc.dictionary(awkwardKey, value, { maxKeys: 2 }))
    .map(([frame, edits, extra]) => {
      const obj = JSON.parse(frame) as Record<string, unknown>
      const keys = Object.keys(obj).filter((k) => k !== 'type')
      for (const [n, v] of edits) {
        if (keys.length === 0) break
        const key = keys[n % keys.length]!
        if (v === undefined) delete obj[key]
        else obj[key] = v
      }
      for (const [k, v] of Object.entries(extra)) if (k !== 'type') Object.defineProperty(obj, k, { value: v, enumerable: true, configurable: true, writable: true })
      return obj
    })
}

// Tag keys include "__proto__" often: it must stay an ordinary tag (readKind keeps such keys as data).
const tagKey = fc.oneof(wellFormed, fc.constantFrom('__proto__', 'constructor', 'toString'))
const producerInfo: fc.Arbitrary<ProducerInfo> = fc.record(
  {
    producerId: wellFormed.filter((s) => s.trim() !== ''),
    serviceName: wellFormed,
    instanceId: wellFormed,
    host: wellFormed,
    version: wellFormed,
    tags: fc.dictionary(tagKey, wellFormed, { maxKeys: 3 })
  },
  { requiredKeys: ['producerId'] }
)

// ---------------------------------------------------------------------------------------------

describe('never throws, only returns errors', () => {
  it('parseServerFrame and parseClientFrame: any text', () => {
    check(
      fc.property(frameish, (text) => {
        const s = parseServerFrame(text)
        const c = parseClientFrame(text)
        if (!s.ok) expect(['malformed', 'unknown-type']).toContain(s.reason)
        else expect(SERVER_MESSAGE_TYPES).toContain(s.message.type)
        if (c.ok) expect(['ping', 'review_decision']).toContain(c.message.type)
      }),
      3000
    )
  })

  it('parseServerMessage: any value (prototype keys, NaN, nested junk, frames in the wrong direction)', () => {
    check(
      fc.property(fc.oneof(value, mutated(SPEC_SERVER_FRAMES), mutated(SPEC_CLIENT_FRAMES), mutated(SPEC_UNSUPPORTED_FRAMES)), (v) => {
        const r = parseServerMessage(v)
        expect(typeof r.ok).toBe('boolean')
      }),
      3000
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('parseProducerInfo: any value gives null or a ProducerInfo with a string producerId', () => {
    check(
      fc.property(fc.oneof(value, producerInfo), (v) => {
        const p = parseProducerInfo(v)
        if (p !== null) expect(typeof p.producerId).toBe('string')
      })
    )
  })

  it('parseEnvelope: any text; accepted envelopes have a non-blank producerId, a finite sequence and the inner type of the text', () => {
    const envelopeish = fc.oneof(
      frameish,
      mutated(SPEC_SERVER_FRAMES.filter((f) => f.startsWith('{"type":"event"'))).map((o) => JSON.stringify(o)),
      fc.tuple(producerInfo, fc.oneof(fc.integer(), fc.double(), value), fc.oneof(anyString, value), mutated(SPEC_SERVER_FRAMES)).map(([producer, sequence, receivedAt, message]) =>
        JSON.stringify({ type: 'event', producer, sequence, receivedAt, message })
      )
    )
    check(
      fc.property(envelopeish, (text) => {
        const r = parseEnvelope(text)
        if (!r.ok) {
          expect(['malformed', 'unknown']).toContain(r.reason)
          return
        }
        expect(r.producer.producerId.trim()).not.toBe('')
        expect(r.producer.producerId.length).toBeLessThanOrEqual(128)
        expect(r.producer.producerId).not.toMatch(/[\uD800-\uDFFF]/u)
        expect(Number.isFinite(r.sequence)).toBe(true)
        const inner = (JSON.parse(text) as { message: { type: string } }).message
        expect(r.innerType).toBe(inner.type)
        if (r.message) expect(r.message.type).toBe(inner.type)
      }),
      3000
    )
  })

  it('parseEnvelope and parseServerFrame: nesting up to 200,000 levels anywhere in a frame', () => {
    check(
      fc.property(fc.integer({ min: 1, max: 200_000 }), fc.constantFrom('[', '{"a":'), fc.constantFrom('message', 'extra', 'structuredResult', 'producer'), (depth, open, where) => {
        const close = open === '[' ? ']' : '}'
        const deep = open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth)
        const text =
          where === 'structuredResult'
            ? `{"type":"event","producer":{"producerId":"p"},"message":{"type":"tool_called","structuredResult":${deep}}}`
            : where === 'producer'
              ? `{"type":"event","producer":${deep},"message":{"type":"pong"}}`
              : where === 'extra'
                ? `{"type":"event","producer":{"producerId":"p"},"extra":${deep},"message":{"type":"pong"}}`
                : `{"type":"event","producer":{"producerId":"p"},"message":${deep}}`
        const r = parseEnvelope(text)
        expect(r.ok).toBe(where === 'structuredResult' || where === 'extra')
        expect(typeof parseServerFrame(text).ok).toBe('boolean')
      }),
      60
    )
  })

  it('instantSortKey: any text is NaN or a finite number', () => {
    check(
      fc.property(fc.oneof(anyString, fc.stringMatching(/^\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,12})?Z?$/)), (s) => {
        const k = instantSortKey(s)
        expect(Number.isNaN(k) || Number.isFinite(k)).toBe(true)
      })
    )
  })
})

describe('round trips (byte-exact, spec §1.1 Jackson output)', () => {
  it('every accepted server frame re-serializes to a fixpoint: serialize(parse(serialize(parse(x)))) === serialize(parse(x))', () => {
    let accepted = 0
    check(
      fc.property(fc.oneof(mutated(SPEC_SERVER_FRAMES), mutated(SPEC_SERVER_FRAMES.filter((f) => f.includes('"type":"hub_hello"') || f.includes('"type":"hello"')))), (obj) => {
        const first = parseServerFrame(JSON.stringify(obj))
        if (!first.ok) return
        accepted++
        const text = serializeServerMessage(first.message)
        const again = parseServerFrame(text)
        expect(again.ok).toBe(true)
        if (!again.ok) return
        expect(again.message).toEqual(first.message)
        expect(serializeServerMessage(again.message)).toBe(text)
      }),
      3000
    )
    // The mutations must leave a good share valid, or the property proves little.
    expect(accepted).toBeGreaterThan(500)
  })

  it('the spec frames round-trip byte for byte even with arbitrary (well-formed) strings in them', () => {
    // Replace every string value of a spec frame by an arbitrary one: Jackson's output for that message
    // is what serializeServerMessage writes, and reading it back gives the same bytes.
    check(
      fc.property(fc.constantFrom(...SPEC_SERVER_FRAMES), fc.array(wellFormed, { minLength: 64, maxLength: 64 }), (frame, strings) => {
        let i = 0
        const replace = (v: unknown, key: string): unknown => {
          if (typeof v === 'string') return key === 'type' ? v : key.endsWith('At') ? v : strings[i++ % strings.length]
          if (Array.isArray(v)) return v.map((x) => replace(x, ''))
          if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replace(x, k)]))
          return v
        }
        const parsed = parseServerFrame(frame)
        expect(parsed.ok).toBe(true)
        if (!parsed.ok) return
        const message = replace(parsed.message, '') as ServerMessage
        const text = serializeServerMessage(message)
        const back = parseServerFrame(text)
        expect(back.ok).toBe(true)
        if (back.ok) expect(serializeServerMessage(back.message)).toBe(text)
        // Jackson escapes: no lower-case \u escapes, non-ASCII written raw.
        expect(/\\u[0-9a-f]{0,3}[a-f]/.test(text.replace(/\\\\/g, ''))).toBe(false)
      })
    )
  })

  it('client frames: review_decision and ping round-trip byte for byte; revisedOutput omitted when absent', () => {
    const decision: fc.Arbitrary<ClientMessage> = fc.oneof(
      fc.constant<ClientMessage>({ type: 'ping' }),
      fc.record(
        { type: fc.constant('review_decision' as const), reviewId: wellFormed, decision: fc.oneof(fc.constantFrom(...REVIEW_DECISIONS), wellFormed), revisedOutput: wellFormed },
        { requiredKeys: ['type', 'reviewId', 'decision'] }
      )
    )
    check(
      fc.property(decision, (m) => {
        const text = serializeClientMessage(m)
        const back = parseClientFrame(text)
        expect(back.ok).toBe(true)
        if (!back.ok) return
        expect(serializeClientMessage(back.message)).toBe(text)
        if (m.type === 'review_decision' && m.revisedOutput === undefined) expect(text).not.toContain('revisedOutput')
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(m)))
      })
    )
    for (const f of SPEC_CLIENT_FRAMES) {
      const r = parseClientFrame(f)
      expect(r.ok && serializeClientMessage(r.message)).toBe(f)
    }
  })

  it('hub_hello built from stored envelope texts parses back with the same producers and snapshot', () => {
    check(
      fc.property(fc.array(producerInfo, { maxLength: 4 }), fc.array(fc.tuple(producerInfo, fc.nat(), wellFormed), { maxLength: 4 }), (producers, events) => {
        const trace = events.map(([p, seq, token]) => serializeServerMessage({ type: 'event', producer: p, sequence: seq, receivedAt: '2026-03-05T14:00:00Z', message: { type: 'token', token, agentRole: null, taskDescription: null, sentAt: null } }))
        const text = serializeHubHello({ producers, snapshotTrace: trace })
        const back = parseServerFrame(text)
        expect(back.ok).toBe(true)
        if (!back.ok || back.message.type !== 'hub_hello') return
        expect((back.message.producers ?? []).map(serializeProducerInfo)).toEqual(producers.map(serializeProducerInfo))
        expect((back.message.snapshotTrace ?? []).map((e) => serializeServerMessage(e))).toEqual(trace)
        expect(serializeServerMessage(back.message)).toBe(text)
      })
    )
  })

  it('"__proto__" as a producer tag or an iterationsByProducer key is kept as data and round-trips byte for byte', () => {
    const producer = '{"producerId":"p","tags":{"__proto__":"x","env":"prod"}}'
    const info = parseProducerInfo(JSON.parse(producer))
    expect(info).not.toBeNull()
    expect(Object.entries(info!.tags!)).toEqual([['__proto__', 'x'], ['env', 'prod']])
    expect(Object.getPrototypeOf(info!.tags)).toBe(Object.prototype)
    expect(serializeProducerInfo(info!)).toBe(producer)

    const started = '{"type":"llm_iteration_started","agentRole":"A","taskDescription":"T","iterationIndex":0,"messages":[],"totalMessageCount":0}'
    const iteration = `{"started":${started}}`
    const hello = `{"type":"hub_hello","producers":[${producer}],"iterationsByProducer":{"__proto__":[${iteration}],"constructor":[]}}`
    const back = parseServerFrame(hello)
    expect(back.ok).toBe(true)
    if (!back.ok || back.message.type !== 'hub_hello') return
    const byProducer = back.message.iterationsByProducer!
    // An own key, not the object's prototype.
    expect(Object.getPrototypeOf(byProducer)).toBe(Object.prototype)
    expect(Object.keys(byProducer)).toEqual(['__proto__', 'constructor'])
    expect(Object.entries(byProducer)[0]![1]).toHaveLength(1)
    expect(({} as Record<string, unknown>).agentRole).toBeUndefined()
    const again = serializeServerMessage(back.message)
    expect(parseServerFrame(again).ok).toBe(true)
    expect(JSON.parse(again)).toEqual(JSON.parse(hello))
    expect(serializeServerMessage((parseServerFrame(again) as { message: ServerMessage }).message)).toBe(again)
    // The hub's own builder agrees entry by entry.
    const built = serializeHubHello({ iterationsByProducer: byProducer })
    expect(built).toContain('"iterationsByProducer":{"__proto__":[{"started":{"type":"llm_iteration_started"')
    expect(built).toBe(serializeServerMessage({ type: 'hub_hello', iterationsByProducer: byProducer } as ServerMessage))
  })

  it('the hub → publisher review forward carries any reviewId and decision text exactly', () => {
    check(
      fc.property(anyString, anyString, (reviewId, decisionJson) => {
        const text = serializeReviewForward(reviewId, decisionJson)
        expect(JSON.parse(text)).toEqual({ reviewId, decisionJson })
        expect(Object.keys(JSON.parse(text) as object)).toEqual(['reviewId', 'decisionJson'])
      }),
      2000
    )
  })

  it('instants: formatInstant and instantSortKey agree for every millisecond of years 1970-9999', () => {
    check(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
        const text = formatInstant(ms)
        expect(instantSortKey(text)).toBe(ms)
        expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/)
      })
    )
  })

  it('jacksonStringify is JSON: parses back to the same value, whatever the strings', () => {
    check(
      fc.property(fc.jsonValue(), anyString, (v, s) => {
        expect(JSON.parse(jacksonStringify(v))).toEqual(JSON.parse(JSON.stringify(v)))
        expect(JSON.parse(jacksonStringify(s))).toBe(s)
      })
    )
  })
})

it('fuzz run count', () => {
  console.log(`fuzz-protocol: ${totalRuns} runs`)
  expect(totalRuns).toBeGreaterThanOrEqual(20_000)
})
