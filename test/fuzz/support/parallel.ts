/**
 * fast-check over many concurrent sessions: `concurrency` independent runners, each a `fc.check`
 * of the same property with its own seed (base seed + runner index), share one server. A case
 * is one generated input run against the server; shrinking re-runs are not counted as cases.
 *
 * The first runner to fail stops the others (their remaining runs return at once), and its
 * report — counterexample, seed, path, error — is thrown, with a FUZZ_REPLAY line to rerun it.
 */
import fc from 'fast-check';
import { replay, type FuzzBudget } from './settings.js';

export interface ParallelOutcome {
  /** Generated cases run against the server (successful ones, plus the failing one if any). */
  cases: number;
  ms: number;
}

export async function checkInParallel<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  predicate: (input: T) => Promise<void>,
  options: { budget: FuzzBudget; concurrency: number },
): Promise<ParallelOutcome> {
  const { budget } = options;
  const again = replay();
  if (again?.name !== undefined && again.name !== name) {
    console.log(`[fuzz] ${name}: skipped (replaying '${again.name}')`);
    return { cases: 0, ms: 0 };
  }
  const started = Date.now();
  /** The first runner to see a failure keeps running (shrinking); the others stop. */
  let owner: number | undefined;
  const runners = again ? 1 : Math.max(1, Math.min(options.concurrency, budget.runs));
  // Stop generating before vitest's own timeout, so a long shrink still reports its counterexample.
  const limit = budget.timeLimitMs ?? budget.testTimeoutMs - 60_000;
  const share = (i: number) => {
    if (!Number.isFinite(budget.runs)) return 2 ** 31 - 1;
    const base = Math.floor(budget.runs / runners);
    return base + (i < budget.runs % runners ? 1 : 0);
  };
  const mode = again ? `replay seed ${again.seed} path ${again.path}` : `seed ${budget.seed} (runners use seed+0…seed+${runners - 1})`;
  const amount = Number.isFinite(budget.runs) ? `${budget.runs} cases` : `${Math.round((budget.timeLimitMs ?? 0) / 1000)} s of cases`;
  console.log(`[fuzz] ${name}: ${amount}, ${runners} concurrent, ${mode}`);

  let progress: NodeJS.Timeout | undefined;
  let done = 0;
  if (budget.timeLimitMs !== undefined || budget.runs > 50_000) {
    progress = setInterval(() => console.log(`[fuzz] ${name}: ${done} cases so far, ${Math.round((Date.now() - started) / 1000)} s`), 30_000);
  }
  // A time limit makes fast-check stop waiting for the case in flight: it is awaited below.
  const inflight = new Set<Promise<void>>();
  const propertyFor = (i: number) =>
    fc.asyncProperty(arb, async (input) => {
      if (owner !== undefined && owner !== i) return;
      const p = predicate(input);
      inflight.add(p);
      try {
        await p;
      } catch (err) {
        owner ??= i;
        throw err;
      } finally {
        inflight.delete(p);
      }
      done += 1;
    });
  try {
    const results = await Promise.all(
      Array.from({ length: runners }, async (_, i) => {
        const seed = again ? again.seed : (budget.seed + i) | 0;
        const details = await fc.check(propertyFor(i), {
          seed,
          ...(again ? { path: again.path } : {}),
          numRuns: share(i),
          interruptAfterTimeLimit: limit,
          markInterruptAsFailure: false,
          endOnFailure: false,
        });
        return { i, seed, details };
      }),
    );
    const abandoned = await Promise.allSettled([...inflight]);
    const lost = abandoned.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (lost && owner === undefined) throw new Error(`[fuzz] ${name}: a case interrupted by the time limit failed (no counterexample: rerun with a seed):\n${String(lost.reason instanceof Error ? lost.reason.message : lost.reason)}`);
    // Runs skipped after another runner failed are not cases; the failing one is.
    const cases = done + (owner !== undefined ? 1 : 0);
    const ms = Date.now() - started;
    const first = results.find((r) => r.i === owner && r.details.failed) ?? results.find((r) => r.details.failed);
    if (first) {
      const error = first.details.errorInstance;
      const report = `${fc.defaultReportMessage(first.details) ?? 'property failed'}\n\nError of the counterexample:\n${error instanceof Error ? error.message : String(error)}`;
      const path = first.details.counterexamplePath;
      const hint = path ? `\nReplay: FUZZ_REPLAY='${JSON.stringify({ name, seed: first.seed, path })}' npx vitest run <this file>` : '';
      throw new Error(`[fuzz] ${name}: runner ${first.i} (seed ${first.seed}) failed after ${cases} cases\n${report}${hint}`);
    }
    console.log(`[fuzz] ${name}: ${cases} cases passed in ${(ms / 1000).toFixed(1)} s (${Math.round(cases / (ms / 1000))}/s)`);
    return { cases, ms };
  } finally {
    if (progress) clearInterval(progress);
  }
}
