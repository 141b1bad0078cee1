// Run deltas over the desktop transport: the preload's IPC bridge (over a fake ipcMain with Electron's
// call shapes) says which run its window watches, main pushes that run's ops only, and a RunFollow on
// top fetches the detail once and ends equal to a fresh getRun(). A sender outside the app is refused.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { RunDelta } from '../../../src/shared/model/run-reducer'
import { RUN_PAGE_EVENTS } from '../../../src/shared/model/run-reducer'
import type { RunDetail } from '../../../src/shared/model/live'
import { VigilService } from '../../../src/main/core/vigil-service'
import { forwardRunDeltasOverIpc, registerIpcApi } from '../../../src/main/ipc/ipc-api'
import { APP_ORIGIN, createSenderCheck } from '../../../src/main/ipc/trusted-sender'
import { createIpcBridge } from '../../../src/preload/ipc-bridge'
import { RunFollow } from '../../../src/renderer/lib/run-follow'
import { createFakeIpc } from '../../support/fake-ipc'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function until<T>(check: () => T | null | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function desktop() {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ipc-deltas-'))
  const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(dir, 'tmp'), pollMs: 60_000 })
  const ipc = createFakeIpc()
  const check = createSenderCheck([APP_ORIGIN])
  registerIpcApi({ ipcMain: ipc.ipcMain, api: service, isTrustedSender: check, log: () => undefined })
  const stop = forwardRunDeltasOverIpc({ ipcMain: ipc.ipcMain, events: service.events, isTrustedSender: check, log: () => undefined })
  cleanups.push(async () => {
    stop()
    await service.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const ingest = (message: Parameters<VigilService['registry']['tracker']['ingest']>[2]) => service.registry.tracker.ingest('hub', 'desk', message, new Date().toISOString())
  return { service, ipc, bridge: createIpcBridge(ipc.ipcRenderer), ingest }
}

const role = 'Researcher'

describe('run deltas over IPC', () => {
  it('a watching window gets its run only and ends equal to a fresh getRun, with one fetch', async () => {
    const d = desktop()
    d.ingest({ type: 'ensemble_started', ensembleId: 'e1', startedAt: new Date().toISOString(), totalTasks: 2, workflow: 'SEQUENTIAL' })
    const runId = d.service.registry.tracker.currentRunId('hub', 'desk')!
    const received: RunDelta[] = []
    let loads = 0
    let shown: RunDetail | null = null
    const follow = new RunFollow({
      runId,
      load: (id) => {
        loads++
        return d.bridge.getRun(id, RUN_PAGE_EVENTS)
      },
      onState: (s) => (shown = s),
      frame: (fn) => setTimeout(fn, 1)
    })
    d.bridge.on('run-delta', (delta) => {
      received.push(delta)
      follow.push(delta)
    })
    d.bridge.watchRuns([runId])
    await follow.resync()
    await until(() => d.service.events.runFeed.stats().watching === 1, 'the window watching')

    d.ingest({ type: 'task_started', taskIndex: 1, totalTasks: 2, taskDescription: 'Look', agentRole: role, startedAt: new Date().toISOString() })
    d.ingest({ type: 'tool_called', agentRole: role, taskIndex: 1, toolName: 'search', durationMs: 5, outcome: 'SUCCESS', toolArguments: '{}', toolResult: 'ok', structuredResult: { n: 1 } })
    d.ingest({ type: 'file_changed', agentRole: role, filePath: 'a.md', changeType: 'CREATED', linesAdded: 3, linesRemoved: 0 })
    // Another stream's run is not sent to this window.
    d.service.registry.tracker.ingest('hub', 'other', { type: 'ensemble_started', ensembleId: 'e2', startedAt: new Date().toISOString(), totalTasks: 1, workflow: 'SEQUENTIAL' }, new Date().toISOString())
    d.ingest({ type: 'task_completed', taskIndex: 1, totalTasks: 2, taskDescription: 'Look', agentRole: role, completedAt: new Date().toISOString(), durationMs: 9, tokenCount: -1, toolCallCount: 1 })

    const fresh = await d.bridge.getRun(runId, RUN_PAGE_EVENTS)
    await until(() => (shown as RunDetail | null)?.live?.seq === fresh.live!.seq, 'the window caught up')
    expect(shown).toEqual(fresh)
    expect(loads).toBe(1)
    expect(received.length).toBeGreaterThan(0)
    expect(received.every((r) => r.runId === runId)).toBe(true)
    expect(received.flatMap((r) => r.ops)).toHaveLength(4)
  })

  it('refuses a watch from a sender outside the app', async () => {
    const d = desktop()
    d.ingest({ type: 'ensemble_started', ensembleId: 'e1', startedAt: new Date().toISOString(), totalTasks: 1, workflow: 'SEQUENTIAL' })
    const runId = d.service.registry.tracker.currentRunId('hub', 'desk')!
    d.ipc.senderFrame = { url: 'https://evil.example/', parent: null }
    const received: RunDelta[] = []
    d.bridge.on('run-delta', (delta) => received.push(delta))
    d.bridge.watchRuns([runId])
    d.ingest({ type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: 'Look', agentRole: role, startedAt: new Date().toISOString() })
    await new Promise((r) => setTimeout(r, 50))
    expect(d.service.events.runFeed.stats().watching).toBe(0)
    expect(received).toEqual([])
  })
})
