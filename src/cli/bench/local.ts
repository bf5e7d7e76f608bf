/**
 * The `local` engine's own mode: pocketsphinx is CPU-bound (a fraction of a core per second of
 * speech), so instead of hundreds of sessions it steps through a few concurrent calls (the demo
 * call looped) and asks, per step: how much recognizer CPU per second of speech (real-time
 * factor), CPU and memory per busy channel (the pocketsphinx processes included: they are the
 * server's children, read from /proc), end of speech → final latency, and whether the finals
 * keep up or fall further and further behind.
 */
import { availableParallelism, loadavg } from 'node:os';
import { ENDPOINT_MS, VAD_END_SILENCE_MS } from './measure.js';
import { childrenOf, type ChildrenSample } from './processes.js';
import { otherCpuCores, runBench, statsCpuMicros } from './run.js';
import type { LoopSpeech } from './speech.js';
import { alignedTable, fixed } from './table.js';

export interface LocalOptions {
  calls: number;
  /** Whole passes of the call in the window, so every call's window holds the same speech. */
  loops: number;
  speech: LoopSpeech;
  /** pocketsphinx processes (LOCAL_ENGINE_CONCURRENCY); default one per core. */
  concurrency: number;
  settleSeconds: number;
  wav: string;
  serverJs: string;
  loadClientJs: string;
  log: (line: string) => void;
}

export interface LocalRow {
  calls: number;
  ok: number;
  failed: number;
  windowSeconds: number;
  recognizerProcesses: number;
  /** pocketsphinx CPU-seconds per second of speech (the VAD's spans). */
  realTimeFactor: number;
  /** Server + pocketsphinx CPU per streaming channel, % of one core. */
  cpuPerChannelPercent: number;
  /** pocketsphinx CPU over the pool's capacity (processes × window). */
  poolBusyPercent: number;
  serverRssMiB: number;
  recognizerRssMiB: number;
  /** Server and pocketsphinx RSS over the busy channels: the pool's fixed cost shared out. */
  rssPerChannelMiB: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** Finals that arrived in the window, against the utterances the window's audio holds. */
  finals: number;
  utterances: number;
  /** Median latency of the first and the last third of the window's finals. */
  firstThirdMs: number;
  lastThirdMs: number;
  /** Utterances the server merged, dropped or failed (it logs each at warn). */
  lostUtterances: number;
  eventsLost: number;
  /** Undefined when the window is shorter than one pass of the call (too short to judge). */
  realTime: boolean | undefined;
  /** 1-minute load average just before the step: other work on a shared machine shows here. */
  loadBefore: number;
  /** Cores used by processes outside the benchmark during the window (/proc/stat less ours). */
  otherCpuCores: number;
  notes: string[];
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number);
const median = (values: readonly number[]): number => quantile([...values].sort((a, b) => a - b), 0.5);

export async function measureLocal(o: LocalOptions): Promise<LocalRow> {
  const seconds = o.loops * o.speech.loopSeconds;
  const loadBefore = loadavg()[0] ?? NaN;
  o.log(`  load average before: ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  const r = await runBench<ChildrenSample | undefined>({
    engine: 'local',
    sessions: o.calls,
    seconds,
    // One call a second: their utterances do not all end at the same moment.
    rate: 1,
    settleSeconds: o.settleSeconds,
    wav: o.wav,
    serverJs: o.serverJs,
    loadClientJs: o.loadClientJs,
    env: {
      NODE_ENV: 'production',
      WEB_CONCURRENCY: '1', // one process: the figures per busy channel are its and its children's
      DEFAULT_SPEECH_PROVIDER: 'local',
      LOG_LEVEL: 'warn',
      VAD_END_SILENCE_MS: String(VAD_END_SILENCE_MS),
      LOCAL_ENGINE_CONCURRENCY: String(o.concurrency),
    },
    endpointMs: ENDPOINT_MS.local,
    traceFinals: true,
    sample: (pid) => childrenOf(pid),
    log: o.log,
  });
  const { idle, s0, s1, end, report, windowSeconds, before, after, notes } = r;
  if (!before || !after) throw new Error('the local mode reads the server\'s children from /proc (Linux only)');
  const channels = 2 * Math.max(1, s0.sessions);
  const recognizerCpuS = (after.cpuMicros - before.cpuMicros) / 1e6;
  const serverCpuS = (statsCpuMicros(s1) - statsCpuMicros(s0)) / 1e6;
  const speechSeconds = s0.sessions * o.loops * o.speech.speechSeconds;

  // Only the finals that arrived in the window, in arrival order.
  const inWindow = r.finals.filter((f) => f.at >= r.windowStart && f.at <= r.windowEnd).sort((a, b) => a.at - b.at);
  const sorted = inWindow.map((f) => f.ms).sort((a, b) => a - b);
  const third = Math.max(1, Math.floor(inWindow.length / 3));
  const firstThirdMs = median(inWindow.slice(0, third).map((f) => f.ms));
  const lastThirdMs = median(inWindow.slice(-third).map((f) => f.ms));
  const utterances = s0.sessions * o.loops * o.speech.utterances;

  let lostUtterances = 0;
  for (const [msg, count] of r.serverMessages) {
    if (/behind|not recognized/.test(msg)) {
      lostUtterances += count;
      notes.push(`server: ${count} × ${msg}`);
    }
  }
  const sent = end.eventsSent - idle.eventsSent;
  const eventsLost = end.eventsUndelivered - idle.eventsUndelivered + Math.max(0, sent - Number(report.events ?? 0)) + end.eventsQueued;
  const failed = Number(report.failed ?? o.calls);
  // Keeping up: nothing lost, (nearly) every utterance of the window answered in it, and the wait
  // not growing from the first third of the window to the last.
  const keepsUp =
    failed === 0 && lostUtterances === 0 && eventsLost === 0 && inWindow.length >= 0.9 * utterances && lastThirdMs <= firstThirdMs * 1.5 + 500;
  // A window shorter than one pass of the call holds too few utterances to judge.
  const realTime = Number.isInteger(o.loops) ? keepsUp : undefined;
  return {
    calls: o.calls,
    ok: Number(report.ok ?? 0),
    failed,
    windowSeconds,
    recognizerProcesses: after.pids.length,
    realTimeFactor: recognizerCpuS / speechSeconds,
    cpuPerChannelPercent: ((serverCpuS + recognizerCpuS) / (channels * windowSeconds)) * 100,
    poolBusyPercent: (recognizerCpuS / (Math.max(1, after.pids.length) * windowSeconds)) * 100,
    serverRssMiB: s1.rssBytes / 2 ** 20,
    recognizerRssMiB: after.rssBytes / 2 ** 20,
    // All-in, not over an idle baseline: at a few calls the server's own growth is within GC noise.
    rssPerChannelMiB: (s1.rssBytes + after.rssBytes) / channels / 2 ** 20,
    latencyP50Ms: quantile(sorted, 0.5),
    latencyP99Ms: quantile(sorted, 0.99),
    latencyMaxMs: sorted[sorted.length - 1] ?? NaN,
    finals: inWindow.length,
    utterances,
    firstThirdMs,
    lastThirdMs,
    lostUtterances,
    eventsLost,
    realTime,
    loadBefore,
    otherCpuCores: otherCpuCores(r, (serverCpuS + recognizerCpuS) * 1e6 + r.clientCpuMicros),
    notes,
  };
}

export const defaultLocalConcurrency = (): number => Math.max(1, Math.min(availableParallelism(), 16));

const ms = (n: number): string => (Number.isFinite(n) ? (n / 1000).toFixed(2) : 'n/a');

export function localTable(rows: readonly LocalRow[], speech: LoopSpeech): string {
  const headers = [
    'calls',
    'ok/failed',
    'pocketsphinx procs',
    'RTF (CPU-s per speech-s)',
    'CPU per busy channel',
    'pool busy',
    'RSS server + pocketsphinx',
    'RSS per busy channel',
    'speech end→final p50 / p99 / max',
    'finals / utterances in window',
    'median 1st→last third',
    'lost',
    'real time',
    'load avg before',
    'other CPU in window',
  ];
  const cells = rows.map((r) => [
    String(r.calls),
    `${r.ok}/${r.failed}`,
    String(r.recognizerProcesses),
    // Behind, the window's CPU went to older speech than its own: no real-time factor to read.
    r.realTime === false ? 'n/a (behind)' : fixed(r.realTimeFactor, 3),
    `${fixed(r.cpuPerChannelPercent, 1)} %`,
    `${fixed(r.poolBusyPercent, 0)} %`,
    `${fixed(r.serverRssMiB, 0)} + ${fixed(r.recognizerRssMiB, 0)} MiB`,
    `${fixed(r.rssPerChannelMiB, 1)} MiB`,
    `${ms(r.latencyP50Ms)} / ${ms(r.latencyP99Ms)} / ${ms(r.latencyMaxMs)} s`,
    `${r.finals} / ${fixed(r.utterances, 0)}`,
    `${ms(r.firstThirdMs)} → ${ms(r.lastThirdMs)} s`,
    String(r.lostUtterances + r.eventsLost),
    r.realTime === undefined ? 'n/a' : r.realTime ? 'yes' : 'NO',
    fixed(r.loadBefore, 2),
    `${fixed(r.otherCpuCores, 2)} cores`,
  ]);
  const out = alignedTable(headers, cells);
  // Real time up to the first step that is not (a later lucky step does not count).
  const steps = rows.filter((r) => r.realTime !== undefined).sort((a, b) => a.calls - b.calls);
  const firstBehind = steps.find((r) => !r.realTime);
  const ok = steps.filter((r) => r.realTime && (!firstBehind || r.calls < firstBehind.calls)).map((r) => r.calls);
  const rtf = rows.filter((r) => r.realTime !== false).map((r) => r.realTimeFactor).filter(Number.isFinite);
  const meanRtf = rtf.reduce((a, b) => a + b, 0) / Math.max(1, rtf.length);
  // Recognizer CPU one call needs per second of call: its speech share times the RTF.
  const perCall = (meanRtf * speech.speechSeconds) / speech.loopSeconds;
  const measured = steps.length === 0
    ? 'measured: window shorter than one pass of the call, no real-time verdict'
    : `measured: real time up to ${ok.length > 0 ? Math.max(...ok) : 0} concurrent calls${firstBehind ? `; behind at ${firstBehind.calls}` : ' (the largest step tried)'}`;
  out.push(
    '',
    `speech per call-second: ${fixed(speech.speechSeconds / speech.loopSeconds, 2)} s (${speech.utterances} utterances, ${fixed(speech.speechSeconds, 1)} s of speech per ${fixed(speech.loopSeconds, 1)} s pass, both channels; ` +
      `${fixed(speech.recognizedSeconds, 1)} s with pre- and post-roll handed to pocketsphinx)`,
    `recognizer CPU per call: ${fixed(perCall, 3)} core (mean RTF ${fixed(meanRtf, 3)}); ${availableParallelism()} cores ⇒ at most ~${fixed(Math.floor(availableParallelism() / perCall), 0)} calls by CPU alone`,
    measured,
  );
  const notes = rows.flatMap((r) => r.notes.map((n) => `- ${r.calls} calls: ${n}`));
  if (notes.length > 0) out.push('', 'Notes:', ...notes);
  return out.join('\n');
}
