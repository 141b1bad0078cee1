// The LLM page's refetch on each snapshot: one rows request in flight, asks meanwhile share one queued
// request per window that starts after it (and so reads the newest snapshot), equal rows keep their objects.
import { describe, expect, it } from 'vitest'
import { RowsFetcher, sameOr } from '../../../src/renderer/views/session/llm-refetch'

interface Row {
  id: number
  v: string
}

/** A fake server whose answers the test releases one by one; counts requests in flight. */
function server() {
  let version = 1
  let inFlight = 0
  let maxInFlight = 0
  const pending: Array<() => void> = []
  return {
    bump: () => version++,
    get maxInFlight() {
      return maxInFlight
    },
    get waiting() {
      return pending.length
    },
    request: () => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      const asked = version
      return new Promise<{ total: number; rows: Row[] }>((resolve) => {
        pending.push(() => {
          inFlight--
          // The answer reflects the version at the moment the request reached the server.
          resolve({ total: 2, rows: [{ id: 1, v: 'same' }, { id: 2, v: `v${asked}` }] })
        })
      })
    },
    release: async () => {
      pending.shift()?.()
      await new Promise((r) => setTimeout(r, 0))
    }
  }
}

describe('RowsFetcher', () => {
  it('holds one request in flight; a burst of refetches shares one queued request that reads the newest version', async () => {
    const s = server()
    const f = new RowsFetcher<Row>((r) => r.id)
    const first = f.fetch('w0', s.request)
    const answers: Array<Promise<{ rows: Row[] }>> = []
    for (let i = 0; i < 5; i++) {
      s.bump()
      answers.push(f.fetch('w0', s.request))
    }
    expect(s.waiting).toBe(1)
    await s.release()
    expect((await first).rows[1]!.v).toBe('v1')
    // The queued request started only now: it sees the newest version (6), and all five asks share it.
    expect(s.waiting).toBe(1)
    await s.release()
    for (const a of answers) expect((await a).rows[1]!.v).toBe('v6')
    expect(s.maxInFlight).toBe(1)
    expect(f.counts).toEqual({ started: 2, shared: 4, dropped: 0 })
  })

  it('windows take turns: one rows request in flight across windows, each answered', async () => {
    const s = server()
    const f = new RowsFetcher<Row>((r) => r.id)
    const pages = ['w0', 'w1', 'w2'].map((k) => f.fetch(k, s.request))
    expect(s.waiting).toBe(1)
    for (let i = 0; i < 3; i++) await s.release()
    for (const p of pages) expect((await p).rows).toHaveLength(2)
    expect(s.maxInFlight).toBe(1)
  })

  it('a long queue drops its oldest waiting window (counted), never the newest', async () => {
    const s = server()
    const f = new RowsFetcher<Row>((r) => r.id)
    const first = f.fetch('running', s.request)
    const waiting = Array.from({ length: 17 }, (_, i) => f.fetch(`w${i}`, s.request))
    await expect(waiting[0]).rejects.toThrow('asked for again')
    expect(f.counts.dropped).toBe(1)
    for (let i = 0; i < 17; i++) await s.release()
    await first
    expect((await waiting[16]!).rows).toHaveLength(2)
  })

  it('rows equal to ones fetched before come back as the same objects; changed rows are new', async () => {
    const s = server()
    const f = new RowsFetcher<Row>((r) => r.id)
    const a = f.fetch('w0', s.request)
    await s.release()
    s.bump()
    const b = f.fetch('w0', s.request)
    await s.release()
    const [ra, rb] = [(await a).rows, (await b).rows]
    expect(rb[0]).toBe(ra[0])
    expect(rb[1]).not.toBe(ra[1])
    expect(rb[1]!.v).toBe('v2')
  })

  it('a failed request does not block the queued one', async () => {
    const f = new RowsFetcher<Row>((r) => r.id)
    const failing = f.fetch('w0', () => Promise.reject(new Error('down')))
    const next = f.fetch('w0', () => Promise.resolve({ total: 1, rows: [{ id: 3, v: 'x' }] }))
    await expect(failing).rejects.toThrow('down')
    expect((await next).rows[0]!.v).toBe('x')
  })
})

describe('sameOr', () => {
  it('keeps the shown object when the answer is equal, else takes the answer', () => {
    const shown = { requests: 3, perModel: [{ model: 'm', requests: 3 }] }
    expect(sameOr(shown, { requests: 3, perModel: [{ model: 'm', requests: 3 }] })).toBe(shown)
    const changed = { requests: 4, perModel: [{ model: 'm', requests: 4 }] }
    expect(sameOr(shown, changed)).toBe(changed)
    expect(sameOr(null, changed)).toBe(changed)
  })
})
