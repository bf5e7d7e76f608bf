/**
 * What a session reports about itself. The server implements it (counters, histograms,
 * /stats); tests pass a recorder. Sessions never know how figures are exported.
 */
export interface SessionMetrics {
  sessionOpened(info: { probe: boolean; vendor?: string; openToOpenedMs: number }): void;
  sessionEnded(info: { probe: boolean; reason: string }): void;
  /** A transcript event left the server; latencyMs runs from the audio (or result) that produced it. */
  eventSent(latencyMs: number, isFinal: boolean): void;
  /** Events that could not be delivered (client refused events, close deadline passed). */
  eventsUndelivered(count: number, why: string): void;
  protocolError(kind: string): void;
  /** A final went through translation: translated, skipped (same language), or sent untranslated (timeout, failed). */
  translationDone?(outcome: 'translated' | 'skipped' | 'timeout' | 'failed', ms: number): void;
}

export const noMetrics: SessionMetrics = {
  sessionOpened() {},
  sessionEnded() {},
  eventSent() {},
  eventsUndelivered() {},
  protocolError() {},
};

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
