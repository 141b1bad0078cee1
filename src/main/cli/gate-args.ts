// `vigil gate` command-line parsing and its exit codes (docs/gate-cli.md). Every mistake is a one-line
// reason (exit 2), never a stack trace.
import { UsageError } from './args'

/** What `vigil gate` exits with, one code per outcome (docs/gate-cli.md keeps the same table). */
export const GATE_EXIT = {
  /** A reviewer approved (CONTINUE). */
  approved: 0,
  /** Bad flags, an unreadable file, or a request Vigil refused as malformed or too large. */
  usage: 2,
  /** Vigil could not be reached, refused the token, or failed. */
  unreachable: 3,
  /** The gate was closed without a decision (withdrawn or cancelled elsewhere). */
  closed: 4,
  /** A reviewer edited the text (EDIT): the new text is in --edit-to FILE or on stdout. */
  edited: 10,
  /** A reviewer chose to stop (EXIT_EARLY). */
  exitEarly: 11,
  /** Nobody decided in time and the gate's --on-timeout was fail. */
  timedOutFail: 12,
  /** Nobody decided in time; --on-timeout continue was applied. */
  timedOutContinue: 13,
  /** Nobody decided in time; --on-timeout exit-early was applied. */
  timedOutExitEarly: 14,
  /** Ctrl+C (SIGINT): the gate was withdrawn so no reviewer answers it in vain. */
  interrupted: 130
} as const

export type GateTimeoutAction = 'CONTINUE' | 'EXIT_EARLY' | 'FAIL'

export interface GateOptions {
  /** The question the reviewer sees (taskDescription). */
  question: string
  /** Text to review inline (--output TEXT). */
  output: string | null
  /** File whose content is the text to review (--output-file FILE; "-" reads stdin). */
  outputFile: string | null
  /** 0: wait forever. */
  timeoutMs: number
  onTimeout: GateTimeoutAction
  /** Where an edited text goes (else stdout). */
  editTo: string | null
  url: string
  tokenFile: string | null
  json: boolean
  /** The label the inbox shows for where the gate came from. */
  source: string
}

export const DEFAULT_GATE_URL = 'http://127.0.0.1:7400'
/** The longest timeout the review API accepts: a week. */
const MAX_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000

export const GATE_USAGE = `Usage: vigil gate QUESTION [options]

Raise a review gate in Vigil, wait for a reviewer's decision, print it, and exit with a code per outcome.

Options:
  --output TEXT         the text to review (e.g. a command, a diff summary)
  --output-file FILE    read the text to review from FILE ("-" reads stdin)
  --timeout DURATION    how long to wait: 90s, 5m, 1h, 1500ms, or 0 to wait forever (default 0)
  --on-timeout ACTION   what Vigil applies at the deadline: exit-early (default), continue or fail
  --edit-to FILE        write a reviewer's edited text to FILE (default: stdout)
  --url URL             Vigil's address (default $VIGIL_URL, else ${DEFAULT_GATE_URL})
  --token-file FILE     ingress token for a Vigil on another machine (else $VIGIL_TOKEN); not
                        needed on this machine
  --source NAME         where the inbox says the gate comes from (default "vigil gate")
  --json                print the outcome as one JSON object on stdout
  -h, --help            show this help

Exit codes:
  0    approved                      10   edited (text in --edit-to FILE or on stdout)
  11   exit early (a reviewer said stop)
  12   timed out, fail applied       13   timed out, continue applied
  14   timed out, exit-early applied 4    gate closed without a decision
  2    usage error                   3    Vigil unreachable, token refused, or server error
  130  interrupted (Ctrl+C): the gate is withdrawn

Status lines go to stderr; stdout carries only the edited text (or, with --json, the outcome).
`

const VALUE_FLAGS = new Set(['--output', '--output-file', '--timeout', '--on-timeout', '--edit-to', '--url', '--token-file', '--source'])

/** "5m" → 300000. Plain numbers are seconds; 0 means forever. */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim())
  if (!m) throw new UsageError(`--timeout must be a duration such as 90s, 5m, 1h or 0 (wait forever), got "${raw}"`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!
  const ms = Math.round(Number(m[1]) * unit)
  if (ms > MAX_TIMEOUT_MS) throw new UsageError(`--timeout can be at most a week (7d), got "${raw}"`)
  if (ms === 0 && Number(m[1]) !== 0) throw new UsageError(`--timeout "${raw}" is under a millisecond; use 0 to wait forever`)
  return ms
}

function parseOnTimeout(raw: string): GateTimeoutAction {
  const word = raw.trim().toLowerCase().replace(/_/g, '-')
  if (word === 'exit-early') return 'EXIT_EARLY'
  if (word === 'continue') return 'CONTINUE'
  if (word === 'fail') return 'FAIL'
  throw new UsageError(`--on-timeout must be exit-early, continue or fail, got "${raw}"`)
}

function parseUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UsageError(`--url needs an http:// URL such as ${DEFAULT_GATE_URL}, got "${raw}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url needs an http:// or https:// URL, got "${raw}"`)
  return url.origin + url.pathname.replace(/\/+$/, '')
}

/** Parses the arguments after `gate`; null means "print the help". */
export function parseGateArgs(argv: readonly string[], env: NodeJS.ProcessEnv): GateOptions | null {
  const positional: string[] = []
  const opts: Omit<GateOptions, 'question'> = {
    output: null,
    outputFile: null,
    timeoutMs: 0,
    onTimeout: 'EXIT_EARLY',
    editTo: null,
    url: env.VIGIL_URL ? parseUrl(env.VIGIL_URL) : DEFAULT_GATE_URL,
    tokenFile: null,
    json: false,
    source: 'vigil gate'
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '-h' || arg === '--help') return null
    if (arg === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('--') || arg === '-') {
      positional.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const flag = eq > 0 ? arg.slice(0, eq) : arg
    if (flag === '--json') {
      if (eq > 0) throw new UsageError('--json takes no value')
      opts.json = true
      continue
    }
    if (!VALUE_FLAGS.has(flag)) throw new UsageError(`unknown option "${arg}" (see vigil gate --help)`)
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`${flag} needs a value`)
    if (value === '' && flag !== '--output') throw new UsageError(`${flag} needs a value`)
    switch (flag) {
      case '--output':
        opts.output = value
        break
      case '--output-file':
        opts.outputFile = value
        break
      case '--timeout':
        opts.timeoutMs = parseDuration(value)
        break
      case '--on-timeout':
        opts.onTimeout = parseOnTimeout(value)
        break
      case '--edit-to':
        opts.editTo = value
        break
      case '--url':
        opts.url = parseUrl(value)
        break
      case '--token-file':
        opts.tokenFile = value
        break
      case '--source':
        opts.source = value
        break
    }
  }
  if (positional.length === 0) throw new UsageError('missing the question, e.g. vigil gate "Deploy 2.4 to prod?" (see vigil gate --help)')
  if (positional.length > 1) throw new UsageError(`one question only (quote it), got ${positional.length} words: ${positional.slice(0, 3).join(' ')}…`)
  const question = positional[0]!
  if (question.trim() === '') throw new UsageError('the question must not be empty')
  if (opts.output !== null && opts.outputFile !== null) throw new UsageError('give --output or --output-file, not both')
  return { question, ...opts }
}
