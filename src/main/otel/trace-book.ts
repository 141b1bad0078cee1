// What the OTLP receiver remembers of the traces it is receiving: per trace, its spans so far (for the
// per-trace bound), its tokens and tool calls (for the run's totals) and whether its root arrived.
// Bounded: past maxOpenTraces the least recently seen trace is forgotten (counted). Forgetting loses
// nothing recorded; a late span of a forgotten trace still goes to its run while Vigil holds it.

export interface TraceEntry {
  traceId: string
  producerId: string
  service: string
  spans: number
  tokens: number
  toolCalls: number
  rootSeen: boolean
  /** An ensemble_started for it is on its way to being durable (not yet applied). */
  startPending: boolean
  /** Agent spans seen (span id → gen_ai.agent.name), so their descendants are attributed to them; bounded. */
  agentBySpan: Map<string, string>
}

export class TraceBook {
  private readonly traces = new Map<string, TraceEntry>()
  forgotten = 0

  constructor(private readonly maxOpenTraces: number) {}

  get size(): number {
    return this.traces.size
  }

  /** Open traces (root not seen yet). */
  openCount(): number {
    let n = 0
    for (const t of this.traces.values()) if (!t.rootSeen) n++
    return n
  }

  /** The entry of a trace, created when new; touching it makes it the most recently seen. */
  entry(traceId: string, producerId: string, service: string): TraceEntry {
    let e = this.traces.get(traceId)
    if (e) {
      this.traces.delete(traceId)
      this.traces.set(traceId, e)
      return e
    }
    e = { traceId, producerId, service, spans: 0, tokens: 0, toolCalls: 0, rootSeen: false, startPending: false, agentBySpan: new Map() }
    this.traces.set(traceId, e)
    while (this.traces.size > this.maxOpenTraces) {
      const oldest = this.traces.keys().next().value as string
      this.traces.delete(oldest)
      this.forgotten++
    }
    return e
  }
}
