/**
 * One utterance → one `POST /audio/transcriptions`, with the `openai` SDK (OpenAI or any
 * compatible server). gpt-4o transcribe models: streamed (`transcript.text.delta` become partials)
 * with token logprobs for confidence. Whisper and unknown models (self-hosted servers): one
 * `verbose_json` answer with word timestamps where the server gives them.
 *
 * Retries (429, 5xx, connection failures, per-attempt timeouts) are the SDK's, with its backoff
 * and `retry-after`; the whole utterance, retries and streaming included, runs inside a deadline.
 */
import OpenAI, { toFile } from 'openai';
import { writeWav } from '../../audio/wav.js';
import type { RecognizedWord } from '../types.js';
import { EngineError } from '../types.js';
import type { RecognizeOptions, SegmentRecognizer } from '../kit/utterance-engine.js';
import { DEFAULT_PROMPT, planLanguage } from './languages.js';
import { createArtifactFilter, joinWords, scoreWords, utteranceConfidence, type ScoredWord, type TokenLogprob } from './map.js';
import type { OpenAIEngineOptions } from './options.js';

/** Whisper reads at most 224 prompt tokens (the end of the prompt): keep well within. */
const MAX_PROMPT_CHARS = 600;

export interface ModelTraits {
  /** Streams `transcript.text.*` events. */
  streams: boolean;
  /** Returns token logprobs (`include[]=logprobs`). */
  logprobs: boolean;
  /** Answers `verbose_json` with word timestamps. */
  wordTimes: boolean;
}

export function modelTraits(model: string): ModelTraits {
  if (/^gpt-4o(-mini)?-transcribe(-\d{4}-\d{2}-\d{2})?$/.test(model)) return { streams: true, logprobs: true, wordTimes: false };
  // Other gpt-* transcription models (e.g. the diarizing one): streamed, without logprobs.
  if (model.startsWith('gpt-')) return { streams: true, logprobs: false, wordTimes: false };
  return { streams: false, logprobs: false, wordTimes: true };
}

/** The prompt: the call-centre line (in the audio's language), the session's phrases, the previous utterance. */
export function buildPrompt(base: string | undefined, phrases: readonly string[] | undefined, previousText: string | undefined): string | undefined {
  let prompt = base ?? '';
  for (const phrase of phrases ?? []) {
    const p = phrase.trim();
    if (p === '') continue;
    const next = prompt === '' ? p : prompt.endsWith('.') || prompt.endsWith(':') ? `${prompt} ${p}` : `${prompt}, ${p}`;
    if (next.length > MAX_PROMPT_CHARS / 2) break;
    prompt = next;
  }
  if (phrases && phrases.length > 0 && prompt !== '' && !prompt.endsWith('.')) prompt += '.';
  if (previousText) {
    const room = MAX_PROMPT_CHARS - prompt.length - 1;
    // The model reads the prompt as the preceding transcript: its end matters most.
    if (room > 20) prompt = `${prompt} ${previousText.length > room ? previousText.slice(previousText.length - room) : previousText}`.trim();
  }
  return prompt === '' ? undefined : prompt;
}

export function createOpenAIRecognizer(options: OpenAIEngineOptions): SegmentRecognizer {
  const traits = modelTraits(options.model);
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
    // The SDK logs through console: our logs are pino, one line per utterance at most.
    logLevel: 'off',
  });
  const filter = createArtifactFilter(options.artifacts);

  async function recognize(pcm: Int16Array, o: RecognizeOptions) {
    const plan = planLanguage(o.language);
    const base = plan.language === 'en' ? (options.prompt ?? DEFAULT_PROMPT) : plan.nativePrompt;
    const prompt = buildPrompt(base, o.phrases, options.promptPrevious ? o.previousText : undefined);
    const wav = writeWav({ sampleRate: o.sampleRate, channels: 1, format: 'L16', data: new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength) });
    const file = await toFile(wav, 'utterance.wav', { type: 'audio/wav' });
    const deadline = AbortSignal.timeout(options.deadlineMs);
    const signal = AbortSignal.any([o.signal, deadline]);
    const common = {
      file,
      model: options.model,
      temperature: 0,
      ...(plan.language ? { language: plan.language } : {}),
      ...(prompt ? { prompt } : {}),
    };
    try {
      if (traits.streams) {
        const stream = await client.audio.transcriptions.create(
          { ...common, stream: true, response_format: 'json', ...(traits.logprobs ? { include: ['logprobs' as const] } : {}) },
          { signal },
        );
        let text = '';
        let logprobs: TokenLogprob[] | undefined;
        for await (const event of stream) {
          if (event.type === 'transcript.text.delta') {
            text += event.delta;
            if (o.onPartial) {
              const shown = joinWords(filter(scoreWords(text, undefined)));
              if (shown !== '') o.onPartial(shown);
            }
          } else if (event.type === 'transcript.text.done') {
            text = event.text;
            logprobs = event.logprobs;
          }
        }
        return finish(scoreWords(text, logprobs), undefined);
      }
      const answer = await client.audio.transcriptions.create(
        { ...common, response_format: 'verbose_json', timestamp_granularities: ['word'] },
        { signal },
      );
      return finish(scoreWords(answer.text, undefined), answer.words);
    } catch (err) {
      throw toEngineError(err, o.signal, deadline, options.deadlineMs);
    }
  }

  /** Artifacts removed; whisper word times attached when their words match the text's. */
  function finish(scored: ScoredWord[], timed: { word: string; start: number; end: number }[] | undefined) {
    const kept = filter(scored);
    const text = joinWords(kept);
    if (text === '') return { text: '' };
    const confidence = utteranceConfidence(kept);
    let words: RecognizedWord[];
    if (timed && timed.length > 0) {
      // Whisper's words carry no punctuation; the same filter removes the same artifacts.
      words = filter(timed.map((w) => ({ text: w.word.trim(), startMs: Math.round(w.start * 1000), endMs: Math.round(w.end * 1000) })));
    } else {
      // No times: the utterance engine spreads these over the speech span (capabilities.wordTimes false).
      words = kept.map((w) => ({ text: w.text, startMs: 0, endMs: 0, ...(w.confidence !== undefined ? { confidence: w.confidence } : {}) }));
    }
    return { text, ...(confidence !== undefined ? { confidence } : {}), words };
  }

  return {
    name: 'openai',
    capabilities: { wordTimes: traits.wordTimes, wordConfidence: traits.logprobs, partials: traits.streams },
    recognize,
  };
}

/** SDK and transport errors → EngineError: only auth, quota and refused requests are final. */
export function toEngineError(err: unknown, callerSignal: AbortSignal, deadline: AbortSignal, deadlineMs: number): EngineError {
  if (err instanceof EngineError) return err;
  if (callerSignal.aborted) return new EngineError('recognition aborted', 'internal', true, { cause: err });
  if (deadline.aborted || err instanceof OpenAI.APIConnectionTimeoutError) {
    return new EngineError(`transcription did not finish within ${deadlineMs} ms`, 'unavailable', true, { cause: err });
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    const code = typeof err.code === 'string' ? err.code : '';
    if (status === 401) return new EngineError('OpenAI rejected the API key (401): check OPENAI_API_KEY', 'auth', false, { cause: err });
    if (status === 403) return new EngineError('OpenAI refused access (403): the key lacks permission for this model or region', 'auth', false, { cause: err });
    if (status === 429 && code === 'insufficient_quota') return new EngineError('OpenAI quota exhausted (insufficient_quota): check the billing of the account', 'quota', false, { cause: err });
    if (status === 429) return new EngineError('OpenAI rate limit (429) persisted through the retries', 'quota', true, { cause: err });
    // Audio the API finds too short or unreadable concerns this utterance only.
    if (status === 400 && /audio|file/i.test(code + err.message)) return new EngineError(`OpenAI refused this utterance's audio (400 ${code})`, 'bad-input', true, { cause: err });
    if (status === 400 || status === 404 || status === 422) {
      return new EngineError(`OpenAI refused the request (${status}${code ? ` ${code}` : ''}): check OPENAI_SPEECH_MODEL and the language`, 'bad-input', false, { cause: err });
    }
    if (status >= 500 || status === 408 || status === 409) return new EngineError(`OpenAI server error (${status}) persisted through the retries`, 'unavailable', true, { cause: err });
    return new EngineError(`OpenAI answered ${status}`, 'internal', true, { cause: err });
  }
  if (err instanceof OpenAI.APIConnectionError) return new EngineError('cannot reach the transcription server', 'unavailable', true, { cause: err });
  return new EngineError('transcription failed', 'internal', true, { cause: err });
}
