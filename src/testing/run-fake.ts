/**
 * Runs a local fake vendor service as its own process (for the benchmark, whose server CPU must
 * not include the fake's): prints where it listens as one JSON line on stdout, and on SIGTERM or
 * SIGINT closes it and prints its own CPU use (plus the fake's figures) as one JSON line on stderr.
 */

/** A whole number ≥ `min` from a command-line value, or undefined when absent. */
export function intArg(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export interface RunningFake {
  close(): Promise<void>;
}

/**
 * @param name     key of the stderr summary line (e.g. `fakeOpenAI`) and prefix of error messages
 * @param start    starts the fake; returns it with what stdout announces and the figures to report at exit
 */
export function runFakeProcess<F extends RunningFake>(
  name: string,
  start: () => Promise<{ fake: F; announce: Record<string, unknown>; figures?: (fake: F) => Record<string, unknown> }>,
): void {
  start()
    .then(({ fake, announce, figures }) => {
      process.stdout.write(`${JSON.stringify(announce)}\n`);
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        void fake.close().then(() => {
          const cpu = process.cpuUsage();
          const summary = {
            signal,
            cpuUserMs: Math.round(cpu.user / 1000),
            cpuSystemMs: Math.round(cpu.system / 1000),
            uptimeS: Math.round(process.uptime() * 10) / 10,
            ...figures?.(fake),
          };
          process.stderr.write(`${JSON.stringify({ [name]: summary })}\n`);
          process.exit(0);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    })
    .catch((err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    });
}
