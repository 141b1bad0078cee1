// Where Perspt keeps its store: `dirs::data_local_dir()/perspt/perspt.db` (spec §2.1). No env var or
// config key overrides it, so this only mirrors the `dirs` crate's data_local_dir per platform.
import { posix, win32 } from 'node:path'

export function defaultPersptStorePath(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, homeDir: string): string {
  if (platform === 'win32') {
    // dirs uses the Known Folder API; %LOCALAPPDATA% is its value, with the usual default as fallback.
    const local = nonEmpty(env.LOCALAPPDATA) ?? win32.join(homeDir, 'AppData', 'Local')
    return win32.join(local, 'perspt', 'perspt.db')
  }
  if (platform === 'darwin') {
    return posix.join(homeDir, 'Library', 'Application Support', 'perspt', 'perspt.db')
  }
  // Linux and other Unixes: the XDG base-dir spec ignores relative values of XDG_DATA_HOME.
  const xdg = nonEmpty(env.XDG_DATA_HOME)
  const base = xdg !== null && posix.isAbsolute(xdg) ? xdg : posix.join(homeDir, '.local', 'share')
  return posix.join(base, 'perspt', 'perspt.db')
}

function nonEmpty(value: string | undefined): string | null {
  return value !== undefined && value.trim() !== '' ? value : null
}
