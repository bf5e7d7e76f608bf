/**
 * The one contract a translation vendor implements. The session layer sees only `Translator`
 * (through the bounded service in service.ts); vendor SDKs stay in their own folder.
 */

/** An earlier utterance of the call, for consistent pronouns and terms. */
export interface ContextUtterance {
  speaker: 'customer' | 'agent';
  text: string;
}

export interface TranslateOptions {
  /** BCP-47 tag of the text. */
  source: string;
  /** BCP-47 tag to translate into. */
  target: string;
  /** The last few utterances of the call, oldest first, in their source language. */
  context: readonly ContextUtterance[];
  /** Term → its translation; only the terms that occur in the text need to be given. */
  glossary: Readonly<Record<string, string>>;
  signal: AbortSignal;
}

export interface Translator {
  readonly name: string;
  /** The translation, nothing else; rejects with a TranslationError when it cannot give one. */
  translate(text: string, options: TranslateOptions): Promise<string>;
}

/** Why a translation failed, whether another attempt may succeed, and when (the service's hint). */
export class TranslationError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The service's retry hint (RetryInfo, Retry-After), when it gave one. */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TranslationError';
  }
}
