/**
 * The fake OpenAI transcription server as a process, for the benchmark (its CPU then does not
 * count against the connector's):
 *   node dist/testing/fake-openai/main.js [--port N] [--latency-ms MS] [--key KEY]
 * Hears `utterance N` for each request after `--latency-ms` (the vendor's own time, to subtract).
 * Prints {"baseURL":"http://127.0.0.1:PORT/v1"} on stdout once listening; on SIGTERM/SIGINT it
 * shuts down and prints its own CPU use to stderr.
 */
import { parseArgs } from 'node:util';
import { intArg, runFakeProcess } from '../run-fake.js';
import { startFakeOpenAI } from './server.js';

runFakeProcess('fakeOpenAI', async () => {
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
  return { fake, announce: { baseURL: fake.baseURL }, figures: (f) => ({ requests: f.received }) };
});
