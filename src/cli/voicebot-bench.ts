#!/usr/bin/env node
/**
 * `npm run bench:voicebot`: how many voice-bot sessions (Genesys Audio Connector) one core carries
 * with the offline engines — the `local` pocketsphinx recognizer and flite — and a fake bot, and
 * the end of caller speech → first bot audio latency, with the bot's and synthesis' parts apart.
 *
 * Per step (a number of concurrent calls): a fresh server as a child process on 127.0.0.1, the
 * fake bot and the Genesys-like callers (runVoiceBotCall, the demo script) in this process. Stops
 * everything by itself.
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './options.js';
import { loadScript, ScriptError } from './voicebot/script.js';
import {
  conclusion,
  DEMO_CALL_SECONDS,
  killServers,
  measureVoiceBotStep,
  VOICEBOT_ENGINES,
  voiceBotTable,
  type VoiceBotEngine,
  type VoiceBotRow,
} from './bench/voicebot.js';
import { LAST_TURN, startFakeBot } from './bench/voicebot-bot.js';

const DEFAULT_SIZES: Record<VoiceBotEngine, string> = { local: '2,4,8', simulated: '20,50,100' };

const USAGE = `Usage: npm run bench:voicebot -- [--engine local|simulated] [--sizes 2,4,8] [--calls-per-step 2 | --seconds N] [--think-ms 0] [--json]

  --engine E          the server's speech engine (default local):
                      local      pocketsphinx (the server's child processes) + flite
                      simulated  no recognition, the bridge's own cost (+ flite)
  --sizes LIST        concurrent calls per step (default: local ${DEFAULT_SIZES.local}, simulated ${DEFAULT_SIZES.simulated})
  --calls-per-step N  window of N demo calls (about ${DEMO_CALL_SECONDS} s each) per step (default 2)
  --seconds N         or a window of N seconds
  --ramp N            the callers' first calls start spread over N s (default ${DEMO_CALL_SECONDS}: one call, so
                      their turns fall at different moments); the window starts once all are live
  --think-ms N        the fake bot answers each turn after N ms (default 0)
  --local-concurrency N  pocketsphinx processes (LOCAL_ENGINE_CONCURRENCY; default: the server's, one per core)
  --tts-cache         keep the server's prompt cache (default: TTS_CACHE_MB=0, every prompt synthesized
                      by flite, as for a bot whose answers vary)
  --script FILE       caller script (default samples/voicebot/demo.json)
  --json              print the rows and conclusions as JSON after the table

Each step: a fresh server (node dist/server/main.js, development mode, no API key,
DEFAULT_SPEECH_PROVIDER=<engine>, BOT_WEBHOOK_URL=<fake bot>, TTS flite) on 127.0.0.1; N callers
in this process play the script like Genesys Audio Connector (PCMU, playback events, frames
checked), each starting a new call as soon as its call ends, so N calls are live in the window;
at the end of the window the calls still running are hung up ("cut").

The fake bot: an HTTP server in this process speaking the webhook format; it answers by turn with
the demo FAQ bot's prompts (greeting; hours; address; on caller turn ${LAST_TURN} goodbye with end: true),
whatever was recognized, after --think-ms; "understood" counts the utterances the demo bot's own
keyword matching would have got right (recognition still working under load).

Figures:
  server CPU         the server process and its children (pocketsphinx, flite) from /proc, over the window
  CPU ms per session-s  that CPU over (calls × window); sessions per core = 1000 / it, assuming the same call mix
  end of speech→bot audio  the server's /stats (voiceBot.turnLatencyMs, whole step, ramp included):
                     end of the caller's speech → first bot audio frame sent; bot = the bot's HTTP
                     answer; synthesis = request → first synthesized chunk; rest = mean total − bot − synthesis
                     (the end-of-speech silence the VAD waits for, and recognition)
  heard              end of the caller's audio → first bot frame, as the callers received it (turns
                     ending in the window); 1st→last third: their medians, to see a growing backlog
  frames             the callers' findings, summed: frames not 1600 bytes, over the rate, too far
                     ahead, player underruns (all expected 0)
  kept up            no failed call, no frame finding or underrun, no bot or synthesis failure, every
                     turn answered, and the heard latency not growing through the window`;

const { values, fail, number: num } = parseOptions(
  {
    engine: { type: 'string' },
    sizes: { type: 'string' },
    'calls-per-step': { type: 'string' },
    seconds: { type: 'string' },
    ramp: { type: 'string' },
    'think-ms': { type: 'string' },
    'local-concurrency': { type: 'string' },
    'tts-cache': { type: 'boolean' },
    script: { type: 'string' },
    json: { type: 'boolean' },
  },
  USAGE,
);
const engine = (values.engine ?? 'local').trim().toLowerCase() as VoiceBotEngine;
if (!VOICEBOT_ENGINES.includes(engine)) fail(`--engine: '${values.engine}' is not one of ${VOICEBOT_ENGINES.join(', ')}`);
const sizes = [...new Set((values.sizes ?? DEFAULT_SIZES[engine]).split(',').map((s) => num(s.trim(), 0, '--sizes')))].sort((a, b) => a - b);
if (sizes.some((n) => !Number.isInteger(n))) fail('--sizes must be whole numbers');
if (values.seconds !== undefined && values['calls-per-step'] !== undefined) fail('give --calls-per-step or --seconds, not both');
const callsPerStep = num(values['calls-per-step'], 2, '--calls-per-step');
if (!Number.isInteger(callsPerStep)) fail('--calls-per-step must be a whole number');
const windowSeconds = values.seconds !== undefined ? num(values.seconds, 0, '--seconds') : callsPerStep * DEMO_CALL_SECONDS;
const rampSeconds = values.ramp === undefined ? DEMO_CALL_SECONDS : Number(values.ramp);
if (!Number.isFinite(rampSeconds) || rampSeconds < 0) fail('--ramp must be a number of seconds ≥ 0');
const thinkMs = values['think-ms'] === undefined ? 0 : Number(values['think-ms']);
if (!Number.isInteger(thinkMs) || thinkMs < 0 || thinkMs > 30_000) fail('--think-ms must be a whole number from 0 to 30000');
const localConcurrency = values['local-concurrency'] === undefined ? undefined : num(values['local-concurrency'], 1, '--local-concurrency');
if (localConcurrency !== undefined && !Number.isInteger(localConcurrency)) fail('--local-concurrency must be a whole number');

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const scriptPath = resolve(values.script ?? here('../../samples/voicebot/demo.json'));
const serverJs = here('../server/main.js');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

let script;
try {
  script = await loadScript(scriptPath);
} catch (err) {
  if (err instanceof ScriptError) fail(err.message);
  throw err;
}

const cpu = cpus();
const windowText = values.seconds !== undefined ? `${windowSeconds} s window` : `${callsPerStep} demo call${callsPerStep > 1 ? 's' : ''} (${windowSeconds} s) window`;
const header =
  `Voice-bot benchmark (Genesys Audio Connector): ${engine === 'local' ? 'local engine (pocketsphinx)' : 'simulated engine (no recognition)'} + flite, ` +
  `fake bot answering after ${thinkMs} ms, ${windowText} per step, callers spread over ${rampSeconds} s\n` +
  `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; server (own process, CPU with its children), callers and fake bot (this process) on this machine\n` +
  `bot: scripted by turn with the demo FAQ bot's prompts (greeting, hours, address, goodbye + end on caller turn ${LAST_TURN}); ` +
  `prompt cache ${values['tts-cache'] ? 'on (server default)' : 'off (TTS_CACHE_MB=0: every prompt synthesized)'}; caller script ${scriptPath}`;
log(header);

const rows: VoiceBotRow[] = [];
const interrupt = new AbortController();
// Whatever way this process ends, the server of the current step does not outlive it.
process.on('exit', killServers);
process.on('SIGINT', () => {
  // A second Ctrl-C quits at once; the server child is killed on exit.
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort();
  log('interrupted: ending the current step (Ctrl-C again to quit now)');
});
const bot = await startFakeBot({ thinkMs });
try {
  for (const calls of sizes) {
    if (interrupt.signal.aborted) break;
    log(`\n${calls} concurrent call${calls > 1 ? 's' : ''}, ${engine} engine:`);
    try {
      rows.push(
        await measureVoiceBotStep({
          engine,
          calls,
          windowSeconds,
          rampSeconds,
          script,
          bot,
          thinkMs,
          serverJs,
          localConcurrency,
          ttsCache: values['tts-cache'] ?? false,
          interrupt: interrupt.signal,
          log,
        }),
      );
      const r = rows.at(-1)!;
      log(`  ${r.completed} completed, ${r.cut} cut, ${r.failed} failed; ${r.cpuMsPerSessionSecond.toFixed(1)} CPU-ms per session-s; kept up: ${r.keptUp ? 'yes' : r.problems.join(', ')}`);
    } catch (err) {
      log(`  failed: ${(err as Error).message}`);
    }
  }
} finally {
  await bot.close();
}

const result = conclusion(engine, rows);
const meanCall = rows.map((r) => r.callSeconds).filter((s) => s > 0);
const out = [
  `\n${header}`,
  voiceBotTable(rows),
  `completed calls lasted ${meanCall.length > 0 ? `${(meanCall.reduce((a, b) => a + b, 0) / meanCall.length).toFixed(1)} s on average` : 'n/a'}; ` +
    `per call the caller speaks ${script.steps.reduce((s, st) => s + (st.play?.durationSeconds ?? 0), 0).toFixed(1)} s (${script.steps.filter((s) => s.play).length} turns)`,
  result.text,
];
process.stdout.write(`${out.join('\n\n')}\n`);
if (values.json) process.stdout.write(`${JSON.stringify({ engine, thinkMs, windowSeconds, rows, conclusion: result }, null, 2)}\n`);
const bad = rows.length < sizes.length || rows.some((r) => r.failed > 0);
process.exit(interrupt.signal.aborted ? 130 : bad ? 1 : 0);
