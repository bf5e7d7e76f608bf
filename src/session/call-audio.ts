/**
 * What a session starts at `open` for a call with audio, and lets go of as one: a channel
 * pipeline per channel (the engine streams) and translation. Probes and calls without media have
 * none. The recognition language (recognition-language.ts) decides when the channels start and
 * restart; the session feeds frames in and takes transcripts out.
 */
import type { Logger } from 'pino';
import type { AudioFormat } from '../audio/frames.js';
import type { MediaOffer } from '../protocol/messages.js';
import { SAMPLE_RATE } from '../protocol/media.js';
import type { TranscriptEntity } from '../transcript/types.js';
import type { TranslationService } from '../translation/service.js';
import { SessionTranslation, type TranscriptOut } from '../translation/session.js';
import { ChannelPipeline, routeFrame } from './channel.js';
import type { SessionMetrics } from './metrics.js';
import type { OpenDecision } from './open.js';
import type { StreamTimeline } from './timeline.js';

export interface CallAudioOptions {
  decision: Extract<OpenDecision, { ok: true }>;
  media: MediaOffer;
  tokenLanguage: 'full' | 'primary';
  engineStallMs: number | undefined;
  timeline: StreamTimeline;
  log: Logger;
  metrics: SessionMetrics;
  /** Translation of the finals, when the session asked for it and the server has it. */
  translation: { service: TranslationService; contextUtterances: number; target: string; source(): string } | undefined;
  /** A transcript from a channel (before translation). */
  emit(entity: TranscriptEntity, isFinal: boolean): void;
  /** A transcript ready to be sent (translated, or not to be). */
  enqueue(out: TranscriptOut): void;
  /** An engine gave up and no fallback is left. */
  onFatal(error: Error): void;
  onFailover(from: string, to: string, error: Error): void;
}

export class CallAudio {
  readonly format: AudioFormat;
  readonly channelCount: number;
  readonly translation: SessionTranslation | undefined;
  private channels: ChannelPipeline[] = [];
  private released = false;
  /** Engine-stream restarts, rotations and audio no stream could transcribe, over all channels. */
  private readonly counts = { restarts: 0, rotations: 0, lostSamples: 0 };

  constructor(private readonly o: CallAudioOptions) {
    this.format = o.media.format as AudioFormat;
    this.channelCount = o.media.channels.length;
    const t = o.translation;
    if (t) {
      this.translation = new SessionTranslation({
        service: t.service,
        target: t.target,
        source: t.source,
        glossary: o.decision.glossary,
        contextUtterances: t.contextUtterances,
        speakerOf: (channelId) => (o.media.channels[channelId] === 'internal' ? 'agent' : 'customer'),
        tokenLanguage: o.tokenLanguage,
        emit: (out) => o.enqueue(out),
        log: o.log,
        onOutcome: (outcome, ms) => o.metrics.translationDone?.(outcome, ms),
      });
    }
  }

  get pipelines(): readonly ChannelPipeline[] {
    return this.channels;
  }

  /** Starts (or, after a release, never again) a pipeline per channel, recognizing in `language`. */
  start(language: string): void {
    if (this.released) return;
    const o = this.o;
    const decision = o.decision;
    this.channels = Array.from(
      { length: this.channelCount },
      (_, channelId) =>
        new ChannelPipeline({
          channelId,
          engine: decision.engine,
          language,
          interimResults: decision.interimResults,
          phrases: decision.phrases,
          tokenLanguage: o.tokenLanguage,
          timeline: o.timeline,
          log: o.log,
          emit: o.emit,
          onFatal: o.onFatal,
          fallback: decision.fallback,
          onFailover: o.onFailover,
          ...(o.engineStallMs ? { stallMs: o.engineStallMs } : {}),
          metrics: o.metrics,
        }),
    );
  }

  /** One audio frame to the channels; returns the samples per channel it held. */
  route(frame: Uint8Array): number {
    return routeFrame(frame, this.format, this.channelCount, this.channels);
  }

  /** Samples per channel in a frame of this call's format. */
  samplesIn(frame: Uint8Array): number {
    return frame.byteLength / (this.channelCount * (this.format === 'PCMU' ? 1 : 2));
  }

  /** A transcript from a channel: through translation when the call has it. */
  submit(out: TranscriptOut): void {
    if (this.translation) this.translation.submit(out);
    else this.o.enqueue(out);
  }

  /** Finalizes one channel's utterance in progress (pause, language change), in the background. */
  flushChannel(ch: ChannelPipeline, why: string): void {
    ch.flush().catch((err: unknown) => this.o.log.warn({ err, channel: ch.channelId, why }, 'engine flush failed'));
  }

  flushAll(why: string): void {
    for (const ch of this.channels) this.flushChannel(ch, why);
  }

  /** The end of the call's audio: every channel finalized, every translation done. */
  async finish(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.flush()));
    await this.translation?.idle();
  }

  /** Lets go of the engine streams and translation (idempotent), keeping their counts. */
  release(): void {
    this.released = true;
    this.translation?.dispose();
    const channels = this.channels;
    this.channels = [];
    for (const ch of channels) {
      const c = ch.counters;
      this.counts.restarts += c.restarts;
      this.counts.rotations += c.rotations;
      this.counts.lostSamples += c.lostSamples;
      void ch.close();
    }
  }

  /** For the session's last log line. */
  summary() {
    return {
      engineRestarts: this.counts.restarts,
      engineRotations: this.counts.rotations,
      audioNotTranscribedMs: Math.round((this.counts.lostSamples * 1000) / SAMPLE_RATE),
      ...(this.translation ? { translation: this.translation.counts } : {}),
    };
  }
}
