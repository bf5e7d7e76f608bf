/**
 * One audio channel of a session: an engine stream, its place on the stream timeline, and the
 * turning of engine results into transcript entities. Engine-stream restarts (after a failure,
 * with back-off) and rotations (before a vendor's stream-length limit) live here, once, with the
 * replay of the audio no final covers yet, so no vendor writes its own.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ReplayBuffer } from '../engines/kit/replay.js';
import { EngineError, type EngineStream, type RecognitionResult, type SpeechEngine } from '../engines/types.js';
import { splitChannelsInto, type AudioFormat } from '../audio/frames.js';
import { SAMPLE_RATE } from '../protocol/media.js';
import { buildTranscriptEntity, splitLongResult } from '../transcript/builder.js';
import type { TranscriptEntity } from '../transcript/types.js';
import type { StreamTimeline } from './timeline.js';
import type { SessionMetrics } from './metrics.js';

/** Restarts allowed within RESTART_WINDOW_MS before the channel gives up. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;
/** Back-off before the 1st, 2nd, 3rd restart in the window: quick first, then about a second (as LiveKit). */
const RESTART_DELAYS_MS = [100, 1000, 2000] as const;
/** Unfinalized audio kept for a replacement stream; beyond it the oldest is lost (and counted). */
const REPLAY_MAX_MS = 30_000;
/** How often a watched stream is checked for a stall, at most (a quarter of the stall time when shorter). */
const STALL_CHECK_MS = 1_000;
/**
 * A stream being flushed (pause, close) that answers nothing for this long is stalled, whatever
 * the stall time: `close` must be answered within CLOSE_FLUSH_TIMEOUT_MS (8 s) with the replayed
 * audio recognized. Not shorter: a busy vendor (1,000 calls on a loaded machine, measured) can
 * take 3–4 s to finalize, and a false stall replays audio into it, which only adds to its load.
 */
const FLUSH_STALL_MS = 6_000;
/** A stream that fails during a flush is replaced and the replacement flushed, this often at most. */
const FLUSH_ATTEMPTS = 4;

/** Replace at the first pause past 80 % of an engine's stream limit; at 95 % without waiting for one. */
function rotationOf(engine: SpeechEngine): { afterSamples: number; hardSamples: number } | undefined {
  const maxMs = engine.capabilities.maxStreamMs;
  if (!maxMs) return undefined;
  const limit = (maxMs * SAMPLE_RATE) / 1000;
  return { afterSamples: Math.floor(limit * 0.8), hardSamples: Math.floor(limit * 0.95) };
}

export interface ChannelOptions {
  channelId: number;
  engine: SpeechEngine;
  language: string;
  interimResults: boolean;
  phrases?: readonly string[] | undefined;
  tokenLanguage: 'full' | 'primary';
  timeline: StreamTimeline;
  log: Logger;
  emit(entity: TranscriptEntity, isFinal: boolean): void;
  /** The engine refused the stream, or failed more often than the retry budget allows (and no fallback is left). */
  onFatal(error: Error): void;
  /**
   * The engine to continue on when `engine` cannot recover: the audio not yet finalized is
   * replayed into it, so the call goes on from the same point of its timeline.
   */
  fallback?: SpeechEngine | undefined;
  /** The channel moved to the fallback engine (once). */
  onFailover?(from: string, to: string, error: Error): void;
  /**
   * A stream that has been given audio but answered nothing (no result, no settled audio) for
   * this long (wall clock) is taken as stalled and restarted like a failed one. Engines that
   * cannot fail (not restartable, no fallback) are not watched.
   */
  stallMs?: number;
  metrics?: Pick<SessionMetrics, 'engineError' | 'engineStreamReplaced'>;
}

interface OpenStream {
  stream: EngineStream;
  /** Channel sample index of this stream's sample 0: engine times are relative to it. */
  baseSample: number;
  /** The language this stream was opened in: its late results keep it after a change. */
  language: string;
  utteranceId: string | undefined;
  /** Channel sample index up to which final results cover this stream's audio. */
  finalizedTo: number;
  /** Where the vendor stream's age counts from (its opening or its last flush). */
  ageFrom: number;
  /** Replaced after a failure or a rotation: the replacement re-recognizes its unfinalized audio. */
  superseded: boolean;
  /** Resolves when the stream is superseded: a flush waiting on a stalled stream stops waiting. */
  gone: Promise<void>;
  markGone(): void;
}

/** What happened to a channel's engine streams, for the session's last log line. */
export interface ChannelCounters {
  restarts: number;
  rotations: number;
  /** Moves to the fallback engine (0 or 1). */
  failovers: number;
  /** Audio no stream will transcribe: pushed while no stream could take it, or beyond what the replay kept when a replacement needed it. */
  lostSamples: number;
}

export class ChannelPipeline {
  /** The engine in use: the session's, or its fallback after a failover. */
  private engine: SpeechEngine;
  private fallback: SpeechEngine | undefined;
  private current: OpenStream | undefined;
  private samplesPushed = 0;
  private activeLanguage: string;
  private restarts: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  /** The utterance a failed stream left open: its replacement's results keep the id. */
  private pendingUtteranceId: string | undefined;
  private closed = false;
  /** Streams of the previous language still finalizing. */
  private readonly retiring = new Set<Promise<void>>();
  /** Audio not yet covered by a final, for engines whose streams can fail (capabilities.restartable). */
  private readonly replay: ReplayBuffer | undefined;
  private rotation: { afterSamples: number; hardSamples: number } | undefined;
  private readonly counts = { restarts: 0, rotations: 0, lostSamples: 0, failovers: 0 };
  /** Stall watch: when the current stream last answered, and how much audio it had been given by then. */
  private lastAnswerAt = Date.now();
  private samplesAtLastAnswer = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Flushes under way (a pause's and a close's may overlap). */
  private flushing = 0;

  constructor(private readonly options: ChannelOptions) {
    this.activeLanguage = options.language;
    this.engine = options.engine;
    this.fallback = options.fallback;
    // The replay copy is what a restart, or a failover, gives the new stream.
    if (this.engine.capabilities.restartable || this.fallback) this.replay = new ReplayBuffer((REPLAY_MAX_MS * SAMPLE_RATE) / 1000);
    this.rotation = rotationOf(this.engine);
    if (this.replay && options.stallMs) {
      const stallMs = options.stallMs;
      // Not unref'd: a leaked channel shows as a live timer (/stats process.timers).
      this.stallTimer = setInterval(() => this.checkStall(stallMs), Math.max(250, Math.min(STALL_CHECK_MS, stallMs / 4)));
    }
    this.current = this.openStream(0, undefined);
  }

  get channelId(): number {
    return this.options.channelId;
  }

  /** The language new audio is recognized in. */
  get language(): string {
    return this.activeLanguage;
  }

  get counters(): ChannelCounters {
    return { ...this.counts };
  }

  /** The engine this channel's audio goes to now. */
  get engineName(): string {
    return this.engine.name;
  }

  /** Whether the engine takes µ-law as it arrives (see EngineCapabilities.mulawInput). */
  get takesMulaw(): boolean {
    return this.engine.capabilities.mulawInput === true && !this.replay && this.current?.stream.pushMulaw !== undefined;
  }

  push(samples: Int16Array): void {
    if (this.closed) return;
    const at = this.samplesPushed;
    this.samplesPushed += samples.length;
    this.replay?.append(samples, at);
    const cur = this.current;
    if (!cur) {
      // Waiting for a restart: the replay buffer holds the audio, if the engine has one.
      if (!this.replay) this.counts.lostSamples += samples.length;
      return;
    }
    cur.stream.push(samples);
    if (this.rotation && this.samplesPushed - cur.ageFrom >= this.rotation.hardSamples) this.replaceStream('no pause before the stream limit');
  }

  /** A whole interleaved PCMU frame; the engine reads this channel's bytes in place. */
  pushMulaw(frame: Uint8Array, channelCount: number): void {
    if (this.closed) return;
    const n = frame.length / channelCount;
    this.samplesPushed += n;
    if (this.current) this.current.stream.pushMulaw?.(frame, this.options.channelId, channelCount);
    else this.counts.lostSamples += n;
  }

  /**
   * Finalizes the utterance in progress (pause, close), including a stream retired by a language
   * change. A stream that fails or stalls meanwhile is replaced (its audio replayed) and the
   * replacement flushed in its turn, so what was said is still recognized.
   */
  async flush(): Promise<void> {
    this.flushing += 1;
    this.lastAnswerAt = Date.now(); // a stall during the flush counts from its start
    try {
      for (let attempt = 0; attempt < FLUSH_ATTEMPTS && !this.closed; attempt++) {
        // Audio waiting for a restart is transcribed now rather than after the back-off.
        if (this.restartTimer) this.restartNow();
        const entry = this.current;
        const upTo = this.samplesPushed;
        // A failure of the stream is reported through onError (and handled there), not here.
        await Promise.all([entry && Promise.race([entry.stream.flush().catch(() => {}), entry.gone]), ...this.retiring]);
        if (!entry || this.closed) return;
        if (entry === this.current) {
          // Every result for audio pushed before the flush has been delivered; the vendor stream starts afresh.
          entry.finalizedTo = Math.max(entry.finalizedTo, upTo);
          entry.ageFrom = this.samplesPushed;
          this.replay?.discardBefore(upTo);
          // It answered for all it was given (maybe with nothing: silence); a hold that follows is no stall.
          this.answered();
          return;
        }
        // The stream failed during the flush: flush its replacement (restarting at once if need be).
      }
    } finally {
      this.flushing -= 1;
    }
  }

  /**
   * New audio goes to a fresh stream in the new language at once; the old stream finalizes what
   * it has (in the old language, on its own time base) and is closed in the background, so no
   * frame is lost to a slow vendor flush.
   */
  async changeLanguage(language: string): Promise<void> {
    if (this.closed || language === this.activeLanguage) return;
    // Audio waiting for a restart belongs to the old language: recognize it there before retiring.
    if (this.restartTimer) this.restartNow();
    const old = this.current;
    this.activeLanguage = language;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.replay?.discardBefore(this.samplesPushed);
    this.current = this.openStream(this.samplesPushed, undefined);
    if (old) await this.retire(old, 'language change');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.stallTimer);
    this.replay?.clear();
    const s = this.current;
    this.current = undefined;
    await s?.stream.close().catch((err: unknown) => this.options.log.debug({ err }, 'engine stream close failed'));
  }

  private openStream(baseSample: number, utteranceId: string | undefined): OpenStream {
    const entry: OpenStream = {
      stream: undefined as unknown as EngineStream,
      baseSample,
      language: this.activeLanguage,
      utteranceId,
      finalizedTo: baseSample,
      ageFrom: baseSample,
      superseded: false,
      gone: undefined as unknown as Promise<void>,
      markGone: () => {},
    };
    entry.gone = new Promise<void>((resolve) => (entry.markGone = resolve));
    this.lastAnswerAt = Date.now();
    this.samplesAtLastAnswer = this.samplesPushed;
    entry.stream = this.engine.openStream({
      language: this.activeLanguage,
      sampleRate: SAMPLE_RATE,
      interimResults: this.options.interimResults,
      ...(this.options.phrases ? { phrases: this.options.phrases } : {}),
      ...(this.fallback ? { failFast: true } : {}),
      log: this.options.log,
      onResult: (result) => this.handleResult(entry, result),
      onSettled: (untilMs) => this.handleSettled(entry, untilMs),
      onError: (error) => this.handleError(entry, error),
    });
    return entry;
  }

  /** Flushes a stream that new audio no longer reaches, then closes it. */
  private async retire(old: OpenStream, why: string): Promise<void> {
    const retiring = old.stream
      .flush()
      .catch((err: unknown) => this.options.log.warn({ err, channel: this.channelId, why }, 'engine flush of a retired stream failed'))
      .then(() => old.stream.close())
      .catch(() => {});
    this.retiring.add(retiring);
    await retiring;
    this.retiring.delete(retiring);
  }

  /**
   * Replaces the current stream before its vendor's limit: the new stream starts where the last
   * final ended and is given the audio since then; the old stream's unfinished hypothesis is
   * abandoned and recognized again, so no word is lost or doubled, results stay in order, and the
   * open utterance keeps its id. Only when that audio is itself close to the limit (results
   * lagging far behind) would a replay not help: then the old stream is flushed instead — it
   * finalizes all it heard — and the new one takes the audio from here on.
   */
  private replaceStream(why: string): void {
    const old = this.current;
    if (!old) return;
    this.counts.rotations += 1;
    this.options.metrics?.engineStreamReplaced(this.engine.name, 'rotation');
    this.options.log.debug({ channel: this.channelId, why, streamSeconds: (this.samplesPushed - old.ageFrom) / SAMPLE_RATE }, 'engine stream rotated');
    if (!this.replay || (this.rotation && this.replay.samples > this.rotation.hardSamples / 2)) {
      this.replay?.discardBefore(this.samplesPushed);
      this.current = this.openStream(this.samplesPushed, undefined);
      void this.retire(old, why);
      return;
    }
    old.superseded = true;
    old.markGone();
    this.countReplayGap(old);
    void old.stream.close().catch(() => {});
    this.current = undefined;
    this.startFromReplay(old.utteranceId);
  }

  private startFromReplay(utteranceId: string | undefined): void {
    const from = this.replay ? this.replay.start : this.samplesPushed;
    const entry = this.openStream(from, utteranceId);
    this.current = entry;
    if (this.replay) for (const pcm of this.replay.read()) entry.stream.push(pcm);
  }

  private restartNow(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.closed || this.current) return;
    this.counts.restarts += 1;
    this.options.metrics?.engineStreamReplaced(this.engine.name, 'restart');
    this.startFromReplay(this.pendingUtteranceId);
    this.pendingUtteranceId = undefined;
  }

  private handleResult(entry: OpenStream, result: RecognitionResult): void {
    if (this.closed || entry.superseded) return;
    if (entry === this.current) this.answered();
    if (!result.isFinal && !this.options.interimResults) return;
    if (result.isFinal) {
      const end = entry.baseSample + Math.round((result.endMs * SAMPLE_RATE) / 1000);
      if (end > entry.finalizedTo) entry.finalizedTo = end;
      if (entry === this.current) this.replay?.discardBefore(entry.finalizedTo);
    }
    if (result.text.trim() === '') {
      // An empty final still closes the utterance its interims opened.
      if (result.isFinal) entry.utteranceId = undefined;
    } else {
      this.emitResult(entry, result);
    }
    // A final is a pause in speech: the moment to replace a stream nearing its vendor's limit.
    if (result.isFinal && entry === this.current && this.rotation && this.samplesPushed - entry.ageFrom >= this.rotation.afterSamples) {
      this.replaceStream('stream limit near');
    }
  }

  private handleSettled(entry: OpenStream, untilMs: number): void {
    if (this.closed || entry !== this.current) return;
    this.answered();
    if (!this.replay) return;
    const until = entry.baseSample + Math.floor((untilMs * SAMPLE_RATE) / 1000);
    if (until > entry.finalizedTo) entry.finalizedTo = until;
    this.replay.discardBefore(entry.finalizedTo);
  }

  private emitResult(entry: OpenStream, result: RecognitionResult): void {
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
    entry.superseded = true;
    entry.markGone();
    this.countReplayGap(entry);
    this.current = undefined;
    void entry.stream.close().catch(() => {});
    const log = this.options.log;
    this.options.metrics?.engineError(this.engine.name, !(error instanceof EngineError) || error.retryable);
    if (error instanceof EngineError && !error.retryable) {
      log.error({ err: error, channel: this.channelId, kind: error.kind, engine: this.engine.name }, 'speech engine refused the stream');
      return this.failOver(entry, error);
    }
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restarts.length >= MAX_RESTARTS) {
      log.error({ err: error, channel: this.channelId, restarts: this.restarts.length, engine: this.engine.name }, 'speech engine failed repeatedly; giving up on it');
      return this.failOver(entry, error);
    }
    const delay = RESTART_DELAYS_MS[this.restarts.length] ?? 1000;
    this.restarts.push(now);
    this.pendingUtteranceId = entry.utteranceId;
    log.warn(
      { err: error, channel: this.channelId, retryInMs: delay, unfinalizedMs: this.replay ? (this.replay.samples * 1000) / SAMPLE_RATE : undefined },
      'speech engine stream failed; restarting',
    );
    this.restartTimer = setTimeout(() => this.restartNow(), delay);
  }

  /**
   * The engine cannot recover: continue on the fallback from the same point of the timeline —
   * the audio no final covers is replayed into it, the open utterance keeps its id — or, with no
   * fallback left, end the session's transcription (onFatal).
   */
  private failOver(entry: OpenStream, error: Error): void {
    const to = this.fallback;
    if (!to) return this.options.onFatal(error);
    const from = this.engine.name;
    this.fallback = undefined;
    this.engine = to;
    this.rotation = rotationOf(to);
    this.restarts = [];
    this.counts.failovers += 1;
    this.options.onFailover?.(from, to.name, error);
    this.startFromReplay(entry.utteranceId);
  }

  /**
   * Audio a replacement for `entry` cannot be given: what the replay's cap dropped from what
   * `entry` had not finalized. (Audio the cap drops while the stream is healthy is no loss: the
   * stream has it.)
   */
  private countReplayGap(entry: OpenStream): void {
    if (!this.replay) return;
    const gap = this.replay.start - entry.finalizedTo;
    if (gap > 0) this.counts.lostSamples += gap;
  }

  private answered(): void {
    this.lastAnswerAt = Date.now();
    this.samplesAtLastAnswer = this.samplesPushed;
  }

  /** A stream given audio that has answered nothing for stallMs is failed like a dropped one. */
  private checkStall(stallMs: number): void {
    const entry = this.current;
    if (this.closed || !entry || this.samplesPushed === this.samplesAtLastAnswer) return;
    const silentMs = Date.now() - this.lastAnswerAt;
    if (silentMs < (this.flushing > 0 ? Math.min(stallMs, FLUSH_STALL_MS) : stallMs)) return;
    this.handleError(entry, new EngineError(`no answer from the engine for ${Math.round(silentMs / 1000)} s`, 'unavailable', true));
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
