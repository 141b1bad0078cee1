// .github/workflows/ci.yml cannot run here: check it against the GitHub workflow JSON schema (SchemaStore's, as
// shipped inside @action-validator/core from npm) and check that it runs what the README promises.
import { validateWorkflow } from '@action-validator/core'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { load } from 'js-yaml'
import { describe, expect, it } from 'vitest'

const root = resolve(__dirname, '../../..')
const source = readFileSync(join(root, '.github/workflows/ci.yml'), 'utf8')

interface Step {
  name?: string
  run?: string
  uses?: string
  if?: string
  with?: Record<string, unknown>
}
interface Job {
  'runs-on': string
  needs?: string | string[]
  strategy?: { matrix: Record<string, unknown> & { include?: Array<Record<string, string>> } }
  steps: Step[]
}
const workflow = load(source) as { jobs: Record<string, Job> }

function runs(job: Job): string {
  return job.steps.map((s) => `${s.if ?? ''} ${s.run ?? ''}`).join('\n')
}

describe('the GitHub Actions workflow', () => {
  it('is valid against the GitHub workflow schema', () => {
    const result = validateWorkflow(source)
    expect(result.errors).toEqual([])
  })

  it('the validator does catch mistakes (a misspelt key, a wrong type)', () => {
    expect(validateWorkflow(source.replace('runs-on: ${{ matrix.os }}', 'runs-onn: ${{ matrix.os }}')).errors.length).toBeGreaterThan(0)
    expect(validateWorkflow(source.replace('timeout-minutes: 60', 'timeout-minutes: [60]')).errors.length).toBeGreaterThan(0)
  })

  it('tests on Linux, macOS and Windows with Node 22 and 24: npm ci, Electron fetched, npm test (under xvfb on Linux)', () => {
    const test = workflow.jobs.test!
    expect(test.strategy?.matrix).toMatchObject({ os: ['ubuntu-latest', 'macos-latest', 'windows-latest'], node: [22, 24] })
    const commands = runs(test)
    expect(commands).toMatch(/npm ci\b/)
    expect(commands).not.toMatch(/ELECTRON_SKIP_BINARY_DOWNLOAD/)
    expect(commands).toContain('node node_modules/electron/install.js')
    expect(commands).toMatch(/runner\.os == 'Linux' xvfb-run -a .*npm test/)
    expect(commands).toMatch(/runner\.os != 'Linux' npm test/)
    expect(commands).not.toMatch(/\bnpx (?!--no-install )/)
  })

  it('runs the fresh-install check and builds every installer as an artifact after the tests', () => {
    expect(runs(workflow.jobs['fresh-install']!)).toContain('bash scripts/check-fresh-install.sh')
    const installers = workflow.jobs.installers!
    expect(installers.needs).toBe('test')
    expect(installers.strategy?.matrix.include?.map((i) => i.dist)).toEqual(['dist:linux', 'dist:mac', 'dist:win'])
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    for (const i of installers.strategy!.matrix.include!) expect(pkg.scripts[i.dist!]).toMatch(/electron-builder/)
    expect(installers.steps.some((s) => s.uses?.startsWith('actions/upload-artifact@'))).toBe(true)
  })
})
