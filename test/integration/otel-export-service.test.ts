// `vigil serve --otlp-endpoint` (the real startServe path, in process) forwarding to a collector stub:
// an AgentEnsemble run pushed to the hub and a Perspt session that ends in a real store are exported
// once they end; what had ended before (a session already completed, runs replayed from the recording
// after a restart) is not; GET /api/status shows the exporter's state and counts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseArgs, type ServeOptions } from '../../src/main/cli/args'
import { startServe, type RunningVigil } from '../../src/main/cli/serve'
import type { OtlpSpan } from '../../src/main/otel/otlp-model'
import type { OtlpExportStatus } from '../../src/shared/model/otlp-export'
import { buildStore } from '../fixtures/perspt-fixtures'
import { envelope, realisticRun, SVC_A } from '../unit/hub/frames'
import { CollectorStub } from './otel-export-collector'

const op = (s: OtlpSpan) => s.attributes.find((a) => a.key === 'gen_ai.operation.name')?.value.stringValue
const str = (s: OtlpSpan, key: string) => s.attributes.find((a) => a.key === key)?.value.stringValue

async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

let dir: string
let storePath: string
const collector = new CollectorStub()
let collectorDown = false
let vigil: RunningVigil | null = null

function options(extra: string[] = []): ServeOptions {
  return parseArgs(['serve', '--port', '0', '--no-default-store', '--data-dir', join(dir, 'data'), '--db', storePath, '--otlp-endpoint', collector.url, ...extra]) as ServeOptions
}

async function start(extra: string[] = []): Promise<RunningVigil> {
  vigil = await startServe(options(extra), { version: '0.0.0-test', staticDir: null, env: {}, home: dir })
  return vigil
}

async function status(v: RunningVigil): Promise<OtlpExportStatus> {
  const body = (await (await fetch(`${v.server.url}/api/status`)).json()) as { otlpExport: OtlpExportStatus }
  return body.otlpExport
}

async function postRun(v: RunningVigil, ensembleId: string): Promise<void> {
  let seq = 0
  for (const m of realisticRun(ensembleId)) {
    const res = await fetch(`${v.server.url}/api/hub/ingress`, { method: 'POST', body: envelope(SVC_A, ++seq, '2026-03-05T14:00:00Z', m) })
    expect(res.status).toBe(202)
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-otel-export-'))
  storePath = join(dir, 'perspt.db')
  await buildStore(storePath, {
    generation: 23,
    sessions: [
      { id: 'already-done', status: 'COMPLETED', createdAt: '2026-05-01 09:00:00', updatedAt: '2026-05-01 09:10:00', committed: ['task_1'], started: ['task_1'], llm: [{ nodeId: 'task_1', tokensIn: 5, tokensOut: 5 }] },
      { id: 'will-finish', status: 'RUNNING', createdAt: '2026-05-01 10:00:00', plan: ['task_1', 'task_2'], committed: ['task_1'], started: ['task_1', 'task_2'], llm: [{ nodeId: 'task_1', tokensIn: 100, tokensOut: 50 }, { nodeId: 'task_2', tokensIn: 200, tokensOut: 80 }] }
    ]
  })
  await collector.start()
  collector.answer = (_r, res) => (collectorDown ? res.writeHead(503, { 'retry-after': '1' }).end() : res.writeHead(200).end())
})

afterAll(async () => {
  await vigil?.close()
  await collector.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('vigil serve --otlp-endpoint', () => {
  it('exports an AgentEnsemble run when it ends, and a Perspt session when it ends; nothing that had ended before', async () => {
    const v = await start()
    expect((await status(v)).url).toBe(`${collector.url}/v1/traces`)

    await postRun(v, 'e-export-1')
    const runSpans = await until(() => {
      const s = collector.spans().filter((x) => str(x, 'agentensemble.ensemble.id') === 'e-export-1')
      const root = s[0]
      return root ? collector.spans().filter((x) => x.traceId === root.traceId) : undefined
    }, 'the run at the collector')
    await until(() => collector.spans().filter((x) => x.traceId === runSpans[0]!.traceId).length >= 16, 'all 16 spans of the run')
    const trace = collector.spans().filter((x) => x.traceId === runSpans[0]!.traceId)
    expect(['invoke_agent', 'chat', 'execute_tool'].map((o) => trace.filter((x) => op(x) === o).length)).toEqual([3, 6, 6])

    // The session that ends now is exported; the one already completed at start is not.
    const db = await DuckDBInstance.create(storePath)
    const con = await db.connect()
    await con.run("UPDATE sessions SET status = 'COMPLETED', updated_at = TIMESTAMP '2026-05-01 10:20:00' WHERE session_id = 'will-finish'")
    con.closeSync()
    db.closeSync()
    const session = await until(() => collector.spans().find((x) => str(x, 'perspt.session.id') === 'will-finish' && x.parentSpanId === ''), 'the session at the collector')
    await until(() => collector.spans().filter((x) => x.traceId === session.traceId && op(x) === 'chat').length === 2, 'its two LLM spans')
    expect(str(session, 'perspt.session.status')).toBe('COMPLETED')
    expect(collector.spans().some((x) => str(x, 'perspt.session.id') === 'already-done')).toBe(false)

    const s = await status(v)
    expect(s).toMatchObject({ state: 'connected', queued: 0, dropped: 0, rejected: 0, runsExported: 2, exportFailures: 0 })
    expect(s.sent).toBe(collector.spans().length)
    await v.close()
    vigil = null
  })

  it('after a restart, recorded runs are not sent again; a new run is', async () => {
    const before = collector.spans().length
    const v = await start()
    await postRun(v, 'e-export-2')
    await until(() => collector.spans().some((x) => str(x, 'agentensemble.ensemble.id') === 'e-export-2'), 'the new run')
    await new Promise((r) => setTimeout(r, 1500))
    const roots = collector.spans().slice(before).filter((x) => x.parentSpanId === '')
    expect(roots.map((x) => str(x, 'agentensemble.ensemble.id'))).toEqual(['e-export-2'])
    await v.close()
    vigil = null
  })

  it('a collector that refuses shows as failing in /api/status, with what to do; it recovers when the collector is back', async () => {
    collectorDown = true
    const v = await start()
    await postRun(v, 'e-export-3')
    const failing = await (async () => {
      const end = Date.now() + 15_000
      for (;;) {
        const st = await status(v)
        if (st.state === 'failing') return st
        if (Date.now() > end) throw new Error('never failing')
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    expect(failing.lastError).toMatch(/503.*Retrying in/)
    expect(failing.queued).toBe(16)
    expect(failing.retried).toBeGreaterThanOrEqual(1)
    collectorDown = false
    await (async () => {
      const end = Date.now() + 15_000
      while ((await status(v)).state !== 'connected') {
        if (Date.now() > end) throw new Error('never recovered')
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    expect(collector.spans().filter((x) => str(x, 'agentensemble.ensemble.id') === 'e-export-3')).toHaveLength(1)
    await v.close()
    vigil = null
  })

  it('refuses a bad endpoint or protocol as a usage error', () => {
    expect(() => parseArgs(['serve', '--otlp-endpoint', 'ftp://x'])).toThrow(/http:\/\/ or https:\/\//)
    expect(() => parseArgs(['serve', '--otlp-endpoint', 'http://u:p@host:4318'])).toThrow(/--otlp-header/)
    expect(() => parseArgs(['serve', '--otlp-endpoint', 'http://localhost:4318', '--otlp-protocol', 'grpc'])).toThrow(/http\/protobuf or http\/json/)
    expect(() => parseArgs(['serve', '--otlp-header', 'a=b'])).toThrow(/need --otlp-endpoint/)
    expect(parseArgs(['serve', '--otlp-endpoint', 'http://c:4318', '--otlp-header', 'Authorization=Bearer x', '--otlp-protocol=http/json'])).toMatchObject({
      otlpEndpoint: 'http://c:4318',
      otlpProtocol: 'http/json',
      otlpHeaders: { authorization: 'Bearer x' }
    })
  })
})
