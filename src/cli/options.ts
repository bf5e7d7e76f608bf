/**
 * The options of the measuring commands (bench, soak): parsed with node:util, `--help` answered,
 * and a usage error said in one line above the usage, exit code 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseOptions<T extends Options>(options: T, usage: string) {
  const fail = (message: string): never => {
    process.stderr.write(`error: ${message}\n\n${usage}\n`);
    process.exit(2);
  };
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as const;
  let values;
  try {
    ({ values } = parseArgs<{ options: typeof all }>({ options: all }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  /** A number option above `min` (default 0); `fallback` when absent. */
  const number = (text: string | undefined, fallback: number, what: string, min = 0): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= min) fail(`${what} must be a number above ${min}`);
    return n;
  };
  return { values, fail, number };
}
