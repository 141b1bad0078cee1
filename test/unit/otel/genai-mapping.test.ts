// Span → vigil_span mapping: GenAI semantic conventions (current and older names, prompts from
// attributes and from events), OpenInference, failures, times and the bounds (what is cut is counted).
import { describe, expect, it } from 'vitest'
import { mapSpan, nanosToInstant, spanCategory, attrMap } from '../../../src/main/otel/genai-mapping'
import type { OtlpAnyValue, OtlpKeyValue, OtlpSpan, OtlpSpanEvent } from '../../../src/main/otel/otlp-model'

const s = (v: string): OtlpAnyValue => ({ stringValue: v })
const i = (v: number): OtlpAnyValue => ({ intValue: BigInt(v) })
const kv = (o: Record<string, OtlpAnyValue>): OtlpKeyValue[] => Object.entries(o).map(([key, value]) => ({ key, value }))

function span(attrs: Record<string, OtlpAnyValue>, extra: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    traceId: 'ab'.repeat(16),
    spanId: 'cd'.repeat(8),
    parentSpanId: 'ef'.repeat(8),
    name: 'span',
    kind: 3,
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_001_623_456_789n,
    attributes: kv(attrs),
    events: [],
    links: [],
    ...extra
  }
}
const ctx = { service: 'svc', nowNanos: 1_800_000_000_000_000_000n }
const event = (name: string, attrs: Record<string, OtlpAnyValue>): OtlpSpanEvent => ({ name, timeUnixNano: 0n, attributes: kv(attrs) })

describe('categories', () => {
  it.each([
    [{ 'gen_ai.operation.name': s('chat') }, 'llm'],
    [{ 'gen_ai.operation.name': s('text_completion') }, 'llm'],
    [{ 'gen_ai.operation.name': s('embeddings') }, 'embeddings'],
    [{ 'gen_ai.operation.name': s('execute_tool') }, 'tool'],
    [{ 'gen_ai.operation.name': s('invoke_agent') }, 'agent'],
    [{ 'openinference.span.kind': s('LLM') }, 'llm'],
    [{ 'openinference.span.kind': s('TOOL') }, 'tool'],
    [{ 'openinference.span.kind': s('AGENT') }, 'agent'],
    [{ 'openinference.span.kind': s('CHAIN') }, 'step'],
    [{ 'openinference.span.kind': s('EMBEDDING') }, 'embeddings'],
    [{ 'gen_ai.request.model': s('m') }, 'llm'],
    [{ 'http.method': s('GET') }, 'step']
  ])('%o → %s', (attrs, category) => {
    expect(spanCategory(attrMap(kv(attrs)))).toBe(category)
  })
})

describe('GenAI conventions', () => {
  it('a chat span: model (response over request), provider, tokens, messages and answer from attributes', () => {
    const m = mapSpan(
      span({
        'gen_ai.operation.name': s('chat'),
        'gen_ai.request.model': s('gpt-4o'),
        'gen_ai.response.model': s('gpt-4o-2024-08-06'),
        'gen_ai.provider.name': s('openai'),
        'gen_ai.usage.input_tokens': i(100),
        'gen_ai.usage.output_tokens': i(20),
        'gen_ai.system_instructions': s(JSON.stringify([{ type: 'text', content: 'Be brief.' }])),
        'gen_ai.input.messages': s(JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Hi' }] }, { role: 'assistant', parts: [{ type: 'tool_call', name: 'lookup', arguments: { q: 1 } }] }])),
        'gen_ai.output.messages': s(JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello!' }], finish_reason: 'stop' }])),
        'server.address': s('api.openai.com')
      }),
      ctx
    )
    expect(m).toMatchObject({ category: 'llm', model: 'gpt-4o-2024-08-06', provider: 'openai', inputTokens: 100, outputTokens: 20, outputText: 'Hello!', spanKind: 'CLIENT', status: 'UNSET', error: null })
    expect(m.inputMessages).toEqual([
      { role: 'system', content: 'Be brief.', toolCalls: null, toolName: null },
      { role: 'user', content: 'Hi', toolCalls: null, toolName: null },
      { role: 'assistant', content: null, toolCalls: [{ name: 'lookup', arguments: '{"q":1}' }], toolName: null }
    ])
    expect(m.attributes).toEqual({ 'server.address': 'api.openai.com' })
    expect(m.startedAt).toBe('2023-11-14T22:13:20.123456789Z')
    expect(m.durationMs).toBe(1500)
  })

  it('older names: gen_ai.system, prompt_tokens, indexed gen_ai.prompt.N / gen_ai.completion.N', () => {
    const m = mapSpan(
      span({
        'gen_ai.system': s('anthropic'),
        'gen_ai.request.model': s('claude-3'),
        'gen_ai.usage.prompt_tokens': i(7),
        'gen_ai.usage.completion_tokens': i(3),
        'gen_ai.prompt.0.role': s('system'),
        'gen_ai.prompt.0.content': s('You are terse.'),
        'gen_ai.prompt.1.role': s('user'),
        'gen_ai.prompt.1.content': s('2+2?'),
        'gen_ai.completion.0.role': s('assistant'),
        'gen_ai.completion.0.content': s('4')
      }),
      ctx
    )
    expect(m).toMatchObject({ category: 'llm', provider: 'anthropic', model: 'claude-3', inputTokens: 7, outputTokens: 3, outputText: '4' })
    expect(m.inputMessages?.map((x) => [x.role, x.content])).toEqual([['system', 'You are terse.'], ['user', '2+2?']])
    expect(m.attributes).toBeUndefined()
  })

  it('prompts and completions from span events (gen_ai.user.message, gen_ai.choice, gen_ai.content.*)', () => {
    const a = mapSpan(
      span({ 'gen_ai.operation.name': s('chat') }, {
        events: [event('gen_ai.system.message', { content: s('sys') }), event('gen_ai.user.message', { content: s('question') }), event('gen_ai.choice', { message: s(JSON.stringify({ role: 'assistant', content: 'answer' })) })]
      }),
      ctx
    )
    expect(a.inputMessages?.map((x) => [x.role, x.content])).toEqual([['system', 'sys'], ['user', 'question']])
    expect(a.outputText).toBe('answer')
    const b = mapSpan(
      span({ 'gen_ai.operation.name': s('chat') }, { events: [event('gen_ai.content.prompt', { 'gen_ai.prompt': s('old prompt') }), event('gen_ai.content.completion', { 'gen_ai.completion': s('old answer') })] }),
      ctx
    )
    expect(b.inputMessages?.[0]?.content).toBe('old prompt')
    expect(b.outputText).toBe('old answer')
  })

  it('a tool span: name, call id, arguments and result', () => {
    const m = mapSpan(
      span({ 'gen_ai.operation.name': s('execute_tool'), 'gen_ai.tool.name': s('search'), 'gen_ai.tool.call.id': s('c1'), 'gen_ai.tool.call.arguments': s('{"q":"x"}'), 'gen_ai.tool.call.result': s('[1]') }),
      ctx
    )
    expect(m).toMatchObject({ category: 'tool', toolName: 'search', toolCallId: 'c1', toolArguments: '{"q":"x"}', toolResult: '[1]' })
    expect(m.inputMessages).toBeUndefined()
  })

  it('an agent span keeps its agent name', () => {
    expect(mapSpan(span({ 'gen_ai.operation.name': s('invoke_agent'), 'gen_ai.agent.name': s('planner') }), ctx)).toMatchObject({ category: 'agent', agentName: 'planner', service: 'svc' })
  })
})

describe('OpenInference', () => {
  it('LLM spans: llm.model_name, token counts, llm.input_messages.N.message.*, output messages', () => {
    const m = mapSpan(
      span({
        'openinference.span.kind': s('LLM'),
        'llm.model_name': s('gpt-4o-mini'),
        'llm.provider': s('openai'),
        'llm.token_count.prompt': i(11),
        'llm.token_count.completion': i(5),
        'llm.input_messages.0.message.role': s('user'),
        'llm.input_messages.0.message.content': s('hello'),
        'llm.output_messages.0.message.role': s('assistant'),
        'llm.output_messages.0.message.content': s('hi there')
      }),
      ctx
    )
    expect(m).toMatchObject({ category: 'llm', model: 'gpt-4o-mini', provider: 'openai', inputTokens: 11, outputTokens: 5, outputText: 'hi there' })
    expect(m.inputMessages).toEqual([{ role: 'user', content: 'hello', toolCalls: null, toolName: null }])
  })

  it('input.value / output.value when there are no messages; TOOL spans with tool.name', () => {
    const llm = mapSpan(span({ 'openinference.span.kind': s('LLM'), 'input.value': s('plain prompt'), 'output.value': s('plain answer') }), ctx)
    expect(llm.inputMessages?.[0]).toMatchObject({ role: 'user', content: 'plain prompt' })
    expect(llm.outputText).toBe('plain answer')
    const tool = mapSpan(span({ 'openinference.span.kind': s('TOOL'), 'tool.name': s('calc'), 'input.value': s('{"x":2}'), 'output.value': s('4') }), ctx)
    expect(tool).toMatchObject({ category: 'tool', toolName: 'calc', toolArguments: '{"x":2}', toolResult: '4' })
  })
})

describe('failures, times and bounds', () => {
  it('status ERROR with its message; an exception event on an unset status is a failure with type and message', () => {
    expect(mapSpan(span({}, { status: { code: 2, message: 'boom' } }), ctx)).toMatchObject({ status: 'ERROR', error: 'boom' })
    const ex = mapSpan(span({}, { events: [event('exception', { 'exception.type': s('TimeoutError'), 'exception.message': s('took too long') })] }), ctx)
    expect(ex).toMatchObject({ status: 'ERROR', error: 'TimeoutError: took too long' })
    // An exception the span handled (status OK) is not a failure.
    expect(mapSpan(span({}, { status: { code: 1 }, events: [event('exception', { 'exception.message': s('retried') })] }), ctx).status).toBe('OK')
  })

  it('a root has no parent (empty or all-zero parent id)', () => {
    expect(mapSpan(span({}, { parentSpanId: '' }), ctx).parentSpanId).toBeNull()
    expect(mapSpan(span({}, { parentSpanId: '0'.repeat(16) }), ctx).parentSpanId).toBeNull()
  })

  it('missing or impossible times: start defaults to now, an end before the start is the start', () => {
    const m = mapSpan(span({}, { startTimeUnixNano: 0n, endTimeUnixNano: 0n }), ctx)
    expect(m.startedAt).toBe(nanosToInstant(ctx.nowNanos))
    expect(m.durationMs).toBe(0)
    expect(nanosToInstant(1n)).toBe('1970-01-01T00:00:00.000000001Z')
    // The largest time a fixed64 holds is still a date.
    expect(nanosToInstant(2n ** 64n - 1n)).toBe('2554-07-21T23:34:33.709551615Z')
    expect(nanosToInstant(-1n)).toBeNull()
  })

  it('texts, messages and other attributes are bounded, and what was cut is counted with what the sender dropped', () => {
    const many: Record<string, OtlpAnyValue> = { 'gen_ai.operation.name': s('chat'), 'gen_ai.input.messages': s(JSON.stringify(Array.from({ length: 30 }, (_, k) => ({ role: 'user', content: `m${k}` })))) }
    for (let k = 0; k < 40; k++) many[`x.${k}`] = s(k === 0 ? 'y'.repeat(5000) : 'v')
    many['gen_ai.output.messages'] = s(JSON.stringify([{ role: 'assistant', content: 'z'.repeat(9000) }]))
    const m = mapSpan(span(many, { droppedAttributesCount: 4, droppedEventsCount: 1 }), ctx)
    expect(m.inputMessages).toHaveLength(20)
    expect(m.inputMessages?.[0]?.content).toBe('m10')
    expect(Object.keys(m.attributes ?? {})).toHaveLength(32)
    expect(m.attributes?.['x.0']).toHaveLength(1024)
    expect(m.outputText).toHaveLength(8000)
    // 10 messages + 8 attributes over the count + 1 long attribute + 1 long answer + 5 from the sender.
    expect(m.dropped).toBe(10 + 8 + 1 + 1 + 5)
  })
})
