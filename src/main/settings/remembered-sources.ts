import { join } from 'node:path'
import { SettingsFile } from './settings-file'

/** Stores and attachments the user added in the desktop UI, restored at the next start. */
export interface RememberedSources {
  stores: Array<{ path: string; label: string }>
  attachments: Array<{ url: string; label: string }>
}

const EMPTY: RememberedSources = { stores: [], attachments: [] }

function entries<K extends string>(raw: unknown, key: K): Array<Record<K | 'label', string>> {
  if (!Array.isArray(raw)) return []
  return raw.filter(
    (e): e is Record<K | 'label', string> =>
      typeof e === 'object' && e !== null && typeof e[key] === 'string' && typeof e.label === 'string'
  )
}

function sanitize(raw: unknown): RememberedSources {
  const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  return {
    stores: entries(obj.stores, 'path').map(({ path, label }) => ({ path, label })),
    attachments: entries(obj.attachments, 'url').map(({ url, label }) => ({ url, label }))
  }
}

export function rememberedSourcesFile(dataDir: string): SettingsFile<RememberedSources> {
  return new SettingsFile(join(dataDir, 'sources.json'), EMPTY, sanitize)
}
