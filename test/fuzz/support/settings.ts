/**
 * How much fuzzing a run does, from the environment.
 *
 * - CI (`npx vitest run`, `npm test`): a fixed seed and a fixed number of cases per property
 *   (the CI defaults below), so a run is reproducible and fits the suite's time budget.
 * - `npm run fuzz` (vitest.fuzz.config.ts sets FUZZ_LONG=1): a random seed each run and many
 *   more cases (FUZZ_RUNS, default 200,000 for the session property), or a time budget
 *   (FUZZ_MINUTES per property) instead of a count.
 *
 * FUZZ_SEED pins the seed in either mode; FUZZ_REPLAY='{"seed":…,"path":"…"}' (printed with every
 * counterexample) replays one failing case and its shrinking.
 */

export const LONG = process.env['FUZZ_LONG'] === '1';

function numberFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return n;
}

export interface FuzzBudget {
  /** Cases to generate (Infinity when a time budget is set). */
  runs: number;
  /** Stop generating after this long (ms); undefined = run all `runs`. */
  timeLimitMs: number | undefined;
  seed: number;
  /** The vitest timeout to give the test. */
  testTimeoutMs: number;
}

/**
 * @param ciRuns     cases in CI
 * @param longRuns   cases under `npm run fuzz` when neither FUZZ_RUNS nor FUZZ_MINUTES is set
 * @param fixedSeed  this property's CI seed
 * @param share      this property's share of FUZZ_RUNS (several properties split one count)
 * @param timed      whether FUZZ_MINUTES applies (not to the focused defect properties)
 */
export function budget(ciRuns: number, longRuns: number, fixedSeed: number, share = 1, timed = true): FuzzBudget {
  const minutes = timed ? numberFromEnv('FUZZ_MINUTES') : undefined;
  const envRuns = numberFromEnv('FUZZ_RUNS');
  const envSeed = numberFromEnv('FUZZ_SEED');
  const seed = envSeed !== undefined ? Math.floor(envSeed) : LONG ? randomSeed() : fixedSeed;
  if (minutes !== undefined) {
    const timeLimitMs = minutes * 60_000;
    return { runs: Number.POSITIVE_INFINITY, timeLimitMs, seed, testTimeoutMs: timeLimitMs + 180_000 };
  }
  const runs = Math.max(1, Math.round(envRuns !== undefined ? envRuns * share : LONG ? longRuns : ciRuns));
  // Generous: a failure's shrinking re-runs cases; a healthy CI run takes a fraction of this.
  return { runs, timeLimitMs: undefined, seed, testTimeoutMs: Math.max(240_000, runs * 20) };
}

function randomSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) & 0x3fffffff;
}

/**
 * FUZZ_REPLAY: one runner, from the property name, seed and path printed with a counterexample;
 * the file's other properties are skipped.
 */
export function replay(): { name: string | undefined; seed: number; path: string } | undefined {
  const raw = process.env['FUZZ_REPLAY'];
  if (!raw) return undefined;
  const parsed = JSON.parse(raw) as { name?: unknown; seed?: unknown; path?: unknown };
  if (typeof parsed.seed !== 'number' || typeof parsed.path !== 'string') {
    throw new Error('FUZZ_REPLAY must be {"name": "<property>", "seed": <number>, "path": "<string>"} as printed with the counterexample');
  }
  return { name: typeof parsed.name === 'string' ? parsed.name : undefined, seed: parsed.seed, path: parsed.path };
}
