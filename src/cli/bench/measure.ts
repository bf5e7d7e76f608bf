/**
 * One row of the main table: a fresh server (and, for `google` and `openai`, a fresh fake vendor
 * service in its own process), N real-time stereo sessions ramped up at R/s, then a steady window
 * in which every session streams, bracketed by two /stats samples (run.ts).
 */
import { loadavg } from 'node:os';
import { processCpuMicros, spawnFakeVendor, type FakeVendorProcess } from './processes.js';
import { otherCpuCores, runBench, statsCpuMicros, type RunOptions } from './run.js';
import { SEGMENTER_DEFAULTS } from '../../engines/kit/options.js';

/** Engines of the main table; `local` has a mode of its own (local.ts). */
export const ENGINES = ['simulated', 'google', 'openai'] as const;
export type BenchEngine = (typeof ENGINES)[number];

/** The utterance buffer's end-of-utterance silence, set explicitly (VAD_END_SILENCE_MS, its default). */
export const VAD_END_SILENCE_MS = SEGMENTER_DEFAULTS.endSilenceMs;

/**
 * Silence that ends an utterance, set explicitly on every recognizer (the server's simulated engine,
 * the fake Speech service, the VAD of the utterance engines), so the latency figure can leave it out.
 */
export const ENDPOINT_MS: Record<BenchEngine | 'local', number> = {
  simulated: 400,
  google: 500,
  openai: VAD_END_SILENCE_MS,
  local: VAD_END_SILENCE_MS,
};

/** One size of one engine: the run's shape (see RunOptions) plus the fakes it may need. */
export interface SizeOptions
  extends Pick<RunOptions<unknown>, 'sessions' | 'seconds' | 'rate' | 'settleSeconds' | 'wav' | 'serverJs' | 'loadClientJs'> {
  engine: BenchEngine;
  fakeSpeechJs: string;
  fakeOpenAIJs: string;
  /** The fake OpenAI server's answer delay, ms (subtracted from the latency). */
  openaiDelayMs: number;
  /** Server worker processes (WEB_CONCURRENCY); 1 = the server alone in one process. */
  workers: number;
  /** Write a V8 CPU profile of the server here (`node --cpu-prof`). */
  profileDir?: string | undefined;
  log: (line: string) => void;
}

export interface BenchRow {
  engine: BenchEngine;
  /** Server worker processes; their CPU and memory are summed (and the cluster primary's CPU added). */
  workers: number;
  sessions: number;
  ok: number;
  failed: number;
  windowSeconds: number;
  serverCpuMsPerSessionSecond: number;
  serverRssPerSessionKiB: number;
  /** V8 heap in use over the idle baseline (RSS also holds freed-but-kept pages and Buffers). */
  serverHeapPerSessionKiB: number;
  openP50Ms: number;
  openP99Ms: number;
  /** Server-side: the audio frame (or engine result) that produced a final → the event written. */
  eventDelayP99Ms: number;
  /** Client-side end of speech → final, the recognizer's endpointing excluded (client/latency.ts). */
  finalLatencyP50Ms: number;
  finalLatencyP99Ms: number;
  finalLatencySamples: number;
  /** Finals that arrived before the audio ending them was sent (flushed at close, forced). */
  finalLatencyUnmatched: number;
  eventsSent: number;
  eventsLost: number;
  protocolErrors: number;
  /** The load client's own CPU during the window, % of one core. */
  clientCpuPercent: number;
  /** google, openai: the fake vendor service's CPU during the window (not in the server's figures). */
  fakeCpuMsPerSessionSecond?: number;
  fakeCpuPercent?: number;
  /** google: HTTP/2 connections the engine opened to the Speech service (seen by the fake). */
  grpcConnections?: number;
  /** openai: transcription requests the fake received over the whole run. */
  fakeRequests?: number;
  /** 1-minute load average just before the run (a shared machine's other work shows here). */
  loadBefore: number;
  /** Cores used by processes outside the benchmark during the window (/proc/stat less ours). */
  otherCpuCores: number;
  notes: string[];
}

function serverEnv(o: SizeOptions, fake: FakeVendorProcess | undefined): Record<string, string> {
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    WEB_CONCURRENCY: String(o.workers),
    DEFAULT_SPEECH_PROVIDER: o.engine,
    LOG_LEVEL: 'warn',
    SIMULATED_END_SILENCE_MS: String(ENDPOINT_MS.simulated),
    VAD_END_SILENCE_MS: String(VAD_END_SILENCE_MS),
  };
  if (fake && o.engine === 'google') {
    // Plain-text gRPC to a local fake is refused in production; everything else (API key,
    // signed upgrade, engine code path) stays as in production.
    env.NODE_ENV = 'development';
    env.GOOGLE_SPEECH_INSECURE = 'true';
    env.GOOGLE_SPEECH_ENDPOINT = String(fake.ready.address);
  }
  if (fake && o.engine === 'openai') {
    // Plain http to 127.0.0.1 is allowed in production (the call audio stays on the machine).
    env.OPENAI_API_KEY = OPENAI_KEY;
    env.OPENAI_BASE_URL = String(fake.ready.baseURL);
  }
  return env;
}

const OPENAI_KEY = 'bench-openai-key';

function spawnFake(o: SizeOptions): Promise<FakeVendorProcess> | undefined {
  if (o.engine === 'google') return spawnFakeVendor(o.fakeSpeechJs, ['--endpoint-ms', String(ENDPOINT_MS.google)], 'fakeGoogleSpeech');
  if (o.engine === 'openai') {
    return spawnFakeVendor(o.fakeOpenAIJs, ['--latency-ms', String(o.openaiDelayMs), '--key', OPENAI_KEY], 'fakeOpenAI');
  }
  return undefined;
}

export async function measureSize(o: SizeOptions): Promise<BenchRow> {
  const loadBefore = loadavg()[0] ?? NaN;
  o.log(`  load average before: ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  const fake = await spawnFake(o);
  try {
    const row = await measureWith(o, fake);
    row.loadBefore = loadBefore;
    if (fake) {
      // The server has stopped, so every connection it opened has been seen (distinct client peers).
      const summary = await fake.stop();
      if (!summary) row.notes.push('the fake vendor service printed no exit summary');
      else if (o.engine === 'google') row.grpcConnections ??= summary.connections;
      else row.fakeRequests = summary.requests;
    }
    return row;
  } finally {
    await fake?.stop();
  }
}

async function measureWith(o: SizeOptions, fake: FakeVendorProcess | undefined): Promise<BenchRow> {
  const profile = o.profileDir
    ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir, '--cpu-prof-name', `server-${o.engine}-${o.sessions}-${process.pid}.cpuprofile`]
    : [];
  const r = await runBench({
    ...o,
    env: serverEnv(o, fake),
    nodeArgs: profile,
    // The fake's fixed answer delay is the vendor's own time: left out like the endpointing.
    endpointMs: ENDPOINT_MS[o.engine] + (o.engine === 'openai' ? o.openaiDelayMs : 0),
    // The fake's CPU, and in cluster mode the primary's (the workers' is in /stats).
    sample: (serverPid) => ({ fake: processCpuMicros(fake?.child.pid), primary: o.workers > 1 ? (processCpuMicros(serverPid) ?? 0) : 0 }),
  });
  const primaryCpu = r.after.primary - r.before.primary;
  const { idle, s0, s1, end, report, windowSeconds, notes } = r;
  const received = Number(report.events ?? 0);
  const sent = end.eventsSent - idle.eventsSent;
  const undelivered = end.eventsUndelivered - idle.eventsUndelivered;
  const serverProtocolErrors = end.protocolErrors - idle.protocolErrors;
  const open = (report.openLatencyMs as { p50: number; p99: number } | undefined) ?? { p50: NaN, p99: NaN };
  const final = report.finalLatencyMs as { p50: number; p99: number; samples: number; unmatched: number } | undefined;
  // About one per channel is flushed at close; more would mean the endpointing assumption is off.
  if (final && final.unmatched > o.sessions * 2.5) {
    notes.push(`${final.unmatched} finals arrived before the audio that ends them was sent: latency figure unreliable (endpointing silence mismatch?)`);
  }
  const active = Math.max(1, s0.sessions);

  const row: BenchRow = {
    engine: o.engine,
    workers: o.workers,
    sessions: o.sessions,
    ok: Number(report.ok ?? 0),
    failed: Number(report.failed ?? o.sessions),
    windowSeconds,
    serverCpuMsPerSessionSecond: (statsCpuMicros(s1) - statsCpuMicros(s0) + primaryCpu) / 1000 / (active * windowSeconds),
    serverRssPerSessionKiB: (s1.rssBytes - idle.rssBytes) / active / 1024,
    serverHeapPerSessionKiB: (s1.heapUsedBytes - idle.heapUsedBytes) / active / 1024,
    openP50Ms: open.p50,
    openP99Ms: open.p99,
    eventDelayP99Ms: end.eventLatencyMs.p99,
    finalLatencyP50Ms: final && final.samples > 0 ? final.p50 : NaN,
    finalLatencyP99Ms: final && final.samples > 0 ? final.p99 : NaN,
    finalLatencySamples: final?.samples ?? 0,
    finalLatencyUnmatched: final?.unmatched ?? 0,
    eventsSent: sent,
    // Lost: the server gave up on them, or sent them and the client never saw them, or they are still queued.
    eventsLost: undelivered + Math.max(0, sent - received) + end.eventsQueued,
    protocolErrors: Number(report.protocolErrors ?? 0) + serverProtocolErrors,
    clientCpuPercent: (r.clientCpuMicros / 1e6 / windowSeconds) * 100,
    loadBefore: NaN,
    otherCpuCores: NaN,
    notes,
  };
  for (const [msg, count] of r.serverMessages) if (/behind|not recognized/.test(msg)) notes.push(`server: ${count} × ${msg}`);
  // The engine's own count, where the server reports it in /stats (`engines.google.connections`).
  const engineStats = (s1 as { engines?: Record<string, { connections?: unknown }> }).engines?.[o.engine];
  if (typeof engineStats?.connections === 'number') row.grpcConnections = engineStats.connections;
  const fakeCpu = r.after.fake !== undefined && r.before.fake !== undefined ? r.after.fake - r.before.fake : undefined;
  if (fakeCpu !== undefined) {
    row.fakeCpuMsPerSessionSecond = fakeCpu / 1000 / (active * windowSeconds);
    row.fakeCpuPercent = (fakeCpu / 1e6 / windowSeconds) * 100;
  }
  const ours = statsCpuMicros(s1) - statsCpuMicros(s0) + primaryCpu + r.clientCpuMicros + (fakeCpu ?? 0);
  row.otherCpuCores = otherCpuCores(r, ours);
  return row;
}
