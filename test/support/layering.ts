// Vigil's layering rule as data, checked over the source tree (the same rule ESLint enforces).
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

export interface Violation {
  file: string
  specifier: string
  rule: string
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm

export function importsOf(source: string): string[] {
  const found: string[] = []
  for (const m of source.matchAll(IMPORT_RE)) found.push((m[1] ?? m[2] ?? m[3] ?? m[4])!)
  return found
}

function layerOf(path: string): 'shared' | 'desktop' | 'main' | 'preload' | 'renderer' | 'other' {
  const p = path.split(sep).join('/')
  if (p.startsWith('src/shared/')) return 'shared'
  if (p.startsWith('src/main/desktop/')) return 'desktop'
  if (p.startsWith('src/main/')) return 'main'
  if (p.startsWith('src/preload/')) return 'preload'
  if (p.startsWith('src/renderer/')) return 'renderer'
  return 'other'
}

const isElectron = (s: string) => s === 'electron' || s.startsWith('electron/')
const isNodeBuiltin = (s: string) => s.startsWith('node:')

/** Checks one file (path relative to the repo root) with its source text. */
export function checkFile(file: string, source: string): Violation[] {
  const layer = layerOf(file)
  const violations: Violation[] = []
  for (const specifier of importsOf(source)) {
    const target = specifier.startsWith('.') ? layerOf(relative('.', resolve(dirname(file), specifier)) + '/') : null
    const fail = (rule: string) => violations.push({ file, specifier, rule })
    if (isElectron(specifier) && layer !== 'desktop' && layer !== 'preload') {
      fail('only src/main/desktop and src/preload may import electron')
    }
    if (layer === 'shared') {
      if (isNodeBuiltin(specifier)) fail('src/shared uses no Node built-ins')
      if (target && target !== 'shared') fail('src/shared imports nothing of ours outside src/shared')
    }
    if (layer === 'renderer') {
      if (isNodeBuiltin(specifier)) fail('the renderer uses no Node built-ins')
      if (target && target !== 'renderer' && target !== 'shared') fail('the renderer imports only src/shared and its own files')
    }
    if (layer === 'preload' && target && target !== 'preload' && target !== 'shared') {
      fail('the preload imports only src/shared and its own files')
    }
    if ((layer === 'main' || layer === 'desktop') && (target === 'renderer' || target === 'preload')) {
      fail('the main process does not import renderer or preload code')
    }
  }
  return violations
}

export function sourceFiles(root: string, dir = 'src'): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sourceFiles(root, rel))
    else if (/\.(ts|svelte|js|mjs|cjs)$/.test(entry.name)) out.push(rel)
  }
  return out
}

export function checkTree(root: string): Violation[] {
  return sourceFiles(root).flatMap((file) => checkFile(file, readFileSync(join(root, file), 'utf8')))
}
