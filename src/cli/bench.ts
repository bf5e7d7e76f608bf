#!/usr/bin/env node
/**
 * `npm run bench`: starts the server (simulated engine) on 127.0.0.1 for each size, drives it with
 * the load client in a second process, and prints one table. Stops everything by itself.
 */
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureSize, type BenchRow } from './bench/measure.js';
import { openFilesLimit } from './bench/processes.js';
import { benchTable } from './bench/table.js';

const USAGE = `Usage: npm run bench -- [--sizes 100,1000,2000] [--seconds 60] [--skip-largest] [--rate R] [--json]

  --sizes LIST     concurrent sessions per run (default 100,1000,2000)
  --seconds N      steady-state window per run (default 60)
  --skip-largest   leave out the largest size (slow machines)
  --rate R         sessions started per second (default: sizes/30, at least 10)
  --settle N       seconds between the last session opening and the window (default 5)
  --file WAV       call to stream, looped (default samples/demo-call.wav)
  --json           print the rows as JSON after the table`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      sizes: { type: 'string' },
      seconds: { type: 'string' },
      'skip-largest': { type: 'boolean' },
      rate: { type: 'string' },
      settle: { type: 'string' },
      file: { type: 'string' },
      json: { type: 'boolean' },
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
const header =
  `AudioHook connector benchmark: simulated engine, stereo PCMU streamed in real time, ${seconds} s steady state per size\n` +
  `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; server and load client on this machine`;
log(header);

const rows: BenchRow[] = [];
let interrupted = false;
process.on('SIGINT', () => {
  // The children get the same SIGINT from the terminal; a second Ctrl-C quits at once.
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: finishing the current size (Ctrl-C again to quit now)');
});
for (const sessions of sizes) {
  if (interrupted) break;
  const rate = values.rate ? num(values.rate, 10, '--rate') : Math.max(10, Math.ceil(sessions / 30));
  log(`\n${sessions} sessions (ramp at ${rate}/s):`);
  try {
    rows.push(
      await measureSize({ sessions, seconds, rate, settleSeconds: settle, wav, serverJs: here('../server/main.js'), cliJs: here('./main.js'), log }),
    );
  } catch (err) {
    log(`  failed: ${(err as Error).message}`);
  }
}

process.stdout.write(`\n${header}\n\n${benchTable(rows)}\n`);
if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
const bad = rows.length < sizes.length || rows.some((r) => r.failed > 0 || r.eventsLost > 0 || r.protocolErrors > 0);
process.exit(bad ? 1 : 0);
