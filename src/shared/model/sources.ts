// Sources are the things Vigil watches: Perspt stores (files) and attachments (WebSocket URLs).

/** How a source came to be watched; shown in the UI and used to decide what is remembered. */
export type SourceOrigin = 'flag' | 'ui' | 'default-path' | 'demo' | 'settings'

/** A problem with one source, phrased for the user: what happened and what to do next. */
export interface SourceProblem {
  code: string
  message: string
  hint: string
}

export type StoreState = 'loading' | 'ready' | 'error'

/** Whether an agent is writing the store right now, as far as can be told without taking a lock. */
export type StoreLiveness = 'live' | 'idle' | 'unknown'

export interface StoreSourceInfo {
  id: string
  kind: 'store'
  label: string
  path: string
  origin: SourceOrigin
  state: StoreState
  liveness: StoreLiveness
  problem: SourceProblem | null
  /** Increments every time a new snapshot of the store has been read. */
  version: number
  /** ISO-8601 UTC time of the last successful snapshot. */
  refreshedAt: string | null
  /** Number of Perspt tables found (4, 17, 21 or 23 for known generations). */
  tableCount: number | null
  /**
   * How Vigil follows the agent's writes: `live`, applying them to its own copy as they come; `copies`,
   * reading fresh copies of the store. `fallbacks`: times it went from live back to copies (a change it
   * could not apply, the agent's checkpoint, a replaced file, a full disk); `liveOff`: why it stays on
   * copies for this store until Vigil restarts, or null.
   */
  reading?: StoreReading
}

export interface StoreReading {
  mode: 'live' | 'copies'
  fallbacks: number
  liveOff: string | null
}

export type AttachmentState = 'connecting' | 'connected' | 'reconnecting' | 'closed'

/** What answered on the other end: an embedded dashboard (`hello`) or a hub (`hub_hello`). */
export type AttachmentMode = 'embedded' | 'hub' | 'unknown'

export interface SourceDiagnostics {
  frames: number
  malformed: number
  unknown: number
  oversize: number
}

export interface AttachmentSourceInfo {
  id: string
  kind: 'attachment'
  label: string
  url: string
  origin: SourceOrigin
  state: AttachmentState
  mode: AttachmentMode
  problem: SourceProblem | null
  /** ISO-8601 UTC time of the last frame received. */
  lastFrameAt: string | null
  /** ISO-8601 UTC time of the next reconnect attempt, while reconnecting. */
  nextRetryAt: string | null
  diagnostics: SourceDiagnostics
}

export type SourceInfo = StoreSourceInfo | AttachmentSourceInfo
