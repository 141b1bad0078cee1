// GET /api/status tells how each Perspt store is read (live or by copies, its fallbacks, why live
// reading is off), over a real server with the service's extensions (the details a signed-in caller sees).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { VigilService } from '../../../src/main/core/vigil-service'
import { startVigilServer, type RunningServer } from '../../../src/main/server/vigil-server'
import { buildStore, writeNonDuckDbFile } from '../../fixtures/perspt-fixtures'

let dir: string
let service: VigilService
let server: RunningServer
let storePath: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-status-stores-'))
  storePath = join(dir, 'agent.db')
  await buildStore(storePath, { generation: 23 })
  service = new VigilService({ mode: 'web', version: '1.0.0', tmpRoot: join(dir, 'tmp'), pollMs: 100 })
  server = await startVigilServer({ host: '127.0.0.1', port: 0, api: service, events: service.events, staticDir: null, version: '1.0.0', maxBodyBytes: 1024 * 1024, extensions: service.serverExtensions() })
}, 60_000)

afterAll(async () => {
  await server.close()
  await service.close()
  rmSync(dir, { recursive: true, force: true })
})

it('lists each store with its state and how it is read', async () => {
  const before = (await (await fetch(`${server.url}/api/status`)).json()) as { stores: unknown[] }
  expect(before.stores).toEqual([])
  const added = await service.addStore(storePath)
  let status: { stores: Array<Record<string, unknown>> } = { stores: [] }
  for (let i = 0; i < 200 && status.stores[0]?.state !== 'ready'; i++) {
    await new Promise((r) => setTimeout(r, 50))
    status = (await (await fetch(`${server.url}/api/status`)).json()) as typeof status
  }
  expect(status.stores).toHaveLength(1)
  expect(status.stores[0]).toMatchObject({ id: added.id, path: storePath, state: 'ready', problem: null, reading: { mode: expect.stringMatching(/^(live|copies)$/), fallbacks: 0, liveOff: null } })
  expect(status.stores[0]!.version).toBeGreaterThan(0)
  // The same as the sources list says.
  const [source] = await service.listSources()
  expect(source).toMatchObject({ kind: 'store', reading: status.stores[0]!.reading, version: expect.any(Number) })
})

it('names what is wrong with a store it cannot read, next to the good one', async () => {
  const bad = join(dir, 'not-a-store.db')
  writeNonDuckDbFile(bad)
  const added = await service.addStore(bad)
  let entry: Record<string, unknown> | undefined
  for (let i = 0; i < 200 && entry?.state !== 'error'; i++) {
    await new Promise((r) => setTimeout(r, 50))
    const status = (await (await fetch(`${server.url}/api/status`)).json()) as { stores: Array<Record<string, unknown>> }
    entry = status.stores.find((st) => st.id === added.id)
  }
  expect(entry).toMatchObject({ path: bad, state: 'error', problem: expect.stringMatching(/\S/) })
  const [source] = (await service.listSources()).filter((s) => s.id === added.id)
  expect(entry!.problem).toBe(source!.kind === 'store' ? source!.problem?.message : undefined)
})
