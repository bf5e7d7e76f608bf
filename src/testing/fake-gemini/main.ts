/**
 * The fake Gemini API as a process, to try translation without an account:
 *   node dist/testing/fake-gemini/main.js [--port N] [--latency-ms MS]
 * Prints {"baseURL":"http://127.0.0.1:PORT"} on stdout once listening (for GEMINI_BASE_URL; any
 * GEMINI_API_KEY will do). "Translates" `text` into `[<target>] text`, after `--latency-ms`. Its
 * CPU use is printed to stderr at exit.
 */
import { parseArgs } from 'node:util';
import { intArg, runFakeProcess } from '../run-fake.js';
import { startFakeGemini } from './server.js';

runFakeProcess('fakeGemini', async () => {
  const { values } = parseArgs({ options: { port: { type: 'string' }, 'latency-ms': { type: 'string' } }, strict: true });
  const latencyMs = intArg('latency-ms', values['latency-ms']) ?? 0;
  const fake = await startFakeGemini({ delayMs: () => latencyMs }, { port: intArg('port', values.port) ?? 0, record: false });
  return { fake, announce: { baseURL: fake.url } };
});
