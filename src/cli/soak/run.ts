/**
 * One soak: a fresh server (simulated engine) and the bench's load client, each its own process
 * on 127.0.0.1; an idle sample, the ramp, a sample every S seconds for the whole run while every
 * session streams the looped call in real time, then a clean close of every call, a settle and
 * a last sample to compare with the idle one. Returns whatever it got, also when interrupted or
 * when the server died, so the caller can still print the series.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { ENDPOINT_MS } from '../bench/measure.js';
import { freePort, sleep, spawnLoad, spawnServer, stop } from '../bench/processes.js';
import type { StatsSnapshot } from '../../server/stats.js';
import { fetchStats, sampler, waitReady, type SoakSample } from './sample.js';

export interface SoakOptions {
  sessions: number;
  /** Seconds of load, counted from the moment every session streams. */
  runSeconds: number;
  sampleSeconds: number;
  /** Sessions started per second. */
  rate: number;
  /** Pause between the last session closing and the final sample. */
  settleSeconds: number;
  wav: string;
  serverJs: string;
  loadClientJs: string;
  /** Aborted on Ctrl-C / SIGTERM: stop sampling, close the calls, skip the end checks. */
  signal: AbortSignal;
  /** Each child as it starts, so the caller can kill it whatever happens. */
  track: (child: ChildProcess) => void;
  onSample: (s: SoakSample) => void;
  log: (line: string) => void;
}

export interface SoakResult {
  idle?: SoakSample;
  load: SoakSample[];
  ended?: SoakSample;
  /** The load client's final report (ok/failed, events, protocol errors). */
  report?: Record<string, unknown>;
  eventsSent: number;
  eventsLost: number;
  /** Set when the soak could not go on (the server died, /stats stopped answering, …). */
  error?: string;
  notes: string[];
}

/** Sample times: every `step` seconds from 0, and the end of the run itself. */
export function sampleTimes(runSeconds: number, step: number): number[] {
  const times: number[] = [];
  for (let t = 0; t < runSeconds - 1e-6; t += step) times.push(t);
  times.push(runSeconds);
  return times;
}

/** Like sleep, but returns early when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const result: SoakResult = { load: [], eventsSent: 0, eventsLost: 0, notes: [] };
  const port = await freePort();
  const apiKey = 'soak-api-key';
  const clientSecret = randomBytes(32).toString('base64');
  const server = spawnServer(o.serverJs, port, {
    NODE_ENV: 'production',
    // One process (production would fork a worker per core): /proc then reads the server itself.
    WEB_CONCURRENCY: '1',
    DEFAULT_SPEECH_PROVIDER: 'simulated',
    LOG_LEVEL: 'warn',
    SIMULATED_END_SILENCE_MS: String(ENDPOINT_MS.simulated),
    GENESYS_API_KEY: apiKey,
    GENESYS_CLIENT_SECRET: clientSecret,
    MAX_SESSIONS: String(o.sessions + 100),
  });
  o.track(server.child);
  let load: ReturnType<typeof spawnLoad> | undefined;
  const alive = (): void => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`server exited (${server.child.exitCode ?? server.child.signalCode}):\n${server.tail.join('\n')}`);
    }
  };
  try {
    await waitReady(server);
    const take = sampler(server.base, server.child.pid);
    // The first /stats opens the event-loop window; the idle sample a second later closes it.
    await take.take('idle', 0, undefined);
    await sleep(1_000);
    const idleAt = performance.now();
    // t is counted from the end of the ramp: the idle sample's is set once that is known.
    const idle = await take.take('idle', 0, undefined);
    const idleStats = idle.stats;
    result.idle = idle.sample;
    o.onSample(idle.sample);

    let progress = { started: 0, streaming: 0, ended: 0, failed: 0, cpuMicros: 0 };
    const rampSeconds = o.sessions / o.rate;
    load = spawnLoad(
      o.loadClientJs,
      {
        url: `ws://127.0.0.1:${port}/audiohook`,
        apiKey,
        clientSecret,
        organizationId: randomUUID(),
        sessions: o.sessions,
        rate: o.rate,
        // Longer than the soak, so no call ends by itself before we end them all (SIGINT).
        durationSeconds: Math.ceil(2 * rampSeconds + o.runSeconds + 120),
        wav: o.wav,
        customConfig: { transcriptionVendor: 'simulated' },
        endpointMs: ENDPOINT_MS.simulated,
      },
      (p) => (progress = p),
    );
    o.track(load.child);

    const rampDeadline = Date.now() + (rampSeconds + 30) * 1000;
    let lastLog = 0;
    while (progress.streaming < o.sessions && Date.now() < rampDeadline && load.child.exitCode === null && !o.signal.aborted) {
      alive();
      if (progress.started === o.sessions && progress.streaming + progress.ended >= o.sessions) break;
      if (Date.now() - lastLog > 5_000) {
        o.log(`  ramp: ${progress.started} started, ${progress.streaming} streaming, ${progress.failed} failed`);
        lastLog = Date.now();
      }
      await pause(200, o.signal);
    }
    if (load.child.exitCode !== null && !o.signal.aborted) {
      const { code, stderr } = await load.done;
      throw new Error(`the load client exited (${code}) before the soak began:\n${stderr.slice(-5).join('\n')}`);
    }
    if (progress.streaming < o.sessions) result.notes.push(`only ${progress.streaming}/${o.sessions} sessions streaming after the ramp`);
    o.log(`  ${progress.streaming} sessions streaming; sampling every ${o.sampleSeconds} s for ${(o.runSeconds / 60).toFixed(1)} min`);
    const t0 = performance.now();
    const since = (): number => (performance.now() - t0) / 1000;
    result.idle.t = (idleAt - t0) / 1000;

    for (const t of sampleTimes(o.runSeconds, o.sampleSeconds)) {
      await pause(t0 + t * 1000 - performance.now(), o.signal);
      if (o.signal.aborted) break;
      alive();
      const { sample } = await take.take('load', since(), progress.streaming);
      result.load.push(sample);
      o.onSample(sample);
    }

    // End every call cleanly (close → closed) and collect the client's report.
    load.child.kill('SIGINT');
    const done = await Promise.race([
      load.done,
      sleep(o.signal.aborted ? 5_000 : 60_000).then(() => {
        load?.child.kill('SIGKILL');
        return load!.done;
      }),
    ]);
    if (o.signal.aborted) return result;
    if (done.report) result.report = done.report;
    else result.notes.push(`load client gave no report (exit ${done.code}): ${done.stderr.slice(-3).join(' | ')}`);

    // The server ends its side right after `closed`; give it a moment to let every session go.
    const deadline = Date.now() + 15_000;
    let last: StatsSnapshot = await fetchStats(server.base);
    while (last.sessions > 0 && Date.now() < deadline && !o.signal.aborted) {
      await pause(250, o.signal);
      last = await fetchStats(server.base);
    }
    o.log(`  all calls closed (${last.sessions} left in the server); settling ${o.settleSeconds} s`);
    await pause(o.settleSeconds * 1000, o.signal);
    if (o.signal.aborted) return result;
    alive();
    const ended = await take.take('ended', since(), undefined);
    result.ended = ended.sample;
    o.onSample(ended.sample);
    const s = ended.stats;
    result.eventsSent = s.eventsSent - idleStats.eventsSent;
    // Lost: given up by the server, sent and never seen by the client, or still queued.
    result.eventsLost =
      s.eventsUndelivered - idleStats.eventsUndelivered + Math.max(0, result.eventsSent - Number(result.report?.events ?? 0)) + s.eventsQueued;
    for (const [msg, count] of server.messages) if (/behind|error|fail/i.test(msg)) result.notes.push(`server: ${count} × ${msg}`);
    return result;
  } catch (err) {
    result.error = (err as Error).message;
    return result;
  } finally {
    if (load && load.child.exitCode === null && load.child.signalCode === null) load.child.kill('SIGKILL');
    await stop(server.child);
  }
}
