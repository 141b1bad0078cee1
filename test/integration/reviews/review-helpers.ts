// A real Vigil (VigilService + its server with the hub and the review API) on 127.0.0.1:0, and small
// HTTP/WebSocket clients for the review tests.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VigilService } from '../../../src/main/core/vigil-service'
import type { RunningServer } from '../../../src/main/server/vigil-server'
import { serveOnLoopback } from '../../support/loopback-vigil'
import type { EventFrame } from '../../../src/shared/api/contract'
import { applyReviewsDelta, type ReviewsDelta, type ReviewsSnapshot } from '../../../src/shared/model/review-delta'
import type { ReviewsState } from '../../../src/shared/model/reviews'
import { connect, type TestClient } from '../live/helpers'

export interface ReviewVigil {
  service: VigilService
  server: RunningServer
  base: string
  ws: string
  dir: string
  close(): Promise<void>
}

export async function startReviewVigil(opts: { dataDir?: string; record?: boolean } = {}): Promise<ReviewVigil> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-reviews-'))
  const service = new VigilService({ mode: 'web', version: 'x', tmpRoot: join(dir, 'tmp'), pollMs: 60_000 })
  if (opts.record) await service.startRecording(join(opts.dataDir ?? dir, 'recordings.duckdb'))
  const server = await serveOnLoopback(service)
  return {
    service,
    server,
    base: server.url,
    ws: server.url.replace('http', 'ws'),
    dir,
    close: async () => {
      await server.close()
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface JsonResponse {
  status: number
  body: Record<string, unknown>
}

export async function call(v: ReviewVigil, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(`${v.base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

export const GATE = { taskDescription: 'Publish the release notes?', taskOutput: 'Line one\nLine two', timeoutMs: 60_000, onTimeout: 'EXIT_EARLY' }

export async function createGate(v: ReviewVigil, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call(v, 'POST', '/api/reviews', { ...GATE, ...extra })
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`)
  return String(res.body.reviewId)
}

/**
 * A renderer-like client on /api/events that keeps the state after every reviews-changed delta it is
 * pushed, applied in order from an empty list (watch before raising gates). Also keeps the raw frames.
 */
export function watchReviews(v: ReviewVigil): TestClient & { states: () => ReviewsState[]; deltas: () => ReviewsDelta[] } {
  const client = connect(`${v.ws}/api/events`, v.base)
  const deltas = (): ReviewsDelta[] =>
    client.frames
      .map((f) => JSON.parse(f) as EventFrame)
      .filter((f): f is EventFrame<'reviews-changed'> => f.event === 'reviews-changed')
      .map((f) => f.payload)
  return {
    ...client,
    deltas,
    states: () => {
      const all = deltas()
      let state: ReviewsSnapshot = { pending: [], recent: [], doNotDisturb: false, historyPersisted: true, seq: (all[0]?.seq ?? 1) - 1 }
      return all.map((delta) => {
        if (delta.seq !== state.seq + 1) throw new Error(`push ${delta.seq} after ${state.seq}: one was missed`)
        const next = applyReviewsDelta(state, delta)
        if (!next) throw new Error(`push ${delta.seq} cannot be applied (resync)`)
        state = next
        return state
      })
    }
  }
}
