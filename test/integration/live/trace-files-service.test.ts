// Issue 16 item 4 through a real VigilService recording into a real DuckDB file: an imported trace is
// exported back unchanged (also after a restart replays the recording), a failed one reads failed, and a
// .dag.json import says why there is no run instead of answering with none.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { VigilService } from '../../../src/main/core/vigil-service'

const dirs: string[] = []
const services: VigilService[] = []
afterEach(async () => {
  for (const s of services.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function vigil(dataDir: string): Promise<VigilService> {
  const s = new VigilService({ mode: 'web', version: 'x', tmpRoot: mkdtempSync(join(tmpdir(), 'vigil-trace-tmp-')), pollMs: 60_000 })
  services.push(s)
  await s.startRecording(join(dataDir, 'recordings.duckdb'))
  return s
}

const TRACE = {
  schemaVersion: '1.1',
  captureMode: 'FULL',
  ensembleId: 'e..odd/id',
  workflow: 'SEQUENTIAL',
  startedAt: '2026-03-05T09:00:00Z',
  completedAt: null,
  totalDuration: null,
  inputs: { topic: 'AI' },
  agents: [{ role: 'R', goal: 'g', background: null, toolNames: [], allowDelegation: true }],
  taskTraces: [
    {
      taskDescription: 'T', expectedOutput: null, agentRole: 'R', startedAt: '2026-03-05T09:00:00Z', completedAt: '2026-03-05T09:00:01Z', duration: 'PT1S',
      prompts: { systemPrompt: 's', userPrompt: 'u' }, llmInteractions: [],
      delegations: [{ delegatorRole: 'R', workerRole: 'W', taskDescription: 'sub', startedAt: '2026-03-05T09:00:00Z', completedAt: '2026-03-05T09:00:01Z', duration: 'PT1S', depth: 1, result: 'ok', succeeded: true, workerTrace: { taskDescription: 'sub', agentRole: 'W', metrics: { costEstimate: { inputCost: 0.1, outputCost: 0.2, totalCost: 0.3, currency: 'USD' } } } }],
      finalOutput: 'x', parsedOutput: null, metrics: { costEstimate: { inputCost: 0.01, outputCost: 0.02, totalCost: 0.03, currency: 'USD' } }, nodeType: null, mapReduceLevel: null, metadata: {}
    }
  ],
  metrics: { totalTokens: -1, totalToolCalls: 0, memoryOperations: { shortTermEntriesWritten: 3, longTermStores: 1, longTermRetrievals: 2, entityLookups: 0 } },
  totalCostEstimate: { inputCost: 0.11, outputCost: 0.22, totalCost: 0.33, currency: 'USD' },
  errors: [{ agentRole: null, taskDescription: null, errorType: 'X', message: 'boom', stackTrace: null, occurredAt: '2026-03-05T09:00:02Z' }],
  mapReduceLevels: [], loopTraces: [], graphTrace: null, traceId: 't-1', metadata: { k: 'v' }
}

describe('trace files through VigilService', () => {
  it('import → export is lossless (before and after a restart), failed reads failed, the name is safe', async () => {
    const data = mkdtempSync(join(tmpdir(), 'vigil-trace-data-'))
    dirs.push(data)
    const v1 = await vigil(data)
    const { runIds, kind } = await v1.importTraceFile('odd.trace.json', JSON.stringify(TRACE))
    expect(kind).toBe('trace')
    expect(runIds).toHaveLength(1)
    const runId = runIds[0] as string
    expect(await v1.getRun(runId)).toMatchObject({ status: 'failed', exitReason: 'ERROR' })
    const out = await v1.exportRunTrace(runId)
    expect(JSON.parse(out.json)).toEqual(TRACE)
    expect(out.fileName).not.toContain('..')
    expect(out.fileName).not.toMatch(/[/\\]/)
    await v1.close()
    services.splice(services.indexOf(v1), 1)

    const v2 = await vigil(data)
    expect(await v2.getRun(runId)).toMatchObject({ status: 'failed' })
    expect(JSON.parse((await v2.exportRunTrace(runId)).json)).toEqual(TRACE)
  })

  it('a .dag.json import says what it is and why there is no run', async () => {
    const data = mkdtempSync(join(tmpdir(), 'vigil-trace-data-'))
    dirs.push(data)
    const v = await vigil(data)
    const dag = { schemaVersion: '1.3', type: 'dag', workflow: 'PARALLEL', generatedAt: '2026-03-05T09:00:00Z', agents: [], tasks: [{ id: 't0', description: 'A', agentRole: 'R', dependsOn: [], onCriticalPath: true }, { id: 't1', description: 'B', agentRole: 'W', dependsOn: ['t0'] }], parallelGroups: [], criticalPath: ['t0'] }
    await expect(v.importTraceFile('plan.dag.json', JSON.stringify(dag))).rejects.toThrow(/plan\.dag\.json is an AgentEnsemble DAG: the plan of 2 tasks \(PARALLEL, critical path t0\), not a run/)
    expect((await v.listRuns()).filter((r) => r.sourceId.includes('plan'))).toEqual([])
  })
})
