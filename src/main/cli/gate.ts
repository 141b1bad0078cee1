// `vigil gate QUESTION …`: raise a review gate through Vigil's review API, wait for the decision, print
// it and exit with a code per outcome (gate-args.ts GATE_EXIT, docs/gate-cli.md). Plain Node, no Electron,
// no DuckDB: it only speaks HTTP to a running Vigil.
//
// Flow: POST /api/reviews with an Idempotency-Key (a retry after a lost answer never raises a second
// gate) → 201 {reviewId, gateSecret} → GET /api/reviews/{id}?wait=true with `Authorization: Gate <secret>`,
// held until the outcome; a dropped connection (or a restarted Vigil) is waited on again with the same id.
// Ctrl+C withdraws the gate (DELETE /api/reviews/{id} with the secret) and exits 130.
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { UsageError } from './args'
import { GATE_EXIT, GATE_USAGE, parseGateArgs, type GateOptions } from './gate-args'

/** The longest text the review API takes in one field (review-http.ts MAX_TEXT). */
const MAX_TEXT_CHARS = 4 * 1024 * 1024
/**
 * Delays between attempts to raise the gate (the Idempotency-Key makes retries safe, also across a restart
 * of Vigil): a few seconds while nothing listens at all, longer once a request may have reached Vigil (a
 * reset or a server error: Vigil may be restarting with the gate already on disk).
 */
const RAISE_RETRY_MS = [250, 500, 1000, 2000]
const RAISE_RETRY_REACHED_MS = [250, 500, 1000, 2000, 4000, 4000, 4000, 4000]
/** Backoff while waiting again after a dropped connection. */
const WAIT_RETRY_MS = [250, 500, 1000, 2000, 5000]
/** How long past the gate's deadline to keep trying to reach Vigil before giving up (exit 3). */
const PAST_DEADLINE_GRACE_MS = 60_000

export interface GateIo {
  env: NodeJS.ProcessEnv
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  /** Reads stdin whole (for --output-file -). */
  readStdin: () => Promise<string>
  /** Subscribes to Ctrl+C; returns the unsubscribe. */
  onInterrupt: (handler: () => void) => () => void
}

export function processIo(): GateIo {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: async () => {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    },
    onInterrupt: (handler) => {
      process.on('SIGINT', handler)
      return () => process.off('SIGINT', handler)
    }
  }
}

interface HttpAnswer {
  status: number
  body: Record<string, unknown>
}

/** Vigil could not be reached or answered no HTTP at all. */
class NetError extends Error {
  constructor(
    message: string,
    /** Nothing listened (the request never reached a server). */
    readonly refused = false
  ) {
    super(message)
  }
}

/** Vigil said no in a way the user must act on (exit code chosen by the caller). */
class GateFailure extends Error {
  constructor(
    message: string,
    readonly code: number
  ) {
    super(message)
  }
}

/** One JSON request with no client-side timeout (a long poll may last days); `signal` aborts it. */
function requestJson(method: string, url: string, headers: Record<string, string>, body: string | null, signal?: AbortSignal): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(target, { method, headers: { accept: 'application/json', ...headers, ...(body !== null ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) }, signal })
    req.on('socket', (socket) => socket.setKeepAlive(true, 15_000))
    req.on('error', (err) => reject(new NetError(describeNetError(err), (err as NodeJS.ErrnoException).code === 'ECONNREFUSED')))
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (err) => reject(new NetError(describeNetError(err))))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown
        try {
          parsed = text ? JSON.parse(text) : {}
        } catch {
          parsed = { error: { message: text.slice(0, 200) } }
        }
        resolve({ status: res.statusCode ?? 0, body: typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {} })
      })
    })
    req.end(body ?? undefined)
  })
}

function describeNetError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOTFOUND') return 'host not found'
  if (code === 'ECONNRESET') return 'connection reset'
  if ((err as Error).name === 'AbortError') return 'aborted'
  return (err as Error).message || String(code)
}

/** The server's own message (`{"ok":false,"error":{"message"}}`), or the status. */
function serverMessage(answer: HttpAnswer): string {
  const error = answer.body.error as { message?: unknown } | undefined
  return typeof error?.message === 'string' ? error.message : `HTTP ${answer.status}`
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })

function readSecretFile(path: string): string {
  let text: string
  try {
    if (!statSync(path).isFile()) throw new UsageError(`cannot read --token-file ${path}: it is not a file`)
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof UsageError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(`cannot read --token-file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'unreadable'}`)
  }
  const token = text.replace(/[\r\n]+$/, '')
  if (token === '') throw new UsageError(`--token-file ${path} is empty`)
  return token
}

async function reviewText(opts: GateOptions, io: GateIo): Promise<string> {
  let text = opts.output ?? ''
  if (opts.outputFile === '-') text = await io.readStdin()
  else if (opts.outputFile !== null) {
    try {
      text = readFileSync(opts.outputFile, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new UsageError(`cannot read --output-file ${opts.outputFile}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : 'unreadable'}`)
    }
  }
  if (text.length > MAX_TEXT_CHARS) throw new UsageError(`the text to review is over ${MAX_TEXT_CHARS} characters; shorten it or point to a file in --output`)
  return text
}

/** Writes and waits until the stream took it: the CLI exits right after, which would cut a large text sent to a pipe. */
function writeAll(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => resolve())
  })
}

/** What a finished gate means for the caller: its exit code, a word, and one line for people. */
export function outcomeOf(body: Record<string, unknown>): { code: number; outcome: string; line: string } {
  const status = String(body.status ?? '')
  const o = (body.outcome ?? {}) as { decision?: string | null; decidedBy?: string | null; surface?: string | null; note?: string | null }
  const by = [o.decidedBy ? `by ${o.decidedBy}` : '', o.surface ? `via ${o.surface}` : ''].filter(Boolean).join(' ')
  if (status === 'DECIDED') {
    if (o.decision === 'CONTINUE') return { code: GATE_EXIT.approved, outcome: 'approved', line: `approved ${by}` }
    if (o.decision === 'EDIT') return { code: GATE_EXIT.edited, outcome: 'edited', line: `approved with an edit ${by}` }
    if (o.decision === 'EXIT_EARLY') return { code: GATE_EXIT.exitEarly, outcome: 'exit-early', line: `stopped (exit early) ${by}` }
  }
  if (status === 'TIMED_OUT') {
    if (o.decision === 'CONTINUE') return { code: GATE_EXIT.timedOutContinue, outcome: 'timed-out-continue', line: 'timed out: nobody decided in time; continue applied' }
    if (o.decision === 'EXIT_EARLY') return { code: GATE_EXIT.timedOutExitEarly, outcome: 'timed-out-exit-early', line: 'timed out: nobody decided in time; exit early applied' }
    return { code: GATE_EXIT.timedOutFail, outcome: 'timed-out-fail', line: 'timed out: nobody decided in time; fail applied' }
  }
  const note = o.note ? `: ${o.note}` : ''
  return { code: GATE_EXIT.closed, outcome: 'closed', line: `the gate was closed without a decision${note}` }
}

/** `vigil gate …` (the arguments after `gate`): resolves with the exit code. */
export async function runGate(argv: readonly string[], io: GateIo = processIo()): Promise<number> {
  const say = (text: string) => io.stderr.write(`vigil gate: ${text}\n`)
  let opts: GateOptions | null
  let token: string | null
  let text: string
  try {
    opts = parseGateArgs(argv, io.env)
    if (opts === null) {
      await writeAll(io.stdout, GATE_USAGE)
      return 0
    }
    if (opts.tokenFile !== null) token = readSecretFile(opts.tokenFile)
    else if (io.env.VIGIL_TOKEN !== undefined) {
      if (io.env.VIGIL_TOKEN === '') throw new UsageError('VIGIL_TOKEN is set but empty')
      token = io.env.VIGIL_TOKEN
    } else token = null
    text = await reviewText(opts, io)
  } catch (err) {
    if (err instanceof UsageError) {
      say(err.message)
      return GATE_EXIT.usage
    }
    throw err
  }

  const base = opts.url
  const stop = new AbortController()
  let interrupted = false
  let gate: { id: string; secret: string } | null = null
  const unsubscribe = io.onInterrupt(() => {
    // A second Ctrl+C while withdrawing: leave at once.
    if (interrupted) process.exit(GATE_EXIT.interrupted)
    interrupted = true
    stop.abort()
  })

  /** Ctrl+C: withdraw the gate we raised (if any), so no reviewer answers a gate nobody waits for. */
  const withdraw = async (): Promise<number> => {
    if (gate) {
      const timeout = AbortSignal.timeout(5_000)
      try {
        const res = await requestJson('DELETE', `${base}/api/reviews/${encodeURIComponent(gate.id)}`, { authorization: `Gate ${gate.secret}` }, null, timeout)
        if (res.status === 200) say(`interrupted: gate ${gate.id} withdrawn`)
        else say(`interrupted: could not withdraw gate ${gate.id} (${serverMessage(res)}); decide or ignore it in Vigil`)
      } catch (err) {
        say(`interrupted: could not withdraw gate ${gate.id} (${(err as Error).message}); it stays in Vigil's inbox until its deadline`)
      }
    } else say('interrupted before the gate was raised')
    return GATE_EXIT.interrupted
  }

  try {
    // 1. Raise the gate. The key lets a retry after a lost answer return the same gate.
    const key = randomBytes(24).toString('base64url')
    const body = JSON.stringify({ taskDescription: opts.question, taskOutput: text, timeoutMs: opts.timeoutMs, onTimeout: opts.onTimeout, timing: 'BEFORE_EXECUTION', source: opts.source })
    const headers: Record<string, string> = { 'idempotency-key': key, ...(token ? { authorization: `Bearer ${token}` } : {}) }
    let created: HttpAnswer | null = null
    let reached = false
    for (let attempt = 0; created === null; attempt++) {
      const delays = reached ? RAISE_RETRY_REACHED_MS : RAISE_RETRY_MS
      try {
        // Not aborted by Ctrl+C: once sent, its answer tells us which gate to withdraw.
        const res = await requestJson('POST', `${base}/api/reviews`, headers, body, AbortSignal.timeout(30_000))
        if (res.status >= 500 && attempt < delays.length) throw new NetError(serverMessage(res))
        created = res
      } catch (err) {
        if (!(err instanceof NetError)) throw err
        if (interrupted) return await withdraw()
        reached ||= !err.refused
        if (attempt >= (reached ? RAISE_RETRY_REACHED_MS : RAISE_RETRY_MS).length) {
          throw new GateFailure(`cannot reach Vigil at ${base} (${err.message}). Is "vigil serve" (or the desktop app) running there? Check --url.`, GATE_EXIT.unreachable)
        }
        await sleep((reached ? RAISE_RETRY_REACHED_MS : RAISE_RETRY_MS)[attempt]!)
      }
    }
    if (created.status === 401 || created.status === 403) {
      const hint = token ? 'check --token-file / VIGIL_TOKEN: it must be the ingress token Vigil was started with' : 'from another machine, pass the ingress token with --token-file FILE or VIGIL_TOKEN'
      throw new GateFailure(`Vigil refused to raise the gate (${serverMessage(created)}); ${hint}.`, GATE_EXIT.unreachable)
    }
    if (created.status === 400 || created.status === 413) throw new GateFailure(`Vigil refused the gate: ${serverMessage(created)}`, GATE_EXIT.usage)
    if (created.status !== 201) throw new GateFailure(`Vigil could not raise the gate: ${serverMessage(created)}`, GATE_EXIT.unreachable)
    gate = { id: String(created.body.reviewId), secret: String(created.body.gateSecret) }
    const expiresAt = typeof created.body.expiresAt === 'string' ? Date.parse(created.body.expiresAt) : null
    if (interrupted) return await withdraw()
    say(`gate ${gate.id} raised; waiting for a reviewer in Vigil (${base})${expiresAt ? `, deadline ${new Date(expiresAt).toISOString()}` : ''}`)

    // 2. Wait for the outcome; after a dropped connection, wait again for the same gate.
    let done: HttpAnswer | null = null
    let lost = 0
    while (done === null) {
      try {
        const res = await requestJson('GET', `${base}/api/reviews/${encodeURIComponent(gate.id)}?wait=true`, { authorization: `Gate ${gate.secret}` }, null, stop.signal)
        if (res.status >= 500) throw new NetError(serverMessage(res))
        // Vigil answered: a later drop starts its backoff (and its one line on stderr) afresh.
        lost = 0
        if (res.status === 404) throw new GateFailure(`Vigil no longer knows gate ${gate.id} (${serverMessage(res)}); it may have restarted without its data folder.`, GATE_EXIT.unreachable)
        if (res.status !== 200) throw new GateFailure(`Vigil refused to show gate ${gate.id}: ${serverMessage(res)}`, GATE_EXIT.unreachable)
        if (res.body.status === 'PENDING') {
          await sleep(250, stop.signal)
          continue
        }
        done = res
      } catch (err) {
        if (interrupted) return await withdraw()
        if (!(err instanceof NetError)) throw err
        if (expiresAt !== null && Date.now() > expiresAt + PAST_DEADLINE_GRACE_MS) {
          throw new GateFailure(`lost Vigil at ${base} (${err.message}) and it is still unreachable past the gate's deadline; the outcome is unknown.`, GATE_EXIT.unreachable)
        }
        if (lost === 0) say(`lost the connection to Vigil (${err.message}); waiting again for gate ${gate.id}…`)
        await sleep(WAIT_RETRY_MS[Math.min(lost, WAIT_RETRY_MS.length - 1)]!, stop.signal)
        lost++
        if (interrupted) return await withdraw()
      }
    }

    // 3. Report.
    const result = outcomeOf(done.body)
    const outcome = (done.body.outcome ?? {}) as { revisedOutput?: string | null; decision?: string | null; decidedBy?: string | null; surface?: string | null; decidedAt?: string | null; note?: string | null }
    const revised = typeof outcome.revisedOutput === 'string' ? outcome.revisedOutput : null
    if (result.code === GATE_EXIT.edited && revised !== null && opts.editTo !== null) {
      try {
        writeFileSync(opts.editTo, revised)
      } catch (err) {
        say(`approved with an edit, but cannot write --edit-to ${opts.editTo} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the edited text follows on stdout`)
        await writeAll(io.stdout, revised)
        return GATE_EXIT.edited
      }
    }
    say(result.line + (result.code === GATE_EXIT.edited && opts.editTo !== null ? `; edited text written to ${opts.editTo}` : ''))
    if (opts.json) {
      await writeAll(
        io.stdout,
        JSON.stringify({
          reviewId: gate.id,
          outcome: result.outcome,
          exitCode: result.code,
          status: done.body.status,
          decision: outcome.decision ?? null,
          ...(revised !== null ? { revisedOutput: revised } : {}),
          decidedBy: outcome.decidedBy ?? null,
          surface: outcome.surface ?? null,
          decidedAt: outcome.decidedAt ?? null,
          note: outcome.note ?? null
        }) + '\n'
      )
    } else if (result.code === GATE_EXIT.edited && revised !== null && opts.editTo === null) {
      await writeAll(io.stdout, revised)
    }
    return result.code
  } catch (err) {
    if (err instanceof GateFailure) {
      say(err.message)
      return err.code
    }
    throw err
  } finally {
    unsubscribe()
  }
}
