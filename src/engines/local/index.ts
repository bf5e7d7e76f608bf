/**
 * The `local` engine: offline English recognition by pocketsphinx, behind the shared utterance
 * buffer. Needs no account and no network; demo-quality accuracy on telephone audio.
 */
import type { Logger } from 'pino';
import type { SegmenterOptions } from '../kit/options.js';
import { createUtteranceEngine } from '../kit/utterance-engine.js';
import type { SpeechEngine } from '../types.js';
import type { LocalEngineOptions } from './options.js';
import { createLocalRecognizer, supportedLanguages } from './recognizer.js';

export { supportedLanguages };

export function createLocalEngine(options: LocalEngineOptions, log: Logger, segmenter?: SegmenterOptions): SpeechEngine {
  const recognizer = createLocalRecognizer(options, log);
  // The buffer's limit equals the pool: utterances queue in one place, in arrival order.
  const engine = createUtteranceEngine(recognizer, { concurrency: options.concurrency, ...(segmenter ? { segmenter } : {}) });
  return {
    ...engine,
    // The pool starts with the first stream, not with the server: a server that never runs this
    // engine never loads the model, and the first utterance's speech hides the half-second start.
    openStream(streamOptions) {
      recognizer.warm();
      return engine.openStream(streamOptions);
    },
    languages: supportedLanguages,
    close: () => recognizer.close(),
  };
}
