#!/usr/bin/env node
/**
 * `npm run bench`: for each size and engine, starts the server on 127.0.0.1 (for `google` also the
 * fake Speech v2 service, in a process of its own), drives it with the load client in another
 * process, and prints one table. Stops everything by itself.
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ENDPOINT_MS, ENGINES, measureSize, type BenchEngine, type BenchRow } from './bench/measure.js';
import { openFilesLimit } from './bench/processes.js';
import { benchTable } from './bench/table.js';

const USAGE = `Usage: npm run bench -- [--engine simulated|google|simulated,google] [--sizes 100,1000,2000] [--seconds 60] [--skip-largest] [--rate R] [--json]

  --engine LIST    engines to measure, rows side by side (default simulated). google runs against
                   the fake Speech v2 service (src/testing/fake-google-speech) started as its own
                   process, so its CPU is reported apart from the server's; the server then runs
                   with NODE_ENV=development (plain-text gRPC), API key and signed upgrade unchanged
  --sizes LIST     concurrent sessions per run (default 100,1000,2000)
  --seconds N      steady-state window per run (default 60)
  --skip-largest   leave out the largest size (slow machines)
  --rate R         sessions started per second (default: sizes/30, at least 10)
  --settle N       seconds between the last session opening and the window (default 5)
  --file WAV       call to stream, looped (default samples/demo-call.wav)
  --json           print the rows as JSON after the table
  --profile DIR    write a CPU profile of the server per run into DIR (node --cpu-prof; whole
                   run, ramp included; open in Chrome DevTools)

speech end→final: measured by the load client, per final transcript, as
  (time the final arrived) − (time the client sent the frame holding stream position
   end of speech, rounded up to the recognizer's 20 ms block, + the engine's endpointing silence)
with end of speech = offset + duration of the final; the silence is ${ENDPOINT_MS.google} ms for the fake
Speech service and ${ENDPOINT_MS.simulated} ms for the simulated engine. It leaves out the recognizer's own wait for
the end of the utterance, and includes our server's ingress, the engine (for google the gRPC
hop to the fake and back, and the fake's recognition itself), our egress and the WebSocket back.
server frame→event: inside the server, from the audio frame (or engine result) that produced a
final to its event being written.`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      engine: { type: 'string' },
      sizes: { type: 'string' },
      seconds: { type: 'string' },
      'skip-largest': { type: 'boolean' },
      rate: { type: 'string' },
      settle: { type: 'string' },
      file: { type: 'string' },
      json: { type: 'boolean' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const num = (text: string | undefined, fallback: number, what: string): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) fail(`${what} must be a positive number`);
  return n;
};
let sizes = (values.sizes ?? '100,1000,2000').split(',').map((s) => num(s.trim(), 0, '--sizes'));
if (sizes.some((n) => !Number.isInteger(n))) fail('--sizes must be whole numbers');
sizes = [...new Set(sizes)].sort((a, b) => a - b);
if (values['skip-largest'] && sizes.length > 1) sizes = sizes.slice(0, -1);
const engines = [...new Set((values.engine ?? 'simulated').split(',').map((e) => e.trim().toLowerCase()))];
for (const e of engines) if (!(ENGINES as readonly string[]).includes(e)) fail(`--engine: '${e}' is not one of ${ENGINES.join(', ')}`);
const seconds = num(values.seconds, 60, '--seconds');
const settle = num(values.settle, 5, '--settle');
const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const wav = values.file ?? here('../../samples/demo-call.wav');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const largest = sizes[sizes.length - 1] ?? 0;
const limit = openFilesLimit();
if (limit !== undefined && limit < largest + 200) {
  log(`note: the open-files limit is ${limit}; ${largest} sessions need about ${largest + 200} per process. Raise it (ulimit -n 65536) if connections fail with EMFILE.`);
}

const cpu = cpus();
const google = engines.includes('google');
const header =
  `AudioHook connector benchmark: ${engines.join(' and ')} engine${engines.length > 1 ? 's' : ''}, stereo PCMU streamed in real time, ${seconds} s steady state per size\n` +
  `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; server, load client${google ? ' and fake Speech service' : ''} on this machine` +
  (google
    ? '\ngoogle: the fake Speech v2 service in its own process (its CPU in its own column); server with NODE_ENV=development for plain-text gRPC, API key and signed upgrade as in production'
    : '') +
  `\nspeech end→final: client-measured, the recognizer's endpointing silence (${engines.map((e) => `${e} ${ENDPOINT_MS[e as BenchEngine]} ms`).join(', ')}) excluded; see --help`;
log(header);

const rows: BenchRow[] = [];
let interrupted = false;
process.on('SIGINT', () => {
  // The children get the same SIGINT from the terminal; a second Ctrl-C quits at once.
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: finishing the current size (Ctrl-C again to quit now)');
});
const paths = {
  serverJs: here('../server/main.js'),
  loadClientJs: here('./bench/load-client.js'),
  fakeSpeechJs: here('../testing/fake-google-speech/main.js'),
  profileDir: values.profile === undefined ? undefined : resolve(values.profile),
};
for (const sessions of sizes) {
  for (const engine of engines as BenchEngine[]) {
    if (interrupted) break;
    const rate = values.rate ? num(values.rate, 10, '--rate') : Math.max(10, Math.ceil(sessions / 30));
    log(`\n${sessions} sessions, ${engine} engine (ramp at ${rate}/s):`);
    try {
      rows.push(await measureSize({ engine, sessions, seconds, rate, settleSeconds: settle, wav, ...paths, log }));
    } catch (err) {
      log(`  failed: ${(err as Error).message}`);
    }
  }
}

process.stdout.write(`\n${header}\n\n${benchTable(rows)}\n`);
if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
const bad = rows.length < sizes.length * engines.length || rows.some((r) => r.failed > 0 || r.eventsLost > 0 || r.protocolErrors > 0);
process.exit(bad ? 1 : 0);
