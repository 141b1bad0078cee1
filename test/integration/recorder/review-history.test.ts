// The review history in Vigil's DuckDB file lists gates in the same order as the in-memory log:
// newest decision first, and among gates decided in the same millisecond, the one saved last first.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { Recorder } from '../../../src/main/recorder/recorder'
import { DuckReviewLog } from '../../../src/main/recorder/review-history'
import { MemoryReviewLog } from '../../../src/main/reviews/review-log'
import type { ReviewGate } from '../../../src/shared/model/reviews'

const root = mkdtempSync(join(tmpdir(), 'vigil-review-history-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

function gate(id: string, decidedAt: string): ReviewGate {
  return {
    id,
    reviewId: id,
    source: { kind: 'api', label: 'Review API' },
    runId: null,
    requiredRole: null,
    createdAt: '2026-12-06T10:00:00.000Z',
    expiresAt: null,
    status: 'decided',
    connected: true,
    outcome: { decision: 'CONTINUE', decidedAt, timeToDecisionMs: 1 },
    taskDescription: `Gate ${id}`,
    taskOutput: 'x',
    timing: 'AFTER_EXECUTION',
    timeoutMs: 0,
    onTimeout: 'CONTINUE'
  } as unknown as ReviewGate
}

it('lists same-millisecond decisions newest-saved first, as the in-memory log does, across a reopen', async () => {
  const path = join(root, 'rec.duckdb')
  const same = '2026-12-06T10:00:01.000Z'
  // Ids chosen so that ordering by id would give the opposite order.
  const saved = [gate('a-first', same), gate('b-second', same), gate('c-third', same), gate('0-later', '2026-12-06T10:00:02.000Z')]
  const memory = new MemoryReviewLog()
  let recorder = await Recorder.open({ path, flushMs: 10_000 })
  let log = await DuckReviewLog.open(recorder)
  for (const g of saved) {
    memory.save(g)
    await log.save(g)
  }
  const expected = ['0-later', 'c-third', 'b-second', 'a-first']
  expect((await memory.list(0, 10)).rows.map((g) => g.id)).toEqual(expected)
  expect((await log.list(0, 10)).rows.map((g) => g.id)).toEqual(expected)
  expect((await log.list(1, 2)).rows.map((g) => g.id)).toEqual(['c-third', 'b-second'])
  await recorder.close()
  recorder = await Recorder.open({ path, flushMs: 10_000 })
  log = await DuckReviewLog.open(recorder)
  expect((await log.list(0, 10)).rows.map((g) => g.id)).toEqual(expected)
  // A reused id in the same millisecond: the row saved last wins the lookup.
  await log.save({ ...gate('b-second', same), taskOutput: 'again' } as ReviewGate)
  expect((await log.get('b-second'))?.taskOutput).toBe('again')
  await recorder.close()
})

it('lists by the instant decided, not by its spelling: a whole second (…:02Z), milliseconds and offsets', async () => {
  const path = join(root, 'spelling.duckdb')
  const recorder = await Recorder.open({ path, flushMs: 10_000 })
  const log = await DuckReviewLog.open(recorder)
  // formatInstant writes a whole second without ".000": as text, "…:02Z" sorts after "…:02.999Z".
  await log.save(gate('at-02.000', '2026-12-06T10:00:02Z'))
  await log.save(gate('at-02.500', '2026-12-06T10:00:02.500Z'))
  // Another client's clock with an offset: 11:00:01+01:00 is 10:00:01Z, the oldest.
  await log.save(gate('at-01-offset', '2026-12-06T11:00:01+01:00'))
  await log.save(gate('at-02.999', '2026-12-06T10:00:02.999Z'))
  expect((await log.list(0, 10)).rows.map((g) => g.id)).toEqual(['at-02.999', 'at-02.500', 'at-02.000', 'at-01-offset'])
  await recorder.close()
})
