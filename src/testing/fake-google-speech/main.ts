/**
 * The fake Google Speech v2 service as a process, for the benchmark (its CPU then does not count
 * against the connector's):
 *   node dist/testing/fake-google-speech/main.js [--port N] [--stream-limit S] [--endpoint-ms MS] [--location L]
 * Prints {"address":"127.0.0.1:PORT"} on stdout once listening; on SIGTERM/SIGINT it shuts down
 * and prints its own CPU use to stderr.
 */
import { parseArgs } from 'node:util';
import { startFakeGoogleSpeech } from './server.js';

function intArg(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'stream-limit': { type: 'string' },
      'endpoint-ms': { type: 'string' },
      location: { type: 'string' },
    },
    strict: true,
  });
  const fake = await startFakeGoogleSpeech({
    port: intArg('port', values.port, 0),
    streamLimitSeconds: intArg('stream-limit', values['stream-limit'], 1),
    endpointMs: intArg('endpoint-ms', values['endpoint-ms'], 20),
    location: values.location,
  });
  process.stdout.write(`${JSON.stringify({ address: fake.address })}\n`);

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
        calls: fake.calls.length,
        connections: fake.connections,
      };
      process.stderr.write(`${JSON.stringify({ fakeGoogleSpeech: summary })}\n`);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-google-speech: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
