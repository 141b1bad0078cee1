// `vigil gate` as scripts and agent hooks run it: the built CLI against a real `vigil serve` process,
// each gate decided through the review API as a reviewer would, one exit code per outcome.
import { readFileSync, writeFileSync } from 'node:fs'
import { connect as connectTcp, createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, decide, gate, json, lanAddress, pendingGates, restartOnPort, root, rpc, runNode, serveForFile, startServe, waitForGate, type ServeProcess } from './cli/serve-process'

const suite = serveForFile('vigil-gate-')

/** A question no other test uses, so parallel gates never mix. */
let n = 0
const question = (what: string) => `${what} #${++n} (${Date.now()})`

describe('vigil gate: one exit code per outcome', () => {
  it('approve: exits 0, the gate carries the question and the --output-file text', async () => {
    const file = join(suite.dir, 'CHANGELOG.md')
    writeFileSync(file, '## 2.4\n- fix login\n- faster search\n')
    const q = question('Deploy 2.4 to prod?')
    const child = gate([q, '--output-file', file, '--timeout', '5m', '--url', suite.vigil.url])
    const pending = await waitForGate(suite.vigil.local, (g) => g.taskDescription === q, child)
    expect(pending).toMatchObject({ taskOutput: '## 2.4\n- fix login\n- faster search\n', timeoutMs: 300_000, onTimeout: 'EXIT_EARLY', source: { kind: 'api', label: 'vigil gate' } })
    await decide(suite.vigil.local, pending.reviewId, 'CONTINUE')
    const done = await child.done
    expect(done.code).toBe(0)
    expect(done.stdout).toBe('')
    expect(done.stderr).toMatch(/approved by local \(no password\) via api/)
  })

  it('edit with --edit-to: exits 10 and writes the edited text to the file, nothing on stdout', async () => {
    const target = join(suite.dir, 'edited.txt')
    const q = question('Send this reply?')
    const child = gate([q, '--output', 'Dear customer, no.', '--edit-to', target, '--url', suite.vigil.url])
    const pending = await waitForGate(suite.vigil.local, (g) => g.taskDescription === q, child)
    await decide(suite.vigil.local, pending.reviewId, 'EDIT', 'Dear customer,\nyes — with ümlauts.\n')
    const done = await child.done
    expect(done.code).toBe(10)
    expect(readFileSync(target, 'utf8')).toBe('Dear customer,\nyes — with ümlauts.\n')
    expect(done.stdout).toBe('')
    expect(done.stderr).toContain(`edited text written to ${target}`)
  })

  it('edit without --edit-to: the edited text is all of stdout', async () => {
    const q = question('Rename the branch?')
    const child = gate([q, '--output', 'feature/x', '--url', suite.vigil.url])
    const pending = await waitForGate(suite.vigil.local, (g) => g.taskDescription === q, child)
    await decide(suite.vigil.local, pending.reviewId, 'EDIT', 'feature/better-name')
    const done = await child.done
    expect(done.code).toBe(10)
    expect(done.stdout).toBe('feature/better-name')
  })

  it('a large edited text (3 MB) reaches stdout whole through a pipe before the CLI exits', async () => {
    const big = Array.from({ length: 60_000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n')
    const q = question('Big edit?')
    const child = gate([q, '--output', 'short', '--url', suite.vigil.url])
    const pending = await waitForGate(suite.vigil.local, (g) => g.taskDescription === q, child)
    await decide(suite.vigil.local, pending.reviewId, 'EDIT', big)
    const done = await child.done
    expect(done.code).toBe(10)
    expect(done.stdout.length).toBe(big.length)
    expect(done.stdout === big).toBe(true)
  })

  it('exit early: exits 11; --json prints the outcome as one JSON object', async () => {
    const q = question('rm -rf build/?')
    const child = gate([q, '--json', '--url', suite.vigil.url])
    const pending = await waitForGate(suite.vigil.local, (g) => g.taskDescription === q, child)
    await decide(suite.vigil.local, pending.reviewId, 'EXIT_EARLY')
    const done = await child.done
    expect(done.code).toBe(11)
    expect(JSON.parse(done.stdout)).toMatchObject({ reviewId: pending.reviewId, outcome: 'exit-early', exitCode: 11, status: 'DECIDED', decision: 'EXIT_EARLY', decidedBy: 'local (no password)', surface: 'api' })
  })

  it.each([
    ['fail', 12, 'FAIL', 'timed-out-fail'],
    ['continue', 13, 'CONTINUE', 'timed-out-continue'],
    ['exit-early', 14, 'EXIT_EARLY', 'timed-out-exit-early']
  ] as const)('timeout with --on-timeout %s: Vigil applies it at the deadline, exit %i', async (action, code, word, outcome) => {
    const q = question(`Nobody answers (${action})`)
    const started = Date.now()
    const done = await gate([q, '--timeout', '700ms', '--on-timeout', action, '--json', '--url', suite.vigil.url]).done
    expect(done.code).toBe(code)
    expect(Date.now() - started).toBeGreaterThanOrEqual(700)
    expect(JSON.parse(done.stdout)).toMatchObject({ status: 'TIMED_OUT', decision: word, outcome, exitCode: code })
    // Vigil's history says the same (the reviewer's view of that gate).
    const id = (JSON.parse(done.stdout) as { reviewId: string }).reviewId
    const seen = await json('GET', `${suite.vigil.local}/api/reviews/${id}`)
    expect(seen.body).toMatchObject({ status: 'TIMED_OUT', onTimeout: word, outcome: { decision: word, surface: 'timeout' } })
  })

  it('SIGINT withdraws the gate it raised (no orphan in the inbox) and exits 130', async () => {
    const q = question('Interrupted?')
    const child = gate([q, '--url', suite.vigil.url])
    const pending = await waitForGate(suite.vigil.local, (g) => g.taskDescription === q, child)
    child.proc.kill('SIGINT')
    const done = await child.done
    expect(done.code).toBe(130)
    expect(done.stderr).toContain(`gate ${pending.reviewId} withdrawn`)
    expect((await pendingGates(suite.vigil.local)).some((g) => g.reviewId === pending.reviewId)).toBe(false)
    const seen = await json('GET', `${suite.vigil.local}/api/reviews/${pending.reviewId}`)
    expect(seen.body).toMatchObject({ status: 'CANCELLED', outcome: { decision: null, surface: 'agent', note: expect.stringMatching(/Withdrawn by the agent/) } })
    // A reviewer deciding it now learns it was withdrawn.
    const late = await json('POST', `${suite.vigil.local}/api/reviews/${pending.reviewId}`, { decision: 'CONTINUE' })
    expect(late.status).toBe(409)
  })

  it('unreachable URL: exits 3 with what to check', async () => {
    const port = await closedPort()
    const done = await gate([question('Anyone there?'), '--url', `http://127.0.0.1:${port}`]).done
    expect(done.code).toBe(3)
    expect(done.stderr).toMatch(/cannot reach Vigil at http:\/\/127\.0\.0\.1:\d+ \(connection refused\).*--url/)
  }, 20_000)

  it.each([
    [[], /missing the question/],
    [['Q?', '--timeout', 'soon'], /--timeout must be a duration/],
    [['Q?', '--on-timeout', 'maybe'], /--on-timeout must be exit-early, continue or fail/],
    [['Q?', '--output-file', '/nonexistent/file'], /cannot read --output-file \/nonexistent\/file: no such file/],
    [['Q?', '--token-file', '/nonexistent/token'], /cannot read --token-file/],
    [['Q?', '--bogus'], /unknown option "--bogus"/],
    [['Q?', '--url', 'ftp://x'], /--url needs an http/]
  ])('usage error %j: exits 2 with a one-line reason', async (args, reason) => {
    const done = await gate(args).done
    expect(done.code).toBe(2)
    expect(done.stderr.trim().split('\n')).toHaveLength(1)
    expect(done.stderr).toMatch(reason)
  })

  it('--help lists every exit code', async () => {
    const done = await gate(['--help']).done
    expect(done.code).toBe(0)
    for (const code of ['0 ', '2 ', '3 ', '4 ', '10 ', '11 ', '12 ', '13 ', '14 ', '130 ']) expect(done.stdout).toContain(code)
  })
})

describe('vigil gate: a dropped connection', () => {
  it('a lost answer to the raise is retried with the same Idempotency-Key: still one gate', async () => {
    // A proxy that lets the first request reach Vigil but cuts the connection before its answer comes back.
    const upstream = new URL(suite.vigil.local)
    const posts: string[] = []
    let first = true
    const proxy = createServer((client) => {
      const cut = first
      first = false
      const server = connectTcp(Number(upstream.port), upstream.hostname)
      client.on('data', (d: Buffer) => {
        const head = d.toString('latin1')
        if (head.startsWith('POST /api/reviews ')) posts.push(/idempotency-key: (\S+)/i.exec(head)?.[1] ?? '')
      })
      client.pipe(server)
      if (cut) server.once('data', () => (client.destroy(), server.destroy()))
      else server.pipe(client)
      client.on('error', () => server.destroy())
      server.on('error', () => client.destroy())
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
    try {
      const q = question('Raised once?')
      const child = gate([q, '--url', `http://127.0.0.1:${(proxy.address() as { port: number }).port}`])
      const pending = await waitForGate(suite.vigil.local, (g) => g.taskDescription === q, child)
      await decide(suite.vigil.local, pending.reviewId, 'CONTINUE')
      expect((await child.done).code).toBe(0)
      expect(posts).toHaveLength(2)
      expect(posts[0]).toMatch(/^[A-Za-z0-9_-]{32}$/)
      expect(posts[1]).toBe(posts[0])
      // A second gate would still be pending here.
      expect((await pendingGates(suite.vigil.local)).filter((g) => g.taskDescription === q)).toEqual([])
      const history = await rpc<{ rows: Array<{ taskDescription: string }> }>(suite.vigil.local, 'getReviewHistory', [0, 500])
      expect(history.rows.filter((r) => r.taskDescription === q)).toHaveLength(1)
    } finally {
      proxy.close()
    }
  })

  it('waits again for the same gate after Vigil restarts, never raising a second one', async () => {
    const data = join(suite.dir, 'restart-data')
    let server = await startServe(data)
    const port = server.port
    const q = question('Survive a restart?')
    const child = gate([q, '--url', server.local])
    const pending = await waitForGate(server.local, (g) => g.taskDescription === q, child)
    // Dropped during the wait (a drop before the 201 is the Idempotency-Key's case, tested in the review API tests).
    await expect.poll(() => child.stderr(), { timeout: 15_000 }).toContain(`gate ${pending.reviewId} raised`)
    await server.stop('SIGTERM')
    // Same data folder (its gate journal), same port: the gate is restored pending.
    server = await restartOnPort(data, port)
    try {
      const gates = await pendingGates(server.local)
      expect(gates.map((g) => g.reviewId)).toEqual([pending.reviewId])
      await new Promise((r) => setTimeout(r, 1500))
      await decide(server.local, pending.reviewId, 'CONTINUE')
      const done = await child.done
      expect(done.code).toBe(0)
      expect(done.stderr).toContain('lost the connection to Vigil')
      expect(await pendingGates(server.local)).toEqual([])
      // One gate in all: the history holds this question once.
      const history = await rpc<{ rows: Array<{ taskDescription: string }> }>(server.local, 'getReviewHistory', [0, 500])
      expect(history.rows.filter((r) => r.taskDescription === q)).toHaveLength(1)
    } finally {
      await server.stop()
    }
  }, 60_000)
})

const lan = lanAddress()

describe.skipIf(lan === null)('vigil gate: a Vigil on another machine, with an ingress token', () => {
  let remote: ServeProcess
  let tokenFile: string
  let wrongFile: string

  beforeAll(async () => {
    tokenFile = join(suite.dir, 'token')
    wrongFile = join(suite.dir, 'wrong-token')
    writeFileSync(tokenFile, 'right-token-0123456789\n')
    writeFileSync(wrongFile, 'wrong-token-0123456789\n')
    remote = await startServe(join(suite.dir, 'remote-data'), ['--host', '0.0.0.0', '--ingress-token-file', tokenFile])
  }, 40_000)
  afterAll(() => remote?.stop())

  const url = () => `http://${lan}:${remote.port}`

  it('raises the gate with the token from --token-file and gets the decision (exit 0)', async () => {
    const q = question('Remote deploy?')
    const child = gate([q, '--url', url(), '--token-file', tokenFile])
    const pending = await waitForGate(remote.local, (g) => g.taskDescription === q, child)
    await decide(remote.local, pending.reviewId, 'CONTINUE')
    expect((await child.done).code).toBe(0)
  })

  it('takes the token from VIGIL_TOKEN and the URL from VIGIL_URL too (edit → 10)', async () => {
    const q = question('Remote edit?')
    const child = gate([q], { VIGIL_TOKEN: 'right-token-0123456789', VIGIL_URL: url() })
    const pending = await waitForGate(remote.local, (g) => g.taskDescription === q, child)
    await decide(remote.local, pending.reviewId, 'EDIT', 'remote text')
    const done = await child.done
    expect(done.code).toBe(10)
    expect(done.stdout).toBe('remote text')
  })

  it.each([
    ['a wrong token', ['--token-file', '__WRONG__'], /refused to raise the gate.*check --token-file/],
    ['no token', [], /pass the ingress token with --token-file/]
  ])('%s: exits 3 and raises nothing', async (_what, extra, reason) => {
    const before = (await pendingGates(remote.local)).length
    const args = extra.map((a) => (a === '__WRONG__' ? wrongFile : a))
    const done = await gate([question('Refused?'), '--url', url(), ...args]).done
    expect(done.code).toBe(3)
    expect(done.stderr).toMatch(reason)
    expect((await pendingGates(remote.local)).length).toBe(before)
  })
})

describe('the Claude Code PreToolUse hook example (examples/hooks/vigil-pretooluse.mjs)', () => {
  const hook = (stdin: string) => {
    const child = runNode([join(root, 'examples/hooks/vigil-pretooluse.mjs')], { VIGIL_BIN: join(root, 'bin/vigil.js'), VIGIL_URL: suite.vigil.url })
    child.proc.stdin.end(stdin)
    return child
  }
  const toolCall = (command: string) => JSON.stringify({ session_id: 's1', hook_event_name: 'PreToolUse', cwd: '/work/app', tool_name: 'Bash', tool_input: { command } })
  const decisionOf = (stdout: string) => (JSON.parse(stdout) as { hookSpecificOutput: { hookEventName: string; permissionDecision: string; permissionDecisionReason: string } }).hookSpecificOutput

  it('lets a harmless command through untouched, raising no gate', async () => {
    const before = (await pendingGates(suite.vigil.local)).length
    const done = await hook(toolCall('ls -la')).done
    expect(done).toMatchObject({ code: 0, stdout: '' })
    expect((await pendingGates(suite.vigil.local)).length).toBe(before)
  })

  it.each([
    ['git push origin main', 'CONTINUE', undefined, 'allow', /approved this command/],
    ['rm -rf build/', 'EXIT_EARLY', undefined, 'deny', /said no/],
    ['git push --force origin main', 'EDIT', 'git push origin main', 'deny', /Run the edited command instead: git push origin main$/]
  ])('asks in Vigil before `%s`; %s → %s', async (command, decision, revised, verdict, reason) => {
    const child = hook(toolCall(command))
    const pending = await waitForGate(suite.vigil.local, (g) => g.taskOutput === command && g.source.label === 'Claude Code hook', child)
    expect(pending.taskDescription).toMatch(/^Let the coding agent run (git push|rm -rf) in \/work\/app\?$/)
    await decide(suite.vigil.local, pending.reviewId, decision, revised)
    const done = await child.done
    expect(done.code).toBe(0)
    expect(decisionOf(done.stdout)).toMatchObject({ hookEventName: 'PreToolUse', permissionDecision: verdict, permissionDecisionReason: expect.stringMatching(reason) })
  })

  it('fails closed: unreadable hook input exits 2 (Claude Code blocks the call)', async () => {
    const done = await hook('not json').done
    expect(done.code).toBe(2)
    expect(done.stderr).toMatch(/blocking to be safe/)
  })
})
