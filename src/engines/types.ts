/**
 * The one contract every speech engine implements (in the spirit of LiveKit's STT plugins).
 *
 * An engine opens one stream per audio channel. The session pushes 8 kHz mono PCM16 into it and
 * receives interim/final results whose times are relative to the audio *that stream* was given
 * (sample 0 = the first sample pushed into this stream). Mapping those times onto the AudioHook
 * stream timeline (pauses, discards, stream restarts) is the session's job, never the engine's.
 */
import type { Logger } from 'pino';
import { primaryLanguage } from '../protocol/language.js';

/** What an engine can do, declared rather than guessed from its output. */
export interface EngineCapabilities {
  /** Emits `isFinal:false` hypotheses before the final result. */
  interimResults: boolean;
  /** Gives per-word start/end times. Without them, word timing is spread over the utterance. */
  wordTimes: boolean;
  /** Gives per-word confidence. Without it, words inherit the utterance confidence. */
  wordConfidence: boolean;
  /**
   * Takes G.711 µ-law bytes as they arrive (`EngineStream.pushMulaw`), so PCMU calls skip the
   * decode — e.g. Google's MULAW encoding. PCM16 `push` must work regardless (L16 media).
   */
  mulawInput?: boolean;
  /**
   * A vendor stream lives at most this long (ms of audio); the channel pipeline replaces it before
   * then, at a pause in speech, replaying the audio not yet finalized (e.g. Google: ~5 minutes).
   */
  maxStreamMs?: number;
  /**
   * Streams can fail and be restarted (a remote vendor): the channel pipeline keeps the audio not
   * yet finalized (bounded) so that a restarted stream gets it again and no word is lost. Engines
   * that cannot fail (simulated) leave it off and skip that copy. Such engines take PCM16 only.
   */
  restartable?: boolean;
}
// With `maxStreamMs`, an engine promises that `flush()` ends its vendor stream and that the next
// push starts a fresh one: the pipeline counts a stream's age from its opening or last flush.

export interface RecognizedWord {
  text: string;
  /** Milliseconds from the first sample pushed into this stream. */
  startMs: number;
  endMs: number;
  /** In [0, 1] when the engine gives one. */
  confidence?: number;
}

export interface RecognitionResult {
  isFinal: boolean;
  /** Display text, punctuation attached to words. */
  text: string;
  /** Utterance confidence in [0, 1], when the engine gives one. */
  confidence?: number;
  /** Span of the utterance, milliseconds from the first sample pushed into this stream. */
  startMs: number;
  endMs: number;
  /**
   * The words, when the engine gives them. Their times are the engine's own only when
   * `capabilities.wordTimes`; otherwise they are spread over the utterance (e.g. words carried for
   * their confidence).
   */
  words?: RecognizedWord[];
  /** BCP-47 tag the engine recognised in, when it says; else the stream's language. */
  language?: string;
}

/** Why an engine stream failed, and whether starting a new stream may help. */
export type EngineErrorKind = 'auth' | 'quota' | 'unavailable' | 'bad-input' | 'internal';

/**
 * What an engine reports through `onError`. `message` is safe to show a Genesys admin (it goes
 * into the `disconnect` info when the failure is final): no secrets, no transcript text.
 */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly kind: EngineErrorKind,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

/**
 * A recognizer of whole utterances (OpenAI, pocketsphinx…), turned into an engine by the
 * utterance buffer. Word times are relative to `pcm[0]`.
 */
export interface UtteranceRecognizer {
  readonly name: string;
  recognize(
    pcm: Int16Array,
    options: { language: string; sampleRate: number; signal: AbortSignal },
  ): Promise<Omit<RecognitionResult, 'isFinal' | 'startMs' | 'endMs'>>;
}

export interface EngineStreamOptions {
  /** BCP-47 language tag, e.g. `en-US`. */
  language: string;
  /** Always 8000 for AudioHook; engines resample when their model needs another rate. */
  sampleRate: number;
  /** Whether the session wants interim hypotheses (switchable per session). */
  interimResults: boolean;
  /**
   * Words and phrases the call is likely to contain (product names, surnames: `customConfig.phrases`,
   * validated at `open`), for engines that can be biased towards them.
   */
  phrases?: readonly string[];
  onResult(result: RecognitionResult): void;
  /**
   * Optional: audio before `untilMs` (this stream's time) needs no replay: finals cover it, or the
   * vendor said it is silence. Lets the pipeline drop what it keeps for a restart during long
   * silences instead of holding it until the next final.
   */
  onSettled?(untilMs: number): void;
  /**
   * A failure the stream could not recover from by itself, reported once; the stream is dead
   * after it. An `EngineError` says whether a new stream may help; any other error counts as
   * retryable. Engines never retry a failed vendor stream themselves: the pipeline does.
   */
  onError(error: Error): void;
  /**
   * A fallback engine waits for this stream's failure: engines that would otherwise give up on a
   * piece of audio and carry on (an utterance engine after its retries) end the stream with a
   * retryable error instead, so that audio is replayed — into a restarted stream, then the fallback.
   */
  failFast?: boolean;
  log: Logger;
}

export interface EngineStream {
  /**
   * Pushes mono PCM16 samples. Must be cheap and never block: buffer or drop inside, and say so.
   * The array is only valid during the call (the session decodes every frame into the same
   * scratch memory): copy whatever you keep.
   */
  push(samples: Int16Array): void;
  /**
   * µ-law audio of this stream's channel, inside the frame as it arrived: sample i is
   * `frame[i * channelCount + channel]` (no copy is made for engines that can read it in place).
   * Same rules as `push`; present when `capabilities.mulawInput`.
   */
  pushMulaw?(frame: Uint8Array, channel: number, channelCount: number): void;
  /**
   * Finalizes the utterance in progress: every result for audio pushed so far is delivered
   * (as finals) before the promise resolves. The stream stays usable afterwards.
   */
  flush(): Promise<void>;
  /** Releases everything (sockets, timers). Pending results are not delivered after this. */
  close(): Promise<void>;
}

export interface SpeechEngine {
  /** Vendor name as used in `customConfig.transcriptionVendor`, lower case. */
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  openStream(options: EngineStreamOptions): EngineStream;
  /**
   * Languages the engine can recognize: full BCP-47 tags or primary subtags (`en` covers `en-GB`);
   * `'any'` for an engine that serves every language (simulated). Absent when the vendor decides
   * per model and location (Google), i.e. not known here.
   */
  readonly languages?: readonly string[] | 'any';
  /** Configuration worth a warning at start-up (e.g. a model the location may not serve). */
  readonly warnings?: readonly string[];
  /** Releases process-wide resources (connections, child processes) at shutdown. */
  close?(): Promise<void>;
  /** Figures for /stats (google: HTTP/2 connections opened, streams open). */
  stats?(): Record<string, number>;
}

/** Whether `engine` declares it can recognize `language` (true when it declares no list). */
export function engineSupportsLanguage(engine: Pick<SpeechEngine, 'languages'>, language: string): boolean {
  if (!engine.languages || engine.languages === 'any') return true;
  const tag = language.toLowerCase();
  const primary = primaryLanguage(tag);
  return engine.languages.some((l) => {
    const known = l.toLowerCase();
    return known === tag || (!known.includes('-') && primaryLanguage(known) === primary);
  });
}
