import type { WebSocket } from 'ws'
import type { EventHub } from '../core/event-hub'

/** A browser that stops reading gets dropped once this much is queued, so it cannot stall the others. */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024

/** Streams push events to one browser over the web bridge's event socket. */
export function attachEventSocket(ws: WebSocket, events: EventHub): void {
  const unsubscribe = events.subscribe((frame) => {
    if (ws.readyState !== ws.OPEN) return
    if (ws.bufferedAmount > MAX_QUEUED_BYTES) {
      ws.close(1013, 'Client too slow')
      return
    }
    ws.send(JSON.stringify(frame))
  })
  ws.on('close', unsubscribe)
  ws.on('error', unsubscribe)
  // Clients have nothing to say on this socket; anything they send is ignored.
  ws.on('message', () => undefined)
}
