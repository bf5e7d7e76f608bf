/**
 * What a session reports about itself. The server implements it (counters, histograms,
 * /stats); tests pass a recorder. Sessions never know how figures are exported.
 */
/** How a session ended, for counting (a small fixed set: metric labels stay few). */
export type SessionOutcome = 'closed' | 'completed' | 'error' | 'refused' | 'dropped';

import type { VoiceBotMetrics } from '../voicebot/conversation.js';

export interface SessionMetrics extends VoiceBotMetrics {
  sessionOpened(info: { probe: boolean; engine: string; openToOpenedMs: number }): void;
  /** engine: undefined when the session never got past `open`. */
  sessionEnded(info: { probe: boolean; engine: string | undefined; outcome: SessionOutcome; reason: string }): void;
  /** A transcript event left the server; latencyMs runs from the audio (or result) that produced it. */
  eventSent(latencyMs: number, isFinal: boolean): void;
  /** Interims replaced in the queue by a newer hypothesis or their final, or shed under backlog. */
  eventsCoalesced(count: number): void;
  /** Events that could not be delivered (client refused events, close deadline passed). */
  eventsUndelivered(count: number, why: string): void;
  /** The client answered 429: events are held for heldMs more than they already were. */
  clientRateLimited(heldMs: number): void;
  /** An engine stream failed (retryable: the channel restarts it with replay). */
  engineError(engine: string, retryable: boolean): void;
  /** An engine stream was replaced: after a failure (restart) or before the vendor's limit (rotation). */
  engineStreamReplaced(engine: string, kind: 'restart' | 'rotation'): void;
  /** A session's engine could not recover and the call went on with another one. */
  engineFailover(from: string, to: string): void;
  protocolError(kind: string): void;
  /** A final went through translation: translated, skipped (same language), or sent untranslated (timeout, failed). */
  translationDone?(outcome: 'translated' | 'skipped' | 'timeout' | 'failed', ms: number): void;
}

export const noMetrics: SessionMetrics = {
  sessionOpened() {},
  sessionEnded() {},
  eventSent() {},
  eventsCoalesced() {},
  eventsUndelivered() {},
  clientRateLimited() {},
  engineError() {},
  engineStreamReplaced() {},
  engineFailover() {},
  protocolError() {},
};

export interface HistogramState {
  buckets: [index: number, count: number][];
  total: number;
  sum: number;
  max: number;
}

/**
 * A fixed-bucket log-scale histogram: O(1) record, bounded memory, percentiles within ~5%.
 * Good enough for latency p50/p99 across thousands of sessions.
 */
export class Histogram {
  private static readonly MIN = 0.01; // smallest bucket bound, in the recorded unit
  private static readonly GROWTH = 1.05;
  private readonly counts: Float64Array;
  private total = 0;
  private maxSeen = 0;
  private sum = 0;

  constructor(private readonly maxValue = 600_000) {
    const n = Math.ceil(Math.log(maxValue / Histogram.MIN) / Math.log(Histogram.GROWTH)) + 2;
    this.counts = new Float64Array(n);
  }

  record(value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    const v = Math.min(value, this.maxValue);
    const i = v <= Histogram.MIN ? 0 : Math.ceil(Math.log(v / Histogram.MIN) / Math.log(Histogram.GROWTH));
    this.counts[Math.min(i, this.counts.length - 1)]! += 1;
    this.total += 1;
    this.sum += value;
    if (value > this.maxSeen) this.maxSeen = value;
  }

  get count(): number {
    return this.total;
  }

  /** Upper bound of the bucket holding the q-quantile (0 when empty). */
  percentile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(Histogram.MIN * Histogram.GROWTH ** i, this.maxSeen);
    }
    return this.maxSeen;
  }

  /** The recorded state, compact (non-empty buckets only), to merge across processes. */
  toJSON(): HistogramState {
    const buckets: [number, number][] = [];
    this.counts.forEach((c, i) => c > 0 && buckets.push([i, c]));
    return { buckets, total: this.total, sum: this.sum, max: this.maxSeen };
  }

  /** Adds another histogram's recordings (same bounds) to this one. */
  merge(state: HistogramState): void {
    for (const [i, c] of state.buckets) if (i >= 0 && i < this.counts.length) this.counts[i]! += c;
    this.total += state.total;
    this.sum += state.sum;
    if (state.max > this.maxSeen) this.maxSeen = state.max;
  }

  summary(): { count: number; p50: number; p99: number; max: number; mean: number } {
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      count: this.total,
      p50: round(this.percentile(0.5)),
      p99: round(this.percentile(0.99)),
      max: round(this.maxSeen),
      mean: round(this.total ? this.sum / this.total : 0),
    };
  }
}
