/**
 * The AudioHook stream timeline (protocol §6): stream time advances with the audio received and
 * over every gap the client declares (`discarded`, `resumed`). Engines only see received audio, so
 * their sample indexes are mapped back here through the gap breakpoints.
 */
/** Less than any real distance between samples: only exact boundaries are affected. */
const END_EPSILON = 1e-6;

export class StreamTimeline {
  private readonly sampleRate: number;
  private received = 0;
  /** Breakpoint k: from sample `breakSample[k]` on, `breakGap[k]` seconds of gaps apply. Ascending. */
  private readonly breakSample: number[] = [];
  private readonly breakGap: number[] = [];

  constructor(sampleRate = 8000) {
    if (!(sampleRate > 0) || !Number.isFinite(sampleRate)) {
      throw new Error(`invalid sample rate ${sampleRate}`);
    }
    this.sampleRate = sampleRate;
  }

  /** Audio received: the per-channel sample count of one frame. */
  advance(samples: number): void {
    if (samples > 0 && Number.isFinite(samples)) this.received += samples;
  }

  /** A gap declared now; it applies to every sample received after this call. */
  addGap(seconds: number): void {
    if (!(seconds > 0) || !Number.isFinite(seconds)) return;
    const last = this.breakSample.length - 1;
    const total = this.totalGapSeconds + seconds;
    if (last >= 0 && this.breakSample[last] === this.received) {
      // Consecutive gaps with no audio between them share one breakpoint.
      this.breakGap[last] = total;
    } else {
      this.breakSample.push(this.received);
      this.breakGap.push(total);
    }
  }

  get samplesReceived(): number {
    return this.received;
  }

  /** Sum of all declared gaps, in seconds. */
  get totalGapSeconds(): number {
    const last = this.breakGap.length - 1;
    return last >= 0 ? (this.breakGap[last] as number) : 0;
  }

  /** Current stream position in seconds. */
  get position(): number {
    return this.received / this.sampleRate + this.totalGapSeconds;
  }

  /**
   * Stream time (seconds) of the received sample with this index (fractional allowed). A gap
   * declared when exactly N samples had arrived applies to sample N and later.
   */
  positionOfSample(sampleIndex: number): number {
    return sampleIndex / this.sampleRate + this.gapBefore(sampleIndex);
  }

  /**
   * Stream time (seconds) of a span *ending* at this sample boundary. Unlike a start, an end
   * that falls exactly on a gap's breakpoint belongs before the gap: speech that ran up to a
   * hold ends when the hold began, not when it was over.
   */
  positionOfEnd(sampleIndex: number): number {
    return sampleIndex / this.sampleRate + this.gapBefore(sampleIndex - END_EPSILON);
  }

  /** Gap seconds in force at a sample index: the last breakpoint at or before it. */
  private gapBefore(sampleIndex: number): number {
    const samples = this.breakSample;
    const count = samples.length;
    if (count === 0 || sampleIndex < (samples[0] as number)) return 0;
    // Fast path: engines mostly ask about recent audio, after the last gap.
    if (sampleIndex >= (samples[count - 1] as number)) return this.breakGap[count - 1] as number;
    let lo = 0;
    let hi = count - 1; // invariant: samples[lo] <= sampleIndex < samples[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if ((samples[mid] as number) <= sampleIndex) lo = mid;
      else hi = mid;
    }
    return this.breakGap[lo] as number;
  }
}
