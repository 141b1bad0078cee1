// Issue 16 item 5: a hub socket's envelope reaches Vigil's own view (RunTracker → run pages) at once, while
// everything that promises durability still waits for the journal: the /ws relay to other hub clients,
// the recording and the other taps (reviews, run endpoints), and a POST's 202. The journal here is a
// stand-in that holds its "durable" callbacks until the test releases them, so the order is deterministic.
// Real hub on a real server, a real publisher socket, a real browser socket.
import { afterEach, describe, expect, it } from 'vitest'
import type { HubDurability } from '../../../src/main/hub/live-hub'
import type { Incoming } from '../../../src/main/live/run-tracker'
import { browser, frames, open, publisher, startHubServer, waitFor, type HubServer } from './hub-helpers'

let h: HubServer | null = null
afterEach(async () => {
  await h?.close()
  h = null
})

/** A journal whose writes become durable only when the test says so. */
function heldJournal() {
  const held: Array<() => void> = []
  let seq = 0
  const durability: HubDurability = {
    journalEnvelope: (_s, _p, _t, _r, then) => {
      const n = ++seq
      held.push(() => then(n, null))
      return n
    },
    applyJournaled: (_seq, apply) => apply(),
    applyUnrecorded: (_source, apply) => apply(),
    pausedText: () => null,
    congested: () => false,
    onDrain: () => () => undefined
  }
  return {
    durability,
    held,
    release: () => {
      for (const f of held.splice(0)) f()
    }
  }
}

let sequence = 0
function envelope(producerId: string, message: Record<string, unknown>): string {
  return JSON.stringify({ type: 'event', producer: { producerId, serviceName: 'svc', instanceId: 'i1' }, sequence: ++sequence, receivedAt: new Date().toISOString(), message })
}

const started = (ensembleId: string) => ({ type: 'ensemble_started', ensembleId, startedAt: new Date().toISOString(), totalTasks: 2, workflow: 'SEQUENTIAL' })
const task = (taskIndex: number) => ({ type: 'task_started', taskIndex, totalTasks: 2, taskDescription: `Task ${taskIndex}`, agentRole: 'Writer', startedAt: new Date().toISOString() })

describe('a socket envelope is in Vigil\'s view before it is durable; relays, taps and acks wait', () => {
  it('run pages see it at once; /ws and the taps get it only once durable, and the view holds it once', async () => {
    h = await startHubServer()
    const journal = heldJournal()
    h.hub.useDurability(journal.durability)
    const tapped: Array<{ type: string; runId: string | null }> = []
    h.tracker.tap((sourceId, producerId, message: Incoming) => tapped.push({ type: message.type, runId: h!.tracker.currentRunId(sourceId, producerId) }))
    const viewer = await open(browser(h))
    await frames(viewer, 1, 'the hub hello')
    const pub = await open(publisher(h, 'p1'))
    pub.ws.send(envelope('p1', started('e-1')))
    pub.ws.send(envelope('p1', task(1)))

    // In the view (what a run page fetches and is pushed) while nothing is durable yet.
    const run = await waitFor(() => h!.tracker.listRuns().find((r) => r.producerId === 'p1' && r.eventCount === 2), 'the run in the view before durability')
    expect(journal.held).toHaveLength(2)
    expect(h.tracker.getRun(run.runId)!.tasks.map((t) => t.taskIndex)).toEqual([1])
    // Nothing that promises durability has happened: no relay to the hub's browsers, no recording tap.
    expect(viewer.frames.filter((f) => f.includes('"ensemble_started"') || f.includes('"task_started"'))).toEqual([])
    expect(tapped.filter((t) => t.type === 'ensemble_started' || t.type === 'task_started')).toEqual([])

    journal.release()
    await waitFor(() => viewer.frames.some((f) => f.includes('"task_started"')), 'the relay once durable')
    expect(viewer.frames.findIndex((f) => f.includes('"ensemble_started"'))).toBeLessThan(viewer.frames.findIndex((f) => f.includes('"task_started"')))
    // The taps ran once each, in order, and the view did not apply the events a second time.
    expect(tapped.filter((t) => t.type === 'ensemble_started' || t.type === 'task_started').map((t) => t.type)).toEqual(['ensemble_started', 'task_started'])
    const after = h.tracker.getRun(run.runId)!
    expect(after.eventCount).toBe(2)
    expect(after.tasks.map((t) => t.taskIndex)).toEqual([1])
  })

  it('a tap sees the run its message arrived in, though the view moved on to the next run meanwhile', async () => {
    h = await startHubServer()
    const journal = heldJournal()
    h.hub.useDurability(journal.durability)
    const pub = await open(publisher(h, 'p2'))
    pub.ws.send(envelope('p2', started('e-a')))
    pub.ws.send(envelope('p2', task(1)))
    await waitFor(() => h!.tracker.listRuns().find((r) => r.ensembleId === 'e-a'), 'run e-a')
    journal.release()
    const first = h.tracker.currentRunId('hub', 'p2')
    expect(first).not.toBeNull()

    const tapped: Array<{ type: string; runId: string | null }> = []
    h.tracker.tap((sourceId, producerId, message: Incoming) => tapped.push({ type: message.type, runId: h!.tracker.currentRunId(sourceId, producerId) }))
    pub.ws.send(envelope('p2', task(2)))
    pub.ws.send(envelope('p2', started('e-b')))
    const second = await waitFor(() => h!.tracker.listRuns().find((r) => r.ensembleId === 'e-b')?.runId, 'run e-b in the view')
    expect(second).not.toBe(first)
    expect(h.tracker.currentRunId('hub', 'p2')).toBe(second)
    journal.release()
    await waitFor(() => tapped.length >= 2, 'both taps')
    // As ingest's taps see it: each message in the run current when it arrived.
    expect(tapped).toEqual([
      { type: 'task_started', runId: first },
      { type: 'ensemble_started', runId: first }
    ])
    expect(h.tracker.currentRunId('hub', 'p2')).toBe(second)
  })

  it('a POST is neither acknowledged nor shown before it is durable (it may yet be refused)', async () => {
    h = await startHubServer()
    const journal = heldJournal()
    h.hub.useDurability(journal.durability)
    const post = fetch(`${h.server.url}/api/hub/ingress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: envelope('p3', started('e-post')) })
    await waitFor(() => journal.held.length === 1, 'the POST journaled')
    await new Promise((r) => setTimeout(r, 50))
    expect(h.tracker.listRuns().find((r) => r.ensembleId === 'e-post')).toBeUndefined()
    journal.release()
    expect((await post).status).toBe(202)
    expect(h.tracker.listRuns().find((r) => r.ensembleId === 'e-post')).toBeDefined()
  })
})
