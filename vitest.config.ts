import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Each file gets its own worker; two cores, so no more than two at a time.
    maxWorkers: 2,
  },
});
