import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { VigilService } from '../../../src/main/core/vigil-service'
import { rememberedSourcesFile } from '../../../src/main/settings/remembered-sources'

let dir: string
const services: VigilService[] = []

function service(opts: Partial<ConstructorParameters<typeof VigilService>[0]> = {}): VigilService {
  const s = new VigilService({ mode: 'desktop', version: '0.0.0', tmpRoot: mkdtempSync(join(dir, 'tmp-')), pollMs: 100, ...opts })
  services.push(s)
  return s
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-service-'))
})
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()))
  rmSync(dir, { recursive: true, force: true })
})

describe('VigilService', () => {
  it('remembers what the user added and restores it at the next start', async () => {
    const remembered = rememberedSourcesFile(join(dir, 'data'))
    const first = service({ remembered })
    const store = await first.addStore(join(dir, 'somewhere', 'perspt.db'))
    await first.renameSource(store.id, 'Work laptop')
    await first.addAttachment('ws://127.0.0.1:9/ws', 'crew')
    // Sources from flags or the demo are not the user's choices: not remembered.
    first.registry.addStore(join(dir, 'flag.db'), 'flag')
    expect(remembered.read()).toEqual({
      stores: [{ path: join(dir, 'somewhere', 'perspt.db'), label: 'Work laptop' }],
      attachments: [{ url: 'ws://127.0.0.1:9/ws', label: 'crew' }]
    })
    await first.close()

    // In two steps, as the desktop app starts: stores before the recording opens, attachments after it.
    const second = service({ remembered })
    const restoreAttachments = second.restoreRemembered()
    expect((await second.listSources()).map((s) => [s.kind, s.label])).toEqual([['store', 'Work laptop']])
    // Adding the store rewrote the file: the attachment still comes back.
    restoreAttachments()
    const sources = await second.listSources()
    expect(sources.map((s) => [s.kind, s.label, s.origin])).toEqual([
      ['store', 'Work laptop', 'settings'],
      ['attachment', 'crew', 'settings']
    ])
    await second.removeSource(sources[0]!.id)
    expect(remembered.read().stores).toEqual([])
  })

  it('runs the demo: a live Perspt store with one running session and a streaming ensemble', async () => {
    const s = service({ demo: { storeTickMs: 200, ensemblePaceMs: 50 } })
    await s.startDemo()
    await s.startDemo() // idempotent
    expect((await s.getAppInfo()).demoRunning).toBe(true)
    const sources = await s.listSources()
    expect(sources.map((x) => [x.kind, x.origin])).toEqual([
      ['store', 'demo'],
      ['attachment', 'demo']
    ])
    const storeId = sources[0]!.id
    const sessions = await until(async () => {
      const info = (await s.listSources())[0]
      return info?.kind === 'store' && info.state === 'ready' ? s.listSessions(storeId) : undefined
    })
    expect(sessions.length).toBeGreaterThanOrEqual(5)
    expect(sessions.filter((x) => x.status === 'running')).toHaveLength(1)
    const store = (await s.listSources())[0]
    expect(store).toMatchObject({ kind: 'store', tableCount: 23, liveness: 'live' })

    const before = sessions.find((x) => x.status === 'running')!.llmRequests
    await until(async () => {
      const now = (await s.listSessions(storeId)).find((x) => x.status === 'running')
      return now && now.llmRequests > before ? true : undefined
    })

    const run = await until(async () => (await s.listRuns()).find((r) => r.totalTasks > 0))
    expect(run.workflow).toBe('SEQUENTIAL')
  })
})

describe('recording live runs', () => {
  it('keeps a run browsable after the agent and Vigil are gone', async () => {
    const { EnsembleSimulator } = await import('../../../src/main/demo/ensemble-simulator')
    const path = join(dir, 'data', 'recordings.duckdb')
    const first = service()
    await first.startRecording(path)
    expect((await first.getAppInfo()).recording).toEqual({ path, active: true, problem: null, paused: null, notRecorded: {}, refused: {}, recorded: 0 })

    const sim = new EnsembleSimulator({ paceMs: 10, loop: false, reviewTimeoutMs: 200 })
    const { url } = await sim.start()
    await first.addAttachment(url, 'sim')
    const finished = await until(async () => (await first.listRuns()).find((r) => r.status !== 'running'))
    await sim.stop()
    await first.close()

    const third = service()
    await third.startRecording(path)
    const replayed = (await third.listRuns()).find((r) => r.runId === finished.runId)
    expect(replayed).toMatchObject({ status: finished.status, totalTasks: finished.totalTasks, completedTasks: finished.completedTasks })
    expect((await third.getRun(finished.runId)).tasks.length).toBe(finished.totalTasks)
  })
})

describe('trace files', () => {
  it('imports a trace as its own source and refuses to export when nothing was recorded', async () => {
    // The spec's minimal ExecutionTrace (as AgentEnsemble's Java side writes it).
    const minimal = `{"schemaVersion":"1.1","captureMode":"OFF","ensembleId":"2f1c","workflow":"SEQUENTIAL","startedAt":"2026-03-05T09:00:00Z","completedAt":"2026-03-05T09:00:12.345Z","totalDuration":"PT12.345S","inputs":{},"agents":[{"role":"Researcher","goal":"g","background":null,"toolNames":[],"allowDelegation":false}],"taskTraces":[{"taskDescription":"Research AI","expectedOutput":"A report","agentRole":"Researcher","startedAt":"2026-03-05T09:00:00Z","completedAt":"2026-03-05T09:00:12.3Z","duration":"PT12.3S","prompts":{"systemPrompt":"s","userPrompt":"u"},"llmInteractions":[{"iterationIndex":0,"startedAt":"2026-03-05T09:00:01Z","completedAt":"2026-03-05T09:00:04.2Z","latency":"PT3.2S","inputTokens":800,"outputTokens":450,"responseType":"FINAL_ANSWER","responseText":"r","toolCalls":[],"messages":[]}],"delegations":[],"finalOutput":"r","parsedOutput":null,"metrics":{},"nodeType":null,"mapReduceLevel":null,"metadata":{}}],"metrics":{"totalTokens":1250,"totalToolCalls":0},"totalCostEstimate":null,"errors":[],"mapReduceLevels":[],"loopTraces":[],"graphTrace":null,"traceId":null,"metadata":{}}`
    const s = service()
    const { sourceId, kind, runIds } = await s.importTraceFile('crew.trace.json', minimal)
    expect(kind).toBe('trace')
    expect(sourceId).toBe('file:crew.trace.json')
    expect(runIds).toHaveLength(1)
    const run = await s.getRun(runIds[0]!)
    expect(run.totalTasks).toBeGreaterThan(0)
    await expect(s.exportRunTrace(runIds[0]!)).rejects.toMatchObject({ code: 'unavailable', message: /not being recorded/ })
    await expect(s.exportRunTrace('nope')).rejects.toMatchObject({ code: 'not-found' })
    await expect(s.importTraceFile('x.json', '{"nope":1}')).rejects.toMatchObject({ code: 'bad-request' })
  })
})
