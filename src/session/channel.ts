/**
 * One audio channel of a session: an engine stream, its place on the stream timeline, and the
 * turning of engine results into transcript entities. Engine-stream retry lives here, once, so
 * no vendor writes its own.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EngineStream, RecognitionResult, SpeechEngine } from '../engines/types.js';
import { splitChannelsInto, type AudioFormat } from '../audio/frames.js';
import { SAMPLE_RATE } from '../protocol/media.js';
import { buildTranscriptEntity, splitLongResult } from '../transcript/builder.js';
import type { TranscriptEntity } from '../transcript/types.js';
import type { StreamTimeline } from './timeline.js';

/** Restarts allowed within RESTART_WINDOW_MS before the channel gives up. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

export interface ChannelOptions {
  channelId: number;
  engine: SpeechEngine;
  language: string;
  interimResults: boolean;
  tokenLanguage: 'full' | 'primary';
  timeline: StreamTimeline;
  log: Logger;
  emit(entity: TranscriptEntity, isFinal: boolean): void;
  /** The engine failed more often than the retry budget allows. */
  onFatal(error: Error): void;
}

interface OpenStream {
  stream: EngineStream;
  /** Channel sample index of this stream's sample 0: engine times are relative to it. */
  baseSample: number;
  /** The language this stream was opened in: its late results keep it after a change. */
  language: string;
  utteranceId: string | undefined;
}

export class ChannelPipeline {
  private current: OpenStream | undefined;
  private samplesPushed = 0;
  private language: string;
  private restarts: number[] = [];
  private closed = false;
  /** Streams of the previous language still finalizing. */
  private readonly retiring = new Set<Promise<void>>();

  constructor(private readonly options: ChannelOptions) {
    this.language = options.language;
    this.current = this.openStream();
  }

  get channelId(): number {
    return this.options.channelId;
  }

  /** Whether the engine takes µ-law as it arrives (see EngineCapabilities.mulawInput). */
  get takesMulaw(): boolean {
    return this.options.engine.capabilities.mulawInput === true && this.current?.stream.pushMulaw !== undefined;
  }

  push(samples: Int16Array): void {
    if (this.closed) return;
    this.current?.stream.push(samples);
    this.samplesPushed += samples.length;
  }

  /** A whole interleaved PCMU frame; the engine reads this channel's bytes in place. */
  pushMulaw(frame: Uint8Array, channelCount: number): void {
    if (this.closed) return;
    this.current?.stream.pushMulaw?.(frame, this.options.channelId, channelCount);
    this.samplesPushed += frame.length / channelCount;
  }

  /** Finalizes the utterance in progress (pause, close), including a stream retired by a language change. */
  async flush(): Promise<void> {
    if (this.closed) return;
    await Promise.all([this.current?.stream.flush(), ...this.retiring]);
  }

  /**
   * New audio goes to a fresh stream in the new language at once; the old stream finalizes what
   * it has (in the old language, on its own time base) and is closed in the background, so no
   * frame is lost to a slow vendor flush.
   */
  async changeLanguage(language: string): Promise<void> {
    if (this.closed || language === this.language) return;
    const old = this.current;
    this.language = language;
    this.current = this.openStream();
    if (!old) return;
    const retiring = old.stream
      .flush()
      .catch((err: unknown) => this.options.log.warn({ err, channel: this.channelId }, 'flush before language change failed'))
      .then(() => old.stream.close())
      .catch(() => {});
    this.retiring.add(retiring);
    await retiring;
    this.retiring.delete(retiring);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const s = this.current;
    this.current = undefined;
    await s?.stream.close().catch((err: unknown) => this.options.log.debug({ err }, 'engine stream close failed'));
  }

  private openStream(): OpenStream {
    const entry: OpenStream = {
      stream: undefined as unknown as EngineStream,
      baseSample: this.samplesPushed,
      language: this.language,
      utteranceId: undefined,
    };
    entry.stream = this.options.engine.openStream({
      language: this.language,
      sampleRate: SAMPLE_RATE,
      interimResults: this.options.interimResults,
      log: this.options.log,
      onResult: (result) => this.handleResult(entry, result),
      onError: (error) => this.handleError(entry, error),
    });
    return entry;
  }

  private handleResult(entry: OpenStream, result: RecognitionResult): void {
    if (this.closed) return;
    if (!result.isFinal && !this.options.interimResults) return;
    if (result.text.trim() === '') {
      // An empty final still closes the utterance its interims opened.
      if (result.isFinal) entry.utteranceId = undefined;
      return;
    }
    const utteranceId = (entry.utteranceId ??= randomUUID());
    if (result.isFinal) entry.utteranceId = undefined;
    const toStreamSeconds = (engineMs: number, edge?: 'start' | 'end') => {
      const sample = entry.baseSample + (engineMs * SAMPLE_RATE) / 1000;
      return edge === 'end' ? this.options.timeline.positionOfEnd(sample) : this.options.timeline.positionOfSample(sample);
    };
    // A very long final becomes several consecutive transcripts, each well under the 64 KiB message limit.
    const parts = result.isFinal ? splitLongResult(result) : [result];
    parts.forEach((part, i) => {
      const entity = buildTranscriptEntity({
        result: part,
        utteranceId: i === 0 ? utteranceId : randomUUID(),
        channelId: this.options.channelId,
        language: entry.language,
        toStreamSeconds,
        tokenLanguage: this.options.tokenLanguage,
      });
      this.options.emit(entity, result.isFinal);
    });
  }

  private handleError(entry: OpenStream, error: Error): void {
    if (this.closed || entry !== this.current) return;
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restarts.length >= MAX_RESTARTS) {
      this.options.log.error({ err: error, channel: this.channelId, restarts: this.restarts.length }, 'speech engine failed repeatedly; giving up on channel');
      this.current = undefined;
      this.options.onFatal(error);
      return;
    }
    this.restarts.push(now);
    // Audio pushed into the failed stream since its last final is not recoverable from here.
    this.options.log.warn(
      { err: error, channel: this.channelId, utteranceInProgress: entry.utteranceId !== undefined },
      'speech engine stream failed; restarting',
    );
    void entry.stream.close().catch(() => {});
    this.current = this.openStream();
  }
}

/**
 * Decoded audio of the frame being handled, per channel, shared by every session: pushes are
 * synchronous and engines copy what they keep (see EngineStream.push), so one set of arrays
 * serves the process and no frame allocates.
 */
const pcmScratch: Int16Array[] = [];

/**
 * Hands one validated wire frame to the channels, in the order of the selected media's
 * `channels`: engines that take µ-law read it in place, the others get it decoded.
 * Returns the samples per channel.
 */
export function routeFrame(frame: Uint8Array, format: AudioFormat, channelCount: number, channels: readonly ChannelPipeline[]): number {
  if (format === 'PCMU' && channels.length > 0 && channels[0]!.takesMulaw) {
    for (let i = 0; i < channels.length; i++) channels[i]!.pushMulaw(frame, channelCount);
    return frame.byteLength / channelCount;
  }
  const capacity = frame.byteLength / (format === 'PCMU' ? channelCount : 2 * channelCount);
  for (let c = 0; c < channelCount; c++) {
    if (!pcmScratch[c] || pcmScratch[c]!.length < capacity) pcmScratch[c] = new Int16Array(capacity);
  }
  const n = splitChannelsInto(frame, format, channelCount, pcmScratch);
  for (let i = 0; i < channels.length; i++) {
    const samples = pcmScratch[i]!;
    channels[i]!.push(samples.length === n ? samples : samples.subarray(0, n));
  }
  return n;
}
