// Runs a layout in the page (small graphs) or in a Web Worker (big ones), newest request wins.
import { layoutGraph, type LayoutInput, type LayoutResult } from './DagLayout'

/** Graphs with more nodes than this are laid out in the worker, keeping the page responsive. */
export const WORKER_THRESHOLD = 80

let worker: Worker | null = null
let nextId = 1
const pending = new Map<number, { resolve: (r: LayoutResult) => void; reject: (e: Error) => void }>()

function getWorker(): Worker | null {
  if (worker) return worker
  if (typeof Worker === 'undefined') return null
  try {
    worker = new Worker(new URL('./dag-layout.worker.ts', import.meta.url), { type: 'module' })
  } catch {
    return null
  }
  worker.addEventListener('message', (e: MessageEvent<{ id: number; result?: LayoutResult; error?: string }>) => {
    const p = pending.get(e.data.id)
    if (!p) return
    pending.delete(e.data.id)
    if (e.data.result) p.resolve(e.data.result)
    else p.reject(new Error(e.data.error ?? 'Layout failed'))
  })
  worker.addEventListener('error', (e) => {
    // A worker that cannot start (e.g. blocked by policy): fail the waiting requests; callers fall back.
    for (const p of pending.values()) p.reject(new Error(e.message || 'Layout worker failed'))
    pending.clear()
    worker?.terminate()
    worker = null
  })
  return worker
}

export async function layoutAsync(input: LayoutInput): Promise<LayoutResult> {
  if (input.nodes.length <= WORKER_THRESHOLD) return layoutGraph(input)
  const w = getWorker()
  if (!w) return layoutGraph(input)
  const id = nextId++
  try {
    return await new Promise<LayoutResult>((resolve, reject) => {
      pending.set(id, { resolve, reject })
      w.postMessage({ id, input })
    })
  } catch {
    return layoutGraph(input)
  }
}
