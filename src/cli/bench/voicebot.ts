/**
 * One step of the voice-bot benchmark: a fresh server (its own process, so its CPU and that of
 * its children — pocketsphinx, flite — are its alone) with N Genesys-like callers playing the
 * demo script against the fake bot (voicebot-bot.ts) in this process. The callers start spread
 * over one call's length, so their turns fall at different moments as on a real line; each one
 * that finishes a call starts the next at once, so N calls are live through the whole window.
 *
 * Read per step: the server's CPU (process + children) and memory over the window, the server's
 * own turn latency (/stats: end of caller speech → first bot audio frame, and the bot's and
 * synthesis' parts), the latency the callers heard (end of their audio → first bot frame), the
 * callers' frame findings, and whether the step kept up.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import type { StatsSnapshot } from '../../server/stats.js';
import type { VoiceBotCallResult } from '../voicebot/report.js';
import { runVoiceBotCall } from '../voicebot/run.js';
import type { VoiceBotScript } from '../voicebot/script.js';
import { childrenOf, freePort, getJson, machineBusyMicros, processCpuMicros, sleep, spawnServer, stop, waitReady } from './processes.js';
import { alignedTable, fixed } from './table.js';
import type { FakeBot } from './voicebot-bot.js';

export const VOICEBOT_ENGINES = ['local', 'simulated'] as const;
export type VoiceBotEngine = (typeof VOICEBOT_ENGINES)[number];

/** Length of one demo call with the fake bot (greeting, three questions and answers, goodbye), seconds. */
export const DEMO_CALL_SECONDS = 35;

/** The connector id the callers dial (any id: BOT_WEBHOOK_URL serves them all). */
const CONNECTOR = 'bench';

export interface StepOptions {
  engine: VoiceBotEngine;
  /** Concurrent calls. */
  calls: number;
  windowSeconds: number;
  /** The callers' first calls start evenly spread over this many seconds. */
  rampSeconds: number;
  script: VoiceBotScript;
  bot: FakeBot;
  thinkMs: number;
  serverJs: string;
  /** LOCAL_ENGINE_CONCURRENCY; the server's default (one per core) when undefined. */
  localConcurrency: number | undefined;
  /** Keep the server's prompt cache (TTS_CACHE_MB default) instead of turning it off. */
  ttsCache: boolean;
  /** Aborted on Ctrl-C: the window ends early. */
  interrupt: AbortSignal;
  log: (line: string) => void;
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface FrameFindingSums {
  badSize: number;
  rateExceeded: number;
  leadOver: number;
  underruns: number;
  /** Container headers, unexpected audio, audio after disconnect, malformed events, protocol errors. */
  other: number;
  maxLeadMs: number;
}

export interface VoiceBotRow {
  engine: VoiceBotEngine;
  calls: number;
  windowSeconds: number;
  /** Calls the bot ended (disconnect completed), over the whole step. */
  completed: number;
  /** Calls the benchmark hung up at the end of the step (in progress, no fault). */
  cut: number;
  failed: number;
  /** Mean length of the completed calls, seconds. */
  callSeconds: number;
  serverCpuCores: number;
  childrenCpuCores: number;
  /** pocketsphinx processes alive at the end of the window (flite ones come and go). */
  recognizerProcesses: number;
  /** Server + children CPU per second of live session, ms. */
  cpuMsPerSessionSecond: number;
  /** 1000 / cpuMsPerSessionSecond: sessions one core carries at this call mix. */
  sessionsPerCore: number;
  serverRssMiB: number;
  childrenRssMiB: number;
  /** The server's /stats over the whole step (ramp included): end of speech → first bot audio. */
  server: { total: Latency; bot: Latency; synthesis: Latency; restMeanMs: number };
  /** End of the caller's audio → first bot frame, as the callers heard it, turns ending in the window. */
  heard: { count: number; p50: number; p99: number; max: number; firstThirdMs: number; lastThirdMs: number };
  /** Caller turns that got no bot audio in calls that were not cut. */
  unanswered: number;
  findings: FrameFindingSums;
  voiceBot: { turns: number; bargeIns: number; falseAlarms: number; botFailures: number; botTimeouts: number; synthesisFailures: number };
  bot: { turns: number; utterances: number; understood: number; noInput: number };
  eventLoopDelayP99Ms: number;
  /** This process (callers and fake bot) during the window, cores. */
  benchCpuCores: number;
  otherCpuCores: number;
  loadBefore: number;
  keptUp: boolean;
  /** Why not, when it did not. */
  problems: string[];
  notes: string[];
}

interface CallRecord {
  /** performance.now() of the call's time 0 (open sent), from its first event. */
  t0: number | undefined;
  endedAt: number;
  cutByBench: boolean;
  result: Pick<VoiceBotCallResult, 'ok' | 'failure' | 'disconnect' | 'turns' | 'findings' | 'protocolErrors' | 'elapsedSeconds'>;
}

const NO_FINDINGS: VoiceBotCallResult['findings'] = {
  badSize: { count: 0, sizes: [] },
  headers: [],
  rateExceeded: 0,
  lead: { maxMs: 0, limitMs: 0, over: 0 },
  unexpectedAudio: 0,
  events: [],
  audioAfterDisconnect: 0,
  underruns: 0,
};

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number);
const median = (values: readonly number[]): number => quantile([...values].sort((a, b) => a - b), 0.5);

export async function measureVoiceBotStep(o: StepOptions): Promise<VoiceBotRow> {
  const loadBefore = loadavg()[0] ?? NaN;
  o.log(`  load average before: ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  const port = await freePort();
  const env: Record<string, string> = {
    DEFAULT_SPEECH_PROVIDER: o.engine,
    BOT_WEBHOOK_URL: o.bot.url,
    // A slow fake bot (--think-ms) is measured, not timed out.
    BOT_TIMEOUT_MS: String(Math.min(60_000, Math.max(5000, 2 * o.thinkMs + 1000))),
    LOG_LEVEL: 'warn',
    WEB_CONCURRENCY: '1', // one process: its CPU and its children's are the figure
    MAX_SESSIONS: String(o.calls + 50),
    ...(o.ttsCache ? {} : { TTS_CACHE_MB: '0' }),
    ...(o.localConcurrency !== undefined ? { LOCAL_ENGINE_CONCURRENCY: String(o.localConcurrency) } : {}),
  };
  // No GENESYS_API_KEY and no NODE_ENV: development mode, connections unauthenticated.
  const server = spawnServer(o.serverJs, port, env);
  liveServers.add(server.child);
  server.child.once('exit', () => liveServers.delete(server.child));
  const notes: string[] = [];
  const calls: CallRecord[] = [];
  const stopCalls = new AbortController();
  // Every caller and every live call listens to it: hundreds of listeners are expected here.
  setMaxListeners(0, stopCalls.signal);
  const onInterrupt = (): void => stopCalls.abort();
  try {
    await waitReady(server);
    const pid = server.child.pid;
    const stats = (): Promise<StatsSnapshot> => getJson<StatsSnapshot>(`${server.base}/stats`);
    const idle = await stats();
    o.bot.reset();

    const url = `ws://127.0.0.1:${port}/audioconnector/${CONNECTOR}`;
    const organizationId = randomUUID();
    let live = 0;
    const oneCall = async (): Promise<void> => {
      let t0: number | undefined;
      live += 1;
      let r: VoiceBotCallResult;
      try {
        r = await runVoiceBotCall(
          {
            url,
            apiKey: 'bench',
            organizationId,
            language: 'en-US',
            inputVariables: {},
            ani: '+13175550100',
            dnis: '+13175550199',
            script: o.script,
            maxSeconds: 4 * DEMO_CALL_SECONDS,
            maxLeadMs: 1000,
            playbackEvents: true,
            expectNoAudio: false,
            promptTimeoutSeconds: 15,
          },
          {
            signal: stopCalls.signal,
            // The first event is `opened`, logged as it arrives: the call's time 0 on our clock.
            onEvent: (e) => {
              if (t0 === undefined) t0 = performance.now() - e.t * 1000;
            },
          },
        );
      } catch (err) {
        // runVoiceBotCall reports its failures in the result; anything else is counted the same way.
        r = { ok: false, failure: `caller crashed: ${(err as Error).message}`, turns: [], findings: NO_FINDINGS, protocolErrors: [], elapsedSeconds: 0 } as unknown as VoiceBotCallResult;
      }
      live -= 1;
      // Only what the row needs: the recording and the event list of hundreds of calls add up.
      const { ok, failure, disconnect, turns, findings, protocolErrors, elapsedSeconds } = r;
      calls.push({ t0, endedAt: performance.now(), cutByBench: stopCalls.signal.aborted, result: { ok, failure, disconnect, turns, findings, protocolErrors, elapsedSeconds } });
    };
    const spacingMs = (o.rampSeconds * 1000) / o.calls;
    const start = performance.now();
    const callers = Array.from({ length: o.calls }, async (_, i) => {
      await sleepUntil(start + i * spacingMs, stopCalls.signal);
      while (!stopCalls.signal.aborted) {
        await oneCall();
        // A server that refuses calls must not be hammered in a tight loop.
        if (calls.at(-1)?.result.ok === false) await sleepUntil(performance.now() + 1000, stopCalls.signal);
      }
    });

    // Window: from the last caller's start, every caller live.
    o.interrupt.addEventListener('abort', onInterrupt);
    const windowStartAt = start + (o.calls - 1) * spacingMs;
    o.log(`  ${o.calls} callers starting over ${((windowStartAt - start) / 1000).toFixed(1)} s, then measuring ${o.windowSeconds.toFixed(0)} s`);
    await sleepUntil(windowStartAt, stopCalls.signal);
    // Read for its side effect: the event-loop delay figure restarts here, so s1's is the window's.
    await stats();
    const cpu0 = { server: processCpuMicros(pid), children: childrenOf(pid), bench: process.cpuUsage(), machine: machineBusyMicros() };
    const t0 = performance.now();
    const windowEndAt = t0 + o.windowSeconds * 1000;
    const progress = setInterval(() => {
      const failed = calls.filter((c) => !c.result.ok).length;
      o.log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${live} calls live, ${calls.length} ended (${failed} failed)`);
    }, 15_000);
    await sleepUntil(windowEndAt, stopCalls.signal);
    clearInterval(progress);
    const cpu1 = { server: processCpuMicros(pid), children: childrenOf(pid), bench: process.cpuUsage(cpu0.bench), machine: machineBusyMicros() };
    const s1 = await stats();
    const t1 = performance.now();
    const windowSeconds = (t1 - t0) / 1000;
    if (o.interrupt.aborted) notes.push(`interrupted after ${windowSeconds.toFixed(0)} s of the window`);
    if (server.child.exitCode !== null) throw new Error(`server exited with ${server.child.exitCode}:\n${server.tail.join('\n')}`);
    if (s1.sessions < o.calls) notes.push(`server had ${s1.sessions} sessions at the end of the window (between calls, or failed)`);

    // The end: every caller hangs up (close → closed), then the server's figures for the whole step.
    stopCalls.abort();
    const drained = await Promise.race([Promise.all(callers).then(() => true), sleep(30_000).then(() => false)]);
    if (!drained) notes.push(`${live} calls still open 30 s after the step ended`);
    const end = await stats();
    if (cpu0.server === undefined || cpu1.server === undefined || !cpu0.children || !cpu1.children) {
      throw new Error("the voice-bot benchmark reads the server's CPU and its children's from /proc (Linux only)");
    }

    // Calls.
    let completed = 0;
    let cut = 0;
    const failures = new Map<string, number>();
    const fail = (why: string): void => void failures.set(why, (failures.get(why) ?? 0) + 1);
    const callSeconds: number[] = [];
    for (const c of calls) {
      const r = c.result;
      if (c.cutByBench && (r.ok || r.failure === 'aborted')) cut += 1;
      else if (!r.ok) fail(r.failure ?? (r.protocolErrors[0] ? `protocol error: ${r.protocolErrors[0]}` : r.disconnect ? `disconnect ${r.disconnect.reason}${r.disconnect.info ? ` (${r.disconnect.info})` : ''}` : 'not ok'));
      else if (r.disconnect?.reason === 'completed') {
        completed += 1;
        callSeconds.push(r.elapsedSeconds);
      } else fail('the bot never ended the call (the caller hung up)');
    }
    const failed = [...failures.values()].reduce((a, b) => a + b, 0);
    for (const [why, n] of failures) notes.push(`${n} call${n > 1 ? 's' : ''} failed: ${why}`);

    // Frames, summed over every call.
    const findings: FrameFindingSums = { badSize: 0, rateExceeded: 0, leadOver: 0, underruns: 0, other: 0, maxLeadMs: 0 };
    for (const { result: r } of calls) {
      const f = r.findings;
      findings.badSize += f.badSize.count;
      findings.rateExceeded += f.rateExceeded;
      findings.leadOver += f.lead.over;
      findings.underruns += f.underruns;
      findings.other += f.headers.length + f.unexpectedAudio + f.audioAfterDisconnect + f.events.length + r.protocolErrors.length;
      findings.maxLeadMs = Math.max(findings.maxLeadMs, f.lead.maxMs);
    }

    // Heard latency: turns whose caller audio ended in the window, in that order.
    const heardTurns: Array<{ at: number; ms: number }> = [];
    let unanswered = 0;
    for (const c of calls) {
      for (const turn of c.result.turns) {
        if (turn.latencyMs === null) {
          if (!c.cutByBench) unanswered += 1;
          continue;
        }
        const at = c.t0 === undefined ? NaN : c.t0 + turn.end * 1000;
        if (at >= t0 && at <= t1) heardTurns.push({ at, ms: turn.latencyMs });
      }
    }
    heardTurns.sort((a, b) => a.at - b.at);
    const heardSorted = heardTurns.map((t) => t.ms).sort((a, b) => a - b);
    const third = Math.max(1, Math.floor(heardTurns.length / 3));
    const firstThirdMs = median(heardTurns.slice(0, third).map((t) => t.ms));
    const lastThirdMs = median(heardTurns.slice(-third).map((t) => t.ms));

    // CPU and memory over the window.
    const serverCpuS = (cpu1.server - cpu0.server) / 1e6;
    const childrenCpuS = (cpu1.children.cpuMicros - cpu0.children.cpuMicros) / 1e6;
    const benchCpuS = (cpu1.bench.user + cpu1.bench.system) / 1e6;
    const cpuMsPerSessionSecond = ((serverCpuS + childrenCpuS) * 1000) / (o.calls * windowSeconds);
    let otherCpuCores = NaN;
    if (cpu0.machine !== undefined && cpu1.machine !== undefined) {
      otherCpuCores = Math.max(0, (cpu1.machine - cpu0.machine) / 1e6 - serverCpuS - childrenCpuS - benchCpuS) / windowSeconds;
      if (otherCpuCores > 0.25) notes.push(`other processes used ${otherCpuCores.toFixed(2)} cores during the window: figures taken under outside load`);
    }
    const benchCpuCores = benchCpuS / windowSeconds;
    if (benchCpuCores > 0.7) notes.push(`the benchmark process (callers and bot) used ${benchCpuCores.toFixed(2)} cores: its own timing may have slipped (heard latency, underruns)`);

    const vb = (s: StatsSnapshot) => s.voiceBot;
    const delta = (k: keyof Omit<StatsSnapshot['voiceBot'], 'turnLatencyMs'>): number => vb(end)[k] - vb(idle)[k];
    const lat = vb(end).turnLatencyMs;
    const voiceBot = {
      turns: delta('turns'),
      bargeIns: delta('bargeIns'),
      falseAlarms: delta('falseAlarms'),
      botFailures: delta('botFailures'),
      botTimeouts: delta('botTimeouts'),
      synthesisFailures: delta('synthesisFailures'),
    };
    for (const [msg, count] of server.messages) {
      if (/authentication DISABLED/.test(msg)) continue;
      notes.push(`server: ${count} × ${msg}`);
    }

    const problems: string[] = [];
    if (failed > 0) problems.push(`${failed} failed`);
    if (findings.underruns > 0) problems.push(`${findings.underruns} underruns`);
    const frameFaults = findings.badSize + findings.rateExceeded + findings.leadOver + findings.other;
    if (frameFaults > 0) problems.push(`${frameFaults} frame findings`);
    if (voiceBot.botFailures + voiceBot.synthesisFailures > 0) problems.push('bot or synthesis failures');
    if (unanswered > 0) problems.push(`${unanswered} unanswered turns`);
    if (heardTurns.length === 0) problems.push('no turn in the window');
    else if (lastThirdMs > 1.5 * firstThirdMs + 500) problems.push('latency growing');
    if (o.interrupt.aborted) problems.push('interrupted');

    return {
      engine: o.engine,
      calls: o.calls,
      windowSeconds,
      completed,
      cut,
      failed,
      callSeconds: callSeconds.reduce((a, b) => a + b, 0) / Math.max(1, callSeconds.length),
      serverCpuCores: serverCpuS / windowSeconds,
      childrenCpuCores: childrenCpuS / windowSeconds,
      recognizerProcesses: cpu1.children.pids.length,
      cpuMsPerSessionSecond,
      sessionsPerCore: 1000 / cpuMsPerSessionSecond,
      serverRssMiB: s1.rssBytes / 2 ** 20,
      childrenRssMiB: cpu1.children.rssBytes / 2 ** 20,
      server: { total: lat.total, bot: lat.bot, synthesis: lat.synthesis, restMeanMs: lat.total.mean - lat.bot.mean - lat.synthesis.mean },
      heard: {
        count: heardSorted.length,
        p50: quantile(heardSorted, 0.5),
        p99: quantile(heardSorted, 0.99),
        max: heardSorted.at(-1) ?? NaN,
        firstThirdMs,
        lastThirdMs,
      },
      unanswered,
      findings,
      voiceBot,
      bot: { turns: o.bot.counts.turns, utterances: o.bot.counts.utterances, understood: o.bot.counts.understood, noInput: o.bot.counts.noInput },
      eventLoopDelayP99Ms: s1.process.eventLoopDelayP99Ms,
      benchCpuCores,
      otherCpuCores,
      loadBefore,
      keptUp: problems.length === 0,
      problems,
      notes,
    };
  } finally {
    o.interrupt.removeEventListener('abort', onInterrupt);
    stopCalls.abort();
    await stop(server.child);
  }
}

const liveServers = new Set<ChildProcess>();

/** Kills the servers of steps still running (synchronous: for process 'exit'). */
export function killServers(): void {
  for (const child of liveServers) child.kill('SIGKILL');
}

/** Sleeps until performance.now() reaches `at`, or the signal aborts. */
function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  const ms = at - performance.now();
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
const pair = (l: Latency): string => (l.count > 0 ? `${ms(l.p50)} / ${ms(l.p99)} ms` : 'n/a');

export function voiceBotTable(rows: readonly VoiceBotRow[]): string {
  const local = rows.some((r) => r.engine === 'local');
  const headers = [
    'calls',
    'completed/cut/failed',
    'server CPU (proc + children)',
    'CPU ms per session-s',
    'sessions per core',
    'RSS server + children',
    'end of speech→bot audio p50 / p99',
    'bot p50 / p99',
    'synthesis p50 / p99',
    'rest (mean)',
    'heard p50 / p99',
    'heard 1st→last third',
    'frames bad/rate/lead/underrun',
    ...(local ? ['understood'] : []),
    'loop delay p99',
    'bench CPU',
    'other CPU',
    'kept up',
  ];
  const cells = rows.map((r) => [
    String(r.calls),
    `${r.completed}/${r.cut}/${r.failed}`,
    `${fixed(r.serverCpuCores, 2)} + ${fixed(r.childrenCpuCores, 2)} cores`,
    fixed(r.cpuMsPerSessionSecond, 1),
    fixed(r.sessionsPerCore, 1),
    `${fixed(r.serverRssMiB, 0)} + ${fixed(r.childrenRssMiB, 0)} MiB`,
    pair(r.server.total),
    pair(r.server.bot),
    pair(r.server.synthesis),
    r.server.total.count > 0 ? `${ms(r.server.restMeanMs)} ms` : 'n/a',
    r.heard.count > 0 ? `${ms(r.heard.p50)} / ${ms(r.heard.p99)} ms` : 'n/a',
    r.heard.count > 0 ? `${ms(r.heard.firstThirdMs)} → ${ms(r.heard.lastThirdMs)} ms` : 'n/a',
    `${r.findings.badSize}/${r.findings.rateExceeded}/${r.findings.leadOver}/${r.findings.underruns}${r.findings.other > 0 ? ` +${r.findings.other}` : ''}`,
    ...(local ? [r.engine === 'local' ? `${r.bot.understood}/${r.bot.utterances}` : 'n/a'] : []),
    `${fixed(r.eventLoopDelayP99Ms, 1)} ms`,
    `${fixed(r.benchCpuCores, 2)} cores`,
    `${fixed(r.otherCpuCores, 2)} cores`,
    r.keptUp ? 'yes' : `NO (${r.problems.join(', ')})`,
  ]);
  const out = alignedTable(headers, cells);
  const notes = rows.flatMap((r) => r.notes.map((n) => `- ${r.calls} calls: ${n}`));
  if (notes.length > 0) out.push('', 'Notes:', ...notes);
  return out.join('\n');
}

export interface Conclusion {
  engine: VoiceBotEngine;
  /** The largest step that kept up (every smaller one did too), if any. */
  calls: number | undefined;
  sessionsPerCore: number | undefined;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  heardP99Ms: number | undefined;
  firstBehind: number | undefined;
  text: string;
}

const ENGINE_TEXT: Record<VoiceBotEngine, string> = { local: 'local (pocketsphinx) + flite', simulated: 'simulated recognition + flite' };

export function conclusion(engine: VoiceBotEngine, rows: readonly VoiceBotRow[]): Conclusion {
  const steps = rows.filter((r) => r.engine === engine).sort((a, b) => a.calls - b.calls);
  const firstBehind = steps.find((r) => !r.keptUp);
  const ok = steps.filter((r) => r.keptUp && (!firstBehind || r.calls < firstBehind.calls));
  const best = ok.at(-1);
  const cores = availableParallelism();
  if (!best) {
    return {
      engine,
      calls: undefined,
      sessionsPerCore: undefined,
      p50Ms: undefined,
      p99Ms: undefined,
      heardP99Ms: undefined,
      firstBehind: firstBehind?.calls,
      text: `${ENGINE_TEXT[engine]}: no step kept up${firstBehind ? ` (the smallest, ${firstBehind.calls} calls: ${firstBehind.problems.join(', ')})` : ''}`,
    };
  }
  const perCore = Math.floor(best.sessionsPerCore);
  const text =
    `≈ ${perCore} voice-bot sessions per core with ${ENGINE_TEXT[engine]} at p99 ≤ ${ms(best.server.total.p99)} ms ` +
    `(server: end of caller speech → first bot audio, p50 ${ms(best.server.total.p50)} ms; bot p99 ${ms(best.server.bot.p99)} ms, synthesis p99 ${ms(best.server.synthesis.p99)} ms; ` +
    `heard by the caller p99 ${ms(best.heard.p99)} ms) — from ${fixed(best.cpuMsPerSessionSecond, 1)} CPU-ms per session-second at ${best.calls} concurrent calls, ` +
    `the same call mix assumed; ${firstBehind ? `behind at ${firstBehind.calls} calls (${firstBehind.problems.join(', ')})` : `kept up to the largest step tried (${best.calls} calls on ${cores} cores, callers on the same machine)`}`;
  return {
    engine,
    calls: best.calls,
    sessionsPerCore: best.sessionsPerCore,
    p50Ms: best.server.total.p50,
    p99Ms: best.server.total.p99,
    heardP99Ms: best.heard.p99,
    firstBehind: firstBehind?.calls,
    text,
  };
}
