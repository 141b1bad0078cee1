// Lint, including Vigil's layering rule (after VS Code's code-layering):
//   src/shared    imports nothing of ours and no platform (no node:, no electron, no DOM-only code)
//   src/main      plain Node; only src/main/desktop may import electron
//   src/preload   electron's renderer modules + shared
//   src/renderer  shared (types and contract) + its own files; never main, preload, node or electron
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'
import svelteConfig from './svelte.config.mjs'

const ELECTRON = { name: 'electron', message: 'Only src/main/desktop and src/preload may import electron.' }
const electronPatterns = [{ group: ['electron', 'electron/*'], message: ELECTRON.message }]
const nodeBuiltins = [{ group: ['node:*'], message: 'This layer must not use Node built-ins.' }]
const upToMain = {
  group: ['**/main/**', '**/preload/**', '../main', '../preload'],
  message: 'The renderer talks to main only through src/shared and its bridge.'
}
const outOfShared = {
  group: ['../main/**', '../preload/**', '../renderer/**', '../../main/**', '../../preload/**', '../../renderer/**'],
  message: 'src/shared imports nothing of ours outside src/shared.'
}

export default tseslint.config(
  {
    ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'bench/results/**']
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off'
    }
  },
  {
    // The launcher is plain CommonJS so it runs on any Node without a build step.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { projectService: false, extraFileExtensions: ['.svelte'], parser: tseslint.parser, svelteConfig }
    }
  },
  {
    files: ['src/shared/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [ELECTRON], patterns: [...electronPatterns, ...nodeBuiltins, outOfShared] }]
    }
  },
  {
    files: ['src/main/**'],
    ignores: ['src/main/desktop/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [ELECTRON], patterns: [...electronPatterns] }]
    }
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { paths: [ELECTRON], patterns: [...electronPatterns, ...nodeBuiltins, upToMain] }]
    }
  },
  {
    // The agent SDK (vigil-agent-tower/sdk): plain Node, `ws` and src/shared only.
    files: ['src/sdk/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [ELECTRON],
          patterns: [...electronPatterns, { group: ['../main', '../main/**', '../preload', '../preload/**', '../renderer', '../renderer/**'], message: 'The SDK imports only ws, Node built-ins and src/shared.' }]
        }
      ]
    }
  },
  {
    files: ['test/**', 'bench/**'],
    ignores: ['test/e2e-electron/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [ELECTRON], patterns: [...electronPatterns] }]
    }
  }
)
