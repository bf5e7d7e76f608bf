/**
 * The one contract every speech synthesizer (text to speech) implements, for voice-bot sessions:
 * text in, 8 kHz µ-law mono audio out as it is produced, so the first frame can be played before
 * the whole prompt is synthesized. No container header ever reaches the caller: an engine that
 * gets WAV or another rate from its vendor converts it here, inside its own folder.
 */

export interface SynthesisRequest {
  text: string;
  /** BCP-47 tag, e.g. `en-US`. */
  language: string;
  /** Vendor voice name; the synthesizer's default when absent. */
  voice?: string | undefined;
  /** Aborted when the prompt is no longer wanted (barge-in, hang-up): stop work, end the iterator. */
  signal: AbortSignal;
}

/**
 * Why synthesis failed. `message` is safe to log and to show a Genesys admin: no secrets, no
 * prompt text.
 */
export class SynthesisError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SynthesisError';
  }
}

export interface SpeechSynthesizer {
  /** As used in TTS_PROVIDER and BOTS[...].tts: `flite`, `google`, `openai`. */
  readonly name: string;
  /**
   * 8 kHz µ-law mono chunks of any size, in order, as they are produced. Throws a SynthesisError
   * on failure (before or after some audio). Ends quietly when `signal` is aborted.
   */
  synthesize(request: SynthesisRequest): AsyncIterable<Uint8Array>;
  /**
   * Languages it speaks (full tags or primary subtags, `en` covers `en-GB`); absent when the
   * vendor decides per voice (Google, OpenAI). A voice-bot session in another language is refused at `open`.
   */
  readonly languages?: readonly string[];
  /** Releases process-wide resources (connections) at shutdown. */
  close?(): Promise<void>;
}

/** name → synthesizer, with the reason for the ones this server is not configured for. */
export interface SynthesizerRegistry {
  readonly available: readonly string[];
  /** The TTS_PROVIDER one. */
  readonly defaultName: string;
  resolve(name: string | undefined): { ok: true; synthesizer: SpeechSynthesizer } | { ok: false; reason: string };
  close(): Promise<void>;
}
