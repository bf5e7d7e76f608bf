/**
 * The fake Google Speech v2 service as a process, for the benchmark (its CPU then does not count
 * against the connector's):
 *   node dist/testing/fake-google-speech/main.js [--port N] [--stream-limit S] [--endpoint-ms MS] [--location L]
 * Prints {"address":"127.0.0.1:PORT"} on stdout once listening; on SIGTERM/SIGINT it shuts down
 * and prints its own CPU use to stderr.
 */
import { parseArgs } from 'node:util';
import { intArg, runFakeProcess } from '../run-fake.js';
import { startFakeGoogleSpeech } from './server.js';

runFakeProcess('fakeGoogleSpeech', async () => {
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
  return { fake, announce: { address: fake.address }, figures: (f) => ({ calls: f.calls.length, connections: f.connections }) };
});
