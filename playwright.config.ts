import { defineConfig } from '@playwright/test'

// Debian's Chromium (Playwright's own browser download is unreachable on these machines).
const chromiumPath = process.env.CHROME_PATH || '/usr/bin/chromium'

export default defineConfig({
  timeout: 45_000,
  expect: { timeout: 10_000 },
  // Two cores: one browser at a time keeps timings honest.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  outputDir: 'test-results/playwright',
  projects: [
    {
      name: 'chromium-web',
      testDir: 'test/e2e',
      testMatch: '**/*.spec.ts',
      use: {
        browserName: 'chromium',
        viewport: { width: 1440, height: 900 },
        launchOptions: {
          executablePath: chromiumPath,
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic'
          ]
        }
      }
    },
    {
      // Real Electron window; every test skips itself when no Electron binary is installed.
      name: 'electron',
      testDir: 'test/e2e-electron',
      testMatch: '**/*.e2e.ts'
    }
  ]
})
