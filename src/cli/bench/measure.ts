/**
 * One benchmark row: a fresh server, N real-time stereo sessions ramped up at R/s, then a steady
 * window in which every session streams, bracketed by two /stats samples.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  freePort,
  getJson,
  sleep,
  spawnLoad,
  spawnServer,
  stop,
  waitReady,
} from './processes.js';
import type { StatsSnapshot } from '../../server/stats.js';

export interface SizeOptions {
  sessions: number;
  /** Steady-state window, seconds. */
  seconds: number;
  /** Sessions started per second. */
  rate: number;
  /** Wait after the last session opened before the window starts. */
  settleSeconds: number;
  wav: string;
  serverJs: string;
  cliJs: string;
  log: (line: string) => void;
}

export interface BenchRow {
  sessions: number;
  ok: number;
  failed: number;
  windowSeconds: number;
  serverCpuMsPerSessionSecond: number;
  serverRssPerSessionKiB: number;
  openP50Ms: number;
  openP99Ms: number;
  eventDelayP99Ms: number;
  eventsSent: number;
  eventsLost: number;
  protocolErrors: number;
  /** The load client's own CPU during the window, % of one core. */
  clientCpuPercent: number;
  notes: string[];
}

const cpuMicros = (s: StatsSnapshot): number => s.cpu.userMicros + s.cpu.systemMicros;

export async function measureSize(o: SizeOptions): Promise<BenchRow> {
  const port = await freePort();
  const apiKey = 'bench-api-key';
  const clientSecret = randomBytes(32).toString('base64');
  const server = spawnServer(o.serverJs, port, {
    NODE_ENV: 'production',
    DEFAULT_SPEECH_PROVIDER: 'simulated',
    GENESYS_API_KEY: apiKey,
    GENESYS_CLIENT_SECRET: clientSecret,
    MAX_SESSIONS: String(o.sessions + 100),
    LOG_LEVEL: 'warn',
  });
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
      o.cliJs,
      [
        '--url', `ws://127.0.0.1:${port}/audiohook`,
        '--api-key', apiKey,
        '--client-secret', clientSecret,
        '--org-id', randomUUID(),
        '--sessions', String(o.sessions),
        '--rate', String(o.rate),
        '--loop', '--duration', String(duration),
        o.wav,
      ],
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
    await sleep(o.seconds * 1000);
    const s1 = await stats();
    const c1 = progress.cpuMicros;
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
    const active = Math.max(1, s0.sessions);

    return {
      sessions: o.sessions,
      ok: Number(report.ok ?? 0),
      failed: Number(report.failed ?? o.sessions),
      windowSeconds,
      serverCpuMsPerSessionSecond: (cpuMicros(s1) - cpuMicros(s0)) / 1000 / (active * windowSeconds),
      serverRssPerSessionKiB: (s1.rssBytes - idle.rssBytes) / active / 1024,
      openP50Ms: open.p50,
      openP99Ms: open.p99,
      eventDelayP99Ms: end.eventLatencyMs.p99,
      eventsSent: sent,
      // Lost: the server gave up on them, or sent them and the client never saw them, or they are still queued.
      eventsLost: undelivered + Math.max(0, sent - received) + end.eventsQueued,
      protocolErrors: Number(report.protocolErrors ?? 0) + serverProtocolErrors,
      clientCpuPercent: ((c1 - c0) / 1e6 / windowSeconds) * 100,
      notes,
    };
  } finally {
    await stop(server.child);
  }
}
