/**
 * Where an engine stream's results meet the contract, once: a consumer that throws is logged and
 * does not break the engine, an error goes out at most once, and nothing goes out after close.
 */
import type { Logger } from 'pino';
import type { EngineStreamOptions, RecognitionResult } from '../types.js';

export interface ResultSink {
  result(result: RecognitionResult): void;
  /** Reports a stream failure (once); the sink delivers nothing afterwards. */
  error(error: Error): void;
  /** After close: nothing is delivered any more. */
  close(): void;
  readonly open: boolean;
}

export function createResultSink(options: Pick<EngineStreamOptions, 'onResult' | 'onError'>, log: Logger, engine: string): ResultSink {
  let open = true;
  return {
    get open() {
      return open;
    },
    result(result) {
      if (!open) return;
      try {
        options.onResult(result);
      } catch (err) {
        log.error({ err, engine }, 'engine result consumer threw');
      }
    },
    error(error) {
      if (!open) return;
      open = false;
      try {
        options.onError(error);
      } catch (err) {
        log.error({ err, engine }, 'engine error consumer threw');
      }
    },
    close() {
      open = false;
    },
  };
}
