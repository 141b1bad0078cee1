// A real `vigil serve` whose data folder is a small tmpfs that fills up, and one whose data folder is
// read-only. Vigil stays up, says "Recording paused: disk full" (in /api/status and pushed to windows),
// refuses POSTs 503 instead of acknowledging what it cannot keep, counts the socket events it shows but
// cannot record, resumes by itself once space is back, and loses nothing it acknowledged.
// Needs `mount` (root in a sandbox, as here and in CI); elsewhere the journal's injected-ENOSPC tests
// (test/integration/recorder/ingest-journal.test.ts) cover the same paths and these are skipped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../integration/live/helpers'
import {
  canMountTmpfs,
  killAll,
  mountTmpfs,
  recordedToolNames,
  requireBuild,
  startVigil,
  status,
  stopWith,
  toolEnvelope,
  unmountAll,
  waitUntil,
  type VigilProcess
} from './vigil-process'

let dir: string

beforeAll(() => {
  requireBuild()
  dir = mkdtempSync(join(tmpdir(), 'vigil-fault-disk-'))
})
afterEach(() => killAll())
afterAll(() => {
  unmountAll()
  rmSync(dir, { recursive: true, force: true })
})

async function post(v: VigilProcess, body: string): Promise<{ status: number; message: string }> {
  const res = await fetch(`${v.url}/api/hub/ingress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const text = await res.text()
  return { status: res.status, message: text ? ((JSON.parse(text) as { error?: { message?: string } }).error?.message ?? '') : '' }
}

type Recording = { active: boolean; paused: string | null; problem: string | null; notRecorded: Record<string, number> }
const recording = async (v: VigilProcess) => (await status(v)).recording as Recording

describe.skipIf(!canMountTmpfs)('a data folder that fills up or is read-only', () => {
  it('pauses recording on a full disk, refuses POSTs 503, shows socket events, resumes by itself, loses nothing acknowledged', async () => {
    const disk = join(dir, 'small')
    mountTmpfs(disk, '16m')
    const data = join(disk, 'data')
    // Room to give back later: a user deleting files to free space.
    const filler = join(disk, 'filler')
    writeFileSync(filler, Buffer.alloc(6 * 1024 * 1024))
    const v = await startVigil(data)
    expect(await recording(v)).toMatchObject({ active: true, paused: null })

    const acked: string[] = []
    let refused: { status: number; message: string } | null = null
    // 16 KB events until the disk is full (a few hundred fit).
    for (let i = 1; i <= 2000 && !refused; i++) {
      const name = `fill-${i}`
      const r = await post(v, toolEnvelope('filler', i, name, 16_000))
      if (r.status === 202) acked.push(name)
      else refused = r
    }
    expect(acked.length).toBeGreaterThan(50)
    expect(refused).toMatchObject({ status: 503, message: expect.stringMatching(/Recording paused: .*disk full.*send it again/i) })
    expect((await recording(v)).paused).toMatch(/^Recording paused: disk full/)

    // Socket events while full are still shown live, and counted as not recorded.
    const observer = new WebSocket(`${v.ws}/ws`, { origin: v.url })
    const seen = new Set<string>()
    observer.on('message', (d: Buffer) => {
      const f = JSON.parse(d.toString()) as { type: string; message?: { toolName?: string } }
      if (f.type === 'event' && f.message?.toolName) seen.add(f.message.toolName)
    })
    await new Promise((r) => observer.once('open', r))
    const publisher = new WebSocket(`${v.ws}/ingress`)
    await new Promise((r) => publisher.once('open', r))
    for (let i = 1; i <= 20; i++) publisher.send(toolEnvelope('socket', i, `socket-${i}`, 16_000))
    await waitFor(() => seen.size === 20, 'socket events shown while the disk is full', 10_000)
    await waitUntil(async () => ((await recording(v)).notRecorded.hub ?? 0) > 0, 'not-recorded count', 5000)
    const during = await recording(v)
    expect(during.notRecorded.hub ?? 0).toBeGreaterThan(0)
    expect(during.paused).toMatch(/disk full/)

    // Space comes back: recording resumes by itself (the next event probes, at most once a second).
    rmSync(filler)
    let resumedAt = 0
    for (let i = 1; i <= 100 && !resumedAt; i++) {
      const name = `after-${i}`
      const r = await post(v, toolEnvelope('after', i, name, 100))
      if (r.status === 202) {
        acked.push(name)
        resumedAt = i
      } else {
        expect(r.status).toBe(503)
        await new Promise((res) => setTimeout(res, 200))
      }
    }
    expect(resumedAt).toBeGreaterThan(0)
    for (let i = 1; i <= 10; i++) {
      const name = `resumed-${i}`
      expect((await post(v, toolEnvelope('after', 100 + i, name, 100))).status).toBe(202)
      acked.push(name)
    }
    await waitUntil(async () => (await recording(v)).paused === null, 'recording resumed', 20_000)
    observer.terminate()
    publisher.terminate()

    expect(v.proc.exitCode).toBeNull()
    expect(await stopWith(v, 'SIGTERM')).toBe(0)
    const recorded = new Set(await recordedToolNames(data))
    expect(acked.filter((n) => !recorded.has(n))).toEqual([])
  }, 120_000)

  it('starts on a read-only data folder, says recording is off, refuses POSTs 503 and still shows socket events', async () => {
    const data = join(dir, 'readonly')
    mountTmpfs(data, '1m', true)
    const v = await startVigil(data)
    const r = await recording(v)
    expect(r.active).toBe(false)
    expect(r.problem).toMatch(/read-only|Read-only|permission|cannot/i)
    expect(r.paused).toMatch(/^Recording is off: /)
    const refused = await post(v, toolEnvelope('p', 1, 'x'))
    expect(refused.status).toBe(503)
    expect(refused.message).toMatch(/Recording is off/)

    const observer = new WebSocket(`${v.ws}/ws`, { origin: v.url })
    const seen: string[] = []
    observer.on('message', (d: Buffer) => {
      const f = JSON.parse(d.toString()) as { type: string; message?: { toolName?: string } }
      if (f.type === 'event' && f.message?.toolName) seen.push(f.message.toolName)
    })
    await new Promise((res) => observer.once('open', res))
    const publisher = new WebSocket(`${v.ws}/ingress`)
    await new Promise((res) => publisher.once('open', res))
    publisher.send(toolEnvelope('p', 2, 'shown'))
    await waitFor(() => seen.includes('shown'), 'a socket event shown live', 5000)
    await waitUntil(async () => ((await recording(v)).notRecorded.hub ?? 0) >= 1, 'counted as not recorded', 5000)
    observer.terminate()
    publisher.terminate()
    expect(await stopWith(v, 'SIGTERM')).toBe(0)
  }, 60_000)
})
