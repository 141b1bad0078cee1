// The review API on Vigil's port, for any agent or script (curl-able). AgentEnsemble's shapes (spec
// §2.2.11) plus what it lacks: a server-side `expiresAt`, the gate's `source`, a way to create gates,
// `?wait=true` long polls, and refusal of unknown decision words instead of reading them as "exit".
//
//   POST /api/reviews[?wait=true]      {taskDescription, taskOutput, prompt?, timeoutMs, onTimeout, timing?, requiredRole?, source?}
//                                      → 201 {reviewId, …, gateSecret} | with ?wait=true 200 and the outcome
//   GET  /api/reviews                  {"reviews":[…pending…],"total":n}                       (reviewers)
//   GET  /api/reviews/{id}[?wait=true] one gate, pending or decided                             (reviewers;
//                                      its creator with `Authorization: Gate <gateSecret>`: status and outcome only)
//   POST /api/reviews/{id}             {decision, revisedOutput?} → 200 | 400 | 401 | 404 | 409 | 503 (reviewers)
//   DELETE /api/reviews/{id}           its creator (`Authorization: Gate <gateSecret>`) withdraws a pending gate → 200 | 401 | 404 | 409
//
// `Idempotency-Key: <16–200 chars of A-Z a-z 0-9 . _ ~ ->` on the create: the same key and request again
// answers the same gate (and secret) instead of raising a second one (a client whose 201 was lost retries).
//
// Who may do what (SECURITY.md "Who may raise, see and decide a gate"): the auth gate lets a request in
// and records who it is (server/auth/caller.ts); this file refuses what that caller may not do here, and
// takes `decidedBy` from it (a `decidedBy` in the body is ignored).
//
// A new gate is on disk (gate-journal.ts) before its 201; one over a cap (gate-limits.ts) gets 429 (count)
// or 413 (bytes, or a body over MAX_BODY_BYTES) naming the limit. A caller whose wait dropped (or whose
// Vigil restarted) waits again with GET /api/reviews/{id}?wait=true.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from '../../shared/api/errors'
import { MAX_GATE_TIMEOUT_MS, REVIEW_TIMEOUT_ACTIONS, type ReviewGate, type ReviewTimeoutAction } from '../../shared/model/reviews'
import { BODY_TIMEOUT_MS, BodyTimeoutError, BodyTooLargeError, readBody, sendBodyTimeout, sendJson, STATUS_BY_CODE } from '../server/json-http'
import { callerOf, type Caller } from '../server/auth/caller'
import { isAllowedRequestOrigin } from '../server/origin-policy'
import type { ServerContext, ServerExtension } from '../server/vigil-server'
import { GateLimitError } from './gate-limits'
import type { CreateGateInput, ReviewCoordinator } from './review-coordinator'

export const REVIEWS_PATH = '/api/reviews'
/** Task outputs can be long; edits travel back in the same size. Bigger: 413. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024
/**
 * Bytes of request bodies being read and parsed at once (a declared length, or MAX_BODY_BYTES for a body
 * without one): many large bodies in parallel would otherwise be held in memory together. Over it: 429.
 */
export const MAX_IN_FLIGHT_BODY_BYTES = 64 * 1024 * 1024
/** Longest timeout a gate may ask for: a week. */
const MAX_TIMEOUT_MS = MAX_GATE_TIMEOUT_MS
export const MAX_TEXT = 4 * 1024 * 1024

/** AgentEnsemble's error words, sent next to Vigil's codes so its clients keep working. */
const REASONS: Partial<Record<ApiError['code'], string>> = {
  'not-found': 'REVIEW_NOT_FOUND',
  conflict: 'REVIEW_RESOLVED',
  'bad-request': 'BAD_REQUEST',
  unavailable: 'AGENT_UNREACHABLE'
}

export class ReviewHttpApi implements ServerExtension {
  private inFlightBytes = 0

  constructor(
    private readonly reviews: ReviewCoordinator,
    /** How long a request body may take to arrive (tests shorten it). */
    private readonly bodyTimeoutMs = BODY_TIMEOUT_MS
  ) {}

  /** `GET /api/status` (signed-in callers): pending gates, their caps, refusals, and whether they are on disk. */
  statusDetails(): Record<string, unknown> {
    const { limits, usage, refused, persistence } = this.reviews.stats()
    return { reviews: { pending: usage.gates, limits, usage, refused, persistence } }
  }

  /** readJsonObject within the in-flight budget. */
  private async readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const declared = Number(req.headers['content-length'])
    const reserve = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, MAX_BODY_BYTES + 1) : MAX_BODY_BYTES
    if (this.inFlightBytes > 0 && this.inFlightBytes + reserve > MAX_IN_FLIGHT_BODY_BYTES) {
      throw new GateLimitError(
        'maxInFlightBodyBytes',
        MAX_IN_FLIGHT_BODY_BYTES,
        429,
        `Too many large review requests at once (limit maxInFlightBodyBytes = ${MAX_IN_FLIGHT_BODY_BYTES} bytes being read). Retry shortly.`
      )
    }
    this.inFlightBytes += reserve
    try {
      return await readJsonObject(req, this.bodyTimeoutMs)
    } finally {
      this.inFlightBytes -= reserve
    }
  }

  async handleHttp(req: IncomingMessage, res: ServerResponse, path: string, ctx: ServerContext): Promise<boolean> {
    if (path !== REVIEWS_PATH && !path.startsWith(`${REVIEWS_PATH}/`)) return false
    try {
      await this.route(req, res, path, ctx)
    } catch (err) {
      // A body that never finished arriving is the client's delay (408), not Vigil's error (500).
      if (err instanceof BodyTimeoutError) sendBodyTimeout(res)
      else sendProblem(res, err)
    }
    return true
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string, ctx: ServerContext): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vigil.invalid')
    const wait = url.searchParams.get('wait') === 'true'
    const rest = path.slice(REVIEWS_PATH.length)
    const id = rest === '' || rest === '/' ? null : decodeId(rest.slice(1))
    if ((req.method === 'POST' || req.method === 'DELETE') && !isAllowedRequestOrigin(req.headers.origin, ctx.bindHost, req.headers.host)) {
      throw new ApiError('forbidden', 'Cross-origin requests are not allowed.')
    }
    const caller = callerOf(req)
    const reviewer = caller?.reviewer === true
    if (id === null) {
      if (req.method === 'GET' || req.method === 'HEAD') {
        if (!reviewer) throw notReviewer()
        const pending = this.reviews.pending()
        const { limits, usage, refused, persistence } = this.reviews.stats()
        return sendJson(res, 200, { reviews: pending.map(toWire), total: pending.length, limits, usage, refused, persistence })
      }
      if (req.method === 'POST') return this.create(req, res, wait)
      return methodNotAllowed(res, 'GET, POST')
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      // A reviewer sees the whole gate; its creator, with its secret, that gate's status and outcome only.
      const owner = !reviewer && (await this.isOwner(caller, id))
      if (!reviewer && !owner) throw notReviewer(caller)
      const gate = wait ? await this.waitFor(req, res, id) : await this.reviews.find(id)
      if (gate) sendJson(res, 200, owner ? ownerWire(gate) : toWire(gate))
      return
    }
    if (req.method === 'POST') {
      if (!reviewer || !caller) throw notReviewer(caller)
      const body = await this.readJson(req)
      const gate = await this.reviews.decideOrExplain(id, {
        decision: typeof body.decision === 'string' ? body.decision : missing('decision'),
        revisedOutput: optionalText(body.revisedOutput, 'revisedOutput'),
        // Who decided is what the caller proved, never what the body says (body.decidedBy is ignored).
        decidedBy: caller.label,
        surface: 'api'
      })
      return sendJson(res, 200, { reviewId: gate.id, decision: gate.outcome?.decision, status: 'APPLIED', gate: toWire(gate) })
    }
    if (req.method === 'DELETE') {
      // Only the gate's creator withdraws it (a reviewer decides instead): the secret is the proof.
      if (!(await this.isOwner(caller, id))) {
        throw new ApiError('unauthorized', "Withdrawing a gate needs its secret (Authorization: Gate <gateSecret> from the 201). Reviewers decide it instead (POST /api/reviews/{id}).")
      }
      const gate = await this.reviews.withdraw(id)
      return sendJson(res, 200, { reviewId: gate.id, status: 'CANCELLED', outcome: gate.outcome })
    }
    return methodNotAllowed(res, 'GET, POST, DELETE')
  }

  /** The caller sent the secret given to this gate's creator. */
  private async isOwner(caller: Caller | null, id: string): Promise<boolean> {
    return caller?.gateSecret ? this.reviews.ownerSecretMatches(id, caller.gateSecret) : false
  }

  private async create(req: IncomingMessage, res: ServerResponse, wait: boolean): Promise<void> {
    // Full already: refuse before reading (up to 8 MiB of) the body.
    this.reviews.checkApiAdmission()
    const key = idempotencyKeyOf(req)
    const input = parseCreate(await this.readJson(req))
    const { gate, secret, replayed } = key !== null ? await this.reviews.createIdempotent(input, key) : { ...this.reviews.createOwned(input), replayed: false }
    // On disk before anyone is told the gate exists (false: Vigil keeps it in memory only; see GET /api/reviews "persistence").
    const persisted = await this.reviews.persisted()
    // The secret is shown this once (only its hash is kept): with it the creator may wait again for this gate.
    if (!wait) {
      const status = gate.status.toUpperCase().replace('-', '_')
      return sendJson(res, 201, { reviewId: gate.id, status, createdAt: gate.createdAt, expiresAt: gate.expiresAt, persisted, gateSecret: secret, ...(replayed ? { replayed } : {}) })
    }
    const done = await this.waitFor(req, res, gate.id)
    if (done) sendJson(res, 200, outcomeWire(done))
  }

  /** Holds the request until the gate is resolved; null (nothing to send) when the caller went away. */
  private async waitFor(req: IncomingMessage, res: ServerResponse, id: string): Promise<ReviewGate | null> {
    const gone = new AbortController()
    res.on('close', () => gone.abort())
    req.socket.setTimeout(0)
    return this.reviews.waitFor(id, gone.signal)
  }
}

/** The gate as the API shows it: AgentEnsemble's fields first, Vigil's additions after. */
function toWire(gate: ReviewGate): Record<string, unknown> {
  return {
    reviewId: gate.id,
    ...(gate.reviewId !== gate.id ? { agentReviewId: gate.reviewId } : {}),
    ...(gate.runId ? { runId: gate.runId } : {}),
    taskDescription: gate.taskDescription,
    taskOutput: gate.taskOutput,
    timing: gate.timing,
    ...(gate.prompt !== null ? { prompt: gate.prompt } : {}),
    timeoutMs: gate.timeoutMs,
    onTimeout: gate.onTimeout,
    ...(gate.requiredRole !== null ? { requiredRole: gate.requiredRole, requiredRoleNote: roleNote(gate.requiredRole) } : {}),
    createdAt: gate.createdAt,
    expiresAt: gate.expiresAt,
    source: gate.source,
    connected: gate.connected,
    status: gate.status.toUpperCase().replace('-', '_'),
    ...(gate.outcome ? { outcome: gate.outcome } : {})
  }
}

/** What the gate's creator reads with its secret: where its gate stands, never its texts or any other gate. */
function ownerWire(gate: ReviewGate): Record<string, unknown> {
  return {
    reviewId: gate.id,
    createdAt: gate.createdAt,
    expiresAt: gate.expiresAt,
    timeoutMs: gate.timeoutMs,
    onTimeout: gate.onTimeout,
    status: gate.status.toUpperCase().replace('-', '_'),
    ...(gate.outcome ? { outcome: gate.outcome } : {})
  }
}

/** requiredRole is carried and shown, never checked: Vigil has no named reviewers. */
export function roleNote(role: string): string {
  return `Role '${role}' requested; Vigil does not check roles.`
}

/** 401 for a caller that may not read or decide gates (the auth gate refuses most before they get here). */
function notReviewer(caller?: Caller | null): ApiError {
  if (caller?.gateSecret) {
    return new ApiError('unauthorized', "That is not this gate's secret. A gate's secret reads only its own gate (GET /api/reviews/{id}); listing and deciding need a login or the reviewer token.")
  }
  return new ApiError('unauthorized', 'Reading or deciding review gates needs a login or the reviewer token (Authorization: Bearer <reviewer token>).')
}

/** What a caller that waited gets back: the decision to act on. */
function outcomeWire(gate: ReviewGate): Record<string, unknown> {
  const o = gate.outcome
  return {
    reviewId: gate.id,
    status: gate.status === 'decided' ? 'APPLIED' : gate.status === 'timed-out' ? 'TIMED_OUT' : 'CANCELLED',
    decision: o?.decision ?? null,
    ...(o?.revisedOutput !== null && o?.revisedOutput !== undefined ? { revisedOutput: o.revisedOutput } : {}),
    surface: o?.surface ?? null,
    decidedBy: o?.decidedBy ?? null,
    decidedAt: o?.decidedAt ?? null
  }
}

function parseCreate(body: Record<string, unknown>): CreateGateInput {
  const taskDescription = requiredText(body.taskDescription, 'taskDescription', 1)
  const taskOutput = typeof body.taskOutput === 'string' ? requiredText(body.taskOutput, 'taskOutput', 0) : missing('taskOutput')
  const timeoutMs = body.timeoutMs
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new ApiError('bad-request', `"timeoutMs" must be an integer from 0 (wait forever) to ${MAX_TIMEOUT_MS}.`)
  }
  const onTimeout = typeof body.onTimeout === 'string' ? body.onTimeout.trim().toUpperCase() : ''
  if (!(REVIEW_TIMEOUT_ACTIONS as readonly string[]).includes(onTimeout)) {
    throw new ApiError('bad-request', `"onTimeout" must be one of ${REVIEW_TIMEOUT_ACTIONS.join(', ')}.`)
  }
  const timing = optionalText(body.timing, 'timing')?.trim().toUpperCase()
  if (timing !== undefined && !['BEFORE_EXECUTION', 'DURING_EXECUTION', 'AFTER_EXECUTION'].includes(timing)) {
    throw new ApiError('bad-request', '"timing" must be BEFORE_EXECUTION, DURING_EXECUTION or AFTER_EXECUTION.')
  }
  return {
    taskDescription,
    taskOutput,
    prompt: optionalText(body.prompt, 'prompt'),
    timeoutMs,
    onTimeout: onTimeout as ReviewTimeoutAction,
    timing,
    requiredRole: optionalText(body.requiredRole, 'requiredRole')?.slice(0, 200),
    source: optionalText(body.source, 'source')?.slice(0, 200)
  }
}

async function readJsonObject(req: IncomingMessage, timeoutMs: number): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = (await readBody(req, MAX_BODY_BYTES, timeoutMs)).toString('utf8')
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      throw new GateLimitError('maxBodyBytes', MAX_BODY_BYTES, 413, `The body is over ${MAX_BODY_BYTES} bytes (limit maxBodyBytes).`)
    }
    throw err
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ApiError('bad-request', 'The body is not valid JSON.')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError('bad-request', 'The body must be a JSON object.')
  return value as Record<string, unknown>
}

/** The create's `Idempotency-Key` header, or null; a malformed one is a bad request (never silently ignored). */
function idempotencyKeyOf(req: IncomingMessage): string | null {
  const raw = req.headers['idempotency-key']
  if (raw === undefined) return null
  const key = Array.isArray(raw) ? raw.join(',') : raw.trim()
  if (!/^[A-Za-z0-9._~-]{16,200}$/.test(key)) {
    throw new ApiError('bad-request', 'Idempotency-Key must be 16 to 200 characters of A-Z, a-z, 0-9, ".", "_", "~" or "-" (a new random value per gate).')
  }
  return key
}

function requiredText(value: unknown, name: string, min: number): string {
  if (typeof value !== 'string') missing(name)
  if (value.length < min) throw new ApiError('bad-request', `"${name}" must not be empty.`)
  if (value.length > MAX_TEXT) throw new GateLimitError('maxTextChars', MAX_TEXT, 413, `"${name}" is over ${MAX_TEXT} characters (limit maxTextChars).`)
  return value
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined
  return requiredText(value, name, 0)
}

function missing(name: string): never {
  throw new ApiError('bad-request', `"${name}" is required and must be a string.`)
}

function decodeId(raw: string): string {
  try {
    const id = decodeURIComponent(raw)
    if (id === '' || id.includes('/') || id.length > 200) throw new Error('bad id')
    return id
  } catch {
    throw new ApiError('not-found', `No review gate at "${raw.slice(0, 80)}".`)
  }
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow)
  sendJson(res, 405, { ok: false, error: { code: 'bad-request', message: `Use ${allow}.` } })
}

function sendProblem(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return
  if (err instanceof GateLimitError) {
    // The body may not have been read: do not keep the connection for a next request behind it.
    res.setHeader('connection', 'close')
    if (err.limit === 'maxInFlightBodyBytes') res.setHeader('retry-after', '1')
    const code = err.status === 429 ? 'rate-limited' : 'too-large'
    sendJson(res, err.status, { ok: false, error: { code, message: err.message, reason: 'GATE_LIMIT', limit: { name: err.limit, value: err.value } } })
    return
  }
  if (err instanceof ApiError) {
    if (err.code === 'unauthorized') res.setHeader('www-authenticate', 'Bearer realm="vigil"')
    sendJson(res, STATUS_BY_CODE[err.code], { ok: false, error: { code: err.code, message: err.message, reason: REASONS[err.code] ?? null } })
    return
  }
  console.error('vigil: review API failed:', err)
  sendJson(res, 500, { ok: false, error: { code: 'internal', message: 'The review API failed; see the server log.' } })
}
