/**
 * A translator behind the process-wide bounds and the per-final deadline, vendor-neutral.
 *
 * Every final gets one budget (TRANSLATION_TIMEOUT_MS) counted from when it was recognized: the
 * wait for a concurrency slot and a rate token, every attempt, and every retry pause spend it.
 * A retryable failure is tried again after the service's own hint (or a short back-off) only if
 * that still fits; past the budget the caller gets `timeout` and sends the source text.
 */
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { TranslationError, type TranslateOptions, type Translator } from './types.js';

export type TranslationOutcome =
  | { ok: true; text: string; attempts: number }
  | { ok: false; why: 'timeout' | 'failed'; attempts: number; error?: string };

export interface TranslationService {
  readonly name: string;
  readonly timeoutMs: number;
  /**
   * Never rejects: a failure or the deadline gives `ok: false`. `startedAt` (performance.now())
   * is where the budget counts from; `signal` cancels (the session ended).
   */
  translate(text: string, options: TranslateOptions & { startedAt?: number }): Promise<TranslationOutcome>;
}

export interface ServiceBounds {
  timeoutMs: number;
  concurrency: number;
  ratePerSecond: number;
}

const MAX_ATTEMPTS = 3;
/** Back-off before a retry when the service gave no hint. */
const RETRY_DELAYS_MS = [100, 300] as const;
/** An attempt that cannot have at least this long before the deadline is not started. */
const MIN_ATTEMPT_MS = 50;

export function createTranslationService(translator: Translator, bounds: ServiceBounds): TranslationService {
  const limit = pLimit(bounds.concurrency);
  const rate = tokenBucket(bounds.ratePerSecond, Math.max(1, Math.ceil(bounds.ratePerSecond)));
  return {
    name: translator.name,
    timeoutMs: bounds.timeoutMs,
    async translate(text, options) {
      const deadline = (options.startedAt ?? performance.now()) + bounds.timeoutMs;
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      options.signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(onAbort, Math.max(0, deadline - performance.now()));
      const signal = controller.signal;
      let attempts = 0;
      let lastError: string | undefined;
      try {
        while (attempts < MAX_ATTEMPTS) {
          if (deadline - performance.now() < MIN_ATTEMPT_MS) break;
          attempts += 1;
          try {
            const attempt = limit(async () => {
              if (signal.aborted) throw signal.reason;
              await sleep(rate.reserve(), signal);
              return translator.translate(text, { ...options, signal });
            });
            const translated = await untilAborted(attempt, signal);
            return { ok: true, text: translated, attempts };
          } catch (err) {
            if (signal.aborted) break;
            lastError = describe(err);
            if (!(err instanceof TranslationError) || !err.retryable) return { ok: false, why: 'failed', attempts, error: lastError };
            const wait = err.retryAfterMs ?? RETRY_DELAYS_MS[attempts - 1] ?? 300;
            // The hint is the service's: a retry sooner would only be refused again.
            if (performance.now() + wait + MIN_ATTEMPT_MS > deadline) return { ok: false, why: 'timeout', attempts, error: lastError };
            await sleep(wait, signal).catch(() => {});
          }
        }
        const timedOut = signal.aborted || deadline - performance.now() < MIN_ATTEMPT_MS;
        return { ok: false, why: timedOut ? 'timeout' : 'failed', attempts, ...(lastError ? { error: lastError } : {}) };
      } finally {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
      }
    },
  };
}

/**
 * Tokens refilled at `perSecond`, up to `burst`. `reserve` takes one now and says how long to
 * wait before using it, so waiters are served in order without polling.
 */
function tokenBucket(perSecond: number, burst: number) {
  let tokens = burst;
  let at = performance.now();
  return {
    reserve(): number {
      const now = performance.now();
      tokens = Math.min(burst, tokens + ((now - at) / 1000) * perSecond);
      at = now;
      tokens -= 1;
      return tokens >= 0 ? 0 : (-tokens / perSecond) * 1000;
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return untilAborted(new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.()), signal);
}

/** `p`, or a rejection as soon as `signal` aborts (the work itself is cancelled by the signal). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A failure as a log field: the vendor's message is about the request, never the text. */
function describe(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
}
