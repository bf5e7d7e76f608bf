/**
 * One benchmark run, whatever the engine: a fresh server, N real-time stereo sessions from the
 * load client ramped up at R/s, a settle pause, then a steady window bracketed by two /stats
 * samples (and whatever else the caller samples), and a clean close of every call. The caller
 * turns the raw figures into its row.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { freePort, getJson, machineBusyMicros, sleep, spawnLoad, spawnServer, stop, waitReady } from './processes.js';
import type { StatsSnapshot } from '../../server/stats.js';

export interface RunOptions<T> {
  engine: string;
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
  /** Server environment (the API key, client secret and session limit are added here). */
  env: Record<string, string>;
  nodeArgs?: string[];
  /** Silence the engine waits before ending an utterance (plus any fixed vendor delay). */
  endpointMs: number;
  /** Have the load client report every measured final (small runs only). */
  traceFinals?: boolean;
  /** Sampled at both ends of the window: figures /stats does not hold (other processes' CPU). */
  sample: (serverPid: number | undefined) => T;
  log: (line: string) => void;
}

export interface RunResult<T> {
  idle: StatsSnapshot;
  s0: StatsSnapshot;
  s1: StatsSnapshot;
  /** After every call closed. */
  end: StatsSnapshot;
  windowSeconds: number;
  /** The window, epoch ms (to pick the traced finals that arrived in it). */
  windowStart: number;
  windowEnd: number;
  before: T;
  after: T;
  /** The load client's own CPU during the window, µs. */
  clientCpuMicros: number;
  /** The whole machine's busy CPU during the window, µs (Linux), for `otherCpuCores`. */
  machineCpuMicros: number | undefined;
  report: Record<string, unknown>;
  finals: Array<{ ms: number; at: number }>;
  /** Log messages the server printed (LOG_LEVEL=warn: warnings and errors), by text, with counts. */
  serverMessages: Map<string, number>;
  notes: string[];
}

export async function runBench<T>(o: RunOptions<T>): Promise<RunResult<T>> {
  const port = await freePort();
  const apiKey = 'bench-api-key';
  const clientSecret = randomBytes(32).toString('base64');
  const env = { ...o.env, GENESYS_API_KEY: apiKey, GENESYS_CLIENT_SECRET: clientSecret, MAX_SESSIONS: String(o.sessions + 100) };
  const server = spawnServer(o.serverJs, port, env, o.nodeArgs ?? []);
  const notes: string[] = [];
  try {
    await waitReady(server);
    const stats = (): Promise<StatsSnapshot> => getJson<StatsSnapshot>(`${server.base}/stats`);
    const idle = await stats();

    const rampSeconds = o.sessions / o.rate;
    // Long enough that no session ends by itself before the window closes; the bench stops them.
    const duration = Math.ceil(2 * rampSeconds + o.settleSeconds + o.seconds + 60);
    let progress = { started: 0, streaming: 0, ended: 0, failed: 0, cpuMicros: 0 };
    const finals: Array<{ ms: number; at: number }> = [];
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
        endpointMs: o.endpointMs,
        ...(o.traceFinals ? { traceFinals: true } : {}),
      },
      (p) => (progress = p),
      (f) => finals.push(f),
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
    o.log(`  ${progress.streaming} sessions streaming; settling ${o.settleSeconds} s, then measuring ${o.seconds.toFixed(1)} s`);
    await sleep(o.settleSeconds * 1000);

    const t0 = performance.now();
    const windowStart = Date.now();
    const s0 = await stats();
    const c0 = progress.cpuMicros;
    const before = o.sample(server.child.pid);
    const m0 = machineBusyMicros();
    await sleep(o.seconds * 1000);
    const m1 = machineBusyMicros();
    const s1 = await stats();
    const c1 = progress.cpuMicros;
    const after = o.sample(server.child.pid);
    const windowEnd = Date.now();
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
    if (!result.report) notes.push(`load client gave no report (exit ${result.code}): ${result.stderr.slice(-3).join(' | ')}`);
    const report = result.report ?? {};
    const problems = (report.problems as Array<{ text: string; count: number }> | undefined) ?? [];
    if (problems.some((p) => p.text.includes('EMFILE'))) {
      notes.push('connections failed with EMFILE: raise the open-files limit (ulimit -n 65536) and rerun');
    }
    for (const p of problems.slice(0, 3)) notes.push(`${p.count} × ${p.text}`);
    return {
      idle,
      s0,
      s1,
      end,
      windowSeconds,
      windowStart,
      windowEnd,
      before,
      after,
      clientCpuMicros: c1 - c0,
      machineCpuMicros: m0 !== undefined && m1 !== undefined ? m1 - m0 : undefined,
      report,
      finals,
      serverMessages: server.messages,
      notes,
    };
  } finally {
    await stop(server.child);
  }
}

export const statsCpuMicros = (s: StatsSnapshot): number => s.cpu.userMicros + s.cpu.systemMicros;

/**
 * Cores' worth of CPU that processes other than the benchmark's used during the window: the
 * machine's busy time less `ours` (server, its children, load client, fake), over the window.
 * Near 0 on a quiet machine; more means the figures were taken under someone else's load.
 */
export function otherCpuCores(r: RunResult<unknown>, oursMicros: number): number {
  if (r.machineCpuMicros === undefined) return NaN;
  const cores = Math.max(0, r.machineCpuMicros - oursMicros) / 1e6 / r.windowSeconds;
  if (cores > 0.25) r.notes.push(`other processes used ${cores.toFixed(2)} cores during the window: figures taken under outside load`);
  return cores;
}
