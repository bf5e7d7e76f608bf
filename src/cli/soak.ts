#!/usr/bin/env node
/**
 * `npm run soak`: many real-time sessions (simulated engine, the demo call looped) against a
 * server in its own process for a long time, sampling its memory, handles, descriptors and
 * event-loop delay; then every call ended and the server compared with its idle self. Prints the
 * series and the checks, writes an SVG chart, exits 1 when a check fails. Stops by itself; Ctrl-C
 * ends the calls and stops the children (twice: kills them at once).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFilesLimit } from './bench/processes.js';
import { parseOptions } from './options.js';
import { checksText, clock, crossCheck, growthCheck, leftoverChecks, sessionsCheck, soakTable, warmupSeconds, type Check } from './soak/checks.js';
import { runSoak, sampleTimes } from './soak/run.js';
import type { SoakSample } from './soak/sample.js';
import { soakSvg } from './soak/svg.js';

const USAGE = `Usage: npm run soak -- [--sessions 500] [--minutes 30] [--sample-seconds 60] [--out DIR]

  --sessions N        concurrent sessions (default 500), simulated engine, stereo PCMU in real time
  --minutes N         how long every session streams, from the moment the last one opened
                      (default 30; fractions allowed, e.g. 0.2)
  --sample-seconds N  seconds between samples of the server (default 60)
  --rate R            sessions started per second (default: sessions/30, at least 10)
  --settle N          seconds between the last call closing and the final sample (default 5)
  --max-growth PCT    RSS growth allowed after warm-up (default 5)
  --file WAV          call to stream, looped (default samples/demo-call.wav)
  --out DIR           where the chart (soak-<time>.svg) and the series (.json) go (default tmp/soak)

Each sample: GET /stats (RSS, heap, active handles/resources, timers, open fds, event-loop delay
since the previous sample) and /proc/<pid> (RSS, fds) as a cross-check. Checks: every session
streamed throughout and closed cleanly, no event lost; RSS growth from the first sample after
warm-up (the first 20 % of the run, at most 5 min) to the last under --max-growth; after every call
ended and the settle, open fds, timers and active handles back to the idle server's (measured
before the load).`;

const { values, fail, number: num } = parseOptions(
  {
    sessions: { type: 'string' },
    minutes: { type: 'string' },
    'sample-seconds': { type: 'string' },
    rate: { type: 'string' },
    settle: { type: 'string' },
    'max-growth': { type: 'string' },
    file: { type: 'string' },
    out: { type: 'string' },
  },
  USAGE,
);
const sessions = num(values.sessions, 500, '--sessions');
if (!Number.isInteger(sessions)) fail('--sessions must be a whole number');
const runSeconds = num(values.minutes, 30, '--minutes') * 60;
const sampleSeconds = num(values['sample-seconds'], 60, '--sample-seconds');
const rate = num(values.rate, Math.max(10, Math.ceil(sessions / 30)), '--rate');
const settleSeconds = num(values.settle, 5, '--settle', -1);
const maxGrowth = num(values['max-growth'], 5, '--max-growth');
const warmup = warmupSeconds(runSeconds);
if (sampleTimes(runSeconds, sampleSeconds).filter((t) => t >= warmup - 1e-6).length < 2) {
  fail(`--sample-seconds ${sampleSeconds} leaves fewer than two samples after the ${clock(warmup)} warm-up of a ${clock(runSeconds)} run`);
}
const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
// Absolute: the load client runs in another directory.
const wav = resolve(values.file ?? here('../../samples/demo-call.wav'));
if (!existsSync(wav)) fail(`no such file: ${wav}`);
const outDir = resolve(values.out ?? 'tmp/soak');
const log = (line: string): void => void process.stderr.write(`${line}\n`);
/** A path as the user would type it from here. */
const shown = (path: string): string => {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
};

const limit = openFilesLimit();
if (limit !== undefined && limit < sessions + 200) {
  log(`note: the open-files limit is ${limit}; ${sessions} sessions need about ${sessions + 200} per process. Raise it (ulimit -n 65536) if connections fail with EMFILE.`);
}

// Whatever happens (an error, process.exit, Ctrl-C twice), no child outlives this process.
const children = new Set<ChildProcess>();
const killAll = (): void => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', killAll);
const abort = new AbortController();
let firstSignalAt: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // Ctrl-C reaches every process of the terminal's group and npm forwards it too: a repeat within
    // a second is the same request (as in the server's signals.ts), later ones mean "now".
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      log('interrupted: ending the calls and stopping the server (again to quit now)');
      abort.abort();
    } else if (Date.now() - firstSignalAt >= 1_000) {
      killAll();
      process.exit(130);
    }
  });
}

const cpu = cpus();
const header =
  `AudioHook connector soak: ${sessions} sessions, simulated engine, ${shown(wav)} looped in real time (stereo PCMU), ` +
  `${clock(runSeconds)} after the last session opened, sampled every ${sampleSeconds} s\n` +
  `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; server and load client on this machine, 127.0.0.1`;
log(header);
log(`\nserver and ${sessions} sessions (ramp at ${rate}/s):`);

const progressLine = (s: SoakSample): string =>
  `  ${s.phase === 'load' ? clock(s.t).padStart(6) : s.phase.padStart(6)}  ${s.sessions} sessions  RSS ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB  ` +
  `heap ${(s.heapUsedBytes / 2 ** 20).toFixed(1)} MiB  handles ${s.activeResources}  timers ${s.timers}  fds ${s.openFds}  loop p99 ${s.loopP99Ms} ms`;

let result;
try {
  result = await runSoak({
    sessions,
    runSeconds,
    sampleSeconds,
    rate,
    settleSeconds,
    wav,
    serverJs: here('../server/main.js'),
    loadClientJs: here('./bench/load-client.js'),
    signal: abort.signal,
    track: (c) => void children.add(c),
    onSample: (s) => log(progressLine(s)),
    log,
  });
} catch (err) {
  log(`error: ${(err as Error).message}`);
  process.exit(1);
}

const samples = [result.idle, ...result.load, result.ended].filter((s): s is SoakSample => s !== undefined);
const checks: Check[] = [];
if (result.error) checks.push({ name: 'the soak ran to the end', status: 'FAIL', detail: result.error });
// After an error the other checks would only repeat it.
if (!abort.signal.aborted && !result.error) {
  checks.push(sessionsCheck(sessions, result.load, result.report, result.eventsSent, result.eventsLost));
  checks.push(growthCheck(result.load, warmup, maxGrowth));
  if (result.idle) checks.push(...leftoverChecks(result.idle, result.ended, { fds: 0, timers: 0, handles: 0 }));
  checks.push(crossCheck(samples));
}

let chart = '';
if (samples.length > 0) {
  mkdirSync(outDir, { recursive: true });
  const name = `soak-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}`;
  chart = join(outDir, `${name}.svg`);
  const growth = checks.find((c) => c.name.startsWith('RSS growth'));
  const title = `Soak: ${sessions} sessions, ${clock(runSeconds)}` + (growth ? ` — RSS ${/[-+][\d.]+ %/.exec(growth.detail)?.[0] ?? 'n/a'} after warm-up` : '');
  writeFileSync(chart, soakSvg(samples, { title, runSeconds, warmupSeconds: warmup }));
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify({ sessions, runSeconds, sampleSeconds, warmupSeconds: warmup, samples, checks, report: result.report }, null, 2)}\n`);
}

const out = [`\n${header}`, '', soakTable(samples)];
if (result.notes.length > 0) out.push('', 'Notes:', ...result.notes.map((n) => `- ${n}`));
out.push('', abort.signal.aborted ? 'Checks: not made (interrupted)' : 'Checks:');
if (checks.length > 0) out.push(checksText(checks));
if (chart) out.push('', `chart: ${shown(chart)} (series: ${shown(chart.replace(/\.svg$/, '.json'))})`);
const failed = checks.filter((c) => c.status === 'FAIL').length;
out.push('', abort.signal.aborted ? 'soak interrupted' : failed > 0 ? `soak FAILED: ${failed} check${failed > 1 ? 's' : ''}` : 'soak passed');
process.stdout.write(`${out.join('\n')}\n`);
process.exit(abort.signal.aborted ? 130 : failed > 0 || checks.length === 0 ? 1 : 0);
