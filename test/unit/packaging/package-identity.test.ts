// The package's name is ours, no documented command can fetch someone else's package, and `npm install`
// never runs Electron's download (it happens lazily in `npm start`).
import { readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(__dirname, '../../..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  bin: Record<string, string>
  scripts: Record<string, string>
  allowScripts?: Record<string, boolean>
  files?: string[]
}
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const docs = ['README.md', 'SECURITY.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** Every `npx …` / `npm exec …` / `npm x …` / `pnpm dlx …` / `yarn dlx …` / `bunx …` in a text, with what follows. */
function packageRunners(text: string): string[] {
  return [...text.matchAll(/\b(?:npx|npm\s+(?:exec|x)|pnpm\s+dlx|yarn\s+dlx|bunx)\b[^\n`]*/g)].map((m) => m[0])
}

describe('the package name', () => {
  it('is not "vigil" (an unrelated package on npm) but keeps the vigil command', () => {
    expect(pkg.name).not.toBe('vigil')
    expect(pkg.name).toBe('vigil-agent-tower')
    expect(pkg.bin).toEqual({ vigil: 'bin/vigil.js' })
  })

  it('ships the built CLI, so `npm install -g` gives a working `vigil`', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['bin/', 'out/']))
  })

  it('is what the README tells people to install globally', () => {
    expect(readme).toContain(`npm install -g ${pkg.name}`)
  })
})

describe('documented commands never fetch a package', () => {
  it('README runs `vigil` only through npm scripts or `npx --no-install vigil`', () => {
    let runners = 0
    for (const line of readme.split('\n')) {
      // The sentence that warns against a bare `npx vigil` may name it.
      if (/never run a bare `npx vigil`/.test(line)) continue
      for (const cmd of packageRunners(line)) {
        runners++
        expect(cmd, `README: ${line}`).toMatch(/^npx --no-install vigil\b/)
      }
    }
    expect(runners).toBeGreaterThan(0)
  })

  it.each(docs)('%s has no bare `npx vigil` or `npm exec vigil`', (file) => {
    const text = readFileSync(join(root, file), 'utf8')
    for (const line of text.split('\n')) {
      if (/never run a bare `npx vigil`/.test(line)) continue
      expect(line, `${file}: ${line}`).not.toMatch(/\b(?:npx|npm\s+(?:exec|x)|bunx|pnpm\s+dlx|yarn\s+dlx)\s+(?:-y\s+|--yes\s+)?vigil\b/)
    }
  })

  it('npm scripts do not call npx either', () => {
    for (const [name, script] of Object.entries(pkg.scripts)) expect(script, `script ${name}`).not.toMatch(/\bnpx\b/)
  })
})

describe('installing never downloads Electron', () => {
  it('turns dependency install scripts off for npm 10 and 11 (.npmrc) and denies electron’s (npm 11 allowScripts)', () => {
    const npmrc = readFileSync(join(root, '.npmrc'), 'utf8')
    expect(npmrc).toMatch(/^ignore-scripts=true$/m)
    expect(pkg.allowScripts?.electron).toBe(false)
  })

  it('has no install-time script of its own that would need the network', () => {
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[hook]).toBeUndefined()
  })

  it('CI needs no ELECTRON_SKIP_BINARY_DOWNLOAD', () => {
    expect(readFileSync(join(root, '.ci/run'), 'utf8')).not.toMatch(/^\s*export ELECTRON_SKIP_BINARY_DOWNLOAD/m)
  })

  it('npm start goes through the launcher that fetches Electron lazily', () => {
    expect(pkg.scripts.start).toBe('node scripts/start.mjs')
    expect(pkg.scripts.dev).toBe('node scripts/start.mjs --dev')
  })
})

describe('the desktop data folder survives the rename', () => {
  it('is pinned to <appData>/vigil in the desktop main process, where the launcher looks', () => {
    const main = readFileSync(join(root, 'src/main/desktop/main.ts'), 'utf8')
    expect(main).toContain("if (!app.commandLine.hasSwitch('user-data-dir')) app.setPath('userData', join(app.getPath('appData'), 'vigil'))")
  })
})
