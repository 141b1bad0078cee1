// Lays out big task graphs off the page's thread (see DagLayout.ts).
import { layoutGraph, type LayoutInput, type LayoutResult } from './DagLayout'

interface Scope {
  postMessage(message: { id: number; result?: LayoutResult; error?: string }): void
  addEventListener(type: 'message', listener: (e: MessageEvent<{ id: number; input: LayoutInput }>) => void): void
}

const scope = self as unknown as Scope
scope.addEventListener('message', (e) => {
  const { id, input } = e.data
  try {
    scope.postMessage({ id, result: layoutGraph(input) })
  } catch (err) {
    scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) })
  }
})
