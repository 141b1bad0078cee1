import { ESLint } from 'eslint'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkFile, checkTree, importsOf } from '../support/layering'

const root = resolve(__dirname, '../..')

describe('layering', () => {
  it('holds across the whole source tree', () => {
    expect(checkTree(root)).toEqual([])
  })

  it('finds every import form', () => {
    const src = `import { a } from 'electron'\nimport type { B } from "./b"\nexport { c } from '../c'\nconst d = await import('node:fs')\nrequire('ws')\nimport './side-effect.css'`
    expect(importsOf(src)).toEqual(['electron', './b', '../c', 'node:fs', 'ws', './side-effect.css'])
  })

  it.each([
    ['src/main/core/x.ts', "import { app } from 'electron'"],
    ['src/main/server/x.ts', "const { ipcMain } = require('electron')"],
    ['src/shared/x.ts', "import { dialog } from 'electron/main'"],
    ['src/renderer/lib/x.ts', "import { ipcRenderer } from 'electron'"],
    ['test/unit/x.test.ts', "import { app } from 'electron'"],
    ['src/shared/x.ts', "import { readFileSync } from 'node:fs'"],
    ['src/shared/api/x.ts', "import { VigilService } from '../../main/core/vigil-service'"],
    ['src/renderer/lib/x.ts', "import { dispatch } from '../../main/core/dispatch'"],
    ['src/renderer/lib/x.ts', "import { createIpcBridge } from '../../preload/ipc-bridge'"],
    ['src/renderer/x.ts', "import { join } from 'node:path'"],
    ['src/main/core/x.ts', "import App from '../../renderer/App.svelte'"]
  ])('flags %s importing across a boundary', (file, source) => {
    const violations = checkFile(file, source)
    expect(violations.length).toBeGreaterThan(0)
  })

  it.each([
    ['src/main/desktop/x.ts', "import { app } from 'electron'"],
    ['src/preload/x.ts', "import { contextBridge } from 'electron'"],
    ['src/renderer/lib/x.ts', "import type { VigilApi } from '../../shared/api/contract'"],
    ['src/main/core/x.ts', "import { readFileSync } from 'node:fs'"]
  ])('allows %s', (file, source) => {
    expect(checkFile(file, source)).toEqual([])
  })

  // The same rule in ESLint (npm test runs lint): an electron import planted outside the desktop folder fails.
  it.each(['src/main/core/planted.ts', 'src/main/server/planted.ts', 'src/shared/planted.ts', 'src/renderer/lib/planted.ts'])(
    'ESLint refuses electron in %s',
    async (filePath) => {
      const eslint = new ESLint({ cwd: root })
      const [result] = await eslint.lintText("import { app } from 'electron'\nexport const x = app\n", { filePath })
      const messages = result?.messages.filter((m) => m.ruleId === 'no-restricted-imports') ?? []
      expect(messages.length).toBeGreaterThan(0)
      expect(messages[0]?.message).toMatch(/Only src\/main\/desktop and src\/preload may import electron/)
    }
  )

  it('ESLint accepts electron in the desktop folder and the preload', async () => {
    const eslint = new ESLint({ cwd: root })
    for (const filePath of ['src/main/desktop/planted.ts', 'src/preload/planted.ts']) {
      const [result] = await eslint.lintText("import { app } from 'electron'\nexport const x = app\n", { filePath })
      expect(result?.messages.filter((m) => m.ruleId === 'no-restricted-imports')).toEqual([])
    }
  })
})
