/**
 * Process-wide figures: the JSON of /stats (what the benchmark reads) and the Prometheus
 * counters of /metrics, recorded at the same calls. The session layer only sees SessionMetrics.
 */
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Histogram, type HistogramState, type SessionMetrics, type SessionOutcome } from '../session/metrics.js';
import { createPrometheus, type LiveFigures, type Prometheus, type UpgradeRejection } from './prometheus.js';

type TranslationOutcome = 'translated' | 'skipped' | 'timeout' | 'failed';

export class ServerStats implements SessionMetrics {
  readonly eventLatencyMs = new Histogram();
  readonly openedLatencyMs = new Histogram();
  readonly translationLatencyMs = new Histogram();
  /** Voice bots: end of caller speech → first bot audio frame, and the bot's and synthesis' parts. */
  readonly botTurnMs = { total: new Histogram(), bot: new Histogram(), synthesis: new Histogram() };
  private readonly voiceBot = { turns: 0, bargeIns: 0, falseAlarms: 0, botFailures: 0, botTimeouts: 0, synthesisFailures: 0 };
  readonly prometheus: Prometheus;
  private readonly counts = {
    sessionsOpened: 0,
    probes: 0,
    sessionsEnded: 0,
    eventsSent: 0,
    interimEventsSent: 0,
    eventsCoalesced: 0,
    eventsUndelivered: 0,
    protocolErrors: 0,
    rateLimited: 0,
    rateLimitedHeldMs: 0,
    engineErrors: 0,
    engineRestarts: 0,
    engineRotations: 0,
    engineFailovers: 0,
  };
  /** Finals by translation outcome. */
  readonly translations: Record<TranslationOutcome, number> = { translated: 0, skipped: 0, timeout: 0, failed: 0 };
  private readonly upgradesRejected: Record<string, number> = {};

  /** Event-loop delay since the last snapshot (reset at each), for /stats and the soak. */
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

  constructor(live: LiveFigures) {
    this.prometheus = createPrometheus(live);
    this.loopDelay.enable();
  }

  /** Stops the event-loop sampler (a stopped server must not keep it running). */
  dispose(): void {
    this.loopDelay.disable();
  }

  sessionOpened(info: { probe: boolean; openToOpenedMs: number }): void {
    if (info.probe) this.counts.probes += 1;
    else this.counts.sessionsOpened += 1;
    this.openedLatencyMs.record(info.openToOpenedMs);
    this.prometheus.openLatency.observe(info.openToOpenedMs / 1000);
  }

  sessionEnded(info: { probe: boolean; engine: string | undefined; outcome: SessionOutcome }): void {
    this.counts.sessionsEnded += 1;
    if (info.probe) this.prometheus.probes.inc({ outcome: info.outcome === 'refused' ? 'refused' : 'ok' });
    else this.prometheus.sessions.inc({ engine: info.engine ?? 'none', outcome: info.outcome });
  }

  eventSent(latencyMs: number, isFinal: boolean): void {
    this.counts.eventsSent += 1;
    if (!isFinal) this.counts.interimEventsSent += 1;
    this.prometheus.eventsSent.inc({ kind: isFinal ? 'final' : 'interim' });
    // The latency figure is about finals: the transcript that ends an utterance.
    if (isFinal) {
      this.eventLatencyMs.record(latencyMs);
      this.prometheus.transcriptLatency.observe(latencyMs / 1000);
    }
  }

  eventsCoalesced(count: number): void {
    this.counts.eventsCoalesced += count;
    this.prometheus.eventsCoalesced.inc(count);
  }

  eventsUndelivered(count: number, why: string): void {
    this.counts.eventsUndelivered += count;
    this.prometheus.eventsUndelivered.inc({ why }, count);
  }

  clientRateLimited(heldMs: number): void {
    this.counts.rateLimited += 1;
    this.counts.rateLimitedHeldMs += heldMs;
    this.prometheus.rateLimited.inc();
    this.prometheus.rateLimitedHeld.inc(heldMs / 1000);
  }

  engineError(engine: string, retryable: boolean): void {
    this.counts.engineErrors += 1;
    this.prometheus.engineErrors.inc({ engine, retryable: String(retryable) });
  }

  engineStreamReplaced(engine: string, kind: 'restart' | 'rotation'): void {
    if (kind === 'restart') this.counts.engineRestarts += 1;
    else this.counts.engineRotations += 1;
    this.prometheus.engineRestarts.inc({ engine, kind });
  }

  engineFailover(from: string, to: string): void {
    this.counts.engineFailovers += 1;
    this.prometheus.engineFailovers.inc({ from, to });
  }

  protocolError(kind: string): void {
    this.counts.protocolErrors += 1;
    this.prometheus.protocolErrors.inc({ kind });
  }

  translationDone(outcome: TranslationOutcome, ms: number): void {
    this.translations[outcome] += 1;
    this.prometheus.translations.inc({ outcome });
    if (outcome !== 'skipped') {
      this.translationLatencyMs.record(ms);
      this.prometheus.translationSeconds.observe(ms / 1000);
    }
  }

  botTurn(event: string, latency: { totalMs: number; botMs: number; synthesisMs: number } | undefined): void {
    this.voiceBot.turns += 1;
    this.prometheus.botTurns.inc({ event });
    if (!latency) return;
    for (const part of ['total', 'bot', 'synthesis'] as const) {
      const ms = latency[`${part}Ms`];
      this.botTurnMs[part].record(ms);
      this.prometheus.botTurnLatency.observe({ part }, ms / 1000);
    }
  }

  bargeIn(outcome: 'committed' | 'false_alarm'): void {
    if (outcome === 'committed') this.voiceBot.bargeIns += 1;
    else this.voiceBot.falseAlarms += 1;
    this.prometheus.bargeIns.inc({ outcome });
  }

  botFailure(kind: string): void {
    this.voiceBot.botFailures += 1;
    if (kind === 'timeout') this.voiceBot.botTimeouts += 1;
    this.prometheus.botFailures.inc({ kind });
  }

  synthesisFailure(synthesizer: string): void {
    this.voiceBot.synthesisFailures += 1;
    this.prometheus.synthesisFailures.inc({ synthesizer });
  }

  upgradeRejected(status: number, reason: UpgradeRejection): void {
    this.upgradesRejected[status] = (this.upgradesRejected[status] ?? 0) + 1;
    this.prometheus.upgradesRejected.inc({ reason });
  }

  snapshot(extra: { sessions: number; eventsQueued: number; engines: Record<string, Record<string, number>> }) {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    return {
      workers: 1,
      sessions: extra.sessions,
      sessionsOpened: this.counts.sessionsOpened,
      probes: this.counts.probes,
      sessionsEnded: this.counts.sessionsEnded,
      cpu: { userMicros: cpu.user, systemMicros: cpu.system },
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      uptimeSeconds: Math.round(process.uptime()),
      process: processFigures(this.loopDelay),
      eventLatencyMs: this.eventLatencyMs.summary(),
      openedLatencyMs: this.openedLatencyMs.summary(),
      eventsSent: this.counts.eventsSent,
      interimEventsSent: this.counts.interimEventsSent,
      eventsQueued: extra.eventsQueued,
      eventsCoalesced: this.counts.eventsCoalesced,
      eventsUndelivered: this.counts.eventsUndelivered,
      protocolErrors: this.counts.protocolErrors,
      rateLimited: { count: this.counts.rateLimited, heldMs: this.counts.rateLimitedHeldMs },
      engineErrors: this.counts.engineErrors,
      engineRestarts: this.counts.engineRestarts,
      engineRotations: this.counts.engineRotations,
      engineFailovers: this.counts.engineFailovers,
      translations: { ...this.translations, latencyMs: this.translationLatencyMs.summary() },
      voiceBot: {
        ...this.voiceBot,
        turnLatencyMs: { total: this.botTurnMs.total.summary(), bot: this.botTurnMs.bot.summary(), synthesis: this.botTurnMs.synthesis.summary() },
      },
      upgradesRejected: { ...this.upgradesRejected },
      engines: extra.engines,
    };
  }

  /** This process's figures with the histograms' whole state, for the cluster primary to merge. */
  report(extra: Parameters<ServerStats['snapshot']>[0]): StatsReport {
    return {
      snapshot: this.snapshot(extra),
      histograms: {
        eventLatencyMs: this.eventLatencyMs.toJSON(),
        openedLatencyMs: this.openedLatencyMs.toJSON(),
        translationLatencyMs: this.translationLatencyMs.toJSON(),
        botTurnTotalMs: this.botTurnMs.total.toJSON(),
        botTurnBotMs: this.botTurnMs.bot.toJSON(),
        botTurnSynthesisMs: this.botTurnMs.synthesis.toJSON(),
      },
    };
  }
}

/** The JSON `/stats` serves (the benchmark reads it from another process). */
export type StatsSnapshot = ReturnType<ServerStats['snapshot']>;

export interface StatsReport {
  snapshot: StatsSnapshot;
  histograms: Record<'eventLatencyMs' | 'openedLatencyMs' | 'translationLatencyMs' | 'botTurnTotalMs' | 'botTurnBotMs' | 'botTurnSynthesisMs', HistogramState>;
}

/** Several workers' figures as one: counts, CPU and memory summed, latencies merged, uptime the longest. */
export function mergeReports(reports: readonly StatsReport[]): StatsSnapshot {
  const [first, ...rest] = reports;
  if (!first) throw new Error('no reports to merge');
  const merged = structuredClone(first.snapshot);
  for (const r of rest) addNumbers(merged, r.snapshot);
  const summary = (key: keyof StatsReport['histograms']) => {
    const h = new Histogram();
    for (const r of reports) h.merge(r.histograms[key]);
    return h.summary();
  };
  merged.eventLatencyMs = summary('eventLatencyMs');
  merged.openedLatencyMs = summary('openedLatencyMs');
  merged.translations.latencyMs = summary('translationLatencyMs');
  merged.voiceBot.turnLatencyMs = { total: summary('botTurnTotalMs'), bot: summary('botTurnBotMs'), synthesis: summary('botTurnSynthesisMs') };
  merged.uptimeSeconds = Math.max(...reports.map((r) => r.snapshot.uptimeSeconds));
  // Delays are the worst worker's, not a sum.
  merged.process.eventLoopDelayP99Ms = Math.max(...reports.map((r) => r.snapshot.process.eventLoopDelayP99Ms));
  merged.process.eventLoopDelayMaxMs = Math.max(...reports.map((r) => r.snapshot.process.eventLoopDelayMaxMs));
  return merged;
}

/** into += from, for every number in from (objects recursed, missing keys taken). */
function addNumbers(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    const mine = into[key];
    if (typeof value === 'number') into[key] = (typeof mine === 'number' ? mine : 0) + value;
    else if (value && typeof value === 'object') {
      if (!mine || typeof mine !== 'object') into[key] = structuredClone(value);
      else addNumbers(mine as Record<string, unknown>, value as Record<string, unknown>);
    }
  }
}

/** Sampling interval of the event-loop delay figure, ms. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/** A sampled interval (ns) less the sampling interval, in ms to 0.01. */
const overInterval = (ns: number): number => Math.max(0, Math.round(ns / 1e4 - LOOP_DELAY_RESOLUTION_MS * 100) / 100);

/**
 * What a leak would show: handles and timers Node holds, open file descriptors (Linux), and the
 * event loop's delay since the previous snapshot (p99 and max, ms).
 */
function processFigures(loopDelay: IntervalHistogram) {
  const resources = process.getActiveResourcesInfo();
  let openFds = -1;
  try {
    openFds = readdirSync('/proc/self/fd').length;
  } catch {
    // not Linux
  }
  const figures = {
    activeResources: resources.length,
    timers: resources.filter((r) => r === 'Timeout').length,
    openFds,
    // The histogram holds whole timer intervals: the delay is what exceeds the sampling interval.
    eventLoopDelayP99Ms: overInterval(loopDelay.percentile(99)),
    eventLoopDelayMaxMs: overInterval(loopDelay.max),
  };
  loopDelay.reset();
  return figures;
}
