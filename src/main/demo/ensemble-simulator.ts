// A protocol-faithful stand-in for an embedded AgentEnsemble WebDashboard (spec
// shared/spec/agentensemble-protocol.md §1–§4): `/ws` with hello + late-join snapshot, a sequential
// run with tools, files and an AFTER_EXECUTION review gate, heartbeats, ping/pong, the loopback
// Origin rule, and `GET /api/status`. Drives `--demo` and the live-stream tests.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type WebSocket from 'ws'
import type { RawData } from 'ws'
import { PERSISTENT_TYPES, formatInstant, parseClientFrame, serializeServerMessage } from '../../shared/protocol/agentensemble'
import type {
  DashboardMessage,
  HelloMessage,
  IterationSnapshot,
  LlmIterationCompletedMessage,
  LlmIterationStartedMessage,
  LlmMessage,
  ReviewRequestedMessage,
  ServerMessage
} from '../../shared/protocol/agentensemble'

export type OnTimeoutAction = 'CONTINUE' | 'EXIT_EARLY' | 'FAIL'

export interface EnsembleSimulatorOptions {
  /** Milliseconds between two events of a run. */
  paceMs?: number
  /** Start a new run after each one ends. */
  loop?: boolean
  /** Review gate timeout; 0 waits forever. */
  reviewTimeoutMs?: number
  /** Advertised in review_requested and applied at expiry (the real server may apply another, §2.2.7). */
  reviewOnTimeout?: OnTimeoutAction
  /** Bind address; a loopback one turns the Origin check on (§3). */
  host?: string
  port?: number
  heartbeatMs?: number
  maxRetainedRuns?: number
  maxSnapshotIterations?: number
  /** Hold the first run until a client is connected, as the e2e review server does (§6.1). */
  waitForClient?: boolean
  /**
   * Scripted mode: these frames count as broadcast before anyone connected (persistent ones feed
   * the late-join snapshot, LLM iterations feed recentIterations). No run is played unless
   * `autoplay` is set.
   */
  script?: ServerMessage[]
  autoplay?: boolean
}

export interface ReceivedDecision {
  reviewId: string
  decision: string
  revisedOutput?: string
}

type ReviewOutcome = { kind: 'continue' } | { kind: 'edit'; revisedOutput: string } | { kind: 'exit'; timedOut: boolean } | { kind: 'fail' }

interface PendingReview {
  message: ReviewRequestedMessage
  createdAt: number
  resolve: (decision: string | null) => void
  timer: NodeJS.Timeout | null
}

const LOCAL_BINDINGS = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])
const LOCAL_ORIGIN_HOSTS = new Set(['localhost', '127.0.0.1', '::1'])

/** Spec §3: with a loopback binding only exact local Origin hosts pass; otherwise anything does. */
export function isOriginAllowed(bindHost: string, origin: string | undefined): boolean {
  if (!LOCAL_BINDINGS.has(bindHost)) return true
  if (!origin || origin === 'null') return false
  let host: string
  try {
    host = new URL(origin).hostname.toLowerCase()
  } catch {
    return false
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  return LOCAL_ORIGIN_HOSTS.has(host)
}

/** Decision text → action, as WebReviewHandler maps it (§2.2.4): unknown means exit early. */
function mapDecision(decision: string, revisedOutput: string | undefined): ReviewOutcome {
  const d = decision.trim().toLowerCase()
  if (d === 'approve' || d === 'continue') return { kind: 'continue' }
  if (d === 'edit') return { kind: 'edit', revisedOutput: revisedOutput ?? '' }
  return { kind: 'exit', timedOut: false }
}

export class EnsembleSimulator {
  /** Every review_decision received, in order (including late or unknown ones, which have no effect). */
  readonly decisions: ReceivedDecision[] = []
  /** Every text frame clients sent, exactly as it arrived on the wire (tests assert byte-exact frames). */
  readonly clientFrames: string[] = []

  private readonly paceMs: number
  private readonly loop: boolean
  private readonly reviewTimeoutMs: number
  private readonly reviewOnTimeout: OnTimeoutAction
  private readonly host: string
  private readonly port: number
  private readonly heartbeatMs: number
  private readonly maxRetainedRuns: number
  private readonly maxSnapshotIterations: number
  private readonly waitForClient: boolean
  private readonly autoplay: boolean

  private http: Server | null = null
  private wss: WebSocketServer | null = null
  private readonly clients = new Set<WebSocket>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private heartbeat: NodeJS.Timeout | null = null
  private stopped = false
  private playing = false
  private actualPort = 0

  // Late-join state, as ConnectionManager keeps it (§1.2).
  private readonly buckets: DashboardMessage[][] = []
  private latestEnsemble: { ensembleId: string | null; startedAt: string | null } | null = null
  private readonly iterations = new Map<string, { pairs: IterationSnapshot[]; pending: LlmIterationStartedMessage | null }>()
  private readonly pendingReviews = new Map<string, PendingReview>()

  constructor(opts: EnsembleSimulatorOptions = {}) {
    this.paceMs = opts.paceMs ?? 700
    this.loop = opts.loop ?? true
    this.reviewTimeoutMs = opts.reviewTimeoutMs ?? 60_000
    this.reviewOnTimeout = opts.reviewOnTimeout ?? 'CONTINUE'
    this.host = opts.host ?? '127.0.0.1'
    this.port = opts.port ?? 0
    this.heartbeatMs = opts.heartbeatMs ?? 15_000
    this.maxRetainedRuns = Math.max(1, opts.maxRetainedRuns ?? 10)
    this.maxSnapshotIterations = Math.max(0, opts.maxSnapshotIterations ?? 5)
    this.waitForClient = opts.waitForClient ?? true
    this.autoplay = opts.autoplay ?? opts.script === undefined
    for (const m of opts.script ?? []) this.remember(m)
  }

  get url(): string {
    const h = this.host === '0.0.0.0' ? '127.0.0.1' : this.host === '::' ? '[::1]' : this.host
    const host = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h
    return `ws://${host}:${this.actualPort}/ws`
  }

  get clientCount(): number {
    return this.clients.size
  }

  async start(): Promise<{ url: string; port: number }> {
    if (this.http) return { url: this.url, port: this.actualPort }
    const http = createServer((req, res) => this.onHttp(req, res))
    const wss = new WebSocketServer({ noServer: true })
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head))
    this.http = http
    this.wss = wss
    try {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject)
        http.listen(this.port, this.host.replace(/^\[|\]$/g, ''), () => {
          http.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      // Leave the instance startable again (e.g. after EADDRINUSE on a fixed port).
      this.http = null
      this.wss = null
      wss.close()
      throw err
    }
    this.actualPort = (http.address() as AddressInfo).port
    // Fixed rate, first beat one period after start (§4).
    this.heartbeat = setInterval(() => this.broadcast({ type: 'heartbeat', serverTimeMs: Date.now() }), this.heartbeatMs)
    if (this.autoplay && !this.waitForClient) this.play()
    return { url: this.url, port: this.actualPort }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.heartbeat = null
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const review of this.pendingReviews.values()) if (review.timer) clearTimeout(review.timer)
    this.pendingReviews.clear()
    for (const ws of this.clients) ws.terminate()
    this.clients.clear()
    const { http, wss } = this
    this.http = null
    this.wss = null
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()))
    if (http) {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    }
  }

  /** Sends a message to every client and records it for late joiners, like ConnectionManager.broadcast. */
  broadcast(message: DashboardMessage): void {
    this.remember(message)
    this.broadcastRaw(serializeServerMessage(message))
  }

  /** Sends text as is (tests use it for malformed frames); nothing is recorded. */
  broadcastRaw(text: string): void {
    for (const ws of this.clients) if (ws.readyState === ws.OPEN) ws.send(text)
  }

  /** The hello a client connecting now would get. */
  hello(): HelloMessage {
    const hello: HelloMessage = { type: 'hello' }
    if (this.latestEnsemble?.ensembleId) hello.ensembleId = this.latestEnsemble.ensembleId
    if (this.latestEnsemble?.startedAt) hello.startedAt = this.latestEnsemble.startedAt
    const trace = this.buckets.flat()
    if (trace.length > 0) hello.snapshotTrace = trace
    const recent: IterationSnapshot[] = []
    for (const { pairs, pending } of this.iterations.values()) {
      recent.push(...pairs)
      if (pending) recent.push({ started: pending })
    }
    if (recent.length > 0) hello.recentIterations = recent
    return hello
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method === 'GET' && path === '/api/status') {
      return json(200, { status: 'running', clients: this.clients.size, port: this.actualPort })
    }
    if (req.method === 'GET' && path === '/api/health/live') return json(200, { status: 'UP' })
    if (req.method === 'GET' && path === '/api/reviews') {
      const reviews = [...this.pendingReviews.values()].map((r) => {
        const item: Record<string, unknown> = {
          reviewId: r.message.reviewId,
          taskDescription: r.message.taskDescription,
          taskOutput: r.message.taskOutput,
          timing: r.message.timing
        }
        if (r.message.prompt !== undefined) item.prompt = r.message.prompt
        item.timeoutMs = r.message.timeoutMs
        item.createdAt = formatInstant(r.createdAt)
        if (r.message.timeoutMs > 0) item.expiresAt = formatInstant(r.createdAt + r.message.timeoutMs)
        return item
      })
      return json(200, { reviews, total: reviews.length })
    }
    json(404, { error: 'NOT_FOUND' })
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const wss = this.wss
    const path = (req.url ?? '/').split('?')[0]
    if (!wss || this.stopped || path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req))
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', () => undefined)
    // Rejection keeps the upgrade, then closes with 1008 and never registers the session (§3).
    if (!isOriginAllowed(this.host, req.headers.origin)) {
      ws.close(1008, 'Origin not allowed')
      return
    }
    this.clients.add(ws)
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) this.onClientFrame(ws, rawText(data))
    })
    ws.on('close', () => this.onDisconnect(ws))
    ws.send(serializeServerMessage(this.hello()))
    if (this.autoplay && !this.playing) this.play()
  }

  private onClientFrame(ws: WebSocket, text: string): void {
    this.clientFrames.push(text)
    // Malformed or unknown input is dropped silently; the socket stays open (§1.5).
    const parsed = parseClientFrame(text)
    if (!parsed.ok) return
    const message = parsed.message
    if (message.type === 'ping') {
      ws.send(serializeServerMessage({ type: 'pong' }))
      return
    }
    const received: ReceivedDecision = { reviewId: message.reviewId, decision: message.decision }
    if (message.revisedOutput !== undefined) received.revisedOutput = message.revisedOutput
    this.decisions.push(received)
    // First decision wins; later ones for the same id are ignored (§2.2.5).
    this.pendingReviews.get(message.reviewId)?.resolve(message.decision)
  }

  private onDisconnect(ws: WebSocket): void {
    if (!this.clients.delete(ws) || this.clients.size > 0) return
    // The last viewer left: pending reviews resolve as if they timed out (§2.2.8).
    for (const review of [...this.pendingReviews.values()]) review.resolve(null)
  }

  // -------------------------------------------------------------------------------------------
  // Late-join store

  private remember(message: ServerMessage): void {
    if (message.type === 'ensemble_started') {
      this.buckets.push([])
      while (this.buckets.length > this.maxRetainedRuns) this.buckets.shift()
      this.latestEnsemble = { ensembleId: message.ensembleId, startedAt: message.startedAt }
      this.iterations.clear()
    }
    if (message.type === 'llm_iteration_started' || message.type === 'llm_iteration_completed') {
      this.rememberIteration(message)
      return
    }
    // Persistent types only, and nothing before the first ensemble_started.
    const bucket = this.buckets.at(-1)
    if (bucket && PERSISTENT_TYPES.has(message.type)) bucket.push(message as DashboardMessage)
  }

  private rememberIteration(message: LlmIterationStartedMessage | LlmIterationCompletedMessage): void {
    if (this.maxSnapshotIterations === 0) return
    const key = `${message.agentRole}:${message.taskDescription}`
    let entry = this.iterations.get(key)
    if (!entry) {
      entry = { pairs: [], pending: null }
      this.iterations.set(key, entry)
    }
    if (message.type === 'llm_iteration_started') {
      entry.pending = message
      return
    }
    if (!entry.pending) return
    entry.pairs.push({ started: entry.pending, completed: message })
    entry.pending = null
    while (entry.pairs.length > this.maxSnapshotIterations) entry.pairs.shift()
  }

  // -------------------------------------------------------------------------------------------
  // The scripted demo run

  private play(): void {
    if (this.playing || this.stopped) return
    this.playing = true
    const loop = async () => {
      do {
        await this.playRun()
        if (this.stopped) return
        await this.sleep(this.paceMs * 3)
      } while (this.loop && !this.stopped)
    }
    loop().catch((err: unknown) => console.error('[vigil] ensemble simulator failed:', err))
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return
      const t = setTimeout(() => {
        this.timers.delete(t)
        resolve()
      }, ms)
      this.timers.add(t)
    })
  }

  private async step(message: DashboardMessage): Promise<void> {
    await this.sleep(this.paceMs)
    this.broadcast(message)
  }

  private async playRun(): Promise<void> {
    const ensembleId = randomUUID()
    const t0 = Date.now()
    const now = () => formatInstant(Date.now())
    this.broadcast({ type: 'ensemble_started', ensembleId, startedAt: formatInstant(t0), totalTasks: DEMO_TASKS.length, workflow: 'SEQUENTIAL' })
    let exitReason = 'COMPLETED'
    let toolCalls = 0
    let tokens = 0
    for (const [i, task] of DEMO_TASKS.entries()) {
      const taskIndex = i + 1
      const base = { taskDescription: task.description, agentRole: task.role }
      await this.step({ type: 'task_started', taskIndex, totalTasks: DEMO_TASKS.length, ...base, startedAt: now() })
      const taskStart = Date.now()
      await this.step({
        type: 'task_input',
        taskIndex,
        taskDescription: task.description,
        expectedOutput: task.expectedOutput,
        agentRole: task.role,
        agentGoal: task.goal,
        agentBackground: null,
        toolNames: task.tools.map((t) => t.name),
        assembledContext: `## Task\n${task.description}\n\n## Expected output\n${task.expectedOutput}`,
        sentAt: now()
      })
      const messages: LlmMessage[] = [
        { role: 'system', content: `You are a ${task.role}. ${task.goal}`, toolCalls: null, toolName: null },
        { role: 'user', content: `## Task\n${task.description}`, toolCalls: null, toolName: null }
      ]
      let iteration = 0
      let taskTools = 0
      for (const tool of task.tools) {
        await this.step({ type: 'llm_iteration_started', ...base, iterationIndex: iteration, messages: [...messages], totalMessageCount: messages.length })
        const request = { name: tool.name, arguments: tool.arguments }
        await this.step({
          type: 'llm_iteration_completed',
          ...base,
          iterationIndex: iteration,
          responseType: 'TOOL_CALLS',
          toolRequests: [request],
          inputTokens: 400 + 120 * iteration,
          outputTokens: 60,
          latencyMs: 900 + 150 * iteration
        })
        tokens += 460 + 120 * iteration
        if (tool.file) {
          await this.step({ type: 'file_changed', agentRole: task.role, ...tool.file, timestamp: now() })
        }
        await this.step({
          type: 'tool_called',
          agentRole: task.role,
          // The server sends 0 when it cannot tell the task (§1.2); clients attribute by role.
          taskIndex: tool.unknownTask ? 0 : taskIndex,
          toolName: tool.name,
          durationMs: tool.durationMs,
          outcome: tool.outcome,
          toolArguments: tool.arguments,
          toolResult: tool.result,
          structuredResult: tool.structured ?? null
        })
        toolCalls++
        taskTools++
        messages.push({ role: 'assistant', content: null, toolCalls: [request], toolName: null })
        messages.push({ role: 'tool', content: tool.result, toolCalls: null, toolName: tool.name })
        iteration++
      }
      await this.step({ type: 'llm_iteration_started', ...base, iterationIndex: iteration, messages: messages.slice(-20), totalMessageCount: messages.length })
      await this.step({
        type: 'llm_iteration_completed',
        ...base,
        iterationIndex: iteration,
        responseType: 'FINAL_ANSWER',
        responseText: task.answer,
        inputTokens: 700 + 120 * iteration,
        outputTokens: 320,
        latencyMs: 1800
      })
      tokens += 1020 + 120 * iteration
      if (task.review) {
        await this.sleep(this.paceMs)
        if (this.stopped) return
        const outcome = await this.review({
          type: 'review_requested',
          reviewId: randomUUID(),
          taskDescription: task.description,
          taskOutput: task.answer,
          timing: 'AFTER_EXECUTION',
          prompt: task.review,
          timeoutMs: this.reviewTimeoutMs,
          onTimeout: this.reviewOnTimeout
        })
        if (this.stopped) return
        // FAIL throws out of run(): no task_completed, no ensemble_completed (§1.6).
        if (outcome.kind === 'fail') return
        if (outcome.kind === 'exit') {
          exitReason = outcome.timedOut ? 'TIMEOUT' : 'USER_EXIT_EARLY'
          break
        }
      }
      await this.step({
        type: 'task_completed',
        taskIndex,
        totalTasks: DEMO_TASKS.length,
        ...base,
        completedAt: now(),
        durationMs: Date.now() - taskStart,
        tokenCount: -1,
        toolCallCount: taskTools
      })
    }
    await this.step({
      type: 'ensemble_completed',
      ensembleId,
      completedAt: now(),
      durationMs: Date.now() - t0,
      exitReason,
      totalTokens: tokens,
      totalToolCalls: toolCalls
    })
  }

  private review(message: ReviewRequestedMessage): Promise<ReviewOutcome> {
    return new Promise((resolve) => {
      const pending: PendingReview = {
        message,
        createdAt: Date.now(),
        timer: null,
        resolve: (decision) => {
          if (this.pendingReviews.get(message.reviewId) !== pending) return
          this.pendingReviews.delete(message.reviewId)
          if (pending.timer) clearTimeout(pending.timer)
          if (decision !== null) {
            resolve(mapDecision(decision, this.decisions.findLast((d) => d.reviewId === message.reviewId)?.revisedOutput))
            return
          }
          // Timeout (or last viewer gone): announce, then apply the advertised action (§2.2.7).
          this.broadcast({ type: 'review_timed_out', reviewId: message.reviewId, action: message.onTimeout })
          const action = message.onTimeout
          resolve(action === 'CONTINUE' ? { kind: 'continue' } : action === 'FAIL' ? { kind: 'fail' } : { kind: 'exit', timedOut: true })
        }
      }
      this.pendingReviews.set(message.reviewId, pending)
      if (message.timeoutMs > 0) pending.timer = setTimeout(() => pending.resolve(null), message.timeoutMs)
      this.broadcast(message)
    })
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  return data.toString('utf8')
}

interface DemoTool {
  name: string
  arguments: string
  result: string
  outcome: 'SUCCESS' | 'FAILURE'
  durationMs: number
  structured?: unknown
  unknownTask?: boolean
  file?: { filePath: string; changeType: 'CREATED' | 'MODIFIED' | 'DELETED'; linesAdded: number; linesRemoved: number }
}

interface DemoTask {
  description: string
  expectedOutput: string
  role: string
  goal: string
  tools: DemoTool[]
  answer: string
  /** Prompt of an AFTER_EXECUTION review gate on this task. */
  review?: string
}

const DEMO_TASKS: DemoTask[] = [
  {
    description: 'Research AI adoption trends for 2025',
    expectedOutput: 'Five sourced findings',
    role: 'Researcher',
    goal: 'Find reliable, recent evidence.',
    tools: [
      {
        name: 'web_search',
        arguments: '{"query":"enterprise AI adoption 2025 survey"}',
        result: '3 results: McKinsey State of AI 2025; Stanford AI Index 2025; Gartner hype cycle',
        outcome: 'SUCCESS',
        durationMs: 840
      },
      {
        name: 'fetch_url',
        arguments: '{"url":"https://example.org/paywalled-report"}',
        result: 'HTTP 403 Forbidden',
        outcome: 'FAILURE',
        durationMs: 310
      }
    ],
    answer: 'Enterprise AI adoption rose to 78% of surveyed companies in 2025, up from 55% in 2023.'
  },
  {
    description: 'Quantify the growth in adoption',
    expectedOutput: 'Growth figures with the arithmetic shown',
    role: 'Analyst',
    goal: 'Turn findings into numbers.',
    tools: [
      {
        name: 'calculator',
        arguments: '{"expr":"(78-55)/55*100"}',
        result: '41.8',
        outcome: 'SUCCESS',
        durationMs: 12,
        structured: { value: 41.8 },
        unknownTask: true
      }
    ],
    answer: 'Adoption grew by 41.8% over two years (23 points).'
  },
  {
    description: 'Write a blog post summarising the AI research findings',
    expectedOutput: 'A 600-word blog post in Markdown',
    role: 'Writer',
    goal: 'Explain the findings to a general audience.',
    tools: [
      {
        name: 'write_file',
        arguments: '{"path":"drafts/ai-adoption-2025.md"}',
        result: 'Wrote 48 lines',
        outcome: 'SUCCESS',
        durationMs: 25,
        file: { filePath: 'drafts/ai-adoption-2025.md', changeType: 'CREATED', linesAdded: 48, linesRemoved: 0 }
      }
    ],
    answer: '# AI adoption in 2025\n\nFour in five companies now use AI in at least one business function…',
    review: 'Check tone and facts before publishing'
  }
]

/**
 * Deterministic frames of a finished two-task SEQUENTIAL run, as the e2e "sequential" server
 * produces them (§6.1): feed it as `script` to get a server that a client joins after the run ended.
 */
export function finishedSequentialRunScript(ensembleId = '6f1d2c3b-0a4e-4f5a-9b8c-7d6e5f4a3b2c'): ServerMessage[] {
  const tasks = [
    { role: 'Researcher', description: 'Research AI adoption trends for 2025', answer: 'AI adoption grew 42%.' },
    { role: 'Writer', description: 'Write a blog post summarising the AI research findings', answer: '# AI in 2025\n…' }
  ]
  const frames: ServerMessage[] = [
    { type: 'ensemble_started', ensembleId, startedAt: '2026-03-05T14:00:00Z', totalTasks: 2, workflow: 'SEQUENTIAL' }
  ]
  tasks.forEach((t, i) => {
    const taskIndex = i + 1
    const s = i * 10
    const at = (sec: number, frac = '') => `2026-03-05T14:00:${String(sec).padStart(2, '0')}${frac}Z`
    frames.push(
      { type: 'task_started', taskIndex, totalTasks: 2, taskDescription: t.description, agentRole: t.role, startedAt: at(s, '.004518') },
      {
        type: 'task_input',
        taskIndex,
        taskDescription: t.description,
        expectedOutput: null,
        agentRole: t.role,
        agentGoal: null,
        agentBackground: null,
        toolNames: [],
        assembledContext: `## Task\n${t.description}`,
        sentAt: at(s, '.010')
      },
      {
        type: 'llm_iteration_started',
        agentRole: t.role,
        taskDescription: t.description,
        iterationIndex: 0,
        messages: [
          { role: 'system', content: `You are a ${t.role}.`, toolCalls: null, toolName: null },
          { role: 'user', content: `## Task\n${t.description}`, toolCalls: null, toolName: null }
        ],
        totalMessageCount: 2
      },
      {
        type: 'llm_iteration_completed',
        agentRole: t.role,
        taskDescription: t.description,
        iterationIndex: 0,
        responseType: 'FINAL_ANSWER',
        responseText: t.answer,
        inputTokens: 0,
        outputTokens: 0,
        latencyMs: 12
      },
      {
        type: 'task_completed',
        taskIndex,
        totalTasks: 2,
        taskDescription: t.description,
        agentRole: t.role,
        completedAt: at(s + 8, '.120'),
        durationMs: 8116,
        tokenCount: -1,
        toolCallCount: 0
      }
    )
  })
  frames.push({
    type: 'ensemble_completed',
    ensembleId,
    completedAt: '2026-03-05T14:00:18.500Z',
    durationMs: 18500,
    exitReason: 'COMPLETED',
    totalTokens: -1,
    totalToolCalls: 0
  })
  return frames
}
