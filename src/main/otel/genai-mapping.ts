// One OTLP span → Vigil's `vigil_span` record: what kind of work it was (LLM call, embeddings, tool
// call, agent, step), its model, tokens, prompts and completion, tool name and arguments, and its
// failure, read from the OpenTelemetry GenAI semantic conventions (current and older names) and from
// OpenInference's. docs/otel.md has the table. Pure; bounded (texts, messages and attributes are cut,
// and what was cut is counted in the record's `dropped`).
import type { LlmMessage, LlmToolCall, VigilSpanMessage } from '../../shared/protocol/agentensemble'
import type { OtlpAnyValue, OtlpKeyValue, OtlpSpan, OtlpSpanEvent } from './otlp-model'
import { STATUS_CODE } from './otlp-model'

export interface MappingLimits {
  /** Characters kept of any one text (attribute value, message content, tool arguments…). */
  maxTextChars: number
  /** Messages kept of a prompt (the last ones). */
  maxMessages: number
  /** Other attributes kept per span (as text). */
  maxOtherAttributes: number
  /** Characters kept of one other attribute's value. */
  maxOtherAttributeChars: number
}

export const DEFAULT_MAPPING_LIMITS: MappingLimits = { maxTextChars: 8000, maxMessages: 20, maxOtherAttributes: 32, maxOtherAttributeChars: 1024 }

const SPAN_KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']
const STATUS_NAMES = ['UNSET', 'OK', 'ERROR']

/** gen_ai.operation.name → category. */
const GENAI_OPERATIONS: Record<string, string> = {
  chat: 'llm',
  text_completion: 'llm',
  generate_content: 'llm',
  embeddings: 'embeddings',
  execute_tool: 'tool',
  invoke_agent: 'agent',
  create_agent: 'agent'
}

/** openinference.span.kind → category. */
const OPENINFERENCE_KINDS: Record<string, string> = {
  LLM: 'llm',
  EMBEDDING: 'embeddings',
  TOOL: 'tool',
  AGENT: 'agent',
  CHAIN: 'step',
  RETRIEVER: 'step',
  RERANKER: 'step',
  GUARDRAIL: 'step',
  EVALUATOR: 'step'
}

/** Attributes the record carries in its own fields (not repeated among "other attributes"). */
const CONSUMED = new Set([
  'gen_ai.operation.name',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.provider.name',
  'gen_ai.system',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.prompt_tokens',
  'gen_ai.usage.completion_tokens',
  'gen_ai.agent.name',
  'gen_ai.tool.name',
  'gen_ai.tool.call.id',
  'gen_ai.tool.call.arguments',
  'gen_ai.tool.call.result',
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  'gen_ai.prompt',
  'gen_ai.completion',
  'openinference.span.kind',
  'llm.model_name',
  'llm.provider',
  'llm.system',
  'llm.token_count.prompt',
  'llm.token_count.completion',
  'llm.token_count.total',
  'input.value',
  'output.value',
  'input.mime_type',
  'output.mime_type',
  'tool.name',
  'tool.parameters',
  'tool_call.id',
  'agent.name'
])

/** Indexed attribute families (`gen_ai.prompt.0.content`, `llm.input_messages.0.message.role`…), read as messages. */
const INDEXED = /^(gen_ai\.prompt|gen_ai\.completion|llm\.input_messages|llm\.output_messages)\.(\d+)\.(.+)$/

/** A span's attributes by key (the last value of a repeated key wins, as in the SDKs). */
export type Attrs = Map<string, OtlpAnyValue>

export function attrMap(list: readonly OtlpKeyValue[] | undefined): Attrs {
  const m: Attrs = new Map()
  if (list) for (const kv of list) m.set(kv.key, kv.value)
  return m
}

/** An AnyValue as text: strings as they are, numbers and booleans printed, arrays and maps as JSON. */
export function anyText(v: OtlpAnyValue | undefined): string | null {
  if (!v) return null
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return v.intValue.toString()
  if (v.doubleValue !== undefined) return String(v.doubleValue)
  if (v.boolValue !== undefined) return String(v.boolValue)
  if (v.arrayValue || v.kvlistValue) return JSON.stringify(anyJson(v))
  if (v.bytesValue !== undefined) return Buffer.from(v.bytesValue).toString('base64')
  return null
}

function anyJson(v: OtlpAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.arrayValue) return v.arrayValue.values.map(anyJson)
  if (v.kvlistValue) return Object.fromEntries(v.kvlistValue.values.map((kv) => [kv.key, anyJson(kv.value)]))
  if (v.bytesValue !== undefined) return Buffer.from(v.bytesValue).toString('base64')
  return null
}

function anyNumber(v: OtlpAnyValue | undefined): number | undefined {
  if (!v) return undefined
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined && Number.isFinite(v.doubleValue)) return v.doubleValue
  if (v.stringValue !== undefined && /^\d+$/.test(v.stringValue)) return Number(v.stringValue)
  return undefined
}

/** Nanoseconds since 1970 as an ISO-8601 UTC instant with 9 fraction digits (null past what a Date holds). */
export function nanosToInstant(ns: bigint): string | null {
  if (ns < 0n || ns > 8_640_000_000_000_000_000_000n) return null
  const second = ns / 1_000_000_000n
  // Spans of a batch share their seconds: the date part is formatted once per second seen.
  if (second !== lastSecond.second) {
    const iso = new Date(Number(second) * 1000).toISOString()
    // toISOString gives ±YYYYYY for years past 9999.
    if (iso.length !== 24) return null
    lastSecond.second = second
    lastSecond.prefix = iso.slice(0, 19)
  }
  return `${lastSecond.prefix}.${(ns - second * 1_000_000_000n).toString().padStart(9, '0')}Z`
}

const lastSecond = { second: -1n, prefix: '' }

interface Cutter {
  dropped: number
  text(s: string | null | undefined): string | null
}

function cutter(max: number): Cutter {
  const c: Cutter = {
    dropped: 0,
    text(s) {
      if (s === null || s === undefined) return null
      if (s.length <= max) return s
      c.dropped++
      return s.slice(0, max)
    }
  }
  return c
}

function firstText(a: Attrs, ...keys: string[]): string | null {
  for (const k of keys) {
    const t = anyText(a.get(k))
    if (t !== null && t !== '') return t
  }
  return null
}

function firstNumber(a: Attrs, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const n = anyNumber(a.get(k))
    if (n !== undefined) return n
  }
  return undefined
}

/** Text of a message in the current conventions' shape: {role, parts:[{type:'text', content}|{type:'tool_call', name, arguments}]}, or {role, content}. */
function messageFromJson(m: unknown): LlmMessage | null {
  if (typeof m !== 'object' || m === null) return typeof m === 'string' ? { role: null, content: m, toolCalls: null, toolName: null } : null
  const o = m as Record<string, unknown>
  const role = typeof o.role === 'string' ? o.role : null
  const texts: string[] = []
  const calls: LlmToolCall[] = []
  const consider = (p: unknown) => {
    if (typeof p === 'string') return void texts.push(p)
    if (typeof p !== 'object' || p === null) return
    const q = p as Record<string, unknown>
    if (q.type === 'tool_call' || q.type === 'function') {
      const args = q.arguments ?? (q.function as Record<string, unknown> | undefined)?.arguments
      calls.push({ name: typeof q.name === 'string' ? q.name : null, arguments: args === undefined ? null : typeof args === 'string' ? args : JSON.stringify(args) })
      return
    }
    const c = q.content ?? q.text ?? q.result ?? q.response
    if (typeof c === 'string') texts.push(c)
    else if (c !== undefined && c !== null) texts.push(JSON.stringify(c))
  }
  if (Array.isArray(o.parts)) o.parts.forEach(consider)
  else if (Array.isArray(o.content)) o.content.forEach(consider)
  else if (typeof o.content === 'string') texts.push(o.content)
  else if (typeof o.message === 'object' && o.message !== null) return messageFromJson(o.message)
  if (Array.isArray(o.tool_calls)) o.tool_calls.forEach((t) => consider({ type: 'tool_call', ...(t as object) }))
  return { role, content: texts.length ? texts.join('\n') : null, toolCalls: calls.length ? calls : null, toolName: null }
}

/** A messages attribute: JSON text (an array of messages, or one), else the text itself as one message. */
function messagesFromValue(v: OtlpAnyValue | undefined, defaultRole: string): LlmMessage[] {
  if (!v) return []
  let parsed: unknown
  const text = v.stringValue
  if (text !== undefined) {
    const t = text.trimStart()
    if (t.startsWith('[') || t.startsWith('{')) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = text
      }
    } else parsed = text
  } else parsed = anyJson(v)
  const list = Array.isArray(parsed) ? parsed : [parsed]
  const out: LlmMessage[] = []
  for (const m of list) {
    const msg = messageFromJson(m)
    if (msg) out.push({ ...msg, role: msg.role ?? defaultRole })
  }
  return out
}

/** Indexed families, e.g. gen_ai.prompt.0.role / .content, llm.input_messages.0.message.content. */
function indexedMessages(a: Attrs): { input: LlmMessage[]; output: LlmMessage[] } {
  const families: Record<string, Map<number, Record<string, string>>> = {}
  for (const [key, value] of a) {
    const m = INDEXED.exec(key)
    if (!m) continue
    const fam = (families[m[1]!] ??= new Map())
    const idx = Number(m[2])
    let rec = fam.get(idx)
    if (!rec) fam.set(idx, (rec = {}))
    rec[m[3]!.replace(/^message\./, '')] = anyText(value) ?? ''
  }
  const toMessages = (fam: Map<number, Record<string, string>> | undefined, role: string): LlmMessage[] =>
    fam
      ? [...fam.entries()]
          .sort((x, y) => x[0] - y[0])
          .map(([, r]) => ({ role: r.role ?? role, content: r.content ?? null, toolCalls: null, toolName: r.name ?? null }))
      : []
  return {
    input: [...toMessages(families['gen_ai.prompt'], 'user'), ...toMessages(families['llm.input_messages'], 'user')],
    output: [...toMessages(families['gen_ai.completion'], 'assistant'), ...toMessages(families['llm.output_messages'], 'assistant')]
  }
}

const INPUT_EVENT_ROLES: Record<string, string> = {
  'gen_ai.system.message': 'system',
  'gen_ai.user.message': 'user',
  'gen_ai.assistant.message': 'assistant',
  'gen_ai.tool.message': 'tool'
}

/** Prompts and completions carried as span events (older GenAI conventions and the inference details event). */
function eventMessages(events: readonly OtlpSpanEvent[]): { input: LlmMessage[]; output: LlmMessage[] } {
  const input: LlmMessage[] = []
  const output: LlmMessage[] = []
  for (const ev of events) {
    const ea = attrMap(ev.attributes)
    const role = INPUT_EVENT_ROLES[ev.name]
    if (role) {
      const content = ea.get('content') ?? ea.get('gen_ai.event.content') ?? ea.get('message')
      const msgs = messagesFromValue(content, role)
      input.push(...(msgs.length ? msgs.map((m) => ({ ...m, role: m.role ?? role })) : [{ role, content: null, toolCalls: null, toolName: null }]))
    } else if (ev.name === 'gen_ai.choice') {
      output.push(...messagesFromValue(ea.get('message') ?? ea.get('content') ?? ea.get('gen_ai.event.content'), 'assistant'))
    } else if (ev.name === 'gen_ai.content.prompt') {
      input.push(...messagesFromValue(ea.get('gen_ai.prompt'), 'user'))
    } else if (ev.name === 'gen_ai.content.completion') {
      output.push(...messagesFromValue(ea.get('gen_ai.completion'), 'assistant'))
    } else if (ev.name === 'gen_ai.client.inference.operation.details') {
      input.push(...messagesFromValue(ea.get('gen_ai.input.messages'), 'user'))
      output.push(...messagesFromValue(ea.get('gen_ai.output.messages'), 'assistant'))
    }
  }
  return { input, output }
}

/** The category of a span from its attributes (GenAI first, then OpenInference, then what it carries). */
export function spanCategory(a: Attrs): string {
  const op = anyText(a.get('gen_ai.operation.name'))
  if (op && GENAI_OPERATIONS[op]) return GENAI_OPERATIONS[op]
  const oi = anyText(a.get('openinference.span.kind'))
  if (oi && OPENINFERENCE_KINDS[oi.toUpperCase()]) return OPENINFERENCE_KINDS[oi.toUpperCase()]!
  if (a.has('gen_ai.tool.name')) return 'tool'
  if (a.has('gen_ai.request.model') || a.has('llm.model_name')) return 'llm'
  if (a.has('gen_ai.agent.name') && !op) return 'agent'
  return 'step'
}

export interface SpanContext {
  /** `service.name` of the span's resource. */
  service: string | null
  /** Nanoseconds "now", for spans without a start time. */
  nowNanos: bigint
}

/** Maps one span (already checked: ids of the right length) to its record. */
export function mapSpan(span: OtlpSpan, ctx: SpanContext, limits: MappingLimits = DEFAULT_MAPPING_LIMITS): VigilSpanMessage {
  const a = attrMap(span.attributes)
  const cut = cutter(limits.maxTextChars)
  const category = spanCategory(a)
  const start = span.startTimeUnixNano > 0n ? span.startTimeUnixNano : ctx.nowNanos
  const end = span.endTimeUnixNano >= start ? span.endTimeUnixNano : start
  const startedAt = nanosToInstant(start) ?? (nanosToInstant(ctx.nowNanos) as string)
  const endedAt = nanosToInstant(end) ?? startedAt

  // Failure: status ERROR, or an exception event on a span whose status is not OK.
  const exception = span.events.find((e) => e.name === 'exception')
  let error: string | null = null
  if (exception) {
    const ea = attrMap(exception.attributes)
    const type = anyText(ea.get('exception.type'))
    const message = anyText(ea.get('exception.message'))
    error = type && message ? `${type}: ${message}` : (message ?? type)
  }
  const code = span.status?.code ?? STATUS_CODE.unset
  const failed = code === STATUS_CODE.error || (code !== STATUS_CODE.ok && exception !== undefined)
  if (span.status?.message) error = span.status.message
  if (failed && !error) error = anyText(a.get('error.type'))

  const model = firstText(a, 'gen_ai.response.model', 'gen_ai.request.model', 'llm.model_name')
  const isLlm = category === 'llm' || category === 'embeddings'
  const isTool = category === 'tool'

  let inputMessages: LlmMessage[] = []
  let outputText: string | null = null
  if (isLlm) {
    const indexed = indexedMessages(a)
    const events = eventMessages(span.events)
    inputMessages = messagesFromValue(a.get('gen_ai.input.messages'), 'user')
    const system = a.get('gen_ai.system_instructions')
    if (system) inputMessages = [...messagesFromValue(system, 'system').map((m) => ({ ...m, role: 'system' })), ...inputMessages]
    if (!inputMessages.length) inputMessages = messagesFromValue(a.get('gen_ai.prompt'), 'user')
    if (!inputMessages.length) inputMessages = indexed.input
    if (!inputMessages.length) inputMessages = events.input
    if (!inputMessages.length) inputMessages = messagesFromValue(a.get('input.value'), 'user')
    let output = messagesFromValue(a.get('gen_ai.output.messages'), 'assistant')
    if (!output.length) output = messagesFromValue(a.get('gen_ai.completion'), 'assistant')
    if (!output.length) output = indexed.output
    if (!output.length) output = events.output
    if (!output.length) output = messagesFromValue(a.get('output.value'), 'assistant')
    const texts = output.map((m) => m.content).filter((c): c is string => !!c)
    outputText = texts.length ? texts.join('\n') : null
  }
  if (inputMessages.length > limits.maxMessages) {
    cut.dropped += inputMessages.length - limits.maxMessages
    inputMessages = inputMessages.slice(-limits.maxMessages)
  }
  inputMessages = inputMessages.map((m) => ({
    role: cut.text(m.role),
    content: cut.text(m.content),
    toolCalls: m.toolCalls ? m.toolCalls.slice(0, limits.maxMessages).map((c) => ({ name: cut.text(c.name), arguments: cut.text(c.arguments) })) : null,
    toolName: cut.text(m.toolName)
  }))

  const others: Record<string, string> = {}
  let otherCount = 0
  for (const [key, value] of a) {
    if (CONSUMED.has(key) || INDEXED.test(key)) continue
    if (otherCount >= limits.maxOtherAttributes) {
      cut.dropped++
      continue
    }
    otherCount++
    let t = anyText(value) ?? ''
    if (t.length > limits.maxOtherAttributeChars) {
      t = t.slice(0, limits.maxOtherAttributeChars)
      cut.dropped++
    }
    others[key.length > 200 ? key.slice(0, 200) : key] = t
  }

  const inputTokens = firstNumber(a, 'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt')
  const outputTokens = firstNumber(a, 'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion')
  const record: VigilSpanMessage = {
    type: 'vigil_span',
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId === '' || /^0+$/.test(span.parentSpanId) ? null : span.parentSpanId,
    name: cut.text(span.name) ?? '',
    category,
    spanKind: SPAN_KIND_NAMES[span.kind] ?? 'UNSPECIFIED',
    startedAt,
    endedAt,
    durationMs: Number(end - start) / 1e6,
    status: failed ? 'ERROR' : (STATUS_NAMES[code] ?? 'UNSET'),
    error: cut.text(error),
    service: cut.text(ctx.service),
    agentName: cut.text(firstText(a, 'gen_ai.agent.name', 'agent.name')),
    operation: cut.text(anyText(a.get('gen_ai.operation.name')) ?? anyText(a.get('openinference.span.kind'))),
    model: cut.text(model),
    provider: cut.text(firstText(a, 'gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system')),
    toolName: isTool ? cut.text(firstText(a, 'gen_ai.tool.name', 'tool.name') ?? span.name) : null,
    toolCallId: isTool ? cut.text(firstText(a, 'gen_ai.tool.call.id', 'tool_call.id')) : null,
    toolArguments: isTool ? cut.text(firstText(a, 'gen_ai.tool.call.arguments', 'tool.parameters', 'input.value')) : null,
    toolResult: isTool ? cut.text(firstText(a, 'gen_ai.tool.call.result', 'output.value')) : null,
    dropped: 0
  }
  if (inputTokens !== undefined) record.inputTokens = inputTokens
  if (outputTokens !== undefined) record.outputTokens = outputTokens
  if (isLlm) record.inputMessages = inputMessages
  const out = cut.text(outputText)
  if (out !== null) record.outputText = out
  if (otherCount > 0) record.attributes = others
  record.dropped = cut.dropped + (span.droppedAttributesCount ?? 0) + (span.droppedEventsCount ?? 0) + (span.droppedLinksCount ?? 0)
  return record
}
