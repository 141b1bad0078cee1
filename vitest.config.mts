import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/adversarial/**/*.test.ts', 'test/fault/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // DuckDB and real sockets on two cores: keep the pool small and predictable.
    pool: 'forks',
    maxWorkers: 2
  }
})
