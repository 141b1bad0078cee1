import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { defaultPersptStorePath } from '../perspt/default-path'
import type { SourceRegistry } from './source-registry'

/** Opens Perspt's default store when it exists and nothing else was asked for. Returns its path or null. */
export function addDefaultStoreIfPresent(
  registry: SourceRegistry,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir()
): string | null {
  const path = defaultPersptStorePath(env, platform, home)
  if (!existsSync(path)) return null
  registry.addStore(path, 'default-path')
  return path
}
