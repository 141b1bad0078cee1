// A simulated Perspt agent: writes a realistic session store (all 23 tables, Perspt's encoding
// quirks) and keeps it open read-write like a real agent, so Vigil's lock-free reader is exercised
// for real. Used by `--demo` and by tests. Deterministic for a given seed (and clock).
import { existsSync } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { DuckDBConnection } from '@duckdb/node-api'
import { registerInProcessHolder } from '../perspt/liveness'
import { schemaStatements } from '../perspt/schema'

export interface PersptSimulatorOptions {
  path: string
  /** Milliseconds between ticks of the running session (default 1000). */
  tickMs?: number
  seed?: number
  /** Clock (epoch ms); fix it to make the store byte-for-byte reproducible. */
  now?: () => number
  /**
   * Finish the running session once its plan is done (or after this many ticks) and start a new
   * RUNNING one, so a demo stays alive. `false` keeps one session running forever (it replans).
   */
  rotate?: boolean | { afterTicks: number }
}

/** Every simulated session works under this folder; start() only ever replaces stores like that. */
export const SIMULATOR_WORKDIR_ROOT = '/home/demo/projects/'

type Fate = 'completed' | 'partial' | 'failed' | 'aborted' | 'running'
type Phase = 'speculate' | 'verify' | 'converge' | 'sheaf' | 'commit' | 'escalate'
type Scalar = string | number | boolean | null
type Value = Scalar | { ts: number } | { blob: string }

interface PlanTask {
  id: string
  goal: string
  context_files: string[]
  output_files: string[]
  dependencies: string[]
  task_type: string
  contract: { interface_signature: string; invariants: string[] }
  command_contract: { command: string; expect_success: boolean } | null
  node_class: 'interface' | 'implementation' | 'integration'
  dependency_expectations: Record<string, string>
}

interface NodeRun {
  task: PlanTask
  phase: Phase
  attempt: number
  energy: number
  branchId: string
  lastError: string
  escalate: boolean
}

interface SessionSim {
  id: string
  task: string
  workingDir: string
  plugin: string
  model: string
  logLlm: boolean
  fate: Fate
  tasks: PlanTask[]
  /** Index in `tasks` where the session stops for failed/aborted fates. */
  stopAt: number
  /** Node index that escalates (partial/failed). */
  escalateAt: number
  next: number
  node: NodeRun | null
  planSequence: number
  stepsUsed: number
  costUsd: number
  maxSteps: number | null
  maxCost: number | null
  ticks: number
  done: boolean
}

const MODELS = ['gpt-5.1-codex', 'claude-sonnet-4.5', 'gemini-2.5-pro', 'qwen3-coder-480b']
const PLUGINS = ['rust', 'python', 'typescript']
const PROJECTS: readonly { task: string; dir: string; module: string }[] = [
  { task: 'Add token-bucket rate limiting to the REST API and expose limits in the admin page', dir: 'billing-api', module: 'ratelimit' },
  { task: 'Port the CSV importer to a streaming parser so 2 GB exports stop running out of memory', dir: 'ledger-import', module: 'importer' },
  { task: 'Fix naïve datetimes in invoice generation: store UTC, render in the customer’s zone', dir: 'invoicing', module: 'dates' },
  { task: 'Add 日本語 and Français translations to the settings page (café-style plural rules)', dir: 'settings-ui', module: 'i18n' },
  { task: 'Write a `report export` CLI command with JSON and CSV output 🚀', dir: 'reports-cli', module: 'export' },
  { task: 'Replace the ad-hoc cache with an LRU and add hit-rate metrics', dir: 'catalog-service', module: 'cache' },
  { task: 'Split the monolithic config loader into typed sections with validation errors', dir: 'platform-config', module: 'config' },
  { task: 'Add retry with jittered backoff to the webhook dispatcher', dir: 'webhooks', module: 'dispatch' }
]
const GOALS = [
  (m: string) => `Define the public interface of the ${m} module (types, traits, error enum)`,
  (m: string) => `Implement the core ${m} logic behind the interface`,
  (m: string) => `Persist ${m} state and migrate existing data`,
  (m: string) => `Wire ${m} into the application entry points`,
  (m: string) => `Add unit and property tests for ${m}`,
  (m: string) => `Document ${m} usage and configuration in the README`
]
const CATEGORIES = ['implementation_error', 'contract_mismatch', 'insufficient_model_capability', 'degraded_sensors', 'topology_mismatch']
const VALIDATORS = ['export_import', 'dependency_graph', 'schema_contract', 'build_graph', 'test_ownership', 'cross_language', 'policy_invariant']
const PARSE_STATES = ['strict_json_ok', 'tolerant_recovery_ok', 'no_structured_payload', 'schema_invalid']
const EPSILON = 0.1
/** History sessions: their fates, oldest first. The last store session is the live RUNNING one. */
const HISTORY: readonly Fate[] = ['completed', 'failed', 'partial', 'completed', 'aborted']

/** mulberry32: tiny, fast, and the same sequence for the same seed on every platform. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Naive UTC timestamp text, as release builds of Perspt (no ICU) store CURRENT_TIMESTAMP. */
function tsText(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the true-UTC form of node_states.committed_at. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export class PersptSimulator {
  private readonly path: string
  private readonly tickMs: number
  private readonly rand: () => number
  private readonly now: () => number
  private readonly rotate: boolean | { afterTicks: number }
  private instance: DuckDBInstance | null = null
  private con: DuckDBConnection | null = null
  private timer: NodeJS.Timeout | null = null
  private releaseHold: (() => void) | null = null
  private chain: Promise<unknown> = Promise.resolve()
  private live: SessionSim | null = null
  private projectIndex = 0
  /** Simulated time while writing; ticks move it to the real clock. */
  private clock = 0
  /** The last error a background tick hit (ticks never throw from the timer). */
  lastError: unknown = null

  constructor(opts: PersptSimulatorOptions) {
    this.path = opts.path
    this.tickMs = opts.tickMs ?? 1000
    this.rand = prng(opts.seed ?? 1)
    this.now = opts.now ?? Date.now
    this.rotate = opts.rotate ?? true
  }

  /** Creates the store with history and one RUNNING session, keeps it open, and starts ticking. */
  async start(): Promise<void> {
    if (this.con) return
    try {
      await this.create()
    } catch (err) {
      await this.stop()
      throw err
    }
    if (this.tickMs > 0) {
      this.timer = setInterval(() => {
        this.tick().catch((err: unknown) => {
          this.lastError = err
        })
      }, this.tickMs)
      this.timer.unref()
    }
  }

  private async create(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true })
    await this.removeOwnStore()
    this.instance = await DuckDBInstance.create(this.path, { threads: '1' })
    this.con = await this.instance.connect()
    // Vigil reads this store from the same process, where /proc/locks cannot show our lock.
    this.releaseHold = registerInProcessHolder(await stat(this.path, { bigint: true }))
    for (const sql of schemaStatements(23)) await this.con.run(sql)

    // History: finished sessions spread over the last days, written as one batch like an old store.
    const start = this.now()
    await this.con.run('BEGIN TRANSACTION')
    for (let i = 0; i < HISTORY.length; i++) {
      this.clock = start - (HISTORY.length - i) * 7 * 3600_000 - Math.floor(this.rand() * 3600_000)
      const session = await this.createSession(HISTORY[i] as Fate)
      while (!session.done) {
        this.advanceClock(2_000 + Math.floor(this.rand() * 40_000))
        await this.advance(session)
      }
    }
    await this.con.run('COMMIT')
    // Older data sits in the .db file; live writes go to the WAL, as in a real long-lived store.
    await this.con.run('CHECKPOINT')

    this.clock = start - 90_000
    this.live = await this.createSession('running')
    for (let i = 0; i < 4; i++) {
      this.advanceClock(15_000)
      await this.advance(this.live)
    }
  }

  /** Advances the running session by one step (serialised with the timer's ticks). */
  tick(): Promise<void> {
    const run = this.chain.then(() => this.doTick())
    this.chain = run.catch(() => undefined)
    return run
  }

  /** Stops ticking and closes the database (DuckDB checkpoints on close, like an agent exiting). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.chain
    this.con?.closeSync()
    this.instance?.closeSync()
    this.con = null
    this.instance = null
    this.releaseHold?.()
    this.releaseHold = null
  }

  /** The session id currently RUNNING (for tests and the demo UI). */
  get runningSessionId(): string | null {
    return this.live?.id ?? null
  }

  private async doTick(): Promise<void> {
    if (!this.con || !this.live) return
    this.clock = Math.max(this.clock + 1, this.now())
    const session = this.live
    session.ticks++
    const limit = typeof this.rotate === 'object' ? this.rotate.afterTicks : Infinity
    if (this.rotate !== false && session.ticks > limit) {
      await this.finish(session, 'COMPLETED')
    } else {
      await this.advance(session)
    }
    if (session.done) {
      this.advanceClock(1_000)
      this.live = await this.createSession('running')
    }
  }

  // ---- writing --------------------------------------------------------------------------------

  private async insert(table: string, row: Record<string, Value>): Promise<void> {
    const cols = Object.keys(row)
    const values: Scalar[] = []
    const marks = cols.map((c) => {
      const v = row[c] as Value
      if (v !== null && typeof v === 'object' && 'ts' in v) {
        values.push(tsText(v.ts))
        return '?::TIMESTAMP'
      }
      if (v !== null && typeof v === 'object' && 'blob' in v) {
        // Perspt binds hex text and casts it: the BLOB holds the hex string's ASCII bytes.
        values.push(v.blob)
        return '?::BLOB'
      }
      values.push(v)
      return '?'
    })
    await this.db().run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${marks.join(', ')})`, values)
  }

  private db(): DuckDBConnection {
    if (!this.con) throw new Error('PersptSimulator is not started')
    return this.con
  }

  /** Each write happens a little after the previous one. */
  private at(): { ts: number } {
    this.advanceClock(50 + Math.floor(this.rand() * 900))
    return { ts: this.clock }
  }

  /**
   * Moves simulated time on by `ms`, never past the real clock: a tick writes many rows, each "a little
   * after the previous one", and without the cap those steps add up and the store runs ahead of real
   * time (rows from the future, running sessions with a negative age). Rows written at the cap share
   * its time; their ids keep the order.
   */
  private advanceClock(ms: number): void {
    this.clock = Math.max(this.clock, Math.min(this.clock + ms, this.now()))
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.rand() * (max - min + 1))
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)] as T
  }

  private hex(bytes: number): string {
    let s = ''
    for (let i = 0; i < bytes; i++) s += this.int(0, 255).toString(16).padStart(2, '0')
    return s
  }

  private uuid(): string {
    const h = this.hex(16).split('')
    h[12] = '4'
    h[16] = (8 + this.int(0, 3)).toString(16)
    const s = h.join('')
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
  }

  // ---- sessions -------------------------------------------------------------------------------

  private async createSession(fate: Fate): Promise<SessionSim> {
    const project = PROJECTS[this.projectIndex++ % PROJECTS.length] as (typeof PROJECTS)[number]
    const plugin = this.pick(PLUGINS)
    const count = fate === 'running' ? 6 : this.int(3, 5)
    const tasks = this.planTasks(count, project.module, plugin)
    const session: SessionSim = {
      id: this.uuid(),
      task: project.task,
      workingDir: `${SIMULATOR_WORKDIR_ROOT}${project.dir}`,
      plugin,
      model: this.pick(MODELS),
      // Without --log-llm Perspt stores usage-only rows with '' prompt and response.
      logLlm: this.projectIndex % 3 !== 2,
      fate,
      tasks,
      stopAt: fate === 'failed' ? Math.min(2, count - 1) + 1 : count,
      escalateAt: fate === 'failed' ? Math.min(2, count - 1) : fate === 'partial' ? count - 2 : -1,
      next: 0,
      node: null,
      planSequence: 1,
      stepsUsed: 0,
      costUsd: 0,
      maxSteps: this.rand() < 0.5 ? 50 : null,
      maxCost: this.rand() < 0.5 ? 5 : null,
      ticks: 0,
      done: false
    }
    const t0 = this.at()
    await this.insert('sessions', {
      session_id: session.id,
      task: session.task,
      working_dir: session.workingDir,
      merkle_root: { blob: '' },
      detected_toolchain: '',
      created_at: t0,
      updated_at: t0,
      status: 'RUNNING'
    })
    await this.insert('feature_charters', {
      charter_id: this.uuid(),
      session_id: session.id,
      scope_description: session.task,
      max_modules: 10,
      max_files: 30,
      max_revisions: 5,
      language_constraint: plugin,
      created_at: this.at()
    })
    // The architect's planning call has no node: node_id is ''.
    await this.llm(session, '', `Plan the task: ${session.task}`)
    await this.writePlan(session, 'initial', null)
    return session
  }

  private planTasks(count: number, module: string, plugin: string, offset = 0): PlanTask[] {
    const ext = plugin === 'rust' ? 'rs' : plugin === 'python' ? 'py' : 'ts'
    const tasks: PlanTask[] = []
    for (let i = 0; i < count; i++) {
      const n = offset + i + 1
      const id = `task_${n}`
      const deps = n === 1 ? [] : n <= 3 ? ['task_1'] : [`task_${n - 1}`, ...(this.rand() < 0.5 ? [`task_${n - 2}`] : [])]
      const nodeClass = n === 1 ? 'interface' : i === count - 1 ? 'integration' : 'implementation'
      tasks.push({
        id,
        goal: (GOALS[(n - 1) % GOALS.length] as (m: string) => string)(module),
        context_files: deps.map((d) => `src/${module}/${d}.${ext}`),
        output_files: [`src/${module}/${id}.${ext}`],
        dependencies: deps,
        task_type: n === count + offset && count > 3 ? 'test' : 'code',
        contract: { interface_signature: `${module}::${id}`, invariants: ['no panics on malformed input'] },
        command_contract: plugin === 'rust' ? { command: 'cargo test', expect_success: true } : null,
        node_class: nodeClass,
        dependency_expectations: Object.fromEntries(deps.map((d) => [d, 'exports stable types']))
      })
    }
    return tasks
  }

  private async writePlan(session: SessionSim, reason: string, supersedes: string | null): Promise<void> {
    await this.insert('plan_revisions', {
      revision_id: this.uuid(),
      session_id: session.id,
      sequence: session.planSequence,
      plan_json: JSON.stringify({ tasks: session.tasks }),
      reason,
      supersedes,
      status: 'active',
      created_at: this.at()
    })
    const seen = new Set<string>()
    for (const task of session.tasks) {
      for (const dep of task.dependencies) {
        const key = `${dep}>${task.id}`
        if (seen.has(key)) continue
        seen.add(key)
        await this.insert('task_graph_edges', {
          session_id: session.id,
          parent_node_id: dep,
          child_node_id: task.id,
          edge_type: 'depends_on',
          created_at: this.at()
        })
      }
    }
  }

  /** One step of a session: the next phase of its current node, or the next node, or the end. */
  private async advance(session: SessionSim): Promise<void> {
    if (session.done) return
    // An aborted run stops while its second node is being corrected.
    if (session.fate === 'aborted' && session.node && session.next >= 2 && session.node.attempt >= 1) {
      return this.finish(session, 'ABORTED')
    }
    if (!session.node) {
      if (session.next >= session.stopAt || session.next >= session.tasks.length) {
        if (session.fate === 'running') {
          if (this.rotate !== false) return this.finish(session, 'COMPLETED')
          return this.replan(session)
        }
        return this.finish(session, this.finalStatus(session))
      }
      const task = session.tasks[session.next++] as PlanTask
      session.node = {
        task,
        phase: 'speculate',
        attempt: 0,
        energy: 0.6 + this.rand() * 1.9,
        branchId: `branch_${task.id}_${this.uuid()}`,
        lastError: '',
        escalate: session.next - 1 === session.escalateAt
      }
      session.stepsUsed++
      await this.budget(session)
    }
    const node = session.node
    switch (node.phase) {
      case 'speculate':
        return this.speculate(session, node)
      case 'verify':
        return this.verify(session, node)
      case 'converge':
        return this.converge(session, node)
      case 'sheaf':
        return this.sheaf(session, node)
      case 'commit':
        return this.commit(session, node)
      case 'escalate':
        return this.escalate(session, node)
    }
  }

  private finalStatus(session: SessionSim): string {
    switch (session.fate) {
      case 'failed':
        return 'FAILED'
      case 'partial':
        return 'PARTIAL'
      case 'aborted':
        return 'ABORTED'
      default:
        return 'COMPLETED'
    }
  }

  private async finish(session: SessionSim, status: string): Promise<void> {
    if (session.fate === 'aborted' && session.node) {
      // The user aborted at a review gate while this node was in flight.
      await this.insert('review_outcomes', {
        session_id: session.id,
        node_id: session.node.task.id,
        outcome: 'aborted',
        reviewer_note: 'Stopping: the approach rewrites too much of the module',
        energy_at_review: 0.0,
        degraded: false,
        escalation_category: '',
        created_at: this.at()
      })
    }
    await this.db().run('UPDATE sessions SET status = ?, updated_at = ?::TIMESTAMP WHERE session_id = ?', [
      status,
      tsText(this.at().ts),
      session.id
    ])
    session.done = true
    session.node = null
  }

  /** With rotation off, a finished plan grows: a new revision adds two more nodes. */
  private async replan(session: SessionSim): Promise<void> {
    const module = session.tasks[0]?.contract.interface_signature.split('::')[0] ?? 'core'
    session.tasks = [...session.tasks, ...this.planTasks(2, module, session.plugin, session.tasks.length)]
    session.stopAt = session.tasks.length
    session.planSequence++
    await this.writePlan(session, 'subgraph_replan: follow-up work discovered during integration', null)
    await this.budget(session, 1)
  }

  private async budget(session: SessionSim, extraRevisions = 0): Promise<void> {
    await this.db().run(
      `INSERT INTO budget_envelopes (session_id, max_steps, steps_used, max_revisions, revisions_used, max_cost_usd, cost_used_usd, updated_at)
       VALUES (?, ?, ?, NULL, ?, ?, ?, ?::TIMESTAMP)
       ON CONFLICT (session_id) DO UPDATE SET steps_used = excluded.steps_used,
         revisions_used = budget_envelopes.revisions_used + ?, cost_used_usd = excluded.cost_used_usd,
         updated_at = excluded.updated_at`,
      [session.id, session.maxSteps, session.stepsUsed, extraRevisions, session.maxCost, session.costUsd, tsText(this.at().ts), extraRevisions]
    )
  }

  private async llm(session: SessionSim, nodeId: string, instruction: string): Promise<void> {
    const tokensIn = this.int(600, 4200)
    const tokensOut = this.int(150, 1600)
    session.costUsd = Math.round((session.costUsd + (tokensIn / 1000) * 0.01 + (tokensOut / 1000) * 0.03) * 1e6) / 1e6
    const prompt = session.logLlm
      ? `${instruction}\n\nProject: ${session.workingDir}\nNotes from the user: keep naïve café 日本語 🚀 strings intact.\n`
      : ''
    const response = session.logLlm
      ? `\`\`\`json\n{"artifacts":[{"operation":"write","path":"src/${nodeId || 'plan'}.rs"}],"summary":"Done — café ✓"}\n\`\`\``
      : ''
    await this.insert('llm_requests', {
      session_id: session.id,
      node_id: nodeId,
      model: session.model,
      prompt,
      response,
      tokens_in: tokensIn,
      tokens_out: tokensOut,
      latency_ms: this.int(400, 9000),
      timestamp: this.at()
    })
  }

  private energyParts(total: number): Record<'v_syn' | 'v_str' | 'v_log' | 'v_boot' | 'v_sheaf', number> {
    const w = [this.rand() + 0.2, this.rand() + 0.2, this.rand() * 0.6, this.rand() * 0.3, this.rand() * 0.2]
    const sum = w.reduce((a, b) => a + b, 0)
    const part = (i: number) => Math.round(((w[i] as number) / sum) * total * 1e4) / 1e4
    return { v_syn: part(0), v_str: part(1), v_log: part(2), v_boot: part(3), v_sheaf: part(4) }
  }

  private async step(session: SessionSim, node: NodeRun, step: string, outcome: string, energy?: Record<string, number>) {
    await this.insert('srbn_step_records', {
      session_id: session.id,
      node_id: node.task.id,
      step,
      outcome,
      energy_json: energy ? JSON.stringify(energy) : null,
      parse_state: null,
      retry_classification: null,
      attempt_count: node.attempt,
      duration_ms: this.int(120, 45_000),
      created_at: this.at()
    })
  }

  private async speculate(session: SessionSim, node: NodeRun): Promise<void> {
    const task = node.task
    await this.llm(session, task.id, `Implement ${task.id}: ${task.goal}`)
    await this.insert('context_provenance', {
      session_id: session.id,
      node_id: task.id,
      context_package_id: this.uuid(),
      structural_hashes: JSON.stringify(task.dependencies.map((d) => `${d}:${this.hex(8)}`)),
      summary_hashes: JSON.stringify([]),
      dependency_hashes: JSON.stringify(task.dependencies.map((d) => `${d}:${this.hex(8)}`)),
      included_file_count: task.context_files.length,
      total_bytes: this.int(2_000, 90_000),
      created_at: this.at()
    })
    for (const path of task.context_files) {
      await this.insert('structural_digests', {
        digest_id: `sd-${task.id}-${this.uuid()}`,
        session_id: session.id,
        node_id: task.id,
        source_path: path,
        artifact_kind: this.pick(['signature', 'symbol_inventory']),
        hash: { blob: this.hex(32) },
        version: 1,
        created_at: this.at()
      })
    }
    const parent = task.dependencies[0] ?? 'root'
    await this.insert('provisional_branches', {
      branch_id: node.branchId,
      session_id: session.id,
      node_id: task.id,
      parent_node_id: parent,
      state: 'active',
      parent_seal_hash: { blob: '' },
      sandbox_dir: '',
      created_at: this.at(),
      updated_at: this.at()
    })
    if (parent !== 'root') {
      const parentTask = session.tasks.find((t) => t.id === parent)
      await this.insert('branch_lineage', {
        lineage_id: `lin_${node.branchId}_${parent}`,
        // Perspt's naming bug: this column holds the parent *node* id.
        parent_branch_id: parent,
        child_branch_id: node.branchId,
        depends_on_seal: parentTask?.node_class === 'interface',
        created_at: this.at()
      })
    }
    await this.step(session, node, 'speculate', 'ok')
    node.phase = 'verify'
  }

  private async verify(session: SessionSim, node: NodeRun): Promise<void> {
    if (node.attempt > 0) {
      // A correction round: the model answers again and the parser judges the payload.
      await this.llm(session, node.task.id, `Fix the failing checks for ${node.task.id} (attempt ${node.attempt})`)
      const accepted = this.rand() < 0.8
      await this.insert('correction_attempts', {
        session_id: session.id,
        node_id: node.task.id,
        attempt: node.attempt,
        parse_state: accepted ? this.pick(PARSE_STATES.slice(0, 2)) : this.pick(PARSE_STATES.slice(2)),
        retry_classification: accepted ? null : 'malformed_retry',
        response_fingerprint: this.hex(8),
        response_length: this.int(800, 12_000),
        energy_json: JSON.stringify(this.energyParts(node.energy)),
        accepted,
        rejection_reason: accepted ? null : 'response had no structured artifact bundle',
        created_at: Math.floor(this.clock / 1000)
      })
    }
    const parts = this.energyParts(node.energy)
    const total = Object.values(parts).reduce((a, b) => a + b, 0)
    await this.insert('energy_history', { node_id: node.task.id, session_id: session.id, timestamp: this.at(), ...parts, v_total: total })
    await this.step(session, node, 'verify', 'ok', parts)
    node.attempt++
    const converged = node.energy < EPSILON
    if (converged || node.attempt >= (node.escalate ? 3 : 5)) {
      node.phase = 'converge'
      return
    }
    node.lastError = `error[E0308]: mismatched types in src/${node.task.id}.rs: expected \`Result<Limit, Error>\`, found \`Limit\``
    // Converging nodes shrink fast; the escalating one plateaus.
    node.energy *= node.escalate ? 0.85 + this.rand() * 0.2 : 0.25 + this.rand() * 0.35
  }

  private async converge(session: SessionSim, node: NodeRun): Promise<void> {
    const parts = this.energyParts(node.energy)
    await this.step(session, node, 'converge', node.escalate ? 'escalated' : 'ok', parts)
    node.phase = node.escalate ? 'escalate' : 'sheaf'
  }

  private async sheaf(session: SessionSim, node: NodeRun): Promise<void> {
    const validators = node.task.dependencies.length > 0 ? 2 : 1
    for (let i = 0; i < validators; i++) {
      await this.insert('sheaf_validations', {
        session_id: session.id,
        node_id: node.task.id,
        validator_class: this.pick(VALIDATORS),
        plugin_source: i === 0 ? session.plugin : '',
        passed: true,
        evidence_summary: `imports of ${node.task.id} resolve against sealed interfaces`,
        affected_files: JSON.stringify(node.task.output_files),
        v_sheaf_contribution: Math.round(this.rand() * 0.05 * 1e4) / 1e4,
        requeue_targets: '[]',
        created_at: this.at()
      })
    }
    await this.step(session, node, 'sheaf_validate', 'ok')
    node.phase = 'commit'
  }

  private async commit(session: SessionSim, node: NodeRun): Promise<void> {
    const task = node.task
    const when = this.at()
    const children = session.tasks.filter((t) => t.dependencies.includes(task.id)).map((t) => t.id)
    await this.insert('node_states', {
      node_id: task.id,
      session_id: session.id,
      state: 'Completed',
      v_total: node.energy,
      merkle_hash: { blob: this.hex(32) },
      attempt_count: node.attempt,
      created_at: when,
      node_class: task.node_class,
      owner_plugin: session.plugin,
      goal: task.goal,
      parent_id: task.dependencies[0] ?? '',
      children: JSON.stringify(children),
      last_error_type: node.lastError.slice(0, 200),
      committed_at: isoSeconds(when.ts)
    })
    const testsPassed = this.int(3, 40)
    const result = {
      syntax_ok: true,
      build_ok: true,
      tests_ok: true,
      lint_ok: this.rand() < 0.9,
      diagnostics_count: 0,
      tests_passed: testsPassed,
      tests_failed: 0,
      summary: `${testsPassed} tests passed`,
      raw_output: `running ${testsPassed} tests\ntest result: ok.`,
      degraded: false,
      degraded_reason: null,
      stage_outcomes: [{ stage: 'tests', passed: true, sensor_status: 'Available', output: 'ok' }]
    }
    await this.insert('verification_results', {
      session_id: session.id,
      node_id: task.id,
      result_json: JSON.stringify(result),
      syntax_ok: true,
      build_ok: true,
      tests_ok: true,
      lint_ok: result.lint_ok,
      diagnostics_count: 0,
      tests_passed: testsPassed,
      tests_failed: 0,
      degraded: false,
      degraded_reason: '',
      created_at: this.at()
    })
    await this.bundle(session, node)
    await this.insert('review_outcomes', {
      session_id: session.id,
      node_id: task.id,
      outcome: 'auto_approved',
      reviewer_note: '',
      energy_at_review: 0.0,
      degraded: false,
      escalation_category: '',
      created_at: this.at()
    })
    if (task.node_class === 'interface') {
      const seal = this.hex(32)
      await this.insert('interface_seals', {
        seal_id: this.uuid(),
        session_id: session.id,
        node_id: task.id,
        sealed_path: task.output_files[0] ?? '',
        artifact_kind: 'interface_seal',
        seal_hash: { blob: seal },
        version: 1,
        created_at: this.at()
      })
      // Perspt's "merkle root" is really the hex of the last committed interface seal.
      await this.db().run('UPDATE sessions SET merkle_root = ?::BLOB, updated_at = ?::TIMESTAMP WHERE session_id = ?', [
        seal,
        tsText(this.at().ts),
        session.id
      ])
    }
    await this.db().run("UPDATE provisional_branches SET state = 'merged', updated_at = ?::TIMESTAMP WHERE branch_id = ?", [
      tsText(this.at().ts),
      node.branchId
    ])
    await this.step(session, node, 'commit', 'ok')
    session.node = null
  }

  private async bundle(session: SessionSim, node: NodeRun): Promise<void> {
    const path = node.task.output_files[0] ?? 'src/lib.rs'
    const bundle = {
      artifacts: [
        { operation: 'write', path, content: `// ${node.task.goal}\npub fn run() -> Result<(), Error> {\n    Ok(())\n}\n` },
        { operation: 'diff', path: 'README.md', patch: `@@ -1,3 +1,4 @@\n # ${session.task.slice(0, 30)}\n+See ${path}.\n` }
      ],
      commands: session.plugin === 'rust' ? ['cargo test'] : []
    }
    await this.insert('artifact_bundles', {
      session_id: session.id,
      node_id: node.task.id,
      bundle_json: JSON.stringify(bundle),
      artifact_count: bundle.artifacts.length,
      command_count: bundle.commands.length,
      touched_files: JSON.stringify([path, 'README.md']),
      created_at: this.at()
    })
  }

  private async escalate(session: SessionSim, node: NodeRun): Promise<void> {
    const task = node.task
    const category = this.pick(CATEGORIES)
    const action = { grounded_retry: { evidence_summary: `energy stalled at ${node.energy.toFixed(2)} after ${node.attempt} attempts` } }
    const dependents = session.tasks.filter((t) => t.dependencies.includes(task.id)).map((t) => t.id)
    await this.insert('escalation_reports', {
      session_id: session.id,
      node_id: task.id,
      category,
      action: JSON.stringify(action),
      energy_snapshot: JSON.stringify({ v_syn: node.energy, v_str: 0, v_log: 0, v_boot: 0, v_sheaf: 0 }),
      stage_outcomes: JSON.stringify([
        { stage: 'syntax', passed: true, sensor_status: 'Available', output: '' },
        { stage: 'tests', passed: false, sensor_status: { Fallback: { actual: 'cargo check', reason: 'test runner timed out' } }, output: node.lastError }
      ]),
      evidence: `Tests keep failing in ${task.output_files[0] ?? task.id}: ${node.lastError}`,
      affected_node_ids: JSON.stringify([task.id, ...dependents]),
      created_at: this.at()
    })
    await this.insert('rewrite_records', {
      session_id: session.id,
      node_id: task.id,
      action: JSON.stringify(action),
      category,
      requeued_nodes: JSON.stringify(dependents),
      inserted_nodes: '[]',
      created_at: this.at()
    })
    await this.bundle(session, node)
    await this.insert('repair_footprints', {
      footprint_id: this.uuid(),
      session_id: session.id,
      node_id: task.id,
      revision_id: 'initial',
      attempt: node.attempt,
      affected_files: JSON.stringify(task.output_files),
      bundle_json: JSON.stringify({ artifacts: [], commands: [] }),
      diagnosis: `[Diagnostic { severity: Error, code: Some("E0308"), message: "mismatched types", file: "${task.output_files[0] ?? ''}", line: ${this.int(10, 300)} }]`,
      resolved: false,
      created_at: this.at()
    })
    await this.db().run("UPDATE provisional_branches SET state = 'flushed', updated_at = ?::TIMESTAMP WHERE branch_id = ?", [
      tsText(this.at().ts),
      node.branchId
    ])
    await this.insert('branch_flushes', {
      flush_id: this.uuid(),
      session_id: session.id,
      parent_node_id: task.id,
      flushed_branch_ids: JSON.stringify([node.branchId]),
      requeue_node_ids: JSON.stringify(dependents),
      reason: `escalation (${category}) of ${task.id}`,
      created_at: this.at()
    })
    session.node = null
  }

  // ---- safety ---------------------------------------------------------------------------------

  /**
   * Replaces a store at `path` only if it is one this simulator wrote (every session under
   * SIMULATOR_WORKDIR_ROOT): never a real Perspt store a user pointed the demo at by mistake.
   */
  private async removeOwnStore(): Promise<void> {
    if (!existsSync(this.path)) {
      await rm(`${this.path}.wal`, { force: true })
      return
    }
    let ours = false
    let instance: DuckDBInstance | null = null
    try {
      instance = await DuckDBInstance.create(this.path, { access_mode: 'READ_ONLY' })
      const con = await instance.connect()
      try {
        const rows = (
          await con.runAndReadAll(
            `SELECT count(*) FILTER (WHERE NOT starts_with(working_dir, '${SIMULATOR_WORKDIR_ROOT}'))::INTEGER AS foreign FROM sessions`
          )
        ).getRowObjectsJS()
        ours = rows[0]?.foreign === 0
      } finally {
        con.closeSync()
      }
    } catch {
      // Unreadable, locked by another process, or not a Perspt store: not ours to replace.
    } finally {
      instance?.closeSync()
    }
    if (!ours) throw new Error(`Refusing to replace ${this.path}: it is not a store written by the Perspt simulator.`)
    await rm(this.path, { force: true })
    await rm(`${this.path}.wal`, { force: true })
  }
}
