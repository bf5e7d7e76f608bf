/**
 * The fake Gemini API as a process, to try translation without an account:
 *   node dist/testing/fake-gemini/main.js [--port N] [--latency-ms MS]
 * Prints {"baseURL":"http://127.0.0.1:PORT"} on stdout once listening (for GEMINI_BASE_URL; any
 * GEMINI_API_KEY will do). "Translates" `text` into `[<target>] text`, after `--latency-ms`.
 */
import { parseArgs } from 'node:util';
import { startFakeGemini } from './server.js';

function intArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: expected an integer >= 0, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' }, 'latency-ms': { type: 'string' } }, strict: true });
  const latencyMs = intArg('latency-ms', values['latency-ms']) ?? 0;
  const fake = await startFakeGemini({ delayMs: () => latencyMs }, { port: intArg('port', values.port) ?? 0, record: false });
  process.stdout.write(`${JSON.stringify({ baseURL: fake.url })}\n`);
  const stop = (): void => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-gemini: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
