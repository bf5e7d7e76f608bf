#!/usr/bin/env node
/**
 * `npm run bench`: for each size and engine, starts the server on 127.0.0.1 (for `google` and
 * `openai` also the fake vendor service, in a process of its own), drives it with the load client
 * in another process, and prints one table; `local` (pocketsphinx, CPU-bound) gets a table of its
 * own over a few concurrent calls. Stops everything by itself.
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './options.js';
import { defaultLocalConcurrency, localTable, measureLocal, type LocalRow } from './bench/local.js';
import { ENDPOINT_MS, ENGINES, VAD_END_SILENCE_MS, measureSize, type BenchEngine, type BenchRow } from './bench/measure.js';
import { openFilesLimit } from './bench/processes.js';
import { loopSpeech } from './bench/speech.js';
import { benchTable } from './bench/table.js';

const USAGE = `Usage: npm run bench -- [--engine simulated,google,openai,local] [--sizes 100,1000,2000] [--seconds 60] [--skip-largest] [--rate R] [--json]

  --engine LIST    engines to measure (default simulated); simulated, google and openai side by side
                   in one table, local in a table of its own:
                   google  against the fake Speech v2 service (src/testing/fake-google-speech)
                           started as its own process, so its CPU is reported apart from the
                           server's; the server then runs with NODE_ENV=development (plain-text
                           gRPC), API key and signed upgrade unchanged
                   openai  the VAD utterance buffer against the fake OpenAI transcription server
                           (src/testing/fake-openai), its own process too, answering at once (or
                           after --openai-delay-ms); NODE_ENV=production (http to 127.0.0.1 allowed)
                   local   pocketsphinx: --local-calls concurrent calls instead of --sizes
  --sizes LIST     concurrent sessions per run (default 100,1000,2000)
  --seconds N      steady-state window per run (default 60; local: rounded to whole passes of the call)
  --skip-largest   leave out the largest size (slow machines)
  --rate R         sessions started per second (default: sizes/30, at least 10; local: 1)
  --settle N       seconds between the last session opening and the window (default 5)
  --file WAV       call to stream, looped (default samples/demo-call.wav)
  --openai-delay-ms N  the fake OpenAI server waits N ms before answering (default 0); subtracted
                   from the latency like the endpointing (it stands for the vendor's own time)
  --local-calls LIST   concurrent calls per local step (default 1,2,4,6,8,10,12)
  --local-concurrency N  pocketsphinx processes (LOCAL_ENGINE_CONCURRENCY; default one per core)
  --workers N      server worker processes (WEB_CONCURRENCY, default 1): CPU and memory are the
                   workers' summed, plus the cluster primary's CPU
  --json           print the rows as JSON after the table
  --profile DIR    write a CPU profile of the server per run into DIR (node --cpu-prof; whole
                   run, ramp included; open in Chrome DevTools)

speech end→final: measured by the load client, per final transcript, as
  (time the final arrived) − (time the client sent the frame holding stream position
   end of speech, rounded up to the recognizer's 20 ms block, + the engine's endpointing silence)
with end of speech = offset + duration of the final; the silence is ${ENDPOINT_MS.google} ms for the fake
Speech service, ${ENDPOINT_MS.simulated} ms for the simulated engine and VAD_END_SILENCE_MS = ${VAD_END_SILENCE_MS} ms for openai and
local (the VAD ends an utterance after that much silence following the last voiced 20 ms frame;
the post-roll, VAD_POST_ROLL_MS, is audio inside that silence, so it adds no wait of its own).
For openai the fake's answer delay (--openai-delay-ms) is left out too. The figure leaves out the
recognizer's own wait for the end of the utterance, and includes our server's ingress, the
engine (google: the gRPC hop to the fake and back and the fake's recognition; openai: the
HTTP request with the utterance's WAV to the fake, its parsing and the streamed answer; local:
the wait for a free pocketsphinx process and the decoding itself), our egress and the WebSocket back.
server frame→event: inside the server, from the audio frame (or engine result) that produced a
final to its event being written.
load avg before / other CPU in window: the 1-minute load average as the run starts, and the cores
that processes outside the benchmark used during the window (/proc/stat's busy time less the
server's, its children's, the load client's and the fake's): on a shared machine, a run with
more than a quarter core of other load is flagged in the notes.

local table: RTF = pocketsphinx CPU-seconds (the server's child processes, from /proc) per second
of speech (the VAD's spans of the looped call); CPU per busy channel = (server + pocketsphinx CPU)
/ (2 channels per call × window); RSS per busy channel = (server RSS + all pocketsphinx RSS) / channels; "real time" = no call failed, no utterance merged, dropped or
failed, at least 90 % of the window's utterances answered in it, and the median latency of the
window's last third of finals at most 1.5 × that of its first third + 0.5 s.`;

const { values, fail, number: num } = parseOptions(
  {
    engine: { type: 'string' },
    sizes: { type: 'string' },
    seconds: { type: 'string' },
    'skip-largest': { type: 'boolean' },
    rate: { type: 'string' },
    settle: { type: 'string' },
    file: { type: 'string' },
    json: { type: 'boolean' },
    profile: { type: 'string' },
    'openai-delay-ms': { type: 'string' },
    'local-calls': { type: 'string' },
    'local-concurrency': { type: 'string' },
    workers: { type: 'string' },
  },
  USAGE,
);
let sizes = (values.sizes ?? '100,1000,2000').split(',').map((s) => num(s.trim(), 0, '--sizes'));
if (sizes.some((n) => !Number.isInteger(n))) fail('--sizes must be whole numbers');
sizes = [...new Set(sizes)].sort((a, b) => a - b);
if (values['skip-largest'] && sizes.length > 1) sizes = sizes.slice(0, -1);
const allEngines = [...new Set((values.engine ?? 'simulated').split(',').map((e) => e.trim().toLowerCase()))];
for (const e of allEngines) if (![...ENGINES, 'local'].includes(e)) fail(`--engine: '${e}' is not one of ${[...ENGINES, 'local'].join(', ')}`);
const engines = allEngines.filter((e): e is BenchEngine => e !== 'local');
const local = allEngines.includes('local');
const openaiDelayMs = values['openai-delay-ms'] === undefined ? 0 : Number(values['openai-delay-ms']);
if (!Number.isInteger(openaiDelayMs) || openaiDelayMs < 0) fail('--openai-delay-ms must be a whole number ≥ 0');
const localCalls = [...new Set((values['local-calls'] ?? '1,2,4,6,8,10,12').split(',').map((s) => num(s.trim(), 0, '--local-calls')))].sort((a, b) => a - b);
if (localCalls.some((n) => !Number.isInteger(n))) fail('--local-calls must be whole numbers');
const localConcurrency = num(values['local-concurrency'], defaultLocalConcurrency(), '--local-concurrency');
const seconds = num(values.seconds, 60, '--seconds');
const workers = num(values.workers, 1, '--workers');
if (!Number.isInteger(workers)) fail('--workers must be a whole number');
const settle = num(values.settle, 5, '--settle');
const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const wav = values.file ?? here('../../samples/demo-call.wav');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const largest = engines.length > 0 ? (sizes[sizes.length - 1] ?? 0) : 0;
const limit = openFilesLimit();
if (limit !== undefined && limit < largest + 200) {
  log(`note: the open-files limit is ${limit}; ${largest} sessions need about ${largest + 200} per process. Raise it (ulimit -n 65536) if connections fail with EMFILE.`);
}

const cpu = cpus();
const fakes = [engines.includes('google') ? 'fake Speech service' : '', engines.includes('openai') ? 'fake OpenAI server' : ''].filter(Boolean);
const header =
  `AudioHook connector benchmark: ${allEngines.join(', ').replace(/, ([^,]*)$/, ' and $1')} engine${allEngines.length > 1 ? 's' : ''}, stereo PCMU streamed in real time, ${seconds} s steady state per size\n` +
  `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; server, load client${fakes.map((f) => ` and ${f}`).join('')} on this machine` +
  (engines.includes('google')
    ? '\ngoogle: the fake Speech v2 service in its own process (its CPU in its own column); server with NODE_ENV=development for plain-text gRPC, API key and signed upgrade as in production'
    : '') +
  (engines.includes('openai')
    ? `\nopenai: the fake OpenAI transcription server in its own process (its CPU in its own column), answering ${openaiDelayMs > 0 ? `after ${openaiDelayMs} ms (left out of the latency)` : 'at once'}; server with NODE_ENV=production`
    : '') +
  `\nspeech end→final: client-measured, the recognizer's endpointing silence (${allEngines.map((e) => `${e} ${ENDPOINT_MS[e as BenchEngine | 'local']} ms`).join(', ')}) excluded; see --help`;
log(header);

const rows: BenchRow[] = [];
const localRows: LocalRow[] = [];
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
  fakeOpenAIJs: here('../testing/fake-openai/main.js'),
  profileDir: values.profile === undefined ? undefined : resolve(values.profile),
};
for (const sessions of engines.length > 0 ? sizes : []) {
  for (const engine of engines) {
    if (interrupted) break;
    const rate = values.rate ? num(values.rate, 10, '--rate') : Math.max(10, Math.ceil(sessions / 30));
    log(`\n${sessions} sessions, ${engine} engine (ramp at ${rate}/s):`);
    try {
      rows.push(await measureSize({ engine, sessions, seconds, rate, settleSeconds: settle, wav, openaiDelayMs, workers, ...paths, log }));
    } catch (err) {
      log(`  failed: ${(err as Error).message}`);
    }
  }
}

let localText = '';
if (local && !interrupted) {
  const speech = await loopSpeech(wav, { endSilenceMs: VAD_END_SILENCE_MS });
  // Whole passes, so every call's window holds the same speech; a window much shorter than one pass
  // (quick checks) is kept as given, its speech counted pro rata.
  const loops = seconds >= 0.75 * speech.loopSeconds ? Math.round(seconds / speech.loopSeconds) : seconds / speech.loopSeconds;
  for (const calls of localCalls) {
    if (interrupted) break;
    log(`\n${calls} call${calls > 1 ? 's' : ''}, local engine (${localConcurrency} pocketsphinx processes, ${loops.toFixed(2)} passes of the call in the window):`);
    try {
      localRows.push(await measureLocal({ calls, loops, speech, concurrency: localConcurrency, settleSeconds: settle, wav, ...paths, log }));
    } catch (err) {
      log(`  failed: ${(err as Error).message}`);
    }
  }
  const passes = Number.isInteger(loops)
    ? `${loops} pass${loops > 1 ? 'es' : ''}`
    : `${loops.toFixed(2)} of a pass (RTF and utterance count pro rata: approximate)`;
  localText =
    `local (pocketsphinx): ${localConcurrency} recognizer processes (LOCAL_ENGINE_CONCURRENCY), the call looped, ` +
    `${passes} (${(loops * speech.loopSeconds).toFixed(1)} s) per step, calls started 1 s apart\n\n` +
    localTable(localRows, speech);
}

const out = [`\n${header}`];
if (engines.length > 0) out.push(benchTable(rows));
if (local) out.push(localText);
process.stdout.write(`${out.join('\n\n')}\n`);
if (values.json) process.stdout.write(`${JSON.stringify(local ? { rows, local: localRows } : rows, null, 2)}\n`);
const bad =
  rows.length < (engines.length > 0 ? sizes.length * engines.length : 0) ||
  rows.some((r) => r.failed > 0 || r.eventsLost > 0 || r.protocolErrors > 0) ||
  (local && localRows.length < localCalls.length) ||
  localRows.some((r) => r.failed > 0 || r.eventsLost > 0);
process.exit(bad ? 1 : 0);
