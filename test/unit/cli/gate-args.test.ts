// `vigil gate` argument parsing and the outcome → exit code table (docs/gate-cli.md).
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../src/main/cli/args'
import { outcomeOf } from '../../../src/main/cli/gate'
import { DEFAULT_GATE_URL, GATE_EXIT, parseDuration, parseGateArgs } from '../../../src/main/cli/gate-args'

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['90', 90_000],
    ['90s', 90_000],
    ['1500ms', 1500],
    ['5m', 300_000],
    ['1.5h', 5_400_000],
    ['7d', 604_800_000]
  ])('%s → %i ms', (raw, ms) => expect(parseDuration(raw)).toBe(ms))

  it.each(['soon', '-5m', '5 minutes', '', '8d', '0.1ms'])('refuses %j with a usage error', (raw) => {
    expect(() => parseDuration(raw)).toThrow(UsageError)
  })
})

describe('parseGateArgs', () => {
  it('has safe defaults: wait forever, exit early at a deadline, loopback Vigil', () => {
    expect(parseGateArgs(['Deploy?'], {})).toEqual({
      question: 'Deploy?',
      output: null,
      outputFile: null,
      timeoutMs: 0,
      onTimeout: 'EXIT_EARLY',
      editTo: null,
      url: DEFAULT_GATE_URL,
      tokenFile: null,
      json: false,
      source: 'vigil gate'
    })
  })

  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const opts = parseGateArgs(
      ['--timeout=5m', 'Deploy 2.4 to prod?', '--on-timeout', 'continue', '--output-file', 'CHANGELOG.md', '--edit-to=out.md', '--url', 'https://vigil.example/', '--token-file', 't', '--json', '--source', 'ci'],
      {}
    )
    expect(opts).toMatchObject({ question: 'Deploy 2.4 to prod?', timeoutMs: 300_000, onTimeout: 'CONTINUE', outputFile: 'CHANGELOG.md', editTo: 'out.md', url: 'https://vigil.example', tokenFile: 't', json: true, source: 'ci' })
  })

  it('takes the URL from VIGIL_URL unless --url says otherwise; an empty --output is allowed', () => {
    expect(parseGateArgs(['Q', '--output', ''], { VIGIL_URL: 'http://10.0.0.5:7400' })).toMatchObject({ url: 'http://10.0.0.5:7400', output: '' })
    expect(parseGateArgs(['Q', '--url', 'http://127.0.0.1:9'], { VIGIL_URL: 'http://10.0.0.5:7400' })?.url).toBe('http://127.0.0.1:9')
  })

  it('treats everything after -- as the question (one that starts with dashes)', () => {
    expect(parseGateArgs(['--json', '--', '--force push?'], {})?.question).toBe('--force push?')
  })

  it('returns null for --help', () => expect(parseGateArgs(['Q', '--help'], {})).toBeNull())

  it.each([
    [[], /missing the question/],
    [['a', 'b'], /one question only/],
    [['  '], /must not be empty/],
    [['Q', '--output', 'x', '--output-file', 'f'], /not both/],
    [['Q', '--json=yes'], /takes no value/],
    [['Q', '--url'], /--url needs a value/],
    [['Q', '--edit-to', '--json'], /--edit-to needs a value/],
    [['Q', '--on-timeout', 'later'], /exit-early, continue or fail/]
  ])('%j is a usage error naming the problem', (argv, reason) => {
    expect(() => parseGateArgs(argv, {})).toThrow(reason)
  })
})

describe('outcomeOf: one exit code per outcome', () => {
  it.each([
    ['DECIDED', 'CONTINUE', GATE_EXIT.approved, 'approved'],
    ['DECIDED', 'EDIT', GATE_EXIT.edited, 'edited'],
    ['DECIDED', 'EXIT_EARLY', GATE_EXIT.exitEarly, 'exit-early'],
    ['TIMED_OUT', 'FAIL', GATE_EXIT.timedOutFail, 'timed-out-fail'],
    ['TIMED_OUT', 'CONTINUE', GATE_EXIT.timedOutContinue, 'timed-out-continue'],
    ['TIMED_OUT', 'EXIT_EARLY', GATE_EXIT.timedOutExitEarly, 'timed-out-exit-early'],
    ['CANCELLED', null, GATE_EXIT.closed, 'closed']
  ])('%s %s → exit %i (%s)', (status, decision, code, outcome) => {
    expect(outcomeOf({ status, outcome: { decision, decidedBy: 'reviewer token', surface: 'api' } })).toMatchObject({ code, outcome })
  })

  it('gives every outcome its own code, distinct from usage (2), unreachable (3) and Ctrl+C (130)', () => {
    const codes = Object.values(GATE_EXIT)
    expect(new Set(codes).size).toBe(codes.length)
  })
})
