// The agent SDK (vigil-agent-tower/sdk) against a real `vigil serve` process: the example agent end to end
// (its run, tasks, tool and LLM calls in Vigil's API; its review decided through the review API and the
// decision back in the agent), the SDK's own edges (timeouts, failures, reconnection) and a remote hub
// with an ingress token. The example runs from the built package (`out/sdk`, through the exports map).
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, ReviewTimeoutError } from '../../src/sdk'
import type { RunDetail, RunSummary } from '../../src/shared/model/live'
import { closedPort, decide, lanAddress, restartOnPort, root, rpc, runNode, serveForFile, startServe, waitForGate, type ServeProcess } from './cli/serve-process'

const suite = serveForFile('vigil-sdk-')

const hubUrl = () => suite.vigil.local.replace('http://', 'ws://')
let n = 0
const producer = (what: string) => `sdk-test-${what}-${++n}-${process.pid}`

async function runOf(producerId: string): Promise<RunDetail> {
  const runs = await rpc<RunSummary[]>(suite.vigil.local, 'listRuns')
  const summary = runs.find((r) => r.producerId === producerId)
  if (!summary) throw new Error(`no run for ${producerId}`)
  return rpc<RunDetail>(suite.vigil.local, 'getRun', [summary.runId])
}

async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000
  let last: T | undefined
  for (;;) {
    try {
      last = await read()
      if (check(last)) return last
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)?.slice(0, 500)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('the example agent (examples/sdk-agent.mjs) end to end', () => {
  it('publishes its run with tasks, a tool call and an LLM call; gets the EDIT decided through the review API', async () => {
    const producerId = producer('example')
    const agent = runNode([join(root, 'examples/sdk-agent.mjs')], { VIGIL_URL: hubUrl(), VIGIL_PRODUCER_ID: producerId })
    const gate = await waitForGate(suite.vigil.local, (g) => g.source.producerId === producerId, agent)
    expect(gate).toMatchObject({ taskDescription: 'Publish these release notes?', timing: 'DURING_EXECUTION', timeoutMs: 300_000, onTimeout: 'EXIT_EARLY', source: { kind: 'hub' } })
    expect(gate.taskOutput).toBe('Release 2.4\n\n* fix login redirect\n* faster search\n* new export button')

    // While the agent waits at the review: two tasks done, the tool and the LLM call recorded.
    const mid = await runOf(producerId)
    expect(mid.runId).toBe(gate.runId)
    expect(mid).toMatchObject({ status: 'running', totalTasks: 3, completedTasks: 2, workflow: 'SEQUENTIAL' })
    expect(mid.ensembleId).toMatch(/^release-notes-[0-9a-f]{8}$/)
    expect(mid.tasks.map((t) => [t.taskIndex, t.description, t.status, t.agentRole])).toEqual([
      [1, 'Collect the commits since v2.3', 'completed', 'Release writer'],
      [2, 'Draft the release notes', 'completed', 'Release writer']
    ])
    expect(mid.toolCalls).toHaveLength(1)
    expect(mid.toolCalls![0]).toMatchObject({ taskIndex: 1, toolName: 'git_log', outcome: 'SUCCESS', arguments: '{"since":"v2.3","format":"oneline"}', result: '- fix login redirect\n- faster search\n- new export button' })
    expect(mid.iterations).toHaveLength(1)
    expect(mid.iterations![0]).toMatchObject({
      taskIndex: 2,
      iterationIndex: 0,
      responseType: 'FINAL_ANSWER',
      responseText: gate.taskOutput,
      inputTokens: 42 + 3 * 7,
      outputTokens: 18 + 3 * 5,
      totalMessageCount: 2
    })
    expect(mid.iterations![0]!.messages.map((m) => m.role)).toEqual(['system', 'user'])

    await decide(suite.vigil.local, gate.reviewId, 'EDIT', 'Edited notes')
    const done = await agent.done
    expect(done.code, done.stderr).toBe(0)
    const printed = JSON.parse(done.stdout.trim()) as { ensembleId: string; review: Record<string, unknown>; published: { chars: number }; stats: { dropped: number; sent: number } }
    expect(printed.review).toEqual({ reviewId: expect.any(String), decision: 'EDIT', revisedOutput: 'Edited notes', timedOut: false })
    expect(printed.published.chars).toBe('Edited notes'.length)
    expect(printed.stats.dropped).toBe(0)

    const end = await eventually(() => runOf(producerId), (r) => r.status !== 'running', 'the run to end')
    expect(end).toMatchObject({ status: 'completed', exitReason: 'COMPLETED', completedTasks: 3, failedTasks: 0, ensembleId: printed.ensembleId })
    expect(end.toolCalls!.map((t) => [t.taskIndex, t.toolName])).toEqual([
      [1, 'git_log'],
      [3, 'publish']
    ])
  })

  it('stops when the reviewer says exit early: exit 3, the run ends USER_EXIT_EARLY without the last task', async () => {
    const producerId = producer('exit')
    const agent = runNode([join(root, 'examples/sdk-agent.mjs')], { VIGIL_URL: hubUrl(), VIGIL_PRODUCER_ID: producerId })
    const gate = await waitForGate(suite.vigil.local, (g) => g.source.producerId === producerId, agent)
    await decide(suite.vigil.local, gate.reviewId, 'EXIT_EARLY')
    const done = await agent.done
    expect(done.code).toBe(3)
    expect(JSON.parse(done.stdout.trim())).toMatchObject({ review: { decision: 'EXIT_EARLY', timedOut: false }, published: null })
    const end = await eventually(() => runOf(producerId), (r) => r.status !== 'running', 'the run to end')
    expect(end).toMatchObject({ exitReason: 'USER_EXIT_EARLY', completedTasks: 2 })
    expect(end.tasks.map((t) => t.taskIndex)).toEqual([1, 2])
  })
})

describe('the SDK in-process', () => {
  it('applies onTimeout itself at the deadline (CONTINUE → timedOut; FAIL → ReviewTimeoutError)', async () => {
    const producerId = producer('timeout')
    const hub = await connect({ url: hubUrl(), producerId })
    try {
      const run = hub.run({ name: 'timeouts' })
      const started = Date.now()
      const outcome = await run.review({ description: 'Nobody answers', timeout: 300, onTimeout: 'CONTINUE' })
      expect(outcome).toMatchObject({ decision: 'CONTINUE', timedOut: true })
      expect(Date.now() - started).toBeGreaterThanOrEqual(300)
      await expect(run.review({ description: 'Nobody answers either', timeout: '200ms', onTimeout: 'FAIL' })).rejects.toBeInstanceOf(ReviewTimeoutError)
      await run.end()
    } finally {
      await hub.close()
    }
  })

  it('reports a failing tool as FAILURE and a failing task as task_failed; end() then says ERROR', async () => {
    const producerId = producer('fail')
    const hub = await connect({ url: hubUrl(), producerId })
    try {
      const run = hub.run({ name: 'failing', totalTasks: 2 })
      await expect(
        run.task('Fetch the page', async (t) => {
          await t.tool('http_get', { url: 'https://example.invalid' }, async () => {
            throw new Error('getaddrinfo ENOTFOUND example.invalid')
          })
        })
      ).rejects.toThrow(/ENOTFOUND/)
      await run.end()
      // Vigil ends a run itself on a failed task (TASK_FAILED) and takes end()'s ERROR when it arrives:
      // wait for that, not for the first state that is not running.
      const end = await eventually(() => runOf(producerId), (r) => r.status !== 'running' && r.exitReason === 'ERROR', "end()'s ERROR")
      expect(end).toMatchObject({ exitReason: 'ERROR', failedTasks: 1 })
      expect(end.tasks[0]).toMatchObject({ status: 'failed', failureReason: 'getaddrinfo ENOTFOUND example.invalid' })
      expect(end.toolCalls![0]).toMatchObject({ toolName: 'http_get', outcome: 'FAILURE', result: 'getaddrinfo ENOTFOUND example.invalid' })
    } finally {
      await hub.close()
    }
  })

  it('close() rejects a review still waiting instead of leaving it hanging', async () => {
    const hub = await connect({ url: hubUrl(), producerId: producer('close') })
    const run = hub.run()
    const waiting = run.review({ description: 'Closed before anyone decides', timeout: 0 })
    await hub.flush()
    await hub.close()
    await expect(waiting).rejects.toThrow(/connection was closed while review .* was waiting/)
    expect(hub.stats().pendingReviews).toBe(0)
  })

  it('refuses a second run on the same hub while one is going', async () => {
    const hub = await connect({ url: hubUrl(), producerId: producer('two-runs') })
    try {
      const run = hub.run()
      expect(() => hub.run()).toThrow(/already has a run going/)
      await run.end()
      expect(() => hub.run()).not.toThrow()
    } finally {
      await hub.close()
    }
  })

  it('rejects connect() with what to do when nothing listens', async () => {
    const port = await closedPort()
    await expect(connect({ url: `ws://127.0.0.1:${port}` })).rejects.toThrow(/Cannot connect to Vigil's hub at ws:\/\/127\.0\.0\.1:\d+\/ingress: connection refused/)
  })

  it('reconnects after Vigil restarts and still gets the decision of a review raised before', async () => {
    const data = join(suite.dir, 'restart-data')
    let server = await startServe(data)
    const port = server.port
    const producerId = producer('reconnect')
    const hub = await connect({ url: `ws://127.0.0.1:${port}`, producerId })
    try {
      const run = hub.run({ name: 'restart' })
      const pending = run.review({ description: 'Across a restart?', output: 'v1', timeout: '2m' })
      const gate = await waitForGate(server.local, (g) => g.source.producerId === producerId)
      await server.stop('SIGTERM')
      server = await restartOnPort(data, port)
      // The SDK reconnects (backoff) and re-announces the review: the restored gate is connected again.
      await eventually(
        async () => (await rpc<{ pending: Array<{ id: string; connected: boolean }> }>(server.local, 'listReviews')).pending,
        (list) => list.some((g) => g.id === gate.reviewId && g.connected),
        'the restored gate to be connected'
      )
      await decide(server.local, gate.reviewId, 'EDIT', 'v2')
      await expect(pending).resolves.toEqual({ reviewId: gate.reviewId, decision: 'EDIT', revisedOutput: 'v2', timedOut: false })
      expect(hub.stats().reconnects).toBeGreaterThanOrEqual(1)
      await run.end()
    } finally {
      await hub.close()
      await server.stop()
    }
  }, 60_000)
})

const lan = lanAddress()

describe.skipIf(lan === null)('the SDK against a Vigil on another machine', () => {
  let remote: ServeProcess
  beforeAll(async () => {
    const tokenFile = join(suite.dir, 'ingress-token')
    writeFileSync(tokenFile, 'sdk-ingress-token-4711\n')
    remote = await startServe(join(suite.dir, 'remote-data'), ['--host', '0.0.0.0', '--ingress-token-file', tokenFile])
  }, 40_000)
  afterAll(() => remote?.stop())

  it('needs the ingress token: refused without it (saying so), publishes with it', async () => {
    const url = `ws://${lan}:${remote.port}`
    await expect(connect({ url, producerId: 'remote-no-token' })).rejects.toThrow(/wants a token \(401\)/)
    const producerId = producer('remote')
    const hub = await connect({ url, token: 'sdk-ingress-token-4711', producerId })
    try {
      const run = hub.run({ name: 'remote', totalTasks: 1 })
      await run.task('Remote task', async (t) => t.llm({ prompt: 'hi' }, () => 'hello'))
      await run.end()
    } finally {
      await hub.close()
    }
    const runs = await eventually(
      () => rpc<RunSummary[]>(remote.local, 'listRuns'),
      (list) => list.some((r) => r.producerId === producerId && r.status === 'completed'),
      'the remote run'
    )
    expect(runs.find((r) => r.producerId === producerId)).toMatchObject({ completedTasks: 1, exitReason: 'COMPLETED' })
  })
})
