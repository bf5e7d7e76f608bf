/**
 * SIGTERM/SIGINT: the first one starts a graceful stop; another one a second or more later stops
 * at once. A repeat within the second is the same request delivered twice (Ctrl-C reaches every
 * process of the terminal's group, and `npm start` forwards it as well), not an impatient user.
 */
const DUPLICATE_WITHIN_MS = 1_000;

export function onStopSignals(graceful: (signal: NodeJS.Signals) => void, immediate: (signal: NodeJS.Signals) => void): void {
  let firstAt: number | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (firstAt === undefined) {
        firstAt = Date.now();
        graceful(signal);
      } else if (Date.now() - firstAt >= DUPLICATE_WITHIN_MS) immediate(signal);
    });
  }
}
