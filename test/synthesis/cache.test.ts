/**
 * The prompt cache, with a scripted synthesizer: hits and misses, LRU by bytes, only complete
 * syntheses stored, one shared synthesis for concurrent callers whose aborts stay their own.
 */
import { describe, expect, it } from 'vitest';
import { withCache } from '../../src/synthesis/cache.js';
import { SynthesisError, type SpeechSynthesizer, type SynthesisRequest } from '../../src/synthesis/types.js';
import { collect, request } from './helpers.js';

/** Yields `chunks` chunks of `size` bytes (the text's first char code), one per `delayMs`; records calls. */
function scripted(opts: { chunks?: number; size?: number; delayMs?: number; failAfter?: number } = {}) {
  const calls: SynthesisRequest[] = [];
  let aborted = 0;
  const synth: SpeechSynthesizer = {
    name: 'scripted',
    async *synthesize(req) {
      calls.push(req);
      for (let i = 0; i < (opts.chunks ?? 3); i++) {
        if (req.signal.aborted) {
          aborted++;
          return;
        }
        if (opts.failAfter === i) throw new SynthesisError('vendor down', true);
        await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
        yield new Uint8Array(opts.size ?? 100).fill(req.text.charCodeAt(0));
      }
    },
  };
  return { synth, calls, aborted: () => aborted };
}

describe('synthesis cache', () => {
  it('serves a repeated prompt from memory; voice, language and text make the key', async () => {
    const s = scripted();
    const cached = withCache(s.synth, { maxBytes: 10_000 });
    const first = await collect(cached, request('hello'));
    const again = await collect(cached, request('hello'));
    expect(again.audio).toEqual(first.audio);
    expect(s.calls).toHaveLength(1);
    await collect(cached, request('hello', { voice: 'other' }));
    await collect(cached, request('hello', { language: 'en-GB' }));
    await collect(cached, request('hello!'));
    expect(s.calls).toHaveLength(4);
    expect(cached.stats()).toEqual({ hits: 1, shared: 0, misses: 4, entries: 4, bytes: 1200 });
  });

  it('a cached chunk changed by one caller is not changed for the next', async () => {
    const cached = withCache(scripted().synth, { maxBytes: 10_000 });
    (await collect(cached, request('a'))).chunks[0]!.fill(0);
    const { chunks } = await collect(cached, request('a'));
    expect(chunks[0]![0]).toBe(97);
  });

  it('evicts the least recently used entries past the byte budget', async () => {
    const s = scripted(); // 300 bytes per prompt
    const cached = withCache(s.synth, { maxBytes: 650 });
    await collect(cached, request('a'));
    await collect(cached, request('b'));
    await collect(cached, request('a')); // a is now the most recent
    await collect(cached, request('c')); // evicts b
    expect(cached.stats()).toMatchObject({ entries: 2, bytes: 600 });
    await collect(cached, request('a'));
    await collect(cached, request('b'));
    expect(s.calls.map((c) => c.text)).toEqual(['a', 'b', 'c', 'b']);
  });

  it('stores neither failed nor aborted syntheses', async () => {
    const failing = scripted({ failAfter: 1 });
    const cached = withCache(failing.synth, { maxBytes: 10_000 });
    await expect(collect(cached, request('x'))).rejects.toThrow('vendor down');
    expect(cached.stats()).toMatchObject({ entries: 0 });

    const s = scripted({ delayMs: 20 });
    const c2 = withCache(s.synth, { maxBytes: 10_000 });
    const controller = new AbortController();
    for await (const _ of c2.synthesize(request('y', { signal: controller.signal }))) controller.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(c2.stats()).toMatchObject({ entries: 0 });
    await collect(c2, request('y'));
    expect(s.calls).toHaveLength(2);
  });

  it('concurrent callers share one synthesis; one caller aborting does not break the other', async () => {
    const s = scripted({ chunks: 5, delayMs: 20 });
    const cached = withCache(s.synth, { maxBytes: 10_000 });
    const quitter = new AbortController();
    const quitting = (async () => {
      let n = 0;
      for await (const _ of cached.synthesize(request('shared', { signal: quitter.signal }))) {
        n++;
        quitter.abort();
      }
      return n;
    })();
    const staying = collect(cached, request('shared'));
    expect(await quitting).toBe(1);
    expect((await staying).chunks).toHaveLength(5);
    expect(s.calls).toHaveLength(1);
    expect(s.aborted()).toBe(0);
    expect(cached.stats()).toMatchObject({ misses: 1, shared: 1, entries: 1 });
    await collect(cached, request('shared'));
    expect(cached.stats()).toMatchObject({ hits: 1 });
  });

  it('the synthesis stops when every caller has gone; a failure reaches every caller', async () => {
    const s = scripted({ chunks: 50, delayMs: 10 });
    const cached = withCache(s.synth, { maxBytes: 10_000 });
    const a = new AbortController();
    const b = new AbortController();
    const run = (c: AbortController) => collect(cached, request('gone', { signal: c.signal }));
    const both = Promise.all([run(a), run(b)]);
    setTimeout(() => a.abort(), 30);
    setTimeout(() => b.abort(), 60);
    await both;
    await new Promise((r) => setTimeout(r, 50));
    expect(s.aborted()).toBe(1);

    const failing = withCache(scripted({ failAfter: 2, delayMs: 10 }).synth, { maxBytes: 10_000 });
    const results = await Promise.allSettled([collect(failing, request('f')), collect(failing, request('f'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('maxBytes 0 turns it off (every prompt synthesized, still counted)', async () => {
    const s = scripted();
    const cached = withCache(s.synth, { maxBytes: 0 });
    await collect(cached, request('a'));
    await collect(cached, request('a'));
    expect(s.calls).toHaveLength(2);
    expect(cached.stats()).toMatchObject({ hits: 0, misses: 2, entries: 0 });
  });
});
