/**
 * The `openai` engine: OpenAI's transcription models, or any OpenAI-compatible server (a
 * self-hosted Whisper), behind the shared utterance buffer.
 */
import { createUtteranceEngine } from '../kit/utterance-engine.js';
import type { SegmenterOptions } from '../kit/options.js';
import type { SpeechEngine } from '../types.js';
import type { OpenAIEngineOptions } from './options.js';
import { createOpenAIRecognizer } from './recognizer.js';

import { supportedLanguages } from './languages.js';

export { supportedLanguages };

const KNOWN_MODELS = /^(gpt-4o(-mini)?-transcribe(-\d{4}-\d{2}-\d{2})?|whisper-1)$/;

export function createOpenAIEngine(options: OpenAIEngineOptions, segmenter?: SegmenterOptions): SpeechEngine {
  const engine: SpeechEngine = {
    ...createUtteranceEngine(createOpenAIRecognizer(options), {
      concurrency: options.concurrency,
      ...(segmenter ? { segmenter } : {}),
    }),
    languages: supportedLanguages,
  };
  if (KNOWN_MODELS.test(options.model)) return engine;
  const warning = options.model.startsWith('gpt-')
    ? `OPENAI_SPEECH_MODEL '${options.model}': streamed without logprobs (confidence is not measured)`
    : `OPENAI_SPEECH_MODEL '${options.model}': taken as a Whisper-compatible server (verbose_json with word timestamps, not streamed)`;
  return { ...engine, warnings: [warning] };
}
