// Hostile input on every endpoint of the real server: malformed, binary, oversized and invalid-UTF-8
// frames, protocol violations on raw sockets, 100,000-deep JSON, huge strings, unknown types and
// decisions for gates that do not exist. Each case ends with expectIntact: the server still serves
// and the run recorded before the attack is unchanged, in memory and in the recording file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AT,
  BASELINE,
  bulkToken,
  clientFrame,
  envelope,
  expectIntact,
  expectPong,
  expectServing,
  isOpen,
  opened,
  postIngress,
  rawHttp,
  rawTcp,
  rawWebSocket,
  rpc,
  seedBaseline,
  serverCloseCode,
  sleep,
  startVigil,
  waitFor,
  wsClient
} from './support'
import type { Recorded, TestClient, Vigil } from './support'

const MiB = 1024 * 1024
const DEPTH = 100_000
const deepArray = (n = DEPTH) => '['.repeat(n) + ']'.repeat(n)
const deepObject = (n = DEPTH) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)

let v: Vigil
let baseline: Recorded
let watcher: TestClient
const clients: TestClient[] = []

function track(c: TestClient): TestClient {
  clients.push(c)
  return c
}

beforeAll(async () => {
  v = await startVigil()
  baseline = await seedBaseline(v)
  // A well-behaved browser watching everything; it must keep working through every attack.
  watcher = await opened(track(wsClient(v, '/ws')))
  await waitFor(() => watcher.frames.length >= 1, 'hub_hello')
})

afterAll(async () => {
  for (const c of clients) c.ws.terminate()
  await v.close()
})

/** Sends a valid envelope from a fresh producer and waits until the watcher has it: the hub still relays. */
let probeSeq = 0
async function expectRelaying(): Promise<void> {
  const id = `probe-${++probeSeq}`
  const text = envelope({ producerId: id }, 1, { type: 'ensemble_started', ensembleId: id, startedAt: AT, totalTasks: 1, workflow: 'SEQUENTIAL' })
  expect(await postIngress(v, text)).toBe(202)
  await waitFor(() => watcher.frames.includes(text), `relay of ${id}`)
  await expectPong(watcher)
}

function publisher(origin: string | null = null): TestClient {
  return track(wsClient(v, '/ingress?producerId=x', origin))
}

function unattributed() {
  return v.hub.counters().unattributed
}

describe('/ingress: junk frames', () => {
  it('drops every kind of malformed text frame, counts each one, keeps the publisher connected', async () => {
    const p = await opened(publisher())
    const junk = [
      '',
      ' ',
      'null',
      '[]',
      '"event"',
      '42',
      '1e999',
      '{',
      '{"type":"event"',
      '{"type":"event","producer":null,"message":{"type":"token"}}',
      '{"type":"event","producer":{"producerId":""},"message":{"type":"token"}}',
      '{"type":"event","producer":{"producerId":42},"message":{"type":"token"}}',
      '{"type":"event","producer":{"producerId":"x","tags":{"k":1}},"message":{"type":"token"}}',
      '{"type":"event","producer":{"producerId":"x"},"message":"task_started"}',
      '{"type":"event","producer":{"producerId":"x"},"message":{"type":7}}',
      '{"type":"event","producer":{"producerId":"x"},"sequence":"1","message":{"type":"token"}}',
      '{"type":"event","producer":{"producerId":"x"},"sequence":1e999,"message":{"type":"token"}}',
      '{"type":"event","producer":{"producerId":"x"},"receivedAt":7,"message":{"type":"token"}}',
      '{"type":"event","producer":{"producerId":"x"},"message":{"type":"task_started","taskIndex":"one"}}',
      '{"type":"event","producer":{"producerId":"x"},"message":{"type":"review_requested","reviewId":"r"}}',
      '\u0000\u0001\u0002',
      '\ufeff{"type":"event"}'
    ]
    const before = unattributed()
    for (const text of junk) p.ws.send(text)
    await waitFor(() => unattributed().frames - before.frames === junk.length, 'all junk counted')
    expect(unattributed().malformed - before.malformed).toBe(junk.length)
    expect(isOpen(p)).toBe(true)
    // Nothing of it reached a browser, nor the producer list.
    expect(v.hub.producers().map((r) => r.producer.producerId)).not.toContain('x')
    await expectRelaying()
    await expectIntact(v, baseline)
  })

  it('counts envelopes of unknown or wrong-case types as unknown (dropped) and relays unknown inner types', async () => {
    const p = await opened(publisher())
    const before = unattributed()
    for (const type of ['EVENT', 'Event', 'hello', 'hub_hello', 'review_decision', 'ping', 'constructor', '__proto__']) {
      p.ws.send(`{"type":"${type}","producer":{"producerId":"u1"},"message":{"type":"token"}}`)
    }
    await waitFor(() => unattributed().frames - before.frames === 8, 'unknown counted')
    expect(unattributed().unknown - before.unknown).toBe(8)
    const future = envelope({ producerId: 'u1' }, 1, { type: 'token', token: 't', agentRole: null, taskDescription: null, sentAt: null }).replace('"type":"token"', '"type":"from_the_future"')
    p.ws.send(future)
    await waitFor(() => watcher.frames.includes(future), 'unknown inner type relayed')
    // The socket's earlier counts move to the producer it binds to: 8 unknown envelopes + 1 unknown inner type.
    expect(v.hub.producers().find((r) => r.producer.producerId === 'u1')?.diagnostics).toMatchObject({ frames: 9, unknown: 9, malformed: 0 })
    expect(isOpen(p)).toBe(true)
    await expectIntact(v, baseline)
  })

  it('drops binary frames (even a valid envelope sent as binary), counts them, keeps the publisher', async () => {
    const p = await opened(publisher())
    const before = unattributed()
    p.ws.send(Buffer.from(envelope({ producerId: 'bin' }, 1, { type: 'pong' })), { binary: true })
    p.ws.send(Buffer.from([0xff, 0x00, 0xfe, 0x01]), { binary: true })
    p.ws.send(Buffer.alloc(0), { binary: true })
    await waitFor(() => unattributed().frames - before.frames === 3, 'binary counted')
    expect(unattributed().malformed - before.malformed).toBe(3)
    expect(isOpen(p)).toBe(true)
    expect(v.hub.producers().map((r) => r.producer.producerId)).not.toContain('bin')
    await expectIntact(v, baseline)
  })

  it('closes a publisher whose text frame is not UTF-8 with 1007, and only that one', async () => {
    const other = await opened(publisher())
    const p = await opened(publisher())
    p.ws.send(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), { binary: false }) // {"Ã(" with a broken sequence
    expect((await p.closed).code).toBe(1007)
    expect(isOpen(other)).toBe(true)
    await expectRelaying()
    await expectIntact(v, baseline)
  })
})

describe('/ingress: size limits (1 MiB, close 1009)', () => {
  it('accepts an envelope of exactly 1 MiB and relays it byte for byte', async () => {
    const p = await opened(publisher())
    const base = bulkToken({ producerId: 'big' }, 1, 0)
    const exact = bulkToken({ producerId: 'big' }, 1, MiB - Buffer.byteLength(base))
    expect(Buffer.byteLength(exact)).toBe(MiB)
    p.ws.send(exact)
    await waitFor(() => watcher.frames.includes(exact), 'exact 1 MiB relayed', 5000)
    expect(isOpen(p)).toBe(true)
    await expectIntact(v, baseline)
  })

  it('closes with 1009 at 1 MiB + 1 byte, counts it, and keeps what the producer sent before', async () => {
    const p = await opened(publisher())
    const first = envelope({ producerId: 'over' }, 1, { type: 'ensemble_started', ensembleId: 'over', startedAt: AT, totalTasks: 1, workflow: null })
    p.ws.send(first)
    await waitFor(() => v.hub.producers().some((r) => r.producer.producerId === 'over'), 'first envelope')
    const base = bulkToken({ producerId: 'over' }, 2, 0)
    p.ws.send(bulkToken({ producerId: 'over' }, 2, MiB + 1 - Buffer.byteLength(base)))
    expect((await p.closed).code).toBe(1009)
    const over = await waitFor(() => v.hub.producers().find((r) => r.producer.producerId === 'over' && r.diagnostics.oversize === 1 && !r.connected), 'oversize counted')
    expect(over.lastSequence).toBe(1)
    expect((await v.service.listRuns()).some((r) => r.ensembleId === 'over')).toBe(true)
    await expectRelaying()
    await expectIntact(v, baseline)
  })

  it('closes with 1009 when many small fragments add up to more than 1 MiB', async () => {
    const p = await opened(publisher())
    const chunk = 'y'.repeat(64 * 1024)
    for (let i = 0; i < 17; i++) p.ws.send(chunk, { fin: false })
    p.ws.send('}', { fin: true })
    expect((await p.closed).code).toBe(1009)
    await expectIntact(v, baseline)
  })

  it('POST /api/hub/ingress: 413 over 1 MiB (declared or streamed without a length), 400 for a non-UTF-8 or deep body', async () => {
    const base = bulkToken({ producerId: 'post' }, 1, 0)
    expect(await postIngress(v, bulkToken({ producerId: 'post' }, 1, MiB - Buffer.byteLength(base)))).toBe(202)
    expect(await postIngress(v, bulkToken({ producerId: 'post' }, 2, MiB + 1 - Buffer.byteLength(base)))).toBe(413)
    // 8 MiB streamed in chunks with no content-length: refused once the limit is passed, connection closed.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 128; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(0x20))
        controller.close()
      }
    })
    const chunked = await fetch(`${v.url}/api/hub/ingress`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit).catch((e: Error) => e)
    if (chunked instanceof Response) expect(chunked.status).toBe(413)
    // A lying content-length is refused before a byte of the body is read.
    const lie = await rawHttp(v, 'POST', '/api/hub/ingress', { 'content-type': 'application/json', 'content-length': String(10 * 1024 * MiB) })
    expect(lie.status).toBe(413)
    expect(await postIngress(v, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]))).toBe(400)
    expect(await postIngress(v, deepArray())).toBe(400)
    expect(await postIngress(v, deepObject())).toBe(400)
    await expectRelaying()
    await expectIntact(v, baseline)
  })
})

describe('deep and huge JSON', () => {
  it('100,000-deep arrays and objects as a whole frame are malformed, answered in well under a second', async () => {
    const p = await opened(publisher())
    const before = unattributed()
    const t0 = performance.now()
    p.ws.send(deepArray())
    p.ws.send(deepObject())
    await waitFor(() => unattributed().frames - before.frames === 2, 'deep frames counted')
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(unattributed().malformed - before.malformed).toBe(2)
    expect(isOpen(p)).toBe(true)
    await expectIntact(v, baseline)
  })

  it('a 100,000-deep value inside a valid envelope (unknown field, structuredResult) is relayed verbatim; the run stays readable', async () => {
    const p = await opened(publisher())
    const id = { producerId: 'deep' }
    const start = envelope(id, 1, { type: 'ensemble_started', ensembleId: 'deep-run', startedAt: AT, totalTasks: 1, workflow: null })
    const inUnknown = envelope(id, 2, { type: 'task_started', taskIndex: 1, totalTasks: 1, taskDescription: 'T', agentRole: 'A', startedAt: AT }).replace(
      '"type":"task_started"',
      `"type":"task_started","extra":${deepArray()}`
    )
    const inResult = envelope(id, 3, {
      type: 'tool_called',
      agentRole: 'A',
      taskIndex: 1,
      toolName: 'deep',
      durationMs: 1,
      outcome: 'SUCCESS',
      toolArguments: null,
      toolResult: null,
      structuredResult: null
    }).replace('"structuredResult":null', `"structuredResult":${deepObject()}`)
    for (const text of [start, inUnknown, inResult]) p.ws.send(text)
    await waitFor(() => watcher.frames.includes(inResult), 'deep envelopes relayed')
    expect(watcher.frames).toContain(inUnknown)
    const run = await waitFor(() => v.service.registry.tracker.listRuns().find((r) => r.ensembleId === 'deep-run' && r.eventCount >= 3), 'deep run')
    // Readable over the API (JSON-serialisable although the value cannot be stringified).
    const got = await rpc(v, 'getRun', [run.runId])
    expect(got.status).toBe(200)
    const detail = got.body.value as { toolCalls: Array<{ toolName: string }>; tasks: unknown[] }
    expect(detail.toolCalls.map((t) => t.toolName)).toEqual(['deep'])
    expect(detail.tasks).toHaveLength(1)
    // A late browser's hub_hello carries the stored envelopes and still parses.
    const late = await opened(track(wsClient(v, '/ws')))
    const hello = await waitFor(() => late.frames[0], 'late hub_hello')
    expect(hello).toContain('"toolName":"deep"')
    expect(() => JSON.parse(hello)).not.toThrow()
    // The export of the recording still works for it and for the baseline, and the recording has the
    // deep event too (its too-deep value replaced by null), not dropped silently.
    expect((await rpc(v, 'exportRunTrace', [run.runId])).status).toBe(200)
    const trace = (await v.service.exportRunTrace(run.runId)).json
    expect(trace).toMatch(/"toolName": "deep"/)
    await expectIntact(v, baseline)
  })

  it('huge strings just under the limit (escape-heavy, astral, lone surrogates) are relayed byte-exact and clipped in the run view', async () => {
    const p = await opened(publisher())
    const id = { producerId: 'huge' }
    p.ws.send(envelope(id, 1, { type: 'ensemble_started', ensembleId: 'huge-run', startedAt: AT, totalTasks: 1, workflow: null }))
    const escapes = '\\u0000\\n\\"\\\\'.repeat(60_000) // ~0.9 MiB of escapes
    const astral = '🚀'.repeat(200_000) // 800 kB of 4-byte characters
    const frames = [
      `{"type":"event","producer":{"producerId":"huge"},"sequence":2,"message":{"type":"tool_called","agentRole":"A","taskIndex":1,"toolName":"esc","durationMs":1,"outcome":"SUCCESS","toolArguments":"${escapes}","toolResult":null,"structuredResult":null}}`,
      `{"type":"event","producer":{"producerId":"huge"},"sequence":3,"message":{"type":"tool_called","agentRole":"A","taskIndex":1,"toolName":"astral","durationMs":1,"outcome":"SUCCESS","toolArguments":"${astral}","toolResult":"\\ud800\\udfff\\udc00","structuredResult":"\\ud83d"}}`
    ]
    for (const f of frames) {
      expect(Buffer.byteLength(f)).toBeLessThan(MiB)
      p.ws.send(f)
    }
    await waitFor(() => frames.every((f) => watcher.frames.includes(f)), 'huge frames relayed verbatim', 5000)
    const run = await waitFor(() => v.service.registry.tracker.listRuns().find((r) => r.ensembleId === 'huge-run' && r.eventCount >= 3), 'huge run')
    const detail = await v.service.getRun(run.runId)
    const limit = detail.limits!.textChars
    expect(detail.toolCalls!.map((t) => t.toolName)).toEqual(['esc', 'astral'])
    for (const call of detail.toolCalls!) expect((call.arguments ?? '').length).toBeLessThanOrEqual(limit)
    // The recording keeps the events (lone surrogates included) and exports them.
    const exported = await rpc(v, 'exportRunTrace', [run.runId])
    expect(exported.status).toBe(200)
    expect(isOpen(p)).toBe(true)
    await expectIntact(v, baseline)
  })

  it('odd producer ids and timestamps (NUL, prototype names, 128 chars, not an instant) are ordinary producers and are recorded', async () => {
    const p = await opened(publisher())
    const ids = ['a\u0000b', '__proto__', 'constructor', 'hasOwnProperty', 'toString', 'z'.repeat(128), '🚀 astral']
    let seq = 0
    for (const producerId of ids) {
      p.ws.send(envelope({ producerId }, ++seq, { type: 'ensemble_started', ensembleId: `odd-${seq}`, startedAt: AT, totalTasks: 1, workflow: null }, '\udfff not an instant'))
    }
    await waitFor(() => ids.every((id) => v.hub.producers().some((r) => r.producer.producerId === id)), 'odd producers')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    await waitFor(() => v.service.registry.tracker.listRuns().filter((r) => r.ensembleId?.startsWith('odd-')).length === ids.length, 'odd runs')
    // Recorded too: the recording still answers for the baseline and the newest odd run.
    for (const odd of (await v.service.listRuns()).filter((r) => r.ensembleId?.startsWith('odd-'))) {
      expect((await rpc(v, 'getRun', [odd.runId])).status).toBe(200)
      expect((await rpc(v, 'exportRunTrace', [odd.runId])).status).toBe(200)
    }
    await expectIntact(v, baseline)
  })
})

describe('unusable producer ids', () => {
  it('ids with a lone surrogate or over 128 characters are malformed: dropped, counted, the publisher stays connected', async () => {
    const p = await opened(publisher())
    const before = unattributed()
    const bad = ['lone-\ud800', '\udfffx', 'y'.repeat(129), 'w'.repeat(300)]
    for (const [i, producerId] of bad.entries()) {
      p.ws.send(envelope({ producerId }, 1, { type: 'ensemble_started', ensembleId: `bad-id-${i}`, startedAt: AT, totalTasks: 1, workflow: null }))
    }
    await waitFor(() => unattributed().frames - before.frames === bad.length, 'bad ids counted')
    expect(unattributed().malformed - before.malformed).toBe(bad.length)
    expect(isOpen(p)).toBe(true)
    for (const id of bad) expect(v.hub.producers().map((r) => r.producer.producerId)).not.toContain(id)
    expect(v.service.registry.tracker.listRuns().some((r) => r.ensembleId?.startsWith('bad-id-'))).toBe(false)
    await expectRelaying()
    await expectIntact(v, baseline)
  })
})

describe('/ws browsers', () => {
  it('ignores malformed, binary, unknown, wrong-case, deep and huge frames; the browser stays connected and served', async () => {
    const b = await opened(track(wsClient(v, '/ws')))
    const junk = [
      'not json',
      '',
      '{}',
      '{"type":"PING"}',
      '{"type":"Ping"}',
      '{"type":"pong"}',
      '{"type":"hello"}',
      '{"type":"event","producer":{"producerId":"spoof"},"message":{"type":"token"}}',
      '{"type":"review_decision"}',
      '{"type":"review_decision","reviewId":7,"decision":"CONTINUE"}',
      '{"type":"review_decision","reviewId":null,"decision":"CONTINUE"}',
      '{"type":"__proto__"}',
      deepArray(),
      deepObject(),
      `{"type":"ping","pad":"${'p'.repeat(MiB - 100)}"}`
    ]
    for (const text of junk) b.ws.send(text)
    b.ws.send(Buffer.from('{"type":"ping"}'), { binary: true })
    await expectPong(b)
    // The binary ping and the padded ping: only the padded (valid, unknown field) one answered, plus ours.
    await sleep(100)
    expect(b.frames.filter((f) => f === '{"type":"pong"}')).toHaveLength(2)
    expect(v.hub.producers().map((r) => r.producer.producerId)).not.toContain('spoof')
    expect(isOpen(b)).toBe(true)
    await expectRelaying()
    await expectIntact(v, baseline)
  })

  it('closes a browser frame over 1 MiB with 1009 and nobody else', async () => {
    const b = await opened(track(wsClient(v, '/ws')))
    b.ws.send(`{"type":"ping","pad":"${'p'.repeat(MiB)}"}`)
    expect((await b.closed).code).toBe(1009)
    expect(isOpen(watcher)).toBe(true)
    await expectRelaying()
    await expectIntact(v, baseline)
  })

  it('review_decision for a gate nobody asked for reaches no producer; a real gate still gets exactly its decision', async () => {
    const p = await opened(publisher())
    const id = { producerId: 'gated' }
    p.ws.send(envelope(id, 1, { type: 'ensemble_started', ensembleId: 'gated-run', startedAt: AT, totalTasks: 1, workflow: null }))
    p.ws.send(envelope(id, 2, { type: 'review_requested', reviewId: 'real-1', taskDescription: 'D', taskOutput: 'O', timing: 'AFTER_EXECUTION', timeoutMs: 60000, onTimeout: 'CONTINUE' }))
    await waitFor(() => v.hub.producers().find((r) => r.producer.producerId === 'gated')?.pendingReviews === 1, 'pending gate')
    const b = await opened(track(wsClient(v, '/ws')))
    for (const reviewId of ['nope', 'real-1 ', 'REAL-1', '', '__proto__', 'x'.repeat(100_000)]) {
      b.ws.send(JSON.stringify({ type: 'review_decision', reviewId, decision: 'CONTINUE' }))
    }
    // A baseline producer has no socket back (it POSTs): decisions for its ids go nowhere either.
    b.ws.send('{"type":"review_decision","reviewId":"r-baseline","decision":"CONTINUE"}')
    await expectPong(b)
    await sleep(100)
    expect(p.frames).toEqual([])
    expect(v.hub.producers().find((r) => r.producer.producerId === 'gated')?.pendingReviews).toBe(1)
    const decision = '{"type":"review_decision","reviewId":"real-1","decision":"CONTINUE"}'
    b.ws.send(decision)
    b.ws.send(decision) // first decision wins: the second goes nowhere
    await waitFor(() => p.frames.length === 1, 'forwarded decision')
    await sleep(100)
    expect(p.frames).toEqual([JSON.stringify({ reviewId: 'real-1', decisionJson: decision })])
    expect(isOpen(b)).toBe(true)
    await expectIntact(v, baseline)
  })
})

describe('review API (POST /api/reviews…) with hostile bodies and unknown gates', () => {
  it('decisions for gates that do not exist are 404 with a clear code; nothing is created or decided', async () => {
    const before = JSON.stringify(await v.service.listReviews())
    for (const id of ['nope', '__proto__', 'constructor', '..%2f..%2fapi%2fstatus', 'x'.repeat(5000), '%00']) {
      const res = await rawHttp(v, 'POST', `/api/reviews/${id}`, { 'content-type': 'application/json' }, '{"decision":"CONTINUE"}')
      expect([400, 404]).toContain(res.status)
      expect(res.body.toString()).toMatch(/REVIEW_NOT_FOUND|not found|bad/i)
    }
    expect(JSON.stringify(await v.service.listReviews())).toBe(before)
    await expectIntact(v, baseline)
  })

  it('deep, huge, binary and ill-typed review bodies are refused with 4xx and a message; the server is fine', async () => {
    const before = (await v.service.listReviews()).pending.length
    const bodies: Array<string | Buffer> = [
      deepArray(),
      deepObject(),
      `{"taskDescription":${deepArray()},"taskOutput":"o","timeoutMs":0,"onTimeout":"CONTINUE"}`,
      '{"taskDescription":7,"taskOutput":"o","timeoutMs":0,"onTimeout":"CONTINUE"}',
      '{"taskDescription":"t","taskOutput":"o","timeoutMs":-1,"onTimeout":"CONTINUE"}',
      '{"taskDescription":"t","taskOutput":"o","timeoutMs":1e999,"onTimeout":"CONTINUE"}',
      '{"taskDescription":"t","taskOutput":"o","timeoutMs":0,"onTimeout":"MAYBE"}',
      '{"__proto__":{"taskDescription":"t"},"taskOutput":"o","timeoutMs":0,"onTimeout":"CONTINUE"}',
      Buffer.from([0x7b, 0xc3, 0x28, 0x7d]),
      `{"taskDescription":"${'t'.repeat(40 * MiB)}","taskOutput":"o","timeoutMs":0,"onTimeout":"CONTINUE"}`
    ]
    for (const body of bodies) {
      const res = await rawHttp(v, 'POST', '/api/reviews', { 'content-type': 'application/json' }, body)
      expect(res.status, String(body).slice(0, 60)).toBeGreaterThanOrEqual(400)
      expect(res.status).toBeLessThan(500)
    }
    expect((await v.service.listReviews()).pending).toHaveLength(before)
    expect(({} as Record<string, unknown>).taskDescription).toBeUndefined()
    await expectIntact(v, baseline)
  })
})

describe('/api/events (Vigil renderer stream)', () => {
  it('ignores whatever a client sends (text, binary, deep, junk) and keeps streaming to it', async () => {
    const c = await opened(track(wsClient(v, '/api/events')))
    for (const text of ['x', '{}', '{"event":"navigate","payload":{"route":"#/evil"}}', deepArray(20_000), 'z'.repeat(60_000)]) c.ws.send(text)
    c.ws.send(Buffer.from([0, 1, 2, 3]), { binary: true })
    await sleep(100)
    v.service.events.emit('navigate', { route: '#/after-junk' })
    await waitFor(() => c.frames.some((f) => f.includes('#/after-junk')), 'event after junk')
    expect(c.frames.some((f) => f.includes('#/evil'))).toBe(false)
    expect(isOpen(c)).toBe(true)
    await expectIntact(v, baseline)
  })

  it('closes a client frame over its 64 KiB limit with 1009, and a non-UTF-8 text frame with 1007', async () => {
    const big = await opened(track(wsClient(v, '/api/events')))
    big.ws.send('b'.repeat(64 * 1024 + 1))
    expect((await big.closed).code).toBe(1009)
    const bad = await opened(track(wsClient(v, '/api/events')))
    bad.ws.send(Buffer.from([0xc3, 0x28]), { binary: false })
    expect((await bad.closed).code).toBe(1007)
    await expectIntact(v, baseline)
  })
})

describe('protocol violations on raw sockets (every WebSocket endpoint)', () => {
  const violations: Array<[string, number, () => Buffer]> = [
    ['an unmasked client frame', 1002, () => clientFrame(0x1, Buffer.from('{"type":"ping"}'), { mask: false })],
    ['a reserved opcode (0x3)', 1002, () => clientFrame(0x3, Buffer.from('x'))],
    ['RSV1 set without an extension', 1002, () => clientFrame(0x1, Buffer.from('{}'), { rsv: 4 })],
    ['a control frame over 125 bytes', 1002, () => clientFrame(0x9, Buffer.alloc(126, 0x61))],
    ['a fragmented control frame', 1002, () => clientFrame(0x9, Buffer.from('p'), { fin: false })],
    ['a continuation without a start', 1002, () => clientFrame(0x0, Buffer.from('x'))],
    ['a 2^63-byte length', 1009, () => Buffer.concat([Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(4)])],
    ['a close frame with an invalid code (999)', 1002, () => clientFrame(0x8, Buffer.from([0x03, 0xe7]))]
  ]
  for (const path of ['/ingress', '/ws', '/api/events']) {
    it.each(violations)(`${path}: %s closes the connection with %i`, async (_what, code, frame) => {
      const raw = await rawWebSocket(v, path)
      raw.socket.write(frame())
      await Promise.race([raw.closed, sleep(2000)])
      expect(serverCloseCode(raw.received())).toBe(code)
      raw.socket.destroy()
      await expectServing(v)
    })
  }

  it('broken handshakes and non-HTTP bytes get an error or a closed socket, never a crash', async () => {
    const upgrade = (headers: string) => rawTcp(v, `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${v.port}\r\nOrigin: http://localhost\r\n${headers}\r\n`)
    expect((await upgrade('Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n')).toString()).toMatch(/^HTTP\/1\.1 400/)
    expect((await upgrade('Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n')).toString()).toMatch(/^HTTP\/1\.1 400/)
    expect((await upgrade('Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n')).toString()).toMatch(/^HTTP\/1\.1 400/)
    expect((await rawTcp(v, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]))).length).toBeGreaterThanOrEqual(0) // a TLS hello
    expect((await rawTcp(v, 'GARBAGE\r\n\r\n')).toString()).not.toContain('vigil')
    expect((await rawTcp(v, `GET /${'a'.repeat(200_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).toString()).toMatch(/^(HTTP\/1\.1 431|)/)
    await expectRelaying()
    await expectIntact(v, baseline)
  })
})

describe('POST /api/rpc with hostile bodies', () => {
  it('deep, huge, array-like and prototype-polluting bodies get a clear 4xx; nothing changes', async () => {
    const sources = JSON.stringify(await v.service.listSources())
    const post = async (method: string, body: string) => {
      const res = await fetch(`${v.url}/api/rpc/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      const json = (await res.json()) as { ok: boolean; error?: { code: string; message: string } }
      expect(json.ok).toBe(false)
      expect(json.error?.message.length).toBeGreaterThan(5)
      return res.status
    }
    expect(await post('addStore', `{"args":${deepArray()}}`)).toBe(400)
    expect(await post('addStore', `{"args":[${deepObject()}]}`)).toBe(400)
    expect(await post('addStore', '{"args":{"length":100000000,"0":"/etc/passwd"}}')).toBe(400)
    expect(await post('getRun', `{"args":["${'r'.repeat(5 * MiB)}"]}`)).toBe(400)
    expect(await post('addAttachment', '{"__proto__":{"args":["ws://evil:1/ws"]},"args":[]}')).toBe(400)
    expect(await post('addAttachment', '{"constructor":{"prototype":{"polluted":true}},"args":[7]}')).toBe(400)
    for (const method of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '..%2fstatus', '%00']) {
      expect(await post(method, '{"args":[]}')).toBe(404)
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).args).toBeUndefined()
    expect(JSON.stringify(await v.service.listSources())).toBe(sources)
    await expectIntact(v, baseline)
  })

  it('importTraceFile with deep or hostile traces says what is wrong and imports nothing; deep junk in ignored fields is ignored', async () => {
    const sources = (await v.service.listSources()).length
    const refused: Array<[string, RegExp]> = [
      [deepArray(), /top level is not a JSON object/],
      [deepObject(), /neither an ExecutionTrace/],
      [`{"ensembleId":"e","taskTraces":${deepArray()}}`, /taskTraces\[0\] is not an object/],
      ['{"type":"dag","nodes":{"__proto__":{}}}', /tasks is missing/],
      ['{"ensembleId":"e","taskTraces":[],"__proto__":{"polluted":true}}'.replace('[]', '7'), /taskTraces/]
    ]
    for (const [text, message] of refused) {
      const res = await rpc(v, 'importTraceFile', ['evil.trace.json', text])
      expect(res.status).toBe(400)
      expect(res.body.error?.message).toMatch(message)
    }
    expect((await v.service.listSources()).length).toBe(sources)
    const ignored = await rpc(v, 'importTraceFile', ['deep.trace.json', `{"ensembleId":"deep-import","taskTraces":[${deepObject()}]}`])
    expect(ignored.status).toBe(200)
    const runId = (ignored.body.value as { runIds: string[] }).runIds[0]!
    expect((await rpc(v, 'getRun', [runId])).status).toBe(200)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    await expectIntact(v, baseline)
  })
})

describe('afterwards', () => {
  it('the watcher saw no frame it should not have, and the server is still whole', async () => {
    expect(isOpen(watcher)).toBe(true)
    for (const f of watcher.frames) expect(() => JSON.parse(f)).not.toThrow()
    expect(watcher.frames.some((f) => f.includes('"producerId":"spoof"') || f.includes('"producerId":"bin"'))).toBe(false)
    expect(v.hub.producers().find((r) => r.producer.producerId === BASELINE.producerId)?.diagnostics).toMatchObject({ malformed: 0, oversize: 0 })
    await expectIntact(v, baseline)
  })
})
