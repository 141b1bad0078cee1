import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

/** Vigil's own data folder (its recordings and settings; never a Perspt store), per platform convention. */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir()
): string {
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'Vigil')
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Vigil')
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'vigil')
}

/** A fresh private folder name for snapshots and the demo of one Vigil process. */
export function processTmpRoot(): string {
  return join(tmpdir(), `vigil-${process.pid}-${Date.now().toString(36)}`)
}
