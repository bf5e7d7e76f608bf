/**
 * Process-wide figures: what /stats reports and the benchmark reads. The session layer only sees
 * the SessionMetrics interface.
 */
import { Histogram, type SessionMetrics } from '../session/metrics.js';

export class ServerStats implements SessionMetrics {
  readonly eventLatencyMs = new Histogram();
  readonly openedLatencyMs = new Histogram();
  sessionsOpened = 0;
  probes = 0;
  sessionsEnded = 0;
  eventsSent = 0;
  interimEventsSent = 0;
  undeliveredEvents = 0;
  protocolErrors = 0;
  /** Finals by translation outcome, and how long the translated ones took. */
  readonly translations = { translated: 0, skipped: 0, timeout: 0, failed: 0 };
  readonly translationLatencyMs = new Histogram();
  upgradesRejected: Record<string, number> = {};

  sessionOpened(info: { probe: boolean; openToOpenedMs: number }): void {
    if (info.probe) this.probes += 1;
    else this.sessionsOpened += 1;
    this.openedLatencyMs.record(info.openToOpenedMs);
  }

  sessionEnded(): void {
    this.sessionsEnded += 1;
  }

  eventSent(latencyMs: number, isFinal: boolean): void {
    this.eventsSent += 1;
    if (!isFinal) this.interimEventsSent += 1;
    // The latency figure is about finals: the transcript that ends an utterance.
    if (isFinal) this.eventLatencyMs.record(latencyMs);
  }

  eventsUndelivered(count: number): void {
    this.undeliveredEvents += count;
  }

  protocolError(): void {
    this.protocolErrors += 1;
  }

  translationDone(outcome: keyof ServerStats['translations'], ms: number): void {
    this.translations[outcome] += 1;
    if (outcome !== 'skipped') this.translationLatencyMs.record(ms);
  }

  upgradeRejected(status: number): void {
    this.upgradesRejected[status] = (this.upgradesRejected[status] ?? 0) + 1;
  }

  snapshot(extra: { sessions: number; eventsQueued: number }) {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    return {
      sessions: extra.sessions,
      sessionsOpened: this.sessionsOpened,
      probes: this.probes,
      sessionsEnded: this.sessionsEnded,
      cpu: { userMicros: cpu.user, systemMicros: cpu.system },
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      uptimeSeconds: Math.round(process.uptime()),
      eventLatencyMs: this.eventLatencyMs.summary(),
      openedLatencyMs: this.openedLatencyMs.summary(),
      eventsSent: this.eventsSent,
      interimEventsSent: this.interimEventsSent,
      eventsQueued: extra.eventsQueued,
      eventsUndelivered: this.undeliveredEvents,
      protocolErrors: this.protocolErrors,
      translations: { ...this.translations, latencyMs: this.translationLatencyMs.summary() },
      upgradesRejected: this.upgradesRejected,
    };
  }
}

/** The JSON `/stats` serves (the benchmark reads it from another process). */
export type StatsSnapshot = ReturnType<ServerStats['snapshot']>;
