// What the hub uses when recording could not start (the data folder is read-only, another Vigil holds
// the file): nothing can be made durable, so nothing is acknowledged. POSTs are answered 503 with the
// reason; socket envelopes are still relayed and shown, and counted per source as not recorded.
import type { HubDurability } from '../hub/live-hub'

export class RecordingOff implements HubDurability {
  private readonly notRecorded = new Map<string, number>()

  constructor(private readonly problem: string) {}

  journalEnvelope(): number | null {
    return null
  }

  applyJournaled(_seq: number, apply: () => void): void {
    apply()
  }

  applyUnrecorded(sourceId: string, apply: () => void): void {
    this.notRecorded.set(sourceId, (this.notRecorded.get(sourceId) ?? 0) + 1)
    apply()
  }

  pausedText(): string {
    return `Recording is off: ${this.problem}`
  }

  congested(): boolean {
    return false
  }

  onDrain(): () => void {
    return () => undefined
  }

  /** Events shown but not recorded, per source id. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.notRecorded)
  }
}
