// Sends GenAI spans with the official OpenTelemetry JS SDK (NodeTracerProvider + the OTLP/HTTP
// exporters, protobuf or JSON) the way an instrumented agent does: an agent span, a chat with tokens
// and messages, a tool call, and a failing chat; children end (and are exported) before their parent.
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

export interface SentTrace {
  traceId: string
  rootSpanId: string
}

export type Wire = 'protobuf' | 'json'

/**
 * One agent run as a trace: `invoke_agent <agent>` (root) → `chat <model>` (tokens, prompt, answer),
 * `execute_tool get_weather`, `chat <model>` failing with an exception. Resolves once exported (the
 * exporter got the receiver's 200, or throws with its error).
 */
export async function sendAgentTrace(baseUrl: string, wire: Wire, opts: { service: string; agent: string; headers?: Record<string, string>; withRoot?: boolean }): Promise<SentTrace> {
  const url = `${baseUrl}/v1/traces`
  const exporter = wire === 'protobuf' ? new ProtoExporter({ url, headers: opts.headers }) : new JsonExporter({ url, headers: opts.headers })
  const failures: unknown[] = []
  const watched = {
    export: (spans: Parameters<typeof exporter.export>[0], done: Parameters<typeof exporter.export>[1]) =>
      exporter.export(spans, (result) => {
        if (result.code !== 0) failures.push(result.error ?? new Error('export failed'))
        done(result)
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush()
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.service }),
    spanProcessors: [new BatchSpanProcessor(watched, { scheduledDelayMillis: 50 })]
  })
  const tracer = provider.getTracer('vigil-otel-test', '1.0.0')
  const root = tracer.startSpan(`invoke_agent ${opts.agent}`, {
    kind: SpanKind.INTERNAL,
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': opts.agent, 'gen_ai.provider.name': 'openai' }
  })
  const ctx = trace.setSpan(context.active(), root)
  const chat = tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT }, ctx)
  chat.setAttributes({
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.response.model': 'gpt-4o-2024-08-06',
    'gen_ai.usage.input_tokens': 321,
    'gen_ai.usage.output_tokens': 45,
    'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'What is the weather in Paris?' }] }]),
    'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Let me check the weather tool.' }] }])
  })
  chat.end()
  const tool = tracer.startSpan('execute_tool get_weather', { kind: SpanKind.INTERNAL }, ctx)
  tool.setAttributes({
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': 'get_weather',
    'gen_ai.tool.call.id': 'call_42',
    'gen_ai.tool.call.arguments': '{"city":"Paris"}',
    'gen_ai.tool.call.result': '{"temp":18}'
  })
  tool.end()
  const broken = tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT }, ctx)
  broken.setAttributes({ 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o' })
  broken.recordException(new Error('Rate limit reached for gpt-4o'))
  broken.setStatus({ code: SpanStatusCode.ERROR, message: 'Rate limit reached for gpt-4o' })
  broken.end()
  if (opts.withRoot !== false) root.end()
  await provider.forceFlush()
  await provider.shutdown()
  if (failures.length) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]))
  return { traceId: root.spanContext().traceId, rootSpanId: root.spanContext().spanId }
}
