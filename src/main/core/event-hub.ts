import type { EventFrame, EventName, Unsubscribe, VigilEvents } from '../../shared/api/contract'
import { RunFeed } from '../live/run-feed'

type Listener = (frame: EventFrame) => void

/** Fan-out of push events to every connected renderer, whatever carries them (IPC or WebSocket). */
export class EventHub {
  private readonly listeners = new Set<Listener>()
  /** `run-delta` is not broadcast: each window gets the runs it watches, through its own queue. */
  readonly runFeed = new RunFeed()

  emit<E extends EventName>(event: E, payload: VigilEvents[E]): void {
    const frame = { event, payload } as EventFrame
    for (const listener of [...this.listeners]) {
      try {
        listener(frame)
      } catch (err) {
        // One broken transport must not stop the others.
        console.error(`vigil: event listener failed for ${event}:`, err)
      }
    }
  }

  subscribe(listener: Listener): Unsubscribe {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get listenerCount(): number {
    return this.listeners.size
  }
}
