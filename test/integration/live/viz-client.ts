// A client that behaves as AgentEnsemble's viz `/live` page does (spec §5.3 liveReducer, §5.2 header and
// Flow, §2.3 review panel), and the facts its e2e specs assert (§6.2). Used against Vigil's run endpoint.
import WebSocket from 'ws'

export interface VizTask {
  taskIndex: number
  taskDescription: string | null
  agentRole: string | null
  status: 'running' | 'completed' | 'failed'
  toolCalls: number
}

export interface VizReview {
  reviewId: string
  taskDescription: string
  taskOutput: string
  timing: string
  timeoutMs: number
  onTimeout: string
}

export interface VizState {
  connectionStatus: 'connecting' | 'connected' | 'disconnected'
  ensembleId: string | null
  workflow: string | null
  totalTasks: number
  tasks: VizTask[]
  pendingReviews: VizReview[]
  ensembleComplete: boolean
  completedRuns: Array<{ ensembleId: string | null; tasks: VizTask[] }>
  conversations: Record<string, number>
}

type Msg = Record<string, unknown> & { type: string }

export function emptyState(): VizState {
  return {
    connectionStatus: 'connecting',
    ensembleId: null,
    workflow: null,
    totalTasks: 0,
    tasks: [],
    pendingReviews: [],
    ensembleComplete: false,
    completedRuns: [],
    conversations: {}
  }
}

/** liveReducer (§5.3) for the parts the e2e assertions depend on. Mutates and returns `s`. */
export function reduce(s: VizState, m: Msg): VizState {
  switch (m.type) {
    case 'hello': {
      const snapshot = Array.isArray(m.snapshotTrace) ? (m.snapshotTrace as Msg[]) : []
      if (snapshot.length > 0) {
        const fresh = emptyState()
        Object.assign(s, fresh)
        for (const x of snapshot) reduce(s, x)
      }
      s.connectionStatus = 'connected'
      if (typeof m.ensembleId === 'string') s.ensembleId = m.ensembleId
      for (const it of (m.recentIterations as Array<{ started: Msg; completed?: Msg }> | undefined) ?? []) {
        reduce(s, it.started)
        if (it.completed) reduce(s, it.completed)
      }
      return s
    }
    case 'ensemble_started':
      if (s.tasks.length > 0) s.completedRuns.push({ ensembleId: s.ensembleId, tasks: s.tasks })
      s.tasks = []
      s.pendingReviews = []
      s.conversations = {}
      s.ensembleId = (m.ensembleId as string | null) ?? null
      s.workflow = (m.workflow as string | null) ?? null
      s.totalTasks = Number(m.totalTasks)
      s.ensembleComplete = false
      return s
    case 'task_started': {
      s.totalTasks = Math.max(s.totalTasks, Number(m.totalTasks))
      const idx = Number(m.taskIndex)
      if (s.tasks.some((t) => t.taskIndex === idx && t.status === 'running')) return s
      s.tasks.push({ taskIndex: idx, taskDescription: m.taskDescription as string | null, agentRole: m.agentRole as string | null, status: 'running', toolCalls: 0 })
      return s
    }
    case 'task_completed':
    case 'task_failed': {
      const t = s.tasks.findLast((x) => x.taskIndex === Number(m.taskIndex))
      if (t) t.status = m.type === 'task_completed' ? 'completed' : 'failed'
      return s
    }
    case 'tool_called': {
      const idx = Number(m.taskIndex)
      const running = s.tasks.filter((t) => t.status === 'running')
      const t = (idx > 0 ? s.tasks.findLast((x) => x.taskIndex === idx) : undefined) ?? running.findLast((x) => x.agentRole === m.agentRole) ?? running.at(-1)
      if (t) t.toolCalls++
      return s
    }
    case 'review_requested':
      s.pendingReviews.push({
        reviewId: String(m.reviewId),
        taskDescription: String(m.taskDescription),
        taskOutput: String(m.taskOutput),
        timing: String(m.timing),
        timeoutMs: Number(m.timeoutMs),
        onTimeout: String(m.onTimeout)
      })
      return s
    case 'review_timed_out':
      s.pendingReviews = s.pendingReviews.filter((r) => r.reviewId !== m.reviewId)
      return s
    case 'ensemble_completed':
      s.ensembleComplete = true
      return s
    case 'llm_iteration_started':
    case 'llm_iteration_completed': {
      const key = `${String(m.agentRole)}:${String(m.taskDescription)}`
      s.conversations[key] = (s.conversations[key] ?? 0) + 1
      return s
    }
    default:
      return s // heartbeat, pong, unknown: ignored
  }
}

/** `live-header-task-progress`: "finished / totalTasks tasks" (finished = completed + failed). */
export function headerProgress(s: VizState): string {
  const finished = s.tasks.filter((t) => t.status === 'completed' || t.status === 'failed').length
  return `${finished} / ${s.totalTasks} tasks`
}

/** utils/liveDag.ts: one node per task (`live-task-<i>`), a chain for SEQUENTIAL, no edges otherwise. */
export function flowDag(s: VizState): { nodes: string[]; edges: Array<[string, string]>; statusBar: string } {
  const nodes = s.tasks.map((t) => `live-task-${t.taskIndex}`)
  const workflow = s.workflow ?? 'SEQUENTIAL'
  const edges: Array<[string, string]> = workflow === 'SEQUENTIAL' ? nodes.slice(1).map((n, i) => [nodes[i] as string, n]) : []
  const running = s.tasks.filter((t) => t.status === 'running').length
  return { nodes, edges, statusBar: `${workflow} · ${s.tasks.filter((t) => t.status !== 'running').length} / ${s.totalTasks} tasks · ${running} running` }
}

export interface VizClient {
  ws: WebSocket
  state: VizState
  frames: Msg[]
  opened: Promise<void>
  closed: Promise<{ code: number; reason: string }>
  /** The Approve / Edit / Exit Early buttons: sends the decision and removes the panel optimistically (RESOLVE_REVIEW). */
  decide(reviewId: string, decision: 'CONTINUE' | 'EDIT' | 'EXIT_EARLY', revisedOutput?: string): void
  send(text: string): void
}

/** Opens `url` as the viz does (a page on http://localhost:5173 unless told otherwise). */
export function openViz(url: string, origin: string | undefined = 'http://localhost:5173'): VizClient {
  const ws = new WebSocket(url, origin === undefined ? {} : { origin })
  const state = emptyState()
  const frames: Msg[] = []
  ws.on('error', () => undefined)
  ws.on('message', (data, isBinary) => {
    if (isBinary) return
    let m: Msg
    try {
      m = JSON.parse(data.toString()) as Msg
    } catch {
      return // non-JSON frames are dropped silently (§5.4)
    }
    frames.push(m)
    reduce(state, m)
  })
  const opened = new Promise<void>((resolve) => ws.on('open', () => resolve()))
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  return {
    ws,
    state,
    frames,
    opened,
    closed,
    decide(reviewId, decision, revisedOutput) {
      ws.send(JSON.stringify({ type: 'review_decision', reviewId, decision, ...(revisedOutput !== undefined ? { revisedOutput } : {}) }))
      state.pendingReviews = state.pendingReviews.filter((r) => r.reviewId !== reviewId)
    },
    send(text) {
      ws.send(text)
    }
  }
}
