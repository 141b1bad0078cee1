/**
 * Vigil's agent SDK (`vigil-agent-tower/sdk`): publish a run to a Vigil hub as AgentEnsemble-protocol
 * events, and ask a human for a review decision. Plain Node; its only dependency is `ws`.
 *
 * ```js
 * import { connect } from 'vigil-agent-tower/sdk'
 * const hub = await connect({ url: 'ws://127.0.0.1:7400' })
 * const run = hub.run({ name: 'release-notes', totalTasks: 2 })
 * const notes = await run.task('Draft the notes', async (t) => {
 *   const log = await t.tool('git_log', { since: 'v2.3' }, async () => '…')
 *   return t.llm({ model: 'my-model', prompt: `Summarise:\n${log}` }, async () => ({ text: '…' }))
 * })
 * const review = await run.review({ description: 'Publish these notes?', output: notes, timeout: '5m' })
 * await run.end(review.decision === 'EXIT_EARLY' ? 'USER_EXIT_EARLY' : 'COMPLETED')
 * await hub.close()
 * ```
 *
 * See docs/sdk.md for the events each helper sends and how decisions come back.
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import {
  formatInstant,
  parseClientFrame,
  serializeServerMessage,
  type DashboardMessage,
  type EventEnvelope,
  type LlmMessage,
  type LlmToolCall,
  type ProducerInfo,
  type ReviewRequestedMessage
} from '../shared/protocol/agentensemble'
import { HubConnection, type HubStats } from './hub-connection'

export type { HubStats } from './hub-connection'

/** Where Vigil's hub listens by default (`vigil serve` and the desktop app). */
export const DEFAULT_HUB_URL = 'ws://127.0.0.1:7400/ingress'

/** Options of {@link connect}. */
export interface ConnectOptions {
  /**
   * The hub: `ws://host:port/ingress`, or just `ws://host:port` / `http://host:port` (the SDK adds
   * `/ingress`). Default: `VIGIL_URL`, else {@link DEFAULT_HUB_URL}.
   */
  url?: string
  /** The ingress token, needed only from another machine. Default: `VIGIL_TOKEN`. */
  token?: string
  /** This agent's stable id (runs and review decisions are tied to it). Default: `<hostname>-<pid>`. */
  producerId?: string
  /** Shown next to the producer in Vigil. Default: `vigil-sdk`. */
  serviceName?: string
  /** Free-form labels shown with the producer. */
  tags?: Record<string, string>
  /** Events kept while the hub is unreachable (oldest dropped beyond it, counted in {@link Hub.stats}). Default 1024. */
  maxBuffered?: number
}

/** Options of {@link Hub.run}. */
export interface RunOptions {
  /** Readable prefix of the run's `ensembleId` (the id Vigil shows). */
  name?: string
  /** Tasks you plan to run (progress is completed / total). Default 0 (unknown; grows as tasks start). */
  totalTasks?: number
  /** AgentEnsemble workflow word. Default `SEQUENTIAL`. */
  workflow?: 'SEQUENTIAL' | 'PARALLEL' | 'HIERARCHICAL'
  /** Default agent role of this run's tasks. Default `Agent`. */
  agentRole?: string
}

/** Options of {@link Run.task}. */
export interface TaskOptions {
  /** The agent doing this task. Default: the run's `agentRole`. */
  agentRole?: string
}

/** One LLM call for {@link TaskContext.llm}. */
export interface LlmRequest {
  /** Your model's name, passed back to your function (AgentEnsemble's protocol has no model field). */
  model?: string
  /** The user prompt (one user message). */
  prompt?: string
  /** An optional system message sent before the prompt. */
  system?: string
  /** The whole conversation instead of `prompt` / `system` (the last 20 are sent, as AgentEnsemble does). */
  messages?: Array<{ role: 'system' | 'user' | 'assistant' | 'tool'; content: string | null; toolName?: string }>
}

/** What your LLM function returns: the text, or the text with usage and tool requests. */
export type LlmResult = string | { text: string | null; inputTokens?: number; outputTokens?: number; toolCalls?: Array<{ name: string; arguments: unknown }> }

/** Options of {@link Run.review}. */
export interface ReviewOptions {
  /** What the reviewer is asked (e.g. "Publish these notes?"). */
  description: string
  /** The text to review (may be edited by the reviewer). Default "". */
  output?: string
  /** Extra guidance shown to the reviewer. */
  prompt?: string
  /** How long to wait: milliseconds, or "90s", "5m", "1h"; 0 waits forever. Default 5 minutes. */
  timeout?: number | string
  /** What happens if nobody decides in time. Default `EXIT_EARLY`. `FAIL` rejects with {@link ReviewTimeoutError}. */
  onTimeout?: 'CONTINUE' | 'EXIT_EARLY' | 'FAIL'
  /** AgentEnsemble's review timing. Default `DURING_EXECUTION` (a question in the middle of a run). */
  timing?: 'BEFORE_EXECUTION' | 'DURING_EXECUTION' | 'AFTER_EXECUTION'
  /** Shown to reviewers; Vigil does not check roles. */
  requiredRole?: string
  /** Stop waiting (the promise rejects with the signal's reason). */
  signal?: AbortSignal
}

/** A review's outcome. */
export interface ReviewDecision {
  reviewId: string
  /** CONTINUE (approved), EDIT (approved with `revisedOutput`) or EXIT_EARLY (stop). */
  decision: 'CONTINUE' | 'EDIT' | 'EXIT_EARLY'
  /** The reviewer's text for EDIT. */
  revisedOutput?: string
  /** True when nobody decided in time and `onTimeout` was applied here. */
  timedOut: boolean
}

/** A review whose `onTimeout` was `FAIL` timed out. */
export class ReviewTimeoutError extends Error {
  constructor(readonly reviewId: string) {
    super(`Nobody decided review ${reviewId} in time (onTimeout FAIL).`)
    this.name = 'ReviewTimeoutError'
  }
}

/**
 * Connects to a Vigil hub's `/ingress` as a publisher. Resolves once the socket is open; rejects with a
 * message saying what to do when Vigil is unreachable or wants a token. Later drops reconnect on their
 * own (1, 2, 4 … 30 s), keeping up to `maxBuffered` events meanwhile.
 */
export async function connect(options: ConnectOptions = {}): Promise<Hub> {
  const url = hubUrl(options.url ?? process.env.VIGIL_URL ?? DEFAULT_HUB_URL)
  const token = options.token ?? (process.env.VIGIL_TOKEN || null)
  const producer: ProducerInfo = {
    producerId: options.producerId ?? `${hostname()}-${process.pid}`,
    serviceName: options.serviceName ?? 'vigil-sdk',
    host: hostname(),
    ...(options.tags ? { tags: { ...options.tags } } : {})
  }
  if (producer.producerId.trim() === '' || producer.producerId.length > 128) throw new Error('producerId must be 1 to 128 characters.')
  const hub = new Hub(producer, url, token, options.maxBuffered ?? 1024)
  await hub.open()
  return hub
}

/** `http://h:p` → `ws://h:p/ingress`; a URL with a path keeps it. */
function hubUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new Error(`Not a URL: "${raw}". Use ws://host:port/ingress, e.g. ${DEFAULT_HUB_URL}.`)
  }
  if (url.protocol === 'http:') url.protocol = 'ws:'
  else if (url.protocol === 'https:') url.protocol = 'wss:'
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`The hub URL must be ws://, wss://, http:// or https://, got "${raw}".`)
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/ingress'
  return url.toString()
}

/** "5m" → 300000; numbers are milliseconds. */
export function parseTimeout(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`timeout must be 0 or more milliseconds, got ${value}`)
    return Math.round(value)
  }
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim())
  if (!m) throw new Error(`timeout must be milliseconds or a duration such as "90s", "5m", "1h", got "${value}"`)
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!)
}

interface PendingReview {
  envelope: ReviewRequestedMessage
  settle: (decision: { decision: string; revisedOutput?: string }) => void
  fail: (err: Error) => void
}

/** A connection to Vigil's hub ({@link connect}). One run at a time per hub (per `producerId`). */
export class Hub {
  private readonly connection: HubConnection
  private sequence = 0
  private readonly reviews = new Map<string, PendingReview>()
  private current: Run | null = null

  /** @internal Use {@link connect}. */
  constructor(
    /** Who this agent is on the hub. */
    readonly producer: ProducerInfo,
    /** The `/ingress` URL. */
    readonly url: string,
    token: string | null,
    maxBuffered: number
  ) {
    this.connection = new HubConnection({
      url,
      token,
      maxBuffered,
      onFrame: (text) => this.onFrame(text),
      // The hub binds a socket to a producer on its first envelope; a pending review must find us again.
      onReconnect: () => {
        for (const pending of this.reviews.values()) this.emit(pending.envelope)
      }
    })
  }

  /** @internal */
  open(): Promise<void> {
    return this.connection.open()
  }

  /** Starts a run: sends `ensemble_started` now. Throws while another run of this hub is still going. */
  run(options: RunOptions = {}): Run {
    if (this.current && !this.current.ended) throw new Error('This hub already has a run going: end() it first, or connect() again with another producerId for a parallel run.')
    this.current = new Run(this, options)
    return this.current
  }

  /** Sends one AgentEnsemble message in an envelope (most code uses {@link Run} instead). */
  emit(message: DashboardMessage): void {
    const envelope: EventEnvelope = { type: 'event', producer: this.producer, sequence: ++this.sequence, receivedAt: formatInstant(Date.now()), message }
    this.connection.send(serializeServerMessage(envelope))
  }

  /** @internal Raises a review and waits for the hub to forward its decision. */
  awaitReview(envelope: ReviewRequestedMessage, signal?: AbortSignal): Promise<{ decision: string; revisedOutput?: string } | null> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null
      const finish = (value: { decision: string; revisedOutput?: string } | null) => {
        if (timer) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.reviews.delete(envelope.reviewId)
        resolve(value)
      }
      const fail = (err: unknown) => {
        if (timer) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.reviews.delete(envelope.reviewId)
        reject(err)
      }
      const onAbort = () => fail(signal?.reason ?? new Error('aborted'))
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.reviews.set(envelope.reviewId, { envelope, settle: finish, fail })
      // The agent applies its own deadline (hub producers do; Vigil records the timeout).
      if (envelope.timeoutMs > 0) timer = setTimeout(() => finish(null), envelope.timeoutMs)
      this.emit(envelope)
    })
  }

  private onFrame(text: string): void {
    let frame: unknown
    try {
      frame = JSON.parse(text)
    } catch {
      return
    }
    // Hub → publisher (spec §7): {"reviewId", "decisionJson"}, no type.
    const { reviewId, decisionJson } = (frame ?? {}) as { reviewId?: unknown; decisionJson?: unknown }
    if (typeof reviewId !== 'string' || typeof decisionJson !== 'string') return
    const pending = this.reviews.get(reviewId)
    if (!pending) return
    const parsed = parseClientFrame(decisionJson)
    if (!parsed.ok || parsed.message.type !== 'review_decision') return
    const m = parsed.message
    pending.settle({ decision: m.decision, ...(typeof m.revisedOutput === 'string' ? { revisedOutput: m.revisedOutput } : {}) })
  }

  /** Counters: connected, events sent, buffered and dropped, reconnects, the last error. */
  stats(): HubStats & { pendingReviews: number } {
    return { ...this.connection.counters, pendingReviews: this.reviews.size }
  }

  /** Resolves once every event sent so far has left this process. */
  flush(): Promise<void> {
    return this.connection.flush()
  }

  /** Flushes (up to 5 s) and closes the connection. Reviews still waiting reject (their gates stay in Vigil until their deadline). */
  async close(): Promise<void> {
    await this.connection.close()
    for (const pending of [...this.reviews.values()]) pending.fail(new Error(`The hub connection was closed while review ${pending.envelope.reviewId} was waiting for a decision.`))
  }
}

/** A run on the hub ({@link Hub.run}): tasks, tool and LLM calls, reviews, then {@link Run.end}. */
export class Run {
  /** The id Vigil shows for this run (AgentEnsemble's `ensembleId`). */
  readonly ensembleId: string
  private readonly startedAt = Date.now()
  private totalTasks: number
  private nextTask = 0
  private toolCalls = 0
  private tokens = 0
  private failures = 0
  /** True once {@link Run.end} was called. */
  ended = false

  /** @internal Use {@link Hub.run}. */
  constructor(
    private readonly hub: Hub,
    private readonly options: RunOptions
  ) {
    const suffix = randomUUID()
    this.ensembleId = options.name ? `${slug(options.name)}-${suffix.slice(0, 8)}` : suffix
    this.totalTasks = Math.max(0, Math.floor(options.totalTasks ?? 0))
    hub.emit({ type: 'ensemble_started', ensembleId: this.ensembleId, startedAt: formatInstant(this.startedAt), totalTasks: this.totalTasks, workflow: options.workflow ?? 'SEQUENTIAL' })
  }

  /**
   * Runs one task: `task_started`, then your function with a {@link TaskContext}, then `task_completed`
   * (its result is returned) or `task_failed` (its error is rethrown).
   */
  async task<T>(description: string, fn: (t: TaskContext) => Promise<T> | T, options: TaskOptions = {}): Promise<T> {
    this.assertOpen()
    const taskIndex = ++this.nextTask
    this.totalTasks = Math.max(this.totalTasks, taskIndex)
    const agentRole = options.agentRole ?? this.options.agentRole ?? 'Agent'
    const started = Date.now()
    this.hub.emit({ type: 'task_started', taskIndex, totalTasks: this.totalTasks, taskDescription: description, agentRole, startedAt: formatInstant(started) })
    const t = new TaskContext(this.hub, taskIndex, description, agentRole)
    try {
      const result = await fn(t)
      this.toolCalls += t.toolCallCount
      this.tokens += t.tokenCount
      this.hub.emit({
        type: 'task_completed',
        taskIndex,
        totalTasks: this.totalTasks,
        taskDescription: description,
        agentRole,
        completedAt: formatInstant(Date.now()),
        durationMs: Date.now() - started,
        tokenCount: t.llmCalls > 0 ? t.tokenCount : -1,
        toolCallCount: t.toolCallCount
      })
      return result
    } catch (err) {
      this.toolCalls += t.toolCallCount
      this.failures++
      this.hub.emit({ type: 'task_failed', taskIndex, taskDescription: description, agentRole, failedAt: formatInstant(Date.now()), reason: reasonOf(err) })
      throw err
    }
  }

  /**
   * Asks a human in Vigil: sends `review_requested` and resolves with the decision the hub forwards
   * (first decision wins across Vigil's inbox, its API and AgentEnsemble's viz). At the deadline the
   * `onTimeout` action is applied here (`timedOut: true`); `FAIL` rejects with {@link ReviewTimeoutError}.
   */
  async review(options: ReviewOptions): Promise<ReviewDecision> {
    this.assertOpen()
    const onTimeout = options.onTimeout ?? 'EXIT_EARLY'
    const envelope: ReviewRequestedMessage = {
      type: 'review_requested',
      reviewId: randomUUID(),
      taskDescription: options.description,
      taskOutput: options.output ?? '',
      timing: options.timing ?? 'DURING_EXECUTION',
      ...(options.prompt !== undefined ? { prompt: options.prompt } : {}),
      timeoutMs: parseTimeout(options.timeout ?? 5 * 60_000),
      onTimeout,
      ...(options.requiredRole !== undefined ? { requiredRole: options.requiredRole } : {})
    }
    const got = await this.hub.awaitReview(envelope, options.signal)
    if (got === null) {
      if (onTimeout === 'FAIL') throw new ReviewTimeoutError(envelope.reviewId)
      return { reviewId: envelope.reviewId, decision: onTimeout, timedOut: true }
    }
    // AgentEnsemble reads an unknown word as "exit early"; Vigil never sends one, but stay on the safe side.
    const decision = got.decision === 'CONTINUE' || got.decision === 'EDIT' ? got.decision : 'EXIT_EARLY'
    return {
      reviewId: envelope.reviewId,
      decision,
      ...(decision === 'EDIT' ? { revisedOutput: got.revisedOutput ?? options.output ?? '' } : {}),
      timedOut: false
    }
  }

  /**
   * Ends the run with `ensemble_completed`. The reason defaults to `COMPLETED`, or `ERROR` when a task
   * failed; pass `USER_EXIT_EARLY` after a review said stop.
   */
  async end(exitReason?: 'COMPLETED' | 'USER_EXIT_EARLY' | 'TIMEOUT' | 'ERROR'): Promise<void> {
    if (this.ended) return
    this.ended = true
    this.hub.emit({
      type: 'ensemble_completed',
      ensembleId: this.ensembleId,
      completedAt: formatInstant(Date.now()),
      durationMs: Date.now() - this.startedAt,
      exitReason: exitReason ?? (this.failures > 0 ? 'ERROR' : 'COMPLETED'),
      totalTokens: this.tokens > 0 ? this.tokens : -1,
      totalToolCalls: this.toolCalls
    })
    await this.hub.flush()
  }

  private assertOpen(): void {
    if (this.ended) throw new Error(`Run ${this.ensembleId} has ended; start another with hub.run().`)
  }
}

/** What a task's function gets ({@link Run.task}): report tool and LLM calls made inside the task. */
export class TaskContext {
  /** Tool calls reported so far. */
  toolCallCount = 0
  /** Input + output tokens reported by LLM calls so far. */
  tokenCount = 0
  /** LLM calls so far (AgentEnsemble's iteration index, 0-based, is the next one). */
  llmCalls = 0

  /** @internal */
  constructor(
    private readonly hub: Hub,
    /** The task's 1-based index in its run. */
    readonly index: number,
    /** The task's description. */
    readonly description: string,
    /** The agent doing it. */
    readonly agentRole: string
  ) {}

  /**
   * Runs a tool and reports it (`tool_called`, after it ran, with its duration, arguments as JSON, and
   * result: text as is, anything else as JSON and `structuredResult`). A throw is reported as `FAILURE`
   * and rethrown.
   */
  async tool<I, O>(name: string, input: I, fn: (input: I) => Promise<O> | O): Promise<O> {
    const started = Date.now()
    const report = (outcome: 'SUCCESS' | 'FAILURE', result: string | null, structured: unknown) => {
      this.toolCallCount++
      this.hub.emit({
        type: 'tool_called',
        agentRole: this.agentRole,
        taskIndex: this.index,
        toolName: name,
        durationMs: Date.now() - started,
        outcome,
        toolArguments: toJson(input),
        toolResult: result,
        structuredResult: structured
      })
    }
    try {
      const out = await fn(input)
      report('SUCCESS', typeof out === 'string' ? out : toJson(out), typeof out === 'object' && out !== null ? out : null)
      return out
    } catch (err) {
      report('FAILURE', reasonOf(err), null)
      throw err
    }
  }

  /**
   * Calls your model function and reports it as one AgentEnsemble LLM iteration: `llm_iteration_started`
   * with the messages (last 20), then `llm_iteration_completed` with the answer, token counts and
   * latency. Returns the text. A throw is rethrown (the iteration then has no completion).
   */
  async llm(request: LlmRequest, fn: (request: LlmRequest) => Promise<LlmResult> | LlmResult): Promise<string> {
    const iterationIndex = this.llmCalls++
    const messages: LlmMessage[] = (request.messages ?? [
      ...(request.system !== undefined ? [{ role: 'system' as const, content: request.system }] : []),
      { role: 'user' as const, content: request.prompt ?? '' }
    ]).map((m) => ({ role: m.role, content: m.content, toolCalls: null, toolName: 'toolName' in m && m.toolName !== undefined ? m.toolName : null }))
    this.hub.emit({
      type: 'llm_iteration_started',
      agentRole: this.agentRole,
      taskDescription: this.description,
      iterationIndex,
      messages: messages.slice(-20),
      totalMessageCount: messages.length
    })
    const started = Date.now()
    const raw = await fn(request)
    const latencyMs = Date.now() - started
    const result = typeof raw === 'string' ? { text: raw } : raw
    const toolRequests: LlmToolCall[] | undefined = result.toolCalls?.map((c) => ({ name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : toJson(c.arguments) }))
    const inputTokens = nonNegative(result.inputTokens)
    const outputTokens = nonNegative(result.outputTokens)
    this.tokenCount += inputTokens + outputTokens
    this.hub.emit({
      type: 'llm_iteration_completed',
      agentRole: this.agentRole,
      taskDescription: this.description,
      iterationIndex,
      responseType: toolRequests && toolRequests.length > 0 ? 'TOOL_CALLS' : 'FINAL_ANSWER',
      ...(result.text !== null && result.text !== undefined ? { responseText: result.text } : {}),
      ...(toolRequests && toolRequests.length > 0 ? { toolRequests } : {}),
      inputTokens,
      outputTokens,
      latencyMs
    })
    return result.text ?? ''
  }
}

function nonNegative(n: number | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0
}

function toJson(value: unknown): string | null {
  if (value === undefined) return null
  try {
    return JSON.stringify(value) ?? null
  } catch {
    return String(value)
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name
  return typeof err === 'string' && err !== '' ? err : 'unknown error'
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'run'
  )
}
