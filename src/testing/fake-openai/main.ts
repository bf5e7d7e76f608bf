/**
 * The fake OpenAI transcription server as a process, for the benchmark (its CPU then does not
 * count against the connector's):
 *   node dist/testing/fake-openai/main.js [--port N] [--latency-ms MS] [--key KEY]
 * Hears `utterance N` for each request after `--latency-ms` (the vendor's own time, to subtract).
 * Prints {"baseURL":"http://127.0.0.1:PORT/v1"} on stdout once listening; on SIGTERM/SIGINT it
 * shuts down and prints its own CPU use to stderr.
 */
import { parseArgs } from 'node:util';
import { startFakeOpenAI } from './server.js';

function intArg(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, 'latency-ms': { type: 'string' }, key: { type: 'string' } },
    strict: true,
  });
  const latencyMs = intArg('latency-ms', values['latency-ms'], 0) ?? 0;
  let answered = 0;
  const fake = await startFakeOpenAI({
    port: intArg('port', values.port, 0) ?? 0,
    record: false,
    ...(values.key !== undefined ? { apiKey: values.key } : {}),
    hear: () => ({ text: `utterance ${++answered}`, delayMs: latencyMs }),
  });
  process.stdout.write(`${JSON.stringify({ baseURL: fake.baseURL })}\n`);

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
        requests: fake.received,
      };
      process.stderr.write(`${JSON.stringify({ fakeOpenAI: summary })}\n`);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-openai: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
