export type AppMode = 'desktop' | 'web'

export interface AppInfo {
  name: string
  version: string
  mode: AppMode
  /** Node's `process.platform` of the machine running Vigil's main process. */
  platform: string
  /** True when the built-in demo (simulated agents) is running. */
  demoRunning: boolean
  /** The IANA time zone Vigil uses to show times, e.g. "UTC" or "Europe/Paris". */
  timeZone: string
  /** Where live runs are recorded (Vigil's own DuckDB file), or why they are not. */
  recording: RecordingStatus
}

export interface RecordingStatus {
  path: string | null
  /** True while live runs are recorded (the file is open). */
  active: boolean
  /** Why recording is off altogether (the file could not be opened), or null. */
  problem: string | null
  /** "Recording paused: disk full" while events cannot be written; resumes by itself. Null when fine. */
  paused: string | null
  /** Events shown live but not recorded (journal or file could not be written), per source id. */
  notRecorded: Record<string, number>
  /**
   * Hub envelopes refused before anything acted on them (malformed, over the frame limit, over a cap,
   * claiming another producer's id or gate): `hub:<producerId>` per producer, `hub` for the rest.
   */
  refused: Record<string, number>
  /** Events recorded since start. */
  recorded: number
}
