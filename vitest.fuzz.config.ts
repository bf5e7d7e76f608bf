/**
 * `npm run fuzz`: the hostile-input property tests of test/fuzz at length. The same files run in
 * CI under vitest.config.ts with a fixed seed and a small count (≥ 10,000 cases, well under a
 * minute); here every run takes a new random seed (printed; FUZZ_SEED pins it) and many more cases:
 *
 *   npm run fuzz                              # ~200,000 session cases + ~120,000 upgrades + ~20,000 voice-bot sessions
 *   FUZZ_RUNS=1000000 npm run fuzz            # a total per file, split between its properties
 *   FUZZ_MINUTES=30 npm run fuzz              # each property runs for 30 minutes instead
 *   FUZZ_SEED=1234 npm run fuzz               # reproduce a run
 *   FUZZ_REPLAY='{"seed":…,"path":"…"}' npm run fuzz -- test/fuzz/session.test.ts   # one counterexample
 *
 * See test/fuzz/support/settings.ts.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.test.ts'],
    env: { FUZZ_LONG: '1' },
    // Each property sets its own timeout from its budget; this is the floor.
    testTimeout: 600_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
