// Validation of one publisher envelope (spec §7): `{"type":"event", producer{producerId…}, sequence,
// receivedAt, message}`. Pure; the hub keeps the text itself and relays it verbatim.
import { parseProducerInfo, parseServerMessage } from '../../shared/protocol/agentensemble'
import type { ProducerInfo, ServerMessage } from '../../shared/protocol/agentensemble'

export interface ParsedEnvelope {
  ok: true
  producer: ProducerInfo
  sequence: number
  /** As sent by the publisher; null when absent. */
  receivedAt: string | null
  /** The inner message's `type` (what the hub sniffs). */
  innerType: string
  /** The inner message when Vigil knows its type; null for types it does not know (relayed opaquely). */
  message: ServerMessage | null
}

export interface RejectedEnvelope {
  ok: false
  reason: 'malformed' | 'unknown'
  /** The producerId the frame claimed, when it had a usable one (for attributing the failure). */
  producerId: string | null
}

export type EnvelopeResult = ParsedEnvelope | RejectedEnvelope

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Longest producerId accepted, in UTF-16 code units. Run ids embed it (`hub:<producerId>:<ensembleId>:<n>`)
 * and the API refuses ids over 200 characters, so a longer one would make its runs unreachable.
 */
export const MAX_PRODUCER_ID_CHARS = 128

/** A lone surrogate (in `u` mode a valid pair is one code point, so only unpaired halves match). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/**
 * A producerId Vigil can key, record and export: non-blank, at most MAX_PRODUCER_ID_CHARS and well-formed
 * UTF-16 (a lone surrogate would be stored as U+FFFD, so the recorded runs would no longer match the id).
 */
export function isUsableProducerId(id: string): boolean {
  return id.trim() !== '' && id.length <= MAX_PRODUCER_ID_CHARS && !LONE_SURROGATE.test(id)
}

function claimedProducerId(obj: Record<string, unknown>): string | null {
  const p = obj.producer
  if (!isRecord(p) || typeof p.producerId !== 'string' || !isUsableProducerId(p.producerId)) return null
  return p.producerId
}

/**
 * Accepts what AgentEnsemble's hub accepts, minus frames Vigil could not track or relay safely:
 * `type` must be exactly "event" (another type: 'unknown'); `producer.producerId` must be a
 * non-blank, well-formed string of at most MAX_PRODUCER_ID_CHARS; `message` must be an object with a string `type`; a message of a type Vigil
 * knows must also have that type's shape (an invalid one would corrupt every viewer's state).
 * Messages of unknown types stay opaque (`message: null`), as they are to the hub. `sequence`
 * defaults to 0 and `receivedAt` may be absent (Jackson's rules for missing fields, §1.1).
 */
export function parseEnvelope(text: string): EnvelopeResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'malformed', producerId: null }
  }
  if (!isRecord(value)) return { ok: false, reason: 'malformed', producerId: null }
  const producerId = claimedProducerId(value)
  const reject = (reason: RejectedEnvelope['reason']): RejectedEnvelope => ({ ok: false, reason, producerId })
  if (typeof value.type !== 'string') return reject('malformed')
  if (value.type !== 'event') return reject('unknown')
  if (producerId === null) return reject('malformed')
  const producer = parseProducerInfo(value.producer)
  if (!producer) return reject('malformed')
  const sequence = value.sequence ?? 0
  if (typeof sequence !== 'number' || !Number.isFinite(sequence)) return reject('malformed')
  const receivedAt = value.receivedAt ?? null
  if (receivedAt !== null && typeof receivedAt !== 'string') return reject('malformed')
  const inner = value.message
  if (!isRecord(inner) || typeof inner.type !== 'string') return reject('malformed')
  const parsed = parseServerMessage(inner)
  if (!parsed.ok && parsed.reason === 'malformed') return reject('malformed')
  // Hub frames or a `hello` nested in an envelope are not publisher events: relay them, never track them
  // (a nested hello would make the tracker rebuild the producer from its snapshot).
  const message = parsed.ok && !NOT_EVENTS.has(parsed.message.type) ? parsed.message : null
  return { ok: true, producer, sequence, receivedAt, innerType: inner.type, message }
}

const NOT_EVENTS = new Set(['event', 'hub_hello', 'producer_joined', 'producer_left', 'hello'])

const INSTANT = /^(\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/

/**
 * Epoch milliseconds (with the sub-millisecond part as a fraction) of an ISO-8601 UTC instant with
 * 0–9 fraction digits; NaN when it is not one. Instants are not ordered as strings
 * ("…:01Z" > "…:01.5Z"), hence a number.
 */
export function instantSortKey(instant: string | null): number {
  if (instant === null) return NaN
  const m = INSTANT.exec(instant)
  if (!m) return NaN
  const base = Date.parse(`${m[1]}Z`)
  return m[2] ? base + Number(`0.${m[2]}`) * 1000 : base
}
