import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createTranslationService } from '../../src/translation/service.js';
import { TranslationError, type TranslateOptions, type Translator } from '../../src/translation/types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const opts = (): TranslateOptions => ({ source: 'eu', target: 'en', context: [], glossary: {}, signal: new AbortController().signal });

function translator(fn: (text: string, o: TranslateOptions, call: number) => Promise<string>): Translator & { calls: number } {
  const t = {
    name: 'test',
    calls: 0,
    translate: (text: string, o: TranslateOptions) => fn(text, o, ++t.calls),
  };
  return t;
}

describe('createTranslationService', () => {
  it('returns the translation', async () => {
    const s = createTranslationService(translator(async (t) => `<${t}>`), { timeoutMs: 1000, concurrency: 2, ratePerSecond: 100 });
    expect(await s.translate('kaixo', opts())).toEqual({ ok: true, text: '<kaixo>', attempts: 1 });
  });

  it('gives up at the deadline, counted from startedAt, and aborts the attempt', async () => {
    let aborted = false;
    const slow = translator((_t, o) => new Promise((_r, reject) => o.signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted'))))));
    const s = createTranslationService(slow, { timeoutMs: 300, concurrency: 2, ratePerSecond: 100 });
    const t0 = performance.now();
    const r = await s.translate('x', { ...opts(), startedAt: t0 - 100 });
    expect(r).toMatchObject({ ok: false, why: 'timeout' });
    expect(performance.now() - t0).toBeGreaterThan(150);
    expect(performance.now() - t0).toBeLessThan(290);
    expect(aborted).toBe(true);
  });

  it('retries a retryable failure after its hint, and not one whose hint is past the deadline or that is final', async () => {
    const hinted = translator(async (t, _o, call) => {
      if (call === 1) throw new TranslationError('429', true, 150);
      return t;
    });
    const s = createTranslationService(hinted, { timeoutMs: 1000, concurrency: 2, ratePerSecond: 100 });
    const t0 = performance.now();
    expect(await s.translate('x', opts())).toEqual({ ok: true, text: 'x', attempts: 2 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);

    const far = translator(async () => {
      throw new TranslationError('429', true, 5000);
    });
    expect(await createTranslationService(far, { timeoutMs: 1000, concurrency: 2, ratePerSecond: 100 }).translate('x', opts())).toMatchObject({ ok: false, why: 'timeout', attempts: 1 });

    const refused = translator(async () => {
      throw new TranslationError('403', false);
    });
    expect(await createTranslationService(refused, { timeoutMs: 1000, concurrency: 2, ratePerSecond: 100 }).translate('x', opts())).toMatchObject({ ok: false, why: 'failed', attempts: 1, error: '403' });
    expect(refused.calls).toBe(1);
  });

  it('bounds concurrency and rate process-wide', async () => {
    let inFlight = 0;
    let most = 0;
    const t = translator(async (text) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await sleep(30);
      inFlight -= 1;
      return text;
    });
    const s = createTranslationService(t, { timeoutMs: 5000, concurrency: 3, ratePerSecond: 1000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.translate(String(i), opts())));
    expect(most).toBe(3);

    const starts: number[] = [];
    const rated = createTranslationService(translator(async (x) => (starts.push(performance.now()), x)), { timeoutMs: 5000, concurrency: 100, ratePerSecond: 20 });
    await Promise.all(Array.from({ length: 25 }, (_, i) => rated.translate(String(i), opts())));
    // A burst of 20, then 20 per second: the last 5 spread over ~250 ms.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThan(200);
  });

  it('stops when the session ends (signal)', async () => {
    const controller = new AbortController();
    const s = createTranslationService(translator(() => sleep(1000).then(() => 'late')), { timeoutMs: 5000, concurrency: 1, ratePerSecond: 10 });
    const p = s.translate('x', { ...opts(), signal: controller.signal });
    controller.abort();
    expect(await p).toMatchObject({ ok: false });
  });
});
