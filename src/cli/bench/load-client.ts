#!/usr/bin/env node
/**
 * The bench's load-client process: `runLoad` (the same code as `simulate --sessions`) with the
 * end of speech → final measurement switched on for the engine under test. One JSON argument in
 * (LoadClientArgs); JSON lines out on stdout: `progress` every second (with this process's own
 * CPU), `final` per measured final when asked, then one `report`. First SIGINT closes every call
 * cleanly, a second quits at once.
 */
import { setMaxListeners } from 'node:events';
import { loadWavSource } from '../client/audio-source.js';
import { observeLatencies } from '../client/latency.js';
import { runLoad } from '../load.js';

export interface LoadClientArgs {
  url: string;
  apiKey: string;
  clientSecret: string;
  organizationId: string;
  sessions: number;
  rate: number;
  durationSeconds: number;
  wav: string;
  customConfig: Record<string, unknown>;
  /** The engine's end-of-utterance silence (plus any fixed vendor delay), for the latency figure. */
  endpointMs: number;
  /** Print every measured final (`{type:'final', ms, at}`, `at` in epoch ms): small runs only. */
  traceFinals?: boolean;
}

const out = (msg: object): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);
const cpuMicros = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

const args = JSON.parse(process.argv[2] ?? '{}') as LoadClientArgs;
const abort = new AbortController();
// Every session listens on this one signal: thousands of listeners are expected, not a leak.
setMaxListeners(0, abort.signal);
process.on('SIGINT', () => {
  if (abort.signal.aborted) process.exit(130);
  abort.abort();
});

// Epoch milliseconds: the bench process compares them with its own clock (its measuring window).
if (args.traceFinals) observeLatencies((ms, at) => out({ type: 'final', ms, at: performance.timeOrigin + at }));

const source = await loadWavSource(args.wav);
const { report } = await runLoad({
  sessions: args.sessions,
  rate: args.rate,
  signal: abort.signal,
  session: {
    url: args.url,
    apiKey: args.apiKey,
    clientSecret: args.clientSecret,
    organizationId: args.organizationId,
    language: 'en-US',
    customConfig: args.customConfig,
    source,
    durationSeconds: args.durationSeconds,
    loop: true,
    latency: { endpointMs: args.endpointMs },
  },
  onProgress: (p) => out({ type: 'progress', ...p, cpuMicros: cpuMicros() }),
});
out({ type: 'report', ...report });
// Let stdout drain before exiting (pipes are asynchronous).
process.stdout.write('', () => process.exit(0));
