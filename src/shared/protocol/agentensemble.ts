// AgentEnsemble live-dashboard wire protocol (shared/spec/agentensemble-protocol.md §1, §7):
// message types, a tolerant parser and byte-exact serializers. Pure: no I/O, no platform imports.
//
// One field table per message drives both parsing and serialization, so key order and the
// null-vs-omitted rule of each record (spec §1.1) live in exactly one place.

/** ISO-8601 UTC instant as the server prints it (0, 3, 6 or 9 fraction digits). */
export type Instant = string

// ---------------------------------------------------------------------------------------------
// Nested records

export interface LlmToolCall {
  name: string | null
  arguments: string | null
}

/** One message of the LLM buffer; nulls are written (key always present). */
export interface LlmMessage {
  role: string | null
  content: string | null
  toolCalls: LlmToolCall[] | null
  toolName: string | null
}

export interface SharedCapability {
  name?: string
  description?: string
  type?: string
  tags?: string[]
}

/** An entry of `hello.recentIterations`: a completed pair, or only `started` while in flight. */
export interface IterationSnapshot {
  started: LlmIterationStartedMessage
  completed?: LlmIterationCompletedMessage
}

export interface ProducerInfo {
  producerId: string
  serviceName?: string
  instanceId?: string
  host?: string
  version?: string
  tags?: Record<string, string>
}

// ---------------------------------------------------------------------------------------------
// Server → client: embedded dashboard messages

export interface HelloMessage {
  type: 'hello'
  ensembleId?: string
  startedAt?: Instant
  snapshotTrace?: DashboardMessage[]
  sharedCapabilities?: SharedCapability[]
  recentIterations?: IterationSnapshot[]
}

export interface HeartbeatMessage {
  type: 'heartbeat'
  serverTimeMs: number
}

export interface PongMessage {
  type: 'pong'
}

export interface EnsembleStartedMessage {
  type: 'ensemble_started'
  ensembleId: string | null
  startedAt: Instant | null
  totalTasks: number
  workflow: string | null
}

export interface EnsembleCompletedMessage {
  type: 'ensemble_completed'
  ensembleId: string | null
  completedAt: Instant | null
  durationMs: number
  exitReason: string | null
  totalTokens: number
  totalToolCalls: number
}

export interface TaskStartedMessage {
  type: 'task_started'
  taskIndex: number
  totalTasks: number
  taskDescription: string | null
  agentRole: string | null
  startedAt: Instant | null
}

export interface TaskInputMessage {
  type: 'task_input'
  taskIndex: number
  taskDescription: string | null
  expectedOutput: string | null
  agentRole: string | null
  agentGoal: string | null
  agentBackground: string | null
  toolNames: string[] | null
  assembledContext: string | null
  sentAt: Instant | null
}

export interface TaskCompletedMessage {
  type: 'task_completed'
  taskIndex: number
  totalTasks: number
  taskDescription: string | null
  agentRole: string | null
  completedAt: Instant | null
  durationMs: number
  tokenCount: number
  toolCallCount: number
}

export interface TaskFailedMessage {
  type: 'task_failed'
  taskIndex: number
  taskDescription: string | null
  agentRole: string | null
  failedAt: Instant | null
  reason: string | null
}

export interface ToolCalledMessage {
  type: 'tool_called'
  agentRole: string | null
  /** 1-based; 0 when the server could not tell which task called the tool. */
  taskIndex: number
  toolName: string | null
  durationMs: number
  outcome: string | null
  /** JSON text, not an object. */
  toolArguments: string | null
  toolResult: string | null
  structuredResult: unknown
}

export interface DelegationStartedMessage {
  type: 'delegation_started'
  delegationId: string | null
  delegatingAgentRole: string | null
  workerRole: string | null
  taskDescription: string | null
}

export interface DelegationCompletedMessage {
  type: 'delegation_completed'
  delegationId: string | null
  delegatingAgentRole: string | null
  workerRole: string | null
  durationMs: number
}

export interface DelegationFailedMessage {
  type: 'delegation_failed'
  delegationId: string | null
  delegatingAgentRole: string | null
  workerRole: string | null
  reason: string | null
}

export interface ReviewRequestedMessage {
  type: 'review_requested'
  reviewId: string
  taskDescription: string
  taskOutput: string
  timing: string
  prompt?: string
  /** 0 = wait forever. */
  timeoutMs: number
  onTimeout: string
  requiredRole?: string
}

export interface ReviewTimedOutMessage {
  type: 'review_timed_out'
  reviewId: string | null
  action: string | null
}

export interface TokenMessage {
  type: 'token'
  token: string | null
  agentRole: string | null
  taskDescription: string | null
  sentAt: Instant | null
}

export interface LlmIterationStartedMessage {
  type: 'llm_iteration_started'
  agentRole: string
  taskDescription: string
  /** 0-based. */
  iterationIndex: number
  messages: LlmMessage[]
  totalMessageCount?: number
}

export interface LlmIterationCompletedMessage {
  type: 'llm_iteration_completed'
  agentRole: string
  taskDescription: string
  iterationIndex: number
  responseType: string
  responseText?: string
  toolRequests?: LlmToolCall[]
  inputTokens: number
  outputTokens: number
  latencyMs: number
}

export interface FileChangedMessage {
  type: 'file_changed'
  agentRole?: string
  filePath?: string
  changeType?: string
  linesAdded: number
  linesRemoved: number
  timestamp?: Instant
}

export interface MetricsSnapshotMessage {
  type: 'metrics_snapshot'
  agentRole?: string
  taskIndex: number
  inputTokens: number
  outputTokens: number
  llmLatencyMs: number
  toolExecutionTimeMs: number
  iterationCount: number
  costEstimate?: string
}

/** Broadcast when a human injects context; the order of `action`/`value` is not pinned by the spec. */
export interface DirectiveActiveMessage {
  type: 'directive_active'
  directiveId?: string
  from?: string
  content?: string
  action?: string
  value?: string
  expiresAt?: Instant
}

export type DashboardMessage =
  | HelloMessage
  | HeartbeatMessage
  | PongMessage
  | EnsembleStartedMessage
  | EnsembleCompletedMessage
  | TaskStartedMessage
  | TaskInputMessage
  | TaskCompletedMessage
  | TaskFailedMessage
  | ToolCalledMessage
  | DelegationStartedMessage
  | DelegationCompletedMessage
  | DelegationFailedMessage
  | ReviewRequestedMessage
  | ReviewTimedOutMessage
  | TokenMessage
  | LlmIterationStartedMessage
  | LlmIterationCompletedMessage
  | FileChangedMessage
  | MetricsSnapshotMessage
  | DirectiveActiveMessage

// ---------------------------------------------------------------------------------------------
// Server → client: hub messages (§7)

export interface EventEnvelope {
  type: 'event'
  producer: ProducerInfo
  /** Per-publisher counter from 1; restarts at 1 when the publisher restarts. */
  sequence: number
  /** Stamped by the publisher at send time (despite the name). */
  receivedAt?: Instant
  message: DashboardMessage
}

export interface HubHelloMessage {
  type: 'hub_hello'
  producers?: ProducerInfo[]
  snapshotTrace?: EventEnvelope[]
  iterationsByProducer?: Record<string, IterationSnapshot[]>
}

export interface ProducerJoinedMessage {
  type: 'producer_joined'
  producer: ProducerInfo
  joinedAt?: Instant
}

export interface ProducerLeftMessage {
  type: 'producer_left'
  producerId: string
  leftAt?: Instant
  reason?: string
}

export type HubMessage = EventEnvelope | HubHelloMessage | ProducerJoinedMessage | ProducerLeftMessage

/**
 * Vigil's own, not AgentEnsemble's: the trace file an imported run came from (its parsed JSON), recorded
 * with the run so that exporting it gives the file back unchanged (issue 16, item 4). Never sent to clients.
 */
export interface VigilTraceOriginalMessage {
  type: 'vigil_trace_original'
  trace: unknown
}

/**
 * Vigil's own, not AgentEnsemble's: one OpenTelemetry span received on `POST /v1/traces` (src/main/otel),
 * normalised, recorded with its run (a trace) so the span waterfall, LLM calls and tool calls survive a
 * restart. Never sent to AgentEnsemble clients.
 */
export interface VigilSpanMessage {
  type: 'vigil_span'
  traceId: string
  spanId: string
  /** null for the trace's root span. */
  parentSpanId: string | null
  name: string
  /** What Vigil shows it as: `llm` | `embeddings` | `tool` | `agent` | `step`. */
  category: string
  /** OTLP span kind: INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER or UNSPECIFIED. */
  spanKind: string
  /** Span start and end, 9 fraction digits. */
  startedAt: Instant
  endedAt: Instant
  durationMs: number
  /** OTLP status code: OK, ERROR or UNSET. */
  status: string
  /** The status message or the first exception's message. */
  error: string | null
  service: string | null
  agentName: string | null
  operation: string | null
  model: string | null
  provider: string | null
  inputTokens?: number
  outputTokens?: number
  toolName: string | null
  toolCallId: string | null
  toolArguments: string | null
  toolResult: string | null
  inputMessages?: LlmMessage[]
  outputText?: string
  /** Other attributes as text (bounded). */
  attributes?: Record<string, string>
  /** Attributes, events and characters dropped by the sender or cut by Vigil. */
  dropped: number
}

export type ServerMessage = DashboardMessage | HubMessage | VigilTraceOriginalMessage | VigilSpanMessage
export type ServerMessageType = ServerMessage['type']
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>

// ---------------------------------------------------------------------------------------------
// Client → server

export interface PingMessage {
  type: 'ping'
}

export const REVIEW_DECISIONS = ['CONTINUE', 'EDIT', 'EXIT_EARLY'] as const
export type ReviewDecisionValue = (typeof REVIEW_DECISIONS)[number]

export interface ReviewDecisionMessage {
  type: 'review_decision'
  reviewId: string
  /** The viz sends CONTINUE | EDIT | EXIT_EARLY; servers map anything unknown to exit-early. */
  decision: string
  revisedOutput?: string
}

export type ClientMessage = PingMessage | ReviewDecisionMessage

/** Types the embedded server keeps for late joiners (`hello.snapshotTrace`, spec §1.2). */
export const PERSISTENT_TYPES: ReadonlySet<ServerMessageType> = new Set<ServerMessageType>([
  'ensemble_started',
  'task_started',
  'task_input',
  'task_completed',
  'task_failed',
  'tool_called',
  'delegation_started',
  'delegation_completed',
  'delegation_failed',
  'file_changed',
  'ensemble_completed'
])

// ---------------------------------------------------------------------------------------------
// Field tables

/** N: key always written, may be null. O: omitted when null. R: required, never null. P: primitive, 0/false when missing. */
type Presence = 'N' | 'O' | 'R' | 'P'

type Kind =
  | 'str'
  | 'num'
  | 'bool'
  | 'json'
  | 'strmap'
  /** Array; `lenient` drops invalid elements instead of rejecting the whole frame. */
  | { readonly arr: Kind; readonly lenient?: boolean }
  | { readonly obj: readonly Field[] }
  /** A nested server message (carries its own `type`), limited to the listed types. */
  | { readonly msg: readonly ServerMessageType[] }
  | { readonly map: Kind }

interface Field {
  readonly key: string
  readonly kind: Kind
  readonly p: Presence
}

const f = (key: string, kind: Kind, p: Presence): Field => ({ key, kind, p })
const N = (key: string, kind: Kind = 'str'): Field => f(key, kind, 'N')
const O = (key: string, kind: Kind = 'str'): Field => f(key, kind, 'O')
const R = (key: string, kind: Kind = 'str'): Field => f(key, kind, 'R')
const P = (key: string, kind: Kind = 'num'): Field => f(key, kind, 'P')

const TOOL_CALL: Kind = { obj: [N('name'), N('arguments')] }
const LLM_MESSAGE: Kind = { obj: [N('role'), N('content'), N('toolCalls', { arr: TOOL_CALL }), N('toolName')] }
const CAPABILITY: Kind = { obj: [O('name'), O('description'), O('type'), O('tags', { arr: 'str' })] }
const ITERATION: Kind = {
  obj: [R('started', { msg: ['llm_iteration_started'] }), O('completed', { msg: ['llm_iteration_completed'] })]
}
const PRODUCER: Kind = {
  obj: [R('producerId'), O('serviceName'), O('instanceId'), O('host'), O('version'), O('tags', 'strmap')]
}

const DASHBOARD_TYPES: readonly ServerMessageType[] = [
  'hello',
  'heartbeat',
  'pong',
  'ensemble_started',
  'ensemble_completed',
  'task_started',
  'task_input',
  'task_completed',
  'task_failed',
  'tool_called',
  'delegation_started',
  'delegation_completed',
  'delegation_failed',
  'review_requested',
  'review_timed_out',
  'token',
  'llm_iteration_started',
  'llm_iteration_completed',
  'file_changed',
  'metrics_snapshot',
  'directive_active'
]

const ENVELOPE_FIELDS: readonly Field[] = [
  R('producer', PRODUCER),
  P('sequence'),
  O('receivedAt'),
  R('message', { msg: [...DASHBOARD_TYPES, 'vigil_span'] })
]

/** Record components in declaration order (= Jackson's output order), `type` excluded. */
const SERVER_FIELDS: { readonly [T in ServerMessageType]: readonly Field[] } = {
  hello: [
    O('ensembleId'),
    O('startedAt'),
    O('snapshotTrace', { arr: { msg: DASHBOARD_TYPES }, lenient: true }),
    O('sharedCapabilities', { arr: CAPABILITY, lenient: true }),
    O('recentIterations', { arr: ITERATION, lenient: true })
  ],
  heartbeat: [P('serverTimeMs')],
  pong: [],
  ensemble_started: [N('ensembleId'), N('startedAt'), P('totalTasks'), N('workflow')],
  ensemble_completed: [
    N('ensembleId'),
    N('completedAt'),
    P('durationMs'),
    N('exitReason'),
    P('totalTokens'),
    P('totalToolCalls')
  ],
  task_started: [P('taskIndex'), P('totalTasks'), N('taskDescription'), N('agentRole'), N('startedAt')],
  task_input: [
    P('taskIndex'),
    N('taskDescription'),
    N('expectedOutput'),
    N('agentRole'),
    N('agentGoal'),
    N('agentBackground'),
    N('toolNames', { arr: 'str' }),
    N('assembledContext'),
    N('sentAt')
  ],
  task_completed: [
    P('taskIndex'),
    P('totalTasks'),
    N('taskDescription'),
    N('agentRole'),
    N('completedAt'),
    P('durationMs'),
    P('tokenCount'),
    P('toolCallCount')
  ],
  task_failed: [P('taskIndex'), N('taskDescription'), N('agentRole'), N('failedAt'), N('reason')],
  tool_called: [
    N('agentRole'),
    P('taskIndex'),
    N('toolName'),
    P('durationMs'),
    N('outcome'),
    N('toolArguments'),
    N('toolResult'),
    N('structuredResult', 'json')
  ],
  delegation_started: [N('delegationId'), N('delegatingAgentRole'), N('workerRole'), N('taskDescription')],
  delegation_completed: [N('delegationId'), N('delegatingAgentRole'), N('workerRole'), P('durationMs')],
  delegation_failed: [N('delegationId'), N('delegatingAgentRole'), N('workerRole'), N('reason')],
  review_requested: [
    R('reviewId'),
    R('taskDescription'),
    R('taskOutput'),
    R('timing'),
    O('prompt'),
    P('timeoutMs'),
    R('onTimeout'),
    O('requiredRole')
  ],
  review_timed_out: [N('reviewId'), N('action')],
  token: [N('token'), N('agentRole'), N('taskDescription'), N('sentAt')],
  llm_iteration_started: [
    R('agentRole'),
    R('taskDescription'),
    P('iterationIndex'),
    R('messages', { arr: LLM_MESSAGE }),
    O('totalMessageCount', 'num')
  ],
  llm_iteration_completed: [
    R('agentRole'),
    R('taskDescription'),
    P('iterationIndex'),
    R('responseType'),
    O('responseText'),
    O('toolRequests', { arr: TOOL_CALL }),
    P('inputTokens'),
    P('outputTokens'),
    P('latencyMs')
  ],
  file_changed: [
    O('agentRole'),
    O('filePath'),
    O('changeType'),
    P('linesAdded'),
    P('linesRemoved'),
    O('timestamp')
  ],
  metrics_snapshot: [
    O('agentRole'),
    P('taskIndex'),
    P('inputTokens'),
    P('outputTokens'),
    P('llmLatencyMs'),
    P('toolExecutionTimeMs'),
    P('iterationCount'),
    O('costEstimate')
  ],
  directive_active: [O('directiveId'), O('from'), O('content'), O('action'), O('value'), O('expiresAt')],
  vigil_trace_original: [N('trace', 'json')],
  vigil_span: [
    R('traceId'),
    R('spanId'),
    N('parentSpanId'),
    R('name'),
    R('category'),
    R('spanKind'),
    R('startedAt'),
    R('endedAt'),
    P('durationMs'),
    R('status'),
    N('error'),
    N('service'),
    N('agentName'),
    N('operation'),
    N('model'),
    N('provider'),
    O('inputTokens', 'num'),
    O('outputTokens', 'num'),
    N('toolName'),
    N('toolCallId'),
    N('toolArguments'),
    N('toolResult'),
    O('inputMessages', { arr: LLM_MESSAGE }),
    O('outputText'),
    O('attributes', 'strmap'),
    P('dropped')
  ],
  event: ENVELOPE_FIELDS,
  hub_hello: [
    O('producers', { arr: PRODUCER, lenient: true }),
    O('snapshotTrace', { arr: { msg: ['event'] }, lenient: true }),
    O('iterationsByProducer', { map: { arr: ITERATION, lenient: true } })
  ],
  producer_joined: [R('producer', PRODUCER), O('joinedAt')],
  producer_left: [R('producerId'), O('leftAt'), O('reason')]
}

const CLIENT_FIELDS: { readonly [T in ClientMessage['type']]: readonly Field[] } = {
  ping: [],
  review_decision: [R('reviewId'), R('decision'), O('revisedOutput')]
}

export const SERVER_MESSAGE_TYPES = Object.keys(SERVER_FIELDS) as ServerMessageType[]

// ---------------------------------------------------------------------------------------------
// Parsing

export type ParseFailure = 'malformed' | 'unknown-type'
export type FrameParseResult<M> = { ok: true; message: M } | { ok: false; reason: ParseFailure }

class Reject {
  constructor(readonly reason: ParseFailure) {}
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function readKind(kind: Kind, v: unknown): unknown {
  if (kind === 'str') {
    if (typeof v !== 'string') throw new Reject('malformed')
    return v
  }
  if (kind === 'num') {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Reject('malformed')
    return v
  }
  if (kind === 'bool') {
    if (typeof v !== 'boolean') throw new Reject('malformed')
    return v
  }
  if (kind === 'json') return v
  if (kind === 'strmap') {
    if (!isRecord(v)) throw new Reject('malformed')
    const out: Record<string, string> = {}
    for (const [k, s] of Object.entries(v)) {
      if (typeof s === 'string') setOwn(out, k, s)
      else if (s !== null) throw new Reject('malformed')
    }
    return out
  }
  if ('arr' in kind) {
    if (!Array.isArray(v)) throw new Reject('malformed')
    const out: unknown[] = []
    for (const item of v) {
      try {
        out.push(readKind(kind.arr, item))
      } catch (e) {
        if (!(e instanceof Reject) || !kind.lenient) throw e
      }
    }
    return out
  }
  if ('obj' in kind) {
    if (!isRecord(v)) throw new Reject('malformed')
    return readFields(kind.obj, v, {})
  }
  if ('msg' in kind) {
    const m = readMessage(v, SERVER_FIELDS)
    if (!kind.msg.includes(m.type as ServerMessageType)) throw new Reject('unknown-type')
    return m
  }
  if (!isRecord(v)) throw new Reject('malformed')
  const out: Record<string, unknown> = {}
  for (const [k, item] of Object.entries(v)) setOwn(out, k, readKind(kind.map, item))
  return out
}

/**
 * `out[k] = value` that keeps every key as data: a plain assignment of "__proto__" would be dropped
 * (strings) or replace the object's prototype (objects). Defined as an own, enumerable property instead,
 * so Object.entries, spread and JSON.stringify see it like any other key.
 */
function setOwn(out: Record<string, unknown>, k: string, value: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true })
  else out[k] = value
}

function readFields(fields: readonly Field[], src: Record<string, unknown>, out: Record<string, unknown>) {
  for (const field of fields) {
    const raw = hasOwn(src, field.key) ? src[field.key] : undefined
    if (raw === undefined || raw === null) {
      if (field.p === 'R') throw new Reject('malformed')
      if (field.p === 'N') out[field.key] = null
      // Jackson fills missing primitives with 0/false.
      else if (field.p === 'P') out[field.key] = field.kind === 'bool' ? false : 0
      continue
    }
    out[field.key] = readKind(field.kind, raw)
  }
  return out
}

function readMessage(v: unknown, table: Readonly<Record<string, readonly Field[]>>): { type: string } {
  if (!isRecord(v) || typeof v.type !== 'string') throw new Reject('malformed')
  const type = v.type
  // Own-property lookup keeps "constructor", "__proto__" and wrong-case names unknown.
  if (!hasOwn(table, type)) throw new Reject('unknown-type')
  const fields = table[type] as readonly Field[]
  return readFields(fields, v, { type }) as { type: string }
}

function parseWith<M>(value: unknown, table: Readonly<Record<string, readonly Field[]>>): FrameParseResult<M> {
  try {
    return { ok: true, message: readMessage(value, table) as M }
  } catch (e) {
    if (e instanceof Reject) return { ok: false, reason: e.reason }
    throw e
  }
}

function parseText<M>(text: string, table: Readonly<Record<string, readonly Field[]>>): FrameParseResult<M> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  return parseWith<M>(value, table)
}

/**
 * Parses one server→client text frame. Unknown fields are ignored, missing nullable fields become
 * null and missing numbers 0 (as the Java side does); `type` must be a known, exact-case name.
 * Invalid elements inside late-join arrays (snapshots, iterations) are dropped, not fatal.
 */
export function parseServerFrame(text: string): FrameParseResult<ServerMessage> {
  return parseText<ServerMessage>(text, SERVER_FIELDS)
}

/** As {@link parseServerFrame}, for an already-decoded JSON value. */
export function parseServerMessage(value: unknown): FrameParseResult<ServerMessage> {
  return parseWith<ServerMessage>(value, SERVER_FIELDS)
}

/** Parses one client→server frame (`ping`, `review_decision`); other client types are unknown here. */
export function parseClientFrame(text: string): FrameParseResult<ClientMessage> {
  return parseText<ClientMessage>(text, CLIENT_FIELDS)
}

// ---------------------------------------------------------------------------------------------
// Serialization

function writeKind(kind: Kind, v: unknown): unknown {
  if (kind === 'str' || kind === 'num' || kind === 'bool' || kind === 'json' || kind === 'strmap') return v
  if ('arr' in kind) return (v as unknown[]).map((item) => writeKind(kind.arr, item))
  if ('obj' in kind) return writeFields(kind.obj, v as Record<string, unknown>, {})
  if ('msg' in kind) return writeMessage(v as { type: string }, SERVER_FIELDS)
  const out: Record<string, unknown> = {}
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) setOwn(out, k, writeKind(kind.map, item))
  return out
}

function writeFields(fields: readonly Field[], src: Record<string, unknown>, out: Record<string, unknown>) {
  for (const field of fields) {
    const v = src[field.key]
    if (v === undefined || v === null) {
      if (field.p === 'N' || field.p === 'R') out[field.key] = null
      else if (field.p === 'P') out[field.key] = field.kind === 'bool' ? false : 0
      continue
    }
    out[field.key] = writeKind(field.kind, v)
  }
  return out
}

function writeMessage(msg: { type: string }, table: Readonly<Record<string, readonly Field[]>>) {
  const fields = hasOwn(table, msg.type) ? (table[msg.type] as readonly Field[]) : []
  return writeFields(fields, msg as unknown as Record<string, unknown>, { type: msg.type })
}

/**
 * JSON.stringify with Jackson's one difference for our data: `\uXXXX` escapes use upper-case hex.
 * Every backslash in JSON output starts an escape, so scanning escape by escape is safe.
 */
export function jacksonStringify(value: unknown): string {
  return JSON.stringify(value).replace(/\\(u[0-9a-fA-F]{4}|.)/g, (m) => (m[1] === 'u' ? '\\u' + m.slice(2).toUpperCase() : m))
}

/** Serializes a server message exactly as AgentEnsemble's MessageSerializer would (key order, nulls). */
export function serializeServerMessage(message: ServerMessage): string {
  return jacksonStringify(writeMessage(message, SERVER_FIELDS))
}

/** Serializes a client message: `{"type":"ping"}` or a `review_decision` with `revisedOutput` omitted when absent. */
export function serializeClientMessage(message: ClientMessage): string {
  return jacksonStringify(writeMessage(message, CLIENT_FIELDS))
}

/** Formats epoch milliseconds like Java's `Instant.toString()` (no fraction when it is zero). */
export function formatInstant(epochMs: number): Instant {
  return new Date(epochMs).toISOString().replace('.000Z', 'Z')
}

// ---------------------------------------------------------------------------------------------
// Hub helpers (§7): pieces a hub needs to build its frames byte-exact from stored raw envelopes.

/** Validates a `ProducerInfo` object (unknown keys ignored); null when invalid. A blank producerId is NOT rejected here. */
export function parseProducerInfo(value: unknown): ProducerInfo | null {
  try {
    return readKind(PRODUCER, value) as ProducerInfo
  } catch (e) {
    if (e instanceof Reject) return null
    throw e
  }
}

/** Serializes a `ProducerInfo` as the hub does (keys in record order, null keys omitted). */
export function serializeProducerInfo(producer: ProducerInfo): string {
  return jacksonStringify(writeKind(PRODUCER, producer))
}

/**
 * Serializes a `hub_hello` whose `snapshotTrace` elements are already-serialized envelope texts
 * (stored verbatim as received). Empty parts are omitted, like the hub's NON_NULL record with nulls.
 */
export function serializeHubHello(parts: {
  producers?: readonly ProducerInfo[]
  snapshotTrace?: readonly string[]
  iterationsByProducer?: Readonly<Record<string, readonly IterationSnapshot[]>>
}): string {
  let out = '{"type":"hub_hello"'
  if (parts.producers && parts.producers.length > 0) {
    out += ',"producers":[' + parts.producers.map(serializeProducerInfo).join(',') + ']'
  }
  if (parts.snapshotTrace && parts.snapshotTrace.length > 0) out += ',"snapshotTrace":[' + parts.snapshotTrace.join(',') + ']'
  // Entry by entry: a producerId such as "__proto__" must stay an ordinary key.
  const iterations = Object.entries(parts.iterationsByProducer ?? {})
  if (iterations.length > 0) {
    const items = iterations.map(([id, list]) => `${jacksonStringify(id)}:${jacksonStringify(writeKind({ arr: ITERATION }, list))}`)
    out += ',"iterationsByProducer":{' + items.join(',') + '}'
  }
  return out + '}'
}

/** The hub → publisher review frame (§7): `{"reviewId":…,"decisionJson":…}`, deliberately without `type`. */
export function serializeReviewForward(reviewId: string, decisionJson: string): string {
  return jacksonStringify({ reviewId, decisionJson })
}

/**
 * Serializes an embedded-dashboard `hello` (§1.2) whose `snapshotTrace` elements are already-serialized
 * server messages, as WebDashboard writes it: null / empty parts omitted, keys in record order.
 */
export function serializeHello(parts: {
  ensembleId?: string | null
  startedAt?: string | null
  snapshotTrace?: readonly string[]
  recentIterations?: readonly IterationSnapshot[]
}): string {
  let out = '{"type":"hello"'
  if (parts.ensembleId !== undefined && parts.ensembleId !== null) out += ',"ensembleId":' + jacksonStringify(parts.ensembleId)
  if (parts.startedAt !== undefined && parts.startedAt !== null) out += ',"startedAt":' + jacksonStringify(parts.startedAt)
  if (parts.snapshotTrace && parts.snapshotTrace.length > 0) out += ',"snapshotTrace":[' + parts.snapshotTrace.join(',') + ']'
  if (parts.recentIterations && parts.recentIterations.length > 0) {
    out += ',"recentIterations":' + jacksonStringify(writeKind({ arr: ITERATION }, parts.recentIterations))
  }
  return out + '}'
}
