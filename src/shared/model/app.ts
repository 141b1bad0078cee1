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
  recording: { path: string | null; active: boolean; problem: string | null }
}
