/**
 * The offline recognizer: a warm pool of `pocketsphinx_batch` processes behind the
 * `UtteranceRecognizer` contract. The pool grows to `concurrency` processes, started on demand
 * or by `warm()` (each loads its model in about half a second, about 100 MB), and they stay; a
 * request takes an idle one or waits in line. A process that dies fails its utterance
 * (retryable) and is replaced when next needed.
 */
import type { Logger } from 'pino';
import { EngineError, type UtteranceRecognizer } from '../types.js';
import { spawnDecoder, type Decoder } from './child.js';
import { supportedLanguages, type LocalEngineOptions } from './options.js';
import { toRecognition } from './parse.js';
import { upsample2x } from './resample.js';

export { supportedLanguages };

/** Decoding takes about a third of real time on one core; a process this late is stuck. */
function deadlineMs(audioMs: number): number {
  return 10_000 + 3 * audioMs;
}

export interface LocalRecognizerStats {
  /** Processes started, including replacements. */
  started: number;
  /** Requests waiting for a process. */
  waiting: number;
}

export interface LocalRecognizer extends UtteranceRecognizer {
  readonly capabilities: { wordTimes: true; wordConfidence: true; partials: false };
  readonly stats: Readonly<LocalRecognizerStats>;
  /** Starts the whole pool now, so that no utterance waits for a model to load. */
  warm(): void;
  /** Kills the processes; waiting and running requests fail. */
  close(): Promise<void>;
}

interface Waiter {
  take(decoder: Decoder): void;
  fail(error: unknown): void;
}

export function createLocalRecognizer(options: LocalEngineOptions, log: Logger): LocalRecognizer {
  const decoders = new Set<Decoder>();
  const idle: Decoder[] = [];
  const waiters: Waiter[] = [];
  const stats: LocalRecognizerStats = { started: 0, waiting: 0 };
  let closed = false;

  function spawnOne(): Decoder {
    const decoder = spawnDecoder(options, log);
    decoders.add(decoder);
    stats.started++;
    return decoder;
  }

  function acquire(signal: AbortSignal): Promise<Decoder> {
    while (idle.length > 0) {
      const decoder = idle.pop() as Decoder;
      if (decoder.alive) return Promise.resolve(decoder);
      decoders.delete(decoder);
    }
    if (decoders.size < options.concurrency) return Promise.resolve(spawnOne());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
        stats.waiting = waiters.length;
        reject(signal.reason);
      };
      const waiter: Waiter = {
        take(decoder) {
          signal.removeEventListener('abort', onAbort);
          resolve(decoder);
        },
        fail(error) {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiters.push(waiter);
      stats.waiting = waiters.length;
    });
  }

  function release(decoder: Decoder): void {
    if (closed) return;
    if (!decoder.alive) {
      decoders.delete(decoder);
      // Replace a dead process only when someone waits: a process that keeps crashing is not
      // restarted in a loop, and the next request starts a fresh one anyway.
      if (waiters.length === 0) return;
      decoder = spawnOne();
    }
    const waiter = waiters.shift();
    stats.waiting = waiters.length;
    if (waiter) waiter.take(decoder);
    else idle.push(decoder);
  }

  return {
    name: 'local',
    capabilities: { wordTimes: true, wordConfidence: true, partials: false },
    stats,
    async recognize(pcm, { sampleRate, signal }) {
      signal.throwIfAborted();
      if (closed) throw new Error('offline recognizer is closed');
      if (sampleRate !== 8000 && sampleRate !== 16000) {
        throw new EngineError(`offline recognizer takes 8 or 16 kHz audio, not ${sampleRate} Hz`, 'bad-input', false);
      }
      const audioMs = (pcm.length * 1000) / sampleRate;
      if (pcm.length === 0) return toRecognition([], 0, 'en-US');
      const pcm16k = sampleRate === 8000 ? upsample2x(pcm) : pcm;
      const decoder = await acquire(signal);
      if (signal.aborted) {
        release(decoder);
        throw signal.reason;
      }
      // An aborted request returns at once; its process finishes the utterance (a decode cannot
      // be interrupted without killing the warm process) and only then serves the next one.
      const decoding = decoder.decode(pcm16k, deadlineMs(audioMs)).finally(() => release(decoder));
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        void decoding.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
      });
      aborted.catch(() => undefined);
      // The language asked for is not checked: the model is English, and the session decides.
      const lines = await Promise.race([decoding, aborted]);
      return toRecognition(lines, Math.round(audioMs), 'en-US');
    },
    warm() {
      while (!closed && decoders.size < options.concurrency) idle.push(spawnOne());
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const waiter of waiters.splice(0)) waiter.fail(new Error('offline recognizer is closed'));
      stats.waiting = 0;
      const killed = [...decoders].map((decoder) => decoder.kill());
      decoders.clear();
      idle.length = 0;
      await Promise.all(killed);
    },
  };
}
