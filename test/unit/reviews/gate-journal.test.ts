// The pending-gate journal on a real folder: what it restores, a torn last write, corruption, a folder
// it cannot write, and compaction.
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GATE_JOURNAL_FILE, GateJournal, readJournal } from '../../../src/main/reviews/gate-journal'
import type { ReviewGate } from '../../../src/shared/model/reviews'

let dir: string
const logs: string[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-gate-journal-'))
  logs.length = 0
})
afterEach(() => {
  try {
    chmodSync(dir, 0o700)
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true })
})

function gate(id: string, extra: Partial<ReviewGate> = {}): ReviewGate {
  return {
    id,
    reviewId: id,
    source: { kind: 'api', sourceId: 'api', producerId: null, label: 'Review API' },
    runId: null,
    taskDescription: `Task ${id}`,
    taskOutput: 'Output ✓',
    timing: 'AFTER_EXECUTION',
    prompt: null,
    timeoutMs: 60_000,
    onTimeout: 'EXIT_EARLY',
    requiredRole: null,
    createdAt: '2026-12-01T10:00:00.000Z',
    expiresAt: '2026-12-01T10:01:00.000Z',
    status: 'pending',
    connected: true,
    outcome: null,
    ...extra
  }
}

/** A journal whose live set is `live` (what the coordinator would hold). */
function openJournal(live: Map<string, ReviewGate>) {
  const opened = GateJournal.open(dir, { snapshot: () => [...live.values()], log: (m) => logs.push(m) })
  for (const g of opened.gates) live.set(g.id, g)
  return opened
}

const canChmod = process.platform !== 'win32' && process.getuid?.() !== 0

describe('GateJournal', () => {
  it('restores what was put and not removed, after flush, in a new process-like open', async () => {
    const live = new Map<string, ReviewGate>()
    const { journal, gates } = openJournal(live)
    expect(gates).toEqual([])
    for (const id of ['a', 'b', 'c']) {
      live.set(id, gate(id))
      journal.put(gate(id))
    }
    live.delete('b')
    journal.remove('b')
    expect(await journal.flush()).toBe(true)
    expect(journal.status()).toMatchObject({ durable: true, problem: null })
    // No close: as after kill -9, only what flush() committed counts.
    const again = GateJournal.open(dir, { snapshot: () => [], log: (m) => logs.push(m) })
    expect(again.gates.map((g) => g.id).sort()).toEqual(['a', 'c'])
    expect(again.gates.find((g) => g.id === 'a')).toEqual(gate('a'))
    await journal.close()
    await again.journal.close()
  })

  it('skips a torn last line (kill -9 mid-write) and a corrupt line, keeping the rest', async () => {
    const live = new Map<string, ReviewGate>()
    const { journal } = openJournal(live)
    journal.put(gate('a'))
    journal.put(gate('b'))
    await journal.flush()
    await journal.close()
    const path = join(dir, GATE_JOURNAL_FILE)
    const lines = readFileSync(path, 'utf8').split('\n')
    // Flip one character inside b's line: its checksum no longer matches.
    lines[1] = lines[1]!.replace('Task b', 'Task X')
    writeFileSync(path, lines.join('\n'))
    // A torn put of c: no newline, cut in the middle.
    const { journal: j2 } = openJournal(new Map())
    await j2.close()
    appendFileSync(path, readFileSync(path, 'utf8').split('\n')[0]!.slice(0, 40))
    const read = readJournal(readFileSync(path))
    expect(read.gates.map((g) => g.id)).toEqual(['a'])
    expect(read.skipped).toBe(1)

    const reopened = GateJournal.open(dir, { snapshot: () => [], log: (m) => logs.push(m) })
    expect(reopened.gates.map((g) => g.id)).toEqual(['a'])
    expect(reopened.journal.status().skippedAtOpen).toBe(1)
    // The rewrite at open dropped the torn tail: appends start on a clean line.
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true)
    await reopened.journal.close()
  })

  it('compacts: a journal with many resolved gates is rewritten to the live ones at open', async () => {
    const live = new Map<string, ReviewGate>()
    const { journal } = openJournal(live)
    for (let i = 0; i < 200; i++) {
      journal.put(gate(`g${i}`, { taskOutput: 'x'.repeat(1000) }))
      if (i % 10 !== 0) journal.remove(`g${i}`)
      else live.set(`g${i}`, gate(`g${i}`, { taskOutput: 'x'.repeat(1000) }))
    }
    await journal.flush()
    await journal.close()
    const before = statSync(join(dir, GATE_JOURNAL_FILE)).size
    const reopened = openJournal(new Map())
    expect(reopened.gates).toHaveLength(20)
    expect(statSync(join(dir, GATE_JOURNAL_FILE)).size).toBeLessThan(before / 5)
    await reopened.journal.close()
  })

  it('compacts while running once the appended lines outgrow the live set', async () => {
    const live = new Map<string, ReviewGate>()
    const { journal } = openJournal(live)
    const big = 'x'.repeat(4 * 1024 * 1024)
    for (let i = 0; i < 6; i++) {
      journal.put(gate(`big${i}`, { taskOutput: big }))
      journal.remove(`big${i}`)
      await journal.flush()
    }
    live.set('small', gate('small'))
    journal.put(gate('small'))
    await journal.flush()
    // 25 MiB were appended; past 16 MiB a commit rewrote the journal to the live gates, so at most the
    // lines appended since remain (one big put and its removal, and the small gate).
    expect(statSync(join(dir, GATE_JOURNAL_FILE)).size).toBeLessThan(9 * 1024 * 1024)
    live.set('after', gate('after'))
    journal.put(gate('after'))
    await journal.flush()
    const again = readJournal(readFileSync(join(dir, GATE_JOURNAL_FILE)))
    expect(again.gates.map((g) => g.id).sort()).toEqual(['after', 'small'])
    await journal.close()
  })

  it('a data folder it cannot write: gates stay in memory, the problem is reported and logged once, and it recovers', async () => {
    // A file where the folder should be: every write fails (ENOTDIR), as for a read-only or full folder, even as root.
    const data = join(dir, 'data')
    writeFileSync(data, 'not a folder')
    const live = new Map<string, ReviewGate>()
    const { journal, gates } = GateJournal.open(data, { snapshot: () => [...live.values()], log: (m) => logs.push(m) })
    expect(gates).toEqual([])
    expect(journal.status()).toMatchObject({ durable: false, problem: expect.stringMatching(/cannot write .*pending-reviews\.journal.*ENOTDIR/) })
    live.set('a', gate('a'))
    journal.put(gate('a'))
    expect(await journal.flush()).toBe(false)
    live.set('b', gate('b'))
    journal.put(gate('b'))
    expect(await journal.flush()).toBe(false)
    expect(logs.filter((m) => m.includes('memory only'))).toHaveLength(1)

    rmSync(data)
    mkdirSync(data)
    live.set('c', gate('c'))
    journal.put(gate('c'))
    expect(await journal.flush()).toBe(true)
    expect(journal.status()).toMatchObject({ durable: true, problem: null })
    expect(logs.filter((m) => m.includes('saved to') && m.includes('again'))).toHaveLength(1)
    // The rewrite after recovery wrote every live gate, including those raised while it failed.
    const again = GateJournal.open(data, { snapshot: () => [], log: () => undefined })
    expect(again.gates.map((g) => g.id).sort()).toEqual(['a', 'b', 'c'])
    await journal.close()
    await again.journal.close()
  })

  it.skipIf(!canChmod)('a journal it cannot read is reported and never overwritten', async () => {
    const live = new Map<string, ReviewGate>()
    const { journal } = openJournal(live)
    journal.put(gate('a'))
    await journal.flush()
    await journal.close()
    const path = join(dir, GATE_JOURNAL_FILE)
    const bytes = readFileSync(path)
    chmodSync(path, 0o200)
    const locked = openJournal(new Map())
    expect(locked.gates).toEqual([])
    expect(locked.journal.status().problem).toMatch(/cannot read/)
    locked.journal.put(gate('b'))
    expect(await locked.journal.flush()).toBe(false)
    await locked.journal.close()
    chmodSync(path, 0o600)
    expect(readFileSync(path)).toEqual(bytes)
  })
})
