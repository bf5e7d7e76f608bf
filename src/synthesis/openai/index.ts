/**
 * The `openai` synthesizer: `POST /audio/speech` (OpenAI, or a compatible server) with
 * `response_format: pcm`, which is 24 kHz 16-bit little-endian mono, streamed as it is made. Each
 * network chunk is decimated to 8 kHz (low-pass first: 24 kHz voices have energy above 4 kHz)
 * and encoded to µ-law at once, so the first audio plays before the answer is complete.
 *
 * Only this folder uses the SDK, loaded on first use, so a server not configured for OpenAI
 * speech never loads it. Retries of refused or failed requests are the SDK's (before any audio).
 */
import type OpenAI from 'openai';
import { checkText, chunked, createMulawEncoder, createPcm16Reader } from '../common.js';
import { SynthesisError, type SpeechSynthesizer, type SynthesisRequest } from '../types.js';

/** What `response_format: pcm` is. */
export const OPENAI_PCM_RATE = 24_000;
export const DEFAULT_OPENAI_TTS_MODEL = 'gpt-4o-mini-tts';
export const DEFAULT_OPENAI_VOICE = 'alloy';
/** OpenAI's limit on `input`, characters. */
const MAX_INPUT_CHARS = 4096;

export interface OpenAISynthesizerOptions {
  apiKey: string;
  /** Unset: OpenAI's own API. */
  baseURL?: string;
  model: string;
  /** Voice when a request names none. */
  voice: string;
  /** One attempt's wait for the answer to start, ms. */
  timeoutMs: number;
  maxRetries: number;
}

/** SDK and transport errors → SynthesisError: only auth, quota and refused requests are final. */
export function synthesisErrorFrom(err: unknown, sdk: typeof OpenAI): SynthesisError {
  if (err instanceof SynthesisError) return err;
  const cause = { cause: err };
  if (err instanceof sdk.APIConnectionTimeoutError) return new SynthesisError('OpenAI speech did not answer in time', true, cause);
  if (err instanceof sdk.APIError && typeof err.status === 'number') {
    const status = err.status;
    const code = typeof err.code === 'string' ? err.code : '';
    if (status === 401) return new SynthesisError('OpenAI rejected the API key (401): check OPENAI_API_KEY', false, cause);
    if (status === 403) return new SynthesisError('OpenAI refused access (403): the key lacks permission for this model or region', false, cause);
    if (status === 429 && code === 'insufficient_quota') return new SynthesisError('OpenAI quota exhausted (insufficient_quota): check the billing of the account', false, cause);
    if (status === 429) return new SynthesisError('OpenAI rate limit (429) persisted through the retries', true, cause);
    if (status === 400 || status === 404 || status === 422) {
      return new SynthesisError(`OpenAI refused the speech request (${status}${code ? ` ${code}` : ''}): check OPENAI_TTS_MODEL and the voice`, false, cause);
    }
    if (status >= 500 || status === 408 || status === 409) return new SynthesisError(`OpenAI server error (${status}) persisted through the retries`, true, cause);
    return new SynthesisError(`OpenAI answered ${status}`, true, cause);
  }
  if (err instanceof sdk.APIConnectionError) return new SynthesisError('cannot reach the OpenAI speech server', true, cause);
  return new SynthesisError('OpenAI speech failed while streaming', true, cause);
}

export function createOpenAISynthesizer(options: OpenAISynthesizerOptions): SpeechSynthesizer {
  let loaded: Promise<{ sdk: typeof OpenAI; client: OpenAI }> | undefined;
  const load = () =>
    (loaded ??= import('openai').then(({ default: sdk }) => ({
      sdk,
      client: new sdk({
        apiKey: options.apiKey,
        ...(options.baseURL ? { baseURL: options.baseURL } : {}),
        timeout: options.timeoutMs,
        maxRetries: options.maxRetries,
        // The SDK logs through console: our logs are pino.
        logLevel: 'off',
      }),
    })));

  async function* synthesize(request: SynthesisRequest): AsyncGenerator<Uint8Array> {
    const text = checkText(request.text);
    if (text.length > MAX_INPUT_CHARS) throw new SynthesisError(`prompt too long for OpenAI (${text.length} characters, at most ${MAX_INPUT_CHARS})`, false);
    if (text === '' || request.signal.aborted) return;
    const { sdk, client } = await load();
    // Ours too, so an early return (the consumer stopped reading) closes the connection.
    const local = new AbortController();
    const onAbort = () => local.abort(request.signal.reason);
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      let response: Response;
      try {
        response = await client.audio.speech.create(
          { model: options.model, voice: request.voice ?? options.voice, input: text, response_format: 'pcm' },
          { signal: local.signal },
        );
      } catch (err) {
        if (local.signal.aborted) return;
        throw synthesisErrorFrom(err, sdk);
      }
      if (!response.body) throw new SynthesisError('OpenAI speech answered without audio', true);
      const reader = createPcm16Reader();
      const encoder = createMulawEncoder(OPENAI_PCM_RATE);
      try {
        for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
          if (local.signal.aborted) return;
          const mulaw = encoder.push(reader.push(bytes));
          if (mulaw.length > 0) yield* chunked(mulaw);
        }
      } catch (err) {
        if (local.signal.aborted) return;
        throw synthesisErrorFrom(err, sdk);
      }
      if (local.signal.aborted) return;
      const tail = encoder.end();
      if (tail.length > 0) yield tail;
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      local.abort();
    }
  }

  return { name: 'openai', synthesize };
}
