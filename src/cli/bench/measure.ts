/**
 * One benchmark row: a fresh server (and, for `google`, a fresh fake Speech service in its own
 * process), N real-time stereo sessions ramped up at R/s, then a steady window in which every
 * session streams, bracketed by two /stats samples.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  freePort,
  getJson,
  processCpuMicros,
  sleep,
  spawnFakeSpeech,
  spawnLoad,
  spawnServer,
  stop,
  waitReady,
  type FakeSpeechProcess,
} from './processes.js';
import type { StatsSnapshot } from '../../server/stats.js';

export const ENGINES = ['simulated', 'google'] as const;
export type BenchEngine = (typeof ENGINES)[number];

/**
 * Silence that ends an utterance, set explicitly on both recognizers (the server's simulated engine
 * and the fake Speech service), so the latency figure can leave it out.
 */
export const ENDPOINT_MS: Record<BenchEngine, number> = { simulated: 400, google: 500 };

export interface SizeOptions {
  engine: BenchEngine;
  sessions: number;
  /** Steady-state window, seconds. */
  seconds: number;
  /** Sessions started per second. */
  rate: number;
  /** Wait after the last session opened before the window starts. */
  settleSeconds: number;
  wav: string;
  serverJs: string;
  loadClientJs: string;
  fakeSpeechJs: string;
  /** Write a V8 CPU profile of the server here (`node --cpu-prof`). */
  profileDir?: string | undefined;
  log: (line: string) => void;
}

export interface BenchRow {
  engine: BenchEngine;
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
  /** google: the fake Speech service's CPU during the window (not in the server's figures). */
  fakeCpuMsPerSessionSecond?: number;
  fakeCpuPercent?: number;
  /** google: HTTP/2 connections the engine opened to the Speech service (seen by the fake). */
  grpcConnections?: number;
  notes: string[];
}

const cpuMicros = (s: StatsSnapshot): number => s.cpu.userMicros + s.cpu.systemMicros;

function serverEnv(o: SizeOptions, fake: FakeSpeechProcess | undefined, apiKey: string, clientSecret: string): Record<string, string> {
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DEFAULT_SPEECH_PROVIDER: o.engine,
    GENESYS_API_KEY: apiKey,
    GENESYS_CLIENT_SECRET: clientSecret,
    MAX_SESSIONS: String(o.sessions + 100),
    LOG_LEVEL: 'warn',
    SIMULATED_END_SILENCE_MS: String(ENDPOINT_MS.simulated),
  };
  if (fake) {
    // Plain-text gRPC to a local fake is refused in production; everything else (API key,
    // signed upgrade, engine code path) stays as in production.
    env.NODE_ENV = 'development';
    env.GOOGLE_SPEECH_INSECURE = 'true';
    env.GOOGLE_SPEECH_ENDPOINT = fake.address;
  }
  return env;
}

export async function measureSize(o: SizeOptions): Promise<BenchRow> {
  const fake = o.engine === 'google' ? await spawnFakeSpeech(o.fakeSpeechJs, ENDPOINT_MS.google) : undefined;
  try {
    const row = await withServer(o, fake);
    if (fake) {
      // The server has stopped, so every connection it opened has been seen (distinct client peers).
      const summary = await fake.stop();
      if (summary) row.grpcConnections ??= summary.connections;
      else row.notes.push('the fake Speech service printed no exit summary');
    }
    return row;
  } finally {
    await fake?.stop();
  }
}

async function withServer(o: SizeOptions, fake: FakeSpeechProcess | undefined): Promise<BenchRow> {
  const port = await freePort();
  const apiKey = 'bench-api-key';
  const clientSecret = randomBytes(32).toString('base64');
  const profile = o.profileDir
    ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir, '--cpu-prof-name', `server-${o.engine}-${o.sessions}-${process.pid}.cpuprofile`]
    : [];
  const server = spawnServer(o.serverJs, port, serverEnv(o, fake, apiKey, clientSecret), profile);
  const notes: string[] = [];
  try {
    await waitReady(server);
    const stats = (): Promise<StatsSnapshot> => getJson<StatsSnapshot>(`${server.base}/stats`);
    const idle = await stats();

    const rampSeconds = o.sessions / o.rate;
    // Long enough that no session ends by itself before the window closes; the bench stops them.
    const duration = Math.ceil(2 * rampSeconds + o.settleSeconds + o.seconds + 60);
    let progress = { started: 0, streaming: 0, ended: 0, failed: 0, cpuMicros: 0 };
    const load = spawnLoad(
      o.loadClientJs,
      {
        url: `ws://127.0.0.1:${port}/audiohook`,
        apiKey,
        clientSecret,
        organizationId: randomUUID(),
        sessions: o.sessions,
        rate: o.rate,
        durationSeconds: duration,
        wav: o.wav,
        // Chosen per session, as Genesys integrations do (the server default is the same engine).
        customConfig: { transcriptionVendor: o.engine },
        endpointMs: ENDPOINT_MS[o.engine],
      },
      (p) => (progress = p),
    );

    // Ramp: until every session streams, or all that will ever open have (the rest failed).
    const rampDeadline = Date.now() + (rampSeconds + 30) * 1000;
    let lastLog = 0;
    while (progress.streaming < o.sessions && Date.now() < rampDeadline && load.child.exitCode === null) {
      if (progress.started === o.sessions && progress.streaming + progress.ended >= o.sessions) break;
      if (Date.now() - lastLog > 5_000) {
        o.log(`  ramp: ${progress.started} started, ${progress.streaming} streaming, ${progress.failed} failed`);
        lastLog = Date.now();
      }
      await sleep(200);
    }
    if (progress.streaming < o.sessions) notes.push(`only ${progress.streaming}/${o.sessions} sessions streaming`);
    o.log(`  ${progress.streaming} sessions streaming; settling ${o.settleSeconds} s, then measuring ${o.seconds} s`);
    await sleep(o.settleSeconds * 1000);

    const t0 = performance.now();
    const s0 = await stats();
    const c0 = progress.cpuMicros;
    const f0 = processCpuMicros(fake?.child.pid);
    await sleep(o.seconds * 1000);
    const s1 = await stats();
    const c1 = progress.cpuMicros;
    const f1 = processCpuMicros(fake?.child.pid);
    const windowSeconds = (performance.now() - t0) / 1000;
    if (s1.sessions < o.sessions) notes.push(`server had ${s1.sessions} sessions at the end of the window`);

    // End every call cleanly (close → closed) and collect the client's report.
    load.child.kill('SIGINT');
    const result = await Promise.race([
      load.done,
      sleep(60_000).then(() => {
        load.child.kill('SIGKILL');
        return load.done;
      }),
    ]);
    const end = await stats();
    const report = result.report ?? {};
    if (!result.report) notes.push(`load client gave no report (exit ${result.code}): ${result.stderr.slice(-3).join(' | ')}`);
    const problems = (report.problems as Array<{ text: string; count: number }> | undefined) ?? [];
    if (problems.some((p) => p.text.includes('EMFILE'))) {
      notes.push('connections failed with EMFILE: raise the open-files limit (ulimit -n 65536) and rerun');
    }
    for (const p of problems.slice(0, 3)) notes.push(`${p.count} × ${p.text}`);

    const received = Number(report.events ?? 0);
    const sent = end.eventsSent - idle.eventsSent;
    const undelivered = end.eventsUndelivered - idle.eventsUndelivered;
    const serverProtocolErrors = end.protocolErrors - idle.protocolErrors;
    const open = (report.openLatencyMs as { p50: number; p99: number } | undefined) ?? { p50: NaN, p99: NaN };
    const final = report.finalLatencyMs as { p50: number; p99: number; samples: number; unmatched: number } | undefined;
    // About one per session is flushed at close; more would mean the endpointing assumption is off.
    if (final && final.unmatched > o.sessions * 1.5) {
      notes.push(`${final.unmatched} finals arrived before the audio that ends them was sent: latency figure unreliable (endpointing silence mismatch?)`);
    }
    const active = Math.max(1, s0.sessions);

    const row: BenchRow = {
      engine: o.engine,
      sessions: o.sessions,
      ok: Number(report.ok ?? 0),
      failed: Number(report.failed ?? o.sessions),
      windowSeconds,
      serverCpuMsPerSessionSecond: (cpuMicros(s1) - cpuMicros(s0)) / 1000 / (active * windowSeconds),
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
      clientCpuPercent: ((c1 - c0) / 1e6 / windowSeconds) * 100,
      notes,
    };
    // The engine's own count, where the server reports it in /stats (`engines.google.connections`).
    const engineStats = (s1 as { engines?: Record<string, { connections?: unknown }> }).engines?.[o.engine];
    if (typeof engineStats?.connections === 'number') row.grpcConnections = engineStats.connections;
    if (f0 !== undefined && f1 !== undefined) {
      row.fakeCpuMsPerSessionSecond = (f1 - f0) / 1000 / (active * windowSeconds);
      row.fakeCpuPercent = ((f1 - f0) / 1e6 / windowSeconds) * 100;
    }
    return row;
  } finally {
    await stop(server.child);
  }
}
