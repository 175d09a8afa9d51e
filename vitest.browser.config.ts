import { defineConfig } from 'vitest/config'

// The browser suite: real Chromium driven by playwright-core from Node. One file at a time, so
// that browsers do not compete for the machine and the timings stay meaningful.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
