// Start at login on Linux, where Electron's app.setLoginItemSettings does nothing: the freedesktop
// autostart entry ($XDG_CONFIG_HOME/autostart/vigil.desktop) that GNOME, KDE, Xfce and others read.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { LoginItem } from './app-settings'

export function autostartDir(env: NodeJS.ProcessEnv, home: string = homedir()): string {
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config')
  return join(config, 'autostart')
}

/** Quotes one Exec argument as the Desktop Entry spec asks. */
function quoteArg(arg: string): string {
  if (!/[\s"'\\$`]/.test(arg)) return arg
  return `"${arg.replace(/(["`$\\])/g, '\\$1')}"`
}

export function autostartEntry(command: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Vigil',
    'Comment=A control tower for AI agent runs',
    `Exec=${command.map(quoteArg).join(' ')}`,
    'X-GNOME-Autostart-enabled=true',
    'Terminal=false',
    ''
  ].join('\n')
}

/** `command`: the program and its arguments (the AppImage's own path, not its temporary mount). */
export function xdgAutostartLoginItem(dir: string, command: readonly string[]): LoginItem {
  const path = join(dir, 'vigil.desktop')
  return {
    supported: true,
    get: () => existsSync(path) && /^X-GNOME-Autostart-enabled=true$/m.test(readFileSync(path, 'utf8')),
    set: (enabled) => {
      if (!enabled) return rmSync(path, { force: true })
      mkdirSync(dir, { recursive: true })
      writeFileSync(path, autostartEntry(command))
    }
  }
}
